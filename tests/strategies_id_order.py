#!/usr/bin/python3
"""Strategies that visit items in the global id order, on a pool whose ids
are in any order (BADGE, TypiClust, Cluster-Margin, ProbCover, VeSSAL).

Debian's /usr/bin/python3 with numpy and h5py.  The pool is written twice
with h5py: rows in id order, and the same (id, row) pairs shuffled.  The
shuffled pool's batch must be the sorted pool's, id for id and score for
score, at 1, 2 and 3 ranks (the sorted pool's batch is pinned against numpy
references by tests/strategies_cluster.py and strategies_bayes.py).  Before
cluster/id_order.c, 2 ranks gave another BADGE batch and the other four
stopped with an internal error.

    strategies_id_order.py --alq ALQ --mpiexec MPIEXEC --workdir DIR
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

STRATEGIES = ("badge", "typiclust", "cluster-margin", "probcover", "vessal")
RANKS = (1, 2, 3)


def write_pools(wd):
    rng = np.random.default_rng(11)
    n, d, c = 2400, 8, 5
    centers = rng.normal(scale=3.0, size=(c, d))
    y = rng.integers(0, c, size=n)
    x = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
    logits = x @ centers.T.astype(np.float32) / 4
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    ids = rng.choice(10 * n, size=n, replace=False).astype(np.int64)
    lab = rng.choice(n, size=12, replace=False)
    paths = {}
    for name, rows in (("sorted", np.argsort(ids)), ("shuffled", rng.permutation(n))):
        paths[name] = os.path.join(wd, name + ".h5")
        with h5py.File(paths[name], "w") as f:
            f["embeddings"], f["probs"], f["ids"] = x[rows], p[rows], ids[rows]
            f["labeled/ids"], f["labeled/labels"] = ids[lab], y[lab].astype(np.int32)
    return paths


def select(a, pool, strategy, ranks, out):
    cmd = [a.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), a.alq, "select", "--pool", pool,
           "--strategy", strategy, "--budget", "15", "--seed", "5", "--out", out, "--quiet"]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        return None, "exit %d: %s" % (r.returncode, r.stderr.strip().splitlines()[:2])
    with h5py.File(out, "r") as f:
        return (f["selected/ids"][:], f["selected/scores"][:]), ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    pools = write_pools(a.workdir)
    failures = 0
    for s in STRATEGIES:
        want, why = select(a, pools["sorted"], s, 1, os.path.join(a.workdir, s + "-sorted.h5"))
        if want is None:
            print("FAIL %s on the sorted pool: %s" % (s, why))
            failures += 1
            continue
        for p in RANKS:
            got, why = select(a, pools["shuffled"], s, p, os.path.join(a.workdir, "%s-shuffled-%d.h5" % (s, p)))
            same = got is not None and np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
            print("%s %-15s shuffled ids, %d rank(s): %s" % ("ok  " if same else "FAIL", s, p,
                                                            "same batch" if same else why or "another batch"))
            failures += not same
    print("%d failure(s)" % failures if failures else "all passed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
