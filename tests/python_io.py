#!/usr/bin/python3
"""tests/python_io.py: alq.io's readers and writers against alq's own tools.

    python_io.py --alq build/alq --workdir DIR

With PYTHONPATH=<repo>/python (alq.io needs only h5py; ALQ_LIBRARY is not
used).  Checks:
  * write_pool -> read_pool gives back every array (converted to alq's dtypes)
    and alq's chunk height; `alq info` validates the written pool;
  * write_batch -> read_batch round-trips; `alq export` reads the written
    batch and lists its ids in order;
  * read_batch on a batch `alq select` wrote, and write_batch_csv of it, byte
    for byte the CSV `alq select --csv` wrote;
  * read_state on the state `alq select --state` created: round 1 is the
    batch, /pending its ids sorted, /labeled the pool's labeled set.
"""
import argparse
import csv
import os
import subprocess
import sys

import h5py
import numpy as np

import alq

failures = []


def check(what, ok):
    if not ok:
        failures.append(what)
        print("FAIL: " + what, flush=True)


def run(cmd):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def pool_round_trip(alq_path, w):
    rng = np.random.default_rng(4)
    n, d, c = 500, 7, 3
    x = rng.normal(size=(n, d))                      # float64: written as float32
    p = rng.random(size=(n, c)) + 0.1
    p /= p.sum(axis=1, keepdims=True)
    ids = np.cumsum(rng.integers(1, 5, size=n)).astype(np.int32)
    y = rng.integers(0, c, size=n)
    lab = np.array([5, 1, 77])
    path = os.path.join(w, "pool.h5")
    alq.io.write_pool(path, x, probs=p, ids=ids, labels=y, labeled_ids=ids[lab], labeled_labels=y[lab])
    got = alq.io.read_pool(path)
    check("pool embeddings", got["embeddings"].dtype == np.float32 and np.array_equal(got["embeddings"],
                                                                                    x.astype(np.float32)))
    check("pool probs", got["probs"].dtype == np.float32 and np.array_equal(got["probs"], p.astype(np.float32)))
    check("pool ids", got["ids"].dtype == np.int64 and np.array_equal(got["ids"], ids))
    check("pool labels", got["labels"].dtype == np.int32 and np.array_equal(got["labels"], y))
    check("pool labeled set", np.array_equal(got["labeled_ids"], ids[lab])
          and np.array_equal(got["labeled_labels"], y[lab]))
    check("pool classes", got["classes"] == c)
    with h5py.File(path, "r") as f:
        check("pool chunk height", f["embeddings"].chunks == (min(n, (1 << 20) // (4 * d)), d)
              and f["ids"].chunks == f["embeddings"].chunks[:1])
    r = run([alq_path, "info", path])
    check("alq info accepts the written pool: %s" % r.stderr.strip(), r.returncode == 0)
    check("no temporary file left", sorted(os.listdir(w)) == ["pool.h5"])
    return path, ids


def batch_round_trip(alq_path, w, pool, ids):
    sel = ids[[40, 3, 300, 12]]
    scores = np.array([0.5, 0.25, 1e-9, 3.0])
    path = os.path.join(w, "mine.h5")
    alq.io.write_batch(path, sel, scores, strategy="margin", pool=pool, seed=3)
    got_ids, got_scores, attrs = alq.io.read_batch(path)
    check("batch ids", got_ids.dtype == np.int64 and np.array_equal(got_ids, sel))
    check("batch scores", np.array_equal(got_scores, scores))
    check("batch attributes", attrs["strategy"] == "margin" and attrs["pool"] == pool and attrs["seed"] == 3
          and attrs["selected"] == 4)
    tasks = os.path.join(w, "tasks.csv")
    r = run([alq_path, "export", "--batch", path, "--csv", tasks, "--pool", pool])
    check("alq export reads the written batch: %s" % r.stderr.strip(), r.returncode == 0)
    if r.returncode == 0:
        with open(tasks) as f:
            rows = list(csv.DictReader(f))
        check("exported ids in selection order", [int(row["id"]) for row in rows] == list(sel))


def cli_batch_and_state(alq_path, w, pool):
    out, out_csv, state = (os.path.join(w, n) for n in ("cli.h5", "cli.csv", "state.h5"))
    r = run([alq_path, "select", "--pool", pool, "--budget", "9", "--strategy", "margin", "--seed", "1", "--out", out,
             "--csv", out_csv, "--state", state, "--quiet"])
    check("alq select: %s" % r.stderr.strip(), r.returncode == 0)
    if r.returncode:
        return
    ids, scores, attrs = alq.io.read_batch(out)
    check("read_batch of alq's batch", len(ids) == 9 and attrs["strategy"] == "margin" and attrs["budget"] == 9)
    mine = os.path.join(w, "mine.csv")
    alq.io.write_batch_csv(mine, ids, scores)
    with open(mine, "rb") as a, open(out_csv, "rb") as b:
        check("write_batch_csv is alq select's --csv byte for byte", a.read() == b.read())
    st = alq.io.read_state(state)
    pool_arrays = alq.io.read_pool(pool)
    check("state round 1", len(st["rounds"]) == 1 and st["rounds"][0]["round"] == 1
          and np.array_equal(st["rounds"][0]["ids"], ids))
    check("state pending", np.array_equal(st["pending_ids"], np.sort(ids)))
    order = np.argsort(pool_arrays["labeled_ids"])
    check("state labeled", np.array_equal(st["labeled_ids"], pool_arrays["labeled_ids"][order])
          and np.array_equal(st["labeled_labels"], pool_arrays["labeled_labels"][order]))
    check("state pool identity", int(st["pool"]["items"]) == len(pool_arrays["embeddings"]))
    check("state annotators", st["annotators"][0] == "(initial)")
    try:
        alq.io.read_state(pool)
        check("read_state on a pool raises", False)
    except alq.InputError as e:
        check("read_state on a pool: %s" % e, "not an alq state file" in e.message and e.exit_class == 3)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    for name in os.listdir(args.workdir):
        os.unlink(os.path.join(args.workdir, name))
    pool, ids = pool_round_trip(args.alq, args.workdir)
    batch_round_trip(args.alq, args.workdir, pool, ids)
    cli_batch_and_state(args.alq, args.workdir, pool)
    try:
        alq.io.write_pool(os.path.join(args.workdir, "no", "such", "dir.h5"), np.zeros((2, 2)))
        check("a write into a missing folder raises", False)
    except alq.OutputError as e:
        check("OutputError names the file: %s" % e, "dir.h5" in e.message and e.exit_class == 4)
    print("python_io: %s" % ("ok" if not failures else "%d failure(s)" % len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
