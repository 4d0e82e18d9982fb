#!/usr/bin/python3
"""bench/kcenter_lazy_numpy.py: an experiment, not a baseline.  Exact greedy
k-center with stale upper bounds ("lazy" farthest-first) and blocked GEMM
updates, to show what an exact k-center could gain over one streamed pass per
step on pools where triangle-inequality pruning skips almost nothing
(docs/benchmarks.md, "Why pruning does not reach 3x").

Idea: mind[i] only ever decreases, so a min-distance computed against an
older set of centers is an upper bound.  Keep ub[i] against the centers
"flushed" so far and a short list P of newer ("pending") centers.  A step
walks the candidates in decreasing ub order (sorted once per flush), computes
the exact value min(ub[i], d2(x_i, P)) for each one visited, and stops as soon
as the next upper bound cannot beat the best exact value (ties: lower id) --
that candidate is the exact argmax.  Every F steps (or earlier, when a step
had to visit many candidates because the bounds are loose) the pending
centers are flushed into ub with one GEMM over all rows: F centers per pass
over the pool instead of one, at GEMM speed rather than memory speed.

Same semantics and arithmetic order as kcenter_numpy.py (d2 = (|x|^2 + |c|^2)
- 2 x.c in float32, clamped at 0, ties to the lower id, first center by hash
when nothing is labeled), so the batch should equal the baseline's up to
float near-ties (GEMM and GEMV round x.c differently).

  kcenter_lazy_numpy.py --pool P [--labeled F] --budget B [--seed S]
                        [--flush 64] [--baseline numpy.json] [--out lazy.json]
"""
import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kcenter_numpy as kn  # noqa: E402


def lazy_kcenter(X, labeled, budget, seed, flush_every=64, visit_limit=2000, chunk=8192):
    n, d = X.shape
    t0 = time.perf_counter()
    nx = np.einsum("ij,ij->i", X, X)
    ub = np.full(n, np.inf, dtype=np.float32)
    stats = {"flushes": 0, "visits": 0}
    buf = [np.empty((chunk, flush_every), dtype=np.float32)]

    def flush(centers):
        """ub = min(ub, d2 to rows `centers`), one GEMM per row chunk."""
        stats["flushes"] += 1
        if buf[0].shape[1] < len(centers):
            buf[0] = np.empty((chunk, len(centers)), dtype=np.float32)
        T = buf[0]
        C = X[centers]
        nc = nx[centers]
        for lo in range(0, n, chunk):
            hi = min(n, lo + chunk)
            G = X[lo:hi] @ C.T
            G *= -2.0
            t = T[: hi - lo, : len(centers)]
            np.add(nx[lo:hi, None], nc[None, :], out=t)
            t += G
            m = t.min(axis=1)
            np.maximum(m, 0.0, out=m)
            np.minimum(ub[lo:hi], m, out=ub[lo:hi])

    if labeled.size:
        flush(labeled)
    ub[labeled] = -1.0
    ids = []
    if labeled.size == 0:
        i = int(np.argmax(kn.alq_hash3(seed, np.arange(n), 2) >> np.uint64(11)))
        ids.append(i)
        ub[i] = -1.0
        flush(np.array([i]))
        ub[i] = -1.0
    while len(ids) < budget:
        order = np.lexsort((np.arange(n), -ub))  # ub desc, id asc
        exact = {}  # id -> (value against pending[:k], k)
        pending = []
        visits0 = stats["visits"]
        while len(ids) < budget and len(pending) < flush_every:
            if pending and stats["visits"] - visits0 > visit_limit:
                break  # the bounds are loose (early steps): flush now
            P = X[pending] if pending else None
            Pn = nx[pending] if pending else None
            best, besti = -2.0, -1
            for j in order:
                j = int(j)
                u = float(ub[j])
                if u < 0:
                    continue  # labeled or selected
                if besti >= 0 and (u < best or (u == best and j > besti)):
                    break  # no later candidate can win
                v, k = exact.get(j, (u, 0))
                if k < len(pending):
                    dd = (nx[j] + Pn[k:]) - 2.0 * (P[k:] @ X[j])
                    v = min(v, max(float(dd.min()), 0.0))
                    exact[j] = (v, len(pending))
                    stats["visits"] += 1
                if v > best or (v == best and j < besti):
                    best, besti = v, j
            ids.append(besti)
            ub[besti] = -1.0
            pending.append(besti)
        if pending:
            flush(np.array(pending))
            ub[np.array(ids)] = -1.0
    return np.array(ids, dtype=np.int64), time.perf_counter() - t0, stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", required=True)
    ap.add_argument("--labeled", default="")
    ap.add_argument("--budget", type=int, required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--flush", type=int, default=64)
    ap.add_argument("--baseline", default="", help="kcenter_numpy.py JSON to compare ids with")
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    import h5py
    labeled = kn.read_labeled(a.pool, a.labeled)
    with h5py.File(a.pool, "r") as f:
        X = np.ascontiguousarray(f["embeddings"][...], dtype=np.float32)
    ids, secs, stats = lazy_kcenter(X, labeled, a.budget, a.seed, flush_every=a.flush)
    out = {"seconds": secs, **stats, "ids": ids.tolist()}
    if a.baseline:
        base = json.load(open(a.baseline))
        b = np.asarray(base["ids"])
        out["baseline_seconds"] = base["seconds"]
        out["same_as_baseline"] = bool(np.array_equal(ids, b))
        diff = np.flatnonzero(ids[: b.size] != b[: ids.size])
        out["first_diff"] = int(diff[0]) if diff.size else None
        print("lazy %.2f s (%d flushes, %d exact evaluations), baseline %.2f s, same batch: %s"
              % (secs, stats["flushes"], stats["visits"], base["seconds"], out["same_as_baseline"]),
              file=sys.stderr)
    text = json.dumps(out)
    if a.out == "-":
        print(text)
    else:
        open(a.out, "w").write(text + "\n")


if __name__ == "__main__":
    main()
