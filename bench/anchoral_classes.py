#!/usr/bin/python3
"""bench/anchoral_classes.py: class mix of batches (bench/anchoral_bench.sh).

  anchoral_classes.py POOL.h5 BATCH.h5 [BATCH.h5 ...]

Reads the ground truth /labels of POOL and prints one JSON line per batch:
size, distinct classes, and the minority share: the fraction of the batch
whose true class is among the rarest half of the classes (by count in the
pool), next to the fraction of the pool those classes hold.
"""
import json
import sys

import h5py
import numpy as np


def main():
    pool, batches = sys.argv[1], sys.argv[2:]
    with h5py.File(pool, "r") as f:
        labels = f["labels"][:]
        ids = f["ids"][:] if "ids" in f else np.arange(len(labels), dtype=np.int64)
    C = int(labels.max()) + 1
    counts = np.bincount(labels, minlength=C)
    present = np.nonzero(counts)[0]
    rare = present[np.argsort(counts[present], kind="stable")][: len(present) // 2]
    pool_share = float(counts[rare].sum() / counts.sum())
    for b in batches:
        with h5py.File(b, "r") as f:
            sel = f["selected/ids"][:]
        lab = labels[np.searchsorted(ids, sel)]
        print(json.dumps(dict(batch=b, size=int(len(sel)), classes=int(len(np.unique(lab))), of_classes=int(len(present)),
                              minority_share=round(float(np.isin(lab, rare).mean()) if len(sel) else 0.0, 4),
                              minority_classes=int(len(rare)), minority_pool_share=round(pool_share, 6))))


if __name__ == "__main__":
    main()
