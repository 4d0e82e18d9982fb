#!/usr/bin/env bash
# tests/fuzz/forked.sh: one fork-mode libFuzzer run of a harness that opens
# HDF5 files, then a verdict on every crash it left behind.
#   forked.sh HARNESS ARTIFACT_DIR NAME LIBFUZZER_ARGS...
# Fork mode goes on past crashes (HDF5 1.10 crashes on some corrupt files, and
# no caller can prevent it: docs/reliability.md, "What the long run found"), but
# its exit code is that of its last job only: a run whose last job hit one of
# HDF5's crashes ended 1, one whose earlier job crashed in alq's code ended 0.
# So the verdict is taken here instead: each crash input is replayed once and
# its stack read; the first frame outside libc and the sanitizer's interceptors
# must lie in libhdf5, or the run fails with that stack.  OOMs and timeouts
# stay ignored (HDF5's metadata cache allocating for corrupt headers), and so
# does a crash that does not happen again when its input is replayed alone (it
# needed what earlier inputs left in HDF5's caches; the replay says which).
# A leak fails wherever it is: HDF5's own are suppressed (lsan.supp), so one
# that is left comes from a handle alq did not close.
# Exit 0: every crash was HDF5's; 1: a crash in alq's code (or the harness);
# 2: the fuzzer did not run to its deadline.
set -uo pipefail
harness=$1 artifacts=$2 name=$3
shift 3
mkdir -p "$artifacts"
rm -f "$artifacts/$name-"*   # this run's inputs only
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$harness" -fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1 \
  -artifact_prefix="$artifacts/$name-" "$@" >"$log" 2>&1
status=$?
cat "$log"
if ! grep -q '^INFO: exiting: [0-9]* time' "$log"; then
  echo "forked.sh: $name: the fuzzer stopped before its deadline (exit $status)"
  exit 2
fi

# The first frame of a sanitizer stack that is not libc or an interceptor.
first_own_frame() {
  grep -E '^ +#[0-9]+ ' | grep -vE 'sysdeps/|libc\.so|__interceptor_|__asan_|__sanitizer|__ubsan|/libclang_rt' | head -1
}

verdict=0 hdf5=0 unreproduced=0
for input in "$artifacts/$name-crash-"* "$artifacts/$name-leak-"*; do
  [ -e "$input" ] || continue
  if stack=$("$harness" "$input" 2>&1); then
    # a crash that depended on what an earlier input left in HDF5's caches
    echo "forked.sh: $name: $input did not crash when replayed alone"
    unreproduced=$((unreproduced + 1))
    continue
  fi
  frame=$(printf '%s\n' "$stack" | first_own_frame)
  if [[ $input == *-crash-* && $frame == *libhdf5* ]]; then
    hdf5=$((hdf5 + 1))
  else
    echo "forked.sh: $name: $input: a crash or leak outside HDF5:"
    printf '%s\n' "$stack" | grep -E 'ERROR|SUMMARY|^ +#[0-9]+ ' | head -20
    verdict=1
  fi
done
echo "forked.sh: $name: $hdf5 crash(es) inside HDF5 and $unreproduced not reproduced alone (both ignored), verdict $verdict"
exit $verdict
