#!/usr/bin/env python3
"""Which library and CLI source files do the `sanitize` tests execute? (docs/testing.md)

Build a coverage copy first (scratch directory, not build/):
  cmake -S . -B build-cov -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="--coverage -O0" \
        -DCMAKE_EXE_LINKER_FLAGS=--coverage && cmake --build build-cov -j2
  . scripts/mpi-env.sh && tests/sanitizers/coverage_check.py build-cov
Runs each test labelled `sanitize` alone (gcov counters reset in between), prints
the files each one executes, then every source file none of them executes.
A file without executable lines (e.g. strategies/margin_kcenter.c, one const
struct) always shows as not executed."""
import glob, json, os, re, subprocess, sys

build = os.path.abspath(sys.argv[1])
src = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
dirs = "core pool partition workers subpool strategies coordinator model geometry cli".split()
sources = sorted(os.path.relpath(f, src) for d in dirs for f in glob.glob(os.path.join(src, d, "*.c")))
gcnos = glob.glob(os.path.join(build, "CMakeFiles", "**", "*.gcno"), recursive=True)

def executed():
    hit = set()
    for g in gcnos:
        out = subprocess.run(["gcov", "-n", "-o", os.path.dirname(g), g[:-5] + ".o"],
                             capture_output=True, text=True, cwd="/tmp").stdout
        cur = None
        for line in out.splitlines():
            m = re.match(r"File '(.*)'", line)
            if m:
                cur = os.path.relpath(os.path.abspath(m.group(1)), src)
                continue
            m = re.match(r"Lines executed:([\d.]+)% of \d+", line)
            if m and cur and float(m.group(1)) > 0:
                hit.add(cur)
    return hit

listed = subprocess.run(["ctest", "-N", "-L", "^sanitize$"], cwd=build, capture_output=True, text=True).stdout
tests = re.findall(r"Test +#\d+: (\S+)", listed)
union = set()
for t in tests:
    for g in glob.glob(os.path.join(build, "**", "*.gcda"), recursive=True):
        os.remove(g)
    r = subprocess.run(["ctest", "-R", "^%s$" % re.escape(t)], cwd=build, capture_output=True, text=True)
    files = executed() & set(sources)
    union |= files
    print("%-28s %s %3d files" % (t, "ok  " if r.returncode == 0 else "FAIL", len(files)), flush=True)
missing = [f for f in sources if f not in union]
print("%d of %d source files executed; not executed: %s" % (len(sources) - len(missing), len(sources),
                                                           " ".join(missing) or "none"))
