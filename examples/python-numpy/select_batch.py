#!/usr/bin/env python3
"""Embeddings and probabilities in numpy/h5py -> a batch in CSV for annotators.

    python3 select_batch.py --features features.h5 --budget 50 --csv batch.csv
    mpiexec -n 4 python3 select_batch.py ...      (with mpi4py: each rank reads its own rows)

features.h5 is what a model's inference job leaves behind: /embeddings
[N][d] (any float dtype), /probs [N][C], /ids [N] and, for the annotators,
/text [N]; the labeled set so far in /labeled/ids and /labeled/labels.
`--make-demo` writes such a file first (random clusters and a softmax).
The batch is chosen in process by alq (margin-kcenter by default: the most
uncertain items, spread out), the same batch `alq select` would choose, and
written as CSV: rank,id,score,text,label with label empty for the annotator.
"""
import argparse
import csv
import os

import h5py
import numpy as np

import alq


def make_demo(path, n=5000, d=32, c=5, seed=0):
    """A stand-in for a real inference job's output."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, c, size=n)
    centers = rng.normal(size=(c, d)) * 2
    x = centers[y] + rng.normal(size=(n, d))
    logits = x @ centers.T / d + rng.normal(size=(n, c))
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64) * 10 + 7
    labeled = np.sort(rng.choice(n, size=50, replace=False))
    with h5py.File(path, "w") as f:
        f["embeddings"] = x.astype(np.float16)  # as a GPU job might store them
        f["probs"] = p
        f["ids"] = ids
        f["text"] = np.array(["document %d" % i for i in ids], dtype=h5py.string_dtype())
        f["labeled/ids"] = ids[labeled]
        f["labeled/labels"] = y[labeled]


def my_rows(n, comm):
    """This process's contiguous rows (all of them without MPI)."""
    if comm is None:
        return 0, n
    rank, size = comm.Get_rank(), comm.Get_size()
    return n * rank // size, n * (rank + 1) // size


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--features", required=True)
    ap.add_argument("--csv", required=True)
    ap.add_argument("--budget", type=int, default=50)
    ap.add_argument("--strategy", default="margin-kcenter")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--make-demo", action="store_true")
    args = ap.parse_args()

    comm = None
    if int(os.environ.get("OMPI_COMM_WORLD_SIZE", os.environ.get("PMI_SIZE", "1"))) > 1:
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
    rank = comm.Get_rank() if comm else 0
    if args.make_demo and rank == 0:
        make_demo(args.features)
    if comm:
        comm.Barrier()

    with h5py.File(args.features, "r") as f:
        lo, hi = my_rows(f["embeddings"].shape[0], comm)
        x, p, ids = f["embeddings"][lo:hi], f["probs"][lo:hi], f["ids"][lo:hi]
        labeled_ids, labeled_labels = f["labeled/ids"][:], f["labeled/labels"][:]
    try:
        batch, scores = alq.select(embeddings=x, probs=p, ids=ids, labeled_ids=labeled_ids,
                                   labeled_labels=labeled_labels, budget=args.budget, strategy=args.strategy,
                                   seed=args.seed, comm=comm, quiet=True)
    except alq.AlqError as e:  # the same on every rank
        if rank == 0:
            print("alq: error: %s" % e.message)
        raise SystemExit(e.exit_class)

    if rank == 0:
        with h5py.File(args.features, "r") as f:
            all_ids = f["ids"][:]
            rows = np.searchsorted(all_ids, batch)  # ids are increasing
            text = [f["text"][r].decode() for r in rows]
        tmp = args.csv + ".tmp"
        with open(tmp, "w", newline="") as out:
            w = csv.writer(out)
            w.writerow(["rank", "id", "score", "text", "label"])
            for k, (i, s, t) in enumerate(zip(batch, scores, text)):
                w.writerow([k + 1, int(i), "%.17g" % s, t, ""])
        os.replace(tmp, args.csv)
        print("selected %d item(s) with %s: %s" % (len(batch), args.strategy, args.csv))


if __name__ == "__main__":
    main()
