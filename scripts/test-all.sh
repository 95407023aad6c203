#!/usr/bin/env bash
# Runs every test on a fresh clone: installs what the tests need, then builds and tests.
#
#   scripts/test-all.sh
#
# As root it installs the missing Debian/Ubuntu packages itself; otherwise it names them with
# the exact install line. The real-Squid tests need root (network namespaces).
set -euo pipefail
cd "$(dirname "$0")/.."

section() { printf '\n=== %s ===\n' "$*"; }

# --- System packages: real Squid (OpenSSL build, for ssl-bump), AWS CLI v2, tools, and tinyproxy (benchmark) ---
declare -A NEED=([/usr/sbin/squid]=squid-openssl [/usr/bin/aws]=awscli [/usr/bin/openssl]=openssl [/usr/sbin/ip]=iproute2 [/usr/bin/flock]=util-linux [/usr/bin/tinyproxy]=tinyproxy)
missing=()
for path in "${!NEED[@]}"; do [ -x "$path" ] || missing+=("${NEED[$path]}"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    section "Installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing system packages: ${missing[*]}. Install them with:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    [ "${CI:-}" = true ] && exit 1
  fi
fi

section "npm ci"
npm ci --no-audit --no-fund

section "projen synth (generated files must be up to date)"
npx projen default
section "jsii compile"
npx projen compile
section "API.md (jsii-docgen) and README snippets (jsii-rosetta --strict)"
npx projen post-compile
section "Unit tests and lint"
npx projen test
section "Integration-test snapshots (no deployment)"
npx projen integ:snapshot
section "Python bindings (jsii-pacmak) compile"
npx projen test:python
section "Real Squid and the real AWS CLI"
# One real-Squid run at a time on a machine (SMP Squid shares /run/squid): wait for the lock.
flock /tmp/pep-squid.lock npx projen test:squid

if git rev-parse --git-dir >/dev/null 2>&1; then
  section "Nothing the build generates differs from what is committed"
  if [ -n "$(git status --porcelain)" ]; then
    git status --porcelain
    git --no-pager diff --stat
    echo "The build changed committed files (run 'npx projen build' and commit the result)." >&2
    exit 1
  fi
fi
section "All tests passed"
