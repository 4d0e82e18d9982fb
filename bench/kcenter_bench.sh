#!/usr/bin/env bash
# bench/kcenter_bench.sh: alq's k-center and margin selection against numpy
# baselines measured in the same run, and k-center step bandwidth against the
# machine's memory bandwidth measured in the same run (docs/benchmarks.md).
#
#   bench/kcenter_bench.sh            # full: 1,000,000 x 128 pool, B = 1000
#   ALQ_BENCH_N=100000 bench/kcenter_bench.sh       # quicker
#   ALQ_BENCH_SMOKE=1 bench/kcenter_bench.sh        # correctness only (ctest bench-smoke)
#
# Environment (defaults in brackets):
#   ALQ_BENCH_N [1000000]  ALQ_BENCH_DIM [128]  ALQ_BENCH_B [1000]
#   ALQ_BENCH_L [1000]     labeled centers of the second case (the first has 0)
#   ALQ_BENCH_CLASSES [10] ALQ_BENCH_SEED [1]   ALQ_BENCH_IMBALANCE [10]
#   ALQ_BENCH_RANKS ["1"]  rank counts to run alq with, e.g. "1 2"
#   ALQ_BENCH_NO_PRUNE [1] also run k-center with --no-prune
#   ALQ_BENCH_REPS [1]     run every timed case (alq and numpy) this many times
#                          and keep the fastest (the least disturbed) run
#   ALQ_BENCH_DIR [/tmp/alq-bench-N-D]  scratch (pool, batches, logs, results)
#   ALQ_BENCH_BUILD [<repo>/build]  built (Release) there if alq is missing
#   ALQ_BENCH_ALQ, ALQ_BENCH_TRIAD  binaries (default: in the build dir)
#   ALQ_BENCH_PYTHON [/usr/bin/python3]  needs numpy and h5py
#   GOOGLE_AL [unset]      a checkout of github.com/google/active-learning: adds
#                          their published kcenter_greedy (bench/kcenter_google.py,
#                          needs python3-sklearn) on the same pool, compared with
#                          alq's pruned batch; unset: no google column
#   ALQ_BENCH_GOOGLE_LABELED ["0 $ALQ_BENCH_L"]  the labeled counts to run theirs
#                          from (from L labeled their first call holds an
#                          N x L float32 matrix: 4 GB at 10^6 x 1000)
#   ALQ_BENCH_GOOGLE_TIMEOUT [0]  seconds after which their run is stopped
#                          (0: never); a stopped run is recorded as taking at
#                          least that long, with no batch to compare
#   ALQ_BENCH_SMOKE [0]    1: no triad, no timing claims; exit 1 unless every
#                          batch equals numpy's (or differs by an explained
#                          float near-tie); exit 77 (skip) without numpy/h5py
#
# Every timed run is one process per rank with OPENBLAS_NUM_THREADS=1 (one rank
# = one core); the numpy baseline runs with one BLAS thread too.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")
SMOKE=${ALQ_BENCH_SMOKE:-0}
if [ "$SMOKE" = 1 ]; then
  N=${ALQ_BENCH_N:-20000}; D=${ALQ_BENCH_DIM:-32}; B=${ALQ_BENCH_B:-50}; L=${ALQ_BENCH_L:-100}
  RANKS=${ALQ_BENCH_RANKS:-"1 2"}
else
  N=${ALQ_BENCH_N:-1000000}; D=${ALQ_BENCH_DIM:-128}; B=${ALQ_BENCH_B:-1000}; L=${ALQ_BENCH_L:-1000}
  RANKS=${ALQ_BENCH_RANKS:-1}
fi
C=${ALQ_BENCH_CLASSES:-10}
SEED=${ALQ_BENCH_SEED:-1}
IMB=${ALQ_BENCH_IMBALANCE:-10}
NO_PRUNE=${ALQ_BENCH_NO_PRUNE:-1}
REPS=${ALQ_BENCH_REPS:-1}
DIR=${ALQ_BENCH_DIR:-/tmp/alq-bench-$N-$D}
PY=${ALQ_BENCH_PYTHON:-/usr/bin/python3}
BUILD=${ALQ_BENCH_BUILD:-$ROOT/build}
ALQ=${ALQ_BENCH_ALQ:-$BUILD/alq}
TRIAD=${ALQ_BENCH_TRIAD:-$BUILD/bench/alq_triad}
MPIEXEC=${ALQ_BENCH_MPIEXEC:-mpiexec}

export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ "$(id -u)" = 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
MPIRUN=("$MPIEXEC" --oversubscribe)

say() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
load1() { cut -d' ' -f1 /proc/loadavg; }
# True when b is smaller than a (decimal strings); an empty a always loses.
faster() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a == "" || b + 0 < a + 0) }'; }

if ! "$PY" -c 'import numpy, h5py' 2>/dev/null; then
  say "$PY cannot import numpy and h5py (Debian: apt-get install python3-numpy python3-h5py)"
  exit 77
fi

# --- build (Release) if needed ---------------------------------------------
if [ ! -x "$ALQ" ] || { [ "$SMOKE" != 1 ] && [ ! -x "$TRIAD" ]; }; then
  say "building alq (Release) in $BUILD"
  cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build "$BUILD" -j2 --target alq alq_triad >/dev/null
fi
[ -x "$ALQ" ] || die "no alq binary at $ALQ"
BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$ALQ")/CMakeCache.txt" 2>/dev/null || true)
if [ "$SMOKE" != 1 ] && [ -n "$BUILD_TYPE" ] && [ "$BUILD_TYPE" != Release ]; then
  say "warning: $ALQ is a $BUILD_TYPE build; figures are meant for Release"
fi

# --- scratch space -----------------------------------------------------------
mkdir -p "$DIR"
# pool: embeddings + probs (float32) + labels; each batch is tiny.
need=$(( N * (D + C + 1) * 4 + 64 * 1024 * 1024 ))
avail=$(df -B1 --output=avail "$DIR" | tail -1 | tr -d ' ')
[ "$avail" -gt "$need" ] || die "$DIR has $avail bytes free, the pool needs about $need"
RESULTS=$DIR/results.jsonl
: > "$RESULTS"

POOL=$DIR/pool.h5
EMPTY=$DIR/empty-labeled.h5
PARAMS="n=$N d=$D c=$C l=$L seed=$SEED imbalance=$IMB"
if [ ! -s "$POOL" ] || [ "$(cat "$DIR/pool.params" 2>/dev/null)" != "$PARAMS" ]; then
  say "generating $POOL ($PARAMS)"
  rm -f "$POOL" "$DIR/pool.params"
  t0=$(now)
  "${MPIRUN[@]}" -n 1 "$ALQ" gen --out "$POOL" --items "$N" --dim "$D" --classes "$C" \
    --imbalance "$IMB" --labeled "$L" --seed "$SEED" >"$DIR/gen.log" 2>&1 \
    || { cat "$DIR/gen.log" >&2; die "alq gen failed"; }
  say "generated in $(awk -v a="$t0" -v b="$(now)" 'BEGIN{printf "%.1f", b-a}') s"
  echo "$PARAMS" > "$DIR/pool.params"
fi
# An empty labeled set: the "0 labeled centers" cases select from scratch.
"$PY" - "$EMPTY" <<'EOF'
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "w") as f:
    f["labeled/ids"] = np.zeros(0, dtype=np.int64)
    f["labeled/labels"] = np.zeros(0, dtype=np.int32)
EOF

"$PY" - "$RESULTS" "$N" "$D" "$B" "$SEED" "$L" "$SMOKE" "$REPS" <<'EOF'
import json, platform, subprocess, sys
path, n, d, b, seed, l, smoke, reps = sys.argv[1:]
cpu = ""
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip(); break
except OSError:
    pass
with open(path, "a") as f:
    f.write(json.dumps({"type": "meta", "n": int(n), "dim": int(d), "budget": int(b),
                        "seed": int(seed), "labeled": int(l), "smoke": smoke == "1", "reps": int(reps),
                        "host": "%s, %s" % (platform.node(), cpu)}) + "\n")
EOF

run_triad() {
  [ "$SMOKE" = 1 ] && return 0
  [ -x "$TRIAD" ] || { say "no $TRIAD: skipping the bandwidth measurement"; return 0; }
  "$TRIAD" > "$DIR/triad.$1.log"
  cat "$DIR/triad.$1.log" >&2
  "$PY" - "$DIR/triad.$1.log" "$RESULTS" <<'EOF'
import json, sys
kv = dict(l.strip().split("=", 1) for l in open(sys.argv[1]) if "_bytes_per_s=" in l)
with open(sys.argv[2], "a") as f:
    f.write(json.dumps({"type": "triad", **{k: float(v) for k, v in kv.items()}}) + "\n")
EOF
}

# numpy baseline: one per (strategy, labeled count).
run_numpy() { # strategy nlab
  local s=$1 nl=$2 out=$DIR/numpy_$1_L$2.json
  local lab=(); [ "$nl" = 0 ] && lab=(--labeled "$EMPTY")
  local rep best="" secs load
  for rep in $(seq "$REPS"); do
    load=$(load1)
    say "numpy $s, $nl labeled (run $rep/$REPS, load $load)"
    "$PY" "$HERE/kcenter_numpy.py" --pool "$POOL" "${lab[@]}" --strategy "$s" --budget "$B" \
      --seed "$SEED" --out "$out.$rep"
    secs=$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["seconds"])' "$out.$rep")
    say "  numpy $secs s"
    if faster "$best" "$secs"; then
      best=$secs
      "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); j["load1"]=float(sys.argv[3]); json.dump(j, open(sys.argv[2], "w"))' \
        "$out.$rep" "$out" "$load"
    fi
    rm -f "$out.$rep"
  done
}

# google/active-learning's kcenter_greedy, from the user's checkout ($GOOGLE_AL),
# on the same pool; its batch against alq's pruned one of the same case.
run_google() { # nlab
  local nl=$1 out=$DIR/google_kcenter_L$1.json alq_out=$DIR/alq_kcenter_L$1_p1_r1.h5
  [ -n "${GOOGLE_AL:-}" ] && [ "$SMOKE" != 1 ] || return 0
  case " ${ALQ_BENCH_GOOGLE_LABELED:-0 $L} " in *" $nl "*) ;; *) return 0 ;; esac
  [ -f "$alq_out" ] || { say "google: no alq batch $alq_out to compare with"; return 0; }
  local lab=() first=() load
  [ "$nl" = 0 ] && lab=(--labeled "$EMPTY") &&
    first=(--first "$("$PY" -c 'import h5py,sys; print(h5py.File(sys.argv[1],"r")["selected/ids"][0])' "$alq_out")")
  load=$(load1)
  local limit=${ALQ_BENCH_GOOGLE_TIMEOUT:-0} rc=0
  say "google kcenter_greedy, $nl labeled (load $load${limit:+, stopped after $limit s})"
  rm -f "$out"
  timeout "$limit" "$PY" "$HERE/kcenter_google.py" --pool "$POOL" "${lab[@]}" "${first[@]}" --budget "$B" \
    --google "$GOOGLE_AL" --out "$out" || rc=$?
  if [ "$rc" = 124 ]; then
    say "  google stopped after $limit s (at least that long)"
    printf '{"type": "google", "labeled": %s, "budget": %s, "seconds": %s, "timed_out": true, "load1": %s}\n' \
      "$nl" "$B" "$limit" "$load" >> "$RESULTS"
    return 0
  fi
  [ "$rc" = 0 ] || { say "google kcenter_greedy failed"; return 0; }
  "$PY" - "$RESULTS" "$out" "$alq_out" "$nl" "$load" <<'EOF'
import json, sys
import h5py, numpy as np
res, gj, alq_out, nl, load = sys.argv[1:]
g = json.load(open(gj))
with h5py.File(alq_out, "r") as f:
    a = f["selected/ids"][...].tolist()
diff = next((i for i, (x, y) in enumerate(zip(a, g["ids"])) if x != y), None)
rec = {"type": "google", "labeled": int(nl), "budget": g["budget"], "seconds": g["seconds"],
       "first_given": g["first_given"], "same_batch": a == g["ids"], "first_difference": diff, "load1": float(load)}
print("[bench]   google %.2f s, batch %s alq's%s" % (g["seconds"], "equals" if rec["same_batch"] else "DIFFERS FROM",
      "" if diff is None else " (first at step %d)" % diff), file=sys.stderr)
with open(res, "a") as f:
    f.write(json.dumps(rec) + "\n")
EOF
}

FAILED=0
run_alq() { # strategy nlab prune ranks
  local s=$1 nl=$2 prune=$3 r=$4
  local tag="${s}_L${nl}_p${prune}_r${r}"
  local out=$DIR/alq_$tag.h5 log=$DIR/alq_$tag.log
  local args=(select --pool "$POOL" --budget "$B" --strategy "$s" --seed "$SEED" --out "$out"
              --log-view --quiet)
  [ "$nl" = 0 ] && args+=(--labeled "$EMPTY")
  [ "$prune" = 0 ] && args+=(--no-prune)
  local case="$s, $nl labeled"
  [ "$s" = kcenter ] && { [ "$prune" = 1 ] && case+=", pruned" || case+=", --no-prune"; }
  say "alq $case, $r rank(s)"
  rm -f "$out"
  local t0 t1 rep best="" secs load ta tb bestload=""
  for rep in $(seq "$REPS"); do
    load=$(load1)
    ta=$(now)
    if ! "${MPIRUN[@]}" -n "$r" "$ALQ" "${args[@]}" >"$log.$rep" 2>&1; then
      cat "$log.$rep" >&2
      say "alq select failed ($case, $r ranks)"
      FAILED=1
      return 0
    fi
    tb=$(now)
    # Keep the run with the shortest selection (score + select + reduce
    # phases of --log-view; else wall time).
    secs=$(awk '($1 == "score" || $1 == "select" || $1 == "reduce") && NF > 3 { t += $2; n++ }
                END { if (n) print t }' "$log.$rep")
    [ -n "$secs" ] || secs=$(awk -v a="$ta" -v b="$tb" 'BEGIN { print b - a }')
    [ "$REPS" = 1 ] || say "  run $rep/$REPS: select $secs s (load $load)"
    if faster "$best" "$secs"; then
      best=$secs; t0=$ta; t1=$tb; bestload=$load
      mv "$log.$rep" "$log"
      [ "$REPS" = 1 ] || cp "$out" "$out.best"
    else
      rm -f "$log.$rep"
    fi
  done
  [ "$REPS" = 1 ] || mv "$out.best" "$out"
  local cmpj=$DIR/compare_$tag.json
  "$PY" "$HERE/compare_batches.py" --pool "$POOL" "${lab_args[@]}" --strategy "$s" --alq "$out" \
    --numpy "$DIR/numpy_${s}_L${nl}.json" --json "$cmpj" | sed 's/^/[bench]   /' >&2 || true
  # A k-center batch that differs from numpy's beyond a near-tie: replay it in
  # numpy and report how far each of alq's picks is from the step's argmax.
  local follow=""
  if [ "$SMOKE" != 1 ] && [ "$s" = kcenter ] && \
     ! "$PY" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["ok"] else 1)' "$cmpj"; then
    follow=$DIR/follow_$tag.json
    say "  replaying alq's batch in numpy (--follow) to locate the non-greedy steps"
    "$PY" "$HERE/kcenter_numpy.py" --pool "$POOL" "${lab_args[@]}" --budget "$B" --seed "$SEED" \
      --follow "$out" --out "$follow" || follow=""
  fi
  "$PY" - "$RESULTS" "$log" "$cmpj" "$DIR/numpy_${s}_L${nl}.json" "$case" "$s" "$nl" "$prune" \
    "$r" "$t0" "$t1" "$follow" "$out" "$DIR/alq_${s}_L${nl}_p1_r${r}.h5" "$bestload" <<'EOF'
import json, os, re, sys
import h5py, numpy as np
res, log, cmpj, npj, case, s, nl, prune, r, t0, t1, follow, out, pruned_out, load = sys.argv[1:]
text = open(log).read()
k = None
m = re.search(r"kcenter:((?:\s+\w+=\S+)+)", text)
if m:
    k = {}
    for kv in m.group(1).split():
        key, val = kv.split("=", 1)
        try:
            k[key] = float(val)
        except ValueError:
            k[key] = val
rec = {"type": "case", "case": case, "strategy": s, "labeled": int(nl), "prune": int(prune),
       "ranks": int(r), "alq_wall": float(t1) - float(t0), "alq_kcenter": k,
       "load1": float(load)}
# The --log-view phase table: "<phase> <max time(s)> <min time(s)> ...".
phases = {}
for line in text.splitlines():
    f = line.split()
    if len(f) > 2 and f[0] in ("read", "score", "select", "reduce", "write"):
        try:
            phases[f[0]] = float(f[1])
        except ValueError:
            pass
rec["phases"] = phases
# The selection as numpy's baseline times it (pool already in memory): k-center
# is the select phase (norms, labeled-center pass, steps, reductions); margin is
# scoring plus the global top-B.
if phases:
    if s == "kcenter":
        rec["alq_select"] = phases.get("select")
    else:
        rec["alq_select"] = phases.get("score", 0.0) + phases.get("select", 0.0) + phases.get("reduce", 0.0)
try:
    rec["compare"] = json.load(open(cmpj))
except (OSError, ValueError):
    rec["compare"] = None
nb = json.load(open(npj))
rec["numpy"] = {k2: nb[k2] for k2 in ("seconds", "init_seconds", "steps_seconds", "step_bytes", "budget", "matvec", "load1") if k2 in nb}
if follow:
    rec["follow"] = json.load(open(follow)).get("follow")
    print("[bench]   follow: %s" % rec["follow"], file=sys.stderr)
# --no-prune against the pruned run of the same case: pruning must not change
# the batch (beyond a float near-tie, which the numpy comparison would show).
if s == "kcenter" and prune == "0" and os.path.exists(pruned_out):
    with h5py.File(out, "r") as f1, h5py.File(pruned_out, "r") as f2:
        rec["same_as_pruned"] = bool(np.array_equal(f1["selected/ids"][...], f2["selected/ids"][...]))
    print("[bench]   --no-prune batch %s the pruned batch"
          % ("equals" if rec["same_as_pruned"] else "DIFFERS FROM"), file=sys.stderr)
if rec["compare"] and not rec["compare"].get("ok"):
    rec["mismatch"] = True
with open(res, "a") as f:
    f.write(json.dumps(rec) + "\n")
EOF
  if ! "$PY" -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["ok"] else 1)' "$cmpj" 2>/dev/null; then
    FAILED=1
  fi
}

say "scratch: $DIR; pool $PARAMS; budget $B; ranks: $RANKS"
run_triad start
for nl in 0 "$L"; do
  lab_args=(); [ "$nl" = 0 ] && lab_args=(--labeled "$EMPTY")
  run_numpy kcenter "$nl"
  for r in $RANKS; do
    run_alq kcenter "$nl" 1 "$r"
    [ "$NO_PRUNE" = 1 ] && run_alq kcenter "$nl" 0 "$r"
  done
  run_google "$nl"
  run_numpy margin "$nl"
  for r in $RANKS; do run_alq margin "$nl" 1 "$r"; done
done
run_triad end

"$PY" "$HERE/bench_report.py" "$RESULTS" --md "$DIR/results.md"
say "results: $DIR/results.md (table), $RESULTS (raw), logs in $DIR"
if [ "$FAILED" != 0 ]; then
  say "FAILED: some alq run failed or returned a batch that differs from numpy's beyond a float near-tie"
  exit 1
fi
exit 0
