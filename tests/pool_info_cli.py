"""alq info: prints the right shape and counts, and exits 3 naming the dataset
and row on an invalid pool (NaN embedding, bad probabilities, a repeated id,
label out of range, labeled id not in the pool)."""
import os
import shutil

import h5py
import numpy as np

from pool_cli_util import check, expect_error, finish, parse_args, run

args = parse_args()
alq, work = args.alq, args.workdir


def fields(out):
    """'key: value' lines of alq info as a dict."""
    return dict(l.split(": ", 1) for l in out.splitlines() if ": " in l)


def counts_line(counts):
    return " ".join(f"{k}={c}" for k, c in enumerate(counts))


# 200000 x 16 spans several validation blocks, so rows are numbered globally.
pool = os.path.join(work, "pool.h5")
res = run(alq, "gen", "--out", pool, "--items", 200000, "--dim", 16, "--classes", 4, "--imbalance", 3,
          "--labeled", 25, "--seed", 2)
check(res.rc == 0, f"gen: {res.err}")
res = run(alq, "info", pool)
check(res.rc == 0, f"info exit {res.rc}: {res.err.strip()}")
info = fields(res.out)
with h5py.File(pool, "r") as f:
    labels, llabels = f["labels"][:], f["labeled/labels"][:]
    chunk = f["embeddings"].chunks[0]
check(info.get("path") == pool, f"path {info.get('path')}")
check(info.get("items") == "200000" and info.get("dim") == "16" and info.get("classes") == "4", f"shape {info}")
check(info.get("class counts") == counts_line(np.bincount(labels, minlength=4)), f"class counts {info}")
check(info.get("labeled") == "25", f"labeled {info.get('labeled')}")
check(info.get("labeled class counts") == counts_line(np.bincount(llabels, minlength=4)), "labeled counts")
check(info.get("/probs", "").startswith("float32 [200000][4]"), "/probs line")
check(info.get("/ids", "").startswith("absent"), "/ids line")
check(f"{chunk} rows per chunk" in info.get("/embeddings", ""), f"chunking {info.get('/embeddings')}")
check(info.get("valid", "").startswith("yes"), "valid line")

# An imported-like pool: no /probs, explicit /ids, unknown labels (-1).
small = os.path.join(work, "small.h5")
with h5py.File(small, "w") as f:
    f["embeddings"] = np.arange(20, dtype=np.float32).reshape(10, 2)
    f["ids"] = np.arange(10, dtype=np.int64) * 5 + 100
    f["labels"] = np.array([0, 1, 2, -1, 0, 0, 1, -1, 2, 2], dtype=np.int32)
    f["labeled/ids"] = np.array([145, 100], dtype=np.int64)
    f["labeled/labels"] = np.array([2, 0], dtype=np.int32)
    f.attrs["classes"] = np.int64(3)
res = run(alq, "info", small)
info = fields(res.out)
check(res.rc == 0, f"small info exit {res.rc}: {res.err.strip()}")
check(info.get("class counts") == "0=3 1=2 2=3 unknown=2", f"small class counts {info.get('class counts')}")
check(info.get("labeled class counts") == "0=1 1=0 2=1", f"small labeled counts {info.get('labeled class counts')}")
check(info.get("/probs") == "absent", "small /probs absent")


def broken(name, edit):
    """A copy of `pool` (or `small`) changed by edit(h5py file)."""
    src = small if name.startswith("small") else pool
    path = os.path.join(work, name + ".h5")
    shutil.copy(src, path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def set_nan(f):
    f["embeddings"][150001, 5] = np.nan


def bad_probs(f):
    f["probs"][7] = [0.5, 0.5, 0.5, 0.0]


def negative_prob(f):
    f["probs"][8] = [1.5, -0.5, 0.0, 0.0]


def label_out_of_range(f):
    f["labels"][199999] = 4


def duplicate_ids(f):
    f["ids"][6] = 120  # the id of row 4: ids may come in any order, but once each


def labeled_missing(f):
    del f["labeled/ids"]
    f["labeled/ids"] = np.array([145, 101], dtype=np.int64)


cases = [
    ("nan-embedding", set_nan, ["/embeddings", "row 150001", "nan"]),
    ("probs-sum", bad_probs, ["/probs", "row 7", "1.5"]),
    ("probs-negative", negative_prob, ["/probs", "row 8"]),
    ("label-range", label_out_of_range, ["/labels", "row 199999", "4"]),
    ("small-duplicate-ids", duplicate_ids, ["/ids", "rows 4 and 6", "120"]),
    ("small-labeled-missing", labeled_missing, ["/labeled/ids", "101", "not in the pool"]),
]
for name, edit, fragments in cases:
    path = broken(name, edit)
    expect_error(run(alq, "info", path), 3, path, *fragments, what=f"info {name}")

expect_error(run(alq, "info", os.path.join(work, "missing.h5")), 3, "missing.h5", what="info missing file")
expect_error(run(alq, "info"), 2, "POOL", what="info without a pool")
expect_error(run(alq, "info", pool, pool), 2, what="info with two pools")
res = run(alq, "info", "--help")
check(res.rc == 0 and "usage" in res.out, "info --help")
finish("pool-info-cli")
