#!/usr/bin/python3
"""Embedding geometry (ScaLAPACK) against numpy and across rank counts.

--part pca     covariance pass + PDSYEVD (tests/test_geometry.c, which also checks
               one-rank LAPACK) at d = 64, 300, 1000 on 1-4 ranks, grids 1x1, 1x2, 2x2:
               eigenvalues within 1e-10 of numpy's (relative to the largest; the top K
               relative to their own), top-K subspace angle below 1e-8, the mean; the
               same grid at another rank count gives the same bits.
--part maha    Mahalanobis (Ledoit-Wolf shrinkage, PDPOTRF) against numpy to 1e-9.
--part select  alq project / select --projection / --project: the projected batch is
               the same at 1-4 ranks (margin-kcenter and kcenter on an AnchorAL subpool),
               and the projection file equals a numpy projection of the same rows.
--part cli     alq project / alq score: outputs, --help, errors (one line, exit code,
               no output left behind).
"""
import argparse
import os
import subprocess
import sys

import h5py
import numpy as np

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
FAILS = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILS.append(what)


def run(args, cmd, ranks=1, expect=0):
    full = [args.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks)] + cmd
    p = subprocess.run(full, env=ENV, capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        print(p.stdout, p.stderr)
        check(False, "%s exited %d, expected %d" % (" ".join(cmd[:3]), p.returncode, expect))
    return p


def low_rank_pool(path, d, n, r, labeled=200, classes=5, seed=0, offset=5.0):
    """n rows near an r-dimensional subspace (+ small isotropic noise), far from the origin."""
    rng = np.random.default_rng(seed + d)
    basis = np.linalg.qr(rng.standard_normal((d, r)))[0]
    lab = rng.integers(0, classes, n)
    means = rng.standard_normal((classes, r)) * 4
    lat = rng.standard_normal((n, r)) * np.linspace(10, 3, r) + means[lab]
    x = (lat @ basis.T + 0.1 * rng.standard_normal((n, d)) + offset).astype(np.float32)
    logits = rng.standard_normal((n, classes)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    li = np.sort(rng.choice(n, labeled, replace=False))
    with h5py.File(path, "w") as f:
        f["embeddings"] = x
        f["probs"] = probs.astype(np.float32)
        f["labels"] = lab.astype(np.int32)
        f["labeled/ids"] = li.astype(np.int64)
        f["labeled/labels"] = lab[li].astype(np.int32)
    return x, lab, li


def numpy_pca(x):
    c = np.cov(x.astype(np.float64), rowvar=False)
    w, v = np.linalg.eigh(c)
    return w[::-1], v[:, ::-1]


def subspace_sin(u, v):
    """sin of the largest principal angle between the column spans (orthonormal u, v):
    ||v - u u^T v||_2 (not sqrt(1 - cos^2), which loses half the digits)."""
    return float(np.linalg.norm(v - u @ (u.T @ v), 2))


def configs(d):
    """Ranks 1-4 and grids 1x1, 1x2, 2x2 overall; every grid at two rank counts at d = 64."""
    if d >= 1000:
        return [(2, "1x1"), (4, "2x2")]
    if d >= 300:
        return [(1, "1x1"), (2, "1x2"), (4, "2x2")]
    return [(1, "1x1"), (2, "1x2"), (3, "1x1"), (3, "1x2"), (4, "2x2")]


def same_bits(outs, keys, what):
    by_grid = {}
    for (p, g), f in outs.items():
        by_grid.setdefault(g, []).append((p, f))
    for g, runs in by_grid.items():
        if len(runs) < 2:
            continue
        (p0, f0), rest = runs[0], runs[1:]
        for p1, f1 in rest:
            with h5py.File(f0) as a, h5py.File(f1) as b:
                same = all(np.array_equal(a[k][:], b[k][:]) for k in keys)
            check(same, "%s grid %s: %d and %d ranks give the same bits" % (what, g, p0, p1))


def part_pca(args):
    k = 8
    for d, n in [(64, 5000), (300, 2000), (1000, 1500)]:
        pool = os.path.join(args.workdir, "pca%d.h5" % d)
        x, _, _ = low_rank_pool(pool, d, n, k)
        w_ref, v_ref = numpy_pca(x)
        outs = {}
        for p, g in configs(d):
            out = os.path.join(args.workdir, "pca%d-n%d-%s.h5" % (d, p, g))
            r = run(args, [args.test_geometry, "pca", pool, str(k), g, out], ranks=p)
            sys.stdout.write(r.stdout)
            if r.returncode:
                continue
            outs[(p, g)] = out
            with h5py.File(out) as f:
                w, v, mean = f["w"][:], f["v"][:].reshape(k, d), f["mean"][:]
            werr = np.abs(w - w_ref).max() / w_ref[0]
            topk = (np.abs(w[:k] - w_ref[:k]) / w_ref[:k]).max()
            sin = subspace_sin(v_ref[:, :k], v.T)
            merr = np.abs(mean - x.astype(np.float64).mean(0)).max() / np.abs(mean).max()
            check(werr <= 1e-10 and topk <= 1e-10 and sin <= 1e-8 and merr <= 1e-12,
                  "pca d=%d %d rank(s) grid %s vs numpy: eigenvalues %.2g (top %d: %.2g), "
                  "subspace sin %.2g, mean %.2g" % (d, p, g, werr, k, topk, sin, merr))
        same_bits(outs, ["w", "v", "mean"], "pca d=%d" % d)


def numpy_mahalanobis(x, lab_ids, lab_labels):
    """Lee et al. 2018 with a Ledoit-Wolf shared covariance (sklearn's formula)."""
    xl = x[lab_ids].astype(np.float64)
    classes = np.unique(lab_labels)
    mu = np.stack([xl[lab_labels == c].mean(0) for c in classes])
    z = xl - mu[np.searchsorted(classes, lab_labels)]
    n, d = z.shape
    s = z.T @ z / n
    m = np.trace(s) / d
    d2 = ((s - m * np.eye(d)) ** 2).sum()
    b2 = (((z ** 2).sum(1) ** 2).sum() / n - (s ** 2).sum()) / n
    a = min(b2, d2) / d2
    sigma = (1 - a) * s + a * m * np.eye(d)
    L = np.linalg.cholesky(sigma)
    xa = x.astype(np.float64)
    best = np.full(len(x), np.inf)
    for c in range(len(classes)):
        y = np.linalg.solve(L, (xa - mu[c]).T)
        best = np.minimum(best, (y ** 2).sum(0))
    return best, a


def part_maha(args):
    for d, n in [(64, 4000), (300, 1500), (1000, 800)]:
        pool = os.path.join(args.workdir, "maha%d.h5" % d)
        x, lab, li = low_rank_pool(pool, d, n, 8, labeled=150 if d < 1000 else 300)
        ref, a_ref = numpy_mahalanobis(x, li, lab[li])
        outs = {}
        for p, g in configs(d):
            out = os.path.join(args.workdir, "maha%d-n%d-%s.h5" % (d, p, g))
            r = run(args, [args.test_geometry, "maha", pool, g, out], ranks=p)
            sys.stdout.write(r.stdout)
            if r.returncode:
                continue
            outs[(p, g)] = out
            with h5py.File(out) as f:
                dist, a = f["dist"][:], f["shrinkage"][0]
            err = (np.abs(dist - ref) / ref).max()
            check(err <= 1e-9 and abs(a - a_ref) <= 1e-12,
                  "mahalanobis d=%d %d rank(s) grid %s vs numpy: distance %.2g, shrinkage %.6f vs %.6f"
                  % (d, p, g, err, a, a_ref))
        same_bits(outs, ["dist"], "mahalanobis d=%d" % d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--test-geometry", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", required=True, choices=["pca", "maha", "select", "cli"])
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    {"pca": part_pca, "maha": part_maha, "select": part_select, "cli": part_cli}[args.part](args)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)


def batch_ids(path):
    with h5py.File(path) as f:
        return f["selected/ids"][:]


def proj_arrays(path):
    with h5py.File(path) as f:
        g = f["projection"]
        return {k: g[k][:] for k in ("matrix", "mean", "eigenvalues")}


def part_select(args):
    w = args.workdir
    pool = os.path.join(w, "pool.h5")
    x, _, _ = low_rank_pool(pool, 96, 6000, 12, labeled=60)
    projs = {}
    for p in (1, 3):
        out = os.path.join(w, "proj-n%d.h5" % p)
        run(args, [args.alq, "project", "--pool", pool, "--project", "pca:16", "--out", out, "--quiet"], ranks=p)
        projs[p] = proj_arrays(out)
    check(all(np.array_equal(projs[1][k], projs[3][k]) for k in projs[1]),
          "alq project: the projection file's arrays are the same bits at 1 and 3 ranks")
    w_ref, v_ref = numpy_pca(x)
    m = projs[1]["matrix"].astype(np.float64)
    ref = v_ref[:, :16].T * np.sign(v_ref[np.abs(v_ref[:, :16]).argmax(0), range(16)])[:, None]
    check(np.abs(m - ref).max() < 1e-5 and np.abs(projs[1]["eigenvalues"] - w_ref).max() < 1e-9 * w_ref[0],
          "alq project vs numpy: sign-fixed axes within %.2g, eigenvalues within %.2g of the largest"
          % (np.abs(m - ref).max(), np.abs(projs[1]["eigenvalues"] - w_ref).max() / w_ref[0]))
    proj = os.path.join(w, "proj-n1.h5")
    common = ["--pool", pool, "--budget", "20", "--seed", "4", "--quiet", "--subpool", "anchoral",
              "--anchors-per-class", "3", "--neighbors", "40", "--subpool-size", "400"]
    for strategy, extra in [("margin-kcenter", ["--projection", proj]), ("kcenter", ["--projection", proj]),
                            ("kcenter", ["--project", "pca:16"]), ("kcenter", ["--project", "pca-whiten:8",
                                                                               "--fit-sample", "3000"])]:
        batches = {}
        for p in (1, 2, 3, 4):
            out = os.path.join(w, "b-%s-%s-n%d.h5" % (strategy, extra[1].replace("/", "_")[-12:], p))
            r = run(args, [args.alq, "select", "--strategy", strategy, "--out", out] + common + extra
                    + ["--chunk-rows", str(97 * p)], ranks=p)
            if r.returncode == 0:
                batches[p] = batch_ids(out)
        same = len(batches) == 4 and all(np.array_equal(batches[1], b) for b in batches.values())
        check(same, "select %s %s: the same batch at 1-4 ranks (chunk rows 97 x P)" % (strategy, " ".join(extra)))
    # --project fits the same projection alq project writes: the same batch as --projection
    a = batch_ids(os.path.join(w, "b-kcenter-%s-n1.h5" % proj.replace("/", "_")[-12:]))
    b = batch_ids(os.path.join(w, "b-kcenter-pca:16-n1.h5"))
    check(np.array_equal(a, b), "select --project pca:16 gives the batch of --projection (same fit)")
    # a projection fitted on another pool: refused after the pass, no batch left
    other = os.path.join(w, "other.h5")
    low_rank_pool(other, 96, 6000, 12, labeled=60, seed=5)
    with h5py.File(other, "a") as f:
        f["ids"] = np.arange(6000, dtype=np.int64) * 2
        labeled = f["labeled/ids"][:] * 2
        del f["labeled/ids"]
        f["labeled/ids"] = labeled
    out = os.path.join(w, "bad.h5")
    r = run(args, [args.alq, "select", "--pool", other, "--budget", "5", "--strategy", "kcenter", "--out", out,
                   "--projection", proj, "--quiet"], ranks=2, expect=3)
    check("other ids" in r.stderr and not os.path.exists(out) and r.stderr.count("alq: error:") == 1,
          "select --projection from another pool: exit 3, one line, no batch (%s)" % r.stderr.strip()[:100])
    small = os.path.join(w, "small.h5")
    low_rank_pool(small, 50, 500, 5, labeled=20)
    r = run(args, [args.alq, "select", "--pool", small, "--budget", "5", "--strategy", "kcenter", "--out", out,
                   "--projection", proj, "--quiet"], ranks=2, expect=3)
    check("expects 96 columns" in r.stderr and not os.path.exists(out),
          "select --projection of another dimension: exit 3 (%s)" % r.stderr.strip()[:100])
    r = run(args, [args.alq, "select", "--pool", pool, "--budget", "5", "--strategy", "kcenter", "--out", out,
                   "--projection", proj, "--project", "pca:4"], ranks=1, expect=2)
    check(not os.path.exists(out), "select --project with --projection: exit 2")


def part_cli(args):
    w = args.workdir
    pool = os.path.join(w, "pool.h5")
    x, lab, li = low_rank_pool(pool, 40, 3000, 6, labeled=80)
    for cmd in ("project", "score"):
        r = run(args, [args.alq, cmd, "--help"])
        check(r.stdout.startswith("usage:") and "exit codes" in r.stdout, "alq %s --help" % cmd)
    ref, _ = numpy_mahalanobis(x, li, lab[li])
    outs = []
    for p, g in [(1, "1x1"), (2, "1x2"), (3, "1x1")]:
        out = os.path.join(w, "scores-n%d.h5" % p)
        run(args, [args.alq, "score", "--pool", pool, "--mahalanobis", "--out", out, "--grid", g, "--quiet"],
            ranks=p)
        with h5py.File(out) as f:
            ids, dist = f["scores/ids"][:], f["scores/mahalanobis"][:]
            check(f["scores/mahalanobis"].dtype == np.float64 and np.array_equal(ids, np.arange(3000)),
                  "alq score %d rank(s): /scores/ids (row order), /scores/mahalanobis float64" % p)
        err = (np.abs(dist - ref) / ref).max()
        check(err <= 1e-9, "alq score %d rank(s) grid %s vs numpy: %.2g" % (p, g, err))
        outs.append(dist)
    check(np.array_equal(outs[0], outs[2]), "alq score: the same bits at 1 and 3 ranks (grid 1x1)")
    out = os.path.join(w, "never.h5")
    nolab = os.path.join(w, "nolab.h5")
    with h5py.File(nolab, "w") as f:
        f["embeddings"] = x
    few = os.path.join(w, "few.h5")
    with h5py.File(few, "w") as f:
        f["embeddings"] = x
        f["labeled/ids"] = np.arange(3, dtype=np.int64)
        f["labeled/labels"] = np.arange(3, dtype=np.int32)
    cases = [
        (["score", "--pool", nolab, "--mahalanobis", "--out", out], 2, 3, "/labeled"),
        (["score", "--pool", few, "--mahalanobis", "--out", out], 2, 3, "more labeled items than classes"),
        (["score", "--pool", pool, "--out", out], 1, 2, "--mahalanobis"),
        (["score", "--pool", pool, "--mahalanobis", "--out", out, "--grid", "2x2"], 2, 2, "2x2"),
        (["score", "--pool", pool, "--mahalanobis", "--out", pool], 1, 2, "--out"),
        (["project", "--pool", pool, "--project", "pca:41", "--out", out], 2, 2, "K = 41"),
        (["project", "--pool", pool, "--project", "pcb:4", "--out", out], 1, 2, "pcb:4"),
        (["project", "--pool", pool, "--project", "pca:4", "--out", out, "--grid", "1x"], 1, 2, "1x"),
        (["project", "--pool", os.path.join(w, "missing.h5"), "--project", "pca:4", "--out", out], 2, 3,
         "missing.h5"),
        (["project", "--pool", pool, "--project", "pca:4", "--out", os.path.join(w, "no/such/dir.h5")], 2, 4,
         "dir.h5"),
    ]
    for cmd, p, code, needle in cases:
        r = run(args, [args.alq] + cmd, ranks=p, expect=code)
        lines = [l for l in r.stderr.splitlines() if l.startswith("alq: error:")]
        check(len(lines) == 1 and needle in lines[0] and not os.path.exists(out)
              and not any(n.startswith("never.h5.tmp") for n in os.listdir(w)),
              "alq %s: exit %d, one line naming %r, no output (%s)" % (" ".join(cmd[:1]), code, needle,
                                                                      lines[0] if lines else r.stderr[-200:]))


if __name__ == "__main__":
    main()
