#!/usr/bin/env bash
# bench/al_results.sh: learning curves of every strategy on real data, and
# docs/results.md with its plots (docs/results/*.svg).
#
#   bench/al_results.sh [DATA_DIR]     DATA_DIR defaults to ../shared/data (next to the repo)
#
# Imports five PMLB sets and 20,000 Fashion-MNIST images (Debian package
# dataset-fashion-mnist, installed when missing), runs `alq simulate` on 2 ranks
# (5 seeds, logistic regression retrained each round), and summarises the CSVs
# with bench/al_results_report.py.  About 10 minutes on 2 cores.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
data="$(cd "${1:-$repo/../shared/data}" && pwd)"
alq="${ALQ:-$repo/build/alq}"
work="${WORK:-$repo/build/al-results}"
out_md="$repo/docs/results.md"
out_svg="$repo/docs/results"
python=/usr/bin/python3
source "$repo/scripts/mpi-env.sh"
[ -x "$alq" ] || { echo "al_results: build alq first (cmake --build build), or set ALQ" >&2; exit 1; }
mkdir -p "$work" "$out_svg"

strategies="random,least-confidence,margin,entropy,kcenter,margin-kcenter,anchoral+margin,vessal,anchoral+probcover,badge,typiclust,cluster-margin"
# probcover through AnchorAL: its graph is O(N^2) in the pool (the larger sets
# here have 10^5 items); bald is not listed: it needs MC-dropout passes, and the
# logistic head retrained here has none (bench/bayes_results.sh runs it with an MLP).
seeds=5
rounds=15

# name  source  initial  batch
sets=(
  "pmlb_pendigits csv 20 20"
  "pmlb_optdigits csv 20 20"
  "pmlb_page_blocks csv 20 20"
  "pmlb_fars csv 50 50"
  "pmlb_kddcup_dedup csv 50 50"
  "fashion_mnist idx 50 50"
)

fm=/usr/share/datasets/fashion-mnist
if [ ! -f "$fm/train-images-idx3-ubyte.gz" ]; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -qq --no-install-recommends dataset-fashion-mnist >/dev/null
fi

start=$(date +%s)
for entry in "${sets[@]}"; do
  read -r name kind initial batch <<<"$entry"
  pool="$work/$name.h5"
  if [ "$kind" = csv ]; then
    "$alq" import --csv "$data/$name.csv.gz" --out "$pool" --standardize
  else
    "$alq" import-idx --images "$fm/train-images-idx3-ubyte.gz" --labels "$fm/train-labels-idx1-ubyte.gz" \
      --limit 20000 --standardize --out "$pool"
  fi
  mpiexec -n 2 "$alq" simulate --pool "$pool" --strategy "$strategies" --initial "$initial" --batch "$batch" \
    --rounds "$rounds" --seeds "$seeds" --test-fraction 0.2 --model logreg \
    --out "$work/$name.csv" --plot "$out_svg/$name.svg"
done
end=$(date +%s)

"$python" "$repo/bench/al_results_report.py" --work "$work" --out "$out_md" --seconds $((end - start)) \
  --seeds "$seeds" --rounds "$rounds" --sets "${sets[@]}"
echo "al_results: wrote $out_md and $out_svg/*.svg in $((end - start)) s" >&2
