#!/usr/bin/env python3
"""bench/half_bench.py: float16 pools against float32 ones (issue 16 goal 3).

One run measures, on one core, with the same values stored both ways (a
generated pool rounded to float16, and its float32 copy):

  bandwidth   the machine's single-core limit in the same run: alq_triad's
              triad and read-only rates (bench/triad.c);
  step        the unpruned k-center step (`--no-prune`, every candidate
              against the new center each step): --log-view's unpruned
              bytes / seconds, as a share of the read-only and triad rates;
  pass        the streaming pass over the pool file (kcenter's scan: read,
              validate, keep every row): stored bytes / the passes' wall
              time, page cache warm, and cold when --cold can drop it (a cold
              `dd` of the same file is then its limit); float16 rows are
              mapped from the file in place, and once more copied
              (ALQ_MAP=0, the path before the mapping);
  page cache  the limit of a pass from a file, warm: `dd bs=16M` of the
              file to /dev/null, and read() into one reused 4 MiB buffer
              (about alq's chunk), each the best of --reps; every pass row
              says what share of both it reaches;
  baseline    with --baseline-alq (an alq built before float16 pools were
              widened by alq itself, e.g. commit 8405951): the same pass on
              the float16 pool through HDF5's own conversion;
  before      with --before-alq (another build, --before-label names it):
              the same passes with it, float32 and float16, in the same run.

Every float16 batch must equal its float32 copy's, ids and score bits
(exit 1 otherwise).  Usage:

  bench/half_bench.py --alq build/alq --triad build/bench/alq_triad \
      [--items 1000000] [--dim 128] [--budget 30] [--reps 3] [--cold] \
      [--baseline-alq /tmp/old/alq] [--before-alq /tmp/prev/alq --before-label 57b57a7] \
      [--dir /tmp/alq-half-bench]

Prints a Markdown table for docs/benchmarks.md; needs numpy and h5py.
"""
import argparse
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--alq", required=True)
p.add_argument("--triad", required=True)
p.add_argument("--baseline-alq")
p.add_argument("--before-alq")
p.add_argument("--before-label", default="before")
p.add_argument("--items", type=int, default=1000000)
p.add_argument("--dim", type=int, default=128)
p.add_argument("--budget", type=int, default=30)
p.add_argument("--reps", type=int, default=3, help="runs per case; the fastest is kept")
p.add_argument("--cold", action="store_true", help="also cold passes (drops the page cache: root)")
p.add_argument("--dir", default="/tmp/alq-half-bench")
args = p.parse_args()
os.makedirs(args.dir, exist_ok=True)
env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def path(name):
    return os.path.join(args.dir, name)


def load():
    return open("/proc/loadavg").read().split()[0]


def make_pools():
    gen, f16, f32 = path("gen.h5"), path("f16.h5"), path("f32.h5")
    tag = f"{args.items} {args.dim}"
    if os.path.exists(f32) and open(path("params")).read() == tag:
        return f16, f32
    subprocess.run([args.alq, "gen", "--out", gen, "--items", str(args.items), "--dim", str(args.dim), "--classes",
                    "10", "--imbalance", "10", "--seed", "1"], check=True, env=env, capture_output=True)
    with h5py.File(gen, "r") as g:
        half = g["embeddings"][:].astype(np.float16)
        probs, labels = g["probs"][:], g["labels"][:]
    for name, rows in ((f16, half), (f32, half.astype(np.float32))):
        with h5py.File(name, "w") as f:
            f["embeddings"], f["probs"], f["labels"] = rows, probs, labels
    os.remove(gen)
    open(path("params"), "w").write(tag)
    return f16, f32


def triad():
    out = subprocess.run([args.triad], check=True, capture_output=True, text=True).stdout
    kv = dict(re.findall(r"^(\w+)=([0-9.eE+-]+)$", out, re.M))
    return float(kv["triad_bytes_per_s"]), float(kv["read_bytes_per_s"])


def drop_cache():
    subprocess.run(["sync"], check=True)
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3\n")


def select(alq, pool, tag, *opts, extra_env=None):
    out = path(f"b-{tag}.h5")
    cmd = [alq, "select", "--pool", pool, "--strategy", "kcenter", "--out", out, "--quiet", "--log-view", *opts]
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(env, **(extra_env or {})))
    if r.returncode:
        sys.exit(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr}")
    log = r.stderr
    step = re.search(r"unpruned_steps_seconds=([0-9.]+) unpruned_bytes=(\d+)", log)
    wall = re.search(r"passes' wall time ([0-9.]+) s", log)
    read = re.search(r"^read +[0-9.]+ +[0-9.]+ +[0-9.]+ +(\d+)", log, re.M)
    rows = re.search(r"^candidate rows: (.*)$", log, re.M)
    with h5py.File(out, "r") as f:
        batch = (f["selected/ids"][:], f["selected/scores"][:].view(np.uint64))
    return {"step_s": float(step.group(1)) if step else None, "step_bytes": int(step.group(2)) if step else None,
            "pass_s": float(wall.group(1)), "pass_bytes": int(read.group(1)), "batch": batch,
            "rows": rows.group(1) if rows else None}


def best(alq, pool, tag, key, *opts, cold=False, extra_env=None):
    runs = []
    for _ in range(args.reps):
        if cold:
            drop_cache()
        runs.append(select(alq, pool, tag, *opts, extra_env=extra_env))
    return min(runs, key=lambda r: r[key])


def dd_rate(pool):
    t0 = time.monotonic()
    subprocess.run(["dd", f"if={pool}", "of=/dev/null", "bs=16M"], check=True, capture_output=True)
    return os.path.getsize(pool) / (time.monotonic() - t0)


def dd_cold(pool):
    drop_cache()
    return dd_rate(pool)


def read_rate(pool):
    """read() of the whole file into one reused 4 MiB buffer: the page cache's copy alone."""
    buf = memoryview(bytearray(4 << 20))
    t0 = time.monotonic()
    with open(pool, "rb", buffering=0) as f:
        while f.readinto(buf):
            pass
    return os.path.getsize(pool) / (time.monotonic() - t0)


def warm_limits(pool):
    """The best warm dd and read() rates of --reps runs (the first run warms the cache)."""
    read_rate(pool)
    return max(dd_rate(pool) for _ in range(args.reps)), max(read_rate(pool) for _ in range(args.reps))


f16, f32 = make_pools()
tri, rd = triad()
print(f"machine: {os.uname().nodename}, load {load()}; single-core triad {tri / 1e9:.2f} GB/s, "
      f"read-only {rd / 1e9:.2f} GB/s (alq_triad, same run)")
rows, failures = [], []
# the unpruned step
s32 = best(args.alq, f32, "step32", "step_s", "--no-prune", "--budget", str(args.budget))
s16 = best(args.alq, f16, "step16", "step_s", "--no-prune", "--budget", str(args.budget))
for name, s in (("float32", s32), ("float16", s16)):
    rate = s["step_bytes"] / s["step_s"]
    rows.append(f"| unpruned k-center step, {args.budget} steps | {name} | {s['step_bytes'] / 1e9:.2f} GB | "
                f"{s['step_s']:.3f} s | {rate / 1e9:.2f} GB/s | {100 * rate / rd:.0f}% | {100 * rate / tri:.0f}% | "
                f"- | {s32['step_s'] / s['step_s']:.2f}x | {load()} |")
if not all(np.array_equal(a, b) for a, b in zip(s16["batch"], s32["batch"])):
    failures.append("--no-prune: the float16 batch differs from the float32 copy's")
# the page cache's warm copy: a pass from a file cannot beat it
limits = {pool: warm_limits(pool) for pool in (f32, f16)}
for pool, (dd, rdr) in limits.items():
    print(f"warm page cache, {os.path.basename(pool)}: dd bs=16M {dd / 1e9:.2f} GB/s, read() into 4 MiB "
          f"{rdr / 1e9:.2f} GB/s (best of {args.reps}, load {load()})")
# the streaming pass, warm (and cold)
cases = [("warm", False)] + ([("cold", True)] if args.cold else [])
for cache, cold in cases:
    p32 = best(args.alq, f32, f"pass32{cache}", "pass_s", "--budget", "1", cold=cold)
    p16 = best(args.alq, f16, f"pass16{cache}", "pass_s", "--budget", "1", cold=cold)
    # this build's copy path: the float16 rows copied into candidate memory, not mapped (workers/scan.c)
    p16copy = best(args.alq, f16, f"pass16copy{cache}", "pass_s", "--budget", "1", cold=cold,
                   extra_env={"ALQ_MAP": "0"})
    line = [("float32", f32, p32), ("float16", f16, p16), ("float16, copied (ALQ_MAP=0)", f16, p16copy)]
    print(f"{cache} pass, float16: candidate rows: {p16['rows']}; with ALQ_MAP=0: {p16copy['rows']}")
    if args.before_alq:
        for name, pool in (("float32", f32), ("float16", f16)):
            line.append((f"{name}, {args.before_label}", pool,
                         best(args.before_alq, pool, f"passbefore{name}{cache}", "pass_s", "--budget", "1", cold=cold)))
    if args.baseline_alq:
        line.append(("float16, HDF5's conversion (baseline)", f16,
                     best(args.baseline_alq, f16, f"passold{cache}", "pass_s", "--budget", "1", cold=cold)))
    limit = dd_cold(f16) if cold else rd
    for name, pool, r in line:
        rate = r["pass_bytes"] / r["pass_s"]
        # the page cache's copy counts the file's bytes; the pass counts the datasets it reads
        dd, rdr = limits[pool]
        page = "-" if cold else f"{100 * rate / dd:.0f}% / {100 * rate / rdr:.0f}%"
        rows.append(f"| streaming pass, {cache} cache | {name} | {r['pass_bytes'] / 1e9:.2f} GB | {r['pass_s']:.3f} s | "
                    f"{rate / 1e9:.2f} GB/s | {100 * rate / limit:.0f}% of {'cold dd' if cold else 'read-only'} | "
                    f"{100 * rate / tri:.0f}% | {page} | {p32['pass_s'] / r['pass_s']:.2f}x | {load()} |")
        if not all(np.array_equal(a, b) for a, b in zip(r["batch"], p32["batch"])):
            failures.append(f"{cache} pass, {name}: another batch than the float32 copy's")
print("| case | stored as | bytes | time (best of %d) | rate | of read-only bw | of triad | of warm dd / read() |"
      " float32 time / this | load |" % args.reps)
print("|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
for f in failures:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if failures else 0)
