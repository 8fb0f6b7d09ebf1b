# Shared helpers for tools/native/*.sh (sourced, not run).
NATIVE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$NATIVE_DIR/../.." && pwd)
CACHE=$REPO/.cache/native
ROOT=$CACHE/bullseye          # the bullseye chroot
PREFIX=$CACHE/prefix          # static libbpf/libelf/zlib + headers
STAMPS=$CACHE/stamps

log() { printf '[native] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
done_() { [ -e "$STAMPS/$1" ]; }
stamp() { mkdir -p "$STAMPS"; date -u +%FT%TZ > "$STAMPS/$1"; }

# The Debian mirror the system already uses (never written into the repo).
mirror() {
  local f=/etc/apt/sources.list.d/debian.sources u=
  [ -r "$f" ] && u=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' "$f")
  [ -n "$u" ] || [ ! -r /etc/apt/sources.list ] || u=$(awk '$1=="deb" { for (i = 2; i <= NF; i++)
      if ($i ~ /^[a-z+]+:\/\// && $i !~ /security/) { print $i; exit } }' /etc/apt/sources.list)
  [ -n "$u" ] || die "no Debian mirror found in the system apt sources"
  printf '%s\n' "${u%/}"
}

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mount)"; }

# Install host packages (by command name → package) only when missing.
ensure_host_tool() { # cmd pkg
  command -v "$1" >/dev/null 2>&1 && return
  log "installing $2 on the host"
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$2" >/dev/null
}
