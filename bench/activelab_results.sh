#!/usr/bin/env bash
# bench/activelab_results.sh: ActiveLab against margin (no re-labeling) and
# random with noisy annotators, test accuracy per answer spent; the
# "ActiveLab" section of docs/results.md and its plots
# (docs/results/activelab_*.svg).
#
#   bench/activelab_results.sh [DATA_DIR]     DATA_DIR defaults to ../shared/data
#   MODEL=mlp bench/activelab_results.sh      the MLP head (section "activelab-mlp", plots activelab_mlp_*);
#                                             MODEL_ARGS (e.g. "--hidden 64 --epochs 100") and ROUNDS adjust it
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
sets=(
  "pmlb_pendigits 50 50"
  "pmlb_optdigits 50 50"
  "pmlb_page_blocks 50 50"
)

start=$(date +%s)
for entry in "${sets[@]}"; do
  read -r name initial batch <<<"$entry"
  pool="$work/$name.h5"
  "$alq" import --csv "$data/$name.csv.gz" --out "$pool" --standardize
  mpiexec --oversubscribe -n 2 "$alq" simulate --pool "$pool" --strategy "$strategies" --initial "$initial" \
    --batch "$batch" --rounds "$rounds" --seeds "$seeds" --test-fraction 0.2 --model "$model" ${MODEL_ARGS:-} \
    --annotators "$annotators" --annotator-noise "$noise" --quiet \
    --out "$work/$name.csv" --plot "$out_svg/${tag}_$name.svg"
done
end=$(date +%s)

"$python" "$repo/bench/activelab_report.py" --work "$work" --out "$out_md" --seconds $((end - start)) \
  --seeds "$seeds" --rounds "$rounds" --annotators "$annotators" --noise "$noise" --model "$model" --model-args="${MODEL_ARGS:-}" --tag "$tag" \
  --sets "${sets[@]}"
echo "activelab_results: wrote the ActiveLab ($model) section of $out_md and $out_svg/${tag}_*.svg in $((end - start)) s" >&2
