#!/usr/bin/env bash
# valgrind memcheck over alq's MPI runs at 2 ranks (docs/reliability.md, "Memory checking").
# Uses the normal build in ./build (ALQ_VALGRIND_BUILD=dir to change; built when
# missing), generates a small pool, and runs each command of the list below under
#   mpiexec -n 2 valgrind --leak-check=full --errors-for-leak-kinds=definite
# with tests/sanitizers/valgrind.supp (Open MPI's own noise, each entry commented).
# Any invalid read or write, use of uninitialised memory, bad free or definite
# leak outside the suppressions fails the run; the logs (one per rank) stay in
# $ALQ_VALGRIND_DIR (default build/valgrind/).  About 4 minutes on 2 cores.
#   scripts/test-valgrind.sh            # every command
#   scripts/test-valgrind.sh select     # the commands whose name contains "select"
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${ALQ_VALGRIND_BUILD:-$root/build}
work=${ALQ_VALGRIND_DIR:-$build/valgrind}
"$root/scripts/install-deps.sh"
if [ ! -x "$build/alq" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$build" -j"$(nproc)" >/dev/null
fi
. "$root/scripts/mpi-env.sh"
alq=$build/alq
rm -rf "$work"
mkdir -p "$work"
cd "$work"
"$alq" gen --out pool.h5 --items 3000 --dim 8 --classes 4 --labeled 60 --seed 1 >/dev/null

vg=(valgrind -q --suppressions="$root/tests/sanitizers/valgrind.supp" --leak-check=full
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --error-exitcode=99 --track-origins=yes --num-callers=40
    --gen-suppressions=all)
# name|ranks|command (run in $work)
runs=(
  "select-margin|2|$alq select --pool pool.h5 --budget 20 --strategy margin --out margin.h5 --csv margin.csv --quiet"
  "select-kcenter-exact|2|$alq select --pool pool.h5 --budget 8 --strategy kcenter --diversity exact --out kc.h5 --quiet"
  "select-hier-anchoral|2|$alq select --pool pool.h5 --budget 8 --strategy margin-kcenter --diversity hier --fan-in 2 --subpool anchoral --anchors-per-class 5 --neighbors 200 --subpool-size 1000 --candidates 600 --out hier.h5 --log-view"
  "select-state|2|$alq select --pool pool.h5 --budget 6 --strategy entropy --state state.h5 --out s1.h5 --quiet"
  "ingest|1|$alq ingest --state state.h5 --labels answers.csv --quiet"
  "train-logreg|2|$alq train --pool pool.h5 --model logreg --out model.h5 --quiet"
  "select-model|2|$alq select --pool pool.h5 --model model.h5 --budget 8 --strategy margin --out m.h5 --quiet"
  "select-bad-input|2|$alq select --pool pool.h5 --budget 0 --strategy margin --out bad.h5"
  "manifest|1|$alq manifest state.h5"
  "unit-scored|2|$build/tests/test_scored"
)
filter=${1:-}
status=0
for entry in "${runs[@]}"; do
  IFS='|' read -r name ranks cmd <<<"$entry"
  [ -z "$filter" ] || [[ "$name" == *"$filter"* ]] || continue
  if [ "$name" = ingest ]; then   # answers for the batch the state run just selected
    /usr/bin/python3 -c "import h5py; ids = h5py.File('s1.h5')['selected/ids'][:]
open('answers.csv', 'w').write('id,label\n' + ''.join(f'{i},{k % 4}\n' for k, i in enumerate(ids)))"
  fi
  start=$(date +%s)
  code=0
  # shellcheck disable=SC2086
  mpiexec -n "$ranks" "${vg[@]}" --log-file="$work/$name.%p.log" $cmd >"$work/$name.out" 2>&1 || code=$?
  errors=$(cat "$work/$name".*.log | grep -cE '^==[0-9]+== .*(definitely lost in|Invalid (read|write|free)|uninitialised|Mismatched free|Syscall param)' || true)
  want=0
  [ "$name" = select-bad-input ] && want=2
  verdict=ok
  if [ "$errors" -gt 0 ] || { [ "$code" -ne "$want" ] && [ "$code" -ne 0 ] || [ "$code" -eq 99 ]; }; then
    verdict=FAIL
    status=1
  fi
  echo "valgrind: $name ($ranks ranks): exit $code, $errors error(s), $(( $(date +%s) - start )) s: $verdict"
done
exit $status
