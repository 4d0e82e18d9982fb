"""Pools in several files (issue 11, section 1; docs/format.md "Pools in several files").

A pool written with h5py (float32 `emb`, float64 `pred`, unsorted int64 `idx`)
is split into three shards of unequal size, once with every field in one file
per shard and once with embeddings and model outputs in separate files; a pool
list over the shards must select, at 1, 2 and 3 ranks, the same margin and
margin-kcenter batch as the single file at 1 rank, with a labeled set whose ids
fall in every shard.  The margin batch is also checked against numpy's
smallest margins.  Bad lists fail with one line naming the list and line (a
syntax error, a missing shard file) or both shard files (a dim mismatch).
`alq info` summarises and validates a pool list (and a gen: pool) through the
same reader, naming the global row of a bad value and an id two shards share.
"""
import argparse
import csv
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

p = argparse.ArgumentParser()
p.add_argument("--alq", required=True)
p.add_argument("--mpiexec", required=True)
p.add_argument("--workdir", required=True)
args = p.parse_args()
shutil.rmtree(args.workdir, ignore_errors=True)
os.makedirs(args.workdir)
wd = args.workdir
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def path(name):
    return os.path.join(wd, name)


def alq(ranks, *argv):
    cmd = [args.mpiexec, "-n", str(ranks), args.alq, *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


N, D, C, B, L = 2400, 12, 5, 20, 30
rng = np.random.default_rng(17)
emb = rng.normal(size=(N, D)).astype(np.float32)
pred = np.exp(rng.normal(scale=2.0, size=(N, C)))
pred /= pred.sum(1, keepdims=True)
ids = rng.permutation(40 * N)[:N].astype(np.int64) * 7 + 3  # unique, unsorted
cuts = [0, 500, 1700, N]  # shards of 500, 1200 and 700 rows
labeled_rows = np.concatenate([rng.choice(np.arange(lo, hi), L // 3, replace=False)
                               for lo, hi in zip(cuts, cuts[1:])])
labeled_ids, labeled_labels = ids[labeled_rows], rng.integers(0, C, len(labeled_rows)).astype(np.int32)

with h5py.File(path("single.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = emb, pred, ids
with h5py.File(path("labeled.h5"), "w") as f:
    f["labeled/ids"], f["labeled/labels"] = labeled_ids, labeled_labels
os.makedirs(path("parts"))
for s, (lo, hi) in enumerate(zip(cuts, cuts[1:])):
    with h5py.File(path(f"parts/part-{s:03d}.h5"), "w") as f:
        f["emb"], f["pred"], f["idx"] = emb[lo:hi], pred[lo:hi], ids[lo:hi]
    with h5py.File(path(f"parts/emb-{s:03d}.h5"), "w") as f:
        f["emb"] = emb[lo:hi]
    with h5py.File(path(f"parts/out-{s:03d}.h5"), "w") as f:
        f["pred"], f["idx"] = pred[lo:hi], ids[lo:hi]


def write_list(name, lines):
    with open(path(name), "w") as f:
        f.write("# alq pool list 1\n" + "".join(l + "\n" for l in lines))


write_list("shards.alqlist", [f"parts/part-{s:03d}.h5" for s in range(3)])
write_list("fields.alqlist", [f"embeddings=parts/emb-{s:03d}.h5 probs=parts/out-{s:03d}.h5 ids=parts/out-{s:03d}.h5"
                              for s in range(3)])
layout = ["--layout", "embeddings=/emb,probs=/pred,ids=/idx"]


def batch_ids(pool, strategy, ranks):
    tag = f"{os.path.basename(pool)}-{strategy}-{ranks}"
    out, out_csv = path(f"b-{tag}.h5"), path(f"b-{tag}.csv")
    r = alq(ranks, "select", "--pool", path(pool), *layout, "--labeled", path("labeled.h5"), "--budget", B,
            "--strategy", strategy, "--seed", 5, "--out", out, "--csv", out_csv, "--quiet")
    check(r.returncode == 0, f"select {pool} {strategy} -n {ranks}: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode:
        return None
    with open(out_csv) as f:
        return [int(row["id"]) for row in csv.DictReader(f)]


p32 = np.sort(pred.astype(np.float32), axis=1)
margin = p32[:, -1].astype(np.float64) - p32[:, -2]
unlabeled = np.setdiff1d(np.arange(N), labeled_rows)
expect_margin = set(ids[unlabeled[np.argsort(margin[unlabeled], kind="stable")[:B]]].tolist())

for strategy in ("margin", "margin-kcenter"):
    reference = batch_ids("single.h5", strategy, 1)
    check(reference is not None and len(reference) == B, f"{strategy}: the single file gives {B} ids")
    if strategy == "margin" and reference:
        check(set(reference) == expect_margin, "margin batch of the single file = numpy's smallest margins")
    for pool in ("shards.alqlist", "fields.alqlist"):
        for ranks in (1, 2, 3):
            got = batch_ids(pool, strategy, ranks)
            check(got == reference, f"{strategy} on {pool} at {ranks} rank(s) = the single file's batch")


def one_error(r, code, patterns, what):
    lines = [l for l in r.stderr.splitlines() if l.startswith("alq: error:")]
    check(r.returncode == code, f"{what}: exit {r.returncode}, expected {code}: {r.stderr.strip()}")
    check(len(lines) == 1, f"{what}: {len(lines)} error lines, expected 1: {r.stderr.strip()}")
    for pat in patterns:
        check(any(pat in l for l in lines), f"{what}: error line lacks {pat!r}: {lines}")
    check(not os.path.exists(path("fail.h5")), f"{what}: a batch file was written")


def select_fails(ranks, pool):
    return alq(ranks, "select", "--pool", path(pool), *layout, "--labeled", path("labeled.h5"), "--budget", 5,
               "--strategy", "margin", "--out", path("fail.h5"), "--quiet")


write_list("badfield.alqlist", ["parts/part-000.h5", "prob=parts/out-001.h5"])
one_error(select_fails(2, "badfield.alqlist"), 3, ["badfield.alqlist line 3", "prob"], "an unknown field")
write_list("missing.alqlist", ["parts/part-000.h5", "parts/part-009.h5"])
one_error(select_fails(2, "missing.alqlist"), 3, ["part-009.h5"], "a missing shard file")
with h5py.File(path("parts/wide.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = np.zeros((10, D + 1), np.float32), pred[:10], np.arange(10**7, 10**7 + 10)
write_list("dims.alqlist", ["parts/part-000.h5", "parts/wide.h5"])
one_error(select_fails(2, "dims.alqlist"), 3, ["part-000.h5", "wide.h5"], "shards of different dims")


# alq info on a pool list: the shape and class-free summary of the whole pool,
# every row validated through the list; a bad value or an id repeated across
# shards fails with one line.
def info(pool):
    return alq(1, "info", path(pool), *layout)


r = info("fields.alqlist")
check(r.returncode == 0, f"info fields.alqlist: exit {r.returncode}: {r.stderr.strip()}")
check(f"items: {N}\n" in r.stdout and f"dim: {D}\n" in r.stdout and "shards: 3 " in r.stdout,
      f"info fields.alqlist: items {N}, dim {D}, 3 shards: {r.stdout}")
check("/pred: float64" in r.stdout and "/emb: float32" in r.stdout and "/idx: int64" in r.stdout,
      f"info fields.alqlist: the shards' stored types: {r.stdout}")
check(f"valid: yes ({N} rows" in r.stdout, f"info fields.alqlist: every row valid: {r.stdout}")
bad = emb[1700:].copy()
bad[123, 4] = np.nan
with h5py.File(path("parts/emb-nan.h5"), "w") as f:
    f["emb"] = bad
write_list("nan.alqlist", [f"embeddings=parts/emb-{s:03d}.h5 probs=parts/out-{s:03d}.h5 ids=parts/out-{s:03d}.h5"
                           for s in range(2)] + ["embeddings=parts/emb-nan.h5 probs=parts/out-002.h5 ids=parts/out-002.h5"])
one_error(info("nan.alqlist"), 3, ["/emb", str(1700 + 123)], "info: a NaN in the third shard (global row)")
write_list("dup.alqlist", ["parts/part-000.h5", "parts/part-001.h5", "parts/part-000.h5"])
r = info("dup.alqlist")
one_error(r, 3, ["dup.alqlist", "twice"], "info: an id in two shards")
m = re.search(r"id (-?\d+) twice \(rows (\d+) and (\d+)\)", r.stderr)
check(m and int(m.group(1)) in set(ids[:500].tolist()) and int(m.group(3)) == int(m.group(2)) + 1700,
      f"info: the repeated id is a first-shard id, named by its two global rows: {r.stderr.strip()}")
r = alq(1, "info", "gen:items=3000,dim=8,classes=4,seed=3")
check(r.returncode == 0 and "valid: yes (3000 rows" in r.stdout and "float32 (generated)" in r.stdout,
      f"info gen:: exit {r.returncode}: {r.stdout} {r.stderr.strip()}")

if failures:
    print(f"pool_multi: {len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("pool_multi: every check passed")
