#!/usr/bin/env bash
# Lane: every jsii language for real. The packages are built once (dist/) and reused: the example
# app synthesised in TypeScript, Python, Java and Go from the built packages with one aws-cdk-lib
# release (scripts/languages/env.sh), their templates compared, the README quick start run in
# Python and compiled in Java from jsii-rosetta's translations, each artifact checked as a
# registry would, and cfn-lint and checkov over every template the examples and integ apps make.
set -euo pipefail
source scripts/ci/lib.sh
source scripts/languages/env.sh
stage "Toolchains: Java, Maven, Go, Python venvs (twine, cfn-lint, checkov)" bash scripts/languages/tools.sh
stage "jsii packages: npm tarball, Python wheel and sdist, Java jar; .NET code only" bash scripts/languages/build.sh
stage "TypeScript example against aws-cdk-lib $LANG_CDK_VERSION (the packed tarball)" \
  bash scripts/languages/examples.sh typescript
stage "Go module (jsii-pacmak against aws-cdk-lib $LANG_CDK_VERSION), go build, go vet" bash scripts/languages/build-go.sh
stage "Python example (the built wheel)" bash scripts/languages/examples.sh python
stage "Java example (the built jar in a local Maven repository)" bash scripts/languages/examples.sh java
stage "Go example (the built module)" bash scripts/languages/examples.sh go
stage "Templates equal TypeScript's in Python, Java and Go" \
  node test/languages/compare-templates.js "$LANG_DIR/out" typescript python java go
stage "README quick start: Python translation run, Java translation compiled" bash scripts/languages/readme-snippets.sh
stage "Artifacts well-formed (twine check, jar and POM, npm pack --dry-run)" bash scripts/languages/check-artifacts.sh
stage "cfn-lint and checkov over every example and integ template" bash scripts/lint-templates.sh
