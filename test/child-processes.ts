import { ChildProcess } from 'node:child_process';

/**
 * The processes a test started, so that each is stopped by its PID (never by name), also when the
 * test fails. Shared by the real-Squid lab (test/squid/lab.ts) and the host boot test's network
 * (test/host/network.ts).
 */
export class ChildProcesses {
  private readonly children = new Set<ChildProcess>();

  /** Remember a process until it exits, so that {@link killAll} stops it if it still runs. */
  public track(child: ChildProcess): ChildProcess {
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** Stop a process by its PID and wait for it: `signal`, then SIGKILL after `timeoutMs`. */
  public async stop(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), timeoutMs).unref());
    if ((await Promise.race([exited, timer])) === 'timeout') {
      child.kill('SIGKILL');
      await exited;
    }
  }

  /** SIGKILL every tracked process that still runs, by its PID. */
  public killAll(): void {
    for (const child of this.children) {
      try {
        if (child.pid) process.kill(child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
    this.children.clear();
  }
}
