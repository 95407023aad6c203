/**
 * Synthesise every integration test (test/integ.*.ts) and compare its templates and integ
 * manifest with the committed snapshot (test/integ.*.ts.snapshot/), or rewrite the snapshots.
 *
 *   ts-node scripts/integ-snapshot.ts            check (exit 1 on any difference)
 *   ts-node scripts/integ-snapshot.ts --update   rewrite the snapshots (review the diff)
 *
 * Why not integ-runner: its newest release (2.197.10) reads cloud assemblies up to schema 53,
 * and aws-cdk-lib writes 55 since 2.27x, so it cannot load these apps. This does what its
 * snapshot check does - synthesise with the feature flags a new project gets, compare each
 * template - and the snapshot layout stays integ-runner's, for when it catches up. The apps
 * still deploy and run their assertions with the CDK CLI (see the integ files).
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import * as cxapi from 'aws-cdk-lib/cx-api';

const root = join(__dirname, '..');
const testDir = join(root, 'test');
const update = process.argv.includes('--update');

/** The files compared: every template, and the integ manifest (test cases, assertion stacks). */
function comparedFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.template.json') || f === 'integ.json')
    .sort();
}

function synth(app: string): string {
  const outdir = mkdtempSync(join(tmpdir(), 'integ-snapshot-'));
  const result = spawnSync(
    process.execPath,
    ['-r', 'ts-node/register', join(testDir, app)],
    {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        TS_NODE_PROJECT: join(root, 'tsconfig.dev.json'),
        CDK_OUTDIR: outdir,
        // The feature flags `cdk init` gives a new project, as integ-runner sets them.
        CDK_CONTEXT_JSON: JSON.stringify(cxapi.CURRENTLY_RECOMMENDED_FLAGS),
      },
    },
  );
  if (result.status !== 0) {
    throw new Error(`Synthesising ${app} failed:\n${result.stdout}\n${result.stderr}`);
  }
  return outdir;
}

function differences(app: string, outdir: string, snapshot: string): string[] {
  if (!existsSync(snapshot)) return [`${app}: no snapshot (run with --update)`];
  const actual = comparedFiles(outdir);
  const expected = comparedFiles(snapshot);
  const out: string[] = [];
  for (const f of expected.filter((x) => !actual.includes(x))) out.push(`${app}: ${f} is no longer produced`);
  for (const f of actual) {
    if (!expected.includes(f)) {
      out.push(`${app}: ${f} is new`);
      continue;
    }
    const a = normalize(JSON.parse(readFileSync(join(outdir, f), 'utf8')));
    const e = normalize(JSON.parse(readFileSync(join(snapshot, f), 'utf8')));
    if (!isDeepStrictEqual(a, e)) out.push(`${app}: ${f} differs${describe(a, e)}`);
  }
  return out;
}

/**
 * integ-tests-alpha gives every API call a `salt` (the synthesis time) so that it runs again on
 * each deployment: not a difference.
 */
function normalize(value: any): any {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k === 'salt' ? '<salt>' : normalize(v)]));
}

/** The first differing resources of a template, to point the reader at them. */
function describe(actual: any, expected: any): string {
  const ids = new Set([...Object.keys(actual.Resources ?? {}), ...Object.keys(expected.Resources ?? {})]);
  const changed = [...ids].filter((id) => !isDeepStrictEqual(actual.Resources?.[id], expected.Resources?.[id]));
  return changed.length > 0 ? ` (resources: ${changed.slice(0, 8).join(', ')}${changed.length > 8 ? ', …' : ''})` : '';
}

const apps = readdirSync(testDir)
  .filter((f) => /^integ\..*\.ts$/.test(f))
  .sort();
if (apps.length === 0) throw new Error('No integration tests found in test/');
const problems: string[] = [];
for (const app of apps) {
  const outdir = synth(app);
  const snapshot = join(testDir, `${app}.snapshot`);
  try {
    if (update) {
      rmSync(snapshot, { recursive: true, force: true });
      // Everything integ-runner keeps, but what holds this machine's paths (construct stack
      // traces in the metadata files, the validation report).
      cpSync(outdir, snapshot, {
        recursive: true,
        filter: (src) => !/(\.metadata\.json|^validation-report\.json)$/.test(basename(src)),
      });
      console.log(`${app}: snapshot written (${comparedFiles(snapshot).length} files compared on check)`);
    } else {
      const found = differences(app, outdir, snapshot);
      problems.push(...found);
      console.log(`${app}: ${found.length === 0 ? 'matches its snapshot' : `${found.length} difference(s)`}`);
    }
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error('The integration-test snapshots differ: review, then `npx projen integ:update` and commit.');
  process.exit(1);
}
