#!/usr/bin/env bash
# Build the jsii packages once, into dist/ (projen's layout, what the release workflow publishes):
# Python (wheel and sdist), Java (Maven jar, sources, javadoc, POM), Go (module) and the npm
# tarball, in one jsii-pacmak run; .NET as code only (dist/dotnet-code): building the NuGet
# package needs the .NET SDK (`dotnet`, 6 or later), which this machine does not have.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh

# jsii-pacmak builds the wheel with the first python3 on PATH: the lane's venv (Python 3.11).
[ -x "$VENV/bin/python" ] || python3.11 -m venv "$VENV"
rm -rf "$DIST_DIR" && mkdir -p "$DIST_DIR"
# --no-npmignore: .npmignore is projen's; --rosetta-unknown-snippets=fail: every README snippet
# and @example has a translation (post-compile's `jsii-rosetta extract --strict`).
npx jsii-pacmak --targets js,python,java --outdir "$DIST_DIR" --no-npmignore --no-fingerprint
npx jsii-pacmak --targets dotnet --code-only --outdir "$DIST_DIR/dotnet-code" --no-npmignore --no-fingerprint
find "$DIST_DIR" -maxdepth 2 -type f \( -name '*.whl' -o -name '*.tar.gz' -o -name '*.tgz' -o -name '*.jar' -o -name '*.pom' \) -printf '%P %s bytes\n' | sort
