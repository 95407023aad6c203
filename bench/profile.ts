/**
 * Where a proxy spends its CPU per new tunnel: the rendered config against the seed config, under
 * the new-tunnel load of the benchmark, with `perf record` (user and kernel stacks) and
 * `strace -c` (system calls) attached to each Squid in turn. A development tool for the
 * "What we tried" section of docs/BENCHMARKS.md; it writes nothing into the repository.
 *
 *   flock /tmp/pep-squid.lock npx ts-node --project tsconfig.dev.json bench/profile.ts
 *
 * Environment: PROFILE_CONCURRENCY=128, PROFILE_SECONDS=8, PROFILE_OUT=<dir> (default: a new
 * directory under /tmp; perf data, `perf report` text and strace summaries go there),
 * PROFILE_TOOLS=perf,strace, PROFILE_FREQ=1999 (perf samples/s), PROFILE_CALLGRAPH=fp (or dwarf,16384).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoadOptions, runLoad } from './datapath';
import { RunningTarget, startBenchLab, startRendered, startSeed } from './proxies';
import { Lab } from '../test/squid/lab';

const NAME = 'sts.us-east-1.amazonaws.com';
const C = Number(process.env.PROFILE_CONCURRENCY ?? 128);
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 8);
const OUT = process.env.PROFILE_OUT ?? mkdtempSync(join(tmpdir(), 'pep-profile-'));
const FREQ = process.env.PROFILE_FREQ ?? '1999';
const CALLGRAPH = process.env.PROFILE_CALLGRAPH ?? 'fp';
const TOOLS = new Set((process.env.PROFILE_TOOLS ?? 'perf,strace').split(','));

const log = (s: string) => process.stderr.write(`[profile] ${s}\n`);

/** Run `cmd` attached to `pid` while one load window runs; returns the load result. */
async function attached(lo: LoadOptions, t: RunningTarget, tool: string[] | undefined) {
  const child = tool ? spawn(tool[0], tool.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] }) : undefined;
  if (child) await new Promise((r) => setTimeout(r, 500));
  const r = await runLoad(lo, t, 'rate', C);
  if (child) {
    process.kill(child.pid!, 'SIGINT');
    await new Promise((r2) => child.once('exit', r2));
  }
  return r;
}

async function main(): Promise<void> {
  const lab = Lab.create();
  const running: RunningTarget[] = [];
  try {
    const { ctx, lo } = await startBenchLab(lab, [NAME], { seconds: SECONDS, warmup: 0.5 });
    const targets: Array<[string, RunningTarget]> = [
      ['rendered', await startRendered(ctx)],
      ['seed', await startSeed(ctx)],
    ];
    running.push(...targets.map(([, t]) => t));
    for (const [label, t] of targets) {
      const pid = t.pids()[0];
      const plain = await attached(lo, t, undefined);
      log(`${label}: ${plain.rate?.toFixed(0)}/s, proxy ${plain.cpu?.proxy}% → ${perTunnel(plain)} µs/tunnel`);
      if (TOOLS.has('perf')) {
        const data = join(OUT, `${label}.perf.data`);
        const r = await attached(lo, t, [
          'perf',
          'record',
          '-F',
          FREQ,
          '--call-graph',
          CALLGRAPH,
          '-p',
          String(pid),
          '-o',
          data,
        ]);
        log(`${label} under perf: ${r.rate?.toFixed(0)}/s; tunnels ${Math.round((r.rate ?? 0) * SECONDS)}`);
        const rep = spawnSync('perf', ['report', '-i', data, '--stdio', '--no-children', '--sort', 'dso,symbol'], {
          encoding: 'utf8',
          maxBuffer: 256 * 2 ** 20,
        });
        writeFileSync(join(OUT, `${label}.perf.txt`), rep.stdout);
        const flat = spawnSync(
          'perf',
          ['report', '-i', data, '--stdio', '--no-children', '-g', 'none', '--sort', 'symbol'],
          {
            encoding: 'utf8',
            maxBuffer: 256 * 2 ** 20,
          },
        );
        writeFileSync(join(OUT, `${label}.perf-flat.txt`), flat.stdout);
        writeFileSync(join(OUT, `${label}.tunnels`), String(Math.round((r.rate ?? 0) * SECONDS)));
      }
      if (TOOLS.has('strace')) {
        const f = join(OUT, `${label}.strace.txt`);
        const r = await attached(lo, t, ['strace', '-c', '-f', '-p', String(pid), '-o', f]);
        log(`${label} under strace: ${r.rate?.toFixed(0)}/s; tunnels ${Math.round((r.rate ?? 0) * SECONDS)}`);
        writeFileSync(join(OUT, `${label}.strace-tunnels`), String(Math.round((r.rate ?? 0) * SECONDS)));
      }
    }
    log(`output in ${OUT}`);
  } finally {
    for (const t of running) await t.stop().catch(() => {});
    lab.destroy();
  }
}

function perTunnel(r: { rate?: number; cpu?: { proxy: number } }): string {
  return r.rate && r.cpu ? ((r.cpu.proxy / 100 / r.rate) * 1e6).toFixed(0) : '?';
}

main().catch((e) => {
  process.stderr.write(`profile failed: ${e.stack ?? e}\n`);
  process.exit(1);
});
