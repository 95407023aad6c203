#!/usr/bin/env bash
# Install the built packages with the languages release of aws-cdk-lib and synthesise the example
# app in one language into $LANG_DIR/out/<language>/ (no AWS credentials, no lookups):
#
#   scripts/languages/examples.sh typescript|python|java|go
#
# typescript: examples/main.ts against the packed npm tarball (dist/js) installed with
#   aws-cdk-lib $LANG_CDK_VERSION, constructs and cdk-nag in $LANG_DIR/node (the reference);
# python: examples/python/app.py with the built wheel in its own venv;
# java: examples/java (Maven) with the built jar installed into the local repository $M2_LOCAL;
# go: examples/go with the built module (dist/go, `replace`d in examples/go/go.mod).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh
lang=${1:?usage: examples.sh typescript|python|java|go}
out=$LANG_DIR/out/$lang
rm -rf "$out" && mkdir -p "$out"
export CDK_OUTDIR=$out
# No credentials and no account: whatever the environment has is not used.
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN CDK_DEFAULT_ACCOUNT
export AWS_EC2_METADATA_DISABLED=true

# The one version of `name` in a requirement file, pom.xml or go.mod must be the languages release.
expect_pin() {
  local file=$1 pattern=$2 want=$3 got
  got=$(grep -oE "$pattern" "$file" | sed -n 1p | grep -oE '[0-9]+\.[0-9]+\.[0-9]+' || true)
  if [ "$got" != "$want" ]; then
    echo "$file pins ${got:-nothing} where the languages release (scripts/languages/env.sh) is $want" >&2
    return 1
  fi
}

case $lang in
typescript)
  node_dir=$LANG_DIR/node
  mkdir -p "$node_dir"
  [ -f "$node_dir/package.json" ] || echo '{ "private": true }' >"$node_dir/package.json"
  nag=$(node -p "require('cdk-nag/package.json').version")
  npm install --prefix "$node_dir" --no-audit --no-fund --no-package-lock --no-save \
    "$DIST_DIR"/js/cdk-private-egress-proxy@*.tgz "aws-cdk-lib@$LANG_CDK_VERSION" \
    "constructs@$LANG_CONSTRUCTS_VERSION" "@aws-cdk/cloud-assembly-schema@$LANG_CDK_SCHEMA_VERSION" "cdk-nag@$nag"
  node test/languages/synth-typescript.js "$node_dir/node_modules" "$out"
  ;;
python)
  expect_pin examples/python/requirements.txt 'aws-cdk-lib==[0-9.]+' "$LANG_CDK_VERSION"
  venv=$LANG_DIR/venv-python
  [ -x "$venv/bin/python" ] || python3.11 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r examples/python/requirements.txt \
    --force-reinstall --no-deps "$DIST_DIR"/python/*.whl
  "$venv/bin/pip" install -q --disable-pip-version-check -r examples/python/requirements.txt "$DIST_DIR"/python/*.whl
  "$venv/bin/pip" check
  "$venv/bin/python" -c 'import aws_cdk, cdk_private_egress_proxy as p; print("Python example: aws-cdk-lib", aws_cdk.__version__ if hasattr(aws_cdk, "__version__") else "?", "cdk-private-egress-proxy", p.__name__)'
  (cd examples/python && "$venv/bin/python" app.py)
  ;;
java)
  expect_pin examples/java/pom.xml '<cdk.version>[0-9.]+' "$LANG_CDK_VERSION"
  bash scripts/languages/maven-install.sh
  (cd examples/java && mvn -B -q -Dmaven.repo.local="$M2_LOCAL" compile exec:java)
  ;;
go)
  expect_pin examples/go/go.mod 'awscdk/v2 v[0-9.]+' "$LANG_CDK_VERSION"
  (cd examples/go && go vet ./... && go run .)
  ;;
*)
  echo "unknown language $lang" >&2
  exit 2
  ;;
esac
echo "$lang: $(find "$out" -maxdepth 1 -name '*.template.json' | wc -l) templates in ${out#"$PWD"/}"
