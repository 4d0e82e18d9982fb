#!/usr/bin/env bash
# bench/scale_demo.sh: billion-item pools (docs/benchmarks.md, "Billion-item pools").
#
#   bench/scale_demo.sh machine         SGEMM (1 and 2 threads), triad (1 and 2 copies), gen rows/s
#   bench/scale_demo.sh gen [ITEMS]     (a) margin-kcenter + anchoral + hier from gen:items=ITEMS (default 1e9)
#   bench/scale_demo.sh hdf5 [ITEMS]    (b) the same selection from an on-disk pool written by alq gen
#   bench/scale_demo.sh grow            (c) phase time / bytes / messages against N and P (--log-view)
#
# Every selection runs one process per rank with OPENBLAS_NUM_THREADS=1 and
# records, per rank, peak RSS and wall time (/usr/bin/time around each rank),
# plus rank 0's --log-view table and progress lines.  Results go to $OUT
# (default /tmp/alq-scale), one folder per run with cmd.txt, log.txt and
# rss.<rank>.
#
# Environment: ALQ_BUILD (build folder, default <repo>/build), OUT, RANKS (2),
# DIM (32), CLASSES (10), IMBALANCE (10), SEED (1), BUDGET (10000),
# ANCHORS_PER_CLASS (100), NEIGHBORS (200), SUBPOOL (100000), CANDIDATES (50000),
# LABELED (5000), FAN_IN (8).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
BUILD=${ALQ_BUILD:-$ROOT/build}
ALQ=$BUILD/alq
OUT=${OUT:-/tmp/alq-scale}
RANKS=${RANKS:-2}
DIM=${DIM:-32}; CLASSES=${CLASSES:-10}; IMBALANCE=${IMBALANCE:-10}; SEED=${SEED:-1}
BUDGET=${BUDGET:-10000}; APC=${ANCHORS_PER_CLASS:-100}; NEIGHBORS=${NEIGHBORS:-200}
SUBPOOL=${SUBPOOL:-100000}; CANDIDATES=${CANDIDATES:-50000}; LABELED=${LABELED:-5000}; FAN_IN=${FAN_IN:-8}
. "$ROOT/scripts/mpi-env.sh"
export OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT"
say() { printf '[scale] %s\n' "$*" >&2; }

# The labeled set: a stratified draw over the first 10^6 items.  Rows of a
# generated pool depend on (dim, classes, imbalance, seed, id) only, not on the
# pool size, so these ids and labels are valid for any larger pool.
labeled_file() {
  local f=$OUT/labeled-d$DIM-c$CLASSES-i$IMBALANCE-s$SEED-l$LABELED.h5
  if [ ! -s "$f" ]; then
    "$ALQ" gen --out "$f" --items 1000000 --dim "$DIM" --classes "$CLASSES" --imbalance "$IMBALANCE" \
      --labeled "$LABELED" --seed "$SEED" >&2
  fi
  echo "$f"
}

# run NAME POOL P [extra select options...]: one selection, per-rank RSS and time.
run() {
  local name=$1 pool=$2 p=$3
  shift 3
  local dir=$OUT/$name
  rm -rf "$dir"
  mkdir -p "$dir"
  local cmd=(mpiexec -n "$p" sh -c 'exec /usr/bin/time -f "%M %e" -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$dir/rss"
    "$ALQ" select --pool "$pool" --budget "$BUDGET" --strategy margin-kcenter --subpool anchoral
    --anchors-per-class "$APC" --neighbors "$NEIGHBORS" --subpool-size "$SUBPOOL" --candidates "$CANDIDATES"
    --diversity hier --fan-in "$FAN_IN" --seed "$SEED" --out "$dir/batch.h5" --csv "$dir/batch.csv" --log-view "$@")
  printf '%q ' "${cmd[@]}" > "$dir/cmd.txt"
  echo >> "$dir/cmd.txt"
  { echo "start $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)"; } > "$dir/log.txt"
  local t0 t1
  t0=$(date +%s.%N)
  "${cmd[@]}" >> "$dir/log.txt" 2>&1
  t1=$(date +%s.%N)
  { echo "end $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "wall_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')"
    for r in $(seq 0 $((p - 1))); do echo "rank $r peak_rss_kib,seconds: $(cat "$dir/rss.$r")"; done
  } >> "$dir/log.txt"
  say "$name done: $(tail -n $((p + 1)) "$dir/log.txt" | tr '\n' ' ')"
}

case "${1:-}" in
machine)
  {
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
    OPENBLAS_NUM_THREADS=1 "$BUILD/bench/alq_scale_sgemm" --dim "$DIM" | sed 's/^/1 thread: /'
    OPENBLAS_NUM_THREADS=2 "$BUILD/bench/alq_scale_sgemm" --dim "$DIM" | sed 's/^/2 threads: /'
    "$BUILD/bench/alq_triad" --reps 5 | sed 's/^/1 copy: /'
    ( "$BUILD/bench/alq_triad" --reps 5 > "$OUT/triad.a" & "$BUILD/bench/alq_triad" --reps 5 > "$OUT/triad.b"; wait )
    sed 's/^/2 copies (a): /' "$OUT/triad.a"; sed 's/^/2 copies (b): /' "$OUT/triad.b"
    "$BUILD/bench/alq_scale_genrate" --items 1000000 --dim "$DIM" --classes "$CLASSES"
    echo "load $(cut -d' ' -f1-3 /proc/loadavg)"
  } | tee "$OUT/machine.txt"
  ;;
gen)
  items=${2:-1000000000}
  lab=$(labeled_file)
  run "gen-$items-p$RANKS" "gen:items=$items,dim=$DIM,classes=$CLASSES,imbalance=$IMBALANCE,seed=$SEED" "$RANKS" \
    --labeled "$lab"
  ;;
hdf5)
  items=${2:-60000000}
  pool=${POOL:-$OUT/pool-$items-d$DIM.h5}
  if [ ! -s "$pool" ]; then
    say "writing $pool (alq gen, $items items)"
    /usr/bin/time -f "alq gen: %e s, peak RSS %M KiB" "$ALQ" gen --out "$pool" --items "$items" --dim "$DIM" \
      --classes "$CLASSES" --imbalance "$IMBALANCE" --labeled "$LABELED" --seed "$SEED" 2>&1 | tee "$OUT/gen-hdf5.txt"
  fi
  ls -l "$pool" | tee "$OUT/disk.txt"
  # Sequential read of the file: cold if the page cache can be dropped, else as is.
  sync
  if echo 3 > /proc/sys/vm/drop_caches 2>/dev/null; then echo "page cache dropped" | tee -a "$OUT/disk.txt"
  else echo "cannot drop the page cache (not permitted): the dd figure may be warm" | tee -a "$OUT/disk.txt"; fi
  dd if="$pool" of=/dev/null bs=16M 2>&1 | tail -1 | sed 's/^/dd: /' | tee -a "$OUT/disk.txt"
  echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  run "hdf5-$items-p$RANKS" "$pool" "$RANKS"
  ;;
grow)
  lab=$(labeled_file)
  for items in ${GROW_ITEMS:-1000000 10000000 100000000}; do
    run "grow-$items-p$RANKS" "gen:items=$items,dim=$DIM,classes=$CLASSES,imbalance=$IMBALANCE,seed=$SEED" \
      "$RANKS" --labeled "$lab"
  done
  ;;
*)
  sed -n '2,20p' "$0"
  exit 2
  ;;
esac
