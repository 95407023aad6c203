#!/usr/bin/env bash
# Lane: real Squid and the real AWS CLI in network namespaces (root).
set -euo pipefail
source scripts/ci/lib.sh
# The task waits for the real-Squid lock (one Squid run at a time on a machine).
stage "Real Squid and the real AWS CLI" npx projen test:squid
