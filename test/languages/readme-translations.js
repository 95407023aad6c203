/**
 * The README's one-account quick start as jsii-rosetta translated it (post-compile's
 * `jsii-rosetta extract --strict` writes the tablet .jsii.tabl.json), written out to run in
 * Python and compile in Java, and compared with the README's own Python section.
 *
 *   node test/languages/readme-translations.js <outdir>
 *
 * Writes <outdir>/quick_start.py (the translation, then `app.synth()`) and
 * <outdir>/java/QuickStart.java (the translation's classes, its statements in `main`). Fails if
 * the README's ```python block under "Quick start: one account" is not the translation.
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');

const root = path.resolve(__dirname, '..', '..');
const outdir = path.resolve(process.argv[2] ?? '.tmp/languages/readme');
const raw = fs.readFileSync(path.join(root, '.jsii.tabl.json'));
const tablet = JSON.parse(raw[0] === 0x1f ? zlib.gunzipSync(raw) : raw);
const snippets = Object.values(tablet.snippets).filter(
  (s) => s.translations.$.source.includes('class EgressStack extends Stack') && s.location?.api?.api === 'moduleReadme',
);
if (snippets.length !== 1) throw new Error(`expected one README quick start in the tablet, found ${snippets.length}`);
const { python, java } = snippets[0].translations;
if (!python || !java) throw new Error('the quick start has no Python or Java translation');

fs.mkdirSync(path.join(outdir, 'java'), { recursive: true });
fs.writeFileSync(path.join(outdir, 'quick_start.py'), `${python.source}\napp.synth()\n`);

// Java: the translation is the snippet's imports, its class, then the app's statements.
const lines = java.source.split('\n');
const imports = lines.filter((l) => l.startsWith('import '));
const body = lines.filter((l) => !l.startsWith('import '));
const firstStatement = body.findIndex((l) => /^App app = /.test(l));
if (firstStatement < 0) throw new Error('no `App app = ...` statement in the Java translation');
// jsii-rosetta (5.x) leaves a property that receives a method call as a field access
// (`egress.endpoint.configureInstance(...)`, where `egress.getProxyUrl()` is right): the one
// correction made, getter for field, counted and printed so it is never silent.
let getterFixes = 0;
const classes = body
  .slice(0, firstStatement)
  .join('\n')
  .replace(/^public class /m, 'static class ')
  .replace(/\b([a-z]\w*)\.([a-z]\w*)\.(?=[a-z]\w*\()/g, (_, obj, prop) => {
    getterFixes++;
    return `${obj}.get${prop[0].toUpperCase()}${prop.slice(1)}().`;
  });
const statements = body.slice(firstStatement).join('\n');
fs.writeFileSync(
  path.join(outdir, 'java', 'QuickStart.java'),
  [
    // jsii-rosetta leaves out the imports of java.util (List.of) and of aws-cdk-lib's core types.
    'import java.util.*;',
    'import software.amazon.awscdk.*;',
    'import io.github.cdkprivateegressproxy.*;',
    ...imports,
    '',
    '/** The README quick start as jsii-rosetta translated it (classes nested, statements in main). */',
    'public class QuickStart {',
    classes,
    '',
    '  public static void main(String[] args) {',
    statements.replace(/^/gm, '    '),
    '    app.synth();',
    '  }',
    '}',
    '',
  ].join('\n'),
);

// The README's Python section is the translation itself, so it cannot drift.
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const section = readme.split(/^## /m).find((s) => s.startsWith('Quick start: one account (Python)'));
if (!section) throw new Error('README.md has no "## Quick start: one account (Python)" section');
const block = /```python\n([\s\S]*?)```/.exec(section);
if (!block) throw new Error("the README's Python quick start has no ```python block");
if (block[1].trim() !== python.source.trim()) {
  fs.writeFileSync(path.join(outdir, 'readme-python-expected.py'), python.source);
  throw new Error(
    `README.md's Python quick start differs from jsii-rosetta's translation of the TypeScript one: paste ${path.relative(root, path.join(outdir, 'readme-python-expected.py'))}`,
  );
}
console.log(
  `README quick start: Python translation (${python.source.split('\n').length} lines) = README's Python section; Java translation written (${getterFixes} field access made a getter)`,
);
