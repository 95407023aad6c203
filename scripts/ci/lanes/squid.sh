#!/usr/bin/env bash
# Lane: real Squid and the real AWS CLI in network namespaces (root).
set -euo pipefail
source scripts/ci/lib.sh
# One real-Squid run at a time on a machine (SMP Squid shares /run/squid): wait for the lock.
stage "Real Squid and the real AWS CLI" flock /tmp/pep-squid.lock npx projen test:squid
