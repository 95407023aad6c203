#!/usr/bin/env bash
# The lane's toolchains: Java 17 and Maven, Go, Python 3.11 (system), and the pinned Python tools
# in venvs under .tmp/: twine and cfn-lint in $VENV, checkov in its own (its pins conflict with
# cfn-lint's). With CI=true a missing tool fails the lane instead of skipping anything.
set -euo pipefail
cd "$(dirname "$0")/../.."
source scripts/languages/env.sh
missing=()
for tool in java mvn go python3.11 npm; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Missing: ${missing[*]} (java 17 + mvn: openjdk-17-jdk-headless, maven; go: go.dev/dl; python3.11)" >&2
  exit 1
fi
# `sed -n 1p` reads to the end: `head -1` would close the pipe early and Maven dies of SIGPIPE.
java -version 2>&1 | sed -n 1p
mvn -B -v | sed -n 1p
go version
pip_install() {
  local venv=$1
  shift
  [ -x "$venv/bin/python" ] || python3.11 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "$@"
}
pip_install "$VENV" "twine==$TWINE_VERSION" "cfn-lint==$CFN_LINT_VERSION"
pip_install "$CHECKOV_VENV" "checkov==$CHECKOV_VERSION"
echo "twine $("$VENV/bin/twine" --version | sed -n 1p | awk '{print $2}'), cfn-lint $("$VENV/bin/cfn-lint" --version | awk '{print $2}'), checkov $("$CHECKOV_VENV/bin/checkov" --version)"
command -v dotnet >/dev/null || echo ".NET: no dotnet SDK here: the NuGet package is generated as code only (dist/dotnet-code); building it needs the .NET SDK 6 or later (jsii-pacmak --targets dotnet)"
