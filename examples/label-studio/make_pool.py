#!/usr/bin/python3
"""Writes a small pool the way an ML engineer would with h5py: embeddings,
the model's softmax outputs, ids, class names, and the text annotators read.

    make_pool.py POOL.h5 ITEMS
"""
import sys

import h5py
import numpy as np

path, n = sys.argv[1], int(sys.argv[2])
rng = np.random.default_rng(7)
classes = ["positive", "negative", "neutral"]
centers = rng.normal(size=(3, 16)) * 2
truth = rng.integers(0, 3, size=n)
emb = centers[truth] + rng.normal(size=(n, 16))
logits = emb @ centers.T / 4
probs = np.exp(logits - logits.max(1, keepdims=True))
probs /= probs.sum(1, keepdims=True)
with h5py.File(path, "w") as f:
    f["embeddings"] = emb.astype(np.float32)
    f["probs"] = probs.astype(np.float32)
    f["ids"] = np.arange(n, dtype=np.int64) + 1000
    f["classes"] = np.array(classes, dtype=h5py.string_dtype())   # labels may be these names
    f["payload/text"] = np.array([f"review {i}: a {classes[t]}-sounding sentence" for i, t in enumerate(truth)],
                                 dtype=h5py.string_dtype())
    f["truth"] = truth.astype(np.int32)  # only for the simulated annotators below
    f["labeled/ids"] = np.arange(12, dtype=np.int64) + 1000
    f["labeled/labels"] = truth[:12].astype(np.int32)
