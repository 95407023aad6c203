#!/usr/bin/env bash
# cfn-lint and checkov (pinned, from PyPI: scripts/languages/env.sh) over every template the
# examples and the integration tests synthesise:
#   - the example app: $LANG_DIR/out/typescript (the languages lane's reference synth; the Python,
#     Java and Go templates equal it), or a fresh synth with the repository's aws-cdk-lib;
#   - the integ apps: their committed snapshots (test/integ.*.ts.snapshot), which the node lane's
#     integ:snapshot proves equal to a fresh synth.
# Prints `cfn-lint: N errors, N warnings` and `checkov: N failed, N skipped`. Findings on a
# resource are acknowledged next to it (Metadata `cfn-lint` / `checkov`, see
# docs/TEMPLATE-CHECKS.md); findings on resources this repository does not write (aws-cdk-lib's
# own in the examples, integ-tests-alpha's assertion functions) are acknowledged in ONE list,
# test/languages/template-acknowledgements.json. Anything else fails.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/languages/env.sh
out=.tmp/lint
rm -rf "$out" && mkdir -p "$out"
examples=$LANG_DIR/out/typescript
if ! compgen -G "$examples/*.template.json" >/dev/null; then
  examples=$out/examples
  CDK_OUTDIR=$examples npx ts-node --project tsconfig.dev.json examples/main.ts >/dev/null
fi
templates=("$examples"/*.template.json test/integ.*.ts.snapshot/*.template.json)
echo "${#templates[@]} templates: ${templates[*]}"

for tool in "$VENV/bin/cfn-lint" "$CHECKOV_VENV/bin/checkov"; do
  [ -x "$tool" ] || {
    echo "$tool is missing: run scripts/languages/tools.sh" >&2
    exit 1
  }
done
# Every rule on, the deprecated Lambda runtime ones mandatory (no metadata can switch them off).
rc=0
"$VENV/bin/cfn-lint" --format json --include-checks I --mandatory-checks E2531 W2531 E2533 \
  -- "${templates[@]}" >"$out/cfn-lint.json" || rc=$?
# cfn-lint exits with a bit mask of the levels found (2 error, 4 warning, 8 info); 1 is a crash.
[ $((rc & 1)) -eq 0 ] || {
  cat "$out/cfn-lint.json" >&2
  exit 1
}
files=()
for t in "${templates[@]}"; do files+=(-f "$t"); done
"$CHECKOV_VENV/bin/checkov" --framework cloudformation --compact -o json "${files[@]}" >"$out/checkov.json" || true
node test/languages/template-checks.js "$out/cfn-lint.json" "$out/checkov.json" test/languages/template-acknowledgements.json
