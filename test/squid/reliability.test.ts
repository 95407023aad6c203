/**
 * Reliability and security against real Squid running the rendered configuration: PROXY
 * protocol identity, hot reload under load, 2,000 concurrent tunnels, a killed worker, and
 * hostile clients. Every loop is bounded in count and time; every process is stopped by PID.
 *
 * The suite prints one summary line:
 *   reliability: N cases, N denied as expected, 0 leaked, 0 tunnels dropped
 * "Leaked" counts requests the policy forbids whose bytes reached an upstream (checked at the
 * upstream); "dropped" counts established tunnels that ended before their stream finished.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as net from 'node:net';
import { ALLOWED_DOMAINS } from './fixtures';
import { openTunnel, ppv2, Ppv2Header, proxyRequest, ProxyResult, watchStream } from './proxy-client';
import { describeWithRealSquid } from './requirements';
import { SquidRun, waitFor } from './squid-runner';
import { squidSuite } from './squid-suite';
import { EgressPolicy, SquidConfig } from '../../src';

const VPCE = 'vpce-0123456789abcdef0';
const tally = { cases: 0, deniedAsExpected: 0, leaked: 0, dropped: 0 };

describeWithRealSquid('reliability and security against real Squid', () => {
  const suite = squidSuite({
    summary: () =>
      // eslint-disable-next-line no-console
      console.log(
        `reliability: ${tally.cases} cases, ${tally.deniedAsExpected} denied as expected, ${tally.leaked} leaked, ${tally.dropped} tunnels dropped`,
      ),
  });
  const { start, stop } = suite;

  /** One request that must be allowed or denied; counted in the summary, leaks checked at the upstream. */
  async function check(
    s: SquidRun,
    expect: 'allow' | 'deny',
    host: string,
    extra: { ppv2?: Ppv2Header; raw?: Buffer } = {},
  ): Promise<ProxyResult> {
    const before = suite.upstream.accepts();
    const r = await proxyRequest({
      proxyHost: s.address,
      proxyPort: s.port,
      target: `${host}:443`,
      ca: suite.certs.ca,
      ppv2: extra.ppv2,
    });
    await new Promise((res) => setTimeout(res, 100));
    const reached = suite.upstream.accepts() > before;
    tally.cases++;
    if (expect === 'deny') {
      if (reached) tally.leaked++;
      else if (!r.reachedUpstream) tally.deniedAsExpected++;
    }
    return r;
  }

  // ------------------------------------------------------------------ PROXY protocol v2
  describe('PROXY protocol v2 (the test plays the NLB)', () => {
    let squid: SquidRun;
    beforeAll(async () => {
      squid = await start(
        { allowedDomains: ALLOWED_DOMAINS, sourceCidrs: ['10.50.0.0/16'], allowedEndpointIds: [VPCE] },
        { proxyProtocolSources: [`${suite.lab.hostAddress}/32`] },
      );
    });
    afterAll(() => stop(squid));

    test('source CIDRs judge the header source, not the socket peer', async () => {
      // The socket peer (the test, playing the NLB) is outside sourceCidrs; the header source is inside.
      expect(
        (await check(squid, 'allow', 'exact.allowed.test', { ppv2: { source: '10.50.3.4', endpointId: VPCE } }))
          .reachedUpstream,
      ).toBe(true);
      // The same peer with a header source outside sourceCidrs is refused.
      const r = await check(squid, 'deny', 'exact.allowed.test', { ppv2: { source: '10.60.3.4', endpointId: VPCE } });
      expect(r.status).toBe(403);
    });

    test('the endpoint-ID allowlist admits listed endpoints and refuses others', async () => {
      expect(
        (await check(squid, 'allow', 'exact.allowed.test', { ppv2: { source: '10.50.3.4', endpointId: VPCE } }))
          .reachedUpstream,
      ).toBe(true);
      expect(
        (
          await check(squid, 'deny', 'exact.allowed.test', {
            ppv2: { source: '10.50.3.4', endpointId: 'vpce-0aaaaaaaaaaaaaaa0' },
          })
        ).status,
      ).toBe(403);
      expect((await check(squid, 'deny', 'exact.allowed.test', { ppv2: { source: '10.50.3.4' } })).status).toBe(403);
    });

    test('a connection without a PROXY header is refused', async () => {
      const r = await check(squid, 'deny', 'exact.allowed.test');
      expect(r.status).toBeUndefined();
      expect(r.reachedUpstream).toBe(false);
    });

    test('a LOCAL header (NLB health check) is accepted and closed without log lines or errors', async () => {
      const logBefore = squid.accessLog().length;
      const errorsBefore = (squid.cacheLog().match(/ERROR|WARNING/g) ?? []).length;
      for (let i = 0; i < 20; i++) {
        await new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: squid.address, port: squid.port }, () => {
            s.end(ppv2('local'));
          });
          s.on('error', reject);
          s.on('close', () => resolve());
        });
      }
      await new Promise((r) => setTimeout(r, 300));
      tally.cases++;
      expect(squid.accessLog().length).toBe(logBefore);
      expect((squid.cacheLog().match(/ERROR|WARNING/g) ?? []).length).toBe(errorsBefore);
      // And the proxy still serves.
      expect(
        (await check(squid, 'allow', 'exact.allowed.test', { ppv2: { source: '10.50.3.4', endpointId: VPCE } }))
          .reachedUpstream,
      ).toBe(true);
    });

    test('the access log records the header source and the endpoint ID', () => {
      const lines = squid.accessLog();
      expect(
        lines.some((l) => l.includes(`client=10.50.3.4 endpoint=${VPCE} `) && l.includes('rule=allowlisted')),
      ).toBe(true);
      expect(lines.some((l) => l.includes('client=10.60.3.4 ') && l.includes('rule=source-not-allowed'))).toBe(true);
    });
  });

  test('a PROXY header from outside proxy_protocol_access is refused', async () => {
    const squid = await start(
      { allowedDomains: ALLOWED_DOMAINS },
      { proxyProtocolSources: ['10.99.0.0/16'] }, // not the test's (the "NLB's") address
    );
    try {
      const r = await check(squid, 'deny', 'exact.allowed.test', { ppv2: { source: '10.50.3.4', endpointId: VPCE } });
      expect(r.status).toBeUndefined();
    } finally {
      await stop(squid);
    }
  });

  // ------------------------------------------------------------------ hot reload
  test('hot reload under load: 60 streaming tunnels survive parse + reconfigure; new connections follow the new policy; a broken config is rejected', async () => {
    const squid = await start({ allowedDomains: ['exact.allowed.test', 'a.wild.test'] });
    try {
      const tunnels = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          openTunnel({
            proxyHost: squid.address,
            proxyPort: squid.port,
            target: `${i % 2 ? 'a.wild.test' : 'exact.allowed.test'}:443`,
            ca: suite.certs.ca,
          }),
        ),
      );
      const streams = tunnels.map((t, i) => watchStream(t, i % 2 ? 'a.wild.test' : 'exact.allowed.test', 6000, 100));
      await new Promise((r) => setTimeout(r, 1000));

      // New allowlist: a.wild.test removed, denied.test added.
      squid.reconfigure(
        SquidConfig.render(
          new EgressPolicy({ allowedDomains: ['exact.allowed.test', 'denied.test'] }),
          squid.renderOptions,
        ),
      );
      await waitFor(
        'the new policy',
        async () =>
          (
            await proxyRequest({
              proxyHost: squid.address,
              proxyPort: squid.port,
              target: 'denied.test:443',
              ca: suite.certs.ca,
            })
          ).reachedUpstream,
        10_000,
      );
      expect((await check(squid, 'deny', 'a.wild.test')).status).toBe(403);
      expect((await check(squid, 'allow', 'exact.allowed.test')).reachedUpstream).toBe(true);

      // A broken configuration is rejected by parse and never applied; the old one keeps serving.
      const next = SquidConfig.render(new EgressPolicy({ allowedDomains: ['a.wild.test'] }), squid.renderOptions);
      const broken = {
        ...next,
        files: next.files.map((f) =>
          f.path === next.configFile ? { ...f, content: f.content + 'this_is_not_a_directive on\n' } : f,
        ),
      };
      expect(() => squid.reconfigure(broken)).toThrow(/squid -k parse rejected/);
      expect(readFileSync(squid.conf.configFile, 'utf8')).not.toMatch(/this_is_not_a_directive/);
      expect((await check(squid, 'deny', 'a.wild.test')).status).toBe(403);
      expect((await check(squid, 'allow', 'denied.test')).reachedUpstream).toBe(true);

      await Promise.all(streams.map((s) => s.finished));
      const dropped = streams.filter((s) => !s.done);
      tally.dropped += dropped.length;
      tally.cases += streams.length;
      expect(dropped.length).toBe(0);
      expect(Math.min(...streams.map((s) => s.ticks))).toBeGreaterThanOrEqual(40);
      tunnels.forEach((t) => t.destroy());
    } finally {
      await stop(squid);
    }
  }, 120_000);

  // ------------------------------------------------------------------ load
  test('2,000 concurrent tunnels are held with no failures, within the rendered file-descriptor limit', async () => {
    const squid = await start({ allowedDomains: ALLOWED_DOMAINS });
    const pid = squid.pid;
    try {
      const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;
      const fds = () => readdirSync(`/proc/${pid}/fd`).length;
      const baseRss = rss();
      const baseFds = fds();
      const N = 2000;
      const tunnels: Awaited<ReturnType<typeof openTunnel>>[] = [];
      const failures: string[] = [];
      const deadline = Date.now() + 120_000;
      for (let i = 0; i < N && Date.now() < deadline; i += 100) {
        const batch = await Promise.allSettled(
          Array.from({ length: Math.min(100, N - i) }, () =>
            openTunnel({
              proxyHost: squid.address,
              proxyPort: squid.port,
              target: 'exact.allowed.test:443',
              ca: suite.certs.ca,
              timeoutMs: 30_000,
            }),
          ),
        );
        for (const b of batch) b.status === 'fulfilled' ? tunnels.push(b.value) : failures.push(String(b.reason));
      }
      const streams = tunnels.map((t) => watchStream(t, 'exact.allowed.test', 8000, 2000));
      await new Promise((r) => setTimeout(r, 3000));
      const peakRss = rss();
      const peakFds = fds();
      await Promise.all(streams.map((s) => s.finished));
      const dropped = streams.filter((s) => !s.done).length;
      tunnels.forEach((t) => t.destroy());
      tally.cases += N;
      tally.dropped += dropped;
      const perTunnelKiB = (peakRss - baseRss) / tunnels.length / 1024;
      const fdsPerTunnel = (peakFds - baseFds) / tunnels.length;
      // eslint-disable-next-line no-console
      console.log(
        `load: ${tunnels.length} tunnels held, ${failures.length} failed to open, ${dropped} dropped; ` +
          `Squid RSS ${(baseRss / 2 ** 20).toFixed(1)} -> ${(peakRss / 2 ** 20).toFixed(1)} MiB (${perTunnelKiB.toFixed(1)} KiB per tunnel); ` +
          `fds ${baseFds} -> ${peakFds} (${fdsPerTunnel.toFixed(2)} per tunnel); rendered max_filedescriptors ${squid.conf.maxFileDescriptors} per worker`,
      );
      expect(failures).toEqual([]);
      expect(tunnels.length).toBe(N);
      expect(dropped).toBe(0);
      // The rendered limit leaves headroom for an NLB target's 55,000 connections at the measured fd cost.
      expect(squid.conf.maxFileDescriptors * squid.conf.workers).toBeGreaterThanOrEqual(
        Math.ceil(55_000 * fdsPerTunnel * 1.1),
      );
    } finally {
      await stop(squid);
    }
  }, 240_000);

  // ------------------------------------------------------------------ faults
  test('a killed Squid worker is replaced and service continues (2 workers, SMP)', async () => {
    const squid = await start({ allowedDomains: ALLOWED_DOMAINS }, { smp: true, vcpus: 2 });
    try {
      const master = squid.masterPid()!;
      const kids = () => squidKids(master);
      await waitFor('two Squid workers', () => kids().filter((k) => /squid-[12]\)/.test(k.name)).length === 2);
      const victim = kids().find((k) => k.name.includes('squid-1'))!;
      process.kill(victim.pid, 'SIGKILL');
      const t0 = Date.now();
      await waitFor(
        'a new squid-1 worker',
        () => kids().some((k) => k.name.includes('squid-1') && k.pid !== victim.pid),
        30_000,
      );
      const restartMs = Date.now() - t0;
      let ok = 0;
      for (let i = 0; i < 20; i++) if ((await check(squid, 'allow', 'exact.allowed.test')).reachedUpstream) ok++;
      // eslint-disable-next-line no-console
      console.log(
        `fault: worker ${victim.pid} killed; replaced after ${restartMs} ms; ${ok}/20 requests served afterwards`,
      );
      expect(ok).toBe(20);
      expect((await check(squid, 'deny', 'denied.test')).status).toBe(403);
    } finally {
      await stop(squid);
    }
  }, 120_000);

  test('slow, oversized, garbage and half-open clients do not stop service for well-behaved clients', async () => {
    const squid = await start({ allowedDomains: ALLOWED_DOMAINS });
    const bad: net.Socket[] = [];
    try {
      const connect = () => {
        const s = net.connect({ host: squid.address, port: squid.port });
        s.on('error', () => {});
        bad.push(s);
        return s;
      };
      // 50 slow clients trickling a CONNECT one byte every 200 ms.
      const slowText = 'CONNECT exact.allowed.test:443 HTTP/1.1\r\nHost: exact.allowed.test:443\r\n\r\n';
      const slow = Array.from({ length: 50 }, () => connect());
      let pos = 0;
      const trickle = setInterval(() => {
        if (pos < slowText.length) slow.forEach((s) => s.write(slowText[pos]));
        pos++;
      }, 200);
      // 20 clients with 100 KiB headers, 20 sending garbage, 50 half-open (connect, send nothing).
      for (let i = 0; i < 20; i++) {
        connect().write(`CONNECT exact.allowed.test:443 HTTP/1.1\r\nX-Big: ${'a'.repeat(100 * 1024)}\r\n\r\n`);
      }
      for (let i = 0; i < 20; i++) {
        connect().write(Buffer.from(Array.from({ length: 4096 }, (_, j) => (i * 31 + j * 7) % 256)));
      }
      for (let i = 0; i < 50; i++) connect();

      const timings: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = Date.now();
        const r = await check(squid, 'allow', i % 2 ? 'exact.allowed.test' : 'a.wild.test');
        timings.push(Date.now() - t0);
        expect(r.reachedUpstream).toBe(true);
        expect((await check(squid, 'deny', 'denied.test')).status).toBe(403);
      }
      clearInterval(trickle);
      // eslint-disable-next-line no-console
      console.log(
        `hostile clients: 140 misbehaving connections open; 20/20 good requests served, slowest ${Math.max(...timings)} ms`,
      );
      expect(Math.max(...timings)).toBeLessThan(3000);
    } finally {
      bad.forEach((s) => s.destroy());
      await stop(squid);
    }
  }, 120_000);
});

/** Child processes of the Squid master, with their titles (`(squid-1)`, `(squid-coord-3)`). */
function squidKids(master: number): Array<{ pid: number; name: string }> {
  const out: Array<{ pid: number; name: string }> = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === master) {
        out.push({ pid: Number(d), name: readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ') });
      }
    } catch {
      /* process gone */
    }
  }
  return out;
}
