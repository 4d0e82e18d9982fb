#!/usr/bin/env bash
# bench/bayes_results.sh: learning curves of bald, vessal and probcover against
# random and margin on real data, as a markdown section on stdout (appended to
# docs/results.md by hand) and plots in docs/results/bayes-*.svg.
#
#   bench/bayes_results.sh [DATA_DIR]     DATA_DIR defaults to ../shared/data
#
# Two `alq simulate` runs per data set on 2 ranks, 5 seeds, 15 rounds, the same
# splits (a seed fixes them): a logistic head for random, margin, vessal and
# probcover (on the whole pool: these sets are small), and an MLP head with
# T = 10 MC-dropout passes for random, margin and bald (BALD needs the passes;
# alq simulate's logistic head has none).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$(cd "${1:-$repo/../shared/data}" && pwd)"
alq="${ALQ:-$repo/build/alq}"
work="${WORK:-$repo/build/bayes-results}"
svg="$repo/docs/results"
source "$repo/scripts/mpi-env.sh"
mkdir -p "$work" "$svg"
seeds=5; rounds=15
sets=("pmlb_pendigits 20 20" "pmlb_optdigits 20 20" "pmlb_page_blocks 20 20")
start=$(date +%s)
for entry in "${sets[@]}"; do
  read -r name initial batch <<<"$entry"
  pool="$work/$name.h5"
  [ -s "$pool" ] || "$alq" import --csv "$data/$name.csv.gz" --out "$pool" --standardize >&2
  common=(--pool "$pool" --initial "$initial" --batch "$batch" --rounds "$rounds" --seeds "$seeds"
          --test-fraction 0.2 --quiet)
  mpiexec -n 2 "$alq" simulate "${common[@]}" --strategy random,margin,vessal,probcover --model logreg \
    --out "$work/$name-logreg.csv" --plot "$svg/bayes-$name-logreg.svg"
  mpiexec -n 2 "$alq" simulate "${common[@]}" --strategy random,margin,bald --model mlp --mc-samples 10 \
    --out "$work/$name-mlp.csv" --plot "$svg/bayes-$name-mlp.svg"
done
end=$(date +%s)
/usr/bin/python3 "$repo/bench/bayes_results_report.py" --work "$work" --seconds $((end - start)) --rounds "$rounds" \
  --sets pmlb_pendigits pmlb_optdigits pmlb_page_blocks
