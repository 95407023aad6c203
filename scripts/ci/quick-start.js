// Helpers of scripts/ci/quick-start.sh.
//   node quick-start.js extract README.md 'Quick start: one account'   prints the section's first ts block
//   node quick-start.js check cdk.out 'label'                           fails on a Lambda function, a custom
//                                                                       resource, a launch configuration or a
//                                                                       context lookup in the assembly
const fs = require('node:fs');
const path = require('node:path');

function extract(readme, title) {
  const text = fs.readFileSync(readme, 'utf8');
  const start = text.indexOf(`## ${title}\n`);
  if (start < 0) throw new Error(`README has no section "${title}"`);
  const next = text.indexOf('\n## ', start + 1);
  const block = /```ts[^\n]*\n([\s\S]*?)\n```/.exec(text.slice(start, next < 0 ? undefined : next));
  if (!block) throw new Error(`README section "${title}" has no ts block`);
  process.stdout.write(`${block[1]}\n`);
}

function check(outdir, label) {
  const manifest = JSON.parse(fs.readFileSync(path.join(outdir, 'manifest.json'), 'utf8'));
  const problems = (manifest.missing ?? []).map((m) => `context lookup ${m.key}`);
  const stacks = Object.values(manifest.artifacts).filter((a) => a.type === 'aws:cloudformation:stack');
  if (stacks.length === 0) problems.push('no stack synthesised');
  const summary = [];
  for (const s of stacks) {
    const template = JSON.parse(fs.readFileSync(path.join(outdir, s.properties.templateFile), 'utf8'));
    const resources = Object.entries(template.Resources ?? {});
    summary.push(`${s.displayName} (${resources.length} resources)`);
    for (const [id, r] of resources) {
      const where = `${s.displayName}/${id}`;
      if (r.Type === 'AWS::Lambda::Function') problems.push(`${where}: a Lambda function (${r.Properties?.Runtime})`);
      if (r.Type.startsWith('Custom::') || r.Type === 'AWS::CloudFormation::CustomResource') {
        problems.push(`${where}: a custom resource (${r.Type})`);
      }
      if (r.Type === 'AWS::AutoScaling::LaunchConfiguration') problems.push(`${where}: a launch configuration`);
    }
  }
  if (problems.length > 0) {
    console.error(`${label}:\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`${label}: ${summary.join(', ')}: no Lambda function, custom resource, launch configuration or lookup`);
}

const [command, ...args] = process.argv.slice(2);
if (command === 'extract') extract(...args);
else if (command === 'check') check(...args);
else throw new Error(`unknown command ${command}`);
