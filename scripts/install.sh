#!/usr/bin/env bash
# Installs everything ckpt needs on a Debian 12 host and ckpt itself, checks the host
# with `ckpt doctor`, then runs the main job once with `ckpt demo`. Run as root. Safe to
# run again.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-host.sh
bash scripts/build.sh
ln -sfn "$(pwd)/bin/ckpt" "${CKPT_PREFIX:-/usr/local}/bin/ckpt"
echo "install: ckpt is at ${CKPT_PREFIX:-/usr/local}/bin/ckpt"
echo
"${CKPT_PREFIX:-/usr/local}/bin/ckpt" doctor
echo
exec "${CKPT_PREFIX:-/usr/local}/bin/ckpt" demo
