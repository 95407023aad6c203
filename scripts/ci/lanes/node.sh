#!/usr/bin/env bash
# Lane: unit tests, lint and the integration-test snapshots (Node only).
set -euo pipefail
source scripts/ci/lib.sh
stage "shellcheck" bash scripts/ci/shellcheck.sh
stage "Unit tests and lint" npx projen test
stage "Integration-test snapshots (no deployment)" npx projen integ:snapshot
