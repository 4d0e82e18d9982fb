#!/usr/bin/python3
"""tests/fuzz/make_seeds.py: regenerates the seed corpus of the fuzz harnesses.

    make_seeds.py --alq build/alq [--out tests/fuzz/corpus]

Seeds are small valid inputs of each reader (a few KB, so mutations stay
cheap) covering the layouts the reader accepts: pools written by `alq gen`
and by h5py (contiguous, chunked, gzip-compressed, with ids, mc_probs and
labels), state files after 0, 1 and 2 rounds with answers, the manifests
of batches of several strategies, and idx image/label pairs (plain and gzip).
Run by hand when a reader learns a new layout; the corpus is committed.
"""
import argparse
import gzip
import os
import shutil
import struct
import subprocess
import tempfile

import h5py
import numpy as np


def run(cmd):
    subprocess.run([str(c) for c in cmd], check=True, capture_output=True)


def pool_seeds(alq, out, work):
    d = os.path.join(out, "pool_inspect")
    run([alq, "gen", "--out", os.path.join(d, "gen.h5"), "--items", 12, "--dim", 3, "--classes", 3,
         "--labeled", 4, "--seed", 1])
    run([alq, "gen", "--out", os.path.join(d, "gen_noprobs.h5"), "--items", 6, "--dim", 2, "--classes", 2,
         "--no-probs"])
    rng = np.random.default_rng(1)
    emb = rng.standard_normal((10, 4)).astype(np.float32)
    probs = rng.dirichlet(np.ones(3), 10).astype(np.float32)
    with h5py.File(os.path.join(d, "chunked_gzip.h5"), "w") as f:
        f.create_dataset("embeddings", data=emb, chunks=(4, 4), compression="gzip")
        f.create_dataset("probs", data=probs, chunks=(5, 3))
        f.create_dataset("ids", data=np.arange(100, 110, dtype=np.int64))
        f.create_dataset("labels", data=rng.integers(0, 3, 10).astype(np.int32))
        f.create_dataset("labeled/ids", data=np.array([101, 105], dtype=np.int64))
        f.create_dataset("labeled/labels", data=np.array([0, 2], dtype=np.int32))
    with h5py.File(os.path.join(d, "mc_probs.h5"), "w") as f:
        f.create_dataset("embeddings", data=emb[:5])
        f.create_dataset("mc_probs", data=np.stack([probs[:5], probs[5:]]))
        f.attrs["classes"] = np.int64(3)
    return os.path.join(d, "gen.h5")


def state_seeds(alq, out, work, pool):
    d = os.path.join(out, "state")
    state = os.path.join(work, "state.h5")
    sel = [alq, "select", "--pool", pool, "--budget", 2, "--strategy", "margin", "--state", state, "--quiet"]
    run(sel + ["--out", os.path.join(work, "b1.h5")])
    shutil.copy(state, os.path.join(d, "round1.h5"))
    ids = h5py.File(os.path.join(work, "b1.h5"), "r")["selected/ids"][:]
    answers = os.path.join(work, "answers.csv")
    with open(answers, "w") as f:
        f.write("id,label,annotator\n" + "".join(f"{i},{k % 3},ann{k}\n" for k, i in enumerate(ids)))
    run([alq, "ingest", "--state", state, "--labels", answers, "--quiet"])
    shutil.copy(state, os.path.join(d, "round1_answered.h5"))
    run(sel[:7] + ["kcenter"] + sel[8:] + ["--out", os.path.join(work, "b2.h5")])
    shutil.copy(state, os.path.join(d, "round2.h5"))
    return [os.path.join(work, "b1.h5"), os.path.join(work, "b2.h5")]


def manifest_seeds(out, batches):
    d = os.path.join(out, "manifest")
    for k, b in enumerate(batches):
        with h5py.File(b, "r") as f:
            open(os.path.join(d, f"batch{k + 1}.pb"), "wb").write(f["manifest"][:].tobytes())


def idx_pair(n, rows, cols, seed):
    rng = np.random.default_rng(seed)
    images = struct.pack(">I3I", 0x803, n, rows, cols) + rng.integers(0, 256, n * rows * cols, np.uint8).tobytes()
    labels = struct.pack(">II", 0x801, n) + rng.integers(0, 3, n, np.uint8).tobytes()
    return images, labels


def idx_seeds(out):
    """Each seed: one byte b, the image file (b * 4 bytes), the label file (fuzz_idx.c)."""
    d = os.path.join(out, "idx")
    for name, (n, r, c), gz in [("plain_4x2x2", (4, 2, 2), False), ("plain_6x3x1", (6, 3, 1), False),
                                 ("gzip_3x2x2", (3, 2, 2), True)]:
        images, labels = idx_pair(n, r, c, n)
        if gz:
            images, labels = gzip.compress(images, mtime=0), gzip.compress(labels, mtime=0)
        images += b"\0" * (-len(images) % 4)  # the image file is a whole number of 4-byte words
        open(os.path.join(d, name), "wb").write(bytes([len(images) // 4]) + images + labels)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
    a = ap.parse_args()
    for h in ("pool_inspect", "state", "manifest", "idx"):
        os.makedirs(os.path.join(a.out, h), exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        pool = pool_seeds(a.alq, a.out, work)
        manifest_seeds(a.out, state_seeds(a.alq, a.out, work, pool))
    idx_seeds(a.out)


if __name__ == "__main__":
    main()
