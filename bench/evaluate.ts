import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { EgressMode, EgressPolicy, EgressRequest } from '../src';
import { makeDomains, rng } from './domains';

export interface EvaluateResult {
  readonly entries: number;
  readonly requests: number;
  /** Share of requests allowed in the mix. */
  readonly allowedShare: number;
  /** Median decisions per second over the rounds. */
  readonly perSecond: number;
  readonly rounds: number[];
  readonly mix: string;
  /** Hash of every decision on the mix and on edge cases (equal hashes: identical decisions). */
  readonly fingerprint?: string;
}

/** A realistic request mix against a policy built from `makeDomains(n)`. */
export function requestMix(n: number, count: number): EgressRequest[] {
  const d = makeDomains(n);
  const r = rng(42);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  const out: EgressRequest[] = [];
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.4) {
      out.push({ host: pick(d.exact) });
    } // hit: exact name
    else if (x < 0.45) {
      out.push({ host: pick(d.exact).toUpperCase() + '.' });
    } // hit: case and trailing dot
    else if (x < 0.55) {
      out.push({ host: `img${i % 50}.eu.${pick(d.wildcard)}` });
    } // hit: under a .name entry
    else if (x < 0.6) {
      out.push({ host: `a.${pick(d.subdomainOnly)}` });
    } // hit: under a *.name entry
    else if (x < 0.65) {
      out.push({ host: pick(d.subdomainOnly) });
    } // miss: apex of a *.name entry
    else if (x < 0.8) {
      out.push({ host: `api-${i}.svc${i % 89}.unknown${i % 7}.example.com` });
    } // miss: unlisted
    else if (x < 0.85) {
      out.push({ host: `x.${pick(d.exact)}` });
    } // miss: subdomain of an exact name
    else if (x < 0.88) {
      out.push({ host: `10.0.${i % 250}.${i % 200}` });
    } // miss: IP literal
    else if (x < 0.9) {
      out.push({ host: pick(d.exact), port: 8443 });
    } // miss: port
    else if (x < 0.95) {
      const h = pick(d.exact);
      out.push({ host: h, sni: h, resolvedAddress: '203.0.113.10' }); // hit: with SNI and resolved address
    } else {
      out.push({ host: pick(d.exact), sni: `evil${i}.example.com` });
    } // miss: SNI differs
  }
  return out;
}

/** `evaluate()` decisions per second on an `n`-entry policy: median of `rounds` timed rounds. */
export function benchEvaluate(n: number, seconds: number, roundCount = 5): EvaluateResult {
  const policy = new EgressPolicy({ allowedDomains: makeDomains(n).all });
  const reqs = requestMix(n, 20_000);
  let allowed = 0;
  for (const q of reqs) if (policy.evaluate(q).allowed) allowed++;
  // Warm-up, then rounds of whole passes over the mix, each about seconds/rounds long.
  const passes = (ms: number) => {
    const until = performance.now() + ms;
    let n2 = 0;
    let sink = 0;
    for (let p = 0; p < 10_000 && performance.now() < until; p++) {
      for (let i = 0; i < reqs.length; i++) if (policy.evaluate(reqs[i]).allowed) sink++;
      n2 += reqs.length;
    }
    return { n: n2, sink };
  };
  passes(300);
  const rounds: number[] = [];
  for (let k = 0; k < roundCount; k++) {
    const t0 = performance.now();
    const { n: done } = passes((seconds * 1000) / roundCount);
    rounds.push(done / ((performance.now() - t0) / 1000));
  }
  const sorted = [...rounds].sort((a, b) => a - b);
  return {
    entries: n,
    requests: reqs.length,
    allowedShare: allowed / reqs.length,
    perSecond: sorted[Math.floor(sorted.length / 2)],
    rounds,
    mix: '45% exact-name hits (5% upper case with a trailing dot), 15% hits under wildcard entries, 5% hits with SNI and resolved address; misses: 15% unlisted names, 5% subdomains of exact names, 5% apexes of *. entries, 5% SNI mismatches, 3% IP literals, 2% wrong port',
  };
}

/** Edge cases beyond the mix: address forms, IP-literal forms, audit mode and plain HTTP. */
const EDGE_CASES: EgressRequest[] = [
  { host: 'a.example.com', resolvedAddress: '127.0.0.1' },
  { host: 'a.example.com', resolvedAddress: '010.0.0.1' },
  { host: 'a.example.com', resolvedAddress: '::ffff:127.0.0.1' },
  { host: 'a.example.com', resolvedAddress: '::ffff:999.0.0.1' },
  { host: 'a.example.com', resolvedAddress: '169.254.169.254' },
  { host: 'a.example.com', resolvedAddress: 'fe80::1' },
  { host: 'a.example.com', resolvedAddress: 'fd00:ec2::254' },
  { host: 'a.example.com', resolvedAddress: '::1' },
  { host: 'a.example.com', resolvedAddress: 'not-an-address' },
  { host: '0x7f.1' },
  { host: '127.1' },
  { host: 'x.0xcafe' },
  { host: 'x.cafe' },
  { host: '[::1]' },
  { host: '::1' },
  { host: '1e3' },
  { host: 'a.9b' },
  { host: 'a..' },
  { host: '' },
  { host: 'a.example.com', method: 'GET', port: 80 },
  { host: 'a.example.com', tls: false },
];

/** A hash of the decisions of policies built from makeDomains(n) (enforce, audit, sources) on the mix and edge cases. */
export function decisionFingerprint(n: number): string {
  const d = makeDomains(n);
  const policies = [
    new EgressPolicy({ allowedDomains: d.all }),
    new EgressPolicy({ allowedDomains: d.all, mode: EgressMode.AUDIT }),
    new EgressPolicy({
      allowedDomains: d.all,
      sourceCidrs: ['10.0.0.0/8', '192.0.2.0/24', 'fd00::/8'],
      allowPlainHttp: true,
    }),
  ];
  const h = createHash('sha256');
  const reqs = [...requestMix(n, 20_000), ...EDGE_CASES];
  const sources = [
    '10.1.2.3',
    '192.0.2.200',
    '192.0.3.1',
    '11.0.0.1',
    'fd00::5',
    '::ffff:10.0.0.1',
    '010.0.0.1',
    undefined,
  ];
  for (const p of policies) {
    reqs.forEach((q, i) => {
      let line: string;
      try {
        const dec = p.evaluate({ ...q, sourceAddress: sources[i % sources.length] });
        line = `${dec.allowed}:${dec.rule}:${dec.audited}`;
      } catch (e: any) {
        line = `throws:${e?.constructor?.name}`;
      }
      h.update(line + ';');
    });
  }
  return h.digest('hex').slice(0, 16);
}
