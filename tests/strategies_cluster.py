"""The clustering strategies (BADGE, TypiClust, Cluster-Margin) end to end.

Debian's /usr/bin/python3 with numpy and h5py.  Each part runs `alq select`
on a generated pool at 1, 2, 3 and 4 ranks and requires the same batch, id
for id and score for score, and compares it with an independent numpy
reference written here from docs/strategies.md (float64, gradient
embeddings materialised, brute-force neighbours); it does not call alq's
code.  Where float32 arithmetic may legitimately decide differently (a draw
whose target lies within a relative 1e-6 of a boundary), the reference
follows alq's choice and says so; anything else is a failure.

    strategies_cluster.py --part badge|typiclust|cluster-margin --alq ALQ --mpiexec MPIEXEC --workdir DIR
"""
import argparse
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchoral_util import (Runner, check, fail, finish, hash_unit, margin_scores, read_batch,  # noqa: E402
                           read_pool, top_b)

PURPOSE_KMEANSPP, PURPOSE_BADGE, PURPOSE_CLUSTER_SAMPLE, PURPOSE_CLUSTER_PICK = 40, 41, 42, 43
RANKS = (1, 2, 3, 4)
BOUNDARY_TOL = 1e-6


def gen_pool(R, wd, name, items, dim, classes, labeled, seed):
    path = os.path.join(wd, name + ".h5")
    R.serial("gen", "--out", path, "--items", items, "--dim", dim, "--classes", classes, "--imbalance", 3,
             "--labeled", labeled, "--seed", seed)
    return path


def select_all_ranks(R, wd, tag, pool, argv):
    """Runs alq select at 1-4 ranks; returns the 1-rank batch (ids, scores) and
    checks that every rank count gives the same, bit for bit."""
    first = None
    for P in RANKS:
        out = os.path.join(wd, f"{tag}-n{P}.h5")
        p = R.mpi(P, "select", "--pool", pool, "--out", out, "--quiet", *argv)
        if not check(p.returncode == 0, f"{tag} at {P} ranks: exit {p.returncode}: {p.stderr.strip()}"):
            return None
        ids, scores = read_batch(out)
        if first is None:
            first = (ids, scores)
            continue
        check(np.array_equal(ids, first[0]), f"{tag}: batch at {P} ranks differs from 1 rank: {ids} vs {first[0]}")
        check(np.array_equal(scores.view(np.uint64), first[1].view(np.uint64)),
              f"{tag}: scores at {P} ranks differ from 1 rank")
    return first


def unlabeled_rows(pool):
    keep = ~np.isin(pool["ids"], pool["lids"])
    return np.nonzero(keep)[0]


def d2_pick(w, target):
    """The first index whose cumulative weight exceeds target (zero weights skipped),
    and whether target lies within BOUNDARY_TOL x total of a boundary."""
    cum = np.cumsum(w)
    i = int(np.searchsorted(cum, target, side="right"))
    i = min(i, len(w) - 1)
    total = cum[-1]
    lo = cum[i] - w[i]
    near = abs(cum[i] - target) < BOUNDARY_TOL * total or abs(target - lo) < BOUNDARY_TOL * total
    return i, near


# ---- BADGE ---------------------------------------------------------------------
def badge_reference(pool, B, seed, follow):
    """BADGE with materialised gradient embeddings g = (onehot(argmax p) - p) (x) h.
    `follow` (alq's batch, as row positions among the unlabeled) is used where the
    reference's draw is ambiguous.  Returns (positions, scores, ambiguous steps)."""
    rows = unlabeled_rows(pool)
    p = pool["probs"][rows].astype(np.float64)
    h = pool["emb"][rows].astype(np.float64)
    q = -p
    q[np.arange(len(rows)), np.argmax(pool["probs"][rows], axis=1)] += 1.0
    g = (q[:, :, None] * h[:, None, :]).reshape(len(rows), -1)  # N x (C d): fine for a test pool
    norms = (g * g).sum(axis=1)
    first = int(np.argmax(norms))  # ties: the lower id (rows are in id order)
    picks, scores, ambiguous = [first], [np.sqrt(norms[first])], []
    D2 = ((g - g[first]) ** 2).sum(axis=1)
    D2[first] = 0
    while len(picks) < B:
        w = D2.copy()
        w[picks] = 0
        if w.sum() <= 0:
            w = np.ones(len(rows))
            w[picks] = 0
        u = hash_unit(seed, len(picks), PURPOSE_BADGE)
        i, near = d2_pick(w, u * w.sum())
        if near and follow is not None and len(follow) > len(picks) and follow[len(picks)] != i:
            ambiguous.append(len(picks))
            i = follow[len(picks)]
        picks.append(i)
        scores.append(np.sqrt(max(D2[i], 0.0)))
        D2 = np.minimum(D2, ((g - g[i]) ** 2).sum(axis=1))
        D2[picks] = 0
    return [int(rows[i]) for i in picks], np.array(scores), ambiguous


def part_badge(R, wd):
    pool_path = gen_pool(R, wd, "badge", 1500, 12, 6, 25, 5)
    pool = read_pool(pool_path)
    rows = unlabeled_rows(pool)
    pos_of = {int(pool["ids"][r]): k for k, r in enumerate(rows)}
    for seed, B in ((1, 25), (7, 40)):
        got = select_all_ranks(R, wd, f"badge-s{seed}", pool_path,
                               ["--strategy", "badge", "--budget", B, "--seed", seed])
        if got is None:
            continue
        ids, scores = got
        follow = [pos_of[int(i)] for i in ids]
        ref_rows, ref_scores, amb = badge_reference(pool, B, seed, follow)
        ref_ids = pool["ids"][ref_rows]
        check(np.array_equal(ids, ref_ids), f"badge seed {seed}: alq {ids.tolist()} vs reference {ref_ids.tolist()}")
        check(np.allclose(scores, ref_scores, rtol=1e-4, atol=1e-5),
              f"badge seed {seed}: scores differ from the reference by {np.max(np.abs(scores - ref_scores))}")
        check(len(set(ids.tolist())) == len(ids), f"badge seed {seed}: an item was drawn twice")
        check(not set(ids.tolist()) & set(pool["lids"].tolist()), f"badge seed {seed}: picked a labeled item")
        if amb:
            print(f"badge seed {seed}: reference followed alq at ambiguous draws {amb}")
    # Duplicates: every item coincides with one of 3 rows, so D^2 runs out after
    # 3 picks and the rest of the batch is uniform over the unchosen items.
    dup_path = os.path.join(wd, "dup.h5")
    import h5py
    with h5py.File(pool_path, "r") as f, h5py.File(dup_path, "w") as g:
        n = f["embeddings"].shape[0]
        src = np.arange(n) % 3
        g["embeddings"] = f["embeddings"][:][src]
        g["probs"] = f["probs"][:][src]
        g["ids"] = np.arange(n, dtype=np.int64)
    dup = read_pool(dup_path)
    got = select_all_ranks(R, wd, "badge-dup", dup_path, ["--strategy", "badge", "--budget", 10, "--seed", 2])
    if got is not None:
        ref_rows, _, amb = badge_reference(dup, 10, 2, None)
        check(np.array_equal(got[0], dup["ids"][ref_rows]) or amb,
              f"badge duplicates: alq {got[0].tolist()} vs reference {dup['ids'][ref_rows].tolist()}")
    # Composes: AnchorAL subpool, and --diversity exact (k-center instead of D^2).
    select_all_ranks(R, wd, "badge-anchoral", pool_path,
                     ["--strategy", "badge", "--budget", 15, "--subpool", "anchoral", "--subpool-size", 300,
                      "--anchors-per-class", 2, "--neighbors", 60])
    a = select_all_ranks(R, wd, "badge-kcenter", pool_path,
                         ["--strategy", "badge", "--budget", 15, "--diversity", "exact"])
    k = select_all_ranks(R, wd, "kcenter-same", pool_path, ["--strategy", "kcenter", "--budget", 15])
    if a is not None and k is not None:
        check(np.array_equal(a[0], k[0]), "badge --diversity exact is not the k-center batch")


# ---- k-means (cluster/) and TypiClust --------------------------------------------
def kmeans_reference(X, k, seed, max_iter):
    """k-means++ then Lloyd, float64, over the rows of X in the documented draw
    order (labeled items by id, then unlabeled by id).  Centroids are rounded to
    float32 as alq keeps them.  Returns (labels, centroids, ambiguous draws)."""
    n = len(X)
    w = np.ones(n)
    centers, ambiguous = [], 0
    D2 = None
    while len(centers) < min(k, n):
        if w.sum() <= 0:
            break
        i, near = d2_pick(w, hash_unit(seed, len(centers), PURPOSE_KMEANSPP) * w.sum())
        ambiguous += near
        centers.append(X[i].copy())
        d = ((X - X[i]) ** 2).sum(axis=1)
        D2 = d if D2 is None else np.minimum(D2, d)
        w = D2.copy()
    C = np.array(centers, dtype=np.float32).astype(np.float64)
    labels = None
    for _ in range(max_iter):
        dist = ((X[:, None, :] - C[None, :, :]) ** 2).sum(axis=2)
        new = np.argmin(dist, axis=1)
        if labels is not None and np.array_equal(new, labels):
            break
        labels = new
        if _ == max_iter - 1:
            break
        for j in range(len(C)):
            if (labels == j).any():
                C[j] = X[labels == j].mean(axis=0).astype(np.float32)
    return labels, C, ambiguous


def typiclust_reference(pool, B, seed, cap=500, min_size=5, knn=20):
    lids = pool["lids"]
    row_of = {int(i): r for r, i in enumerate(pool["ids"])}
    lrows = np.array([row_of[int(i)] for i in lids], dtype=np.int64)
    urows = unlabeled_rows(pool)
    rows = np.concatenate([lrows, urows])
    X = pool["emb"][rows].astype(np.float64)
    K = min(len(lids) + B, cap)
    labels, _, amb = kmeans_reference(X, K, seed, 100)
    is_lab = np.arange(len(rows)) < len(lrows)
    sizes = np.bincount(labels, minlength=K)
    labeled = np.bincount(labels[is_lab], minlength=K)
    order = sorted(range(K), key=lambda j: (labeled[j], -sizes[j], j))
    large = [j for j in order if sizes[j] > min_size]
    small = [j for j in order if sizes[j] <= min_size]
    left = {j: int(sizes[j] - labeled[j]) for j in range(K)}
    taken = np.zeros(len(rows), bool)
    taken[is_lab] = True
    picks, scores, pos = [], [], 0
    while len(picks) < B:
        ring = large if any(left[j] > 0 for j in large) else small
        j = None
        for _ in range(len(ring)):
            c = ring[pos % len(ring)]
            pos += 1
            if left[c] > 0:
                j = c
                break
        if j is None:
            break
        mem = np.nonzero((labels == j) & ~taken)[0]  # id order within the unlabeled part
        k = min(knn, len(mem) // 2)
        if k == 0:
            best, score = mem[0], 0.0
        else:
            F = X[mem]
            D = ((F[:, None, :] - F[None, :, :]) ** 2).sum(axis=2)
            np.fill_diagonal(D, np.inf)
            mean = np.sort(D, axis=1)[:, :k].mean(axis=1)
            typ = 1.0 / (mean + 1e-5)
            best, score = mem[int(np.argmax(typ))], float(typ.max())
        taken[best] = True
        left[j] -= 1
        picks.append(int(pool["ids"][rows[best]]))
        scores.append(score)
    return np.array(picks, dtype=np.int64), np.array(scores), amb


def part_typiclust(R, wd):
    pool_path = gen_pool(R, wd, "typiclust", 1200, 10, 6, 30, 8)
    pool = read_pool(pool_path)
    for seed, B in ((2, 12), (4, 30)):
        got = select_all_ranks(R, wd, f"typiclust-s{seed}", pool_path,
                               ["--strategy", "typiclust", "--budget", B, "--seed", seed])
        if got is None:
            continue
        ref, ref_scores, amb = typiclust_reference(pool, B, seed)
        check(amb == 0, f"typiclust seed {seed}: the fixture has {amb} ambiguous k-means++ draw(s)")
        check(np.array_equal(got[0], ref), f"typiclust seed {seed}: alq {got[0].tolist()} vs reference {ref.tolist()}")
        if len(got[1]) == len(ref_scores):
            check(np.allclose(got[1], ref_scores, rtol=1e-3),
                  f"typiclust seed {seed}: typicality differs from the reference by "
                  f"{np.max(np.abs(got[1] - ref_scores) / ref_scores)}")
    # More picks than clusters of > 5 items (round robin wraps), few labeled.
    small = gen_pool(R, wd, "typiclust-small", 90, 6, 3, 3, 9)
    sp = read_pool(small)
    got = select_all_ranks(R, wd, "typiclust-wrap", small, ["--strategy", "typiclust", "--budget", 40, "--seed", 2])
    if got is not None:
        ref, _, _ = typiclust_reference(sp, 40, 2)
        check(np.array_equal(got[0], ref), f"typiclust wrap: alq {got[0].tolist()} vs reference {ref.tolist()}")
    # Clusters of over 512 members (alq computes a rank's own pairs in 512 x 512
    # tile pairs, the transposed half folded separately): no labeled items,
    # B = K = 2 clusters of about 1,200 items.
    big = gen_pool(R, wd, "typiclust-big", 2400, 10, 2, 0, 11)
    bp = read_pool(big)
    got = select_all_ranks(R, wd, "typiclust-big", big, ["--strategy", "typiclust", "--budget", 2, "--seed", 3])
    if got is not None:
        ref, ref_scores, amb = typiclust_reference(bp, 2, 3)
        check(amb == 0, f"typiclust big: the fixture has {amb} ambiguous k-means++ draw(s)")
        check(np.array_equal(got[0], ref), f"typiclust big: alq {got[0].tolist()} vs reference {ref.tolist()}")
        check(len(got[1]) == len(ref_scores) and np.allclose(got[1], ref_scores, rtol=1e-3),
              f"typiclust big: typicality {got[1].tolist()} vs reference {ref_scores.tolist()}")
    select_all_ranks(R, wd, "typiclust-anchoral", pool_path,
                     ["--strategy", "typiclust", "--budget", 15, "--subpool", "anchoral", "--subpool-size", 300,
                      "--anchors-per-class", 2, "--neighbors", 60])


# ---- Cluster-Margin ----------------------------------------------------------------
def cluster_margin_reference(pool, B, seed, M, cap=500, per_cluster=50):
    ids = pool["ids"]
    k = min(B, cap)
    keep = np.array([hash_unit(seed, int(i), PURPOSE_CLUSTER_SAMPLE) < per_cluster * k / len(ids) for i in ids])
    X = pool["emb"][keep].astype(np.float64)
    _, C, amb = kmeans_reference(X, k, seed, 100)
    rows = unlabeled_rows(pool)
    cand, scores = top_b(ids[rows], margin_scores(pool["probs"][rows]), M)
    E = pool["emb"][np.searchsorted(ids, cand)].astype(np.float64)
    lab = np.argmin(((E[:, None, :] - C[None, :, :]) ** 2).sum(axis=2), axis=1)
    size = np.bincount(lab, minlength=len(C))
    key = [(size[lab[i]], lab[i], hash_unit(seed, int(cand[i]), PURPOSE_CLUSTER_PICK), int(cand[i]))
           for i in range(len(cand))]
    order = sorted(range(len(cand)), key=lambda i: key[i])
    groups = {}
    for i in order:
        groups.setdefault(int(lab[i]), []).append(i)
    seq = sorted(groups, key=lambda g: (len(groups[g]), g))
    out = []
    for r in range(max(len(v) for v in groups.values())):
        for g in seq:
            if r < len(groups[g]) and len(out) < B:
                out.append(groups[g][r])
    return cand[out], scores[out], amb


def part_cluster_margin(R, wd):
    pool_path = gen_pool(R, wd, "cm", 1500, 12, 6, 25, 6)
    pool = read_pool(pool_path)
    for seed, B, M in ((1, 20, None), (6, 30, 120)):
        argv = ["--strategy", "cluster-margin", "--budget", B, "--seed", seed]
        if M:
            argv += ["--candidates", M]
        got = select_all_ranks(R, wd, f"cm-s{seed}", pool_path, argv)
        if got is None:
            continue
        ref, ref_scores, amb = cluster_margin_reference(pool, B, seed, M or 10 * B)
        check(amb == 0, f"cluster-margin seed {seed}: {amb} ambiguous k-means++ draw(s) in the fixture")
        check(np.array_equal(got[0], ref), f"cluster-margin seed {seed}: alq {got[0].tolist()} vs reference {ref.tolist()}")
        check(np.allclose(got[1], ref_scores, rtol=1e-6), f"cluster-margin seed {seed}: scores differ")
    # --state: round 1 clusters and keeps them in /clusters; round 2 reuses
    # them.  Replaced by one centroid, round 2's batch must be its M candidates
    # in hash order (a single group), at every rank count.
    import h5py
    for P in RANKS:
        st = os.path.join(wd, f"cm-state-n{P}.h5")
        argv = ["--pool", pool_path, "--state", st, "--strategy", "cluster-margin", "--budget", 10, "--seed", 3,
                "--quiet"]
        p1 = R.mpi(P, "select", *argv, "--out", os.path.join(wd, f"cm-r1-n{P}.h5"))
        if not check(p1.returncode == 0, f"cluster-margin --state round 1 at {P} ranks: {p1.stderr.strip()}"):
            continue
        r1, _ = read_batch(os.path.join(wd, f"cm-r1-n{P}.h5"))
        ref1, _, _ = cluster_margin_reference(pool, 10, 3, 100)
        check(np.array_equal(r1, ref1), f"cluster-margin --state round 1 at {P} ranks: {r1.tolist()} vs {ref1.tolist()}")
        with h5py.File(st, "r+") as f:
            k, d = int(f["clusters"].attrs["k"]), int(f["clusters"].attrs["d"])
            check(k == 10 and d == 12, f"cluster-margin state keeps {k} x {d} centroids, expected 10 x 12")
            del f["clusters"]
            g = f.create_group("clusters")
            g.attrs["k"], g.attrs["d"] = np.int64(1), np.int64(12)
            g["centroids"] = pool["emb"].mean(axis=0).astype(np.float32)
        p2 = R.mpi(P, "select", *argv, "--out", os.path.join(wd, f"cm-r2-n{P}.h5"))
        if not check(p2.returncode == 0, f"cluster-margin --state round 2 at {P} ranks: {p2.stderr.strip()}"):
            continue
        r2, _ = read_batch(os.path.join(wd, f"cm-r2-n{P}.h5"))
        rows = unlabeled_rows(pool)
        rows = rows[~np.isin(pool["ids"][rows], r1)]  # round 1's batch is pending
        cand, _ = top_b(pool["ids"][rows], margin_scores(pool["probs"][rows]), 100)
        want = sorted(cand.tolist(), key=lambda i: (hash_unit(3, i, PURPOSE_CLUSTER_PICK), i))[:10]
        check(r2.tolist() == want, f"cluster-margin --state round 2 at {P} ranks did not reuse the state's clusters: "
              f"{r2.tolist()} vs {want}")
        with h5py.File(st, "r") as f:
            check(int(f["clusters"].attrs["k"]) == 1, "cluster-margin round 2 replaced the state's clusters")
    # Composes: AnchorAL subpool; --diversity none is plain margin.
    select_all_ranks(R, wd, "cm-anchoral", pool_path,
                     ["--strategy", "cluster-margin", "--budget", 15, "--subpool", "anchoral", "--subpool-size", 300,
                      "--anchors-per-class", 2, "--neighbors", 60])
    a = select_all_ranks(R, wd, "cm-none", pool_path, ["--strategy", "cluster-margin", "--budget", 15,
                                                       "--diversity", "none"])
    b = select_all_ranks(R, wd, "margin-same", pool_path, ["--strategy", "margin", "--budget", 15])
    if a is not None and b is not None:
        check(np.array_equal(a[0], b[0]), "cluster-margin --diversity none is not the margin batch")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", required=True, choices=["badge", "typiclust", "cluster-margin"])
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    R = Runner(a.alq, a.mpiexec)
    {"badge": part_badge, "typiclust": part_typiclust, "cluster-margin": part_cluster_margin}[a.part](R, a.workdir)
    finish("strategies_cluster " + a.part)


if __name__ == "__main__":
    main()
