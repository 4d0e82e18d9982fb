"""Shared helpers for the AnchorAL tests (anchoral_*.py), Debian's /usr/bin/python3.

Holds an independent reference of AnchorAL as docs/strategies.md describes it
(anchors by k-means++ with the documented seeded draws, exact cosine retrieval,
grouping into the subpool), written from the documentation in numpy float64.
It does not call alq.
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

RUN_TIMEOUT = 120
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


def finish(name):
    if failures:
        print(f"{name}: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: all checks passed")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--alq", required=True)
    p.add_argument("--mpiexec", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    return a


class Runner:
    def __init__(self, alq, mpiexec):
        self.alq, self.mpiexec = alq, mpiexec
        self.env = dict(os.environ)
        self.env.update(OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")

    def serial(self, *argv):
        p = subprocess.run(["timeout", str(RUN_TIMEOUT), self.alq, *map(str, argv)],
                           capture_output=True, text=True, env=self.env)
        if p.returncode != 0:
            fail(f"alq {' '.join(map(str, argv))}: exit {p.returncode}: {p.stderr.strip()}")
        return p

    def mpi(self, n, *argv):
        cmd = ["timeout", str(RUN_TIMEOUT), self.mpiexec, "--allow-run-as-root", "--oversubscribe",
               "-n", str(n), self.alq, *map(str, argv)]
        return subprocess.run(cmd, capture_output=True, text=True, env=self.env)


# ---- the documented counter hash (core/hash.c), ported
M64 = (1 << 64) - 1
PURPOSE_ANCHOR = 10
PURPOSE_ANCHOR_RANDOM = 11
PURPOSE_RANDOM_SCORE = 1


def mix64(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def hash3(seed, ident, purpose):
    h = mix64((seed + 0x9E3779B97F4A7C15) & M64)
    h = mix64(h ^ ((ident + 0x632BE59BD9B4E019) & M64))
    return mix64(h ^ ((purpose * 0x9E3779B97F4A7C15 + 0x85157AF5) & M64))


def hash_unit(seed, ident, purpose):
    return float(hash3(seed, ident & M64, purpose) >> 11) * 2.0 ** -53


# ---- pools
def read_pool(path, labeled_path=None):
    with h5py.File(path, "r") as f:
        emb = f["embeddings"][:]
        n = emb.shape[0]
        ids = f["ids"][:] if "ids" in f else np.arange(n, dtype=np.int64)
        probs = f["probs"][:] if "probs" in f else None
        labels = f["labels"][:] if "labels" in f else None
        lf = labeled_path or path
    with h5py.File(lf, "r") as g:
        if "labeled" in g:
            lids, llab = g["labeled/ids"][:], g["labeled/labels"][:]
        else:
            lids, llab = np.zeros(0, np.int64), np.zeros(0, np.int32)
    order = np.argsort(lids, kind="stable")
    return dict(emb=emb, ids=ids, probs=probs, labels=labels, lids=lids[order], llab=llab[order])


def normalise(x):
    x = np.asarray(x, dtype=np.float64)
    n = np.sqrt((x * x).sum(axis=1))
    out = np.zeros_like(x)
    nz = n > 0
    out[nz] = x[nz] / n[nz, None]
    return out


# ---- AnchorAL reference (docs/strategies.md, "AnchorAL")
def kmeanspp(E, seed, cls, want):
    """k-means++ over the class's labeled rows E (id order), float64.  Returns row indices."""
    n = E.shape[0]
    X = normalise(E)
    zero = (np.sqrt((np.asarray(E, np.float64) ** 2).sum(axis=1)) == 0)

    def d2(i):
        # squared distance between unit vectors; an all-zero row is at 0 from
        # another zero row and at 1 from anything else
        out = np.maximum(2.0 - 2.0 * (X @ X[i]), 0.0)
        if zero[i]:
            out = np.where(zero, 0.0, 1.0)
        else:
            out[zero] = 1.0
        return out

    key = cls << 32
    first = int(hash_unit(seed, key, PURPOSE_ANCHOR) * n)
    picks = [first]
    dist = d2(first)
    while len(picks) < want:
        total = dist.sum()
        if total <= 0:
            break
        u = hash_unit(seed, key | len(picks), PURPOSE_ANCHOR) * total
        cum, pick = 0.0, -1
        for i in range(n):
            if dist[i] <= 0:
                continue
            cum += dist[i]
            pick = i
            if cum > u:
                break
        picks.append(pick)
        dist = np.minimum(dist, d2(pick))
    return picks


def choose_anchors(lids, llab, lemb, A, seed, random_anchors=False):
    """Anchor rows (indices into the labeled set), grouped by class in sorted order."""
    out = []
    for c in sorted(set(int(v) for v in llab)):
        members = np.nonzero(llab == c)[0]  # id order (lids sorted)
        if len(members) <= A:
            out.extend(members.tolist())
        elif random_anchors:
            keyed = sorted((hash3(seed, int(lids[m]), PURPOSE_ANCHOR_RANDOM), int(m)) for m in members)
            out.extend(m for _, m in keyed[:A])
        else:
            out.extend(int(members[p]) for p in kmeanspp(lemb[members], seed, c, A))
    return out


def retrieve(pool_emb, pool_ids, excluded_ids, anchors, k):
    """Exact float64 cosine top k per anchor over the items not excluded.
    Returns (ids [A][<=k], sims [A][<=k], full similarity matrix over candidates, candidate ids)."""
    mask = ~np.isin(pool_ids, excluded_ids)
    cand_ids = pool_ids[mask]
    S = normalise(anchors) @ normalise(pool_emb[mask]).T  # A x n
    ids, sims = [], []
    for a in range(S.shape[0]):
        order = np.lexsort((cand_ids, -S[a]))[:k]
        ids.append(cand_ids[order])
        sims.append(S[a, order])
    return ids, sims, S, cand_ids


def group(ids, sims, M):
    """Mean similarity over the anchors whose top k holds an item; top M (ties lower id)."""
    acc = {}
    for a in range(len(ids)):
        for i, s in zip(ids[a].tolist(), sims[a].tolist()):
            acc.setdefault(i, []).append(s)
    items = sorted(acc, key=lambda i: (-float(np.mean(acc[i])), i))
    scores = {i: float(np.mean(acc[i])) for i in acc}
    return items[:M], scores, items


def random_batch(pool_ids, excluded_ids, seed, B):
    """The `random` strategy: the B unlabeled items with the largest hash_unit(seed, id, 1)."""
    excluded = set(excluded_ids.tolist())
    cand = [int(i) for i in pool_ids if int(i) not in excluded]
    keyed = sorted(cand, key=lambda i: (-hash_unit(seed, i, PURPOSE_RANDOM_SCORE), i))[:B]
    return np.array(keyed, dtype=np.int64), np.array([hash_unit(seed, i, PURPOSE_RANDOM_SCORE) for i in keyed])


def reference_subpool(pool, A, K, M, seed, random_anchors=False, tol=1e-5):
    """The subpool (ids) by the reference, and a list of near-ties (within tol)
    at any boundary that float32 arithmetic could decide differently."""
    lids, llab = pool["lids"], pool["llab"]
    row_of = {int(i): r for r, i in enumerate(pool["ids"])}
    lemb = pool["emb"][[row_of[int(i)] for i in lids]]
    chosen = choose_anchors(lids, llab, lemb, A, seed, random_anchors)
    ids, sims, S, cand = retrieve(pool["emb"], pool["ids"], lids, lemb[chosen], K)
    ambiguous = []
    for a in range(S.shape[0]):
        if len(cand) > K:
            kth = sims[a][-1]
            row = np.sort(S[a])[::-1]
            if row[K] > kth - tol:  # the first item left out is within tol of the K-th kept
                ambiguous.append(f"anchor {a}: K-th similarity {kth:.9f}, next {row[K]:.9f}")
    sub, scores, ranked = group(ids, sims, M)
    if len(ranked) > M:
        if scores[ranked[M]] > scores[ranked[M - 1]] - tol:
            ambiguous.append(f"subpool boundary: M-th score {scores[ranked[M - 1]]:.9f}, next {scores[ranked[M]]:.9f}")
    return sub, ambiguous


def margin_scores(probs):
    p = np.sort(probs.astype(np.float32), axis=1)
    return 1.0 - (p[:, -1].astype(np.float64) - p[:, -2].astype(np.float64))


def top_b(ids, scores, B):
    order = np.lexsort((ids, -scores))[:B]
    return ids[order], scores[order]


def write_labeled(path, ids, labels):
    tmp = path + ".tmp"
    with h5py.File(tmp, "w") as f:
        f["labeled/ids"] = np.asarray(ids, dtype=np.int64)
        f["labeled/labels"] = np.asarray(labels, dtype=np.int32)
    os.replace(tmp, path)


def read_batch(path):
    with h5py.File(path, "r") as f:
        return f["selected/ids"][:], f["selected/scores"][:]
