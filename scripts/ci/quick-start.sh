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
  printf '%s\n' "${files[@]}" | grep -qx "$required" || { echo "The package lacks $required" >&2; exit 1; }
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
readme=$OLDPWD/README.md
for section in 'Quick start: one account' 'Quick start: two accounts'; do
  node -e '
    const [readme, title] = process.argv.slice(1);
    const text = require("fs").readFileSync(readme, "utf8");
    const start = text.indexOf(`## ${title}\n`);
    if (start < 0) throw new Error(`README has no section "${title}"`);
    const block = /```ts[^\n]*\n([\s\S]*?)\n```/.exec(text.slice(start));
    if (!block) throw new Error(`README section "${title}" has no ts block`);
    process.stdout.write(block[1] + "\n");
  ' "$readme" "$section" >"$main"
  rm -rf cdk.out
  synth
  node -e '
    const fs = require("fs");
    const manifest = JSON.parse(fs.readFileSync("cdk.out/manifest.json", "utf8"));
    const problems = (manifest.missing ?? []).map((m) => `context lookup ${m.key}`);
    const stacks = Object.values(manifest.artifacts).filter((a) => a.type === "aws:cloudformation:stack");
    for (const s of stacks) {
      const template = JSON.parse(fs.readFileSync(`cdk.out/${s.properties.templateFile}`, "utf8"));
      for (const [id, r] of Object.entries(template.Resources ?? {})) {
        if (r.Type === "AWS::Lambda::Function") problems.push(`${s.displayName}/${id}: a Lambda function (${r.Properties.Runtime})`);
        if (r.Type.startsWith("Custom::") || r.Type === "AWS::CloudFormation::CustomResource") problems.push(`${s.displayName}/${id}: ${r.Type}`);
        if (r.Type === "AWS::AutoScaling::LaunchConfiguration") problems.push(`${s.displayName}/${id}: a launch configuration`);
      }
    }
    if (stacks.length === 0) problems.push("no stack synthesised");
    if (problems.length > 0) { console.error(problems.join("\n")); process.exit(1); }
    console.log(`${process.argv[1]}: ${stacks.map((s) => `${s.displayName} (${Object.keys(JSON.parse(fs.readFileSync(`cdk.out/${s.properties.templateFile}`, "utf8")).Resources).length} resources)`).join(", ")}: no Lambda function, custom resource, launch configuration or lookup`);
  ' "$section"
done
