/**
 * The example app synthesised in Python, Java and Go must produce the TypeScript example's
 * templates: same files, and each template deep-equal after NORMALISATIONS (the one list of what
 * legitimately differs between languages, each with its reason). Any other difference fails.
 *
 *   node test/languages/compare-templates.js <out dir> typescript python java go
 *
 * The first language is the reference. Prints one line per language and template.
 */
const fs = require('node:fs');
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');

/** The build agent's cdk-nag suppressions, written by examples/app.ts's buildAgent() only. */
const EXAMPLE_NAG_IDS = ['AwsSolutions-IAM4', 'AwsSolutions-EC29'];

/** What legitimately differs between the same app written in two languages, and why. */
const NORMALISATIONS = [
  {
    what: 'Resources.CDKMetadata and Conditions.CDKMetadataAvailable',
    why: "The CDK's version reporting: its Analytics string encodes the language and runtime of the app (jsii runtime in Python, Java, Go; plain Node in TypeScript).",
    apply: (t) => {
      delete t.Resources?.CDKMetadata;
      delete t.Conditions?.CDKMetadataAvailable;
      if (t.Conditions && Object.keys(t.Conditions).length === 0) delete t.Conditions;
    },
  },
  {
    what: `Metadata.cdk_nag entries ${EXAMPLE_NAG_IDS.join(', ')} on the build agent's resources (BuildAgent*)`,
    why: "The TypeScript example records the build agent's cdk-nag suppressions with NagSuppressions (cdk-nag is its dev dependency, run by test/examples.test.ts); the Python, Java and Go examples do not depend on cdk-nag. Metadata only: nothing deployed differs. The library's own acknowledgements (src/private/nag.ts) are compared.",
    apply: (t) => {
      for (const [id, r] of Object.entries(t.Resources ?? {})) {
        if (!id.startsWith('BuildAgent') || !r.Metadata?.cdk_nag) continue;
        const kept = r.Metadata.cdk_nag.rules_to_suppress.filter((x) => !EXAMPLE_NAG_IDS.includes(x.id));
        if (kept.length > 0) r.Metadata.cdk_nag.rules_to_suppress = kept;
        else delete r.Metadata.cdk_nag;
        if (Object.keys(r.Metadata).length === 0) delete r.Metadata;
      }
    },
  },
];

function normalise(template) {
  const t = structuredClone(template);
  for (const n of NORMALISATIONS) n.apply(t);
  return t;
}

/** Paths (a.b.c) where two values differ, the first few. */
function differences(a, b, at = '', out = []) {
  if (out.length >= 10) return out;
  if (isDeepStrictEqual(a, b)) return out;
  if (a && b && typeof a === 'object' && typeof b === 'object' && Array.isArray(a) === Array.isArray(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) differences(a[k], b[k], `${at}.${k}`, out);
    return out;
  }
  out.push(`${at || '.'}: ${JSON.stringify(a)?.slice(0, 160)} != ${JSON.stringify(b)?.slice(0, 160)}`);
  return out;
}

function templates(dir) {
  if (!fs.existsSync(dir)) throw new Error(`${dir} does not exist: synthesise that language's example first`);
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.template.json'))
    .sort();
}

function main() {
  const [outDir, reference, ...others] = process.argv.slice(2);
  if (!outDir || !reference || others.length === 0) {
    throw new Error('usage: compare-templates.js <out dir> <reference language> <language>...');
  }
  console.log('Normalisations (test/languages/compare-templates.js):');
  for (const n of NORMALISATIONS) console.log(`  - ${n.what}: ${n.why}`);
  const refDir = path.join(outDir, reference);
  const refFiles = templates(refDir);
  if (refFiles.length === 0) throw new Error(`no templates in ${refDir}`);
  let failed = 0;
  for (const lang of others) {
    const dir = path.join(outDir, lang);
    const files = templates(dir);
    if (!isDeepStrictEqual(files, refFiles)) {
      console.log(`${lang}: templates ${files.join(', ')} != ${reference}'s ${refFiles.join(', ')}`);
      failed++;
      continue;
    }
    for (const f of refFiles) {
      const read = (d) => normalise(JSON.parse(fs.readFileSync(path.join(d, f), 'utf8')));
      const [want, got] = [read(refDir), read(dir)];
      const diff = differences(want, got);
      const n = Object.keys(got.Resources ?? {}).length;
      console.log(`${lang}: ${f} ${diff.length === 0 ? `equals ${reference}'s (${n} resources)` : 'DIFFERS'}`);
      for (const d of diff) console.log(`    ${d}`);
      if (diff.length > 0) failed++;
    }
  }
  console.log(
    `languages: ${others.length} compared with ${reference}, ${failed === 0 ? 'all templates equal' : `${failed} differ`}`,
  );
  if (failed > 0) process.exit(1);
}

main();
