#!/usr/bin/env bash
# The main job: synthesise the example app (one-account topology, and a provider/consumer pair
# in two accounts) to CloudFormation in cdk.out/. Needs no AWS credentials; deploys nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/aws-cdk-lib ] || npm ci --no-audit --no-fund
rm -rf cdk.out
exec npx ts-node --project tsconfig.dev.json examples/main.ts
