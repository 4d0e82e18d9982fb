#!/usr/bin/env bash
# bench/bayes_results.sh: learning curves of the issue-13 strategies against
# random and margin on real data, as markdown on stdout (pasted into
# docs/results.md by hand) and plots in docs/results/{bayes-,clustering_}*.svg.
#
#   bench/bayes_results.sh [DATA_DIR]     DATA_DIR defaults to ../shared/data
#   SETS="pmlb_fars fashion_mnist" bench/bayes_results.sh   only those sets
#
# Three `alq simulate` runs per data set on 2 ranks, 5 seeds, 15 rounds, the same
# splits (a seed fixes them): a logistic head for random, margin, badge,
# typiclust and cluster-margin (the clustering section); a logistic head for
# random, margin, vessal and probcover; and an MLP head with T = 10 MC-dropout
# passes for random, margin and bald (BALD needs the passes; alq simulate's
# logistic head has none).  Initial set and batch per set as bench/al_results.sh
# (20/20 on the small sets, 50/50 on the 10^5-row ones and Fashion-MNIST).
# ProbCover's delta-ball graph costs O(N^2) per round (18 s a round on the
# whole of pmlb_fars, about 4x that on pmlb_kddcup_dedup): on those two sets the
# vessal/probcover run uses a stratified random subsample (bench/stratified_subsample.py,
# seed 0; the last field of the set's entry, 0 = the whole set) for all four
# strategies of that table; the other two runs use the whole set.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$(cd "${1:-$repo/../shared/data}" && pwd)"
alq="${ALQ:-$repo/build/alq}"
work="${WORK:-$repo/build/bayes-results}"
svg="$repo/docs/results"
python=/usr/bin/python3
source "$repo/scripts/mpi-env.sh"
mkdir -p "$work" "$svg"
seeds=5; rounds=15
# name  source  initial  batch  subsample rows for the probcover table (0 = all)
sets=("pmlb_pendigits csv 20 20 0" "pmlb_optdigits csv 20 20 0" "pmlb_page_blocks csv 20 20 0"
      "pmlb_fars csv 50 50 20000" "pmlb_kddcup_dedup csv 50 50 20000" "fashion_mnist idx 50 50 0")
fm=/usr/share/datasets/fashion-mnist

import() {  # import NAME KIND OUT [ROWS]
  local name=$1 kind=$2 out=$3 rows=${4:-0}
  [ -s "$out" ] && return 0
  if [ "$kind" = idx ]; then
    [ -f "$fm/train-images-idx3-ubyte.gz" ] || { echo "bayes_results: install dataset-fashion-mnist" >&2; exit 1; }
    "$alq" import-idx --images "$fm/train-images-idx3-ubyte.gz" --labels "$fm/train-labels-idx1-ubyte.gz" \
      --limit 20000 --standardize --out "$out" >&2
  elif [ "$rows" -gt 0 ]; then
    "$python" "$repo/bench/stratified_subsample.py" "$data/$name.csv.gz" "$work/$name-sub$rows.csv.gz" "$rows" >&2
    "$alq" import --csv "$work/$name-sub$rows.csv.gz" --out "$out" --standardize >&2
  else
    "$alq" import --csv "$data/$name.csv.gz" --out "$out" --standardize >&2
  fi
}

names=(); subs=(); secs=()
for entry in "${sets[@]}"; do
  read -r name kind initial batch sub <<<"$entry"
  if [ -n "${SETS:-}" ] && [[ " $SETS " != *" $name "* ]]; then continue; fi
  start=$(date +%s)
  pool="$work/$name.h5"; import "$name" "$kind" "$pool"
  pc_pool="$pool"
  if [ "$sub" -gt 0 ]; then pc_pool="$work/$name-sub$sub.h5"; import "$name" "$kind" "$pc_pool" "$sub"; fi
  common=(--initial "$initial" --batch "$batch" --rounds "$rounds" --seeds "$seeds" --test-fraction 0.2 --quiet)
  mpiexec -n 2 "$alq" simulate --pool "$pool" "${common[@]}" --model logreg \
    --strategy random,margin,badge,typiclust,cluster-margin \
    --out "$work/$name-clustering.csv" --plot "$svg/clustering_$name.svg"
  mpiexec -n 2 "$alq" simulate --pool "$pc_pool" "${common[@]}" --model logreg \
    --strategy random,margin,vessal,probcover \
    --out "$work/$name-logreg.csv" --plot "$svg/bayes-$name-logreg.svg"
  mpiexec -n 2 "$alq" simulate --pool "$pool" "${common[@]}" --model mlp --mc-samples 10 \
    --strategy random,margin,bald \
    --out "$work/$name-mlp.csv" --plot "$svg/bayes-$name-mlp.svg"
  names+=("$name"); subs+=("$sub"); secs+=($(( $(date +%s) - start )))
  echo "bayes_results: $name done in ${secs[-1]} s" >&2
done
"$python" "$repo/bench/bayes_results_report.py" --work "$work" --rounds "$rounds" \
  --sets "${names[@]}" --subsample "${subs[@]}" --set-seconds "${secs[@]}"
