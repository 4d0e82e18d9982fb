#!/usr/bin/python3
"""tests/python_select.py: alq.select's batch equals `alq select`'s, id for id
and score for score, on the same generated data.

    python_select.py --alq build/alq --workdir DIR [--ranks 2 --mpiexec mpiexec]

With ALQ_LIBRARY=<build>/libalq.so and PYTHONPATH=<repo>/python.  The driver
generates a pool in numpy (clustered embeddings, softmax probabilities,
non-contiguous ids, a labeled set), writes it with h5py (alq.io.write_pool)
and runs `alq select` on one rank for each case; then, in one plain process
(no mpiexec, no mpi4py) or under mpiexec with mpi4py, every rank passes its
own rows to alq.select, in the dtypes a user has (float64 or float16
embeddings, float64 probs, uint64 or int32 ids), as even pieces
(np.array_split) and as uneven ones (rows moved to alq's shards), also with
ids in any order and with the OOD stage (ood=, ood_space=; its batches
checked to differ from those without it), and the batches must match exactly.  At 2 ranks a NaN on rank 1 only must raise the
same InputError on both ranks; at 1 another thread runs during a selection
(the GIL is released).
"""
import argparse
import os
import subprocess
import sys

import numpy as np

N, D, C, L = 4000, 12, 6, 40

CASES = [
    ("margin", {}),
    ("margin-kcenter", {}),
    ("margin", {"subpool": "anchoral", "subpool_size": 600, "neighbors": 30}),
    ("kcenter", {"subpool": "anchoral", "subpool_size": 400}),
    ("entropy", {"diversity": "hier", "candidates": 200}),
    ("random", {}),
    ("margin", {"ood": "knn", "ood_reject": 0.5, "ood_k": 7}),
    ("margin-kcenter", {"ood": "knn", "ood_reject": 0.3, "ood_space": "pool"}),
]


def make_pool():
    rng = np.random.default_rng(11)
    means = rng.normal(size=(C, D)) * 3
    y = rng.integers(0, C, size=N)
    x = means[y] + rng.normal(size=(N, D))
    logits = -((x[:, None, :] - means[None]) ** 2).sum(axis=2) / D + 0.5 * rng.normal(size=(N, C))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ids = np.cumsum(rng.integers(1, 4, size=N)) + 1000
    lab = np.sort(rng.choice(N, size=L, replace=False))
    return x, p, ids, y, lab


def cli_option(key, value):
    return ["--" + key.replace("_", "-"), str(value)]


def cli_batch(alq, workdir, pool, k, strategy, extra):
    out = os.path.join(workdir, "batch%d.h5" % k)
    cmd = [alq, "select", "--pool", pool, "--budget", "25", "--strategy", strategy, "--seed", "7", "--out", out,
           "--quiet"]
    for key, value in extra.items():
        cmd += cli_option(key, value)
    subprocess.run(cmd, check=True, timeout=120)
    import alq as alqpy
    ids, scores, _ = alqpy.io.read_batch(out)
    return ids, scores


def shuffled_ids(ids):
    return np.random.default_rng(5).permutation(ids)


def prepare(alq_path, workdir):
    """Serial: the pools and `alq select`'s batches, saved for the ranks."""
    import alq
    x, p, ids, y, lab = make_pool()
    # The file holds what the arrays become in alq (float32, int64): the same values.
    pool64, pool16 = os.path.join(workdir, "pool64.h5"), os.path.join(workdir, "pool16.h5")
    for path, emb in ((pool64, x), (pool16, x.astype(np.float16))):
        alq.io.write_pool(path, emb, probs=p, ids=ids, labels=y, labeled_ids=ids[lab][::-1],
                          labeled_labels=y[lab][::-1])
    expected = {}
    for k, (strategy, extra) in enumerate(CASES):
        expected["ids%d" % k], expected["scores%d" % k] = cli_batch(alq_path, workdir, pool64, k, strategy, extra)
    for k, (strategy, extra) in enumerate(CASES):  # the stage must change these batches, or it proves nothing
        if "ood" in extra:
            plain = {key: v for key, v in extra.items() if not key.startswith("ood")}
            ids_plain, _ = cli_batch(alq_path, workdir, pool64, 200 + k, strategy, plain)
            if np.array_equal(ids_plain, expected["ids%d" % k]):
                sys.exit("prepare: %s %s gives the batch it gives without the OOD stage" % (strategy, extra))
    expected["ids_f16"], expected["scores_f16"] = cli_batch(alq_path, workdir, pool16, 99, "margin-kcenter", {})
    perm = os.path.join(workdir, "poolperm.h5")  # ids in any order, as pool files may hold them
    alq.io.write_pool(perm, x, probs=p, ids=shuffled_ids(ids), labeled_ids=shuffled_ids(ids)[lab],
                      labeled_labels=y[lab])
    for k, strategy in enumerate(("margin-kcenter", "kcenter")):
        expected["ids_perm%d" % k], expected["scores_perm%d" % k] = cli_batch(
            alq_path, workdir, perm, 100 + k, strategy, {"subpool": "anchoral", "subpool_size": 500} if k else {})
    np.savez(os.path.join(workdir, "expected.npz"), **expected)


def same(got, want_ids, want_scores):
    return np.array_equal(got[0], want_ids) and np.array_equal(got[1], want_scores)


def gil_released(alq):
    """A selection in one thread while this one counts: with a switch
    interval longer than the call, the count advances inside the call only if
    the C call released the GIL."""
    import threading
    import time
    x = np.random.default_rng(1).normal(size=(30000, 32)).astype(np.float32)
    window = []

    def run():
        t0 = time.perf_counter()
        alq.select(embeddings=x, budget=300, strategy="kcenter", no_prune=True, quiet=True)
        window.extend([t0, time.perf_counter()])

    old = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    ticks = []
    try:
        t = threading.Thread(target=run)
        t.start()
        while t.is_alive():
            ticks.append(time.perf_counter())
            time.sleep(0.001)
        t.join()
    finally:
        sys.setswitchinterval(old)
    inside = sum(window[0] < s < window[1] for s in ticks)
    if inside < 5:
        return ["GIL: %d tick(s) of the main thread during a %.3f s selection" % (inside, window[1] - window[0])]
    return []


def compare(workdir):
    """On every rank: alq.select on this rank's rows against the saved batches."""
    import alq
    comm, rank, size = None, 0, 1
    if os.environ.get("OMPI_COMM_WORLD_SIZE", "1") != "1":
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        rank, size = comm.Get_rank(), comm.Get_size()
    want = np.load(os.path.join(workdir, "expected.npz"))
    x, p, ids, y, lab = make_pool()
    x16 = x.astype(np.float16)
    even = np.array_split(np.arange(N), size)[rank]
    cuts = np.linspace(0, N, size + 1).astype(int)
    cuts[1:-1] = cuts[1:-1] // 3  # rank 0 holds far fewer rows than alq's shard
    uneven = np.arange(cuts[rank], cuts[rank + 1])
    failures = []
    for piece_name, rows in (("even", even), ("uneven", uneven)):
        for k, (strategy, extra) in enumerate(CASES):
            got = alq.select(embeddings=x[rows], probs=p[rows], ids=ids[rows].astype(np.uint64),
                             labeled_ids=ids[lab][::-1], labeled_labels=y[lab][::-1], budget=25, strategy=strategy,
                             seed=7, quiet=True, comm=comm, **extra)
            if not same(got, want["ids%d" % k], want["scores%d" % k]):
                failures.append("%s %s %s: python %s / %s, cli %s / %s" % (
                    piece_name, strategy, extra, got[0][:8], got[1][:3], want["ids%d" % k][:8],
                    want["scores%d" % k][:3]))
    got = alq.select(embeddings=x16[even], probs=p[even], ids=ids[even].astype(np.int32), labeled_ids=ids[lab],
                     labeled_labels=y[lab], budget=25, strategy="margin-kcenter", seed=7, quiet=True, comm=comm)
    if not same(got, want["ids_f16"], want["scores_f16"]):
        failures.append("float16 embeddings, int32 ids: python %s, cli %s" % (got[0][:8], want["ids_f16"][:8]))

    sids = shuffled_ids(ids)
    for piece_name, rows in (("even", even), ("uneven", uneven)):
        for k, strategy in enumerate(("margin-kcenter", "kcenter")):
            got = alq.select(embeddings=x[rows], probs=p[rows], ids=sids[rows], labeled_ids=sids[lab],
                             labeled_labels=y[lab], budget=25, strategy=strategy, seed=7, quiet=True, comm=comm,
                             **({"subpool": "anchoral", "subpool_size": 500} if k else {}))
            if not same(got, want["ids_perm%d" % k], want["scores_perm%d" % k]):
                failures.append("%s, ids in any order, %s: python %s, cli %s" % (piece_name, strategy, got[0][:8],
                                                                                 want["ids_perm%d" % k][:8]))

    if size == 1:
        failures += gil_released(alq)

    if size > 1:  # a bad value on one rank: the same exception on every rank, no rank left waiting
        bad = p[even].copy()
        if rank == 1:
            bad[3, 2] = np.nan
        row = len(np.array_split(np.arange(N), size)[0]) + 3
        expect = "alq.select: /probs row %d (id %d) column 2 is nan" % (row, ids[row])
        try:
            alq.select(embeddings=x[even], probs=bad, ids=ids[even], budget=5, strategy="margin", quiet=True,
                       comm=comm)
            failures.append("NaN on rank 1: no exception")
        except alq.InputError as e:
            if e.message != expect or e.exit_class != 3:
                failures.append("NaN on rank 1: got %r (class %d), want %r" % (e.message, e.exit_class, expect))

    for f in failures:
        print("rank %d FAIL: %s" % (rank, f), flush=True)
    ok = int(not failures)
    if comm is not None:
        from mpi4py import MPI
        ok = comm.allreduce(ok, op=MPI.MIN)
    if rank == 0:
        print("python_select at %d rank(s): %s" % (size, "ok" if ok else "FAILED"), flush=True)
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--compare", action="store_true", help="(internal) the per-rank step")
    args = ap.parse_args()
    if args.compare:
        sys.exit(0 if compare(args.workdir) else 1)
    os.makedirs(args.workdir, exist_ok=True)
    prepare(args.alq, args.workdir)
    step = [sys.executable, os.path.abspath(__file__), "--alq", args.alq, "--workdir", args.workdir, "--compare"]
    if args.ranks > 1:
        step = [args.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(args.ranks)] + step
    sys.exit(subprocess.run(step, timeout=300).returncode)


if __name__ == "__main__":
    main()
