#!/usr/bin/python3
"""bench/kcenter_numpy.py: the numpy baselines alq's selection is measured against.

Run with Debian's /usr/bin/python3 (python3-numpy, python3-h5py), and with
OPENBLAS_NUM_THREADS=1 for a one-rank comparison.

  kcenter   greedy k-center (farthest-first), the same semantics as alq:
            candidates = all unlabeled items, centers = all labeled items;
            d2(x, c) = ||x||^2 + ||c||^2 - 2 x.c in float32, clamped at 0; each
            step takes the candidate with the largest min-d2 to the centers
            (ties: lower id) and makes it a center.  With no labeled items the
            first center is the unlabeled item with the largest
            alq_hash3(seed, id, 2).  Score = sqrt(min-d2 at selection time).
            Best-practice numpy: norms once, the initial min-d2 to the labeled
            centers by chunked GEMM, then per step one matrix-vector product
            (X @ c) over all rows and an in-place running minimum, no
            temporaries.  The product is BLAS sgemv (np.dot) or numpy's einsum
            loop, whichever streams X faster on this machine (--matvec auto
            measures both before the timed selection; on AMD EPYC with Debian's
            OpenBLAS 0.3.21, einsum is the faster one).
  margin    score = 1 - (p_top1 - p_top2) (float64 from the float32 probs);
            batch = the unlabeled top-B by score descending, ties lower id.

Only the selection is timed (after the pool is in memory).  The result is JSON:
ids and scores in selection order, seconds, and the split init/steps.

With --follow BATCH.h5 the k-center baseline replays another implementation's
batch instead of choosing (same updates, picks forced) and reports, per step,
how far the forced pick's min-d2 is below the step's maximum: a valid greedy
run has gaps only at float32 rounding level.
"""
import argparse
import json
import sys
import time

import h5py
import numpy as np

M64 = (1 << 64) - 1


def _mix64_int(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return z ^ (z >> 31)


def _mix64_arr(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def alq_hash3(seed, ids, purpose):
    """core/hash.c alq_hash3 over an array of ids (uint64 wrapping arithmetic)."""
    ids = np.asarray(ids, dtype=np.uint64)
    h = _mix64_int((seed + 0x9E3779B97F4A7C15) & M64)
    p = (purpose * 0x9E3779B97F4A7C15 + 0x85157AF5) & M64
    with np.errstate(over="ignore"):
        z = np.uint64(h) ^ (ids + np.uint64(0x632BE59BD9B4E019))
        z = _mix64_arr(z)
        z = _mix64_arr(z ^ np.uint64(p))
    return z


def read_labeled(pool, labeled_path):
    """Labeled ids: from --labeled FILE if given, else the pool's /labeled group."""
    path = labeled_path or pool
    with h5py.File(path, "r") as f:
        if "labeled" not in f or "ids" not in f["labeled"]:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.asarray(f["labeled/ids"][...], dtype=np.int64))


def matvec_fn(name):
    """g[:] = X @ c, in place.  'gemv' is BLAS (OpenBLAS sgemv through np.dot);
    'einsum' is numpy's own SIMD sum-of-products loop, which on some machines
    streams X faster than OpenBLAS's sgemv kernel for this tall-skinny shape."""
    if name == "gemv":
        return lambda X, c, g: np.dot(X, c, out=g)
    if name == "einsum":
        return lambda X, c, g: np.einsum("ij,j->i", X, c, out=g)
    raise ValueError(name)


def pick_matvec(X, reps=3):
    """The faster matrix-vector product on this machine and this X (best of
    `reps`, untimed as far as the benchmark is concerned), so the baseline is
    the best numpy can do here.  Returns (name, {name: best seconds})."""
    g = np.empty(X.shape[0], dtype=np.float32)
    c = X[X.shape[0] // 2].copy()
    best = {}
    for name in ("gemv", "einsum"):
        f = matvec_fn(name)
        f(X, c, g)
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            f(X, c, g)
            ts.append(time.perf_counter() - t0)
        best[name] = min(ts)
    return min(best, key=best.get), best


def kcenter(X, labeled, budget, seed, follow=None, chunk=4096, matvec="gemv"):
    """Returns (ids, scores, init_seconds, step_seconds, follow_gaps)."""
    mv = matvec_fn(matvec)
    n, d = X.shape
    t0 = time.perf_counter()
    nx = np.einsum("ij,ij->i", X, X)  # float32 squared norms
    # mind = min-d2 to the centers; selected and labeled rows are -1 so the
    # running minimum keeps them out of every argmax.
    mind = np.empty(n, dtype=np.float32)
    if labeled.size:
        C = X[labeled]
        nc = nx[labeled]
        T_buf = np.empty((chunk, labeled.size), dtype=np.float32)
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            G = X[lo:hi] @ C.T            # one GEMM per chunk, float32
            G *= -2.0
            T = T_buf[: hi - lo]
            np.add(nx[lo:hi, None], nc[None, :], out=T)  # (||x||^2 + ||c||^2) - 2 x.c,
            T += G                                        # alq's rounding order
            np.min(T, axis=1, out=mind[lo:hi])
        np.maximum(mind, 0.0, out=mind)   # clamp (commutes with min)
        mind[labeled] = -1.0
    else:
        mind.fill(np.inf)
    t1 = time.perf_counter()

    ids = np.empty(budget, dtype=np.int64)
    scores = np.empty(budget, dtype=np.float64)
    gaps = [] if follow is not None else None
    g = np.empty(n, dtype=np.float32)
    t = np.empty(n, dtype=np.float32)
    for step in range(budget):
        if step == 0 and labeled.size == 0:
            if follow is not None:
                i = int(follow[0])
            else:
                # The first center: largest key alq_hash_unit(seed, id, 2), i.e.
                # the top 53 bits of alq_hash3, among the (all unlabeled) items;
                # np.argmax takes the first maximum = the lower id on a tie.
                i = int(np.argmax(alq_hash3(seed, np.arange(n), 2) >> np.uint64(11)))
            s = float("inf")  # no center yet: alq writes +inf as its score
        else:
            if follow is not None:
                i = int(follow[step])
                best = float(mind.max())
                gaps.append((step, i, best, float(mind[i])))
            else:
                i = int(np.argmax(mind))  # first maximum = lower id
            s = float(np.sqrt(max(float(mind[i]), 0.0)))
        ids[step] = i
        scores[step] = s
        mind[i] = -1.0
        if step + 1 == budget:
            break
        # One matrix-vector product over every row, then d2 = (||x||^2 + ||c||^2) - 2 X.c (alq's
        # rounding order), clamp, running minimum; all in place.
        mv(X, X[i], g)
        g *= -2.0
        np.add(nx, nx[i], out=t)
        g += t
        np.maximum(g, 0.0, out=g)
        np.minimum(mind, g, out=mind)
    t2 = time.perf_counter()
    return ids, scores, t1 - t0, t2 - t1, gaps


def margin(P, labeled, budget):
    t0 = time.perf_counter()
    n, c = P.shape
    part = np.partition(P, c - 2, axis=1)
    score = 1.0 - (part[:, c - 1].astype(np.float64) - part[:, c - 2].astype(np.float64))
    score[labeled] = -np.inf
    kth = np.partition(score, n - budget)[n - budget]  # the B-th largest score
    above = np.flatnonzero(score > kth)
    ties = np.flatnonzero(score == kth)[: budget - above.size]  # lower ids first
    sel = np.concatenate([above, ties])
    order = np.lexsort((sel, -score[sel]))  # score desc, then id asc
    ids = sel[order].astype(np.int64)
    t1 = time.perf_counter()
    return ids, score[ids], t1 - t0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", required=True)
    ap.add_argument("--labeled", default="", help="labeled-set file (default: the pool's /labeled)")
    ap.add_argument("--strategy", choices=["kcenter", "margin"], default="kcenter")
    ap.add_argument("--budget", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--matvec", choices=["auto", "gemv", "einsum"], default="auto",
                    help="k-center step product (auto: the faster here, measured before timing)")
    ap.add_argument("--follow", default="", help="k-center: replay /selected/ids of this batch file")
    ap.add_argument("--out", default="-", help="JSON output file (default stdout)")
    a = ap.parse_args(argv)

    labeled = read_labeled(a.pool, a.labeled)
    t_read = time.perf_counter()
    with h5py.File(a.pool, "r") as f:
        if a.strategy == "kcenter":
            data = np.ascontiguousarray(f["embeddings"][...], dtype=np.float32)
        else:
            data = np.ascontiguousarray(f["probs"][...], dtype=np.float32)
    t_read = time.perf_counter() - t_read
    n = data.shape[0]
    if a.budget < 1 or a.budget > n - labeled.size:
        sys.exit("kcenter_numpy: budget must be in [1, unlabeled items]")

    out = {"strategy": a.strategy, "n": int(n), "dim": int(data.shape[1]),
           "labeled": int(labeled.size), "budget": a.budget, "seed": a.seed,
           "read_seconds": t_read, "numpy": np.__version__}
    if a.strategy == "kcenter":
        follow = None
        if a.follow:
            with h5py.File(a.follow, "r") as f:
                follow = np.asarray(f["selected/ids"][...], dtype=np.int64)
            if follow.size != a.budget:
                sys.exit("kcenter_numpy: --follow batch has %d ids, budget is %d" % (follow.size, a.budget))
        matvec, calib = a.matvec, {}
        if matvec == "auto":
            matvec, calib = pick_matvec(data)
        ids, scores, t_init, t_steps, gaps = kcenter(data, labeled, a.budget, a.seed, follow,
                                                     matvec=matvec)
        out.update(matvec=matvec, matvec_calibration_seconds=calib,
                   seconds=t_init + t_steps, init_seconds=t_init, steps_seconds=t_steps,
                   step_bytes=int(data.nbytes))
        if gaps is not None:
            # Relative shortfall of each forced pick below the step's maximum.
            worst = max(gaps, key=lambda g: (g[2] - g[3]) / max(g[2], 1e-30), default=None)
            out["follow"] = {
                "steps_checked": len(gaps),
                "steps_not_argmax": sum(1 for g in gaps if g[3] < g[2]),
                "worst": None if worst is None else
                {"step": worst[0], "id": worst[1], "max_d2": worst[2], "pick_d2": worst[3],
                 "rel_gap": (worst[2] - worst[3]) / max(worst[2], 1e-30)},
            }
    else:
        ids, scores, secs = margin(data, labeled, a.budget)
        out.update(seconds=secs)
    out["ids"] = ids.tolist()
    out["scores"] = [float(s) for s in scores]
    text = json.dumps(out)
    if a.out == "-":
        print(text)
    else:
        with open(a.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
