#!/usr/bin/env bash
# Runs the archive benchmark (archive-bench.ts) with the project's Node, after fetching
# the peer it compares `ckpt inspect` with: crit from Debian's criu package, unpacked
# into /var/cache/ckpt/crit (the package is not installed: its criu is too old for this
# kernel). Idempotent; needs root and a host set up by scripts/setup-host.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
. scripts/node-env.sh
[ "$(id -u)" -eq 0 ] || { echo "bench: run as root" >&2; exit 1; }
crit_dir=/var/cache/ckpt/crit
if [ ! -x "$crit_dir/usr/bin/crit" ]; then
  work=$(mktemp -d)
  (cd "$work" && apt-get download criu >/dev/null)
  mkdir -p "$crit_dir"
  dpkg-deb -x "$work"/criu_*.deb "$crit_dir"
  rm -rf "$work"
fi
[ -f dist/main.js ] || bash scripts/build.sh
exec node scripts/bench/archive-bench.ts "$@"
