#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a selected batch:
# installs dependencies, builds, generates a demo pool, and selects a batch
# with 2 MPI ranks, printing what was selected.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
. "$root/scripts/mpi-env.sh"
alq="$root/build/alq"
work=${ALQ_DEMO_DIR:-$root/build/demo}
mkdir -p "$work"

echo "== generating a pool: 200,000 items, 64-d embeddings, 20 classes, largest/smallest class 50x, 200 labeled"
"$alq" gen --out "$work/pool.h5" --items 200000 --dim 64 --classes 20 --imbalance 50 --labeled 200 --seed 7
"$alq" info "$work/pool.h5"

echo
echo "== selecting 25 items with margin-kcenter on 2 ranks"
mpiexec -n 2 "$alq" select --pool "$work/pool.h5" --budget 25 --strategy margin-kcenter --seed 7 \
  --out "$work/batch.h5" --csv "$work/batch.csv" --log-view

echo
echo "== the batch ($work/batch.csv): rank in selection order, item id, k-center distance"
cat "$work/batch.csv"
