import { ChildProcess, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { dirname, join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { Lab } from './lab';
import { EgressPolicy, SquidConfig, SquidConfiguration, SquidRenderOptions } from '../../src';

export const SQUID = '/usr/sbin/squid';

/** Poll until `check` is true, or fail after `timeoutMs`. */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True when a TCP connection to host:port is accepted. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** One upstream record (see upstream-server.js). */
export interface UpstreamEvent {
  readonly event: 'accept' | 'tls' | 'tls-error' | 'request';
  readonly port?: number;
  readonly local?: string;
  readonly sni?: string;
  readonly host?: string;
  readonly via?: string;
  readonly xff?: string;
}

/**
 * Ports the lab's upstream servers listen on. Beyond 443 and 80, the ports tests send refused
 * requests to, so that a request audit mode lets through is seen arriving.
 */
export const UPSTREAM_TLS_PORTS = [443, 8443, 9443, 22, 25, 65535];
export const UPSTREAM_PLAIN_PORTS = [80, 8080];

/** The upstream servers inside the lab: TLS and plain HTTP on the ports above. */
export class Upstream {
  public static async start(lab: Lab, cert: string, key: string, account = '210987654321'): Promise<Upstream> {
    const log = join(lab.dir, 'upstream.log');
    const ready = join(lab.dir, 'upstream.ready');
    writeFileSync(log, '');
    const child = lab.spawn(process.execPath, [
      join(__dirname, 'upstream-server.js'),
      JSON.stringify({
        log,
        ready,
        cert,
        key,
        account,
        tlsPorts: UPSTREAM_TLS_PORTS,
        plainPorts: UPSTREAM_PLAIN_PORTS,
      }),
    ]);
    await waitFor('the upstream servers', () => existsSync(ready));
    return new Upstream(lab, child, log);
  }
  private constructor(
    private readonly lab: Lab,
    private readonly child: ChildProcess,
    private readonly log: string,
  ) {}
  public events(): UpstreamEvent[] {
    return readFileSync(this.log, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));
  }
  /** Connections accepted so far: the proof that a request reached an upstream. */
  public accepts(): number {
    return this.events().filter((e) => e.event === 'accept').length;
  }
  public stop(): Promise<void> {
    return this.lab.stop(this.child);
  }
}

/**
 * The lab's DNS server (dns-server.js) on 127.0.0.1:53 inside the namespace, where the rendered
 * configuration's `dns_nameservers` points: every address of a name in `records`, NXDOMAIN for the
 * rest. Names Squid's hosts file lists never reach it.
 */
export class DnsServer {
  public static async start(lab: Lab, records: Record<string, string[]> = {}): Promise<DnsServer> {
    const ready = join(lab.dir, `dns-${Date.now()}.ready`);
    const child = lab.spawn(process.execPath, [join(__dirname, 'dns-server.js'), JSON.stringify({ records, ready })]);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    await waitFor('the lab DNS server', () => {
      if (child.exitCode !== null) throw new Error(`dns-server.js exited (${child.exitCode}): ${stderr}`);
      return existsSync(ready);
    });
    return new DnsServer(lab, child);
  }
  private constructor(
    private readonly lab: Lab,
    private readonly child: ChildProcess,
  ) {}
  public stop(): Promise<void> {
    return this.lab.stop(this.child);
  }
}

/** Options for a Squid run beyond the render options the test fixes. */
export interface SquidRunOptions extends SquidRenderOptions {
  readonly bumpFile: string;
  readonly hosts: Record<string, string>;
  /** Run with SMP workers (no -N): the master daemonises and is stopped by its PID file. */
  readonly smp?: boolean;
}

let runCounter = 0;

/**
 * Real Squid inside the lab's namespace, with a configuration rendered by the library. The
 * very same renderer output runs here as on an instance; only paths and the listen address
 * differ, and they are render options.
 */
export class SquidRun {
  public static async start(lab: Lab, policy: EgressPolicy, opts: SquidRunOptions): Promise<SquidRun> {
    const dir = join(lab.dir, `squid-${runCounter++}`);
    mkdirSync(join(dir, 'logs'), { recursive: true });
    chmodSync(lab.dir, 0o755);
    chmodSync(dir, 0o755);
    chmodSync(join(dir, 'logs'), 0o777);
    const hostsFile = join(dir, 'hosts');
    writeFileSync(
      hostsFile,
      Object.entries(opts.hosts)
        .map(([n, a]) => `${a} ${n}`)
        .join('\n') + '\n',
      { mode: 0o644 },
    );
    const renderOptions: SquidRenderOptions = {
      listenAddress: lab.proxyAddress,
      configDirectory: join(dir, 'etc'),
      logDirectory: join(dir, 'logs'),
      pidFile: join(dir, 'logs', 'squid.pid'),
      certificateFile: opts.bumpFile,
      hostsFile,
      dnsNameservers: ['127.0.0.1'],
      // Tests stop Squid often; a production-length drain would only slow them down.
      shutdownLifetime: Duration.seconds(1),
      ...opts,
    };
    const conf = SquidConfig.render(policy, renderOptions);
    SquidRun.write(conf);
    SquidRun.parse(lab, conf.configFile);
    const args = opts.smp ? ['-f', conf.configFile] : ['-N', '-f', conf.configFile];
    const child = lab.spawn(SQUID, args);
    let stderr = '';
    child.stderr?.on('data', (d) => (stderr += d));
    const port = opts.port ?? 3128;
    const run = new SquidRun(lab, conf, renderOptions, child, dir, port, !!opts.smp);
    try {
      await waitFor('Squid to listen', async () => {
        if (child.exitCode !== null && !opts.smp) {
          throw new Error(`Squid exited (${child.exitCode}): ${stderr}\n${run.cacheLog()}`);
        }
        return canConnect(lab.proxyAddress, port);
      });
    } catch (e) {
      await run.stop();
      throw e;
    }
    return run;
  }

  /** Write every rendered file with its mode. */
  public static write(conf: SquidConfiguration): void {
    for (const f of conf.files) {
      mkdirSync(dirname(f.path), { recursive: true, mode: 0o755 });
      writeFileSync(f.path, f.content, { mode: parseInt(f.mode, 8) });
      chmodSync(f.path, parseInt(f.mode, 8));
    }
  }

  /**
   * `squid -k parse` (inside the lab's namespace when given): returns Squid's messages, throws
   * with them when the configuration is rejected.
   */
  public static parse(lab: Lab | undefined, configFile: string): string {
    const argv = [SQUID, '-k', 'parse', '-f', configFile];
    const [cmd, ...args] = lab ? ['ip', 'netns', 'exec', lab.name, ...argv] : argv;
    try {
      // Squid prints every line it processes: a large policy writes megabytes.
      const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(r.stderr);
      return r.stderr + r.stdout;
    } catch (e: any) {
      throw new Error(`squid -k parse rejected ${configFile}:\n${e.message}`);
    }
  }

  private constructor(
    public readonly lab: Lab,
    public conf: SquidConfiguration,
    /** The options this run rendered with, to render a changed policy for the same paths. */
    public readonly renderOptions: SquidRenderOptions,
    private readonly child: ChildProcess,
    public readonly dir: string,
    public readonly port: number,
    private readonly smp: boolean,
  ) {}

  /** PID of the Squid process (-N runs). */
  public get pid(): number {
    return this.child.pid!;
  }

  public get address(): string {
    return this.lab.proxyAddress;
  }

  /** Lines of the access log so far. */
  public accessLog(): string[] {
    return existsSync(this.conf.accessLog) ? readFileSync(this.conf.accessLog, 'utf8').split('\n').filter(Boolean) : [];
  }

  public cacheLog(): string {
    return existsSync(this.conf.cacheLog) ? readFileSync(this.conf.cacheLog, 'utf8') : '';
  }

  /** The master's PID from the PID file (SMP runs). */
  public masterPid(): number | undefined {
    const f = join(this.dir, 'logs', 'squid.pid');
    return existsSync(f) ? Number(readFileSync(f, 'utf8').trim()) : undefined;
  }

  /**
   * Apply new files the way instances do: keep the live files, write the new ones, run
   * `squid -k parse`; if it fails, put the old files back and throw (the running Squid keeps its
   * old configuration), otherwise `squid -k reconfigure`.
   */
  public reconfigure(conf: SquidConfiguration): void {
    const previous = this.conf.files.map((f) => ({
      ...f,
      content: existsSync(f.path) ? readFileSync(f.path, 'utf8') : undefined,
    }));
    SquidRun.write(conf);
    try {
      SquidRun.parse(this.lab, conf.configFile);
    } catch (e) {
      for (const f of previous) {
        if (f.content !== undefined) writeFileSync(f.path, f.content, { mode: parseInt(f.mode, 8) });
      }
      throw e;
    }
    this.lab.exec(SQUID, ['-k', 'reconfigure', '-f', conf.configFile]);
    this.conf = conf;
  }

  /** Stop Squid by PID (the -N process, or the SMP master from its PID file) and wait. */
  public async stop(): Promise<void> {
    const pid = this.smp ? this.masterPid() : undefined;
    if (pid) await stopSquidMaster(pid, 40_000);
    await this.lab.stop(this.child, 'SIGTERM', 40_000);
  }
}

/**
 * Stop a daemonised (SMP) Squid master by its PID: SIGTERM, wait until it has exited (its kids
 * with it), SIGKILL after `timeoutMs`.
 */
export async function stopSquidMaster(pid: number, timeoutMs: number): Promise<void> {
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  };
  kill('SIGTERM');
  await waitFor('the Squid master to exit', () => !isAlive(pid), timeoutMs).catch(() => kill('SIGKILL'));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
