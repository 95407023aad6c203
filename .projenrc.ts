import { awscdk, javascript, TextFile } from 'projen';
import { UpdateSnapshot } from 'projen/lib/javascript';

const project = new awscdk.AwsCdkConstructLibrary({
  name: 'cdk-private-egress-proxy',
  description:
    'A hardened Squid egress proxy behind an NLB and PrivateLink: one controlled AWS egress point that reaches only allowlisted domains.',
  author: 'cdk-private-egress-proxy maintainers',
  authorAddress: 'maintainers@users.noreply.cdk-private-egress-proxy.example',
  repositoryUrl: 'https://github.com/cdk-private-egress-proxy/cdk-private-egress-proxy.git',
  homepage: 'https://github.com/cdk-private-egress-proxy/cdk-private-egress-proxy',
  license: 'Apache-2.0',
  keywords: [
    'awscdk',
    'aws-cdk',
    'cdk',
    'egress',
    'proxy',
    'squid',
    'privatelink',
    'allowlist',
    'vpc-endpoint-service',
  ],
  stability: 'experimental',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.0.0',

  // cdkVersion is the *minimum* supported aws-cdk-lib (peer ^X, dev X).
  cdkVersion: '2.189.1',
  constructsVersion: '10.5.1',
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~5.8.0',
  projenVersion: '0.103.25',

  // Runtime helpers that are not jsii modules: bundled, never in the public API.
  bundledDeps: ['psl@1.15.0', 'ipaddr.js@2.5.0'],
  devDeps: ['cdk-nag@^2'],

  // The dev tsconfig sits at the top level under its conventional name.
  tsconfigDevFile: 'tsconfig.dev.json',
  tsconfigDev: { include: ['.projenrc.ts'], compilerOptions: {} },

  eslintOptions: {
    dirs: ['src'],
    devdirs: ['test', 'bench', 'examples', 'projenrc'],
    // Lint everything against the dev tsconfig (it includes src, test and the rest).
    tsconfigPath: './tsconfig.dev.json',
    projectService: false,
    // Lint fails instead of silently rewriting files in CI; run `npx projen eslint --fix` to fix.
    commandOptions: { fix: false },
  },
  prettier: true,
  prettierOptions: { settings: { singleQuote: true, printWidth: 120, trailingComma: javascript.TrailingComma.ALL } },

  jestOptions: {
    // The default `--updateSnapshot` silently accepts drift.
    updateSnapshot: UpdateSnapshot.NEVER,
    jestConfig: {
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/squid/'],
      testTimeout: 60_000,
    },
  },

  publishToPypi: { distName: 'cdk-private-egress-proxy', module: 'cdk_private_egress_proxy' },
  publishToMaven: {
    javaPackage: 'io.github.cdkprivateegressproxy',
    mavenGroupId: 'io.github.cdk-private-egress-proxy',
    mavenArtifactId: 'cdk-private-egress-proxy',
  },
  publishToNuget: { dotNetNamespace: 'CdkPrivateEgressProxy', packageId: 'CdkPrivateEgressProxy' },
  publishToGo: { moduleName: 'github.com/cdk-private-egress-proxy/cdk-private-egress-proxy-go' },

  gitignore: ['/.tmp/', '/cdk.out/'],
});

for (const p of ['/scripts/', '/.ci/', '/docs/', '/bench/', '/examples/', '/rosetta/']) {
  project.addPackageIgnore(p);
}

// The Squid tests run real Squid in network namespaces: one at a time, never in parallel.
project.addTask('test:squid', {
  description: 'Run the tests against real Squid and the real AWS CLI (needs root for network namespaces)',
  exec: 'jest --runInBand --ci test/squid/ --testPathIgnorePatterns /node_modules/',
  receiveArgs: true,
});

// CI runs exactly the README's test command.
new TextFile(project, '.ci/run', {
  lines: ['#!/usr/bin/env bash', 'set -euo pipefail', 'cd "$(dirname "$0")/.."', 'exec bash scripts/test-all.sh'],
  executable: true,
});

project.synth();
