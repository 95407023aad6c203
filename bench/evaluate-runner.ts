import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { EvaluateResult } from './evaluate';
import { niced } from './nice';

const ROOT = resolve(__dirname, '..');

/** evaluate() timed in several fresh processes. */
export interface EvaluateRuns {
  /** Each run: median of its rounds. */
  readonly runs: EvaluateResult[];
  /** The best run's decisions per second. */
  readonly best: number;
}

/** Time evaluate() on src/ in `runs` fresh processes (ts-node, transpile only). */
export function timeEvaluate(seconds: number, runs: number): EvaluateRuns {
  const out: EvaluateResult[] = [];
  for (let i = 0; i < runs; i++) {
    const [cmd, args] = niced(process.execPath, [
      '-r',
      'ts-node/register',
      join(__dirname, 'evaluate-child.ts'),
      String(seconds),
    ]);
    const r = spawnSync(cmd, args, {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: (seconds + 120) * 1000,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: join(ROOT, 'tsconfig.dev.json') },
    });
    const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
    try {
      out.push(JSON.parse(line));
    } catch {
      throw new Error(`evaluate() benchmark failed (exit ${r.status}): ${(r.stderr ?? '').slice(0, 300)}`);
    }
  }
  return { runs: out, best: Math.max(...out.map((r) => r.perSecond)) };
}
