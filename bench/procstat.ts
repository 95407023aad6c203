import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on Linux). */
const HZ = 100;

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; fields after it start after the last ')'.
    return s.slice(s.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** The PIDs of `root` and all its descendants. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number[]>();
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    const f = statFields(Number(e));
    if (!f) continue;
    const ppid = Number(f[1]);
    const list = parent.get(ppid) ?? [];
    list.push(Number(e));
    parent.set(ppid, list);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0 && out.length < 10_000) {
    const p = stack.pop()!;
    out.push(p);
    stack.push(...(parent.get(p) ?? []));
  }
  return out;
}

/** CPU seconds (user + system) used so far by the given processes. */
export function cpuSeconds(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const f = statFields(pid);
    if (f) ticks += Number(f[11]) + Number(f[12]); // utime, stime (fields 14 and 15)
  }
  return ticks / HZ;
}

/** CPU seconds of the whole machine so far (/proc/stat): busy (all but idle and iowait), of which interrupts (irq + softirq) and steal. */
export function machineCpu(): { busy: number; irq: number; steal: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  // user nice system idle iowait irq softirq steal
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number);
  const busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  return { busy: busy / HZ, irq: (v[5] + v[6]) / HZ, steal: v[7] / HZ };
}
