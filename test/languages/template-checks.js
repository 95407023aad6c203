/**
 * Summarise cfn-lint's and checkov's JSON reports over the example and integ templates, apply the
 * one list of acknowledgements for resources this repository does not write, and fail on
 * anything left. Findings on the library's own resources are acknowledged next to the resource
 * (Metadata, src/private/nag.ts) and never reach this list: both tools honour that metadata.
 *
 *   node test/languages/template-checks.js <cfn-lint.json> <checkov.json> <acknowledgements.json>
 */
const fs = require('node:fs');
const path = require('node:path');

const [cfnLintFile, checkovFile, acksFile] = process.argv.slice(2);
const acks = JSON.parse(fs.readFileSync(acksFile, 'utf8')).acknowledgements;
for (const a of acks) {
  if (!a.id || !a.template || !a.resource || !a.reason || a.reason.length < 20) {
    throw new Error(
      `${acksFile}: every acknowledgement needs id, template, resource and a reason: ${JSON.stringify(a)}`,
    );
  }
}
const used = new Set();
function acknowledged(id, file, resource) {
  const i = acks.findIndex(
    (a) =>
      a.id === id &&
      new RegExp(`^${a.template}$`).test(path.basename(file)) &&
      new RegExp(`^${a.resource}$`).test(resource ?? ''),
  );
  if (i >= 0) used.add(i);
  return i >= 0;
}

// cfn-lint: [{ Rule: { Id }, Level, Filename, Location: { Path: ['Resources', id, ...] }, Message }]
const lint = JSON.parse(fs.readFileSync(cfnLintFile, 'utf8') || '[]');
const lintLeft = [];
let lintAcked = 0;
for (const f of lint) {
  const p = f.Location?.Path ?? [];
  const resource = p[0] === 'Resources' ? p[1] : undefined;
  if (acknowledged(f.Rule.Id, f.Filename, resource)) lintAcked++;
  else lintLeft.push(f);
}
const level = (l) => lintLeft.filter((f) => f.Level === l).length;
for (const f of lintLeft.filter((x) => x.Level !== 'Informational')) {
  console.log(
    `  cfn-lint ${f.Rule.Id} ${f.Level} ${path.basename(f.Filename)} ${(f.Location?.Path ?? []).slice(0, 2).join('/')}: ${f.Message.slice(0, 200)}`,
  );
}
console.log(
  `cfn-lint: ${level('Error')} errors, ${level('Warning')} warnings (${level('Informational')} informational; ${lintAcked} acknowledged in ${acksFile})`,
);

// checkov: one report per framework (an object, or a list of them)
let reports = JSON.parse(fs.readFileSync(checkovFile, 'utf8') || '[]');
if (!Array.isArray(reports)) reports = [reports];
let failed = 0;
let skipped = 0;
let checkovAcked = 0;
for (const r of reports) {
  skipped += (r.results?.skipped_checks ?? []).length;
  for (const f of r.results?.failed_checks ?? []) {
    const logicalId = String(f.resource).split('.').slice(1).join('.');
    if (acknowledged(f.check_id, f.file_path, logicalId)) {
      checkovAcked++;
      continue;
    }
    failed++;
    console.log(`  checkov ${f.check_id} ${path.basename(f.file_path)} ${f.resource}: ${f.check_name}`);
  }
}
console.log(
  `checkov: ${failed} failed, ${skipped} skipped by resource metadata, ${checkovAcked} acknowledged in ${acksFile}`,
);

const stale = acks.filter((_, i) => !used.has(i));
for (const a of stale)
  console.log(`  acknowledgement matches nothing (remove it): ${a.id} ${a.template} ${a.resource}`);
if (level('Error') + level('Warning') + failed + stale.length > 0) process.exit(1);
