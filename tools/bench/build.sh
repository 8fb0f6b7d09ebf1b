#!/usr/bin/env bash
# Build the C programs of the benchmarks: c/batch_read.c -> build/batch_read (the
# C floor of map-read), c/syscall_loop.c -> build/syscall_loop (the pinned
# workload of syscall-cost; plain libc, no libbpf), c/tcp_rr.c -> build/tcp_rr
# (rr-rate's request/response loop) and the tracer's churn generator
# (packages/tracer/test/c/churn.c) -> build/churn (closed-loss), c/map_fill.c ->
# build/map_fill (connections-scale: fills a running tracer's map by id).
# (build/ is gitignored and is a turbo "build" output).
# Links the repo's static libbpf 1.1.2 (.cache/native/prefix, made by
# tools/native/deps.sh, which the loader's build runs first) so the C floor and
# the loader use the very same libbpf; falls back to the system libbpf
# (Debian libbpf-dev, via pkg-config) when that prefix is missing.
# Override the prefix with TRACER_BPF_NATIVE_PREFIX, the compiler with CC.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
P=${TRACER_BPF_NATIVE_PREFIX:-$repo/.cache/native/prefix}
CC=${CC:-gcc}
out=$here/build
mkdir -p "$out"
command -v "$CC" >/dev/null || { echo "[bench] $CC not found: install build-essential" >&2; exit 1; }

if [ -f "$P/lib/libbpf.a" ] && [ -f "$P/lib/libelf.a" ] && [ -f "$P/lib/libz.a" ] && [ -f "$P/include/bpf/libbpf.h" ]; then
  linked="static libbpf from $P"
  "$CC" -O2 -Wall -Wextra -DLINKED_AGAINST="\"$linked\"" -I"$P/include" "$here/c/batch_read.c" \
    "$P/lib/libbpf.a" "$P/lib/libelf.a" "$P/lib/libz.a" -o "$out/batch_read.tmp"
elif pkg-config --exists libbpf 2>/dev/null; then
  linked="system libbpf $(pkg-config --modversion libbpf) (pkg-config)"
  echo "[bench] $P has no static libbpf (run tools/native/deps.sh); linking the system libbpf" >&2
  # shellcheck disable=SC2046
  "$CC" -O2 -Wall -Wextra -DLINKED_AGAINST="\"$linked\"" $(pkg-config --cflags libbpf) "$here/c/batch_read.c" \
    $(pkg-config --libs libbpf) -o "$out/batch_read.tmp"
else
  echo "[bench] no libbpf: neither $P/lib/libbpf.a nor pkg-config libbpf (apt-get install libbpf-dev)" >&2
  exit 1
fi
mv -f "$out/batch_read.tmp" "$out/batch_read"
echo "[bench] built $out/batch_read ($linked)" >&2
# map_fill (connections-scale: fills a running tracer's map by id) links the same libbpf.
if [ -f "$P/lib/libbpf.a" ] && [ -f "$P/lib/libelf.a" ] && [ -f "$P/lib/libz.a" ] && [ -f "$P/include/bpf/libbpf.h" ]; then
  "$CC" -O2 -Wall -Wextra -I"$P/include" "$here/c/map_fill.c" "$P/lib/libbpf.a" "$P/lib/libelf.a" "$P/lib/libz.a" -o "$out/map_fill.tmp"
else
  # shellcheck disable=SC2046
  "$CC" -O2 -Wall -Wextra $(pkg-config --cflags libbpf) "$here/c/map_fill.c" $(pkg-config --libs libbpf) -o "$out/map_fill.tmp"
fi
mv -f "$out/map_fill.tmp" "$out/map_fill"
echo "[bench] built $out/map_fill" >&2

"$CC" -O2 -Wall -Wextra "$here/c/syscall_loop.c" -o "$out/syscall_loop.tmp"
mv -f "$out/syscall_loop.tmp" "$out/syscall_loop"
echo "[bench] built $out/syscall_loop" >&2

"$CC" -O2 -Wall -Wextra "$here/c/tcp_rr.c" -o "$out/tcp_rr.tmp"
mv -f "$out/tcp_rr.tmp" "$out/tcp_rr"
echo "[bench] built $out/tcp_rr" >&2

# The load generator of the tracer's churn test, shared: short connections in a netns of its own.
"$CC" -O2 -Wall -Wextra "$repo/packages/tracer/test/c/churn.c" -o "$out/churn.tmp"
mv -f "$out/churn.tmp" "$out/churn"
echo "[bench] built $out/churn" >&2
