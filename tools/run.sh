#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root): set everything up,
# then run nettop or the whole test suite. Idempotent: a second run only
# re-checks what is there.
#   bash tools/run.sh nettop [args]      every TCP/UDP connection with its traffic, every 5 s
#                                        (nettop --help; `demo` is the same)
#   bash tools/run.sh test               the whole test suite: on this kernel, then on
#                                        Debian kernels booted under QEMU (tools/vmtest)
#   bash tools/run.sh kernels [opts]     only the kernel matrix (e.g. -k 6.1-cloud)
#   bash tools/run.sh setup              only set up and build
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PNPM_VERSION=$(node -p 'require("./package.json").packageManager.split("@")[1]')
# Host packages: clang/libbpf-dev/linux-libc-dev build the eBPF objects; debootstrap,
# binutils and file build and check the native addon; bpftool and gcc serve the tests and
# the benchmark, bpftrace is syscall-cost's reference; qemu, busybox and cpio boot the kernel matrix;
# curl and prometheus (its server and promtool) are the real clients of the nettop end-to-end tests.
APT_PACKAGES="clang llvm libbpf-dev linux-libc-dev libc6-dev make gcc g++ bpftool debootstrap binutils file
  util-linux qemu-system-x86 busybox-static cpio xz-utils iproute2 bpftrace liburing-dev curl prometheus"

log() { printf '[run] %s\n' "$*" >&2; }

setup() {
  [ "$(id -u)" = 0 ] || { log "run as root: eBPF needs CAP_BPF/CAP_PERFMON and the build uses a chroot"; exit 1; }
  local missing=()
  for p in $APT_PACKAGES; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "apt-get install ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
  fi
  if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
    log "npm install -g pnpm@$PNPM_VERSION"
    npm install -g "pnpm@$PNPM_VERSION"
  fi
  log "pnpm install"
  CI=1 pnpm install --frozen-lockfile
  log "pnpm build (eBPF objects, native prebuild in a bullseye chroot, TypeScript)"
  pnpm build
}

cmd=${1:-test}
[ $# -eq 0 ] || shift
case $cmd in
  setup) setup ;;
  nettop | demo) setup; exec node packages/nettop/dist/cli.js "$@" ;;
  test) setup; pnpm test; exec pnpm test:kernels ;;
  kernels) setup; exec pnpm test:kernels "$@" ;;
  *) log "usage: $0 nettop|test|kernels|setup"; exit 2 ;;
esac
