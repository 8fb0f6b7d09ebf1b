#!/usr/bin/env bash
# Debian bullseye build chroot (glibc 2.31, gcc 10) so the addon needs no GLIBC newer than 2.31.
#   tools/native/chroot.sh                 create/refresh the chroot (idempotent, stamped)
#   tools/native/chroot.sh run CWD CMD...  run CMD inside it, in CWD (absolute, in the chroot)
# The repo is bound at its own absolute path, so repo paths are the same inside and out. The runner uses a private mount namespace (nothing stays mounted,
# even on error) with /proc, /dev, the repo, the dirs in $NATIVE_BINDS (read-write) and
# $NATIVE_RO_BINDS (read-only; both colon-separated, bound at the same paths), the host node
# headers at /usr/include/node (read-only) and the host node binary at /usr/local/bin/node.
# The environment inside is reset: pass variables with `env VAR=value cmd ...`.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Packages needed inside: node-gyp (python3, make, g++), zlib/elfutils/libbpf builds.
CHROOT_PKGS="build-essential python3 make m4 pkg-config gawk flex bison bzip2 xz-utils file"

run_in_chroot() { # cwd cmd...
  local cwd=$1; shift
  [ "${cwd#/}" != "$cwd" ] || die "run: CWD must be absolute: $cwd"
  local node; node=$(readlink -f "$(command -v node)") || die "node not found on the host"
  local inc; inc=$(dirname "$(dirname "$node")")/include/node
  [ -f "$inc/node_api.h" ] || die "node headers not found at $inc"
  cmp -s "$node" "$ROOT/usr/local/bin/node" || install -m 0755 "$node" "$ROOT/usr/local/bin/node"
  unshare -m --propagation private -- /bin/bash -euc '
    R=$1 binds=$2 robinds=$3 inc=$4 cwd=$5; shift 5
    bind() { # src dst rw|ro -- only onto a missing or empty dir, so nothing of the chroot is shadowed
      [ ! -e "$R$2" ] || [ -z "$(ls -A "$R$2")" ] || { echo "[native] refusing to bind over $R$2" >&2; exit 1; }
      mkdir -p "$R$2"; mount --bind "$1" "$R$2"; [ "$3" = rw ] || mount -o remount,bind,ro "$R$2"; }
    mount -t proc proc "$R/proc"
    mount --rbind /dev "$R/dev"
    IFS=:; for d in $binds; do [ -z "$d" ] || bind "$d" "$d" rw; done
    for d in $robinds; do [ -z "$d" ] || bind "$d" "$d" ro; done; unset IFS
    bind "$inc" /usr/include/node ro
    case $(cat "$R/etc/debian_version") in 11.*) ;; *) echo "[native] not a bullseye root: $R" >&2; exit 1 ;; esac
    exec chroot "$R" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM="${TERM:-dumb}" \
      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
      /bin/sh -c "cd \"\$0\" && exec \"\$@\"" "$cwd" "$@"
  ' bash "$ROOT" "$REPO:${NATIVE_BINDS:-}" "${NATIVE_RO_BINDS:-}" "$inc" "$cwd" "$@"
}

ensure_chroot() {
  need_root; mkdir -p "$CACHE"
  exec 8>"$CACHE/chroot.lock"; flock 8   # concurrent callers wait for one setup
  if ! done_ debootstrap; then
    ensure_host_tool debootstrap debootstrap
    local uri; uri=$(mirror)
    log "debootstrap bullseye (minbase) into $ROOT"
    rm -rf "$ROOT"; mkdir -p "$ROOT"
    debootstrap --variant=minbase bullseye "$ROOT" "$uri" > "$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed (log: $CACHE/debootstrap.log)"; }
    stamp debootstrap
  fi
  local pk; pk=packages-$(echo "$CHROOT_PKGS" | md5sum | cut -c1-8)
  if ! done_ "$pk"; then
    log "installing in the chroot: $CHROOT_PKGS"
    cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf" 2>/dev/null || true
    run_in_chroot / /bin/sh -ec "
      o='-o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false'
      apt-get \$o update
      DEBIAN_FRONTEND=noninteractive apt-get \$o install -y --no-install-recommends $CHROOT_PKGS
      apt-get clean" > "$CACHE/chroot-apt.log" 2>&1 ||
      { tail -20 "$CACHE/chroot-apt.log" >&2; die "apt-get install in the chroot failed"; }
    stamp "$pk"
  fi
  local v; v=$(run_in_chroot / node -p 'process.version + " glibc " + process.report.getReport().header.glibcVersionRuntime') ||
    die "the host node does not run inside bullseye"
  log "chroot ready: $(run_in_chroot / sh -c 'gcc -dumpfullversion') / node $v"
}

case "${1:-}" in
  run) shift; [ $# -ge 2 ] || die "usage: $0 run CWD CMD..."; need_root; [ -x "$ROOT/bin/sh" ] || ensure_chroot; run_in_chroot "$@" ;;
  ""|ensure) ensure_chroot ;;
  *) die "usage: $0 [ensure] | run CWD CMD..." ;;
esac
