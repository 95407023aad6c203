#!/usr/bin/env bash
# Lane: every construct test (test/*.test.ts) against the oldest aws-cdk-lib and constructs the
# package accepts (the peer dependencies' minimum versions), installed in a directory of their
# own; the node lane runs the same tests against the development (current) releases.
set -euo pipefail
source scripts/ci/lib.sh

floor() { node -p "require('semver/ranges/min-version')(require('./package.json').peerDependencies['$1']).version"; }
CDK_FLOOR_VERSION=$(floor aws-cdk-lib)
CONSTRUCTS_FLOOR_VERSION=$(floor constructs)
CDK_FLOOR_DIR=${CDK_FLOOR_DIR:-.tmp/cdk-floor}
export CDK_FLOOR_VERSION CONSTRUCTS_FLOOR_VERSION CDK_FLOOR_DIR

install_floor() {
  local have
  have=$(node -p "try { require('./$CDK_FLOOR_DIR/node_modules/aws-cdk-lib/package.json').version } catch { '' }")
  if [ "$have" = "$CDK_FLOOR_VERSION" ]; then
    echo "aws-cdk-lib $have already in $CDK_FLOOR_DIR"
    return 0
  fi
  rm -rf "$CDK_FLOOR_DIR" && mkdir -p "$CDK_FLOOR_DIR"
  echo '{ "private": true }' >"$CDK_FLOOR_DIR/package.json"
  npm install --prefix "$CDK_FLOOR_DIR" --no-audit --no-fund --no-package-lock \
    "aws-cdk-lib@$CDK_FLOOR_VERSION" "constructs@$CONSTRUCTS_FLOOR_VERSION"
}

stage "Install aws-cdk-lib $CDK_FLOOR_VERSION and constructs $CONSTRUCTS_FLOOR_VERSION (the peer floor)" install_floor
stage "Construct tests against aws-cdk-lib $CDK_FLOOR_VERSION" \
  npx jest --ci --config scripts/ci/jest.floor.config.js
