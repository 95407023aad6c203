/**
 * Memory per tunnel of Squid running the rendered configuration (PROXY protocol v2 from the load
 * balancer's subnet, TLS peek and splice), at 1,000, 5,000 and 10,000 open tunnels: idle (the
 * CONNECT answered and the TLS handshake done through the tunnel) and after each tunnel carried
 * 64 KiB each way. A section of the benchmark (bench/run.ts, section `memory`): its results are
 * section 4 of docs/BENCHMARKS.md, and src/private/sizing.ts sizes instances from them.
 *
 *   sudo npx projen bench                              (the whole benchmark; takes the lock)
 *   sudo BENCH_SECTIONS=memory BENCH_OUT=/tmp/m.md npx projen bench   (this section alone)
 *
 * Squid runs with two SMP workers: this machine caps every process at 20,000 open files (setrlimit
 * cannot raise it), and 10,000 tunnels need 20,000 descriptors in Squid. Each point starts a fresh
 * Squid, because Squid keeps its peak memory after tunnels close (measured below too).
 */
import { ChildProcess, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { Duration } from 'aws-cdk-lib';
import { processTree } from './procstat';
import { EgressPolicy, SquidConfig } from '../src';
import { HostNetwork } from '../test/host/network';
import { makeCertificates } from '../test/squid/certs';
import { openTunnel } from '../test/squid/proxy-client';

const NAME = 'memory.bench.test';
const POINTS = (process.env.BENCH_MEMORY_POINTS ?? '1000,5000,10000').split(',').map(Number);
const EXCHANGE_BYTES = 64 * 1024;
const WORKERS = 2;
const CLIENT = { source: '10.50.1.2', endpointId: 'vpce-0123456789abcdef0' };

interface Sample {
  readonly rssKiB: number;
  readonly fds: number;
  readonly slabKiB: number;
  readonly tcpMemKiB: number;
}

/** One point: the tunnels held and Squid's (and the kernel's) memory at each stage. */
export interface MemoryPoint {
  readonly tunnels: number;
  readonly opened: number;
  readonly exchanged: number;
  readonly base: Sample;
  readonly idle: Sample;
  readonly active: Sample;
  readonly afterClose: Sample;
  readonly openSeconds: number;
}

/** Measure every point (BENCH_MEMORY_POINTS), each on a fresh Squid. Needs root and the lock. */
export async function measureMemory(log: (s: string) => void): Promise<MemoryPoint[]> {
  const dir = mkdtempSync(join(os.tmpdir(), 'pep-memory-'));
  chmodSync(dir, 0o755);
  const net = HostNetwork.create('mem');
  try {
    const certs = makeCertificates(dir, [NAME], 'ec');
    const upstream = await startUpstream(net, dir, certs.serverCert, certs.serverKey);
    const results: MemoryPoint[] = [];
    for (const n of POINTS) {
      log(`memory: ${n.toLocaleString('en-US')} tunnels`);
      const squid = await startSquid(net, dir, n, certs.bumpFile);
      try {
        results.push(await measurePoint(net, squid, n, certs.ca));
      } finally {
        await net.stop(squid.child, 'SIGTERM', 30_000);
      }
      log(`memory: ${JSON.stringify(results[results.length - 1])}`);
    }
    await net.stop(upstream);
    return results;
  } finally {
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startUpstream(net: HostNetwork, dir: string, cert: string, key: string): Promise<ChildProcess> {
  const ready = join(dir, 'upstream.ready');
  const child = net.spawn(net.upstream, process.execPath, [
    join(__dirname, 'memory-upstream.js'),
    JSON.stringify({ cert, key, host: net.upstreamAddresses[0], port: 443, ready }),
  ]);
  await until('the upstream', () => existsSync(ready), 10_000);
  return child;
}

interface RunningSquid {
  readonly child: ChildProcess;
}

/** A fresh Squid (two workers) with the rendered configuration, listening on the box's address. */
async function startSquid(net: HostNetwork, dir: string, n: number, bumpFile: string): Promise<RunningSquid> {
  const run = join(dir, `squid-${n}`);
  mkdirSync(join(run, 'logs'), { recursive: true });
  chmodSync(run, 0o755);
  chmodSync(join(run, 'logs'), 0o777);
  const hostsFile = join(run, 'hosts');
  writeFileSync(hostsFile, `${net.upstreamAddresses[0]} ${NAME}\n`, { mode: 0o644 });
  const conf = SquidConfig.render(new EgressPolicy({ allowedDomains: [NAME] }), {
    listenAddress: net.proxyAddress,
    proxyProtocolSources: [net.loadBalancerSubnet],
    vcpus: WORKERS,
    maxFileDescriptors: 20_000,
    configDirectory: join(run, 'etc'),
    logDirectory: join(run, 'logs'),
    pidFile: join(run, 'logs', 'squid.pid'),
    certificateFile: bumpFile,
    hostsFile,
    dnsNameservers: ['127.0.0.1'],
    shutdownLifetime: Duration.seconds(1),
  });
  for (const f of conf.files) {
    mkdirSync(join(f.path, '..'), { recursive: true, mode: 0o755 });
    writeFileSync(f.path, f.content, { mode: parseInt(f.mode, 8) });
  }
  execFileSync('ip', ['netns', 'exec', net.box, '/usr/sbin/squid', '-k', 'parse', '-f', conf.configFile], {
    stdio: 'pipe',
  });
  const child = net.spawn(net.box, '/usr/sbin/squid', ['--foreground', '-f', conf.configFile]);
  await until('Squid workers to listen', () => squidPids(child).length >= WORKERS + 1 && listens(net), 30_000);
  return { child };
}

function listens(net: HostNetwork): boolean {
  return net.exec(net.box, 'ss', ['-Hltn', 'sport = :3128']).trim().length > 0;
}

function squidPids(child: ChildProcess): number[] {
  return child.pid ? processTree(child.pid) : [];
}

/** Open n tunnels, measure idle, exchange 64 KiB each way, measure active, close, measure again. */
async function measurePoint(net: HostNetwork, squid: RunningSquid, n: number, ca: string): Promise<MemoryPoint> {
  // Warm-up: a few tunnels, so the baseline includes what the first tunnel allocates once.
  const warm = await openMany(net, 20, ca);
  await exchangeAll(warm);
  warm.forEach((t) => t.destroy());
  await sleep(2000);
  const base = sample(squid);
  const started = Date.now();
  const tunnels = await openMany(net, n, ca);
  const openSeconds = (Date.now() - started) / 1000;
  await sleep(3000);
  const idle = sample(squid);
  const exchanged = await exchangeAll(tunnels);
  await sleep(3000);
  const active = sample(squid);
  tunnels.forEach((t) => t.destroy());
  await sleep(5000);
  const afterClose = sample(squid);
  return { tunnels: n, opened: tunnels.length, exchanged, base, idle, active, afterClose, openSeconds };
}

async function openMany(net: HostNetwork, n: number, ca: string): Promise<tls.TLSSocket[]> {
  const out: tls.TLSSocket[] = [];
  let next = 0;
  let failures = 0;
  const worker = async () => {
    while (next < n) {
      next++;
      try {
        out.push(
          await openTunnel({
            proxyHost: net.proxyAddress,
            proxyPort: 3128,
            target: `${NAME}:443`,
            ca,
            ppv2: CLIENT,
            timeoutMs: 30_000,
          }),
        );
      } catch {
        failures++;
      }
    }
  };
  await Promise.all(Array.from({ length: 64 }, worker));
  if (failures > 0) process.stderr.write(`${failures} of ${n} tunnels failed to open\n`);
  return out;
}

/** Send 64 KiB through every tunnel and wait for the echo; returns how many completed. */
async function exchangeAll(tunnels: tls.TLSSocket[]): Promise<number> {
  const payload = Buffer.alloc(EXCHANGE_BYTES, 'x');
  let done = 0;
  let next = 0;
  const one = (t: tls.TLSSocket) =>
    new Promise<void>((resolve) => {
      let got = 0;
      const timer = setTimeout(finish, 30_000);
      function finish() {
        clearTimeout(timer);
        t.off('data', onData);
        resolve();
      }
      function onData(d: Buffer) {
        got += d.length;
        if (got >= EXCHANGE_BYTES) {
          done++;
          finish();
        }
      }
      t.on('data', onData);
      t.write(payload);
    });
  const worker = async () => {
    while (next < tunnels.length) await one(tunnels[next++]);
  };
  await Promise.all(Array.from({ length: 128 }, worker));
  return done;
}

function sample(squid: RunningSquid): Sample {
  let rssKiB = 0;
  let fds = 0;
  for (const pid of squidPids(squid.child)) {
    try {
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
      fds += readdirSync(`/proc/${pid}/fd`).length;
    } catch {
      /* exited */
    }
  }
  const meminfo = readFileSync('/proc/meminfo', 'utf8');
  const slabKiB = Number(/^Slab:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const sockstat = readFileSync('/proc/net/sockstat', 'utf8');
  const tcpMemKiB = Number(/^TCP:.* mem (\d+)/m.exec(sockstat)?.[1] ?? 0) * 4;
  return { rssKiB, fds, slabKiB, tcpMemKiB };
}

/** Section 4 of docs/BENCHMARKS.md (bench/report.ts calls it with the results of this run). */
export function memorySection(results: MemoryPoint[]): string[] {
  const perTunnel = (a: number, b: number, n: number) => ((a - b) / n).toFixed(1);
  const rows = results.map(
    (r) =>
      `| ${r.tunnels.toLocaleString('en-US')} | ${r.opened.toLocaleString('en-US')} | ${r.exchanged.toLocaleString('en-US')} ` +
      `| ${(r.base.rssKiB / 1024).toFixed(1)} | ${(r.idle.rssKiB / 1024).toFixed(1)} | **${perTunnel(r.idle.rssKiB, r.base.rssKiB, r.opened)}** ` +
      `| ${(r.active.rssKiB / 1024).toFixed(1)} | **${perTunnel(r.active.rssKiB, r.base.rssKiB, r.opened)}** ` +
      `| ${(r.afterClose.rssKiB / 1024).toFixed(1)} | ${perTunnel(r.idle.fds, r.base.fds, r.opened)} ` +
      `| ${perTunnel(r.idle.slabKiB + r.idle.tcpMemKiB, r.base.slabKiB + r.base.tcpMemKiB, r.opened)} ` +
      `| ${perTunnel(r.active.slabKiB + r.active.tcpMemKiB, r.base.slabKiB + r.base.tcpMemKiB, r.opened)} |`,
  );
  return [
    '## 4. Memory per tunnel',
    '',
    'Method (bench/memory.ts): Squid runs the configuration `SquidConfig.render` produces for an instance (PROXY protocol v2 required',
    "from the load balancer's subnet, TLS peek and splice of the allowlisted name) with two SMP workers, in a network",
    'namespace; the client plays the load balancer (PROXY protocol header with a client address and endpoint ID),',
    'the upstream is a TLS echo server in a second namespace. For each point a fresh Squid starts, 20 warm-up tunnels',
    'open and close, then the baseline is taken; the client opens the tunnels (CONNECT answered, TLS handshake done',
    'through the tunnel) and waits 3 s (**idle**), then sends 64 KiB through every tunnel and reads the 64 KiB echo',
    '(**active**), then closes them all and waits 5 s (**after close**). Squid memory is the resident set (VmRSS)',
    "summed over Squid's processes (master, workers, helpers), minus the baseline, divided by the tunnels open.",
    "Kernel memory is the machine's slab plus TCP buffer memory (`/proc/meminfo` Slab, `/proc/net/sockstat` mem)",
    'over the same interval: machine-wide, so other processes move it too; read it as an estimate.',
    'Two workers, because this machine caps every process at 20,000 open files and 10,000 tunnels need 20,000',
    'descriptors in Squid. The instance sizing (src/private/sizing.ts) comes from these figures.',
    '',
    '| tunnels | opened | exchanged 64 KiB | Squid MiB, baseline | Squid MiB, idle | **Squid KiB / idle tunnel** | Squid MiB, active | **Squid KiB / active tunnel** | Squid MiB, after close | descriptors / tunnel | kernel KiB / idle tunnel (est.) | kernel KiB / active tunnel (est.) |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Opening took ${results.map((r) => `${r.openSeconds.toFixed(1)} s for ${r.tunnels.toLocaleString('en-US')}`).join(', ')} (64 at a time).`,
    '',
  ];
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return;
    await sleep(100);
  }
  throw new Error(`Timed out waiting for ${what}`);
}
