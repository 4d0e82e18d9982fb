#!/usr/bin/python3
"""tests/mpi_same_batch.py: `alq select` gives the same batch at any rank count,
and that batch is the right one.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    mpi_same_batch.py --alq build/alq --mpiexec mpiexec --workdir DIR

For several pools (alq gen pools and pools written here with h5py: odd sizes so
shards are uneven, chunked datasets, non-contiguous /ids, quantised /probs with
many exact score ties, a separate --labeled file, no /probs, a 3-item pool run
on 4 ranks) and every strategy, runs `alq select` under mpiexec -n 1..4 and
checks:
  * exit 0, and /selected/ids + /selected/scores identical across rank counts;
  * attributes strategy, seed, budget, ranks, pool, alq_version;
  * no labeled id, no duplicate, every id in the pool, size min(B, unlabeled);
  * random / least-confidence / margin / entropy: the batch equals a numpy
    brute-force top-B (higher score first, then lower id) computed here from
    /probs (random: from a Python port of the documented counter hash);
  * kcenter / margin-kcenter: replayed against a numpy greedy farthest-first
    reference in float64 with a near-tie-aware check;
  * the CSV (rank,id,score) matches the HDF5 batch;
  * --no-prune gives the same batch; budget > unlabeled returns every unlabeled
    item with exit 0 and a note on stderr.
Every alq run is bounded by `timeout`.
"""
import argparse
import math
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

STRATEGIES = ["random", "least-confidence", "margin", "entropy", "kcenter", "margin-kcenter"]
PROB_STRATEGIES = {"least-confidence", "margin", "entropy", "margin-kcenter"}
RANKS = [1, 2, 3, 4]
RUN_TIMEOUT = 120

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


# ---- the documented counter hash (core/hash.c), ported for the random strategy
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


PURPOSE_RANDOM_SCORE = 1
PURPOSE_FIRST_CENTER = 2


# ---- running alq
class Runner:
    def __init__(self, alq, mpiexec):
        self.alq = alq
        self.mpiexec = mpiexec
        self.env = dict(os.environ)
        self.env.update(OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")

    def run(self, nranks, args):
        cmd = ["timeout", "-k", "10", str(RUN_TIMEOUT), self.mpiexec, "--allow-run-as-root",
               "--oversubscribe", "-n", str(nranks), self.alq] + args
        try:
            p = subprocess.run(cmd, env=self.env, capture_output=True, text=True,
                               timeout=RUN_TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            return 124, "", "python-side timeout"
        return p.returncode, p.stdout, p.stderr


# ---- pools
def write_pool(path, emb, probs=None, ids=None, labeled_ids=None, labeled_labels=None,
               chunk=None, classes_attr=None, labels=None):
    with h5py.File(path, "w") as f:
        kw = {}
        if chunk:
            kw = dict(chunks=(min(chunk, emb.shape[0]), emb.shape[1]))
        f.create_dataset("embeddings", data=emb.astype(np.float32), **kw)
        if probs is not None:
            kw = dict(chunks=(min(chunk, probs.shape[0]), probs.shape[1])) if chunk else {}
            f.create_dataset("probs", data=probs.astype(np.float32), **kw)
        if ids is not None:
            f.create_dataset("ids", data=np.asarray(ids, dtype=np.int64))
        if labels is not None:
            f.create_dataset("labels", data=np.asarray(labels, dtype=np.int32))
        if labeled_ids is not None:
            g = f.create_group("labeled")
            g.create_dataset("ids", data=np.asarray(labeled_ids, dtype=np.int64))
            g.create_dataset("labels", data=np.asarray(labeled_labels, dtype=np.int32))
        if classes_attr is not None:
            f.attrs["classes"] = np.int64(classes_attr)


def write_labeled(path, ids, labels):
    with h5py.File(path, "w") as f:
        g = f.create_group("labeled")
        g.create_dataset("ids", data=np.asarray(ids, dtype=np.int64))
        g.create_dataset("labels", data=np.asarray(labels, dtype=np.int32))


class Pool:
    """What the reference needs, read independently with h5py."""

    def __init__(self, name, path, labeled_path=None, strategies=STRATEGIES, budget=25,
                 seed=3, extra=None, exact=False):
        self.name, self.path, self.labeled_path = name, path, labeled_path
        self.exact = exact  # k-center distances exact in float32: check ties -> lower id
        self.strategies, self.budget, self.seed = strategies, budget, seed
        self.extra = extra or []
        with h5py.File(path, "r") as f:
            self.emb = np.asarray(f["embeddings"][...], dtype=np.float32)
            self.n = self.emb.shape[0]
            self.probs = np.asarray(f["probs"][...], dtype=np.float32) if "probs" in f else None
            self.ids = (np.asarray(f["ids"][...], dtype=np.int64) if "ids" in f
                        else np.arange(self.n, dtype=np.int64))
            lab_file = labeled_path or path
        with h5py.File(lab_file, "r") as f:
            self.labeled = (np.asarray(f["labeled/ids"][...], dtype=np.int64)
                            if "labeled" in f and "ids" in f["labeled"] else np.zeros(0, np.int64))
        self.labeled_set = set(int(i) for i in self.labeled)
        self.unlabeled_mask = np.array([int(i) not in self.labeled_set for i in self.ids])


# ---- references
def ref_scores(pool, strategy, seed):
    p = None if pool.probs is None else pool.probs.astype(np.float64)
    if strategy == "random":
        return np.array([hash_unit(seed, int(i), PURPOSE_RANDOM_SCORE) for i in pool.ids])
    if strategy == "least-confidence":
        return 1.0 - p.max(axis=1)
    if strategy in ("margin", "margin-kcenter"):
        s = -np.sort(-p, axis=1)
        return 1.0 - (s[:, 0] - s[:, 1])
    if strategy == "entropy":
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0)
        return -t.sum(axis=1)
    raise ValueError(strategy)


def ref_top(pool, scores, k):
    """Indices of the top-k unlabeled rows: higher score first, then lower id."""
    idx = np.nonzero(pool.unlabeled_mask)[0]
    order = np.lexsort((pool.ids[idx], -scores[idx]))
    return idx[order[:k]]


def check_topk(pool, strategy, ids, scores, tag):
    ref = ref_scores(pool, strategy, pool.seed)
    k = min(pool.budget, int(pool.unlabeled_mask.sum()))
    want = ref_top(pool, ref, k)
    want_ids = pool.ids[want]
    row_of = {int(i): r for r, i in enumerate(pool.ids)}
    # alq's reported scores must be the reference scores of the ids it chose
    tol = 1e-9 if strategy != "entropy" else 1e-6
    for pos, (i, s) in enumerate(zip(ids, scores)):
        r = row_of.get(int(i))
        if r is None:
            return  # reported by the generic checks
        if not abs(s - ref[r]) <= tol * max(1.0, abs(ref[r])):
            fail(f"{tag}: position {pos} id {i} reported score {s!r}, reference {ref[r]!r}")
            return
    if len(ids) == len(want_ids) and np.array_equal(ids, want_ids):
        return
    if strategy == "entropy":
        # log() may differ in the last bit between libm and numpy: allow
        # reordering only among reference scores equal within tolerance
        got_ref = np.array([ref[row_of[int(i)]] for i in ids])
        want_ref = ref[want]
        if len(got_ref) == len(want_ref) and np.allclose(got_ref, want_ref, rtol=0, atol=1e-12):
            return
    first = next((p for p in range(min(len(ids), len(want_ids))) if ids[p] != want_ids[p]),
                 min(len(ids), len(want_ids)))
    got_s = scores[first] if first < len(scores) else None
    want_s = ref[want[first]] if first < len(want) else None
    fail(f"{tag}: batch differs from the brute-force top-{k} at position {first}: "
         f"alq id {ids[first] if first < len(ids) else None} (score {got_s!r}), "
         f"reference id {want_ids[first] if first < len(want_ids) else None} (score {want_s!r})")


def sqdist_to(x, c):
    d = x.astype(np.float64) - c.astype(np.float64)[None, :]
    return np.einsum("ij,ij->i", d, d)


def check_kcenter(pool, strategy, ids, scores, tag, candidates=None):
    """Near-tie-aware replay of alq's batch against a float64 greedy."""
    if strategy == "margin-kcenter":
        m = candidates or 10 * pool.budget
        ref = ref_scores(pool, "margin", pool.seed)
        cand_rows = ref_top(pool, ref, m)
    else:
        cand_rows = np.nonzero(pool.unlabeled_mask)[0]
    X = pool.emb[cand_rows].astype(np.float64)
    cid = pool.ids[cand_rows]
    row_of = {int(i): r for r, i in enumerate(pool.ids)}
    pos_of = {int(i): p for p, i in enumerate(cid)}
    mind = np.full(len(cand_rows), np.inf)
    for lid in pool.labeled:
        mind = np.minimum(mind, sqdist_to(X, pool.emb[row_of[int(lid)]]))
    norms = np.einsum("ij,ij->i", pool.emb.astype(np.float64), pool.emb.astype(np.float64))
    atol = 64 * 6e-8 * 2 * float(norms.max()) if len(norms) else 0.0
    taken = np.zeros(len(cand_rows), bool)
    have_center = len(pool.labeled) > 0
    want_n = min(pool.budget, len(cand_rows))
    if len(ids) != want_n:
        fail(f"{tag}: {len(ids)} items, expected {want_n}")
        return
    for t, (i, s) in enumerate(zip(ids, scores)):
        j = pos_of.get(int(i))
        if j is None:
            fail(f"{tag}: step {t} id {i} is not a candidate"
                 + (" (not among the top-M by margin)" if strategy == "margin-kcenter" else ""))
            return
        if taken[j]:
            fail(f"{tag}: step {t} id {i} selected twice")
            return
        if not have_center:
            hs = [hash3(pool.seed, int(x), PURPOSE_FIRST_CENTER) for x in cid]
            best = int(np.argmax(np.array(hs, dtype=np.uint64)))
            if best != j:
                fail(f"{tag}: first center id {i}, expected id {cid[best]} (largest hash3(seed, id, FIRST_CENTER))")
                return
        else:
            avail = np.where(taken, -np.inf, mind)
            mx = avail.max()
            if pool.exact:
                tied = np.nonzero(avail == mx)[0]
                b = tied[np.argmin(cid[tied])]
                if b != j:
                    fail(f"{tag}: step {t} chose id {i} (min dist^2 {mind[j]:.9g}); the exact "
                         f"reference picks id {cid[b]} ({mx:.9g}; ties -> lower id)")
                    return
            if not mind[j] >= mx * (1 - 1e-5) - atol:
                b = int(np.argmax(avail))
                fail(f"{tag}: step {t} chose id {i} (reference min dist^2 {mind[j]:.9g}) but id "
                     f"{cid[b]} has {mx:.9g} (tolerance {atol:.3g})")
                return
            want_s = math.sqrt(mind[j])
            if not abs(s - want_s) <= math.sqrt(atol) + 1e-4 * want_s:
                fail(f"{tag}: step {t} id {i} score {s!r}, reference sqrt(min dist^2) {want_s!r}")
                return
        taken[j] = True
        have_center = True
        mind = np.minimum(mind, sqdist_to(X, X[j]))


# ---- reading a batch
def read_batch(path):
    with h5py.File(path, "r") as f:
        ids = np.asarray(f["selected/ids"][...])
        scores = np.asarray(f["selected/scores"][...])
        attrs = {}
        for k, v in f.attrs.items():
            if isinstance(v, bytes):
                v = v.decode()
            elif isinstance(v, np.ndarray) and v.shape == (1,):
                v = v[0]
            attrs[k] = v
        dt_ids, dt_scores = f["selected/ids"].dtype, f["selected/scores"].dtype
    return ids, scores, attrs, dt_ids, dt_scores


def read_csv(path):
    with open(path) as fh:
        lines = fh.read().splitlines()
    return lines


def generic_checks(pool, strategy, P, ids, scores, attrs, dt_ids, dt_scores, tag):
    if dt_ids != np.int64:
        fail(f"{tag}: /selected/ids dtype {dt_ids}, expected int64")
    if dt_scores != np.float64:
        fail(f"{tag}: /selected/scores dtype {dt_scores}, expected float64")
    if len(ids) != len(scores):
        fail(f"{tag}: {len(ids)} ids but {len(scores)} scores")
    n_unl = int(pool.unlabeled_mask.sum())
    want_n = min(pool.budget, n_unl)
    if len(ids) != want_n:
        fail(f"{tag}: batch has {len(ids)} items, expected min(budget {pool.budget}, unlabeled {n_unl}) = {want_n}")
    if len(set(int(i) for i in ids)) != len(ids):
        fail(f"{tag}: duplicate ids in the batch")
    bad = [int(i) for i in ids if int(i) in pool.labeled_set]
    if bad:
        fail(f"{tag}: labeled ids selected: {bad[:5]}")
    known = set(int(i) for i in pool.ids)
    unknown = [int(i) for i in ids if int(i) not in known]
    if unknown:
        fail(f"{tag}: ids not in the pool: {unknown[:5]}")
    want_attrs = {"strategy": strategy, "seed": pool.seed, "budget": pool.budget, "ranks": P}
    for k, v in want_attrs.items():
        if k not in attrs:
            fail(f"{tag}: attribute '{k}' missing (have {sorted(attrs)})")
        elif str(attrs[k]) != str(v):
            fail(f"{tag}: attribute {k} = {attrs[k]!r}, expected {v!r}")
    for k in ("pool", "alq_version"):
        if k not in attrs:
            fail(f"{tag}: attribute '{k}' missing (have {sorted(attrs)})")
    if "pool" in attrs and os.path.basename(str(attrs["pool"])) != os.path.basename(pool.path):
        fail(f"{tag}: attribute pool = {attrs['pool']!r}, expected the pool path {pool.path!r}")


def check_csv(csv_path, ids, scores, tag):
    if not os.path.exists(csv_path):
        fail(f"{tag}: --csv {csv_path} was not written")
        return
    lines = read_csv(csv_path)
    if not lines or lines[0].strip() != "rank,id,score":
        fail(f"{tag}: CSV header {lines[:1]!r}, expected 'rank,id,score'")
        return
    rows = [l.split(",") for l in lines[1:] if l.strip()]
    if len(rows) != len(ids):
        fail(f"{tag}: CSV has {len(rows)} rows, batch {len(ids)}")
        return
    ranks = [int(r[0]) for r in rows]
    if ranks != list(range(ranks[0], ranks[0] + len(rows))) or ranks[0] not in (0, 1):
        fail(f"{tag}: CSV rank column {ranks[:5]}... is not 0.. or 1.. consecutive")
    for r, i, s in zip(rows, ids, scores):
        if int(r[1]) != int(i):
            fail(f"{tag}: CSV id {r[1]} != batch id {i}")
            return
        v = float(r[2])
        if not (v == s or abs(v - s) <= 1e-6 * max(1.0, abs(s))):
            fail(f"{tag}: CSV score {r[2]} != batch score {s!r} for id {i}")
            return


def select_args(pool, strategy, out, csv=None, extra=()):
    a = ["select", "--pool", pool.path, "--budget", str(pool.budget), "--strategy", strategy,
         "--seed", str(pool.seed), "--out", out, "--quiet"]
    if pool.labeled_path:
        a += ["--labeled", pool.labeled_path]
    if csv:
        a += ["--csv", csv]
    return a + list(pool.extra) + list(extra)


def run_pool(runner, pool, outdir):
    results = {}
    for strategy in pool.strategies:
        base = None
        for P in RANKS:
            tag = f"[{pool.name} {strategy} -n {P}]"
            out = os.path.join(outdir, f"{pool.name}-{strategy}-n{P}.h5")
            csv = os.path.join(outdir, f"{pool.name}-{strategy}-n{P}.csv")
            rc, so, se = runner.run(P, select_args(pool, strategy, out, csv))
            if rc != 0:
                fail(f"{tag}: exit {rc}; stderr: {se.strip()[-600:]}")
                continue
            if not os.path.exists(out):
                fail(f"{tag}: exit 0 but {out} not written")
                continue
            ids, scores, attrs, dti, dts = read_batch(out)
            generic_checks(pool, strategy, P, ids, scores, attrs, dti, dts, tag)
            check_csv(csv, ids, scores, tag)
            if base is None:
                base = (P, ids, scores)
                if strategy in ("kcenter", "margin-kcenter"):
                    cands = None
                    for k, v in zip(pool.extra, pool.extra[1:]):
                        if k == "--candidates":
                            cands = int(v)
                    check_kcenter(pool, strategy, ids, scores, tag, cands)
                else:
                    check_topk(pool, strategy, ids, scores, tag)
            else:
                P0, ids0, sc0 = base
                if not (np.array_equal(ids, ids0) and np.array_equal(scores, sc0)):
                    n = min(len(ids), len(ids0))
                    first = next((k for k in range(n) if ids[k] != ids0[k] or scores[k] != sc0[k]), n)
                    fail(f"{tag}: batch differs from -n {P0} at position {first}: "
                         f"{(ids[first], scores[first]) if first < len(ids) else None} vs "
                         f"{(ids0[first], sc0[first]) if first < len(ids0) else None} "
                         f"(sizes {len(ids)} vs {len(ids0)})")
        results[strategy] = base
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    runner = Runner(args.alq, args.mpiexec)
    wd = args.workdir
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    outdir = os.path.join(wd, "out")
    os.makedirs(outdir)
    pools = []

    # A: the brief's pool, from alq gen
    pa = os.path.join(wd, "gen3000.h5")
    rc, so, se = runner.run(1, ["gen", "--out", pa, "--items", "3000", "--dim", "16", "--classes",
                                "5", "--imbalance", "10", "--labeled", "40", "--seed", "7"])
    if rc != 0:
        fail(f"alq gen (3000 items) exit {rc}: {se.strip()[-400:]}")
    else:
        pools.append(Pool("gen3000", pa, budget=40, seed=5))

    # B: odd sizes, from alq gen
    pb = os.path.join(wd, "gen1001.h5")
    rc, so, se = runner.run(1, ["gen", "--out", pb, "--items", "1001", "--dim", "7", "--classes",
                                "3", "--imbalance", "3", "--labeled", "13", "--seed", "11"])
    if rc != 0:
        fail(f"alq gen (1001 items) exit {rc}: {se.strip()[-400:]}")
    else:
        pools.append(Pool("gen1001", pb, budget=33, seed=123456789))

    rng = np.random.default_rng(2024)
    # C: written here: 777 rows, chunks of 50 rows, ids 11 + 3i, quantised probs
    # (exact score ties across shard boundaries), labeled set in its own file.
    n, d, C = 777, 5, 4
    emb = rng.normal(size=(n, d)).astype(np.float32)
    q = 8
    counts = np.zeros((n, C), np.int64)
    for r in range(n):
        cut = np.sort(rng.integers(0, q + 1, size=C - 1))
        counts[r] = np.diff(np.concatenate(([0], cut, [q])))
    probs = (counts / q).astype(np.float32)
    ids = 11 + 3 * np.arange(n, dtype=np.int64)
    pc = os.path.join(wd, "ties777.h5")
    write_pool(pc, emb, probs=probs, ids=ids, chunk=50)
    lab_rows = rng.choice(n, size=21, replace=False)
    plab = os.path.join(wd, "ties777-labeled.h5")
    write_labeled(plab, ids[lab_rows], rng.integers(0, C, size=21))
    pools.append(Pool("ties777", pc, labeled_path=plab, budget=60, seed=9))

    # D: 3 items on up to 4 ranks; budget > unlabeled count
    pd_ = os.path.join(wd, "tiny3.h5")
    write_pool(pd_, np.array([[0, 0], [1, 0], [0, 2]], np.float32),
               probs=np.array([[0.5, 0.5], [0.9, 0.1], [0.25, 0.75]], np.float32),
               labeled_ids=[1], labeled_labels=[0])
    pools.append(Pool("tiny3", pd_, budget=5, seed=1))

    # E: no /probs, no labeled set (k-center's hash-drawn first center), odd N
    pe = os.path.join(wd, "noprobs.h5")
    write_pool(pe, rng.normal(size=(503, 6)).astype(np.float32), classes_attr=3, chunk=64)
    pools.append(Pool("noprobs", pe, strategies=["random", "kcenter"], budget=30, seed=77))

    # G: ids spread over the whole int64 range (negative, beyond 2^53)
    n = 301
    big = np.unique(rng.integers(-(2 ** 63) + 1, 2 ** 63 - 1, size=n + 10, dtype=np.int64))[:n]
    p = rng.random((n, 3)) + 0.01
    pg = os.path.join(wd, "bigids.h5")
    lab = rng.choice(n, size=9, replace=False)
    write_pool(pg, rng.normal(size=(n, 4)).astype(np.float32),
               probs=(p / p.sum(axis=1, keepdims=True)).astype(np.float32), ids=big,
               labeled_ids=np.sort(big[lab]), labeled_labels=np.zeros(9, np.int32), chunk=16)
    pools.append(Pool("bigids", pg, budget=17, seed=2 ** 64 - 1))

    # H: small-integer embeddings (exact float32 distances, many exact ties
    # across shards) and quantised probs: k-center must break ties by lower id
    n = 600
    emb = rng.integers(-2, 3, size=(n, 3)).astype(np.float32)
    counts = np.zeros((n, 3), np.int64)
    for r in range(n):
        cut = np.sort(rng.integers(0, 5, size=2))
        counts[r] = np.diff(np.concatenate(([0], cut, [4])))
    ph = os.path.join(wd, "intgrid.h5")
    labr = np.sort(rng.choice(n, size=7, replace=False))
    write_pool(ph, emb, probs=(counts / 4).astype(np.float32), chunk=37,
               labeled_ids=labr, labeled_labels=np.zeros(7, np.int32))
    pools.append(Pool("intgrid", ph, strategies=["kcenter", "margin-kcenter", "margin"],
                      budget=150, seed=4, exact=True))
    pools.append(Pool("intgrid-m200", ph, strategies=["margin-kcenter"], budget=60, seed=4,
                      exact=True, extra=["--candidates", "200"]))

    # I: 1-D points far from the origin (N(100, 1)): the float32 expansion
    # ||x||^2 + ||c||^2 - 2 x.c rounds at about 1e-3 while many distances are
    # that small; selected to the end so every item's distance shows in the
    # scores.  Pruning must still not change the batch (checked below).
    pi = os.path.join(wd, "offset1d.h5")
    write_pool(pi, (np.random.default_rng(100).normal(size=(400, 1)) + 100).astype(np.float32))
    pools.append(Pool("offset1d", pi, strategies=["kcenter"], budget=400, seed=1))

    # F: margin-kcenter with an explicit --candidates on the gen pool
    if os.path.exists(pa):
        pools.append(Pool("gen3000-m100", pa, strategies=["margin-kcenter"], budget=20, seed=5,
                          extra=["--candidates", "100"]))

    for pool in pools:
        print(f"== pool {pool.name}: N={pool.n} labeled={len(pool.labeled)} budget={pool.budget}",
              flush=True)
        run_pool(runner, pool, outdir)

    # the read granularity (--chunk-rows) does not change the batch
    for pool in pools:
        if pool.name not in ("gen1001", "ties777"):
            continue
        base = {st: read_batch(os.path.join(outdir, f"{pool.name}-{st}-n1.h5"))
                for st in pool.strategies
                if os.path.exists(os.path.join(outdir, f"{pool.name}-{st}-n1.h5"))}
        for st in base:
            for P, rows in ((3, 7), (2, 1)):
                if rows == 1 and st != "margin":
                    continue
                tag = f"[{pool.name} {st} -n {P} --chunk-rows {rows}]"
                o = os.path.join(outdir, f"chunk-{pool.name}-{st}-n{P}-r{rows}.h5")
                rc, so, se = runner.run(P, select_args(pool, st, o, extra=["--chunk-rows", str(rows)]))
                if rc != 0:
                    fail(f"{tag}: exit {rc}: {se.strip()[-300:]}")
                    continue
                a = read_batch(o)
                if not (np.array_equal(a[0], base[st][0]) and np.array_equal(a[1], base[st][1])):
                    fail(f"{tag}: batch differs from the default read size at -n 1")

    # --no-prune gives the same k-center batch (1 and 3 ranks)
    for pool in pools:
        if pool.name not in ("gen3000", "intgrid", "offset1d"):
            continue
        for strategy in [s for s in ("kcenter", "margin-kcenter") if s in pool.strategies]:
            for P in (1, 3):
                tag = f"[{pool.name} {strategy} -n {P} --no-prune]"
                o1 = os.path.join(outdir, f"prune-{pool.name}-{strategy}-n{P}.h5")
                o2 = os.path.join(outdir, f"noprune-{pool.name}-{strategy}-n{P}.h5")
                r1 = runner.run(P, select_args(pool, strategy, o1))
                r2 = runner.run(P, select_args(pool, strategy, o2, extra=["--no-prune"]))
                if r1[0] or r2[0]:
                    fail(f"{tag}: exit {r1[0]}/{r2[0]}: {r2[2].strip()[-300:]}")
                    continue
                a, b = read_batch(o1), read_batch(o2)
                if not (np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])):
                    n = min(len(a[0]), len(b[0]))
                    k = next((k for k in range(n) if a[0][k] != b[0][k] or a[1][k] != b[1][k]), n)
                    fail(f"{tag}: --no-prune changes the batch: position {k}: pruned id {a[0][k]} "
                         f"score {a[1][k]!r}, unpruned id {b[0][k]} score {b[1][k]!r}")

    # budget > unlabeled: every unlabeled item, exit 0, a note on stderr
    tiny = next((p for p in pools if p.name == "tiny3"), None)
    if tiny:
        for P in (1, 4):
            out = os.path.join(outdir, f"tiny-note-n{P}.h5")
            rc, so, se = runner.run(P, ["select", "--pool", tiny.path, "--budget", "5", "--strategy",
                                        "margin", "--seed", "1", "--out", out])
            tag = f"[tiny3 budget 5 > 2 unlabeled -n {P}]"
            if rc != 0:
                fail(f"{tag}: exit {rc}: {se.strip()[-300:]}")
                continue
            if not se.strip():
                fail(f"{tag}: no note on stderr about the budget exceeding the unlabeled items")
            if "alq: error" in se:
                fail(f"{tag}: stderr has an error line although the run succeeded: {se.strip()}")
            ids = read_batch(out)[0]
            if sorted(int(i) for i in ids) != [0, 2]:
                fail(f"{tag}: batch {list(ids)}, expected ids 0 and 2")

    print(f"\n{len(failures)} failure(s)")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
