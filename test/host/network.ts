import { ChildProcess, execFileSync, spawn, SpawnOptions } from 'node:child_process';
import { ChildProcesses } from '../child-processes';

/**
 * The network of a proxy host under test: two network namespaces this process creates, and
 * nothing else.
 *
 * - `box` holds the proxy (the booted container, or Squid itself). Its `eth0` is joined to this
 *   process by a veth pair: this process's side has {@link clientAddress}, an address in the
 *   load balancer's subnet {@link loadBalancerSubnet}, so what it sends arrives as the NLB's
 *   traffic would (the rendered configuration accepts PROXY protocol only from there).
 * - `upstream` holds the destinations, on its loopback, at AS112 sink addresses
 *   ({@link upstreamAddresses}, 192.31.196.0/24 and 192.175.48.0/24: globally reachable space, so
 *   the policy's private-destination rule lets them through, and no one else's hosts): the box
 *   routes them over a second veth pair; nothing else routes them anywhere.
 *
 * Neither namespace has a default route: before anything is sent, {@link create} checks that the
 * box can reach no address outside them (169.254.169.254 and 192.0.2.1 are unreachable) and that
 * the upstream addresses route over the upstream link. Every process started here is stopped by
 * its PID in {@link destroy}.
 */
export class HostNetwork {
  /** Create the namespaces and links; `tag` keeps names and addresses apart from other runs. */
  public static create(tag: string): HostNetwork {
    return new HostNetwork(tag);
  }

  /** Namespace of the proxy. */
  public readonly box: string;
  /** Namespace of the destinations. */
  public readonly upstream: string;
  /** This process's address: inside {@link loadBalancerSubnet}. */
  public readonly clientAddress: string;
  /** The proxy's address on its `eth0`. */
  public readonly proxyAddress: string;
  /** The load balancer's subnet (first of two the test VPC gets). */
  public readonly loadBalancerSubnet: string;
  /** A second load balancer subnet, in the other Availability Zone. */
  public readonly otherLoadBalancerSubnet: string;
  /** Destination addresses, on the upstream namespace's loopback. */
  public readonly upstreamAddresses = ['192.31.196.10', '192.31.196.11', '192.175.48.10'];
  private readonly hostVeth: string;
  private readonly boxUpstreamAddress: string;
  private readonly upstreamLinkAddress: string;
  private readonly processes = new ChildProcesses();
  private destroyed = false;

  private constructor(tag: string) {
    const n = (process.pid % 120) * 2 + 2;
    this.box = `peph-${tag}-${process.pid}`;
    this.upstream = `pepu-${tag}-${process.pid}`;
    this.hostVeth = `ph${tag}${process.pid}`.slice(0, 15);
    this.clientAddress = `10.239.${n}.1`;
    this.proxyAddress = `10.239.${n}.2`;
    this.boxUpstreamAddress = `10.239.${n}.5`;
    this.upstreamLinkAddress = `10.239.${n}.6`;
    this.loadBalancerSubnet = `10.239.${n}.0/24`;
    this.otherLoadBalancerSubnet = `10.239.${n + 1}.0/24`;
    try {
      this.setUp();
    } catch (e) {
      this.destroy();
      throw e;
    }
  }

  /** The path `systemd-nspawn --network-namespace-path` takes. */
  public get boxPath(): string {
    return `/run/netns/${this.box}`;
  }

  /** Run a command in a namespace and return its stdout. */
  public exec(ns: string, cmd: string, args: string[]): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], { encoding: 'utf8', stdio: 'pipe' });
  }

  /** Start a long-running process in a namespace; {@link destroy} stops it by PID. */
  public spawn(ns: string, cmd: string, args: string[], options: SpawnOptions = {}): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', ns, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    this.track(child);
    return child;
  }

  /** Have {@link destroy} stop this process (by PID) if it still runs. */
  public track(child: ChildProcess): void {
    this.processes.track(child);
  }

  /** Stop a process by its PID and wait for it: `signal`, then SIGKILL after `timeoutMs`. */
  public async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    return this.processes.stop(child, signal, timeoutMs);
  }

  /** Stop every process started here (by PID), delete the links and namespaces. */
  public destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.processes.killAll();
    run('ip', ['link', 'del', this.hostVeth], true);
    run('ip', ['netns', 'del', this.box], true);
    run('ip', ['netns', 'del', this.upstream], true);
  }

  private setUp(): void {
    const { box, upstream } = this;
    run('ip', ['netns', 'add', box]);
    run('ip', ['netns', 'add', upstream]);
    const inBox = (...args: string[]) => run('ip', ['netns', 'exec', box, ...args]);
    const inUpstream = (...args: string[]) => run('ip', ['netns', 'exec', upstream, ...args]);
    // This process <-> box: the load balancer's side.
    run('ip', ['link', 'add', this.hostVeth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', box]);
    run('ip', ['addr', 'add', `${this.clientAddress}/30`, 'dev', this.hostVeth]);
    run('ip', ['link', 'set', this.hostVeth, 'up']);
    inBox('ip', 'link', 'set', 'lo', 'up');
    inBox('ip', 'addr', 'add', `${this.proxyAddress}/30`, 'dev', 'eth0');
    inBox('ip', 'link', 'set', 'eth0', 'up');
    // Box <-> upstream: the destinations' side.
    inBox('ip', 'link', 'add', 'up0', 'type', 'veth', 'peer', 'name', 'up0', 'netns', upstream);
    inBox('ip', 'addr', 'add', `${this.boxUpstreamAddress}/30`, 'dev', 'up0');
    inBox('ip', 'link', 'set', 'up0', 'up');
    inUpstream('ip', 'link', 'set', 'lo', 'up');
    inUpstream('ip', 'addr', 'add', `${this.upstreamLinkAddress}/30`, 'dev', 'up0');
    inUpstream('ip', 'link', 'set', 'up0', 'up');
    for (const a of this.upstreamAddresses) inUpstream('ip', 'addr', 'add', `${a}/32`, 'dev', 'lo');
    for (const net of ['192.31.196.0/24', '192.175.48.0/24']) {
      inBox('ip', 'route', 'add', net, 'via', this.upstreamLinkAddress, 'dev', 'up0');
    }
    this.checkIsolation();
  }

  /** Abort unless the box reaches the upstream addresses over its link and nothing else beyond. */
  private checkIsolation(): void {
    const route = (addr: string) => {
      try {
        return this.exec(this.box, 'ip', ['route', 'get', addr]);
      } catch (e: any) {
        return String(e.stderr ?? e.message);
      }
    };
    for (const outside of [
      '169.254.169.254',
      '192.0.2.1',
      '10.0.0.1',
      '8.8.8.8',
      'fd00:ec2::254',
      '2001:db8:ffff::1',
    ]) {
      const r = route(outside);
      if (!/unreachable/i.test(r)) throw new Error(`Unsafe network: ${outside} is routable from ${this.box}: ${r}`);
    }
    for (const a of this.upstreamAddresses) {
      const r = route(a);
      if (!r.includes(`via ${this.upstreamLinkAddress} dev up0`)) {
        throw new Error(`Unsafe network: ${a} does not route over the upstream link in ${this.box}: ${r}`);
      }
    }
  }
}

function run(cmd: string, args: string[], ignoreErrors = false): void {
  try {
    execFileSync(cmd, args, { stdio: 'pipe' });
  } catch (e: any) {
    if (!ignoreErrors) throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.toString() ?? e.message}`);
  }
}
