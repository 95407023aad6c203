import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { App, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as lib from '../src';
import { EgressPolicy, SquidConfig } from '../src';
import { makeDomains } from './domains';

export interface SynthResult {
  readonly domains: number;
  readonly runs: number;
  /** Median ms: policy + render + constructs + app.synth(). */
  readonly totalMs: number;
  /** Median ms of `new EgressPolicy` + `SquidConfig.render` alone. */
  readonly renderMs: number;
  readonly templateBytes: number;
  /** Bytes of the file assets in the cloud assembly (large rendered files go to S3). */
  readonly assetBytes: number;
  readonly renderedBytes: number;
}

/** Which construct the synth benchmark uses (decided when it runs, from src/index.ts). */
export function synthSubject(): { kind: 'l3'; name: string } | { kind: 'minimal' } {
  for (const name of ['PrivateEgressProxy', 'EgressProxyProvider']) {
    if (typeof (lib as any)[name] === 'function') return { kind: 'l3', name };
  }
  return { kind: 'minimal' };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** A full garbage collection, so no run pays for the garbage of the one before it. */
const collectGarbage: () => void = (() => {
  v8.setFlagsFromString('--expose_gc');
  return runInNewContext('gc');
})();

function dirBytes(dir: string, skip: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) n += dirBytes(p, skip);
    else if (p !== skip && !e.name.endsWith('.json')) n += statSync(p).size;
  }
  return n;
}

function once(
  domains: string[],
  outdir: string,
): { totalMs: number; renderMs: number; templateBytes: number; assetBytes: number; renderedBytes: number } {
  const t0 = performance.now();
  const policy = new EgressPolicy({ allowedDomains: domains });
  const subject = synthSubject();
  const app = new App({ outdir });
  const stack = new Stack(app, 'BenchStack');
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  let renderMs: number;
  let renderedBytes = 0;
  if (subject.kind === 'l3') {
    // The construct renders the configuration itself; the render time is measured separately.
    const r0 = performance.now();
    const conf = SquidConfig.render(policy, { vcpus: 2 });
    renderMs = performance.now() - r0 + (r0 - t0);
    renderedBytes = conf.files.reduce((n, f) => n + f.content.length, 0);
    new (lib as any)[subject.name](stack, 'Proxy', { vpc, policy });
  } else {
    // No L3 construct yet: the rendered files as cfn-init files on an instance in a new VPC.
    const conf = SquidConfig.render(policy, { vcpus: 2 });
    renderMs = performance.now() - t0;
    renderedBytes = conf.files.reduce((n, f) => n + f.content.length, 0);
    new ec2.Instance(stack, 'Proxy', {
      vpc,
      instanceType: ec2.InstanceType.of(ec2.InstanceClass.T3, ec2.InstanceSize.SMALL),
      machineImage: ec2.MachineImage.latestAmazonLinux2023(),
      init: ec2.CloudFormationInit.fromElements(
        ...conf.files.map((f) => ec2.InitFile.fromString(f.path, f.content, { mode: f.mode })),
      ),
    });
  }
  const asm = app.synth();
  const totalMs = performance.now() - t0;
  const template = asm.getStackByName('BenchStack').templateFullPath;
  const templateBytes = statSync(template).size;
  return { totalMs, renderMs, templateBytes, assetBytes: dirBytes(outdir, template), renderedBytes };
}

/** Median of `runs` synths (after one warm-up) for each allowlist size. */
export function benchSynth(sizes: number[], runs: number): SynthResult[] {
  const out: SynthResult[] = [];
  const base = mkdtempSync(join(tmpdir(), 'pep-bench-synth-'));
  try {
    let k = 0;
    // Warm-up (module loading and JIT), then the sizes in turn, so drift hits them alike.
    for (let i = 0; i < 3; i++) once(makeDomains(10).all, join(base, `w${k++}`));
    const lists = sizes.map((n) => makeDomains(n).all);
    const rs: Array<ReturnType<typeof once>[]> = sizes.map(() => []);
    for (let i = 0; i < runs; i++) {
      sizes.forEach((_, j) => {
        const dir = join(base, `r${k++}`);
        collectGarbage();
        rs[j].push(once(lists[j], dir));
        rmSync(dir, { recursive: true, force: true });
      });
    }
    sizes.forEach((n, j) => {
      out.push({
        domains: n,
        runs,
        totalMs: median(rs[j].map((r) => r.totalMs)),
        renderMs: median(rs[j].map((r) => r.renderMs)),
        templateBytes: rs[j][0].templateBytes,
        assetBytes: rs[j][0].assetBytes,
        renderedBytes: rs[j][0].renderedBytes,
      });
    });
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
  return out;
}
