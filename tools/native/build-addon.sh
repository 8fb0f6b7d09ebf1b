#!/usr/bin/env bash
# Build a node-addon-api package's prebuild inside the bullseye chroot and check it.
#   tools/native/build-addon.sh <package-dir>
# <package-dir> holds package.json and binding.gyp, or binding.gyp one level down (e.g. native/).
# Runs `prebuildify --napi --strip --tag-libc --target=$(node -v)` next to binding.gyp with
#   npm_config_nodedir=/usr                      node-gyp uses /usr/include/node, never downloads
#   TRACER_BPF_NATIVE_PREFIX=$REPO/.cache/native/prefix   binding.gyp reads include/ and lib/ here
# The output goes to <package-dir>/prebuilds/linux-x64/, where node-gyp-build(<package-dir>)
# finds it; then each .node there is checked: dynamic deps only glibc/libstdc++/libgcc_s and
# no symbol version above GLIBC_2.31. Must run as root; the package should depend on node-gyp
# (else the host npm's bundled node-gyp is used) and on prebuildify and node-addon-api.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
MAX_GLIBC=2.31
# What `ldd` may list: node itself links these (libpthread/libdl are separate libs in glibc 2.31).
ALLOWED='linux-vdso|libc|libm|libstdc\+\+|libgcc_s|ld-linux-x86-64|libpthread|libdl'

[ $# = 1 ] && [ -d "$1" ] || die "usage: $0 <package-dir>"
pkg=$(cd "$1" && pwd -P)
gypdir=$pkg
if [ ! -f "$pkg/binding.gyp" ]; then
  gyps=("$pkg"/*/binding.gyp); [ ${#gyps[@]} = 1 ] && [ -f "${gyps[0]}" ] ||
    die "no binding.gyp in $pkg nor (exactly one) one directory below"
  gypdir=$(dirname "${gyps[0]}")
fi
need_root
"$NATIVE_DIR/deps.sh"

under() { case "$1/" in "$2"/*) return 0 ;; *) return 1 ;; esac; }
resolve() { node -e 'console.log(require.resolve(process.argv[1], { paths: [process.argv[2]] }))' "$1" "$pkg" 2>/dev/null; }
binds= robinds=
under "$pkg" "$REPO" || binds=$pkg
prebuildify=$(resolve prebuildify/bin.js) || die "prebuildify is not installed for $pkg"
prebuildify=$(readlink -f "$prebuildify")
under "$prebuildify" "$REPO" || under "$prebuildify" "$pkg" || die "prebuildify resolves outside the repo: $prebuildify"
# node-gyp: the package's own if it has one, else the one bundled with the host's npm (read-only).
if gyp=$(resolve node-gyp/bin/node-gyp.js); then gyp=$(readlink -f "$gyp")
else
  npmdir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  gyp=$npmdir/node_modules/node-gyp/bin/node-gyp.js
  [ -f "$gyp" ] || die "no node-gyp: add it to $pkg's devDependencies"
  robinds=$npmdir
fi
wrapper=$CACHE/bin/node-gyp-$(echo "$gyp" | md5sum | cut -c1-8)   # PREBUILD_NODE_GYP must be a program
mkdir -p "$CACHE/bin"; printf '#!/bin/sh\nexec node %q "$@"\n' "$gyp" > "$wrapper"; chmod +x "$wrapper"

name=$(node -p 'require(process.argv[1] + "/package.json").name' "$pkg")
log "prebuildify $name in $gypdir (node $(node -v), node-gyp $gyp)"
# Build next to the live prebuilds and swap at the end: whoever loads the addon
# meanwhile (a test, nettop) keeps finding the previous one.
stage=$pkg/.prebuilds-stage
rm -rf "$stage"
NATIVE_BINDS=$binds NATIVE_RO_BINDS=$robinds "$NATIVE_DIR/chroot.sh" run "$gypdir" env \
  npm_config_nodedir=/usr npm_config_loglevel=warn TRACER_BPF_NATIVE_PREFIX="$PREFIX" PREBUILD_NODE_GYP="$wrapper" \
  node "$prebuildify" --napi --strip --tag-libc --target="$(node -v)" --name="$name" --out="$stage"

shopt -s nullglob; out=("$stage"/prebuilds/linux-x64/*.node); shopt -u nullglob
[ ${#out[@]} -gt 0 ] || die "no prebuilds/linux-x64/*.node produced"
inchroot() { NATIVE_BINDS=$binds "$NATIVE_DIR/chroot.sh" run / "$@"; }
newer() { [ "$1" != "$2" ] && [ "$(printf '%s\n' "$1" "$2" | sort -V | tail -1)" = "$1" ]; }
for f in "${out[@]}"; do
  log "checking $f"
  deps=$(inchroot ldd "$f"); sed 's/^/  ldd: /' <<<"$deps" >&2
  bad=$(awk '{print $1}' <<<"$deps" | sed 's|.*/||' | grep -Ev "^($ALLOWED)[.]so" || true)
  [ -z "$bad" ] || die "unexpected shared libraries: $bad"
  syms=$(inchroot objdump -T "$f")
  top=$(grep -oE 'GLIBC_[0-9.]+' <<<"$syms" | sed 's/GLIBC_//' | sort -uV | tail -1)
  log "max GLIBC symbol version: ${top:-none} (limit $MAX_GLIBC); max GLIBCXX: $(grep -oE 'GLIBCXX_[0-9.]+' <<<"$syms" | sort -uV | tail -1)"
  if [ -n "$top" ] && newer "$top" "$MAX_GLIBC"; then
    while read -r l; do
      v=$(grep -oE 'GLIBC_[0-9.]+' <<<"$l" | sed 's/GLIBC_//'); if newer "$v" "$MAX_GLIBC"; then echo "  $l" >&2; fi
    done < <(grep -E 'GLIBC_[0-9]' <<<"$syms")
    die "symbols above need GLIBC newer than $MAX_GLIBC"
  fi
done
mkdir -p "$pkg/prebuilds"
rm -rf "$pkg/prebuilds/linux-x64.old"
[ ! -d "$pkg/prebuilds/linux-x64" ] || mv "$pkg/prebuilds/linux-x64" "$pkg/prebuilds/linux-x64.old"
mv "$stage/prebuilds/linux-x64" "$pkg/prebuilds/linux-x64"
rm -rf "$pkg/prebuilds/linux-x64.old" "$stage"
log "ok: $(ls "$pkg"/prebuilds/linux-x64/*.node)"
