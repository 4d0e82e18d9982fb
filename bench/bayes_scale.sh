#!/usr/bin/env bash
# bench/bayes_scale.sh: time and peak memory per rank of bald, vessal and
# probcover on generated pools (docs/benchmarks.md, "BALD, VeSSAL and
# ProbCover at 10^6 and 10^7 items").
#
#   bench/bayes_scale.sh [ITEMS...]     default: 1000000 10000000
#
# On RANKS ranks (default 2), for each pool size: bald from an MLP head's MC
# dropout (--mc-samples T, default 20), vessal over every unlabeled item, and
# probcover on the AnchorAL subpool (its graph is O(N^2): the whole pool is out
# of reach at these sizes).  Each run leaves cmd.txt, log.txt (--log-view, load
# before and after, per-rank peak RSS and seconds from /usr/bin/time) under
# $OUT (default /tmp/alq-bayes).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
ALQ=${ALQ:-$repo/build/alq}
OUT=${OUT:-/tmp/alq-bayes}
RANKS=${RANKS:-2}
DIM=${DIM:-32}; CLASSES=${CLASSES:-10}; IMBALANCE=${IMBALANCE:-10}; SEED=${SEED:-1}
BUDGET=${BUDGET:-1000}; LABELED=${LABELED:-1000}; T=${T:-20}; HIDDEN=${HIDDEN:-64}
source "$repo/scripts/mpi-env.sh"
mkdir -p "$OUT"
say() { printf '[bayes] %s\n' "$*" >&2; }

# Rows of a generated pool depend on (dim, classes, imbalance, seed, id) only,
# so a labeled set drawn from the first 10^6 items is valid for any larger pool,
# and the MLP head is trained on it.
lab=$OUT/labeled.h5
[ -s "$lab" ] || "$ALQ" gen --out "$lab" --items 1000000 --dim "$DIM" --classes "$CLASSES" \
  --imbalance "$IMBALANCE" --labeled "$LABELED" --seed "$SEED" >&2
model=$OUT/mlp.h5
[ -s "$model" ] || mpiexec -n "$RANKS" "$ALQ" train --pool "$lab" --model mlp --hidden "$HIDDEN" --out "$model" \
  --seed "$SEED" --quiet

# run NAME ITEMS [select options...]
run() {
  local name=$1 items=$2
  shift 2
  local dir=$OUT/$name-$items
  rm -rf "$dir"
  mkdir -p "$dir"
  local pool="gen:items=$items,dim=$DIM,classes=$CLASSES,imbalance=$IMBALANCE,seed=$SEED"
  local cmd=(mpiexec -n "$RANKS" sh -c 'exec /usr/bin/time -f "%M %e" -o "$0.$OMPI_COMM_WORLD_RANK" "$@"' "$dir/rss"
    "$ALQ" select --pool "$pool" --labeled "$lab" --budget "$BUDGET" --seed "$SEED" --out "$dir/batch.h5"
    --log-view --quiet "$@")
  printf '%q ' "${cmd[@]}" > "$dir/cmd.txt"
  echo >> "$dir/cmd.txt"
  echo "start $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)" > "$dir/log.txt"
  local t0 t1
  t0=$(date +%s.%N)
  "${cmd[@]}" >> "$dir/log.txt" 2>&1
  t1=$(date +%s.%N)
  { echo "end $(date -Is) load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "wall_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')"
    for r in $(seq 0 $((RANKS - 1))); do echo "rank $r peak_rss_kib,seconds: $(cat "$dir/rss.$r")"; done
  } >> "$dir/log.txt"
  say "$name $items: $(tail -n $((RANKS + 1)) "$dir/log.txt" | tr '\n' ' ')"
}

for items in "${@:-1000000 10000000}"; do
  for n in $items; do
    run bald "$n" --strategy bald --model "$model" --mc-samples "$T"
    run vessal "$n" --strategy vessal
    run probcover-anchoral "$n" --strategy probcover --subpool anchoral --anchors-per-class 10 --neighbors 200 \
      --subpool-size 10000
  done
done
