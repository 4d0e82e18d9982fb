#!/usr/bin/python3
"""tests/strategies_bayes.py: BALD, VeSSAL and ProbCover against independent
numpy references, and the same batch at 1, 2, 3 and 4 ranks.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    strategies_bayes.py --part bald-mc-probs|bald-model|bald-errors|vessal|probcover
                        --alq build/alq --mpiexec mpiexec --workdir DIR

Each part writes its pools with h5py (odd sizes so shards are uneven), runs
`alq select` under mpiexec -n 1..4, and requires identical /selected/ids and
/selected/scores at every rank count, then checks the batch against a
reference computed here from the pool's arrays in float64.  Near-ties
(scores within a stated tolerance of the batch boundary) may order either
way; the checks allow exactly that and nothing else.
"""
import argparse
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

RANKS = [1, 2, 3, 4]
RUN_TIMEOUT = 120
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


# ---- the documented counter hash (core/hash.c), ported
M64 = (1 << 64) - 1


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


class Runner:
    def __init__(self, alq, mpiexec, workdir):
        self.alq, self.mpiexec, self.workdir = alq, mpiexec, workdir
        self.env = dict(os.environ)
        self.env.update(OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")

    def run(self, ranks, args):
        cmd = ["timeout", str(RUN_TIMEOUT), self.mpiexec, "-n", str(ranks), self.alq] + args
        p = subprocess.run(cmd, cwd=self.workdir, env=self.env, capture_output=True, text=True)
        return p.returncode, p.stdout, p.stderr

    def select(self, ranks, args, out):
        rc, _, err = self.run(ranks, ["select", "--quiet", "--out", out] + args)
        if not check(rc == 0, "%d ranks: alq select %s exited %d: %s" % (ranks, " ".join(args), rc, err.strip())):
            return None
        with h5py.File(os.path.join(self.workdir, out), "r") as f:
            return f["selected/ids"][:], f["selected/scores"][:]

    def same_at_every_rank_count(self, args, what):
        """The batch at 1..4 ranks; None unless all ran and are bit-identical."""
        batches = [self.select(r, args, "b%d.h5" % r) for r in RANKS]
        if any(b is None for b in batches):
            return None
        ok = True
        for r, b in zip(RANKS[1:], batches[1:]):
            ok &= check(np.array_equal(b[0], batches[0][0]) and
                        np.array_equal(b[1].view(np.uint64), batches[0][1].view(np.uint64)),
                        "%s: %d ranks gave another batch than 1 rank" % (what, r))
        return batches[0] if ok else None


def check_top(ids, scores, ref, unlabeled, budget, tol, what):
    """ids/scores: alq's batch; ref: reference score per row (id = row).
    The batch must be the top `budget` unlabeled items by ref score, higher
    first, lower id on ties, except where scores are within tol."""
    check(len(ids) == min(budget, len(unlabeled)), "%s: %d items, expected %d" % (what, len(ids), budget))
    check(len(set(ids.tolist())) == len(ids), "%s: duplicate ids" % what)
    check(set(ids.tolist()) <= set(unlabeled.tolist()), "%s: a labeled or unknown id was picked" % what)
    check(np.all(np.abs(scores - ref[ids]) <= tol), "%s: scores differ from the reference by %g" %
          (what, np.max(np.abs(scores - ref[ids]))))
    check(np.all(np.diff(scores) <= 0), "%s: scores not in decreasing order" % what)
    rest = np.setdiff1d(unlabeled, ids)
    if len(rest):
        check(ref[rest].max() <= ref[ids].min() + tol,
              "%s: unpicked item %d scores %.9g above the batch's lowest %.9g" %
              (what, rest[np.argmax(ref[rest])], ref[rest].max(), ref[ids].min()))
    order = sorted(unlabeled.tolist(), key=lambda i: (-ref[i], i))[:budget]
    exact = [i for i in order if ref[i] > ref[ids].min() + tol]
    check(set(exact) <= set(ids.tolist()), "%s: clear winners missing from the batch" % what)


def entropy(p):
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0).sum(axis=-1)


def write_pool(path, emb, probs=None, mc=None, labeled=(), labels=None, chunk=None, classes=None):
    with h5py.File(path, "w") as f:
        if classes:
            f.attrs["classes"] = np.int64(classes)
        f.create_dataset("embeddings", data=emb.astype(np.float32), chunks=(chunk, emb.shape[1]) if chunk else None)
        if probs is not None:
            f.create_dataset("probs", data=probs.astype(np.float32))
        if mc is not None:
            f.create_dataset("mc_probs", data=mc.astype(np.float32))
        if labels is not None:
            f.create_dataset("labels", data=labels.astype(np.int32))
        if len(labeled):
            lab = np.asarray(labeled, dtype=np.int64)
            f.create_dataset("labeled/ids", data=lab)
            f.create_dataset("labeled/labels", data=(labels[lab] if labels is not None else lab % 2).astype(np.int32))


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


# ---- BALD
def bald_reference(mc32):
    """BALD from float32 passes as documented: mean and mean entropy in float64
    over the passes in order, rounded to float32 as served."""
    mean = mc32.astype(np.float64).sum(axis=0) / mc32.shape[0]
    expected = entropy(mc32.astype(np.float64)).sum(axis=0) / mc32.shape[0]
    return entropy(mean.astype(np.float32).astype(np.float64)) - expected.astype(np.float32).astype(np.float64)


def part_bald_mc_probs(r):
    rng = np.random.default_rng(5)
    n, d, c, t = 1237, 6, 5, 7
    emb = rng.normal(size=(n, d))
    # Items differ in how much the passes disagree: a shared logit per item
    # plus pass noise of an item-specific size.
    base = rng.normal(size=(n, c)) * 2
    spread = rng.uniform(0, 2, size=(n, 1))
    mc = softmax(base[None] + spread[None] * rng.normal(size=(t, n, c))).astype(np.float32)
    probs = softmax(rng.normal(size=(n, c)))  # deliberately unrelated: BALD must not read /probs
    labeled = sorted(rng.choice(n, 40, replace=False).tolist())
    write_pool(os.path.join(r.workdir, "mc.h5"), emb, probs=probs, mc=mc, labeled=labeled, chunk=64)
    ref = bald_reference(mc)
    unlabeled = np.setdiff1d(np.arange(n), labeled)
    args = ["--pool", "mc.h5", "--strategy", "bald", "--budget", "25", "--seed", "3"]
    b = r.same_at_every_rank_count(args, "bald /mc_probs")
    if b is not None:
        check_top(b[0], b[1], ref, unlabeled, 25, 1e-6, "bald /mc_probs")
        # 7-row chunks cut the passes' reads anywhere: the same batch.
        c7 = r.select(3, args + ["--chunk-rows", "7"], "c7.h5")
        check(c7 is not None and np.array_equal(c7[0], b[0]) and np.array_equal(c7[1], b[1]),
              "bald /mc_probs: --chunk-rows 7 changed the batch")
    # The entropy strategy on the same pool reads /probs: a different batch.
    ent = r.select(1, ["--pool", "mc.h5", "--strategy", "entropy", "--budget", "25"], "e.h5")
    b = r.select(1, ["--pool", "mc.h5", "--strategy", "bald", "--budget", "25"], "e2.h5")
    if ent is not None and b is not None:
        check(not np.array_equal(ent[0], b[0]), "bald gave the entropy batch: did it read /probs?")
    # With a diversity stage: k-center among the top M by BALD.
    for div in ("exact", "hier"):
        b = r.same_at_every_rank_count(["--pool", "mc.h5", "--strategy", "bald", "--budget", "12", "--diversity", div,
                                        "--candidates", "60"], "bald --diversity %s" % div)
        if b is not None:
            top = sorted(unlabeled.tolist(), key=lambda i: (-ref[i], i))
            cut = ref[top[59]]
            check(all(ref[i] >= cut - 1e-6 for i in b[0]), "bald --diversity %s: picked outside the top 60" % div)
            check(len(b[0]) == 12, "bald --diversity %s: %d items" % (div, len(b[0])))
    # AnchorAL in front: the subpool carries each row's expected entropy.  The
    # whole subpool comes out with B = its size; B = 25 must then be the
    # reference's top 25 of those items, with the reference's values.
    write_pool(os.path.join(r.workdir, "mc_lab.h5"), emb, mc=mc, labeled=labeled, labels=rng.integers(0, c, size=n),
               classes=c)
    sub = ["--pool", "mc_lab.h5", "--strategy", "bald", "--subpool", "anchoral", "--subpool-size", "300",
           "--neighbors", "60", "--seed", "3"]
    whole = r.select(2, sub + ["--budget", "300"], "sub_whole.h5")
    b = r.same_at_every_rank_count(sub + ["--budget", "25"], "bald --subpool anchoral")
    if whole is not None and b is not None:
        check(len(whole[0]) == 300, "bald anchoral: the subpool has %d items, not 300" % len(whole[0]))
        check_top(b[0], b[1], ref, np.asarray(sorted(whole[0].tolist())), 25, 1e-6, "bald --subpool anchoral")
    # A pool without /probs but with /mc_probs is enough.
    write_pool(os.path.join(r.workdir, "mc_only.h5"), emb, mc=mc, labeled=labeled)
    b = r.same_at_every_rank_count(["--pool", "mc_only.h5", "--strategy", "bald", "--budget", "25", "--seed", "3"],
                                   "bald without /probs")
    if b is not None:
        check_top(b[0], b[1], ref, unlabeled, 25, 1e-6, "bald without /probs")


def mlp_mc_reference(model, x, ids, seed, passes):
    """Mean probabilities and mean entropy of T dropout passes, in float64,
    with the documented masks (docs/models.md)."""
    with h5py.File(model, "r") as f:
        mean = f["standardize/mean"][:].astype(np.float64)
        std = f["standardize/std"][:].astype(np.float64)
        w1, b1 = f["hidden/weights"][:].astype(np.float64), f["hidden/bias"][:].astype(np.float64)
        w2, b2 = f["output/weights"][:].astype(np.float64), f["output/bias"][:].astype(np.float64)
        rate = float(f.attrs["dropout"])
    h = np.maximum(((x.astype(np.float64) - mean) / std) @ w1.T + b1, 0)
    n, hidden = h.shape
    keys = [hash3(seed, int(i), 22) for i in ids]
    mean_p = np.zeros((n, w2.shape[0]))
    mean_h = np.zeros(n)
    for t in range(passes):
        mask = np.array([[0.0 if hash_unit(k, (t << 32) + j, 22) < rate else 1.0 / (1.0 - rate)
                          for j in range(hidden)] for k in keys])
        p = softmax((h * mask) @ w2.T + b2)
        mean_p += p / passes
        mean_h += entropy(p) / passes
    return entropy(mean_p) - mean_h


def part_bald_model(r):
    rng = np.random.default_rng(11)
    n, d, c = 613, 5, 3
    centers = rng.normal(size=(c, d)) * 2
    labels = rng.integers(0, c, size=n)
    emb = centers[labels] + rng.normal(size=(n, d))
    labeled = sorted(rng.choice(n, 30, replace=False).tolist())
    write_pool(os.path.join(r.workdir, "pool.h5"), emb, labeled=labeled, labels=labels, classes=c)
    rc, _, err = r.run(2, ["train", "--pool", "pool.h5", "--model", "mlp", "--hidden", "16", "--out", "mlp.h5",
                           "--seed", "2", "--quiet"])
    if not check(rc == 0, "alq train exited %d: %s" % (rc, err.strip())):
        return
    b = r.same_at_every_rank_count(["--pool", "pool.h5", "--model", "mlp.h5", "--mc-samples", "6", "--strategy", "bald",
                                    "--budget", "20", "--seed", "9"], "bald --model --mc-samples 6")
    if b is None:
        return
    with h5py.File(os.path.join(r.workdir, "pool.h5"), "r") as f:
        x = f["embeddings"][:]
    ref = mlp_mc_reference(os.path.join(r.workdir, "mlp.h5"), x, np.arange(n), 9, 6)
    check_top(b[0], b[1], ref, np.setdiff1d(np.arange(n), labeled), 20, 2e-5, "bald --model --mc-samples 6")


def part_bald_errors(r):
    rng = np.random.default_rng(3)
    n, d, c, t = 101, 4, 3, 4
    emb = rng.normal(size=(n, d))
    mc = softmax(rng.normal(size=(t, n, c)))
    write_pool(os.path.join(r.workdir, "plain.h5"), emb, probs=mc[0], labeled=[1, 2])
    write_pool(os.path.join(r.workdir, "short.h5"), emb, mc=mc[:, :50], labeled=[1, 2])
    one = mc[:1]
    write_pool(os.path.join(r.workdir, "one.h5"), emb, mc=one, labeled=[1, 2])
    bad = mc.copy()
    bad[2, 77, 1] = np.nan
    write_pool(os.path.join(r.workdir, "nan.h5"), emb, mc=bad, labeled=[1, 2])
    write_pool(os.path.join(r.workdir, "ok.h5"), emb, mc=mc, labeled=[1, 2])
    cases = [
        (["--pool", "plain.h5"], 3, "/mc_probs"),
        (["--pool", "short.h5"], 3, "/mc_probs"),
        (["--pool", "one.h5"], 3, "1 pass"),
        (["--pool", "nan.h5"], 3, "pass 2 row 77"),
    ]
    for args, code, needle in cases:
        for ranks in (2,):
            rc, _, err = r.run(ranks, ["select", "--strategy", "bald", "--budget", "5", "--out", "x.h5"] + args)
            lines = [l for l in err.splitlines() if l.startswith("alq: error")]
            check(rc == code and len(lines) == 1 and needle in lines[0],
                  "%s on %d ranks: exit %d (want %d), stderr %r" % (" ".join(args), ranks, rc, code, err.strip()))
            check(not os.path.exists(os.path.join(r.workdir, "x.h5")), "%s: an output was left behind" % args)


# ---- VeSSAL
PURPOSE_VESSAL = 50


def vessal_reference(emb, ids, budget, seed):
    """The authors' streaming_sampler (penultimate embeddings, rank 1) in
    float64, with the acceptance draw hash_unit(seed, id, 50) instead of
    np.random, early stop at the budget, then the random-key fill.
    Returns (ids, probabilities, margins): margins[k] = |draw - p| of the
    k-th decision that accepted, for the near-tie allowance."""
    d = emb.shape[1]
    ainv = 100.0 * np.eye(d)
    sigma = np.zeros((d, d))
    n = len(ids)
    chosen, probs, margins, prob_of = [], [], [], {}
    for i in range(n):
        u = emb[i].astype(np.float64)
        q = u @ ainv @ u
        rate = (budget - len(chosen)) / (n - i)
        sigma = (i / (i + 1)) * sigma + (1 / (i + 1)) * np.outer(u, u)
        p = abs(rate / np.trace(sigma @ ainv)) * q
        prob_of[int(ids[i])] = p
        draw = hash_unit(seed, int(ids[i]), PURPOSE_VESSAL)
        margins.append(abs(draw - p))
        if draw < p:
            chosen.append(int(ids[i]))
            probs.append(p)
            w = ainv @ u
            ainv = ainv - np.outer(w, w) / (1 + q)
            if len(chosen) == budget:
                break
    if len(chosen) < budget:
        rest = sorted((i for i in ids.tolist() if i not in set(chosen)),
                      key=lambda i: (-hash_unit(seed, i, 1), i))[:budget - len(chosen)]
        chosen += rest
        probs += [prob_of[i] for i in rest]
    return np.array(chosen), np.array(probs), np.array(margins)


def check_vessal(b, emb, unlabeled, budget, seed, what):
    ids, probs, margins = vessal_reference(emb[unlabeled], unlabeled, budget, seed)
    got = b[0].tolist()
    k = 0
    while k < min(len(got), len(ids)) and got[k] == ids[k]:
        k += 1
    if k < budget:
        # The first difference must be an acceptance decision within rounding.
        first = min(got[k] if k < len(got) else 1 << 62, ids[k])
        pos = int(np.searchsorted(unlabeled, first))
        near = pos < len(margins) and margins[pos] < 1e-5
        check(near, "%s: batch differs from the reference at pick %d (alq %s, reference %s)" %
              (what, k, got[k:k + 3], ids[k:k + 3].tolist()))
    check(np.allclose(b[1][:k], probs[:k], rtol=1e-4, atol=1e-9), "%s: probabilities differ" % what)
    check(len(got) == budget and len(set(got)) == budget, "%s: %d distinct items, expected %d" %
          (what, len(set(got)), budget))
    return k


def part_vessal(r):
    rng = np.random.default_rng(21)
    n, d = 1999, 6
    # Clusters of very different sizes: volume sampling should not follow the mass.
    sizes = [1500, 300, 150, 49]
    emb = np.concatenate([rng.normal(size=(m, d)) * 0.3 + rng.normal(size=d) * 3 for m in sizes])
    labeled = sorted(rng.choice(n, 25, replace=False).tolist())
    write_pool(os.path.join(r.workdir, "v.h5"), emb, labeled=labeled, chunk=97)
    unlabeled = np.setdiff1d(np.arange(n), labeled)
    emb32 = emb.astype(np.float32)
    for budget, seed in ((30, 4), (400, 5)):
        what = "vessal B=%d" % budget
        b = r.same_at_every_rank_count(["--pool", "v.h5", "--strategy", "vessal", "--budget", str(budget),
                                        "--seed", str(seed)], what)
        if b is not None:
            check_vessal(b, emb32, unlabeled, budget, seed, what)
    # AnchorAL in front: the same batch at every rank count, from the subpool.
    labels = np.repeat(np.arange(4), sizes)
    write_pool(os.path.join(r.workdir, "va.h5"), emb, labeled=labeled, labels=labels, classes=4)
    b = r.same_at_every_rank_count(["--pool", "va.h5", "--strategy", "vessal", "--budget", "20", "--subpool",
                                    "anchoral", "--subpool-size", "600", "--neighbors", "200"], "vessal anchoral")
    if b is not None:
        check(len(b[0]) == 20, "vessal anchoral: %d items" % len(b[0]))
    # --diversity exact replaces VeSSAL's pass by k-center over the same candidates.
    b = r.same_at_every_rank_count(["--pool", "v.h5", "--strategy", "vessal", "--budget", "10", "--diversity",
                                    "exact"], "vessal --diversity exact")


# ---- ProbCover
PURPOSE_PROBCOVER = 51


def probcover_reference(emb, labeled, delta, budget, seed):
    """The paper's greedy in float64 over every row (no skipped last batch):
    edges ||x_i - x_j|| <= delta, covered by the labeled set, most uncovered
    out-neighbours first (ties: lower id), then the random-key rest."""
    x = emb.astype(np.float64)
    n = len(x)
    unl = np.setdiff1d(np.arange(n), labeled)
    d2 = ((x[unl, None, :] - x[None, unl, :]) ** 2).sum(-1)
    adj = d2 <= delta * delta
    covered = np.zeros(len(unl), dtype=bool)
    if len(labeled):
        dl = ((x[labeled, None, :] - x[None, unl, :]) ** 2).sum(-1)
        covered = (dl <= delta * delta).any(axis=0)
    picked, scores = [], []
    taken = np.zeros(len(unl), dtype=bool)
    while len(picked) < budget:
        deg = (adj & ~covered[None, :]).sum(axis=1)
        deg[taken] = -1
        i = int(np.argmax(deg))
        if deg[i] <= 0:
            break
        picked.append(int(unl[i]))
        scores.append(float(deg[i]))
        taken[i] = True
        covered |= adj[i]
    rest = sorted((int(u) for u, t in zip(unl, taken) if not t), key=lambda i: (-hash_unit(seed, i, 1), i))
    rest = rest[:budget - len(picked)]
    return np.array(picked + rest), np.array(scores + [0.0] * len(rest)), d2


def purity_delta(emb, unlabeled, clusters, seed, sample=3000, alpha=0.95):
    """The documented delta: on the sample (largest hash_unit(seed, id, 51)),
    just below the distance to another cluster that alpha of it exceed."""
    keys = sorted(unlabeled.tolist(), key=lambda i: (-hash_unit(seed, i, PURPOSE_PROBCOVER), i))[:sample]
    s = np.sort(np.array(keys))
    x = emb[s].astype(np.float64)
    lab = clusters[s]
    d2 = ((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
    r2 = np.where(lab[:, None] != lab[None, :], d2, np.inf).min(axis=1)
    r2.sort()
    m = len(s) - int(np.ceil(alpha * len(s)))
    return np.sqrt(r2[m])


def part_probcover(r):
    rng = np.random.default_rng(8)
    n, d, k = 1301, 4, 6
    centers = rng.normal(size=(k, d)) * 3
    lab = rng.integers(0, k, size=n)
    emb = (centers[lab] + rng.normal(size=(n, d))).astype(np.float32)
    labeled = sorted(rng.choice(n, 15, replace=False).tolist())
    write_pool(os.path.join(r.workdir, "pc.h5"), emb, labeled=labeled, labels=lab, classes=k, chunk=50)
    # A delta with no pair within 1e-4 of it, so float32 and float64 agree on every edge.
    delta = 0.9
    _, _, d2 = probcover_reference(emb, labeled, delta, 1, 0)
    while np.any(np.abs(np.sqrt(d2) - delta) < 1e-4):
        delta += 0.0137
    for budget in (40, 1200):  # the second runs out of uncovered items and fills at random
        what = "probcover --delta %.4f B=%d" % (delta, budget)
        b = r.same_at_every_rank_count(["--pool", "pc.h5", "--strategy", "probcover", "--budget", str(budget),
                                        "--delta", repr(delta), "--seed", "6"], what)
        if b is not None:
            ids, scores, _ = probcover_reference(emb, labeled, delta, budget, 6)
            check(np.array_equal(b[0], ids), "%s: batch differs from the reference at pick %s" %
                  (what, np.argmax(b[0] != ids) if len(b[0]) == len(ids) else "(length)"))
            check(np.array_equal(b[1], scores), "%s: coverage gains differ from the reference" % what)
    # delta by purity: well-separated blobs, which k-means recovers, so the
    # purity is that of the true blobs.
    blobs = (centers[lab] * 4 + rng.normal(size=(n, d)) * 0.7).astype(np.float32)
    write_pool(os.path.join(r.workdir, "blobs.h5"), blobs, labeled=labeled, labels=lab, classes=k)
    args = ["--pool", "blobs.h5", "--strategy", "probcover", "--budget", "12", "--seed", "2"]
    b = r.same_at_every_rank_count(args, "probcover purity")
    rc, _, err = r.run(2, ["select", "--out", "lv.h5", "--log-view"] + args)
    line = [l for l in err.splitlines() if l.startswith("probcover: delta=")]
    unlabeled = np.setdiff1d(np.arange(n), labeled)
    want = purity_delta(blobs, unlabeled, lab, 2)
    if check(rc == 0 and len(line) == 1, "probcover --log-view: no delta line (exit %d)" % rc):
        got = float(line[0].split()[1].split("=")[1])
        # (The graph and greedy at a given delta are checked exactly above.)
        check(abs(got - want) <= 1e-4 * want, "probcover purity delta %.6g, reference %.6g" % (got, want))
    # AnchorAL in front, and --delta refused elsewhere.
    b = r.same_at_every_rank_count(["--pool", "pc.h5", "--strategy", "probcover", "--budget", "15", "--subpool",
                                    "anchoral", "--subpool-size", "500", "--neighbors", "100"], "probcover anchoral")
    rc, _, err = r.run(1, ["select", "--pool", "pc.h5", "--strategy", "random", "--budget", "5", "--delta", "1",
                           "--out", "x.h5"])
    check(rc == 2 and "--delta" in err, "--delta with random: exit %d %r" % (rc, err.strip()))


PARTS = {"bald-mc-probs": part_bald_mc_probs, "bald-model": part_bald_model, "bald-errors": part_bald_errors,
         "vessal": part_vessal, "probcover": part_probcover}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--part", required=True, choices=sorted(PARTS))
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    PARTS[a.part](Runner(os.path.abspath(a.alq), a.mpiexec, a.workdir))
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    print("ok: %s" % a.part)
    return 0


if __name__ == "__main__":
    sys.exit(main())
