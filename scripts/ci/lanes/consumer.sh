#!/usr/bin/env bash
# Lane: the library as a user gets it - the packed tarball's file list, and the README's quick
# starts synthesised in a fresh `cdk init` app from that tarball, with no credentials.
set -euo pipefail
source scripts/ci/lib.sh
stage "README quick starts from the packed tarball (npm pack, cdk init, cdk synth)" bash scripts/ci/quick-start.sh
