#!/usr/bin/env bash
# Runs every test on a fresh clone: installs what the tests need, builds once, then runs the
# independent test lanes (scripts/ci/lanes/*.sh) side by side and prints each stage's time.
#
#   scripts/test-all.sh            (CI_JOBS=N: lanes at once, default 2)
#
# As root it installs the missing Debian packages itself (scripts/ci/system-packages.txt);
# otherwise it names them with the exact install line. The real-Squid tests need root.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/ci/lib.sh
rm -rf "$CI_DIR" && mkdir -p "$CI_DIR"
started=$(date +%s)
export started # read by the EXIT trap
trap 'print_times; echo "Total: $(($(date +%s) - started))s"' EXIT

stage "System packages" install_system_packages
# A stalled registry request is retried after a minute instead of after npm's default five.
stage "npm ci" npm ci --no-audit --no-fund --fetch-timeout=60000 --fetch-retries=5
stage "projen synth (generated files must be up to date)" npx projen default
stage "jsii compile" npx projen compile
stage "API.md (jsii-docgen) and README snippets (jsii-rosetta --strict)" npx projen post-compile

run_lanes scripts/ci/lanes/*.sh

if git rev-parse --git-dir >/dev/null 2>&1; then
  check_clean() {
    if [ -n "$(git status --porcelain)" ]; then
      git status --porcelain
      git --no-pager diff --stat
      echo "The build changed committed files (run 'npx projen build' and commit the result)." >&2
      return 1
    fi
  }
  stage "Nothing the build generates differs from what is committed" check_clean
fi
printf '\n=== All tests passed ===\n'
