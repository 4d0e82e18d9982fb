#!/usr/bin/python3
"""bench/compare_batches.py: does alq's batch equal the numpy baseline's?

  compare_batches.py --pool P [--labeled F] --strategy kcenter|margin \
      --alq batch.h5 --numpy baseline.json [--seed S] [--json OUT]

Same ids in the same order: "same".  Otherwise it prints the first differing
step and explains it:

  kcenter  both implementations agree on the centers up to step k (labeled
           items + the first k picks), so their picks a (alq) and b (numpy) at
           step k are both "the farthest candidate" under their own float32
           arithmetic.  The script recomputes, in float64 from the embeddings,
           each one's min squared distance to those centers, and a rigorous
           bound on the float32 error of d2 = ||x||^2 + ||c||^2 - 2 x.c
           (gamma_{d+3} * (||x||^2 + ||c||^2 + 2 sum|x_i c_i|), max over the
           centers).  The difference is a floating-point near-tie when
           |d2_a - d2_b| <= err_a + err_b.
  margin   the scores at the differing position; equal scores are a tie-order
           difference, scores within a few float32 ulps are a near-tie.

Exit status 0 when the batches are the same or differ only by an explained
near-tie, 1 otherwise (a real mismatch), 2 on bad input.
"""
import argparse
import json
import sys

import h5py
import numpy as np

U32 = 2.0 ** -24  # float32 unit roundoff


def gamma(n):
    return n * U32 / (1.0 - n * U32)


def read_labeled(pool, labeled_path):
    path = labeled_path or pool
    with h5py.File(path, "r") as f:
        if "labeled" not in f or "ids" not in f["labeled"]:
            return np.zeros(0, dtype=np.int64)
        return np.sort(np.asarray(f["labeled/ids"][...], dtype=np.int64))


def min_d2_f64(X, x_id, centers):
    """float64 min squared distance of row x_id to rows `centers`, the argmin,
    and the max float32 error bound of the expanded formula over the centers."""
    x = X[x_id].astype(np.float64)
    C = X[centers].astype(np.float64)
    d2 = ((C - x) ** 2).sum(axis=1)
    j = int(np.argmin(d2))
    d = X.shape[1]
    err = gamma(d + 3) * ((x * x).sum() + (C * C).sum(axis=1) + 2.0 * np.abs(C * x).sum(axis=1))
    return float(d2[j]), int(centers[j]), float(err.max())


def explain_kcenter(X, labeled, a_ids, b_ids, k):
    centers = np.concatenate([labeled, np.asarray(a_ids[:k], dtype=np.int64)])
    a, b = int(a_ids[k]), int(b_ids[k])
    if centers.size == 0:
        return {"kind": "first-center", "near_tie": False,
                "text": "step 0 with no centers: the first center is chosen by "
                        "alq_hash3(seed, id, 2), not by distance; alq picked %d, numpy %d "
                        "(a hash or first-center rule mismatch, not a float near-tie)" % (a, b)}
    da, ca, ea = min_d2_f64(X, a, centers)
    db, cb, eb = min_d2_f64(X, b, centers)
    gap = abs(da - db)
    near = gap <= ea + eb
    text = ("step %d (%d centers): alq picked id %d, numpy id %d\n"
            "  float64 min-d2: alq's %.9g (nearest center %d), numpy's %.9g (nearest center %d)\n"
            "  |difference| = %.3g = %.3g relative; float32 error bound %.3g + %.3g = %.3g\n"
            "  => %s" % (k, centers.size, a, b, da, ca, db, cb, gap, gap / max(da, db, 1e-300),
                         ea, eb, ea + eb,
                         "a floating-point near-tie (the difference is within float32 rounding of d2)"
                         if near else "NOT explained by float32 rounding: a real mismatch"))
    return {"kind": "kcenter", "near_tie": bool(near), "alq_id": a, "numpy_id": b,
            "d2_alq_f64": da, "d2_numpy_f64": db, "gap": gap, "err_bound": ea + eb, "text": text}


def explain_margin(a_ids, a_sc, b_ids, b_sc, k):
    sa, sb = float(a_sc[k]), float(b_sc[k])
    if sa == sb:
        kind, near = "tie order (equal scores, ids %d vs %d)" % (a_ids[k], b_ids[k]), False
    else:
        near = abs(sa - sb) <= 8 * U32 * max(abs(sa), abs(sb))
        kind = "near-tie in score" if near else "scores differ"
    text = ("position %d: alq id %d score %.17g, numpy id %d score %.17g: %s"
            % (k, a_ids[k], sa, b_ids[k], sb, kind))
    return {"kind": "margin", "near_tie": bool(near), "text": text}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pool", required=True)
    ap.add_argument("--labeled", default="")
    ap.add_argument("--strategy", choices=["kcenter", "margin"], required=True)
    ap.add_argument("--alq", required=True, help="alq's batch .h5")
    ap.add_argument("--numpy", required=True, help="kcenter_numpy.py JSON")
    ap.add_argument("--json", default="", help="also write the verdict as JSON here")
    a = ap.parse_args(argv)

    with h5py.File(a.alq, "r") as f:
        a_ids = np.asarray(f["selected/ids"][...], dtype=np.int64)
        a_sc = np.asarray(f["selected/scores"][...], dtype=np.float64)
    with open(a.numpy) as f:
        base = json.load(f)
    b_ids = np.asarray(base["ids"], dtype=np.int64)
    b_sc = np.asarray(base["scores"], dtype=np.float64)
    labeled = read_labeled(a.pool, a.labeled)

    verdict = {"strategy": a.strategy, "alq_n": int(a_ids.size), "numpy_n": int(b_ids.size)}
    ok = True
    if a_ids.size != b_ids.size:
        print("batch sizes differ: alq %d, numpy %d" % (a_ids.size, b_ids.size))
        ok = False
    m = min(a_ids.size, b_ids.size)
    diff = np.flatnonzero(a_ids[:m] != b_ids[:m])
    overlap = len(set(a_ids.tolist()) & set(b_ids.tolist()))
    verdict["overlap"] = overlap
    if diff.size == 0 and ok:
        # Same batch: also report how closely the scores agree.
        with np.errstate(invalid="ignore"):
            rel = np.where(a_sc == b_sc, 0.0,
                           np.abs(a_sc - b_sc) / np.maximum(np.abs(b_sc), 1e-30))
        rel = np.nan_to_num(rel, nan=np.inf)
        verdict.update(same=True, first_diff=None, max_rel_score_diff=float(rel.max()) if m else 0.0)
        print("same batch: %d ids in the same order; max relative score difference %.3g"
              % (m, verdict["max_rel_score_diff"]))
        if verdict["max_rel_score_diff"] > 1e-3:
            print("WARNING: same ids but scores disagree by more than 1e-3 relative "
                  "(score semantics differ?)")
    else:
        k = int(diff[0]) if diff.size else m
        verdict.update(same=False, first_diff=k)
        print("batches differ: first at step %d of %d; %d of %d ids in common overall"
              % (k, m, overlap, m))
        if k < m:
            if a.strategy == "kcenter":
                with h5py.File(a.pool, "r") as f:
                    X = f["embeddings"]
                    X = np.asarray(X[...], dtype=np.float32)
                ex = explain_kcenter(X, labeled, a_ids, b_ids, k)
            else:
                ex = explain_margin(a_ids, a_sc, b_ids, b_sc, k)
            print(ex["text"])
            verdict["explanation"] = ex
            ok = ok and ex["near_tie"]
        else:
            ok = False
    verdict["ok"] = bool(ok)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(verdict, f)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
