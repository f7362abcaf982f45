#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: install the npm dependencies when
# needed, build, type-check, then the unit tests and the integration tests against real
# runc, crun and CRIU in one run of Node's test runner.
#
# Integration tests need root and a host prepared by scripts/setup-host.sh. With CI=true
# or CKPT_REQUIRE_INTEGRATION=1 a missing prerequisite fails the run; otherwise those
# tests are skipped with the reason.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 22 ]; then
  echo "test.sh: error: Node.js >= 22 is needed (found $(node --version 2>/dev/null || echo none)); run scripts/setup-host.sh as root" >&2
  exit 3
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "test.sh: npm ci"
  npm ci --loglevel=error
fi
echo "test.sh: build"
node_modules/.bin/tsc -p tsconfig.build.json
echo "test.sh: type-check (sources and tests)"
node_modules/.bin/tsc -p tsconfig.json --noEmit
echo "test.sh: unit and integration tests"
# One process at a time: integration tests measure clocks to the millisecond.
exec node --test --test-concurrency=1 'src/**/*.test.ts' 'test/integration/**/*.test.ts'
