import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EvaluateResult } from './evaluate';
import { niced } from './nice';

const ROOT = resolve(__dirname, '..');

export interface EvaluateVariant {
  readonly name: string;
  /** Each run: median of its rounds. */
  readonly runs: EvaluateResult[];
  /** The best run's decisions per second. */
  readonly best: number;
  readonly fingerprint?: string;
  readonly error?: string;
}

export interface EvaluateComparison {
  readonly current: EvaluateVariant;
  /** The proposal, or why it could not be measured. */
  readonly proposal?: EvaluateVariant & { readonly patch: string };
}

/**
 * Time evaluate() on src/ and on a temporary copy of src/ with `patch` applied, each in fresh
 * processes (ts-node, transpile only), alternating, `runs` times each.
 */
export function compareEvaluate(patch: string, seconds: number, runs: number): EvaluateComparison {
  const tmp = mkdtempSync(join(tmpdir(), 'pep-bench-proposal-'));
  try {
    writeFileSync(
      join(tmp, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'commonjs', esModuleInterop: true, skipLibCheck: true },
      }),
    );
    // A copy of src/ and of the three bench files the child needs, resolving packages from the repository.
    cpSync(join(ROOT, 'src'), join(tmp, 'src'), { recursive: true });
    mkdirSync(join(tmp, 'bench'));
    for (const f of ['evaluate.ts', 'domains.ts', 'evaluate-child.ts']) {
      copyFileSync(join(__dirname, f), join(tmp, 'bench', f));
    }
    symlinkSync(join(ROOT, 'node_modules'), join(tmp, 'node_modules'));
    const patchFile = resolve(ROOT, patch);
    const applied = spawnSync('patch', ['-p1', '-s', '-N', '-d', tmp, '-i', patchFile], { encoding: 'utf8' });
    const patchError =
      applied.status === 0
        ? undefined
        : `the patch no longer applies to src/: ${(applied.stdout + applied.stderr).trim().split('\n')[0]}`;

    const child = (root: string): EvaluateResult & { error?: string } => {
      const [cmd, args] = niced(process.execPath, [
        '-r',
        'ts-node/register',
        join(root, 'bench', 'evaluate-child.ts'),
        String(seconds),
      ]);
      const r = spawnSync(cmd, args, {
        cwd: root,
        encoding: 'utf8',
        timeout: (seconds + 120) * 1000,
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', TS_NODE_PROJECT: join(tmp, 'tsconfig.json') },
      });
      const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
      try {
        return JSON.parse(line);
      } catch {
        return { error: `exit ${r.status}: ${(r.stderr ?? '').slice(0, 300)}` } as any;
      }
    };
    const cur: EvaluateResult[] = [];
    const prop: EvaluateResult[] = [];
    let curErr: string | undefined;
    let propErr = patchError;
    for (let i = 0; i < runs; i++) {
      const c = child(ROOT);
      if ((c as any).error) curErr = (c as any).error;
      else cur.push(c);
      if (!patchError) {
        const p = child(tmp);
        if ((p as any).error) propErr = (p as any).error;
        else prop.push(p);
      }
    }
    const variant = (name: string, rs: EvaluateResult[], error?: string): EvaluateVariant => ({
      name,
      runs: rs,
      best: Math.max(0, ...rs.map((r) => r.perSecond)),
      fingerprint: rs[0]?.fingerprint,
      error: rs.length === 0 ? error : undefined,
    });
    return {
      current: variant('src/ as it is', cur, curErr),
      proposal: { ...variant('with the proposal', prop, propErr), patch },
    };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
