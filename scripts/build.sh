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

# The native helpers (native/*.c, static): ckpt-timens, the time namespace ckpt restore
# joins for exact clock offsets; ckpt-inet-probe, the process ckpt doctor has CRIU dump
# to find out whether it can dump inet sockets on the running kernel.
for src in native/*.c; do
  name=$(basename "$src" .c)
  [ ! -x "dist/native/$name" ] || [ "$src" -nt "dist/native/$name" ] || continue
  if ! command -v gcc >/dev/null; then
    echo "build.sh: error: gcc is needed to build $src; run scripts/setup-host.sh as root" >&2
    exit 3
  fi
  echo "build.sh: gcc $src"
  mkdir -p dist/native
  gcc -O2 -Wall -Wextra -Werror -static -o "dist/native/$name.tmp" "$src"
  mv "dist/native/$name.tmp" "dist/native/$name"
done
