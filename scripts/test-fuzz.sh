#!/usr/bin/env bash
# libFuzzer runs of every reader of outside input (docs/reliability.md, "Fuzzing").
# Builds the harnesses with clang -fsanitize=fuzzer,address,undefined into
# ./build-fuzz (ALQ_FUZZ_BUILD=dir to change; ALQ_FUZZ_SOURCE=dir for another
# checkout) and runs `ctest -L fuzz`: each harness for ALQ_FUZZ_SECONDS (default
# 15) on its seed corpus and regression inputs.  Any crash, sanitizer report,
# leak or timeout fails (in the harnesses that open HDF5 files, a crash inside
# libhdf5 does not: tests/fuzz/forked.sh); the input that caused it is left in
# build-fuzz/tests/fuzz-artifacts/ (copy it into tests/fuzz/regressions/<harness>/).
#   scripts/test-fuzz.sh                         # the CI short runs
#   ALQ_FUZZ_LONG=900 scripts/test-fuzz.sh       # each harness 15 min in turn, totals to stdout
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ALQ_FUZZ_BUILD:-$root/build-fuzz}
src=${ALQ_FUZZ_SOURCE:-$root}
"$root/scripts/install-deps.sh"
harnesses=(manifest state pool_inspect idx import csv answers pool_list)
CC=clang cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DALQ_SANITIZE=address,undefined \
  -DALQ_FUZZ=ON -DALQ_FUZZ_SECONDS="${ALQ_FUZZ_SECONDS:-15}" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${harnesses[@]/#/fuzz_}" >/dev/null

if [ -z "${ALQ_FUZZ_LONG:-}" ]; then
  cd "$build"
  exec ctest --output-on-failure -L '^fuzz$'
fi
# Long run: one harness after the other, ALQ_FUZZ_LONG seconds each, one core,
# each in fork mode through forked.sh, which replays every crash input and says
# whether it crashed inside HDF5 (let pass) or in alq's code (verdict 1).
export ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:suppressions=$src/tests/fuzz/asan.supp
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export LSAN_OPTIONS=suppressions=$src/tests/fuzz/lsan.supp:print_suppressions=0
for h in "${harnesses[@]}"; do
  found=$build/tests/fuzz-found/$h
  mkdir -p "$found"
  log=$build/tests/fuzz-long-$h.log
  status=0
  nice -n 19 bash "$src/tests/fuzz/forked.sh" "$build/tests/fuzz_$h" "$build/tests/fuzz-artifacts" "$h" \
    -max_total_time="$ALQ_FUZZ_LONG" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -print_final_stats=1 \
    "$found" "$src/tests/fuzz/corpus/$h" "$src/tests/fuzz/regressions/$h" >"$log" 2>&1 || status=$?
  # fork mode's progress lines: "#<execs>: cov: ... corp: ... exec/s: ... oom/timeout/crash: a/b/c time: <s>s"
  last=$(grep -E '^#[0-9]+: cov:' "$log" | tail -1)
  echo "fuzz_$h: exit $status; last status: ${last:-none}; $(grep '^forked.sh: .*verdict' "$log" | tail -1)"
done
