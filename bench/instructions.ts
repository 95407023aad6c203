/**
 * Instructions per new tunnel, counted rather than timed: each configuration of "What we tried"
 * (bench/variants.ts) runs under valgrind's callgrind with the new-tunnel load of the benchmark.
 * Counts of user-space instructions do not drift with the machine's speed as CPU time does, so
 * they separate effects far smaller than the timing noise of docs/BENCHMARKS.md. Kernel time is
 * not counted (system calls per tunnel are the same in both configs: see "What profiling showed"
 * in docs/BENCHMARKS.md). Writes docs/INSTRUCTIONS.md.
 *
 *   npx projen bench:instructions      (root: network namespaces; about 20 minutes)
 *
 * Each configuration runs twice, each time in a fresh Squid: a short and a three times longer load
 * window. Instructions per tunnel are the difference of the two totals divided by the difference
 * of the tunnels, so start-up, first use and shutdown cancel out. The seed config is counted again
 * at the end of the run to show how repeatable a count is.
 *
 * Environment: COUNT_SECONDS=10 (the short window), COUNT_CONCURRENCY=4, COUNT_OUT=<dir> (callgrind
 * files and `callgrind_annotate` text; default a new directory under /tmp), COUNT_VARIANTS=<names>
 * (only these; the report is then not written), COUNT_REPORT=docs/INSTRUCTIONS.md, COUNT_FROM=<a run's
 * counts.json> (write the report from it without counting again).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { LoadOptions, runLoad } from './datapath';
import { LabContext, startBenchLab } from './proxies';
import { requireRootAndTools } from './requirements';
import { startVariant, VARIANTS } from './variants';
import { Lab } from '../test/squid/lab';

const NAME = 'sts.us-east-1.amazonaws.com';
const SECONDS = Number(process.env.COUNT_SECONDS ?? 10);
const C = Number(process.env.COUNT_CONCURRENCY ?? 4);
const OUT = process.env.COUNT_OUT ?? mkdtempSync(join(os.tmpdir(), 'pep-count-'));
const ONLY = process.env.COUNT_VARIANTS?.split(',').map((s) => s.trim());
const REPORT = resolve(process.env.COUNT_REPORT ?? join(__dirname, '..', 'docs', 'INSTRUCTIONS.md'));

const log = (s: string) => process.stderr.write(`[count] ${s}\n`);

/**
 * Squid functions whose inclusive counts (the function and everything it calls) say where a
 * tunnel's instructions go; a function may include another of the list.
 */
const STAGES: Array<[fn: string, what: string]> = [
  ['ClientRequestContext::clientAccessCheck()', 'the `http_access` chain (and the callouts it starts)'],
  ['ACL::matches(ACLChecklist*) const', 'every ACL check (`http_access`, `ssl_bump`, `access_log`, rewriter access)'],
  ['ACLStrategised<NotePairs::Entry*>::match(ACLChecklist*)', '`note` ACLs (the annotations that carry a decision)'],
  ['ConnStateData::parseTlsHandshake()', 'the peek: reading the ClientHello, then the step-2 decision and the splice'],
  ['Security::HandshakeParser::parseHello(SBuf const&)', 'parsing the ClientHello'],
  ['ConnStateData::splice()', 'the splice, with the follow-up request Squid makes for the tunnel'],
  ['ClientRequestContext::clientRedirectStart()', "the refusal rewriter's access check (`url_rewrite_access`)"],
  ['ClientHttpRequest::logRequest()', 'the access-log line (ACLs of `access_log`, formatting, write)'],
  ['Format::Format::assemble(MemBuf&, RefCount<AccessLogEntry> const&, int) const', 'formatting a custom log line'],
  ['Log::Format::SquidNative(RefCount<AccessLogEntry> const&, Logfile*)', "formatting a line in Squid's native format"],
  [
    'clientdbUpdate(Ip::Address const&, LogTags const&, AnyP::ProtocolType, unsigned long)',
    'per-client statistics (`client_db`)',
  ],
];

interface Count {
  readonly tunnels: number;
  readonly ir: number;
  readonly file: string;
}

interface Row {
  readonly name: string;
  readonly why: string;
  readonly short: Count;
  readonly long: Count;
  /** Instructions per tunnel (the slope between the two windows). */
  readonly perTunnel: number;
  /** Inclusive instructions per tunnel of each STAGES function. */
  readonly stages: number[];
}

/** Total instructions (Ir) in a callgrind output file. */
function totalIr(file: string): number {
  const m = /^(?:summary|totals): (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (!m) throw new Error(`no totals in ${file}`);
  return Number(m[1]);
}

/** Inclusive Ir per function (callgrind_annotate's names without the object file; recursion merged). */
function inclusive(file: string): Map<string, number> {
  const text = spawnSync('callgrind_annotate', ['--inclusive=yes', '--threshold=100', file], {
    encoding: 'utf8',
    maxBuffer: 512 * 2 ** 20,
  }).stdout;
  writeFileSync(`${file}.inclusive.txt`, text);
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    // A recursive function's inner instances (name'2, name'3) are already in the outermost one.
    const x = /^\s*([\d,]+) \(\s*[\d.]+%\)\s+\S*?:(.*?)(?: \[[^\]]*\])?$/.exec(line);
    if (!x || line.includes('PROGRAM TOTALS') || /'\d+$/.test(x[2])) continue;
    m.set(x[2], Number(x[1].replace(/,/g, '')));
  }
  return m;
}

/** One Squid of variant `i` under callgrind, one load window of `seconds`, then stopped (callgrind writes at exit). */
async function countOnce(ctx: LabContext, lo: LoadOptions, i: number, seconds: number, tag: string): Promise<Count> {
  const v = VARIANTS[i];
  const file = join(OUT, `v${i}${tag}-${seconds}s.callgrind`);
  // Started as Squid's own user: Squid started as root switches to it, and callgrind could then no
  // longer write the file it created as root.
  const launcher = [
    'setpriv',
    '--reuid=proxy',
    '--regid=proxy',
    '--clear-groups',
    'valgrind',
    '--tool=callgrind',
    `--callgrind-out-file=${file}`,
    '--dump-instr=no',
  ];
  const t = await startVariant(ctx, i, launcher);
  try {
    const r = await runLoad({ ...lo, seconds, warmup: 0 }, t, 'rate', C);
    const tunnels = r.completed ?? 0;
    if (!tunnels) throw new Error(`${v.name}: no tunnel completed (${r.error ?? JSON.stringify(r.errorSamples)})`);
    if (r.errors) throw new Error(`${v.name}: ${r.errors} tunnels failed (${JSON.stringify(r.errorSamples)})`);
    await t.stop();
    return { tunnels, ir: totalIr(file), file };
  } catch (e) {
    await t.stop();
    throw e;
  }
}

async function countVariant(ctx: LabContext, lo: LoadOptions, i: number, tag = ''): Promise<Row> {
  const v = VARIANTS[i];
  const short = await countOnce(ctx, lo, i, SECONDS, tag);
  const long = await countOnce(ctx, lo, i, 3 * SECONDS, tag);
  const dt = long.tunnels - short.tunnels;
  if (dt < 100) throw new Error(`${v.name}: the long window completed only ${dt} more tunnels than the short one`);
  const perTunnel = (long.ir - short.ir) / dt;
  const [a, b] = [inclusive(short.file), inclusive(long.file)];
  const stages = STAGES.map(([fn]) => ((b.get(fn) ?? 0) - (a.get(fn) ?? 0)) / dt);
  log(
    `${v.name}: ${short.tunnels} / ${long.tunnels} tunnels, ${(short.ir / 1e6).toFixed(0)} / ${(long.ir / 1e6).toFixed(0)} M instructions → ${(perTunnel / 1e3).toFixed(1)} k/tunnel`,
  );
  return { name: v.name, why: v.why, short, long, perTunnel, stages };
}

/** The "× seed" columns of the "seed config + SNI peek" row in the committed docs/BENCHMARKS.md (timed, not counted). */
function timedPeek(): string | undefined {
  const file = join(__dirname, '..', 'docs', 'BENCHMARKS.md');
  if (!existsSync(file)) return undefined;
  const row = readFileSync(file, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('| seed config + SNI peek |'));
  const ratios = row?.match(/\d+\.\d+×/g);
  return ratios && ratios.length >= 2 ? `${ratios[0]} (16 loops) and ${ratios[1]} (128 loops)` : undefined;
}

const k = (n: number) => `${(n / 1000).toFixed(1)} k`;
const signed = (n: number) => `${n >= 0 ? '+' : '−'}${(Math.abs(n) / 1000).toFixed(1)} k`;

/** The commit the counted configs were rendered from (with "+ changes" when src/ differs from it). */
function revision(): string {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: __dirname, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--', '../src'], {
    cwd: __dirname,
    encoding: 'utf8',
  }).trim();
  return dirty ? `${head} + uncommitted changes in src/` : head;
}

function render(rows: Row[], repeat: Row, started: Date, seconds: number, rev: string): string {
  const by = (name: string) => rows.find((r) => r.name === name)!;
  const seed = by('seed article config');
  const peek = by('seed config + SNI peek');
  const rendered = by('as rendered');
  const plain = by('no SNI check (plain CONNECT)');
  const squid = execFileSync('/usr/sbin/squid', ['-v'], { encoding: 'utf8' }).split('\n')[0];
  const valgrind = execFileSync('valgrind', ['--version'], { encoding: 'utf8' }).trim();
  const out: string[] = [];
  out.push('# Instructions per new tunnel');
  out.push('');
  out.push(
    `Generated by \`npx projen bench:instructions\` (bench/instructions.ts) on ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, ${Math.round(seconds)} s, library revision \`${rev}\`; ${squid}; ${valgrind}.`,
  );
  out.push('');
  out.push(
    'docs/BENCHMARKS.md times the proxy; this file counts the instructions Squid runs in user space for each new tunnel ' +
      "(CONNECT, TLS handshake inside the tunnel, one small request, close), with valgrind's callgrind. A count does not " +
      "drift with the machine's speed, so it shows effects much smaller than the timing noise (the passes of one point in " +
      "docs/BENCHMARKS.md differ by up to a quarter). What it leaves out is the kernel's share: the accept, the connects, " +
      'the socket reads and writes, which are the same in every configuration here and most of the CPU time per tunnel.',
  );
  out.push('');
  out.push(
    `**Method.** The lab, load generator and configurations of docs/BENCHMARKS.md ("What we tried", bench/variants.ts), ${C} ` +
      `loops opening new tunnels. Each configuration runs twice, each time in a fresh Squid under callgrind: a ${SECONDS} s and a ` +
      `${3 * SECONDS} s window. Instructions per tunnel = (instructions of the long run − instructions of the short run) / ` +
      '(tunnels of the long run − tunnels of the short run), so start-up, first use and shutdown cancel out. ' +
      `**Repeatability:** the seed config counted again at the end of the run gave ${k(repeat.perTunnel)} against ` +
      `${k(seed.perTunnel)} (${((Math.abs(repeat.perTunnel - seed.perTunnel) / seed.perTunnel) * 100).toFixed(1)}% apart); ` +
      'counts of one configuration in separate runs (other windows) have differed by up to about 1%, so read smaller ' +
      'differences as noise.',
  );
  out.push('');
  out.push('## Per configuration');
  out.push('');
  out.push('| Configuration | Why | Instructions per tunnel | × seed | vs as rendered | Tunnels (short / long) |');
  out.push('|---|---|---:|---:|---:|---|');
  for (const r of rows) {
    out.push(
      `| ${r.name} | ${r.why} | ${k(r.perTunnel)} | ${(r.perTunnel / seed.perTunnel).toFixed(2)}× | ${r === rendered ? '–' : signed(r.perTunnel - rendered.perTunnel)} | ${r.short.tunnels} / ${r.long.tunnels} |`,
    );
  }
  out.push('');
  out.push('## Where the instructions go');
  out.push('');
  out.push(
    'Inclusive instructions per tunnel (the function and everything it calls) of the Squid functions that make up a tunnel, ' +
      'for the four configurations that frame the question; one row can include another.',
  );
  out.push('');
  out.push(`| Squid function | What it is | ${[seed, peek, plain, rendered].map((r) => r.name).join(' | ')} |`);
  out.push('|---|---|---:|---:|---:|---:|');
  STAGES.forEach(([fn, what], j) => {
    out.push(
      `| \`${fn.replace(/\(.*$/, '()')}\` | ${what} | ${[seed, peek, plain, rendered].map((r) => k(r.stages[j])).join(' | ')} |`,
    );
  });
  out.push(`| (whole tunnel) | | ${[seed, peek, plain, rendered].map((r) => k(r.perTunnel)).join(' | ')} |`);
  out.push('');
  out.push('## What the counts say');
  out.push('');
  const peekCost = peek.perTunnel - seed.perTunnel;
  const renderedPeek = rendered.perTunnel - plain.perTunnel;
  out.push(
    `- **The SNI check is most of the difference.** The seed config with only the peek-and-splice step added runs ` +
      `${k(peekCost)} more instructions per tunnel (${((peekCost / seed.perTunnel) * 100).toFixed(0)}% more than the seed ` +
      `config); in the rendered config the same step costs ${k(renderedPeek)} (as rendered against "no SNI check"). The ` +
      "ClientHello parsing is a part of it; the rest is the peek's own request machinery (the server-bump state, the " +
      'follow-up request Squid makes for the spliced tunnel and its log record), none of which a directive turns off.',
  );
  out.push(
    `- **The rules, notes and log line** are the rest: the rendered config without the SNI check runs ${k(plain.perTunnel)} ` +
      `per tunnel against the seed config's ${k(seed.perTunnel)}. The rows above price each part (the custom log line, the ` +
      'refusal rewriter, the `note` ACLs that carry a decision from the chain to the log).',
  );
  const timed = timedPeek();
  const withPeek = rows.filter((r) => !VARIANTS.find((v) => v.name === r.name)?.seed && r !== plain);
  const cheapest = withPeek.reduce((a, b) => (b.perTunnel < a.perTunnel ? b : a));
  out.push(
    "- **What this means for the CPU target of docs/BENCHMARKS.md** (rendered config ≤ 1.10× the seed config's CPU time " +
      'per new tunnel, kernel included). ' +
      (timed
        ? `There, the seed config with the peek alone measured ${timed} the seed config's CPU time per tunnel (row "seed config + SNI peek" of "What we tried"). `
        : 'docs/BENCHMARKS.md has no "seed config + SNI peek" row to compare with. ') +
      `Whatever the kernel's share, the rendered config would have to run fewer user-space instructions than the seed config with the peek (${k(peek.perTunnel)}) to cost less than it, while also checking every rule; ` +
      `the cheapest variant of the rendered config that keeps the SNI check ("${cheapest.name}") runs ${k(cheapest.perTunnel)}.`,
  );
  out.push('');
  return out.join('\n');
}

function checkRequirements(): void {
  requireRootAndTools('the instruction count', [
    ['/usr/sbin/squid', 'squid-openssl'],
    ['/usr/bin/valgrind', 'valgrind'],
    ['/usr/bin/callgrind_annotate', 'valgrind'],
    ['/usr/bin/setpriv', 'util-linux'],
    ['/usr/bin/openssl', 'openssl'],
    ['/usr/sbin/ip', 'iproute2'],
  ]);
}

async function main(): Promise<void> {
  if (process.env.COUNT_FROM) {
    // Render the report again from a run's counts.json (e.g. after a change to the text).
    const { rows, repeat, started, seconds, rev } = JSON.parse(readFileSync(process.env.COUNT_FROM, 'utf8'));
    writeFileSync(REPORT, render(rows, repeat, new Date(started), seconds, rev));
    return;
  }
  checkRequirements();
  mkdirSync(OUT, { recursive: true });
  chmodSync(OUT, 0o777); // Squid runs as its own user (below) and callgrind writes its counts here
  const started = new Date();
  const rev = revision();
  const lab = Lab.create();
  const rows: Row[] = [];
  let repeat: Row | undefined;
  try {
    const { ctx, lo } = await startBenchLab(lab, [NAME], { seconds: SECONDS, warmup: 0 });
    for (const [i, v] of VARIANTS.entries()) {
      if (ONLY && !ONLY.includes(v.name)) continue;
      rows.push(await countVariant(ctx, lo, i));
    }
    if (!ONLY) {
      repeat = await countVariant(
        ctx,
        lo,
        VARIANTS.findIndex((v) => v.seed && !v.tweak),
        '-again',
      );
    }
  } finally {
    lab.destroy();
  }
  const seconds = (Date.now() - started.getTime()) / 1000;
  writeFileSync(join(OUT, 'counts.json'), JSON.stringify({ rows, repeat, started, seconds, rev }, null, 2));
  if (repeat) {
    writeFileSync(REPORT, render(rows, repeat, started, seconds, rev));
    log(`wrote ${REPORT}`);
  }
  process.stdout.write(`${OUT}\n${rows.map((r) => `${r.name}\t${Math.round(r.perTunnel)}`).join('\n')}\n`);
}

main().catch((e) => {
  process.stderr.write(`count failed: ${e.stack ?? e}\n`);
  process.exit(1);
});
