#!/bin/sh
# The out-of-distribution stage on Fashion-MNIST + 20% junk (docs/results.md,
# "Out-of-distribution stage"): the junk share of margin's batch with logreg
# and MLP heads, with and without --ood (in the model's space, the pool's and
# the model's standardised input),
# and alq simulate learning curves of margin with and without --ood knn, with
# the logreg head and with the MLP's (its stage in the pool's space; 5 seeds).  Needs Debian's
# dataset-fashion-mnist (apt-get install dataset-fashion-mnist).
# usage: bench/ood_results.sh BUILD_DIR WORKDIR
set -eu
build=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
alq=$build/alq
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
run() { mpiexec --oversubscribe -n 2 "$alq" "$@"; }
mkdir -p "$work"
/usr/bin/python3 "$here/ood_make_pool.py" "$work/pool.h5" --items 4000 --labeled 100 --seed 1
: > "$work/shares.csv"
for head in logreg mlp; do
  run train --pool "$work/pool.h5" --model $head --out "$work/$head.h5" --quiet --seed 1
  for ood in none knn mahalanobis maxprob knn-pool mahalanobis-pool knn-features; do
    case $ood in
      none) opt="" ;;
      *-pool) opt="--ood ${ood%-pool} --ood-reject 0.05 --ood-space pool" ;;
      *-features) opt="--ood ${ood%-features} --ood-reject 0.05 --ood-space features" ;;
      *) opt="--ood $ood --ood-reject 0.05" ;;
    esac
    run select --pool "$work/pool.h5" --model "$work/$head.h5" --strategy margin --budget 200 --seed 1 \
        --out "$work/batch-$head-$ood.h5" --quiet $opt
    echo "$head,$ood,$work/batch-$head-$ood.h5" >> "$work/shares.csv"
    # The same stage's flags, item by item: which kinds of junk it rejects.
    [ $ood = none ] || run ood "$work/pool.h5" --model "$work/$head.h5" --out "$work/flags-$head-$ood.h5" --quiet $opt
  done
done
common="--pool $work/pool.h5 --strategy margin,random --initial 100 --batch 50 --rounds 10 --seeds 5 --quiet"
run simulate $common --out "$work/curve-plain.csv"
run simulate $common --ood knn --ood-reject 0.05 --out "$work/curve-ood.csv"
# The MLP head, with the kNN stage on the pool's own pixels (--ood-space pool)
# and on the MLP's standardised input (--ood-space features).
run simulate $common --model mlp --out "$work/curve-mlp-plain.csv"
run simulate $common --model mlp --ood knn --ood-reject 0.05 --ood-space pool --out "$work/curve-mlp-ood.csv"
run simulate $common --model mlp --ood knn --ood-reject 0.05 --ood-space features \
    --out "$work/curve-mlp-ood-features.csv"
/usr/bin/python3 "$here/ood_results_report.py" "$work"
