#!/usr/bin/env bash
# The README's one-account quick start in Python and Java, as jsii-rosetta translated it (the
# tablet post-compile writes): the Python translation runs (with the built wheel, in the Python
# example's venv) and synthesises; the Java one compiles against the built jar and runs too.
# The README's Python section must be that translation (test/languages/readme-translations.js).
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh
out=$LANG_DIR/readme
rm -rf "$out" && mkdir -p "$out"
[ -f .jsii.tabl.json ] || npx projen rosetta:extract
node test/languages/readme-translations.js "$out"
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN CDK_DEFAULT_ACCOUNT

(cd "$out" && CDK_OUTDIR=$out/cdk.out.python "$LANG_DIR/venv-python/bin/python" quick_start.py)
[ -s "$out/cdk.out.python/EgressProxy.template.json" ] || {
  echo "the Python quick start wrote no EgressProxy template" >&2
  exit 1
}
echo "Python quick start: EgressProxy.template.json ($(wc -c <"$out/cdk.out.python/EgressProxy.template.json") bytes)"

# Java: the Java example's class path (aws-cdk-lib $LANG_CDK_VERSION and the built jar).
(cd examples/java && mvn -B -q -Dmaven.repo.local="$M2_LOCAL" dependency:build-classpath -Dmdep.outputFile="$out/classpath.txt")
javac -d "$out/java/classes" -cp "$(cat "$out/classpath.txt")" "$out/java/QuickStart.java"
(cd "$out" && CDK_OUTDIR=$out/cdk.out.java java -cp "$out/java/classes:$(cat "$out/classpath.txt")" QuickStart)
[ -s "$out/cdk.out.java/EgressProxy.template.json" ] || {
  echo "the Java quick start wrote no EgressProxy template" >&2
  exit 1
}
echo "Java quick start: compiled and synthesised EgressProxy.template.json"
