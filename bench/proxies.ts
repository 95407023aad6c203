import { ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { basename, join } from 'node:path';
import { Duration } from 'aws-cdk-lib';
import { AwsEndpoints, AwsService, EgressPolicy, SquidConfig } from '../src';
import { makeBenchCertificates } from './certs';
import type { LoadOptions } from './datapath';
import { niced } from './nice';
import { processTree } from './procstat';
import { Lab } from '../test/squid/lab';
import { SQUID, SquidRun, stopSquidMaster, waitFor } from '../test/squid/squid-runner';

/** Where a benchmark client sends its tunnels. */
export interface ProxyEndpoint {
  readonly host: string;
  readonly port: number;
  /** A PROXY protocol v2 header (hex) the client sends first, as the load balancer would. */
  readonly ppv2?: string;
}

/** A proxy (or none) running inside the lab. */
export interface RunningTarget {
  /** Undefined for the direct baseline. */
  readonly proxy?: ProxyEndpoint;
  /** Text of the configuration that runs. */
  readonly configText?: string;
  /** PIDs of the proxy's processes now (master, workers, helpers). */
  pids(): number[];
  stop(): Promise<void>;
}

/** The shared pieces every target needs. */
export interface LabContext {
  readonly lab: Lab;
  /** Host name of the upstream, as clients CONNECT to it. */
  readonly name: string;
  readonly upstreamAddress: string;
  /** Names mapped in the proxies' hosts files. */
  readonly hosts: Record<string, string>;
  readonly bumpFile: string;
  /** Allowlist of the rendered config and tinyproxy (contains `name`). */
  readonly allowedDomains: string[];
}

let counter = 0;
function workDir(ctx: LabContext, label: string): string {
  const dir = join(ctx.lab.dir, `${label}-${counter++}`);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  chmodSync(ctx.lab.dir, 0o755);
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'logs'), 0o777);
  return dir;
}

function hostsFile(ctx: LabContext, dir: string): string {
  const f = join(dir, 'hosts');
  writeFileSync(
    f,
    Object.entries(ctx.hosts)
      .map(([n, a]) => `${a} ${n}`)
      .join('\n') + '\n',
    { mode: 0o644 },
  );
  return f;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, 1000);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** Collects a child's stderr (bounded) for error messages. */
function stderrOf(child: ChildProcess): () => string {
  let err = '';
  child.stderr?.on('data', (d) => {
    if (err.length < 20_000) err += d;
  });
  child.stdout?.on('data', () => {});
  return () => err;
}

/** Start a Node.js helper (bench/<script>) inside the lab and wait for its ready file. */
export async function startHelper(lab: Lab, script: string, args: Record<string, unknown>): Promise<ChildProcess> {
  const ready = join(lab.dir, `${basename(script)}.ready`);
  const child = lab.spawn(...niced(process.execPath, [join(__dirname, script), JSON.stringify({ ...args, ready })]));
  const err = stderrOf(child);
  await waitFor(
    script,
    () => {
      if (child.exitCode !== null) throw new Error(`${script} exited (${child.exitCode}): ${err()}`);
      return existsSync(ready);
    },
    15_000,
  );
  return child;
}

/** The direct baseline: no proxy. */
export function direct(): RunningTarget {
  return { pids: () => [], stop: async () => {} };
}

/** Changes to the rendered squid.conf, for the experiments in "What we tried". */
export interface ConfigTweak {
  /** Directives appended at the end (later single-valued directives override earlier ones). */
  readonly append?: string[];
  /** Regex replacements applied to squid.conf. */
  readonly replace?: Array<[RegExp, string]>;
}

/**
 * The library's rendered config, exactly as `SquidConfig.render` produces it (only paths, the
 * listen address and hosts file are render options), optionally tweaked for an experiment.
 * `smp`: start without -N so `workers` takes effect; stopped by the master's PID file.
 */
export async function startRendered(
  ctx: LabContext,
  opts: {
    vcpus?: number;
    smp?: boolean;
    tweak?: ConfigTweak;
    port?: number;
    /** Another policy than the lab's allowlist. */
    policy?: EgressPolicy;
    /** PROXY protocol on (trusting the lab's client side); clients send this header (hex). */
    ppv2?: string;
    /** A command Squid runs under (e.g. valgrind and its options); it must exec Squid in the same process. */
    launcher?: string[];
  } = {},
): Promise<RunningTarget> {
  const dir = workDir(ctx, 'rendered');
  const policy = opts.policy ?? new EgressPolicy({ allowedDomains: ctx.allowedDomains });
  const pidFile = join(dir, 'logs', 'squid.pid');
  const conf = SquidConfig.render(policy, {
    listenAddress: ctx.lab.proxyAddress,
    port: opts.port ?? 3128,
    vcpus: opts.vcpus ?? 1,
    configDirectory: join(dir, 'etc'),
    logDirectory: join(dir, 'logs'),
    pidFile,
    certificateFile: ctx.bumpFile,
    hostsFile: hostsFile(ctx, dir),
    dnsNameservers: ['127.0.0.1'],
    shutdownLifetime: Duration.seconds(1),
    // The load generator runs inside the namespace: its connections come from the proxy address itself.
    proxyProtocolSources: opts.ppv2 ? [`${ctx.lab.proxyAddress}/32`] : undefined,
  });
  let files = conf.files;
  if (opts.tweak) {
    files = files.map((f) => {
      if (f.path !== conf.configFile) return f;
      let content = f.content;
      for (const [re, s] of opts.tweak!.replace ?? []) content = content.replace(re, s);
      if (opts.tweak!.append?.length) content += `\n## Benchmark experiment\n${opts.tweak!.append.join('\n')}\n`;
      return { ...f, content };
    });
  }
  SquidRun.write({ ...conf, files });
  SquidRun.parse(ctx.lab, conf.configFile);
  const configText = files[0].content;
  const t = await startSquid(
    ctx,
    conf.configFile,
    pidFile,
    opts.port ?? 3128,
    !!opts.smp,
    conf.cacheLog,
    configText,
    opts.launcher,
  );
  return opts.ppv2 ? { ...t, proxy: { ...t.proxy!, ppv2: opts.ppv2 }, pids: () => t.pids(), stop: () => t.stop() } : t;
}

/**
 * The seed article's config (bench/seed-squid.conf), paths filled in; optionally tweaked for an
 * experiment (`{{BUMP_FILE}}` in a replacement is the lab's ssl-bump certificate), on `port`
 * instead of the article's 8080.
 */
export async function startSeed(
  ctx: LabContext,
  opts: { tweak?: ConfigTweak; port?: number; launcher?: string[] } = {},
): Promise<RunningTarget> {
  const dir = workDir(ctx, 'seed');
  const port = opts.port ?? 8080;
  let text = readFileSync(join(__dirname, 'seed-squid.conf'), 'utf8')
    .replace(/\{\{LOG_DIR\}\}/g, join(dir, 'logs'))
    .replace(/\{\{HOSTS_FILE\}\}/g, hostsFile(ctx, dir))
    .replace(/^http_port 8080$/m, `http_port ${port}`);
  for (const [re, r] of opts.tweak?.replace ?? []) {
    text = text.replace(re, r.replace(/\{\{BUMP_FILE\}\}/g, ctx.bumpFile));
  }
  if (opts.tweak?.append?.length) text += `\n## Benchmark experiment\n${opts.tweak.append.join('\n')}\n`;
  const configFile = join(dir, 'squid.conf');
  writeFileSync(configFile, text, { mode: 0o644 });
  SquidRun.parse(ctx.lab, configFile);
  return startSquid(
    ctx,
    configFile,
    join(dir, 'logs', 'squid.pid'),
    port,
    false,
    join(dir, 'logs', 'cache.log'),
    text,
    opts.launcher,
  );
}

async function startSquid(
  ctx: LabContext,
  configFile: string,
  pidFile: string,
  port: number,
  smp: boolean,
  cacheLog: string,
  configText: string,
  launcher: string[] = [],
): Promise<RunningTarget> {
  if (smp) mkdirSync('/run/squid', { recursive: true }); // SMP IPC sockets; the Debian package normally creates it
  const squidArgs = smp ? ['-f', configFile] : ['-N', '-f', configFile];
  const [cmd, ...args] = [...launcher, SQUID, ...squidArgs];
  const child = ctx.lab.spawn(...niced(cmd, args));
  const err = stderrOf(child);
  const master = () => (existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) || undefined : undefined);
  const stop = async () => {
    const pid = smp ? master() : undefined;
    if (pid) await stopSquidMaster(pid, 20_000);
    await ctx.lab.stop(child, 'SIGTERM', 20_000);
  };
  try {
    await waitFor(
      'Squid to listen',
      async () => {
        if (!smp && child.exitCode !== null) {
          throw new Error(
            `Squid exited (${child.exitCode}): ${err()}\n${existsSync(cacheLog) ? readFileSync(cacheLog, 'utf8') : ''}`,
          );
        }
        return (await canConnect(ctx.lab.proxyAddress, port)) && (!smp || master() !== undefined);
      },
      launcher.length ? 180_000 : 30_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    proxy: { host: ctx.lab.proxyAddress, port },
    configText,
    pids: () => {
      const root = smp ? master() : child.pid;
      return root ? processTree(root) : [];
    },
    stop,
  };
}

/**
 * tinyproxy (Debian) with bench/tinyproxy.conf: deny by default, the allowlist as anchored
 * filter rules, CONNECT to 443 only. tinyproxy resolves names with the C library, so it sees
 * the lab's hosts file through a private bind mount over /etc/hosts in its own mount namespace
 * (`unshare -m`; nothing changes outside that process).
 */
export async function startTinyproxy(ctx: LabContext): Promise<RunningTarget> {
  const dir = workDir(ctx, 'tinyproxy');
  const filter = join(dir, 'filter');
  writeFileSync(filter, ctx.allowedDomains.map((d) => `^${d.replace(/\./g, '\\.')}$`).join('\n') + '\n', {
    mode: 0o644,
  });
  const text = readFileSync(join(__dirname, 'tinyproxy.conf'), 'utf8')
    .replace(/\{\{LISTEN\}\}/g, ctx.lab.proxyAddress)
    .replace(/\{\{LOG_DIR\}\}/g, join(dir, 'logs'))
    .replace(/\{\{FILTER_FILE\}\}/g, filter);
  const configFile = join(dir, 'tinyproxy.conf');
  writeFileSync(configFile, text, { mode: 0o644 });
  const hosts = hostsFile(ctx, dir);
  // `ip netns exec`, `nice` and `unshare` exec (no fork), and `sh -c ... exec`, so the PID is tinyproxy's.
  const child = ctx.lab.spawn(
    ...niced('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount --bind "$1" /etc/hosts && exec /usr/bin/tinyproxy -d -c "$2"',
      'sh',
      hosts,
      configFile,
    ]),
  );
  const err = stderrOf(child);
  const stop = () => ctx.lab.stop(child, 'SIGTERM', 10_000);
  try {
    await waitFor(
      'tinyproxy to listen',
      async () => {
        if (child.exitCode !== null) throw new Error(`tinyproxy exited (${child.exitCode}): ${err()}`);
        return canConnect(ctx.lab.proxyAddress, 8888);
      },
      15_000,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return {
    proxy: { host: ctx.lab.proxyAddress, port: 8888 },
    configText: text,
    pids: () => (child.pid ? processTree(child.pid) : []),
    stop,
  };
}

/**
 * The lab every data-path measurement uses: the namespace tuned for many short connections, the
 * upstream (TLS, ECDSA certificate for `names`, each mapped to it in the proxies' hosts files) on
 * the first upstream address, the lab's DNS server, and the rendered config's allowlist (the exact endpoints of STS, S3, SSM, SSM messages,
 * EC2 messages, CloudWatch Logs and KMS in us-east-1 and eu-west-1, plus `names[0]`).
 */
export async function startBenchLab(lab: Lab, names: string[], window: { seconds: number; warmup: number }) {
  lab.exec('sysctl', [
    '-q',
    '-w',
    'net.ipv4.ip_local_port_range=10000 65000',
    'net.ipv4.tcp_tw_reuse=1',
    'net.core.somaxconn=4096',
  ]);
  const certs = makeBenchCertificates(lab.dir, names);
  const upstreamAddress = lab.upstreamAddresses[0];
  const upstream = await startHelper(lab, 'upstream.js', {
    cert: certs.serverCert,
    key: certs.serverKey,
    host: upstreamAddress,
    port: 443,
  });
  await startHelper(lab, '../test/squid/dns-server.js', {});
  const allowedDomains = AwsEndpoints.hostnames({
    services: [
      AwsService.STS,
      AwsService.S3,
      AwsService.SSM,
      AwsService.SSM_MESSAGES,
      AwsService.EC2_MESSAGES,
      AwsService.CLOUDWATCH_LOGS,
      AwsService.KMS,
    ],
    regions: ['us-east-1', 'eu-west-1'],
  });
  if (!allowedDomains.includes(names[0])) allowedDomains.push(names[0]);
  const ctx: LabContext = {
    lab,
    name: names[0],
    upstreamAddress,
    hosts: Object.fromEntries(names.map((n) => [n, upstreamAddress])),
    bumpFile: certs.bumpFile,
    allowedDomains,
  };
  const lo: LoadOptions = {
    lab,
    caFile: certs.caFile,
    name: names[0],
    upstream: { host: upstreamAddress, port: 443 },
    upstreamPid: upstream.pid!,
    ...window,
  };
  return { ctx, lo };
}
