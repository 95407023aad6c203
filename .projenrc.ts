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
  // Construct Hub lists packages with the `awscdk` keyword (and a jsii assembly); the others are
  // what people search the registries for.
  keywords: [
    'awscdk',
    'aws-cdk',
    'cdk',
    'constructs',
    'jsii',
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

  // --- Node.js, aws-cdk-lib and constructs (issue 11) ---
  // Node.js: users need a release aws-cdk-lib and jsii still support. Node 20 reached end of life
  // on 2026-04-30 and the AWS CDK's support for it ended on 2026-10-30, so the floor is 22; the
  // workflows build on 24, the current LTS. The project still builds on Node 20 (npm only warns).
  minNodeVersion: '22.0.0',
  workflowNodeVersion: '24.x',
  // aws-cdk-lib: peer `^2.187.0` (the floor), development on the current release. 2.187.0 is the
  // oldest release with ec2.VpcEndpointService's `allowedRegions`, the newest API the library
  // uses; scripts/ci/lanes/cdk-floor.sh runs every construct test against exactly 2.187.0 (and
  // constructs 10.5.1) as well, so the floor is proven, not assumed. projen would pin the dev
  // dependency to the floor: the explicit devDeps below take its place.
  cdkVersion: '2.187.0',
  constructsVersion: '10.5.1',
  peerDependencyOptions: { pinnedDevDependency: false },
  jsiiVersion: '~6.0.0',
  typescriptVersion: '~5.8.0',
  projenVersion: '0.103.25',

  // Runtime helpers that are not jsii modules: bundled, never in the public API.
  bundledDeps: ['ipaddr.js@2.5.0'],
  devDeps: [
    'cdk-nag@^2',
    // issue 11: the current aws-cdk-lib for development (see cdkVersion); the integ-tests-alpha
    // release that works with it (the newest; peer aws-cdk-lib ^2.245.0); the CDK CLI (the first
    // that reads aws-cdk-lib 2.276's cloud assembly schema 55) that the README quick-start test
    // uses to create and synthesise a fresh app. No integ-runner: its newest release reads
    // schema 53 at most (see scripts/integ-snapshot.ts).
    'aws-cdk-lib@2.276.0',
    '@aws-cdk/integ-tests-alpha@2.245.0-alpha.0',
    'aws-cdk@^2.1148.1',
  ],

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
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/test/squid/', '<rootDir>/test/host/'],
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

  gitignore: ['/.tmp/', '/cdk.out/', '.jsii.tabl.json', '/test/cdk-integ.out.*'],
});

// issue 11: the current constructs for development (the peer stays ^constructsVersion). Added after
// construction because projen's CDK dependency handling replaces a constructs dev dependency.
project.addDevDeps('constructs@10.8.1');
// jsii advises a dev dependency at the peer's minimum (JSII6 metadata/missing-dev-dependency). Here
// the floor is tested by its own CI lane instead, so that advice is silenced, and only that one.
project.compileTask.reset('jsii --silence-warnings=reserved-word --silence-warnings=metadata/missing-dev-dependency');

// issue 11: what the npm package ships is an explicit list (package.json "files"; npm always adds
// package.json, README.md and LICENSE, and the bundled dependencies). Nothing else leaves the
// repository by accident (a cdk.out/, .tmp/ or test output); scripts/ci/package-files.txt is the
// same list, which the consumer CI lane checks the packed tarball against.
project.package.addField('files', ['lib/**/*.js', 'lib/**/*.d.ts', '.jsii', 'API.md', 'assets/host/**']);

// ---- Issue 13 (dashboard and `suggest`): its own block ----
// The package's command, `npx cdk-private-egress-proxy suggest --log access.log` (src/cli/main.ts;
// shipped by the `lib/**/*.js` entry of the files list above).
project.package.addBin({ 'cdk-private-egress-proxy': 'lib/cli/main.js' });
// docs/dashboard.svg, drawn from the dashboard body; test/proxy-dashboard.test.ts fails when it is stale.
project.addTask('dashboard:render', {
  description: 'Redraw docs/dashboard.svg from the synthesised dashboard body',
  env: { TS_NODE_PROJECT: 'tsconfig.dev.json' },
  exec: 'ts-node scripts/render-dashboard.ts',
});
// ---- end of issue 13's block ----

for (const p of ['/scripts/', '/.ci/', '/docs/', '/bench/', '/examples/', '/rosetta/']) {
  project.addPackageIgnore(p);
}

// The Squid tests run real Squid in network namespaces: one at a time, never in parallel.
project.addTask('test:squid', {
  description: 'Run the tests against real Squid and the real AWS CLI (needs root for network namespaces)',
  // One real-Squid run at a time on a machine (SMP Squid shares /run/squid): wait for the lock.
  exec: 'flock /tmp/pep-squid.lock jest --runInBand --ci test/squid/ --testPathIgnorePatterns /node_modules/',
  receiveArgs: true,
});

// The host's life under real systemd: the template's init applied to a Debian root filesystem
// booted with systemd-nspawn (root). Prints `host boot: N checks passed, N failed`.
project.addTask('test:host', {
  description:
    'Boot a proxy instance under systemd-nspawn and check its whole life (root; builds the root filesystem once)',
  exec: 'flock /tmp/pep-squid.lock jest --runInBand --ci test/host/ --testPathIgnorePatterns /node_modules/ --reporters default --reporters ./test/host/summary-reporter.js',
  receiveArgs: true,
});
project.addTask('test:host:standins', {
  description:
    "Unit tests of the boot test's cfn-init and cfn-hup stand-ins (Debian's python3 with python3-daemon, as in the booted root filesystem)",
  exec: '/usr/bin/python3 -m unittest discover -s test/host/standins -t test/host/standins',
});

// The main job: synthesise the example app (no credentials, no lookups).
project.addTask('synth:example', {
  description: 'Synthesise the example app to CloudFormation in cdk.out/',
  exec: 'bash scripts/synth-example.sh',
});

// README snippets compile in every language jsii targets (fixtures in rosetta/).
const rosetta = project.addTask('rosetta:extract', {
  description: 'Compile the README snippets with jsii-rosetta (strict)',
  exec: 'jsii-rosetta extract --strict --fail',
});
project.postCompileTask.spawn(rosetta);

// Integration tests: snapshots are committed and compared without deploying (issue 11:
// scripts/integ-snapshot.ts, because integ-runner cannot read aws-cdk-lib 2.276's assemblies).
const integEnv = { TS_NODE_PROJECT: 'tsconfig.dev.json' };
project.addTask('integ:snapshot', {
  description: 'Check the integration-test snapshots (no deployment)',
  env: integEnv,
  exec: 'ts-node scripts/integ-snapshot.ts',
});
project.addTask('integ:update', {
  description: 'Re-create the integration-test snapshots without deploying (review the diff)',
  env: integEnv,
  exec: 'ts-node scripts/integ-snapshot.ts --update',
});

// ---- Issue 12 (every jsii language real): its own block ----
// The packages are built once (dist/, as the release workflow does), then the example app is
// synthesised from them in TypeScript, Python, Java and Go with one aws-cdk-lib release
// (scripts/languages/env.sh) and the templates compared; the README's Python and Java
// translations run; every artifact is checked; cfn-lint and checkov lint every template. The
// whole lane: scripts/ci/lanes/languages.sh (needs Java 17 + Maven, Go, Python 3.11).
project.addTask('test:languages', {
  description:
    'Build the Python, Java, Go and npm packages, synthesise the example in every language and compare, lint templates',
  exec: 'bash scripts/ci/lanes/languages.sh',
});
project.addTask('lint:templates', {
  description:
    'cfn-lint and checkov over the example and integ templates (after test:languages or scripts/languages/tools.sh)',
  exec: 'bash scripts/lint-templates.sh',
});
// Publishing (release workflow, projen's defaults): npm (NPM_TOKEN), PyPI (TWINE_USERNAME,
// TWINE_PASSWORD), Maven Central (MAVEN_USERNAME, MAVEN_PASSWORD, MAVEN_GPG_PRIVATE_KEY,
// MAVEN_GPG_PRIVATE_KEY_PASSPHRASE, MAVEN_STAGING_PROFILE_ID), NuGet (NUGET_API_KEY) and the Go
// repository (GO_GITHUB_TOKEN): see publishToPypi, publishToMaven, publishToNuget, publishToGo.
// Build outputs of the examples stay out of git (the packages themselves go to dist/ and .tmp/).
project.gitignore.exclude('/examples/java/target/', '__pycache__/');
// ---- end of issue 12's block ----

// Benchmarks (not part of the tests): writes docs/BENCHMARKS.md, memory per tunnel included
// (section 4, bench/memory.ts). Needs root (network namespaces); BENCH_SECTIONS=memory runs one section.
project.addTask('bench', {
  description:
    'Benchmarks: writes docs/BENCHMARKS.md (root; real Squid and tinyproxy in a network namespace, memory per tunnel)',
  exec: 'flock /tmp/pep-squid.lock ts-node --project tsconfig.dev.json bench/run.ts',
});

// ---- Issue 14 (policy, decision chain, real-Squid harness): its own block ----
// tldts: the Public Suffix List with its ICANN and private sections (src/private/public-suffix.ts), to tell
// an error (a wildcard over an ICANN suffix such as '.com') from a warning ('.amazonaws.com').
project.addBundledDeps('tldts@7.5.6');
// dns2: the DNS server the real-Squid tests run inside their own namespace (names with several answers).
project.addDevDeps('dns2@3.1.1');
// Mutation testing (StrykerJS 9: version 10 needs Node 22) over the policy's unit tests; about 25 minutes
// here, so it is its own task and not part of .ci/run. Writes reports/mutation/ and prints the score per file.
project.addDevDeps('@stryker-mutator/core@9.6.1', '@stryker-mutator/jest-runner@9.6.1');
project.addTask('test:mutation', {
  description: 'Mutation testing of the policy, decision chain and renderer (StrykerJS, jest runner; ~25 min)',
  exec: 'stryker run stryker.config.json',
});
project.gitignore.exclude('/reports/', '/.stryker-tmp*/');
// Instructions per new tunnel under valgrind's callgrind for every "What we tried" configuration: a count
// that does not drift with the machine's speed, to find where a tunnel's CPU goes (writes docs/INSTRUCTIONS.md).
project.addTask('bench:instructions', {
  description: 'Counts Squid instructions per new tunnel with callgrind; writes docs/INSTRUCTIONS.md (root; ~20 min)',
  exec: 'flock /tmp/pep-squid.lock ts-node --project tsconfig.dev.json bench/instructions.ts',
});
// ---- end of issue 14's block ----

// CI runs exactly the README's test command.
new TextFile(project, '.ci/run', {
  lines: ['#!/usr/bin/env bash', 'set -euo pipefail', 'cd "$(dirname "$0")/.."', 'exec bash scripts/test-all.sh'],
  executable: true,
});

project.synth();
