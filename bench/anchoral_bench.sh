#!/usr/bin/env bash
# bench/anchoral_bench.sh: AnchorAL benchmarks (docs/benchmarks.md, "AnchorAL").
#
#   bench/anchoral_bench.sh [retrieval] [e2e] [kdd]     (default: all three)
#
#   retrieval  alq retrieve vs FAISS exact inner-product search (IndexFlatIP) on the
#              same normalised embeddings and anchors: N x d pool, A_total anchors,
#              K neighbors; same results checked; time ratio; alq's SGEMM GFLOP/s vs
#              the machine's SGEMM peak measured in the same run (1 and 2 threads).
#              One rank / one thread each, then 2 ranks vs 2 threads.
#   e2e        `margin` on the whole pool vs `margin --subpool anchoral` on an
#              imbalanced generated pool: wall time, classes and minority share of the batch.
#   kdd        the same on /work/shared/data/pmlb_kddcup_dedup.csv.gz (alq import
#              --standardize --labeled), with probabilities from `alq train --model logreg`
#              applied by `alq select --model`.
#
# Environment (defaults in brackets):
#   ALQ_BENCH_N [1000000] ALQ_BENCH_DIM [128]    retrieval pool
#   ALQ_BENCH_AS ["100 1000"] ALQ_BENCH_KS ["50 1000"]  anchors and neighbors
#   ALQ_BENCH_E2E_N [1000000] ALQ_BENCH_E2E_DIM [64] ALQ_BENCH_E2E_CLASSES [100]
#   ALQ_BENCH_E2E_IMBALANCE [1000] ALQ_BENCH_E2E_LABELED [500] ALQ_BENCH_B [1000]
#   ALQ_BENCH_E2E_RANKS [2]  ALQ_BENCH_KDD_LABELED [300]
#   ALQ_BENCH_KDD_CSV [<repo>/../shared/data/pmlb_kddcup_dedup.csv.gz]
#   ALQ_BENCH_DIR [/tmp/alq-anchoral-bench]  scratch: pools, lists, logs, results.jsonl, results.md
#   ALQ_BENCH_BUILD [<repo>/build]  ALQ_BENCH_ALQ [<build>/alq]
#   ALQ_BENCH_PYTHON [/usr/bin/python3] (numpy, h5py; python3-faiss is installed with apt if missing)
#   ALQ_BENCH_TIMEOUT [900]  seconds, per command
#   ALQ_BENCH_GEMM_PEAK [<dir of alq>/bench/alq_gemm_peak]  bound-GEMM rate per path (bf16, f32)
#
# Every alq rank runs with OPENBLAS_NUM_THREADS=1; FAISS with faiss.omp_set_num_threads(T).
# Absolute times are noisy on a shared machine: compare ratios within one run.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
N=${ALQ_BENCH_N:-1000000}
D=${ALQ_BENCH_DIM:-128}
AS=${ALQ_BENCH_AS:-"100 1000"}
KS=${ALQ_BENCH_KS:-"50 1000"}
E2E_N=${ALQ_BENCH_E2E_N:-1000000}
E2E_D=${ALQ_BENCH_E2E_DIM:-64}
E2E_C=${ALQ_BENCH_E2E_CLASSES:-100}
E2E_IMB=${ALQ_BENCH_E2E_IMBALANCE:-1000}
E2E_L=${ALQ_BENCH_E2E_LABELED:-500}
E2E_RANKS=${ALQ_BENCH_E2E_RANKS:-2}
B=${ALQ_BENCH_B:-1000}
KDD_L=${ALQ_BENCH_KDD_LABELED:-300}
KDD_CSV=${ALQ_BENCH_KDD_CSV:-$ROOT/../shared/data/pmlb_kddcup_dedup.csv.gz}
DIR=${ALQ_BENCH_DIR:-/tmp/alq-anchoral-bench}
PY=${ALQ_BENCH_PYTHON:-/usr/bin/python3}
BUILD=${ALQ_BENCH_BUILD:-$ROOT/build}
ALQ=${ALQ_BENCH_ALQ:-$BUILD/alq}
TMO=${ALQ_BENCH_TIMEOUT:-900}
MPIEXEC=${ALQ_BENCH_MPIEXEC:-mpiexec}
PARTS=${*:-"retrieval e2e kdd"}

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=1

say() { printf '[anchoral-bench] %s\n' "$*" >&2; }
die() { printf '[anchoral-bench] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
run() { timeout "$TMO" "$@"; }
mpirun() { local n=$1; shift; run "$MPIEXEC" --oversubscribe -n "$n" "$ALQ" "$@"; }

"$PY" -c 'import numpy, h5py' 2>/dev/null || die "$PY needs numpy and h5py (apt-get install python3-numpy python3-h5py)"
if [ ! -x "$ALQ" ]; then
  say "building alq (Release) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null && cmake --build "$BUILD" -j2 --target alq >/dev/null
fi
mkdir -p "$DIR"
RES=$DIR/results.jsonl
: >"$RES"
emit() { echo "$1" >>"$RES"; }

emit "{\"kind\": \"machine\", \"cores\": $(nproc --all), \"load_start\": \"$(load)\", \"date\": \"$(date -u +%FT%TZ)\", \"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')\"}"

# ---------------------------------------------------------------- retrieval
bench_retrieval() {
  if ! "$PY" -c 'import faiss' 2>/dev/null; then
    say "installing python3-faiss (Debian) for the FAISS baseline"
    apt-get install -y --no-install-recommends python3-faiss >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y --no-install-recommends python3-faiss >/dev/null; } ||
      die "cannot install python3-faiss"
  fi
  # the machine's SGEMM rate, measured now
  cc -O2 "$HERE/anchoral_sgemm_peak.c" $(pkg-config --cflags --libs openblas) -o "$DIR/sgemm_peak"
  for t in 1 2; do
    local line g
    line=$(OPENBLAS_NUM_THREADS=$t run "$DIR/sgemm_peak" 4096 3)
    g=$(sed -E 's/.*gflops=([0-9.]+).*/\1/' <<<"$line")
    say "$line"
    emit "{\"kind\": \"peak\", \"threads\": $t, \"gflops\": $g, \"load\": \"$(load)\"}"
  done
  # the bound GEMM's rate per path at the retrieval's block shape (256 rows x A anchors x d) and at a
  # large shape; the default path's (none forced) is the peak the retrieval reports its fraction of
  # (alq_gemm_peak, bench/gemm_peak.c)
  local gp=${ALQ_BENCH_GEMM_PEAK:-$(dirname "$ALQ")/bench/alq_gemm_peak}
  if [ -x "$gp" ]; then
    # "default": none forced, the path alq retrieve takes (alq/gemm.h: the faster fast path by a probe)
    for path in default onednn-bf16 avx512-f32 openblas-f32; do
      for a in $AS; do
        for m in 256 4096; do
          line=$(run "$gp" "${path#default}" "$m" "$a" "$D" 10)
          say "gemm peak $line"
          emit "{\"kind\": \"gemm_peak\", \"requested\": \"$path\", \"result\": $line, \"load\": \"$(load)\"}"
        done
      done
    done
  else
    say "no $gp: no bound-GEMM peak (build the alq_gemm_peak target)"
  fi

  local pool=$DIR/retr-$N-$D.h5
  if [ ! -f "$pool" ]; then
    say "generating $pool ($N x $D, no labeled set, no /probs)"
    run "$ALQ" gen --out "$pool" --items "$N" --dim "$D" --classes 10 --seed 1 --no-probs >/dev/null
  fi
  cat "$pool" >/dev/null # in the page cache for both sides
  for a in $AS; do
    local anchors=$DIR/anchors-$a.h5
    "$PY" "$HERE/anchoral_faiss.py" anchors "$pool" "$a" 7 "$anchors"
    for k in $KS; do
      for p in 1 2; do
        local out=$DIR/lists-a$a-k$k-n$p.h5 log=$DIR/retrieve-a$a-k$k-n$p.log t0 t1
        t0=$(now)
        mpirun "$p" retrieve --pool "$pool" --anchors "$anchors" --neighbors "$k" --out "$out" 2>"$log" >/dev/null ||
          { cat "$log" >&2; die "alq retrieve failed"; }
        t1=$(now)
        local inner sgemm
        inner=$(sed -nE 's/.* in ([0-9.]+) s .*/\1/p' "$log")
        sgemm=$(sed -nE "s/.*slowest rank's (SGEMM|bound GEMM) ([0-9.]+) s.*/\2/p" "$log")
        local fj
        fj=$(run "$PY" "$HERE/anchoral_faiss.py" search "$pool" "$anchors" "$k" "$p" "$out" 1)
        say "A=$a K=$k P=$p: alq ${inner}s (SGEMM ${sgemm}s), faiss $fj"
        emit "{\"kind\": \"retrieval\", \"anchors\": $a, \"k\": $k, \"ranks\": $p, \"n\": $N, \"d\": $D, \"alq_s\": $inner, \"alq_sgemm_s\": $sgemm, \"alq_process_s\": $(awk "BEGIN{printf \"%.3f\", $t1 - $t0}"), \"faiss\": $fj, \"load\": \"$(load)\"}"
      done
    done
  done
}

# ---------------------------------------------------------------- end to end
# select_pair TAG POOL RANKS EXTRA...: margin on the whole pool, then with --subpool anchoral
select_pair() {
  local tag=$1 pool=$2 ranks=$3
  shift 3
  for mode in all anchoral; do
    local out=$DIR/$tag-$mode.h5 log=$DIR/$tag-$mode.log t0 t1
    t0=$(now)
    mpirun "$ranks" select --pool "$pool" --budget "$B" --strategy margin --subpool "$mode" --seed 1 \
      --out "$out" --log-view --quiet "$@" 2>"$log" || { cat "$log" >&2; die "alq select failed"; }
    t1=$(now)
    local total anch cls
    total=$(awk '/^total/ {print $2}' "$log")
    anch=$(grep '^anchoral:' "$log" | sed 's/^anchoral: //' | paste -sd'|' | sed 's/|/ \/ /g; s/"/\\"/g' || true)
    cls=$("$PY" "$HERE/anchoral_classes.py" "$pool" "$out")
    say "$tag $mode: wall $(awk "BEGIN{printf \"%.3f\", $t1 - $t0}") s, alq total ${total} s, $cls"
    emit "{\"kind\": \"e2e\", \"case\": \"$tag\", \"subpool\": \"$mode\", \"ranks\": $ranks, \"wall_s\": $(awk "BEGIN{printf \"%.3f\", $t1 - $t0}"), \"alq_total_s\": ${total:-0}, \"anchoral_line\": \"$anch\", \"classes\": $cls, \"load\": \"$(load)\"}"
  done
}

bench_e2e() {
  local pool=$DIR/imb-$E2E_N-$E2E_D-$E2E_C.h5
  if [ ! -f "$pool" ]; then
    say "generating $pool ($E2E_N x $E2E_D, $E2E_C classes, imbalance $E2E_IMB, $E2E_L labeled)"
    run "$ALQ" gen --out "$pool" --items "$E2E_N" --dim "$E2E_D" --classes "$E2E_C" --imbalance "$E2E_IMB" \
      --labeled "$E2E_L" --seed 1 >/dev/null
  fi
  cat "$pool" >/dev/null
  select_pair "gen" "$pool" "$E2E_RANKS"
}

bench_kdd() {
  [ -f "$KDD_CSV" ] || die "$KDD_CSV is missing"
  local pool=$DIR/kddcup.h5 model=$DIR/kddcup-logreg.h5
  run "$ALQ" import --csv "$KDD_CSV" --out "$pool" --standardize --labeled "$KDD_L" --seed 1 >/dev/null
  # probabilities: alq's own logistic-regression head, trained on the labeled set
  mpirun "$E2E_RANKS" train --pool "$pool" --model logreg --class-weights --seed 1 --out "$model" --quiet
  select_pair "kddcup" "$pool" "$E2E_RANKS" --model "$model"
}

for part in $PARTS; do
  case $part in
  retrieval) bench_retrieval ;;
  e2e) bench_e2e ;;
  kdd) bench_kdd ;;
  *) die "unknown part '$part' (retrieval, e2e, kdd)" ;;
  esac
done
emit "{\"kind\": \"machine_end\", \"load_end\": \"$(load)\"}"
"$PY" "$HERE/anchoral_report.py" "$RES" >"$DIR/results.md"
say "results: $DIR/results.md"
cat "$DIR/results.md"
