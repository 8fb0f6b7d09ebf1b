#!/usr/bin/env bash
# Static, position-independent zlib 1.2.13, elfutils libelf 0.188 and libbpf 1.1.2 (Debian
# bookworm sources), built inside the bullseye chroot into $REPO/.cache/native/prefix.
# Idempotent: each step leaves a stamp in .cache/native/stamps; delete one to redo that step.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# name:upstream-version (the orig tarball of bookworm's source package must have this version)
LIBS="zlib:1.2.13 elfutils:0.188 libbpf:1.1.2"
SRC=$CACHE/src BUILD=$CACHE/build APT=$CACHE/apt
JOBS="-j2"
FLAGS="-O2 -fPIC"
# Stamp name: changing the version, FLAGS or the build recipe below rebuilds.
key() { echo "$1-$2-$({ echo "$FLAGS"; declare -f build_one; } | md5sum | cut -c1-8)"; }

unpack() { # name version -> fresh build dir on stdout
  local f; f=$(ls "$SRC/$1"_"$2"*.orig.tar.* | head -1)
  rm -rf "${BUILD:?}/$1"; mkdir -p "$BUILD/$1"
  tar -xf "$f" -C "$BUILD/$1" --strip-components=1
  echo "$BUILD/$1"
}

build_one() { # inside the chroot: name version
  local P=$PREFIX d; d=$(unpack "$1" "$2"); cd "$d"; mkdir -p "$P/lib" "$P/include"
  exec >"$BUILD/$1.log" 2>&1   # full output kept; its tail is shown on failure
  case $1 in
  zlib)
    CFLAGS="$FLAGS" ./configure --static --prefix="$P"
    make $JOBS libz.a && make install ;;
  elfutils)
    ./configure --disable-debuginfod --disable-libdebuginfod --without-zstd --without-bzlib \
      --without-lzma --disable-nls CFLAGS="$FLAGS -I$P/include" LDFLAGS="-L$P/lib"
    make $JOBS -C lib && make $JOBS -C libelf libelf_pic.a
    install -m 0644 libelf/libelf_pic.a "$P/lib/libelf.a"
    install -m 0644 libelf/libelf.h libelf/gelf.h libelf/nlist.h "$P/include/" ;;
  libbpf)
    mkdir -p "$d/obj"
    make $JOBS -C src NO_PKG_CONFIG=1 BUILD_STATIC_ONLY=1 OBJDIR="$d/obj" DESTDIR="$P" PREFIX= LIBDIR=/lib \
      INCLUDEDIR=/include EXTRA_CFLAGS="$FLAGS -I$P/include" install ;;
  esac
  rm -rf "$d"
}

if [ "${1:-}" = __inside ]; then shift; build_one "$@"; exit; fi

need_root
start=$SECONDS
"$NATIVE_DIR/chroot.sh"
exec 9>"$CACHE/deps.lock"; flock 9   # concurrent callers wait for one build

if ! done_ sources; then
  log "fetching Debian bookworm source packages into $SRC"
  mkdir -p "$APT/lists/partial" "$APT/cache/archives/partial" "$SRC"
  echo "deb-src [trusted=yes] $(mirror) bookworm main" > "$APT/sources.list"
  # apt inside the chroot with private state dirs: the host's apt state is never touched.
  "$NATIVE_DIR/chroot.sh" run "$SRC" /bin/sh -ec '
    o="-o Dir::Etc::SourceList=$0/sources.list -o Dir::Etc::SourceParts=/dev/null
       -o Dir::State::Lists=$0/lists -o Dir::Cache=$0/cache -o APT::Sandbox::User=root
       -o Acquire::Check-Valid-Until=false -o Acquire::Check-Date=false"
    apt-get $o update -qq && apt-get $o source -qq --download-only libbpf elfutils zlib >/dev/null
  ' "$APT"
  for l in $LIBS; do
    ls "$SRC/${l%%:*}_${l#*:}"*.orig.tar.* >/dev/null 2>&1 || die "bookworm no longer has ${l%%:*} ${l#*:}: $(ls "$SRC")"
  done
  stamp sources
fi

for l in $LIBS; do
  n=${l%%:*} v=${l#*:} k=$(key "${l%%:*}" "${l#*:}")
  if done_ "$k"; then log "$n $v: up to date"; continue; fi
  log "building $n $v (static, $FLAGS)"; t=$SECONDS
  "$NATIVE_DIR/chroot.sh" run "$REPO" bash "$NATIVE_DIR/deps.sh" __inside "$n" "$v" ||
    { tail -20 "$BUILD/$n.log" >&2; die "building $n failed (log: $BUILD/$n.log)"; }
  stamp "$k"; log "$n $v: done in $((SECONDS - t)) s"
done

for f in lib/libbpf.a lib/libelf.a lib/libz.a include/bpf/libbpf.h include/libelf.h \
         include/gelf.h include/nlist.h include/zlib.h include/zconf.h; do
  [ -f "$PREFIX/$f" ] || die "missing $PREFIX/$f"
done
log "prefix ready: $PREFIX ($((SECONDS - start)) s)"
