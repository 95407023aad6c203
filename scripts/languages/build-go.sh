#!/usr/bin/env bash
# Build the Go module (dist/go) with jsii-pacmak from the packed npm package as installed next to
# the languages release (scripts/languages/examples.sh typescript installs it in $LANG_DIR/node).
#
# Why not from the repository like the other targets: a jsii Go module `require`s each jsii
# dependency at the version jsii-pacmak finds installed (not the peer range Python and Java
# get), and the repository develops on the newest aws-cdk-lib. Built here, the module requires
# aws-cdk-go v$LANG_CDK_VERSION, which every registry serves, and its examples can use that release.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh
pkg=$LANG_DIR/node/node_modules/cdk-private-egress-proxy
[ -f "$pkg/.jsii" ] || {
  echo "$pkg is missing: run scripts/languages/examples.sh typescript first" >&2
  exit 1
}
# The README and @example translations (post-compile's jsii-rosetta extract), as for the others.
tablet=()
[ ! -f .jsii.tabl.json ] || tablet=(--rosetta-tablet "$PWD/.jsii.tabl.json")
rm -rf "$DIST_DIR/go"
npx jsii-pacmak --targets go --outdir "$DIST_DIR" --no-npmignore --no-fingerprint "${tablet[@]}" "$pkg"
mod=$(find "$DIST_DIR/go" -name go.mod -not -path '*/jsii/*' | sed -n 1p)
grep -E 'awscdk/v2|constructs/v10' "$mod"
# The module as a Go user gets it (a copy: jsii ships no go.sum): it resolves, builds and vets.
check=$LANG_DIR/go-module-check
rm -rf "$check" && cp -r "$(dirname "$mod")" "$check"
(cd "$check" && go mod tidy && go build ./... && go vet ./... && echo "go build, go vet: $(go list ./... | wc -l) packages")
