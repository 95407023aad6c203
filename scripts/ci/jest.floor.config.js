// Jest for scripts/ci/lanes/cdk-floor.sh: the project's own configuration, with aws-cdk-lib and
// constructs mapped to ONE copy each of the peer floor, installed in $CDK_FLOOR_DIR. The mapping
// applies to every require, cdk-nag's included, so nothing loads the development release.
const path = require('node:path');
const root = path.join(__dirname, '..', '..');
const floor = path.resolve(root, process.env.CDK_FLOOR_DIR, 'node_modules');
const { jest: base } = require(path.join(root, 'package.json'));

module.exports = {
  ...base,
  rootDir: root,
  collectCoverage: false,
  reporters: ['default'],
  moduleNameMapper: {
    '^aws-cdk-lib$': path.join(floor, 'aws-cdk-lib'),
    '^aws-cdk-lib/(.*)$': path.join(floor, 'aws-cdk-lib', '$1'),
    '^constructs$': path.join(floor, 'constructs'),
    '^constructs/(.*)$': path.join(floor, 'constructs', '$1'),
  },
  setupFiles: [path.join(__dirname, 'jest.floor.setup.js')],
};
