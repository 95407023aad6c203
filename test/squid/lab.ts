import { ChildProcess, execFileSync, spawn, SpawnOptions } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChildProcesses } from '../child-processes';

/**
 * A private network for tests: a network namespace with no default route, joined to the test
 * process by a veth pair. Squid and the upstream servers run inside it, so nothing they do can
 * reach any address outside loopback and this namespace — the host's real 169.254.169.254
 * included. Every process started here is stopped by its PID in {@link destroy}.
 *
 * Addresses:
 * - `hostAddress` 10.233.<n>.1: the test process's side of the veth;
 * - `proxyAddress` 10.233.<n>.2: the namespace side, where Squid listens;
 * - `upstreamAddresses` 192.31.196.10, .11, .12 and `ipv6UpstreamAddress` 2620:4f:8000::10: upstream
 *   servers, on the namespace's loopback. The proxy refuses private destinations by default, so the
 *   upstreams need globally reachable addresses; these are AS112's (RFC 7534, RFC 7535), a sink that
 *   exists to absorb traffic nobody should send. They exist only inside the namespace, which has
 *   no route out (checked below), so nothing is ever sent to the real ones;
 * - `privateAddresses`: one address in each private range the tests reach names in, and
 *   `linkLocalAddress` 169.254.233.2: also on the namespace's loopback.
 *
 * Before anything runs, every one of these addresses must be local to the namespace, and the
 * real instance-metadata address and an outside address unreachable from it.
 */
export class Lab {
  public static create(): Lab {
    return new Lab();
  }

  public readonly name: string;
  public readonly dir: string;
  public readonly hostAddress: string;
  public readonly proxyAddress: string;
  public readonly upstreamAddresses: string[];
  public readonly linkLocalAddress = '169.254.233.2';
  public readonly ipv6UpstreamAddress = '2620:4f:8000::10';
  /** One address in each private or special-purpose range, by name, local to the namespace. */
  public readonly privateAddresses: Readonly<Record<string, string>> = PRIVATE_TEST_ADDRESSES;
  private readonly veth: string;
  private readonly processes = new ChildProcesses();
  private destroyed = false;

  private constructor() {
    const n = (process.pid % 100) * 2 + 10;
    this.name = `pep-${process.pid}`;
    this.veth = `pep${process.pid}`.slice(0, 12);
    this.hostAddress = `10.233.${n}.1`;
    this.proxyAddress = `10.233.${n}.2`;
    this.upstreamAddresses = [10, 11, 12].map((h) => `192.31.196.${h}`);
    this.dir = mkdtempSync(join(tmpdir(), 'pep-lab-'));
    try {
      this.setUp();
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** Run a command inside the namespace and return its stdout. */
  public exec(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
    return execFileSync('ip', ['netns', 'exec', this.name, cmd, ...args], {
      encoding: 'utf8',
      env: env ?? process.env,
    });
  }

  /** Start a long-running process inside the namespace; {@link destroy} stops it by PID. */
  public spawn(cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, cmd, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...options,
    });
    this.processes.track(child);
    return child;
  }

  /** Stop a process started with {@link spawn} by its PID and wait for it to exit. */
  public async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    return this.processes.stop(child, signal, timeoutMs);
  }

  /** Stop every process this lab started (by PID), delete the namespace and the veth, remove files. */
  public destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.processes.killAll();
    run('ip', ['link', 'del', this.veth], true);
    run('ip', ['netns', 'del', this.name], true);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private setUp(): void {
    const ns = this.name;
    run('ip', ['netns', 'add', ns]);
    run('ip', ['link', 'add', this.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    run('ip', ['addr', 'add', `${this.hostAddress}/30`, 'dev', this.veth]);
    run('ip', ['link', 'set', this.veth, 'up']);
    const inNs = (...args: string[]) => run('ip', ['netns', 'exec', ns, ...args]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${this.proxyAddress}/30`, 'dev', 'eth0');
    inNs('ip', 'link', 'set', 'eth0', 'up');
    // Upstream addresses live on the namespace's own loopback device: local to it, unknown outside.
    const local = this.localAddresses();
    for (const a of local) {
      if (a.includes(':')) inNs('ip', '-6', 'addr', 'add', `${a}/128`, 'dev', 'lo', 'nodad');
      else inNs('ip', 'addr', 'add', `${a}/32`, 'dev', 'lo');
    }

    // Safety: inside the namespace the only routes are local ones. The real instance-metadata
    // address must be unreachable, and the link-local test address must be local.
    const route = (addr: string) => {
      try {
        return execFileSync('ip', ['netns', 'exec', ns, 'ip', 'route', 'get', addr], {
          encoding: 'utf8',
          stdio: 'pipe',
        });
      } catch (e: any) {
        return String(e.stderr ?? e.message);
      }
    };
    const imds = route('169.254.169.254');
    if (!/unreachable/i.test(imds)) throw new Error(`Unsafe lab: 169.254.169.254 is routable inside ${ns}: ${imds}`);
    const outside = route('192.0.2.1');
    if (!/unreachable/i.test(outside)) throw new Error(`Unsafe lab: the namespace has a route out: ${outside}`);
    const outside6 = route('2001:db8:ffff::1');
    if (!/unreachable/i.test(outside6)) throw new Error(`Unsafe lab: the namespace has an IPv6 route out: ${outside6}`);
    for (const a of local) {
      const r = route(a);
      if (!new RegExp(`^local ${a.replace(/\./g, '\\.')} (from :: )?dev lo `).test(r)) {
        throw new Error(`Unsafe lab: ${a} is not local to ${ns}: ${r}`);
      }
    }
  }

  /** Every address the lab puts on the namespace's loopback. */
  public localAddresses(): string[] {
    return [
      ...this.upstreamAddresses,
      this.ipv6UpstreamAddress,
      this.linkLocalAddress,
      ...Object.values(this.privateAddresses),
    ];
  }
}

/** Private and special-purpose test destinations: each only ever exists inside a lab namespace. */
const PRIVATE_TEST_ADDRESSES = {
  'rfc1918-10': '10.233.250.10',
  'rfc1918-172': '172.31.233.10',
  'rfc1918-192': '192.168.233.10',
  'shared-100-64': '100.64.233.10',
  'benchmarking-198-18': '198.18.233.10',
  'ietf-192-0-0': '192.0.0.170',
  'documentation-203-0-113': '203.0.113.10',
  'reserved-240': '240.0.0.10',
  'unique-local-ipv6': 'fd00:233::10',
  'documentation-ipv6': '2001:db8:233::10',
  'nat64-of-10': '64:ff9b::a00:10',
};

function run(cmd: string, args: string[], ignoreErrors = false): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (e: any) {
    if (!ignoreErrors) throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}
