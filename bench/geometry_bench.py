#!/usr/bin/python3
"""Helpers of bench/geometry_bench.sh: pools, the one-rank numpy/LAPACK baseline, log parsing
and the quality measures (covering radius, subpool overlap), each printed as table cells."""
import ctypes
import re
import sys
import time

import h5py
import numpy as np


def corename():
    lib = ctypes.CDLL("libopenblas.so.0")
    lib.openblas_get_corename.restype = ctypes.c_char_p
    print(lib.openblas_get_corename().decode())


def make_speed_pool(path, n, d):
    """n x d float32 with a decaying spectrum (a pool has a few strong directions)."""
    rng = np.random.default_rng(int(d))
    x = rng.standard_normal((int(n), int(d)), dtype=np.float32)
    x *= (1.0 / np.sqrt(1.0 + np.arange(int(d), dtype=np.float32) / 8.0))[None, :]
    with h5py.File(path, "w") as f:
        f.create_dataset("embeddings", data=x, chunks=(min(int(n), 1024), int(d)))


def lapack(path):
    """The one-rank baseline on the same file: read, covariance in float64 (BLAS), numpy.linalg.eigh
    (LAPACK dsyevd from the same OpenBLAS)."""
    t0 = time.time()
    with h5py.File(path) as f:
        x = f["embeddings"][:].astype(np.float64)
    x -= x.mean(0)
    c = x.T @ x / (len(x) - 1)
    del x
    t1 = time.time()
    np.linalg.eigh(c)
    t2 = time.time()
    print("%.2f %.2f %.2f" % (t2 - t0, t1 - t0, t2 - t1))


def rss(text):
    return [int(m) / 1024.0 for m in re.findall(r"maxrss (\d+)", text)]


def parse_lapack():
    text = sys.stdin.read()
    total, cov, eig = text.split("\n")[0].split()
    print("%s | %s | %s | %.0f" % (total, cov, eig, max(rss(text))))


def parse_project(path, rss_path):
    text = open(path).read()
    m = re.search(r"in ([\d.]+) s \(covariance pass ([\d.]+) s, PDSYEVD ([\d.]+) s\)", text)
    if not m:
        sys.exit("alq project failed:\n" + text)
    r = rss(open(rss_path).read())
    print("%s | %s | %s | %.0f / %.0f" % (m.group(1), m.group(2), m.group(3), max(r), min(r)))


def maxrss(path):
    text = open(path).read()
    r = rss(text)
    if not r:
        sys.exit("run failed:\n" + text)
    print("%.0f" % max(r))


def ids(path):
    with h5py.File(path) as f:
        return f["selected/ids"][:]


def make_lowrank_pool(path, n=20000, d=768, r=24, classes=32, labeled=200):
    """Low intrinsic dimension: class clusters on an r-dimensional subspace plus small isotropic noise."""
    rng = np.random.default_rng(11)
    basis = np.linalg.qr(rng.standard_normal((d, r)))[0]
    lab = rng.integers(0, classes, n)
    means = rng.standard_normal((classes, r)) * 3.0
    x = ((means[lab] + rng.standard_normal((n, r))) @ basis.T + 0.05 * rng.standard_normal((n, d))).astype(np.float32)
    li = np.sort(rng.choice(n, labeled, replace=False))
    with h5py.File(path, "w") as f:
        f["embeddings"] = x
        f["labels"] = lab.astype(np.int32)
        f["labeled/ids"] = li.astype(np.int64)
        f["labeled/labels"] = lab[li].astype(np.int32)
        f.attrs["classes"] = np.int64(classes)


def quality(pool, work, name):
    with h5py.File(pool) as f:
        x = f["embeddings"][:].astype(np.float64)
        lab = f["labeled/ids"][:]
    sq = (x ** 2).sum(1)

    def radius(centers):
        best = np.full(len(x), np.inf)
        for s in range(0, len(centers), 256):
            c = x[centers[s:s + 256]]
            d2 = sq[:, None] - 2 * x @ c.T + (c ** 2).sum(1)[None, :]
            best = np.minimum(best, d2.min(1))
        dist = np.sqrt(np.maximum(best, 0.0))
        return float(dist.max()), float(dist.mean())

    def run(kind, k):
        return ids("%s/%s-%s-%s.h5" % (work, kind, name, k))

    full_r, full_m = radius(np.concatenate([lab, run("kc", "full")]))
    full_sub = set(run("sub", "full").tolist())
    for k in ("full", "128", "64", "32"):
        r, m = radius(np.concatenate([lab, run("kc", k)]))
        sub = set(run("sub", k).tolist())
        label = "full d = 768" if k == "full" else "pca:" + k
        print("| %s | %.3f | %.3f | %.3f | %.3f | %.1f%% |" % (label, r, r / full_r, m, m / full_m,
                                                           100.0 * len(sub & full_sub) / len(full_sub)))


def overlap(a, b):
    x, y = set(ids(a).tolist()), set(ids(b).tolist())
    print("%d of %d ids" % (len(x & y), len(x)))


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"corename": corename, "make-speed-pool": make_speed_pool, "lapack": lapack, "parse-lapack": parse_lapack,
     "parse-project": parse_project, "maxrss": maxrss, "quality": quality, "make-lowrank-pool": make_lowrank_pool, "overlap": overlap}[cmd](*rest)
