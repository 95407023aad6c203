import { join } from 'node:path';
import { niced } from './nice';
import { cpuSeconds, machineCpu } from './procstat';
import { ProxyEndpoint, RunningTarget } from './proxies';
import { Lab } from '../test/squid/lab';

/** What the load generator reports, plus CPU use during its measurement window. */
export interface LoadResult {
  readonly mode: 'rate' | 'bulk' | 'once';
  readonly concurrency: number;
  /** rate: tunnels per second. */
  readonly rate?: number;
  /** rate: latency in ms. */
  readonly p50?: number;
  readonly p99?: number;
  /** bulk: MB/s (10^6 bytes/s) summed over all tunnels. */
  readonly mbps?: number;
  readonly tunnels?: number;
  /** rate: tunnels completed inside the measurement window. */
  readonly completed?: number;
  readonly ok?: boolean;
  readonly error?: string;
  readonly errors: number;
  readonly errorSamples: Record<string, number>;
  /** CPU use in the window, in % of one core (the machine has `cores` × 100%). */
  readonly cpu?: {
    loadgen: number;
    upstream: number;
    proxy: number;
    irq: number;
    steal: number;
    other: number;
    machine: number;
  };
  /** The passes this result averages (run.ts measures the rate target's two configs twice). */
  readonly passes?: LoadResult[];
  /** How many times the point was measured (run.ts re-measures disturbed points). */
  readonly attempts?: number;
  /** rate: tunnels whose TLS session was resumed (must be 0: every handshake is a full one). */
  readonly resumed?: number;
}

export interface LoadOptions {
  readonly lab: Lab;
  readonly caFile: string;
  readonly name: string;
  readonly upstream: ProxyEndpoint;
  readonly upstreamPid: number;
  readonly seconds: number;
  readonly warmup: number;
}

/** Run the load generator once inside the lab against `target`; bounded by a hard timeout. */
export function runLoad(
  o: LoadOptions,
  target: RunningTarget,
  mode: 'rate' | 'bulk' | 'once',
  concurrency: number,
): Promise<LoadResult> {
  const args = {
    mode,
    concurrency,
    seconds: o.seconds,
    warmup: o.warmup,
    name: o.name,
    caFile: o.caFile,
    upstream: o.upstream,
    proxy: target.proxy,
  };
  const child = o.lab.spawn(...niced(process.execPath, [join(__dirname, 'loadgen.js'), JSON.stringify(args)]));
  const limitMs = (o.seconds + o.warmup + 45) * 1000;
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let result: any;
    let start: ReturnType<typeof sample> | undefined;
    let cpu: LoadResult['cpu'];
    const sample = () => {
      const pids = target.pids();
      return {
        t: Date.now(),
        gen: cpuSeconds([child.pid!]),
        up: cpuSeconds([o.upstreamPid]),
        proxy: cpuSeconds(pids),
        m: machineCpu(),
      };
    };
    const timer = setTimeout(() => {
      void o.lab.stop(child, 'SIGKILL');
    }, limitMs);
    child.stderr?.on('data', (d) => {
      if (err.length < 10_000) err += d;
    });
    child.stdout?.on('data', (d) => {
      out += d;
      let i: number;
      while ((i = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, i);
        out = out.slice(i + 1);
        let ev: any;
        try {
          ev = JSON.parse(line);
        } catch {
          continue;
        }
        if (ev.event === 'start') {
          start = sample();
        } else if (ev.event === 'end' && start) {
          const end = sample();
          const dt = Math.max(0.001, (end.t - start.t) / 1000);
          const pct = (x: number) => Math.round((x / dt) * 100);
          const gen = end.gen - start.gen;
          const up = end.up - start.up;
          const px = end.proxy - start.proxy;
          const busy = end.m.busy - start.m.busy;
          const irq = end.m.irq - start.m.irq;
          const steal = end.m.steal - start.m.steal;
          const other = Math.max(0, busy - gen - up - px - irq - steal);
          cpu = {
            loadgen: pct(gen),
            upstream: pct(up),
            proxy: pct(px),
            irq: pct(irq),
            steal: pct(steal),
            other: pct(other),
            machine: pct(busy),
          };
        } else if (ev.event === 'result') {
          result = ev;
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!result) return reject(new Error(`load generator exited (${code}) without a result: ${err.slice(0, 2000)}`));
      const { event: _e, cpu: _c, ...rest } = result;
      resolve({ ...rest, cpu });
    });
  });
}
