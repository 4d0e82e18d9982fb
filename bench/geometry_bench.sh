#!/bin/bash
# bench/geometry_bench.sh: the embedding-geometry benchmarks of docs/benchmarks.md
# ("Embedding geometry (ScaLAPACK)").  Run by hand, never from ctest:
#   bench/geometry_bench.sh [BUILD_DIR]        (default build-geo; figures go to stdout as markdown)
# Sections (GEO_BENCH_PARTS, default "speed quality e2e"):
#   speed    alq project (covariance pass + PDSYEVD) at d in GEO_BENCH_DIMS (default "1024 4096 8192")
#            on 1-4 ranks (grids 1x1, 1x2, 1x3, 2x2) against one-rank numpy/LAPACK (dsyevd) on the
#            same file: wall time and peak RSS per rank (/usr/bin/time)
#   quality  768-d pools of 20000 items, one of low intrinsic dimension (numpy) and one from alq gen:
#            k-center covering radius in the full space and AnchorAL subpool overlap with the full-d
#            subpool for --project pca:32/64/128 against full d
#   e2e      margin-kcenter + anchoral on a gen: pool of GEO_BENCH_E2E_N (default 10^6) 768-d items,
#            with and without --project pca:128
# The machine is shared: every section records `uptime` before and after it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build-geo}
ALQ=$BUILD/alq
PY=/usr/bin/python3
WORK=${GEO_BENCH_DIR:-/tmp/alq-geometry-bench}
PARTS=${GEO_BENCH_PARTS:-speed quality e2e}
DIMS=${GEO_BENCH_DIMS:-1024 4096 8192}
E2E_N=${GEO_BENCH_E2E_N:-1000000}
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPI="mpiexec --allow-run-as-root --oversubscribe"
mkdir -p "$WORK"
HELP=$ROOT/bench/geometry_bench.py

echo "### Machine"
echo
echo "- $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(free -g | awk '/Mem:/{print $2}') GiB; BLAS kernel $($PY "$HELP" corename); OPENBLAS_NUM_THREADS=1"
echo "- alq $(git -C "$ROOT" rev-parse --short HEAD), $(date -u +%Y-%m-%dT%H:%MZ); command: \`bench/geometry_bench.sh\` (GEO_BENCH_PARTS=\"$PARTS\", GEO_BENCH_DIMS=\"$DIMS\")"
echo

grid_for() { case $1 in 1) echo 1x1 ;; 2) echo 1x2 ;; 3) echo 1x3 ;; 4) echo 2x2 ;; esac; }
# seconds, covariance s, PDSYEVD s, max and min peak RSS over ranks (MB) of one alq project run
project_row() {
  local p=$1 pool=$2 k=$3 log=$WORK/project.log
  rm -f "$WORK/rss.txt"
  $MPI -n "$p" /usr/bin/time -a -o "$WORK/rss.txt" -f "maxrss %M" "$ALQ" project --pool "$pool" --project "pca:$k" \
    --out "$WORK/p.h5" --grid "$(grid_for "$p")" >"$log" 2>&1
  $PY "$HELP" parse-project "$log" "$WORK/rss.txt"
}

if [[ " $PARTS " == *" speed "* ]]; then
  echo "### Speed: covariance pass + decomposition (alq project --project pca:128)"
  echo
  echo "load before: $(uptime | sed 's/.*load/load/')"
  echo
  echo "| d | rows | ranks (grid) | total s | covariance pass s | PDSYEVD s | peak RSS per rank MB (max / min) | vs one-rank LAPACK total |"
  echo "|---|---|---|---|---|---|---|---|"
  for d in $DIMS; do
    n=$(( d >= 4096 ? 8192 : 16384 ))
    pool=$WORK/speed$d.h5
    [ -f "$pool" ] || $PY "$HELP" make-speed-pool "$pool" "$n" "$d"
    ranks="1 2 3 4"
    [ "$d" -ge 8192 ] && ranks=${GEO_BENCH_RANKS_8192:-4}
    base=$(/usr/bin/time -f "maxrss %M" $PY "$HELP" lapack "$pool" 2>&1 | $PY "$HELP" parse-lapack)
    base_s=${base%% *}
    for p in $ranks; do
      row=$(project_row "$p" "$pool" 128)
      echo "| $d | $n | $p ($(grid_for "$p")) | $row | $($PY -c "print('%.2fx' % ($base_s / float('${row%% *}')))") |"
    done
    echo "| $d | $n | numpy/LAPACK, 1 rank | $base | 1x |"
  done
  echo
  echo "load after: $(uptime | sed 's/.*load/load/')"
  echo
fi

# k-center radius and AnchorAL subpool overlap for full d and pca:128/64/32 on one pool
quality_table() {
  local pool=$1 name=$2
  echo "| embedding | k-center radius (full space), B=100 | vs full d | mean distance to nearest center | vs full d | AnchorAL subpool overlap with full d (M=2000) |"
  echo "|---|---|---|---|---|---|"
  for k in full 128 64 32; do
    extra=()
    [ "$k" != full ] && extra=(--project "pca:$k")
    $MPI -n 2 "$ALQ" select --pool "$pool" --budget 100 --strategy kcenter --seed 1 --out "$WORK/kc-$name-$k.h5" \
      --quiet "${extra[@]}"
    # random on the subpool with B = the subpool size selects the whole subpool
    $MPI -n 2 "$ALQ" select --pool "$pool" --budget 2000 --strategy random --subpool anchoral --subpool-size 2000 \
      --seed 1 --out "$WORK/sub-$name-$k.h5" --quiet "${extra[@]}"
  done
  $PY "$HELP" quality "$pool" "$WORK" "$name"
}

if [[ " $PARTS " == *" quality "* ]]; then
  echo "### Quality: 768-d pools, 20000 items, 2 ranks"
  echo
  echo "load before: $(uptime | sed 's/.*load/load/')"
  echo
  pool=$WORK/quality-lowrank.h5
  [ -f "$pool" ] || $PY "$HELP" make-lowrank-pool "$pool"
  echo "Low intrinsic dimension (numpy: 32 classes on a 24-dimensional subspace, isotropic noise 0.05, 200 labeled):"
  echo
  quality_table "$pool" lowrank
  echo
  pool=$WORK/quality-gen.h5
  [ -f "$pool" ] || "$ALQ" gen --out "$pool" --items 20000 --dim 768 --classes 32 --imbalance 10 --labeled 200 \
    --seed 3 >/dev/null
  echo "alq gen (32 classes, imbalance 10, 200 labeled; its noise is isotropic in all 768 coordinates, so it is"
  echo "not of low intrinsic dimension):"
  echo
  quality_table "$pool" gen
  echo
  echo "load after: $(uptime | sed 's/.*load/load/')"
  echo
fi

if [[ " $PARTS " == *" e2e "* ]]; then
  spec="gen:items=$E2E_N,dim=768,classes=100,imbalance=10,seed=7"
  lab=$WORK/e2e-labeled.h5
  # a generated item's class depends on (seed, id) alone, so a small alq gen with the same
  # parameters draws a valid labeled set (ids < 5000) for the large pool
  [ -f "$lab" ] || "$ALQ" gen --out "$lab" --items 5000 --dim 768 --classes 100 --imbalance 10 --labeled 500 \
    --seed 7 >/dev/null
  echo "### End to end: margin-kcenter + anchoral, $E2E_N x 768 gen: pool, 500 labeled, B=100, 4 ranks"
  echo
  echo "load before: $(uptime | sed 's/.*load/load/')"
  echo
  echo "| embedding | wall s | peak RSS per rank MB (max) |"
  echo "|---|---|---|"
  # full d; pca:128 fitted in the run (--project, on a 10^5-row sample); pca:128 from a file
  # fitted once by alq project (--projection: what every later round pays)
  rm -f "$WORK/rss.txt"
  t0=$(date +%s.%N)
  $MPI -n 4 "$ALQ" project --pool "$spec" --project pca:128 --fit-sample 100000 --seed 1 --out "$WORK/e2e-proj.h5" \
    --quiet
  t1=$(date +%s.%N)
  fit_s=$($PY -c "print('%.1f' % ($t1 - $t0))")
  for k in full 128 file; do
    extra=()
    [ "$k" = 128 ] && extra=(--project "pca:128" --fit-sample 100000)
    [ "$k" = file ] && extra=(--projection "$WORK/e2e-proj.h5")
    rm -f "$WORK/rss.txt"
    t0=$(date +%s.%N)
    $MPI -n 4 /usr/bin/time -a -o "$WORK/rss.txt" -f "maxrss %M" "$ALQ" select --pool "$spec" --labeled "$lab" \
      --budget 100 --strategy margin-kcenter --subpool anchoral --seed 1 --out "$WORK/e2e-$k.h5" --quiet "${extra[@]}"
    t1=$(date +%s.%N)
    name=$k
    [ "$k" = 128 ] && name="--project pca:128 --fit-sample 100000"
    [ "$k" = file ] && name="--projection (pca:128 fitted once by alq project in $fit_s s)"
    echo "| $name | $($PY -c "print('%.1f' % ($t1 - $t0))") | $($PY "$HELP" maxrss "$WORK/rss.txt") |"
  done
  echo
  echo "batch overlap --projection vs --project: $($PY "$HELP" overlap "$WORK/e2e-128.h5" "$WORK/e2e-file.h5")"
  echo "batch overlap pca:128 vs full: $($PY "$HELP" overlap "$WORK/e2e-full.h5" "$WORK/e2e-128.h5")"
  echo
  echo "load after: $(uptime | sed 's/.*load/load/')"
fi
