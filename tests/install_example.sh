#!/usr/bin/env bash
# tests/install_example.sh: `cmake --install` into a fresh prefix, then
# examples/c built against it twice (find_package(alq) and pkg-config), run at
# 1 and 2 ranks, and its batch compared with `alq select` on the same arrays.
#   install_example.sh BUILD SOURCE WORKDIR VERSION MAN(ON|OFF) MPIEXEC...
# ctest -L install (tests/install.cmake).  Any failed check exits 1.
set -euo pipefail
build=$1 src=$2 wd=$3 version=$4 man_pages=$5
shift 5
mpiexec=("$@")
fail() { echo "install_example: FAIL: $*" >&2; exit 1; }

rm -rf "$wd"
mkdir -p "$wd"
P=$wd/prefix
cmake --install "$build" --prefix "$P" >"$wd/install.log" || fail "cmake --install (see $wd/install.log)"

# What the prefix must hold.
expect=(bin/alq share/alq/slurm/select.sbatch lib/libalq.so lib/libalq.so.0 "lib/libalq.so.$version" include/alq/select.h
        include/alq/source.h include/alq/version.h lib/cmake/alq/alqConfig.cmake
        lib/cmake/alq/alqConfigVersion.cmake lib/cmake/alq/alqTargets.cmake lib/pkgconfig/alq.pc
        share/doc/alq/LICENSE)
[ "$man_pages" = ON ] && expect+=(share/man/man1/alq.1 share/man/man1/alq-select.1 share/man/man1/alq-simulate.1)
for f in "${expect[@]}"; do [ -e "$P/$f" ] || fail "$P/$f was not installed"; done
soname=$(objdump -p "$P/lib/libalq.so.$version" | awk '$1 == "SONAME" {print $2}')
[ "$soname" = "libalq.so.${version%%.*}" ] || fail "SONAME is '$soname', not libalq.so.${version%%.*}"
grep -q "define ALQ_VERSION \"$version\"" "$P/include/alq/version.h" || fail "installed version.h is not $version"
! grep -rq "$build" "$P/lib/cmake" "$P/lib/pkgconfig" || fail "the package files name the build tree $build"
! objdump -p "$P/bin/alq" | grep -E 'R(UN)?PATH' | grep -q "$build" || fail "installed alq has the build tree in its RUNPATH"
got=$("$P/bin/alq" --version)
[ "$got" = "alq $version" ] || fail "alq --version printed '$got', not 'alq $version'"
# Compared as real paths: the prefix may sit under a symlink or a bind mount, which ldd resolves.
loaded=$(ldd "$P/bin/alq" | awk '$1 == "libalq.so.0" {print $3}')
[ -n "$loaded" ] && [ "$(realpath "$loaded")" = "$(realpath "$P/lib/libalq.so.0")" ] ||
  fail "installed alq loads libalq.so.0 from '$loaded', not $P/lib/libalq.so.0 ($(ldd "$P/bin/alq" | grep libalq))"

export PKG_CONFIG_PATH=$P/lib/pkgconfig
[ "$(pkg-config --modversion alq)" = "$version" ] || fail "pkg-config --modversion alq is not $version"
# Every installed header compiles on its own with only alq.pc's flags (in the compiler's default dialect).
for h in "$P"/include/alq/*.h; do
  printf '#include "alq/%s"\nint alq_header_check;\n' "$(basename "$h")" >"$wd/header.c"
  cc -c $(pkg-config --cflags alq) "$wd/header.c" -o "$wd/header.o" 2>"$wd/header.log" ||
    fail "installed header $(basename "$h") does not compile alone: $(head -3 "$wd/header.log")"
done

# The example, through find_package(alq) and through pkg-config.
cmake -S "$src/examples/c" -B "$wd/with-cmake" -DCMAKE_PREFIX_PATH="$P" >"$wd/with-cmake.log" 2>&1 ||
  fail "examples/c: cmake configure with find_package(alq) (see $wd/with-cmake.log)"
cmake --build "$wd/with-cmake" >>"$wd/with-cmake.log" 2>&1 || fail "examples/c: cmake build (see $wd/with-cmake.log)"
mkdir "$wd/with-pkg-config"
cp "$src/examples/c/select_in_memory.c" "$src/examples/c/Makefile" "$wd/with-pkg-config/"
make -C "$wd/with-pkg-config" >"$wd/with-pkg-config.log" 2>&1 ||
  fail "examples/c: make with pkg-config (see $wd/with-pkg-config.log)"

"${mpiexec[@]}" -n 1 "$wd/with-cmake/select_in_memory" --write-pool "$wd/pool.h5" >"$wd/cmake-n1.txt" ||
  fail "select_in_memory (find_package build) at 1 rank"
for build_kind in with-cmake with-pkg-config; do
  for n in 1 2; do
    "${mpiexec[@]}" -n $n "$wd/$build_kind/select_in_memory" >"$wd/$build_kind-$n.txt" ||
      fail "select_in_memory ($build_kind) at $n rank(s)"
    cmp -s "$wd/cmake-n1.txt" "$wd/$build_kind-$n.txt" || fail "select_in_memory ($build_kind) at $n rank(s) chose another batch"
  done
done
[ "$(wc -l <"$wd/cmake-n1.txt")" -eq 10 ] || fail "select_in_memory printed $(wc -l <"$wd/cmake-n1.txt") ids, not 10"

# The CLI on the pool file holding the same arrays (the example's strategy, budget and seed).
"$P/bin/alq" select --pool "$wd/pool.h5" --budget 10 --strategy margin-kcenter --seed 7 --quiet --out "$wd/cli.h5" ||
  fail "alq select on the example's pool"
"$P/bin/alq" export --batch "$wd/cli.h5" --csv "$wd/cli.csv" || fail "alq export of the CLI batch"
tail -n +2 "$wd/cli.csv" | cut -d, -f1 >"$wd/cli.txt"
cmp -s "$wd/cmake-n1.txt" "$wd/cli.txt" ||
  fail "the example's batch ($(paste -sd' ' "$wd/cmake-n1.txt")) differs from alq select's ($(paste -sd' ' "$wd/cli.txt"))"

# The man page renders.
if [ "$man_pages" = ON ]; then
  if command -v man >/dev/null; then
    MANPATH=$P/share/man man -P cat alq-select 2>/dev/null | grep -q -- '--budget' || fail "man alq-select does not show the page"
  elif command -v groff >/dev/null; then
    groff -man -Tutf8 "$P/share/man/man1/alq-select.1" | grep -q -- '--budget' || fail "groff cannot render alq-select.1"
  else
    echo "install_example: neither man nor groff installed; checking alq-select.1 by its .TH line only"
    grep -q '^\.TH ALQ-SELECT' "$P/share/man/man1/alq-select.1" || fail "alq-select.1 has no .TH ALQ-SELECT line"
  fi
else
  echo "install_example: man pages not built (ALQ_MAN_PAGES=OFF); not checked"
fi
echo "install_example: all checks passed ($(paste -sd' ' "$wd/cli.txt"))"
