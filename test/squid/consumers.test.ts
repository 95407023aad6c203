/**
 * A shared egress hub on real Squid: consumers with their own destinations. What each consumer may
 * reach (and that evaluate() agrees) is in the agreement corpus (policy-agreement.test.ts, configs
 * `consumers` and `consumers-only`); this suite proves what a corpus of single requests cannot:
 * that a client cannot take another consumer's identity with a PROXY header of its own, that one
 * consumer's list changes by a reload that drops nobody's open tunnels, and that Squid runs a
 * 200-consumer × 100-destination policy, and one whose sets are too long for a single Squid line.
 *
 * Prints `consumers: N checks, 0 leaked, 0 tunnels dropped; 200 × 100 policy: parse P ms, start S ms`.
 */
import * as net from 'node:net';
import { openTunnel, ppv2, Ppv2Header, proxyRequest, ProxyResult, watchStream } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { SquidRun, waitFor } from './squid-runner';
import { squidSuite } from './squid-suite';
import { EgressConsumer, EgressPolicy, SquidConfig } from '../../src';

const VPCE_A = 'vpce-0aaaaaaaaaaaaaaa1';
const VPCE_B = 'vpce-0bbbbbbbbbbbbbbb2';
const A: Ppv2Header = { source: '10.50.1.2', endpointId: VPCE_A };
const B: Ppv2Header = { source: '10.60.1.2', endpointId: VPCE_B };
const SHARED = ['exact.allowed.test'];
const TEAM_A: EgressConsumer = { name: 'team-a', endpointIds: [VPCE_A], allowedDomains: ['a-only.consumers.test'] };
const TEAM_B: EgressConsumer = { name: 'team-b', endpointIds: [VPCE_B], allowedDomains: ['b-only.consumers.test'] };

const tally = { checks: 0, leaked: 0, dropped: 0, parseMs: 0, startMs: 0 };

describeWithRealSquid('a shared egress hub on real Squid: per-consumer destinations', () => {
  const suite = squidSuite({
    defaults: ({ lab }) => ({ proxyProtocolSources: [`${lab.hostAddress}/32`] }),
    summary: () =>
      // eslint-disable-next-line no-console
      console.log(
        `consumers: ${tally.checks} checks, ${tally.leaked} leaked, ${tally.dropped} tunnels dropped; ` +
          `200 × 100 policy: parse ${tally.parseMs} ms, start ${tally.startMs} ms`,
      ),
  });
  const { start, stop } = suite;

  /** One CONNECT that must be allowed or denied; a denied one must not reach the upstream. */
  async function check(s: SquidRun, want: 'allow' | 'deny', host: string, who: Ppv2Header): Promise<ProxyResult> {
    const before = suite.upstream.accepts();
    const r = await proxyRequest({
      proxyHost: s.address,
      proxyPort: s.port,
      ppv2: who,
      target: `${host}:443`,
      ca: suite.certs.ca,
    });
    await new Promise((res) => setTimeout(res, 50));
    const reached = suite.upstream.accepts() > before;
    tally.checks++;
    if (want === 'deny' && reached) tally.leaked++;
    expect({ host, who: who.endpointId ?? who.source, reached }).toEqual({
      host,
      who: who.endpointId ?? who.source,
      reached: want === 'allow',
    });
    return r;
  }

  /** Raw bytes to the proxy; resolves with what came back when the proxy closes or after `ms`. */
  function rawExchange(s: SquidRun, bytes: Buffer, ms = 2000): Promise<string> {
    return new Promise((resolve) => {
      let got = '';
      const sock = net.connect({ host: s.address, port: s.port }, () => sock.write(bytes));
      sock.on('data', (d) => (got += d.toString('latin1')));
      sock.on('error', () => undefined);
      const timer = setTimeout(() => sock.destroy(), ms);
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(got);
      });
    });
  }

  test("a client cannot take another consumer's identity with a PROXY header of its own", async () => {
    const squid = await start({ allowedDomains: SHARED, consumers: [TEAM_A, TEAM_B] });
    try {
      // The load balancer's header says team-b; the client adds one claiming team-a's endpoint.
      const before = suite.upstream.accepts();
      const forged = Buffer.concat([
        ppv2(B),
        ppv2(A),
        Buffer.from('CONNECT a-only.consumers.test:443 HTTP/1.1\r\nHost: a-only.consumers.test:443\r\n\r\n'),
      ]);
      const reply = await rawExchange(squid, forged);
      tally.checks++;
      expect(reply).not.toMatch(/^HTTP\/1\.1 200/);
      expect(suite.upstream.accepts()).toBe(before);
      // Team-b itself still reaches its own destination, and team-a its own.
      await check(squid, 'allow', 'b-only.consumers.test', B);
      await check(squid, 'allow', 'a-only.consumers.test', A);
      await check(squid, 'deny', 'a-only.consumers.test', B);
    } finally {
      await stop(squid);
    }
  }, 60_000);

  test("a PROXY header claiming team-a's endpoint from a peer that is not the load balancer is refused", async () => {
    // proxy_protocol_access trusts another network than the test's (the "NLB's") address.
    const squid = await start(
      { allowedDomains: SHARED, consumers: [TEAM_A, TEAM_B] },
      { proxyProtocolSources: ['10.99.0.0/16'] },
    );
    try {
      const r = await check(squid, 'deny', 'a-only.consumers.test', A);
      expect(r.status).toBeUndefined();
      await check(squid, 'deny', 'exact.allowed.test', A);
    } finally {
      await stop(squid);
    }
  }, 60_000);

  test("changing one consumer's list reloads without dropping any consumer's open tunnels", async () => {
    const squid = await start({ allowedDomains: SHARED, consumers: [TEAM_A, TEAM_B] });
    try {
      const open = [
        ...Array.from({ length: 10 }, () => ({ who: A, host: 'a-only.consumers.test' })),
        ...Array.from({ length: 10 }, () => ({ who: B, host: 'b-only.consumers.test' })),
        ...Array.from({ length: 10 }, (_, i) => ({ who: i % 2 ? A : B, host: 'exact.allowed.test' })),
      ];
      const tunnels = await Promise.all(
        open.map((o) =>
          openTunnel({
            proxyHost: squid.address,
            proxyPort: squid.port,
            ppv2: o.who,
            target: `${o.host}:443`,
            ca: suite.certs.ca,
          }),
        ),
      );
      const streams = tunnels.map((t, i) => watchStream(t, open[i].host, 6000, 100));
      await new Promise((r) => setTimeout(r, 1000));

      // Team-b trades b-only for c-only; team-a and the shared list do not change.
      const teamB2: EgressConsumer = { ...TEAM_B, allowedDomains: ['c-only.consumers.test'] };
      squid.reconfigure(
        SquidConfig.render(
          new EgressPolicy({ allowedDomains: SHARED, consumers: [TEAM_A, teamB2] }),
          squid.renderOptions,
        ),
      );
      await waitFor(
        "team-b's new list",
        async () =>
          (
            await proxyRequest({
              proxyHost: squid.address,
              proxyPort: squid.port,
              ppv2: B,
              target: 'c-only.consumers.test:443',
              ca: suite.certs.ca,
            })
          ).reachedUpstream,
        10_000,
      );
      await check(squid, 'deny', 'b-only.consumers.test', B);
      await check(squid, 'allow', 'c-only.consumers.test', B);
      await check(squid, 'deny', 'c-only.consumers.test', A);
      await check(squid, 'allow', 'a-only.consumers.test', A);

      await Promise.all(streams.map((s) => s.finished));
      const dropped = streams.filter((s) => !s.done).length;
      tally.dropped += dropped;
      tally.checks += streams.length;
      expect(dropped).toBe(0);
      expect(Math.min(...streams.map((s) => s.ticks))).toBeGreaterThanOrEqual(40);
      tunnels.forEach((t) => t.destroy());
    } finally {
      await stop(squid);
    }
  }, 120_000);

  test('Squid parses and runs a 200-consumer × 100-destination policy; consumers stay apart', async () => {
    const consumers: EgressConsumer[] = Array.from({ length: 200 }, (_, c) => ({
      name: `team-${c + 1}`,
      endpointIds: [`vpce-${(c + 1).toString(16).padStart(17, '0')}`],
      allowedDomains: Array.from({ length: 100 }, (__, d) => `c${c + 1}-d${d + 1}.consumers.test`),
    }));
    const who = (c: number): Ppv2Header => ({ source: '10.50.1.2', endpointId: consumers[c - 1].endpointIds![0] });
    const big = { ...suite.hosts };
    for (const n of ['c1-d1', 'c1-d100', 'c200-d1', 'c200-d100', 'c100-d50']) {
      big[`${n}.consumers.test`] = suite.lab.upstreamAddresses[0];
    }
    const started = Date.now();
    const squid = await start({ allowedDomains: SHARED, consumers }, { hosts: big });
    tally.startMs = Date.now() - started;
    try {
      const p0 = Date.now();
      SquidRun.parse(suite.lab, squid.conf.configFile);
      tally.parseMs = Date.now() - p0;
      expect(squid.conf.files.map((f) => f.path.replace(/.*\//, ''))).toContain('egress-consumers.conf');
      await check(squid, 'allow', 'c200-d100.consumers.test', who(200));
      await check(squid, 'allow', 'c1-d1.consumers.test', who(1));
      await check(squid, 'allow', 'c100-d50.consumers.test', who(100));
      await check(squid, 'deny', 'c200-d1.consumers.test', who(1));
      await check(squid, 'deny', 'c1-d100.consumers.test', who(200));
      await check(squid, 'deny', 'c1-d1.consumers.test', { source: '10.50.1.2' });
      await check(squid, 'allow', 'exact.allowed.test', who(150));
      const line = squid.accessLog().find((l) => l.includes('dest=c200-d100.consumers.test:443'));
      expect(line).toContain(`endpoint=${consumers[199].endpointIds![0]} consumer=team-200 `);
    } finally {
      await stop(squid);
    }
  }, 180_000);

  test('Squid runs a policy whose sets do not fit on one line: 700 sources, 300 opened private addresses, 300 consumers', async () => {
    // One 9 KB line stops Squid 5.7 at start ("FATAL: Bungled"); the renderer splits every set into
    // repeated lines, which Squid appends, and nests the consumers' walk (repeated all-of lines are ORed).
    const sourceCidrs = Array.from({ length: 700 }, (_, i) => `10.${i % 250}.${Math.floor(i / 250)}.0/24`);
    const allowedPrivateCidrs = Array.from(
      { length: 300 },
      (_, i) => `172.16.${i % 250}.${1 + Math.floor(i / 250)}/32`,
    );
    const ids = (c: number, n: number) =>
      Array.from({ length: n }, (_, i) => `vpce-${c.toString(16).padStart(8, '0')}${i.toString(16).padStart(9, '0')}`);
    const consumers: EgressConsumer[] = Array.from({ length: 300 }, (_, c) => ({
      name: `big-${c + 1}`,
      endpointIds: ids(c + 1, c === 0 ? 400 : 1),
      allowedDomains: [`c${c + 1}.big.test`],
    }));
    const big: Record<string, string> = {
      ...suite.hosts,
      'c1.big.test': suite.lab.upstreamAddresses[0],
      'c300.big.test': suite.lab.upstreamAddresses[0],
    };
    // A listed name whose address is private space the policy did not open (nothing listens there:
    // the lab's namespace has no route to it).
    big['private.big.test'] = '192.168.7.7';
    const squid = await start(
      { allowedDomains: [...SHARED, 'private.big.test'], sourceCidrs, allowedPrivateCidrs, consumers },
      { hosts: big },
    );
    try {
      const lines = squid.conf.files.flatMap((f) => f.content.split('\n'));
      const acl = (name: string) => lines.filter((l) => l.startsWith(`acl ${name} `));
      expect(acl('egress_sources').length).toBeGreaterThan(1);
      expect(acl('egress_to_private').length).toBeGreaterThan(1);
      expect(acl('egress_to_private')[0]).not.toContain('192.168.0.0/16');
      expect(acl('egress_c1_endpoint').length).toBeGreaterThan(1);
      expect(acl('egress_consumers')).toEqual([
        'acl egress_consumers all-of egress_consumers_1_1 egress_consumers_1_2',
      ]);
      // A client in the last CIDR of the last sources line; one in none.
      const lastSource = acl('egress_sources')
        .at(-1)!
        .split(' ')
        .at(-1)!
        .replace(/\.0\/\d+$/, '.7');
      await check(squid, 'allow', SHARED[0], { source: lastSource });
      await check(squid, 'deny', SHARED[0], { source: '10.250.0.1' });
      // The private address's range is on a later line than the first: still refused.
      await check(squid, 'deny', 'private.big.test', { source: '10.50.1.2' });
      expect(squid.accessLog().find((l) => l.includes('dest=private.big.test:443'))).toContain('rule=to-private ');
      // The last consumer sits in the nested walk's second branch; the first by its 400th endpoint ID.
      const last = { source: '10.50.1.2', endpointId: consumers[299].endpointIds![0] };
      const first = { source: '10.50.1.2', endpointId: consumers[0].endpointIds![399] };
      await check(squid, 'allow', 'c300.big.test', last);
      await check(squid, 'deny', 'c300.big.test', first);
      await check(squid, 'allow', 'c1.big.test', first);
      await check(squid, 'deny', 'c1.big.test', last);
    } finally {
      await stop(squid);
    }
  }, 180_000);
});
