# Shared by the languages lane and scripts/languages/*.sh: the one aws-cdk-lib release the
# examples use in every language, and where the built packages and toolchains live.
# shellcheck shell=bash

# The "languages release": the newest aws-cdk-lib published on all four registries the examples
# install from (npm, PyPI, Maven Central, the Go module proxy) when this was written. One release
# for every language, so their templates can be compared with the TypeScript example's.
LANG_CDK_VERSION=2.263.0
# constructs, as each registry publishes it (the same release everywhere).
LANG_CONSTRUCTS_VERSION=10.8.0
# @aws-cdk/cloud-assembly-schema: the release aws-cdk-go v$LANG_CDK_VERSION itself requires. A
# jsii Go module requires every jsii dependency at its installed npm version, and npm would
# install the newest ^54.11.0 (54.26.0), which the Go module proxy does not serve.
LANG_CDK_SCHEMA_VERSION=54.11.0

# Pinned template checkers (PyPI).
CFN_LINT_VERSION=1.58.0
CHECKOV_VERSION=3.3.30
TWINE_VERSION=7.0.0

LANG_DIR=${LANG_DIR:-$PWD/.tmp/languages}
DIST_DIR=${DIST_DIR:-$PWD/dist}
VENV=${VENV:-$PWD/.tmp/venv}
CHECKOV_VENV=${CHECKOV_VENV:-$PWD/.tmp/venv-checkov}
# The Maven repository the built jar is installed into, and the Java example resolves from.
M2_LOCAL=${M2_LOCAL:-$LANG_DIR/m2}
export LANG_CDK_VERSION LANG_CONSTRUCTS_VERSION LANG_CDK_SCHEMA_VERSION LANG_DIR DIST_DIR VENV CHECKOV_VENV M2_LOCAL
export CFN_LINT_VERSION CHECKOV_VERSION TWINE_VERSION
export PATH="$VENV/bin:$PATH"
# The jsii runtime's banner about Node.js 20 (the machine's node) on every call, not a failure.
export JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
