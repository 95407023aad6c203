import { ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { HostNetwork } from './network';
import { HostTemplate } from './template';

/** The AL2023-to-Debian mapping table (one file, read by this harness and by the cfn-init stand-in). */
export const MAPPING = JSON.parse(readFileSync(join(__dirname, 'al2023-on-debian.json'), 'utf8'));
const STANDINS = join(__dirname, 'standins');
const STANDIN_HOME = '/usr/lib/pep-standin';
const STANDIN_STATE = '/var/lib/pep-standin';
/** A cfn-hup "minute" in the stand-in, in seconds (see al2023-on-debian.json, cloudFormation). */
export const STANDIN_MINUTE_SECONDS = 2;

/** The root filesystem: built (or found in its cache) by test/host/rootfs.sh. */
export function rootFilesystem(): string {
  const out = execFileSync('bash', [join(__dirname, 'rootfs.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return out.trim().split('\n').pop()!;
}

/** One recorded call of a stand-in (calls.jsonl). */
export interface StandInCall {
  readonly tool: string;
  readonly time: number;
  readonly argv: string[];
  readonly listening: number[];
  readonly [detail: string]: any;
}

/** What a proxy instance needs to boot. */
export interface InstanceOptions {
  /** Short name, part of the machine name and directory. */
  readonly name: string;
  readonly rootfs: string;
  readonly host: HostTemplate;
  readonly network: HostNetwork;
  /** Names the container's /etc/hosts maps (the destinations, in the upstream namespace). */
  readonly hosts: Record<string, string>;
  /** Leave aws-cfn-bootstrap out, as the minimal Amazon Linux 2023 images do. */
  readonly minimalImage?: boolean;
  /** The metadata CloudFormation serves at first boot (default: the template's). */
  readonly metadata?: any;
}

/**
 * A proxy instance: a copy of the root filesystem with the mapping table applied, booted with
 * `systemd-nspawn -b` in the test network's box namespace. The template's user data runs in it at
 * first boot (through the cloud-init stand-in unit), so cfn-init, cfn-signal and cfn-hup run as
 * written. Processes are stopped by PID: the container's init, which takes every process of the
 * container with it.
 */
export class ProxyInstance {
  public static create(options: InstanceOptions): ProxyInstance {
    const base = process.env.PEP_HOST_INSTANCES ?? '/var/tmp/cdk-private-egress-proxy/instances';
    const dir = join(base, `${options.name}-${process.pid}`);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    execFileSync('cp', ['-a', `${options.rootfs}/.`, dir]);
    const instance = new ProxyInstance(options, dir);
    instance.install();
    return instance;
  }

  /** The machine name (also the container's host name). */
  public readonly machine: string;
  private nspawn?: ChildProcess;
  private initPid?: number;
  private readonly consoleLogs: string[] = [];

  private constructor(
    private readonly options: InstanceOptions,
    /** The root directory of the instance on this machine. */
    public readonly dir: string,
  ) {
    this.machine = `pep-${options.name}-${process.pid}`.slice(0, 60);
  }

  /** A path inside the instance, as seen from this machine. */
  public path(p: string): string {
    return join(this.dir, p);
  }

  /** Boot (or boot again) and wait until systemd has finished starting up, the user data included. */
  public async boot(timeoutMs = 240_000): Promise<string> {
    const consoleLog = `${this.dir}.console-${this.consoleLogs.length}.log`;
    this.consoleLogs.push(consoleLog);
    const log = openSync(consoleLog, 'w');
    const child = spawn(
      'systemd-nspawn',
      [
        '-D',
        this.dir,
        '-b',
        `--network-namespace-path=${this.options.network.boxPath}`,
        '--register=no',
        '--keep-unit',
        ...MAPPING.capabilities.nspawn,
        '-M',
        this.machine,
        '--resolv-conf=off',
        '--timezone=off',
        '--link-journal=no',
      ],
      { stdio: ['ignore', log, log] },
    );
    this.options.network.track(child);
    this.nspawn = child;
    this.initPid = undefined;
    await waitUntil('the container to start systemd', () => this.findInit() !== undefined, 30_000);
    // Until systemd listens on its bus, systemctl answers nothing: ask again.
    let state = '';
    await waitUntil(
      'systemd to finish starting up',
      async () => {
        state = (await this.execAsync(['systemctl', 'is-system-running', '--wait'], timeoutMs)).stdout.trim();
        return state !== '' && state !== 'offline';
      },
      timeoutMs,
      500,
    );
    return state;
  }

  /** Run a command inside the instance (all its namespaces). */
  public exec(argv: string[], timeoutMs = 60_000): { status: number; stdout: string; stderr: string } {
    const r = spawnSync('nsenter', ['-t', String(this.init()), '-a', '--', ...argv], {
      encoding: 'utf8',
      timeout: timeoutMs,
    });
    return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** {@link exec} without blocking the event loop (for long waits). */
  public execAsync(argv: string[], timeoutMs = 60_000): Promise<{ status: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const child = spawn('nsenter', ['-t', String(this.init()), '-a', '--', ...argv], { stdio: 'pipe' });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      child.on('close', (status) => {
        clearTimeout(timer);
        resolve({ status: status ?? -1, stdout, stderr });
      });
    });
  }

  /**
   * SIGKILL a process of the instance by its PID (as the instance sees it). Refuses PIDs 0 and 1:
   * `kill -KILL 0` would kill this test's own process group.
   */
  public killProcess(pid: string): void {
    if (!/^\d+$/.test(pid) || Number(pid) < 2) throw new Error(`refusing to kill PID '${pid}' in ${this.machine}`);
    this.sh(`kill -KILL ${pid}`);
  }

  /** A shell command inside the instance; its stdout, or an error with its output. */
  public sh(script: string): string {
    const r = this.exec(['/bin/sh', '-c', script]);
    if (r.status !== 0) throw new Error(`'${script}' exited ${r.status}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** The stand-ins' calls so far. */
  public calls(tool?: string): StandInCall[] {
    const f = this.path(`${STANDIN_STATE}/calls.jsonl`);
    if (!existsSync(f)) return [];
    const all = readFileSync(f, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as StandInCall);
    return tool ? all.filter((c) => c.tool === tool) : all;
  }

  /** A file of the instance (empty when absent). */
  public read(p: string): string {
    const f = this.path(p);
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  }

  /** What the stand-in CloudFormation serves for the group: a stack update changes it. */
  public setStackResource(metadata: any, status = 'UPDATE_COMPLETE'): void {
    const { host } = this.options;
    const file = this.path(`${STANDIN_STATE}/stack/${host.resource}.json`);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      `${file}.tmp`,
      JSON.stringify({ stackName: host.stackName, stackId: host.stackId, status, metadata }),
    );
    execFileSync('mv', [`${file}.tmp`, file]);
  }

  /** The role's policy statements the stand-in S3 checks a download against. */
  public setRolePolicy(roleName: string, statements: any[]): void {
    mkdirSync(this.path(`${STANDIN_STATE}/iam`), { recursive: true });
    writeFileSync(this.path(`${STANDIN_STATE}/iam/${roleName}.json`), JSON.stringify(statements));
  }

  /** Put S3 objects (the template's assets) where the stand-in S3 serves them. */
  public putAssets(assets: HostTemplate['assets']): void {
    for (const a of assets) {
      const target = this.path(`${STANDIN_STATE}/s3/${a.bucket}/${a.key}`);
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(a.file, target);
    }
  }

  /** Stop the instance at once: SIGKILL to its init (by PID) ends every process in it. */
  public async kill(): Promise<void> {
    const child = this.nspawn;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const pid = this.findInit();
    if (pid) process.kill(pid, 'SIGKILL');
    else child.kill('SIGKILL');
    await exited;
  }

  /** Reboot from inside (`systemctl reboot`): nspawn exits when the container reboots; boot again. */
  public async reboot(): Promise<string> {
    const child = this.nspawn!;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    this.exec(['systemctl', 'reboot']);
    await Promise.race([exited, sleep(120_000).then(() => Promise.reject(new Error('no reboot in 120 s')))]);
    return this.boot();
  }

  /** Stop it and remove its directory and console logs (kept for a look when PEP_HOST_KEEP is set). */
  public async destroy(): Promise<void> {
    await this.kill();
    if (process.env.PEP_HOST_KEEP) return;
    for (const f of [this.dir, ...this.consoleLogs]) rmSync(f, { recursive: true, force: true });
  }

  private init(): number {
    const pid = this.findInit();
    if (!pid) throw new Error(`${this.machine} is not running`);
    return pid;
  }

  /** The container's PID 1 (systemd), as this machine sees it: a child of systemd-nspawn. */
  private findInit(): number | undefined {
    const nspawn = this.nspawn?.pid;
    if (!nspawn || this.nspawn?.exitCode !== null) return undefined;
    if (this.initPid && existsSync(`/proc/${this.initPid}`)) return this.initPid;
    for (const pid of childrenOf(nspawn)) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'systemd') {
          this.initPid = pid;
          return pid;
        }
      } catch {
        /* gone */
      }
    }
    return undefined;
  }

  /** Apply the mapping table to the copied root filesystem and give it what CloudFormation would. */
  private install(): void {
    const chroot = (...argv: string[]) => execFileSync('chroot', [this.dir, ...argv], { stdio: 'pipe' });
    const home = this.path(STANDIN_HOME);
    mkdirSync(home, { recursive: true });
    for (const f of readdirSync(STANDINS)) {
      if (/^test_|__pycache__/.test(f)) continue;
      copyFileSync(join(STANDINS, f), join(home, f));
    }
    copyFileSync(join(__dirname, 'al2023-on-debian.json'), join(home, 'al2023-on-debian.json'));
    const standIns: Record<string, string> = {
      ...MAPPING.standIns.always,
      ...(this.options.minimalImage ? {} : MAPPING.standIns.awsCfnBootstrap),
    };
    for (const [target, name] of Object.entries(standIns)) {
      mkdirSync(dirname(this.path(target)), { recursive: true });
      copyFileSync(join(STANDINS, name), this.path(target));
      chmodSync(this.path(target), 0o755);
    }
    for (const [group, members] of Object.entries<string[]>(MAPPING.groups)) {
      if (group === 'about') continue;
      chroot('groupadd', '-f', group);
      for (const m of members) chroot('usermod', '-a', '-G', group, m);
    }
    for (const unit of MAPPING.disabledUnits.units) chroot('systemctl', 'disable', unit);
    copyFileSync(join(__dirname, MAPPING.userData.unit), this.path(`/etc/systemd/system/${MAPPING.userData.unit}`));
    chroot('systemctl', 'enable', MAPPING.userData.unit);
    const { host } = this.options;
    mkdirSync(dirname(this.path(MAPPING.userData.script)), { recursive: true });
    writeFileSync(this.path(MAPPING.userData.script), host.userData, { mode: 0o700 });
    this.setStackResource(this.options.metadata ?? host.metadata, 'CREATE_IN_PROGRESS');
    this.setRolePolicy(host.roleName, host.roleStatements);
    writeFileSync(
      this.path(`${STANDIN_STATE}/settings.json`),
      JSON.stringify({ secondsPerMinute: STANDIN_MINUTE_SECONDS }),
    );
    this.putAssets(host.assets);
    const hosts = Object.entries(this.options.hosts).map(([n, a]) => `${a} ${n}`);
    writeFileSync(
      this.path('/etc/hosts'),
      ['127.0.0.1 localhost', `127.0.1.1 ${this.machine}`, ...hosts, ''].join('\n'),
    );
    writeFileSync(this.path('/etc/hostname'), `${this.machine}\n`);
    // Nothing answers DNS inside the box: names Squid needs are in /etc/hosts, and the allowlist
    // check (dstdomain -n) never resolves a denied name.
    writeFileSync(this.path('/etc/resolv.conf'), 'nameserver 127.0.0.1\n');
  }
}

function childrenOf(pid: number): number[] {
  const out: number[] = [];
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) out.push(...text.split(/\s+/).map(Number));
    }
  } catch {
    /* gone */
  }
  return out;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `check` holds, or fail naming `what`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  everyMs = 200,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
}
