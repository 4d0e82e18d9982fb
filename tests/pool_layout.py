"""Pools in the user's layout (issue 11, sections 1-3; docs/format.md "Pools in your layout").

An h5py-written pool -- `emb` float16 or float32, `pred` float64, `idx` int64
ids in no particular order -- must give, without rewriting, the same margin and
margin-kcenter batch as its h5py rewrite into the standard layout (sorted ids,
float32), at 1 and 2 ranks; the margin batch must also match numpy's
smallest-margin items.  Equal values stored as float16 and float32 give the
same batch.  Bad layouts fail with one line: a missing dataset lists what the
file holds, a duplicated id names both rows, a uint64 id above 2^63 - 1 is
refused, a malformed --layout is a usage error.  The labeled set is given as
HDF5 and as CSV.
"""
import argparse
import csv
import os
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


def alq(ranks, *argv):
    cmd = [args.mpiexec, "-n", str(ranks), args.alq, *map(str, argv)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


N, D, C, B, L = 3000, 16, 6, 25, 40
rng = np.random.default_rng(11)
emb16 = rng.normal(size=(N, D)).astype(np.float16)  # float16 values: float32 holds them exactly
logits = rng.normal(scale=2.0, size=(N, C))
pred = np.exp(logits)
pred /= pred.sum(1, keepdims=True)  # float64 softmax outputs
ids = (rng.permutation(50 * N)[:N].astype(np.int64) * 13 + 5)  # unique, unsorted
labeled_rows = rng.choice(N, L, replace=False)
labeled_ids, labeled_labels = ids[labeled_rows], rng.integers(0, C, L).astype(np.int32)


def path(name):
    return os.path.join(wd, name)


with h5py.File(path("user16.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = emb16, pred, ids
with h5py.File(path("user32.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = emb16.astype(np.float32), pred, ids
order = np.argsort(ids)
with h5py.File(path("standard.h5"), "w") as f:
    f["embeddings"] = emb16[order].astype(np.float32)
    f["probs"] = pred[order].astype(np.float32)
    f["ids"] = ids[order]
with h5py.File(path("labeled.h5"), "w") as f:
    f["labeled/ids"], f["labeled/labels"] = labeled_ids, labeled_labels

user_layout = {
    "user16.h5": ["--layout", "embeddings=/emb,probs=/pred,ids=/idx"],
    "user32.h5": ["--embeddings", "/emb", "--probs", "/pred", "--ids=/idx"],
    "standard.h5": [],
}


def batch_ids(name, strategy, ranks):
    out, out_csv = path(f"b-{name}-{strategy}-{ranks}.h5"), path(f"b-{name}-{strategy}-{ranks}.csv")
    r = alq(ranks, "select", "--pool", path(name), *user_layout[name], "--labeled", path("labeled.h5"),
            "--budget", B, "--strategy", strategy, "--seed", 3, "--out", out, "--csv", out_csv, "--quiet")
    check(r.returncode == 0, f"select {name} {strategy} -n {ranks}: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode:
        return None
    with open(out_csv) as f:
        return [int(row["id"]) for row in csv.DictReader(f)]


# numpy's margin batch: the B unlabeled items with the smallest gap between the
# two largest float32 probabilities.
p32 = np.sort(pred.astype(np.float32), axis=1)
margin = p32[:, -1].astype(np.float64) - p32[:, -2]
unlabeled = np.setdiff1d(np.arange(N), labeled_rows)
expect_margin = set(ids[unlabeled[np.argsort(margin[unlabeled], kind="stable")[:B]]].tolist())

for strategy in ("margin", "margin-kcenter"):
    reference = batch_ids("standard.h5", strategy, 1)
    check(reference is not None and len(reference) == B, f"{strategy}: standard pool gives {B} ids")
    if strategy == "margin" and reference:
        check(set(reference) == expect_margin, "margin batch of the standard pool = numpy's smallest margins")
    for name in ("user16.h5", "user32.h5", "standard.h5"):
        for ranks in (1, 2):
            got = batch_ids(name, strategy, ranks)
            check(got == reference, f"{strategy} on {name} at {ranks} rank(s) = the standard pool's batch at 1 rank")


# the labeled set as CSV (id,label; labels/ reads it): the same batches
with open(path("labeled.csv"), "w") as f:
    f.write("id,label\n" + "".join(f"{i},{y}\n" for i, y in zip(labeled_ids, labeled_labels)))
for strategy in ("margin", "margin-kcenter"):
    for ranks in (1, 2):
        out_csv = path(f"csv-{strategy}-{ranks}.csv")
        r = alq(ranks, "select", "--pool", path("user16.h5"), *user_layout["user16.h5"], "--labeled",
                path("labeled.csv"), "--budget", B, "--strategy", strategy, "--seed", 3, "--out",
                path(f"csv-{strategy}-{ranks}.h5"), "--csv", out_csv, "--quiet")
        check(r.returncode == 0, f"select with a CSV labeled set: exit {r.returncode}: {r.stderr.strip()}")
        if r.returncode == 0:
            with open(out_csv) as f:
                got = [int(row["id"]) for row in csv.DictReader(f)]
            check(got == batch_ids("standard.h5", strategy, 1),
                  f"{strategy} with labeled.csv at {ranks} rank(s) = the standard pool's batch")


def one_error(r, code, patterns, what):
    lines = [l for l in r.stderr.splitlines() if l.startswith("alq: error:")]
    check(r.returncode == code, f"{what}: exit {r.returncode}, expected {code}: {r.stderr.strip()}")
    check(len(lines) == 1, f"{what}: {len(lines)} error lines, expected 1")
    for pat in patterns:
        check(any(pat in l for l in lines), f"{what}: error line lacks {pat!r}: {lines}")


def select_fails(ranks, pool, layout, *extra):
    return alq(ranks, "select", "--pool", path(pool), *layout, "--budget", 5, "--strategy", "margin",
               "--out", path("fail.h5"), "--quiet", *extra)


# a missing dataset: the error lists what the file holds (name, shape, dtype)
r = select_fails(2, "user16.h5", [])
one_error(r, 3, ["/embeddings is missing", "/emb [3000 x 16] float16", "/pred [3000 x 6] float64",
                 "/idx [3000] int64"], "standard names on a user-layout pool")
r = select_fails(1, "user16.h5", ["--embeddings", "/emb", "--probs", "/probabilities"])
one_error(r, 3, ["/probabilities is missing", "/emb [3000 x 16] float16"], "a named dataset that is absent")
check(not os.path.exists(path("fail.h5")), "no batch left after a failed select")

# duplicated ids: refused naming the id and both rows, at any rank count
dup = ids.copy()
dup[2500] = dup[700]
with h5py.File(path("dup.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = emb16, pred, dup
user_layout["dup.h5"] = user_layout["user16.h5"]
for ranks in (1, 2):
    r = select_fails(ranks, "dup.h5", user_layout["dup.h5"])
    one_error(r, 3, [f"id {ids[700]} twice", "rows 700 and 2500"], f"duplicated id at {ranks} rank(s)")

# uint64 ids: accepted below 2^63, refused above
with h5py.File(path("u64.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = emb16, pred, ids.astype(np.uint64)
user_layout["u64.h5"] = user_layout["user16.h5"]
check(batch_ids("u64.h5", "margin", 2) == batch_ids("standard.h5", "margin", 1), "uint64 ids give the same batch")
big = ids.astype(np.uint64)
big[1234] = np.uint64(2**63 + 7)
with h5py.File(path("u64big.h5"), "w") as f:
    f["emb"], f["pred"], f["idx"] = emb16, pred, big
r = select_fails(2, "u64big.h5", user_layout["user16.h5"])
one_error(r, 3, ["/idx row 1234", str(2**63 + 7), "2^63"], "uint64 id above 2^63 - 1")

# a virtual dataset over part files: parallel HDF5 1.10 cannot read one, so it
# is refused up front, naming the dataset (not a bare read failure later)
half = len(ids) // 2
for k, rows in enumerate((slice(0, half), slice(half, len(ids)))):
    with h5py.File(path("part-%d.h5" % k), "w") as f:
        f["emb"], f["pred"], f["idx"] = emb16[rows], pred[rows], ids[rows]
with h5py.File(path("vds.h5"), "w") as f:
    for name in ("emb", "pred", "idx"):
        whole = emb16 if name == "emb" else pred if name == "pred" else ids
        lay = h5py.VirtualLayout(shape=whole.shape, dtype=whole.dtype)
        lay[:half] = h5py.VirtualSource(path("part-0.h5"), name, shape=(half,) + whole.shape[1:])
        lay[half:] = h5py.VirtualSource(path("part-1.h5"), name, shape=(len(ids) - half,) + whole.shape[1:])
        f.create_virtual_dataset(name, lay)
r = select_fails(2, "vds.h5", user_layout["user16.h5"])
one_error(r, 3, ["/emb is an HDF5 virtual dataset", "cannot read"], "a virtual dataset")

# malformed layouts are usage errors
r = select_fails(1, "user16.h5", ["--layout", "embedding=/emb"])
one_error(r, 2, ["unknown key 'embedding'"], "--layout with an unknown key")
r = select_fails(1, "user16.h5", ["--ids", "idx"])
one_error(r, 2, ["--ids", "starting with '/'"], "--ids without a leading /")

# alq info reads the user's layout and validates ids in any order
r = subprocess.run([args.alq, "info", path("user16.h5"), "--layout", "embeddings=/emb,probs=/pred,ids=/idx"],
                   capture_output=True, text=True, timeout=120)
check(r.returncode == 0, f"info on the user layout: exit {r.returncode}: {r.stderr.strip()}")
check("/emb: float16 [3000][16]" in r.stdout, f"info names /emb and its stored type: {r.stdout}")
check("valid: yes" in r.stdout, "info validates the user-layout pool")
r = subprocess.run([args.alq, "info", path("dup.h5"), "--layout", "embeddings=/emb,probs=/pred,ids=/idx"],
                   capture_output=True, text=True, timeout=120)
one_error(r, 3, ["twice", "rows 700 and 2500"], "info on duplicated ids")

if failures:
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    sys.exit(1)
print("pool layout: all checks passed")
