#!/usr/bin/env bash
# The whole test suite, as the README and CI run it: build (scripts/build.sh), type-check,
# then the unit tests and the integration tests against real runc, crun and CRIU in one
# run of Node's test runner.
#
# Integration tests need root and a host prepared by scripts/setup-host.sh. With CI=true
# or CKPT_REQUIRE_INTEGRATION=1 a missing prerequisite fails the run; otherwise those
# tests are skipped with the reason.
#
# Then the runtime matrix (scripts/setup-host.sh --matrix): the core integration tests
# again on each other combination of runc and CRIU (test/matrix/run.ts), with a table of
# the results. Where integration is required, a host without the matrix fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
. scripts/node-env.sh
echo "test.sh: type-check (sources and tests)"
node_modules/.bin/tsc -p tsconfig.json --noEmit
echo "test.sh: unit and integration tests"
# One process at a time: integration tests measure clocks to the millisecond.
status=0
node --test --test-concurrency=1 'src/**/*.test.ts' 'test/integration/**/*.test.ts' || status=$?
echo "test.sh: the runtime matrix"
node test/matrix/run.ts || status=$((status == 0 ? 1 : status))
exit "$status"
