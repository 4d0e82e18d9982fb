#!/usr/bin/env bash
# bench/activelab_results.sh: ActiveLab against margin (no re-labeling) and
# random with noisy annotators, test accuracy per answer spent; the
# "ActiveLab" section of docs/results.md and its plots
# (docs/results/activelab_*.svg).
#
#   bench/activelab_results.sh [DATA_DIR]     DATA_DIR defaults to ../shared/data
#   MODEL=mlp bench/activelab_results.sh      the MLP head (section "activelab-mlp", plots activelab_mlp_*);
#                                             MODEL_ARGS (e.g. "--hidden 64 --epochs 100") and ROUNDS adjust it
#   POOL_ROWS=2000 INITIAL=400 SETS="pmlb_pendigits pmlb_optdigits digits" bench/activelab_results.sh
#                                             small pools, a fifth labeled at the start (the ActiveLab
#                                             paper's regime: section "activelab-small", plots
#                                             activelab_small_*); each set is cut to POOL_ROWS rows by
#                                             bench/stratified_subsample.py (seed 1) when larger
#
# Three PMLB sets in full, `alq simulate` on 2 ranks: 5 annotators who answer
# wrongly with probability 0.3 (uniform over the other classes), 5 seeds,
# the model (logistic regression, or MODEL) retrained each round on the
# CROWDLAB consensus, accuracy on a held-out split against the true labels.
# OUT_MD (default docs/results.md) receives the section.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$(cd "${1:-$repo/../shared/data}" && pwd)"
alq="${ALQ:-$repo/build/alq}"
model="${MODEL:-logreg}"
tag=$([ "$model" = logreg ] && echo activelab || echo "activelab_$model")
pool_rows=${POOL_ROWS:-0}
[ "$pool_rows" -gt 0 ] && tag="${tag}_small"
work="${WORK:-$repo/build/activelab-results}/$model"
out_md="${OUT_MD:-$repo/docs/results.md}"
out_svg="${OUT_SVG:-$repo/docs/results}"
python=/usr/bin/python3
source "$repo/scripts/mpi-env.sh"
[ -x "$alq" ] || { echo "activelab_results: build alq first (cmake --build build), or set ALQ" >&2; exit 1; }
mkdir -p "$work" "$out_svg"

strategies="activelab,margin,random"
seeds=5
rounds=${ROUNDS:-20}
annotators=5
noise=0.3
# name  initial  batch
sets=()
for name in ${SETS:-pmlb_pendigits pmlb_optdigits pmlb_page_blocks}; do
  sets+=("$name ${INITIAL:-50} ${BATCH:-50}")
done

start=$(date +%s)
for entry in "${sets[@]}"; do
  read -r name initial batch <<<"$entry"
  pool="$work/$name.h5" csv="$data/$name.csv.gz"
  if [ "$pool_rows" -gt 0 ]; then
    "$python" "$repo/bench/stratified_subsample.py" "$csv" "$work/$name.csv.gz" "$pool_rows" --seed 1
    csv="$work/$name.csv.gz"
  fi
  "$alq" import --csv "$csv" --out "$pool" --standardize
  mpiexec --oversubscribe -n 2 "$alq" simulate --pool "$pool" --strategy "$strategies" --initial "$initial" \
    --batch "$batch" --rounds "$rounds" --seeds "$seeds" --test-fraction 0.2 --model "$model" ${MODEL_ARGS:-} \
    --annotators "$annotators" --annotator-noise "$noise" --quiet \
    --out "$work/$name.csv" --plot "$out_svg/${tag}_$name.svg"
done
end=$(date +%s)

"$python" "$repo/bench/activelab_report.py" --work "$work" --out "$out_md" --seconds $((end - start)) \
  --seeds "$seeds" --rounds "$rounds" --annotators "$annotators" --noise "$noise" --model "$model" --model-args="${MODEL_ARGS:-}" --tag "$tag" \
  --pool-rows "$pool_rows" --load "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end" \
  --sets "${sets[@]}"
echo "activelab_results: wrote the ActiveLab ($model) section of $out_md and $out_svg/${tag}_*.svg in $((end - start)) s" >&2
