#!/usr/bin/python3
"""tests/activelab_consensus.py: alq's CROWDLAB consensus and ActiveLab scores
(consensus/, through tests/test_consensus.c) against a numpy implementation
written here from the formulas of docs/activelab.md (cleanlab's
multiannotator module): random answer sets with 1-6 annotators, 2-6 classes,
exact vote ties (broken by the model, then by the rarer class, then by the
lower class), items with one answer only, and sets where no item has two
answers (unit weights).  Then ActiveLab's temperature scaling (cleanlab's
get_active_learning_scores: find_best_temp_scaler, temp_scale_pred_probs),
also written here: the temperature, the scaled probabilities' maximum, and the
consensus and scores over the scaled probabilities.

    activelab_consensus.py --exe build/tests/test_consensus
"""
import argparse
import subprocess
import sys

import numpy as np

FLOOR = 1e-6
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def majority_vote(items, probs, K):
    total = np.zeros(K, dtype=np.int64)
    for ans in items:
        for _, l in ans:
            total[l] += 1
    out = []
    for i, ans in enumerate(items):
        count = np.bincount([l for _, l in ans], minlength=K)
        tied = np.flatnonzero(count == count.max())
        if len(tied) > 1:
            p = probs[i, tied]
            tied = tied[p == p.max()]
        if len(tied) > 1:
            f = total[tied]
            tied = tied[f == f.min()]
        out.append(int(tied[0]))
    return np.array(out)


def annotator_agreement(items, A):
    """Per annotator: average over shared items of the share of the other
    answers equal to theirs, weights n_i - 1; no shared item: the mean."""
    per = [[] for _ in range(A)]
    for ans in items:
        n = len(ans)
        if n < 2:
            continue
        labels = np.array([l for _, l in ans])
        for a, l in ans:
            per[a].append(((np.sum(labels == l) - 1) / (n - 1), n - 1))
    agree = np.full(A, np.nan)
    for a in range(A):
        if per[a]:
            v, w = np.array(per[a]).T
            agree[a] = np.average(v, weights=w)
    agree[np.isnan(agree)] = np.nanmean(agree)
    return agree


def weigh(items, probs, K, y, agree):
    n = np.array([len(a) for a in items])
    a_i = np.array([np.mean([l == y[i] for _, l in ans]) for i, ans in enumerate(items)])
    multi = n > 1
    P = np.mean(a_i[multi])
    Q = (1 - P) / (K - 1)
    ym = y[multi]
    mode = np.argmax(np.bincount(ym, minlength=K))
    base = max(np.mean(ym != mode), FLOOR)
    w_a = np.maximum(1 - (1 - agree) / base, FLOOR)
    model_err = np.mean(np.argmax(probs[multi], axis=1) != ym)
    w_m = max(1 - model_err / base, FLOOR) * np.sqrt(np.mean(n))
    post = np.zeros_like(probs, dtype=np.float64)
    for i, ans in enumerate(items):
        # sum_j w_j (P if j said k else Q) = Q W + (P - Q) V_k: exact ties for equal votes
        W = sum(w_a[a] for a, _ in ans)
        V = np.zeros(K)
        for a, l in ans:
            V[l] += w_a[a]
        post[i] = (w_m * probs[i].astype(np.float64) + Q * W + (P - Q) * V) / (w_m + W)
    return a_i, w_a, w_m, post


def crowdlab(items, probs, K, A):
    n = np.array([len(a) for a in items])
    mv = majority_vote(items, probs, K)
    if not (n > 1).any():
        q = probs[np.arange(len(items)), mv].astype(np.float64)
        return dict(label=mv, quality=q, agreement=np.ones(len(items)), w_a=np.ones(A), w_m=1.0, weighed=0)
    agree = annotator_agreement(items, A)
    _, _, _, post = weigh(items, probs, K, mv, agree)
    y = mv.copy()
    for i in range(len(items)):
        best = np.flatnonzero(post[i] == post[i].max())
        if len(best) == 1:
            y[i] = best[0]
    a_i, w_a, w_m, post = weigh(items, probs, K, y, agree)
    return dict(label=y, quality=post[np.arange(len(items)), y], agreement=a_i, w_a=w_a, w_m=w_m, weighed=1)


def activelab(ref, items, K):
    wbar = np.mean(ref["w_a"])
    lab = [1 - np.average([ref["quality"][i], 1 / K],
                          weights=[sum(ref["w_a"][a] for a, _ in ans) + ref["w_m"], wbar])
           for i, ans in enumerate(items)]
    unl = [1 - np.average([p, 1 / K], weights=[ref["w_m"], wbar]) for p in np.linspace(0, 1, 11)]
    return np.array(lab), np.array(unl), wbar


COARSE = [0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8]
SMALL = 1e-30


def temp_scale(probs, T):
    """softmax(log p / T) per row, p floored at 1e-30 (renormalising p first
    only shifts log p by a constant per row, which the softmax removes)."""
    s = np.log(np.maximum(probs.astype(np.float64), SMALL)) / T
    e = np.exp(s - s.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def soft_cross_entropy(items, probs, K, T):
    q = np.maximum(temp_scale(probs, T), SMALL)
    ce = [-np.sum(np.bincount([l for _, l in ans], minlength=K) / len(ans) * np.log(q[i])) / np.log(K)
          for i, ans in enumerate(items)]
    return np.mean(ce)


def temperature(items, probs, K):
    """cleanlab's: 1 when no item has two answers, else the grid's."""
    if all(len(a) < 2 for a in items):
        return 1.0
    return grid_temperature(items, probs, K)


def consensus_temperature(items, probs, K, A):
    """activelab's: the grid's against the consensus labels (one answer each),
    the consensus taken with the unscaled probabilities; 1 when no item has two answers."""
    if all(len(a) < 2 for a in items):
        return 1.0
    return grid_temperature([[(0, int(l))] for l in crowdlab(items, probs, K, A)["label"]], probs, K)


def grid_temperature(items, probs, K):
    best = int(np.argmin([soft_cross_entropy(items, probs, K, T) for T in COARSE]))
    fine = np.array([])
    if best != 0:
        fine = np.append(fine, np.linspace(COARSE[best - 1], COARSE[best], 4, endpoint=False))
    if best != len(COARSE) - 1:
        fine = np.append(fine, np.linspace(COARSE[best], COARSE[best + 1], 5, endpoint=True))
    return float(fine[int(np.argmin([soft_cross_entropy(items, probs, K, T) for T in fine]))])


def make_case(rng, kind):
    K = int(rng.integers(2, 7))
    A = int(rng.integers(1, 7)) if kind != "single" else int(rng.integers(1, 4))
    N = int(rng.integers(5, 60))
    truth = rng.integers(0, K, N)
    acc = rng.uniform(0.4, 0.95, A)
    # Over- and under-confident models too, for temperatures far from 1.
    probs = rng.dirichlet(np.full(K, rng.choice([0.05, 0.3, 1.0, 5.0])), N).astype(np.float32)
    if kind == "ties":  # equal probabilities on some rows: the vote's tie-breaks past the model
        probs[: N // 2] = np.float32(1.0 / K)
    items = []
    for i in range(N):
        m = 1 if kind == "single" else int(rng.integers(1, A + 1))
        who = rng.choice(A, m, replace=False)
        ans = []
        for a in who:
            l = truth[i] if rng.random() < acc[a] else int(rng.integers(0, K))
            ans.append((int(a), int(l)))
        items.append(ans)
    used = sorted({a for ans in items for a, _ in ans})  # every annotator index answers once at least
    remap = {a: j for j, a in enumerate(used)}
    items = [[(remap[a], l) for a, l in ans] for ans in items]
    return K, len(used), probs, items


def run_case(exe, K, A, probs, items, scale=False):
    lines = [f"{len(items)} {K}"]
    for i, ans in enumerate(items):
        lines.append(f"{10 * i + 3} {len(ans)} " + " ".join(f"{a} {l}" for a, l in ans) + " " +
                     " ".join(repr(float(p)) for p in probs[i]))
    p = subprocess.run([exe] + (["--temperature"] if scale else []), input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return None, p.stderr
    out = dict(item=[], annotator=[], unlabeled=[], scaled=[])
    for line in p.stdout.splitlines():
        f = line.split()
        if f[0] == "item":
            out["item"].append([float(x) for x in f[1:]])
        elif f[0] == "annotator":
            out["annotator"].append(float(f[2]))
        elif f[0] == "unlabeled":
            out["unlabeled"].append(float(f[2]))
        elif f[0] == "fit":
            out["fit"] = float(f[1])
        elif f[0] == "scaled":
            out["scaled"].append(float(f[1]))
        else:
            out[f[0]] = float(f[1])
    return out, ""


def compare(got, items, probs, K, A, tag, rtol):
    ref = crowdlab(items, probs, K, A)
    lab, unl, wbar = activelab(ref, items, K)
    item = np.array(got["item"])
    check(np.array_equal(item[:, 0].astype(int), ref["label"]), f"{tag}: consensus labels differ")
    check(np.allclose(item[:, 1], ref["quality"], rtol=rtol, atol=1e-12), f"{tag}: quality differs")
    check(np.allclose(item[:, 2], ref["agreement"], rtol=1e-12), f"{tag}: agreement differs")
    check(np.array_equal(item[:, 3].astype(int), [len(x) for x in items]), f"{tag}: answer counts differ")
    check(np.allclose(item[:, 4], lab, rtol=rtol, atol=1e-12), f"{tag}: ActiveLab labeled scores differ")
    check(np.allclose(got["annotator"], ref["w_a"], rtol=rtol, atol=1e-15), f"{tag}: annotator weights differ")
    check(np.isclose(got["model"], ref["w_m"], rtol=rtol), f"{tag}: model weight differs")
    check(np.isclose(got["mean"], wbar, rtol=rtol), f"{tag}: mean annotator weight differs")
    check(int(got["weighed"]) == ref["weighed"], f"{tag}: weighed flag differs")
    check(np.allclose(got["unlabeled"], unl, rtol=rtol, atol=1e-12), f"{tag}: ActiveLab unlabeled scores differ")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--cases", type=int, default=150)
    a = ap.parse_args()
    rng = np.random.default_rng(20240607)
    kinds = ["multi", "ties", "single"]
    compared = 0
    temps, fits = [], []
    for c in range(a.cases):
        kind = kinds[c % 3]
        K, A, probs, items = make_case(rng, kind)
        got, err = run_case(a.exe, K, A, probs, items)
        if got is None:
            check(False, f"case {c} ({kind}): test_consensus failed: {err.strip()}")
            continue
        tag = f"case {c} ({kind}, N={len(items)} K={K} A={A})"
        compare(got, items, probs, K, A, tag, 1e-9)
        # ActiveLab's path: the temperature, then everything over the scaled
        # probabilities (stored as float32, as alq does; looser tolerance:
        # exp and log of numpy and of libm may differ in the last bit).
        got, err = run_case(a.exe, K, A, probs, items, scale=True)
        if got is None:
            check(False, f"case {c} ({kind}): test_consensus --temperature failed: {err.strip()}")
            continue
        T = temperature(items, probs, K)
        temps.append(T)
        # alq_temperature_fit against the consensus labels: run on every case (no early 1)
        Tc = grid_temperature([[(0, int(l))] for l in crowdlab(items, probs, K, A)["label"]], probs, K)
        fits.append(Tc)
        check(np.isclose(got["fit"], Tc, rtol=1e-12), f"{tag}: consensus-label temperature {got['fit']} != {Tc}")
        check(np.isclose(got["temperature"], T, rtol=1e-12), f"{tag}: temperature {got['temperature']} != {T}")
        check(np.allclose(got["scaled"], temp_scale(probs, T).max(axis=1), rtol=1e-9, atol=1e-15),
              f"{tag}: scaled maxima differ")
        compare(got, items, temp_scale(probs, T).astype(np.float32), K, A, tag + " scaled", 1e-6)
        compared += 1
    # The scores must be able to fail: a wrong model weight changes them.
    K, A, probs, items = make_case(np.random.default_rng(1), "multi")
    ref = crowdlab(items, probs, K, A)
    lab, _, _ = activelab(ref, items, K)
    ref["w_m"] += 1
    lab2, _, _ = activelab(ref, items, K)
    check(np.max(np.abs(lab - lab2)) > 1e-6, "the reference is insensitive to the model weight")
    # The temperature must be able to fail: the cases reach both sides of 1.
    check(min(temps) < 1 < max(temps), f"temperatures {min(temps)}..{max(temps)} do not straddle 1")
    check(min(fits) < 1 < max(fits), f"consensus-label temperatures {min(fits)}..{max(fits)} do not straddle 1")
    print(f"compared {compared} of {a.cases} cases; temperatures {sorted(set(temps))}; "
          f"consensus-label fits {sorted(set(fits))}", flush=True)
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
