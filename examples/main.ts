/**
 * Synthesise the example app to CloudFormation (`scripts/synth-example.sh`). No AWS credentials
 * or context lookups are needed, and no stack may contain a Lambda function or custom resource;
 * nothing is deployed.
 */
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { App } from 'aws-cdk-lib';
import { buildExampleApp } from './app';

const outdir = process.env.CDK_OUTDIR ?? join(__dirname, '..', 'cdk.out');
const app = new App({ outdir });
buildExampleApp(app);
const assembly = app.synth();
const missing = assembly.manifest.missing ?? [];
if (missing.length > 0) {
  throw new Error(`The example needed context lookups: ${missing.map((m) => m.key).join(', ')}`);
}
const lambdas = assembly.stacks.flatMap((s) =>
  Object.entries<any>(s.template.Resources ?? {})
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function' || r.Type.startsWith('Custom::'))
    .map(([id, r]) => `${s.stackName}/${id} (${r.Type})`),
);
if (lambdas.length > 0) {
  throw new Error(`The example created Lambda functions or custom resources: ${lambdas.join(', ')}`);
}
console.log(`Synthesised ${assembly.stacks.length} stacks into ${relative(process.cwd(), outdir) || '.'}:`);
for (const s of assembly.stacks) {
  const file = join(outdir, s.templateFile);
  const resources = Object.keys(s.template.Resources ?? {}).length;
  console.log(
    `  ${s.stackName.padEnd(26)} ${s.environment.account}/${s.environment.region}  ${relative(process.cwd(), file)}  ` +
      `(${resources} resources, ${(statSync(file).size / 1024).toFixed(1)} KiB)`,
  );
  for (const m of s.messages.filter((x) => x.level !== 'info')) {
    console.log(`    ${m.level}: ${m.id}: ${String(m.entry.data).split('\n')[0]}`);
  }
}
