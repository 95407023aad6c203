import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/**
 * Scheduling priority of every process the benchmark starts (load generator, upstream, DNS stub,
 * proxies) and of the benchmark process itself while it times synth and evaluate().
 *
 * The machine may be shared with other jobs; a raised priority (negative nice value, needs root)
 * keeps them from taking CPU time in the middle of a measurement. Every target gets the same
 * priority, so comparisons stay fair. BENCH_NICE=0 turns it off.
 */
export const NICE = (() => {
  const v = process.env.BENCH_NICE;
  const n = v === undefined || v === '' ? -10 : Number(v);
  if (!Number.isInteger(n) || n < -20 || n > 19) {
    throw new Error(`BENCH_NICE=${v}: expected a whole number from -20 to 19`);
  }
  return n;
})();

/** `cmd args` wrapped in `nice -n NICE` (nice execs the command: the PID stays the command's). */
export function niced(cmd: string, args: string[]): [string, string[]] {
  return NICE === 0 ? [cmd, args] : ['nice', ['-n', String(NICE), cmd, ...args]];
}

/**
 * With autogroup scheduling (kernel.sched_autogroup_enabled=1) the CPU is shared fairly between
 * sessions first, and nice values only count inside a session. So the benchmark also gives its own
 * session's autogroup the same nice value for the duration of the run, and returns a function
 * that restores the previous value.
 */
export function raiseAutogroup(): () => void {
  const file = '/proc/self/autogroup';
  if (NICE === 0 || !existsSync(file)) return () => {};
  let previous: number | undefined;
  try {
    previous = Number(/nice\s+(-?\d+)/.exec(readFileSync(file, 'utf8'))?.[1] ?? 0);
    writeFileSync(file, String(NICE));
  } catch {
    return () => {};
  }
  return () => {
    try {
      writeFileSync(file, String(previous ?? 0));
    } catch {
      /* the session is gone */
    }
  };
}
