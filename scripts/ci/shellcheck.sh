#!/usr/bin/env bash
# Lint every shell script in the repository (the instance's scripts included) with shellcheck.
set -euo pipefail
mapfile -t files < <(git ls-files '*.sh' 2>/dev/null || find . -name '*.sh' -not -path './node_modules/*')
shellcheck -x "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
