#!/usr/bin/env bash
# The README's quick starts, as a new user runs them: pack the library, check the tarball's
# file list, create a fresh CDK app with `cdk init`, install the tarball, paste each quick-start
# block (taken from README.md, not copied by hand) into it, and `cdk synth` with no AWS
# credentials (and, as root, no network at all). Every synthesised stack must have no Lambda
# function, no custom resource, no launch configuration, and the app no context lookup.
#
#   scripts/ci/quick-start.sh [WORK_DIR]        (default .tmp/quick-start)
set -euo pipefail
cd "$(dirname "$0")/../.."
work=$(realpath -m "${1:-.tmp/quick-start}")
rm -rf "$work" && mkdir -p "$work/pack"

# 1. The tarball, and exactly the files it may hold.
npm pack --silent --pack-destination "$work/pack" >/dev/null
tarball=$(ls "$work"/pack/*.tgz)
mapfile -t patterns < <(grep -v -e '^#' -e '^$' scripts/ci/package-files.txt)
mapfile -t files < <(tar -tzf "$tarball")
unexpected=()
while read -r path; do
  path=${path#package/}
  ok=no
  for p in "${patterns[@]}"; do
    # shellcheck disable=SC2053 # the pattern is a glob on purpose
    if [[ $path == $p ]]; then ok=yes && break; fi
  done
  [ $ok = yes ] || unexpected+=("$path")
done < <(printf '%s\n' "${files[@]}")
if [ ${#unexpected[@]} -gt 0 ]; then
  printf 'The package ships files that scripts/ci/package-files.txt does not list:\n' >&2
  printf '  %s\n' "${unexpected[@]}" >&2
  exit 1
fi
for required in package/.jsii package/lib/index.js package/lib/index.d.ts package/README.md package/LICENSE; do
  # grep reads the whole list (no -q): with pipefail, a grep that exits at the first match can kill
  # printf with SIGPIPE once the list outgrows the pipe buffer, and the check would fail at random.
  printf '%s\n' "${files[@]}" | grep -x "$required" >/dev/null || { echo "The package lacks $required" >&2; exit 1; }
done
echo "Tarball $(basename "$tarball"): ${#files[@]} files, all listed in scripts/ci/package-files.txt"

# 2. A fresh app, with this library and the development aws-cdk-lib and constructs.
cdk_version=$(node -p "require('aws-cdk-lib/package.json').version")
constructs_version=$(node -p "require('constructs/package.json').version")
cdk=$PWD/node_modules/.bin/cdk
mkdir -p "$work/app" && cd "$work/app"
"$cdk" init app --language typescript --generate-only >/dev/null 2>&1
# The template's own dependencies (TypeScript, ts-node, the CLI...) come with these.
npm install --no-audit --no-fund --silent "$tarball" "aws-cdk-lib@$cdk_version" "constructs@$constructs_version"
rm -rf lib test
main=$(node -p "require('./cdk.json').app.split(' ').pop()")

# 3. Each quick start, extracted from the README, synthesised without credentials.
synth() {
  local -a isolate=(env -i "PATH=$PATH" "HOME=$work/home" AWS_EC2_METADATA_DISABLED=true
    AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null CDK_DISABLE_CLI_TELEMETRY=true)
  # As root, in a network namespace of its own with no interface up: nothing can be looked up.
  if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then isolate=(unshare --net "${isolate[@]}"); fi
  "${isolate[@]}" npx cdk synth --quiet --no-notices --no-version-reporting --output cdk.out
}
repo=$OLDPWD
for section in 'Quick start: one account' 'Quick start: two accounts'; do
  node "$repo/scripts/ci/quick-start.js" extract "$repo/README.md" "$section" >"$main"
  rm -rf cdk.out
  synth
  node "$repo/scripts/ci/quick-start.js" check cdk.out "$section"
done
