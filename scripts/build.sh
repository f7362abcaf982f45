#!/usr/bin/env bash
# Builds ckpt into dist/: checks for Node.js >= 22 (scripts/setup-host.sh installs it),
# runs npm ci when node_modules is missing or older than the lock file, then compiles.
# Used by scripts/install.sh and scripts/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/node-env.sh

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 22 ]; then
  echo "build.sh: error: Node.js >= 22 is needed (found $(node --version 2>/dev/null || echo none)); run scripts/setup-host.sh as root" >&2
  exit 3
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "build.sh: npm ci"
  npm ci --loglevel=error
fi
echo "build.sh: tsc"
node_modules/.bin/tsc -p tsconfig.build.json

# The time-namespace helper ckpt restore uses for exact clock offsets (native/).
if [ ! -x dist/native/ckpt-timens ] || [ native/ckpt-timens.c -nt dist/native/ckpt-timens ]; then
  if ! command -v gcc >/dev/null; then
    echo "build.sh: error: gcc is needed to build native/ckpt-timens.c; run scripts/setup-host.sh as root" >&2
    exit 3
  fi
  echo "build.sh: gcc native/ckpt-timens.c"
  mkdir -p dist/native
  gcc -O2 -Wall -Wextra -Werror -static -o dist/native/ckpt-timens.tmp native/ckpt-timens.c
  mv dist/native/ckpt-timens.tmp dist/native/ckpt-timens
fi
