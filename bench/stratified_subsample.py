#!/usr/bin/python3
"""bench/stratified_subsample.py: a stratified random subsample of a labeled CSV.

    stratified_subsample.py IN.csv.gz OUT.csv.gz ROWS [--seed S]

Keeps the header and, per class (the last column), max(1, round(n_c * ROWS / N))
rows drawn without replacement by numpy's default_rng(S), in their original
order: the class proportions of the whole set, every class kept (so the total
can exceed ROWS by the number of classes rounded up from zero).  For the
strategies whose cost grows with the square of the pool (ProbCover's delta-ball
graph) on the 10^5-row sets of bench/bayes_results.sh.
"""
import argparse
import collections
import gzip

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("rows", type=int)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    with gzip.open(a.src, "rt") as f:
        header = f.readline()
        lines = f.readlines()
    by_class = collections.defaultdict(list)
    for i, line in enumerate(lines):
        by_class[line.rstrip("\n").rsplit(",", 1)[1]].append(i)
    rng = np.random.default_rng(a.seed)
    keep = []
    for c in sorted(by_class, key=lambda c: int(float(c))):
        idx = by_class[c]
        k = min(len(idx), max(1, round(len(idx) * a.rows / len(lines))))
        keep.extend(rng.choice(idx, size=k, replace=False).tolist())
    keep.sort()
    with gzip.open(a.dst, "wt") as f:
        f.write(header)
        f.writelines(lines[i] for i in keep)
    print(f"stratified_subsample: {len(keep)} of {len(lines)} rows, {len(by_class)} classes -> {a.dst}")


if __name__ == "__main__":
    main()
