/**
 * `suggest` on what real Squid logs in audit mode: requests from two consumers (PROXY protocol
 * v2 with their VPC endpoint IDs) go through Squid running an almost empty policy in audit
 * mode; the BUILT command (lib/cli/main.js, after `npx projen compile`) reads the access log;
 * the policy it prints is fed back into EgressPolicy and into real Squid in enforce mode, which
 * must allow every request audit mode saw and deny names it did not see.
 *
 * Prints `suggest: N requests logged, M names suggested, K allowed again by real Squid in enforce mode`.
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeCertificates, TestCertificates } from './certs';
import { CERT_NAMES, hostsFor } from './fixtures';
import { Lab } from './lab';
import { Ppv2Header, proxyRequest } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { SquidRun, Upstream, waitFor } from './squid-runner';
import { EgressMode, EgressPolicy, EgressPolicyProps } from '../../src';

const BIN = join(__dirname, '..', '..', 'lib', 'cli', 'main.js');
const A: Ppv2Header = { source: '10.50.1.2', endpointId: 'vpce-0123456789abcdef0' };
const B: Ppv2Header = { source: '10.60.7.8', endpointId: 'vpce-0fedcba9876543210' };

interface Req {
  readonly who: Ppv2Header;
  readonly host: string;
  readonly port?: number;
  /** Plain HTTP GET instead of a CONNECT tunnel with TLS. */
  readonly plain?: boolean;
}

/** What the consumers do while the proxy is in audit mode. */
const SEEN: Req[] = [
  { who: A, host: 'exact.allowed.test' },
  { who: A, host: 'a.wild.test' },
  { who: A, host: 'b.wild.test' },
  { who: A, host: 'sts.us-east-1.amazonaws.com' },
  { who: A, host: 'a.star.test', port: 8443 },
  { who: B, host: 'wild.test' },
  { who: B, host: 'a.wild.test' },
  { who: B, host: 'a.wild.test' },
  { who: B, host: 'denied.test', port: 80, plain: true },
];
/** Refused in audit mode too (a guardrail): never suggested. */
const GUARDED: Req[] = [{ who: A, host: 'loopback-rebind.allowed.test' }];
/** Names nobody asked for: the suggested policy must not allow them. */
const UNSEEN: Req[] = [
  { who: A, host: 'x.exact.allowed.test' },
  { who: A, host: 'a.b.wild.test' },
  { who: A, host: 'notwild.test' },
  { who: A, host: 'star.test' },
  { who: B, host: 'sts.us-west-2.amazonaws.com' },
  { who: B, host: 'evilamazonaws.com' },
];

function portOf(r: Req): number {
  return r.port ?? (r.plain ? 80 : 443);
}

/** Run the built command; fails the test unless it exits 0. */
function runSuggest(log: string, ...flags: string[]): { out: string; err: string } {
  const r = spawnSync(process.execPath, [BIN, 'suggest', '--log', log, ...flags], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`suggest exited ${r.status}: ${r.stderr}`);
  return { out: r.stdout, err: r.stderr };
}

describeWithRealSquid('suggest: the policy from an audit-mode access log of real Squid allows what was seen', () => {
  let lab: Lab;
  let certs: TestCertificates;
  let upstream: Upstream;
  let hosts: Record<string, string>;

  beforeAll(async () => {
    if (!existsSync(BIN)) {
      throw new Error(`${BIN} is missing: run 'npx projen compile' first (the test runs the built command)`);
    }
    lab = Lab.create();
    certs = makeCertificates(lab.dir, CERT_NAMES);
    hosts = { ...hostsFor(lab), 'b.wild.test': lab.upstreamAddresses[0] };
    upstream = await Upstream.start(lab, certs.serverCert, certs.serverKey);
  });
  afterAll(async () => {
    await upstream?.stop();
    lab?.destroy();
  });

  /** Send the requests through `squid`; returns which reached an upstream, one access-log line each. */
  async function send(squid: SquidRun, reqs: Req[]): Promise<boolean[]> {
    const reached: boolean[] = [];
    for (const r of reqs) {
      const before = upstream.accepts();
      const lines = squid.accessLog().length;
      const port = portOf(r);
      await proxyRequest({
        proxyHost: squid.address,
        proxyPort: squid.port,
        ppv2: r.who,
        method: r.plain ? 'GET' : undefined,
        target: r.plain ? `http://${r.host}:${port}/` : `${r.host}:${port}`,
        sni: r.plain ? undefined : r.host,
        ca: certs.ca,
      });
      await waitFor(`the access-log line of ${r.host}:${port}`, () => squid.accessLog().length > lines, 5000);
      await new Promise((res) => setTimeout(res, 100));
      reached.push(upstream.accepts() > before);
    }
    return reached;
  }

  test('audit mode, then the built command, then enforce mode with its suggestion', async () => {
    const renderOptions = { bumpFile: certs.bumpFile, hosts, proxyProtocolSources: [`${lab.hostAddress}/32`] };

    // 1. Audit mode with a one-name allowlist: everything but the guardrail goes through.
    const audit = await SquidRun.start(
      lab,
      new EgressPolicy({ allowedDomains: ['exact.allowed.test'], mode: EgressMode.AUDIT }),
      renderOptions,
    );
    let auditReached: boolean[];
    try {
      auditReached = await send(audit, [...SEEN, ...GUARDED]);
    } finally {
      await audit.stop();
    }
    expect(auditReached).toEqual([...SEEN.map(() => true), ...GUARDED.map(() => false)]);
    const log = join(lab.dir, 'audit-access.log');
    copyFileSync(audit.conf.accessLog, log);

    // 2. The built command on Squid's own log.
    const { out, err } = runSuggest(log, '--format', 'json');
    const s = JSON.parse(out);
    const seenNames = [...new Set(SEEN.map((r) => r.host))].sort((p, q) => p.localeCompare(q));
    expect(s.policy).toEqual({ allowedDomains: seenNames, ports: [443, 8443], allowPlainHttp: true });
    expect(s.lines).toMatchObject({
      read: SEEN.length + GUARDED.length,
      suggested: SEEN.length,
      denied: 0,
      undecided: 0,
    });
    expect(s.notAllowable.map((n: any) => n.destination)).toEqual(GUARDED.map((r) => `${r.host}:${portOf(r)}`));
    expect(s.notAllowable[0].rule).toBe('to-localhost');
    expect(err).toMatch(new RegExp(`^${SEEN.length + GUARDED.length} lines: ${SEEN.length} requests suggested`, 'm'));
    // Counts per name, and per consumer by endpoint ID with the source address PROXY protocol carried.
    const count = (reqs: Req[], host: string) => reqs.filter((r) => r.host === host).length;
    expect(s.entries).toEqual(seenNames.map((n) => ({ entry: n, count: count(SEEN, n) })));
    for (const who of [A, B]) {
      const mine = SEEN.filter((r) => r.who === who);
      const c = s.consumers.find((x: any) => x.endpointId === who.endpointId);
      expect(c).toEqual({
        endpointId: who.endpointId,
        sources: [who.source],
        requests: mine.length,
        names: [...new Set(mine.map((r) => r.host))]
          .sort((p, q) => p.localeCompare(q))
          .map((n) => ({ name: n, count: count(mine, n) })),
      });
    }
    // The AWS endpoint maps back to its AwsEndpoints preset.
    expect(s.awsEndpoints).toEqual([
      expect.objectContaining({
        service: 'STS',
        regions: ['us-east-1'],
        names: [{ name: 'sts.us-east-1.amazonaws.com', count: 1 }],
      }),
    ]);
    expect(runSuggest(log).out).toContain(
      "...AwsEndpoints.hostnames({ services: [AwsService.STS], regions: ['us-east-1'] }),",
    );

    // 3. Hostile lines appended to Squid's log are skipped and counted; the suggestion is unchanged.
    const hostile = join(lab.dir, 'hostile-access.log');
    copyFileSync(log, hostile);
    appendFileSync(
      hostile,
      Buffer.concat([
        Buffer.from(`${'x'.repeat(100_000)}\n`),
        Buffer.from([0xff, 0xfe, 0x0a]),
        Buffer.from(
          '2026-12-02T08:04:15.476Z client=10.0.0.1 endpoint=- method=CONNECT dest=evil.test:443 sni=evil.test\n',
        ),
        Buffer.from('status=TCP_TUNNEL/200 rule=allowlisted audit=- bytes_out=1 bytes_in=1 duration_ms=1\n'),
        Buffer.from('\x1b[2J\x1b[H\n'),
      ]),
    );
    const h = JSON.parse(runSuggest(hostile, '--format', 'json').out);
    expect(h.policy).toEqual(s.policy);
    expect(h.lines.skipped).toEqual({ tooLong: 1, nonUtf8: 1, malformed: 3, unknownRule: 0 });

    // 4. Fed back: evaluate() allows every request seen and none of the unseen names...
    const props: EgressPolicyProps = { ...s.policy, mode: EgressMode.ENFORCE };
    const policy = new EgressPolicy(props);
    const evaluate = (r: Req) =>
      policy.evaluate({
        host: r.host,
        port: portOf(r),
        method: r.plain ? 'GET' : 'CONNECT',
        sni: r.plain ? undefined : r.host,
        resolvedAddresses: [hosts[r.host]],
        sourceAddress: r.who.source,
        endpointId: r.who.endpointId,
      }).allowed;
    expect(SEEN.map(evaluate)).toEqual(SEEN.map(() => true));
    expect(UNSEEN.map(evaluate)).toEqual(UNSEEN.map(() => false));
    // ...and so does real Squid in enforce mode.
    const enforce = await SquidRun.start(lab, policy, renderOptions);
    let seenReached: boolean[];
    let unseenReached: boolean[];
    try {
      seenReached = await send(enforce, SEEN);
      unseenReached = await send(enforce, UNSEEN);
    } finally {
      await enforce.stop();
    }
    expect(seenReached).toEqual(SEEN.map(() => true));
    expect(unseenReached).toEqual(UNSEEN.map(() => false));

    // 5. With --wildcards the three wild.test names (apex seen too) become one `.wild.test`, which still allows them.
    const w = JSON.parse(runSuggest(log, '--format', 'json', '--wildcards').out);
    expect(w.policy.allowedDomains).toEqual(
      expect.arrayContaining([
        '.wild.test',
        'a.star.test',
        'denied.test',
        'exact.allowed.test',
        'sts.us-east-1.amazonaws.com',
      ]),
    );
    expect(w.policy.allowedDomains).toHaveLength(5);
    expect(
      SEEN.map(
        (r) =>
          new EgressPolicy(w.policy).evaluate({
            host: r.host,
            port: portOf(r),
            method: r.plain ? 'GET' : 'CONNECT',
            sni: r.plain ? undefined : r.host,
            resolvedAddresses: [hosts[r.host]],
          }).allowed,
      ),
    ).toEqual(SEEN.map(() => true));

    // eslint-disable-next-line no-console
    console.log(
      `suggest: ${s.lines.read} requests logged, ${s.policy.allowedDomains.length} names suggested, ` +
        `${seenReached.filter(Boolean).length}/${SEEN.length} allowed again by real Squid in enforce mode, ` +
        `${unseenReached.filter((x) => !x).length}/${UNSEEN.length} unseen names denied`,
    );
  }, 300_000);
});
