#!/usr/bin/python3
"""Fashion-MNIST (Debian's dataset-fashion-mnist) with 20% injected junk, as an alq pool.

N in-distribution training images (the first N of train-images, pixels / 255) plus N/4
junk images (20% of the pool): a third uniform noise U(0, 1), a third blank (0), a third
saturated (1), in a fixed shuffled order.  /labels is -1 for junk (alq simulate: a label
spent that teaches nothing); /labeled is L stratified in-distribution items; /junk marks
the junk rows for the report.
usage: ood_make_pool.py OUT.h5 [--items N] [--labeled L] [--seed S]"""
import argparse
import gzip

import h5py
import numpy as np

SRC = "/usr/share/datasets/fashion-mnist/"


def idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(data, np.uint8, offset=4 + 4 * dims).reshape(shape)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--items", type=int, default=4000)
    ap.add_argument("--labeled", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = np.random.default_rng(a.seed)
    x = idx(SRC + "train-images-idx3-ubyte.gz")[:a.items].reshape(a.items, -1).astype(np.float32) / 255
    y = idx(SRC + "train-labels-idx1-ubyte.gz")[:a.items].astype(np.int32)
    n_junk = a.items // 4
    kind = np.arange(n_junk) % 3
    junk = np.where(kind[:, None] == 0, rng.uniform(0, 1, (n_junk, x.shape[1])),
                    np.where(kind[:, None] == 1, 0.0, 1.0)).astype(np.float32)
    xs = np.vstack([x, junk])
    ys = np.concatenate([y, -np.ones(n_junk, np.int32)])
    order = rng.permutation(len(xs))
    xs, ys = xs[order], ys[order]
    per = a.labeled // 10
    lab = np.sort(np.concatenate([rng.choice(np.flatnonzero(ys == c), per, replace=False) for c in range(10)]))
    with h5py.File(a.out, "w") as f:
        f["embeddings"] = xs
        f["labels"] = ys
        f["junk"] = (ys < 0).astype(np.uint8)
        f["labeled/ids"] = lab.astype(np.int64)
        f["labeled/labels"] = ys[lab]
        f.attrs["classes"] = np.int64(10)


if __name__ == "__main__":
    main()
