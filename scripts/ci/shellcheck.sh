#!/usr/bin/env bash
# shellcheck over every shell script in the repository (the instance's scripts included).
set -euo pipefail
mapfile -t files < <(git ls-files '*.sh' 2>/dev/null || find . -name '*.sh' -not -path './node_modules/*')
shellcheck -x "${files[@]}"
echo "shellcheck: ${#files[@]} scripts clean"
