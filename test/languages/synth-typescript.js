/**
 * Synthesise the TypeScript example (examples/main.ts, which builds examples/app.ts) against an
 * install of the languages release, the way the other languages' examples use it: the built
 * package (dist/js's tarball) and aws-cdk-lib, constructs and cdk-nag from one directory.
 *
 *   node test/languages/synth-typescript.js <install dir> <outdir>
 *
 * Every import of those packages, from anywhere (the example, cdk-nag, the library), resolves in
 * <install dir>, and the example's `../src` is the installed package: one copy of each.
 */
const Module = require('node:module');
const path = require('node:path');

const [installDir, outdir] = process.argv.slice(2).map((p) => path.resolve(p));
if (!installDir || !outdir) throw new Error('usage: synth-typescript.js <install dir> <outdir>');
const root = path.resolve(__dirname, '..', '..');
const srcIndex = path.join(root, 'src');
const redirected = /^(aws-cdk-lib|constructs|cdk-nag|cdk-private-egress-proxy)(\/|$)/;

const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, parent, isMain, options) {
  if (redirected.test(request)) {
    return resolve.call(this, request, parent, isMain, { paths: [installDir] });
  }
  if (
    parent?.filename &&
    request.startsWith('.') &&
    path.resolve(path.dirname(parent.filename), request) === srcIndex
  ) {
    return resolve.call(this, 'cdk-private-egress-proxy', parent, isMain, { paths: [installDir] });
  }
  return resolve.call(this, request, parent, isMain, options);
};

const version = (name) => require(`${name}/package.json`).version;
console.log(
  `TypeScript example: aws-cdk-lib ${version('aws-cdk-lib')}, constructs ${version('constructs')}, ` +
    `cdk-private-egress-proxy ${version('cdk-private-egress-proxy')} from ${path.relative(root, installDir)}`,
);
if (version('aws-cdk-lib') !== process.env.LANG_CDK_VERSION) {
  throw new Error(`aws-cdk-lib ${version('aws-cdk-lib')} is not the languages release ${process.env.LANG_CDK_VERSION}`);
}
require('ts-node').register({ transpileOnly: true, project: path.join(root, 'tsconfig.dev.json') });
process.env.CDK_OUTDIR = outdir;
require(path.join(root, 'examples', 'main.ts'));
