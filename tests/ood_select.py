#!/usr/bin/python3
"""The out-of-distribution stage (alq ood, alq select --ood) against numpy and across ranks.

--part scores   alq ood on a generated pool (Gaussian classes + 20% junk: uniform noise,
                blank and saturated rows) at 1 and 3 ranks: the same bytes; kNN (normalised
                embeddings, leave-one-out calibration), maxprob and energy scores, the
                calibrated threshold and every reject flag against numpy written here;
                mahalanobis: the flags follow its own scores and threshold rule.
--part select   alq select --ood with margin, kcenter, --subpool anchoral and --diversity hier
                at 1-4 ranks: the same batch, no rejected item in it, the batch file's
                ood_rejected (in all and per rank) equal to numpy's count, the threshold in
                the manifest.
--part space    --ood-space pool under an MLP --model: alq ood's kNN scores are those of the
                pool's own /embeddings (numpy here, and alq ood without the model, byte for
                byte), unlike the default space (the hidden layer); --ood-space features:
                numpy's kNN on the model's (x - mean) / std, and under logreg (whose
                embeddings those are) the default space's bytes; alq select --model with
                pool and features at 1-3 ranks: the same batch, no rejected item, numpy's
                count, the space in the batch file and the manifest.
--part errors   usage and input errors: one line, the documented exit code, no output.
"""
import argparse
import math
import os
import subprocess
import sys

import h5py
import numpy as np

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
FAILS = []
TOL = 1e-5  # float32 normalisation and alq_dot's order against float64 numpy


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        FAILS.append(what)


def run(args, cmd, ranks=1, expect=0):
    full = [args.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), args.alq] + cmd
    p = subprocess.run(full, env=ENV, capture_output=True, text=True)
    if expect is not None and p.returncode != expect:
        print(p.stdout, p.stderr)
        check(False, "alq %s exited %d, expected %d" % (" ".join(cmd[:3]), p.returncode, expect))
    return p


def make_pool(path, n_id=800, n_junk=200, d=16, classes=4, labeled=80, seed=5, probs=True):
    """In-distribution Gaussian classes and junk rows; ids 7 + 3 i (not row numbers)."""
    rng = np.random.default_rng(seed)
    means = rng.standard_normal((classes, d)) * 3
    y = rng.integers(0, classes, n_id)
    x_id = means[y] + rng.standard_normal((n_id, d))
    kinds = np.arange(n_junk) % 3
    junk = np.where(kinds[:, None] == 0, rng.uniform(-8, 8, (n_junk, d)),
                    np.where(kinds[:, None] == 1, 0.0, 8.0))
    x = np.vstack([x_id, junk]).astype(np.float32)
    lab = np.concatenate([y, -np.ones(n_junk, int)])
    order = rng.permutation(len(x))
    x, lab = x[order], lab[order]
    ids = 7 + 3 * np.arange(len(x))
    logits = (x.astype(np.float64) @ rng.standard_normal((d, classes))) * 0.5
    p = np.exp(logits - logits.max(1, keepdims=True))
    p = (p / p.sum(1, keepdims=True)).astype(np.float32)
    in_dist = np.flatnonzero(lab >= 0)
    li = np.sort(rng.choice(in_dist, labeled, replace=False))
    with h5py.File(path, "w") as f:
        f["embeddings"] = x
        if probs:
            f["probs"] = p
        else:
            f.attrs["classes"] = np.int64(classes)
        f["ids"] = ids.astype(np.int64)
        f["labels"] = np.where(lab >= 0, lab, 0).astype(np.int32)
        f["labeled/ids"] = ids[li].astype(np.int64)
        f["labeled/labels"] = lab[li].astype(np.int32)
    return dict(x=x, p=p, ids=ids, junk=lab < 0, labeled_rows=li, labels=lab)


def text(value):
    """An HDF5 string attribute as h5py gives it (bytes when fixed-length)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def threshold(cal, q):
    s = np.sort(cal)
    r = math.floor(q * len(s) + 1e-9)
    return s[max(len(s) - r, 1) - 1]


def knn_reference(pool, k):
    x = pool["x"].astype(np.float64)
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    u = np.divide(x, norm, out=np.zeros_like(x), where=norm > 0)
    ref = u[pool["labeled_rows"]]
    k = min(k, len(ref) - 1)
    sims = u @ ref.T
    loo = ref @ ref.T
    np.fill_diagonal(loo, -np.inf)
    dist = lambda s: np.sqrt(np.maximum(0, 2 - 2 * s))
    return dist(np.sort(sims, 1)[:, -k]), dist(np.sort(loo, 1)[:, -k])


def maxprob_reference(pool):
    s = 1 - pool["p"].max(1).astype(np.float64)
    return s, s[pool["labeled_rows"]]


def energy_reference(pool, t):
    z = np.log(pool["p"].astype(np.float64)) / t
    top = z.max(1)
    s = -t * (top + np.log(np.exp(z - top[:, None]).sum(1)))
    return s, s[pool["labeled_rows"]]


def read_scores(path):
    with h5py.File(path, "r") as f:
        g = f["ood"]
        return dict(ids=g["ids"][:], scores=g["scores"][:], rejected=g["rejected"][:], labeled=g["labeled"][:],
                    cal_ids=f["calibration/ids"][:], cal=f["calibration/scores"][:],
                    threshold=float(f.attrs["threshold"]), rejected_count=int(f.attrs["rejected"]),
                    k=int(f.attrs["k"]))


def part_scores(args):
    pool_path = os.path.join(args.workdir, "pool.h5")
    pool = make_pool(pool_path)
    q = 0.1
    cases = {"knn": (["--ood-k", "7"], lambda: knn_reference(pool, 7)),
             "knn-default-k": (["--ood", "knn"], lambda: knn_reference(pool, 50)),
             "maxprob": ([], lambda: maxprob_reference(pool)),
             "energy": (["--ood-temperature", "2"], lambda: energy_reference(pool, 2.0)),
             "mahalanobis": ([], None)}
    for name, (extra, ref) in cases.items():
        kind = name.split("-")[0]
        outs = {}
        for ranks in (1, 3):
            out = os.path.join(args.workdir, "%s-%d.h5" % (name, ranks))
            csv = os.path.join(args.workdir, "%s-%d.csv" % (name, ranks))
            run(args, ["ood", pool_path, "--ood", kind, "--ood-reject", str(q), "--out", out, "--csv", csv,
                       "--quiet", "--chunk-rows", "64"] + extra, ranks)
            outs[ranks] = read_scores(out)
        a, b = outs[1], outs[3]
        check(all(np.array_equal(a[key], b[key]) for key in ("ids", "scores", "rejected", "cal")),
              "%s: the same scores, flags and calibration at 1 and 3 ranks" % name)
        check(np.array_equal(a["ids"], pool["ids"]) and np.array_equal(a["labeled"] == 1,
                                                                        np.isin(a["ids"], pool["ids"][pool["labeled_rows"]])),
              "%s: one row per pool item, labeled flags right" % name)
        check(a["threshold"] == threshold(a["cal"], q), "%s: threshold is the calibration's order statistic" % name)
        check(np.array_equal(a["rejected"] == 1, a["scores"] > a["threshold"]), "%s: flag = score > threshold" % name)
        check(a["rejected_count"] == int(((a["rejected"] == 1) & (a["labeled"] == 0)).sum()),
              "%s: rejected attribute counts unlabeled flags" % name)
        csv_rows = np.loadtxt(os.path.join(args.workdir, "%s-1.csv" % name), delimiter=",", skiprows=1)
        check(np.array_equal(csv_rows[:, 0].astype(np.int64), a["ids"]) and np.allclose(csv_rows[:, 1], a["scores"],
                                                                                        rtol=1e-15, atol=0),
              "%s: CSV holds the same rows" % name)
        if ref is None:
            continue
        s_np, cal_np = ref()
        check(np.abs(a["cal"] - cal_np).max() < TOL, "%s: calibration scores within %g of numpy (max %.2e)"
              % (name, TOL, np.abs(a["cal"] - cal_np).max()))
        check(np.abs(a["scores"] - s_np).max() < TOL, "%s: item scores within %g of numpy (max %.2e)"
              % (name, TOL, np.abs(a["scores"] - s_np).max()))
        t_np = threshold(cal_np, q)
        check(abs(a["threshold"] - t_np) < TOL, "%s: threshold %.9g, numpy %.9g" % (name, a["threshold"], t_np))
        unl = a["labeled"] == 0
        near = np.abs(s_np - t_np) < 2 * TOL
        np_rej = (s_np > t_np) & unl
        alq_rej = (a["rejected"] == 1) & unl
        check(np.array_equal(np_rej[~near], alq_rej[~near]) and near.sum() <= 2,
              "%s: reject flags as numpy's (%d rejected, numpy %d, %d within tolerance of the threshold)"
              % (name, alq_rej.sum(), np_rej.sum(), near.sum()))
        if kind == "knn":
            check(a["k"] == min(7 if name == "knn" else 50, 79), "%s: k resolved to %d" % (name, a["k"]))
            junk_rej = (alq_rej & pool["junk"]).sum()
            check(name != "knn" or junk_rej == pool["junk"].sum(), "%s: junk rows rejected (%d of %d)"
                  % (name, junk_rej, pool["junk"].sum()))


def batch(path):
    with h5py.File(path, "r") as f:
        return dict(ids=f["selected/ids"][:], rejected=int(f.attrs["ood_rejected"]),
                    per_rank=f.attrs["ood_rejected_per_rank"][:], threshold=float(f.attrs["ood_threshold"]))


def part_select(args):
    pool_path = os.path.join(args.workdir, "pool.h5")
    pool = make_pool(pool_path)
    scores = os.path.join(args.workdir, "knn.h5")
    run(args, ["ood", pool_path, "--ood", "knn", "--ood-reject", "0.1", "--ood-k", "7", "--out", scores, "--quiet"])
    ref = read_scores(scores)
    rejected_ids = set(ref["ids"][(ref["rejected"] == 1) & (ref["labeled"] == 0)].tolist())
    s_np, cal_np = knn_reference(pool, 7)
    t_np = threshold(cal_np, 0.1)
    n_np = int(((s_np > t_np) & (ref["labeled"] == 0)).sum())
    setups = {"margin": ["--strategy", "margin"],
              "kcenter": ["--strategy", "kcenter"],
              "margin-anchoral": ["--strategy", "margin", "--subpool", "anchoral", "--subpool-size", "150",
                                  "--anchors-per-class", "3", "--neighbors", "40"],
              "margin-hier": ["--strategy", "margin", "--diversity", "hier", "--candidates", "200"]}
    for name, opts in setups.items():
        got = {}
        for ranks in (1, 2, 3, 4):
            out = os.path.join(args.workdir, "%s-%d.h5" % (name, ranks))
            p = run(args, ["select", "--pool", pool_path, "--budget", "40", "--out", out, "--seed", "3", "--ood", "knn",
                           "--ood-reject", "0.1", "--ood-k", "7", "--chunk-rows", "50", "--log-view"] + opts, ranks)
            if p.returncode != 0:
                return
            got[ranks] = batch(out)
            if ranks == 3:
                line = [l for l in p.stderr.splitlines() if l.startswith("ood: ")]
                check(len(line) == 1 and ("rejected %d " % n_np) in line[0] and
                      line[0].endswith(" ".join(str(c) for c in got[ranks]["per_rank"])),
                      "%s: --log-view names the rejected count and the per-rank counts" % name)
        b1 = got[1]
        check(all(np.array_equal(got[r]["ids"], b1["ids"]) for r in got), "%s --ood knn: the same batch at 1-4 ranks"
              % name)
        check(len(b1["ids"]) == 40 and not (set(b1["ids"].tolist()) & rejected_ids),
              "%s --ood knn: 40 items, none rejected" % name)
        check(all(got[r]["rejected"] == n_np and got[r]["per_rank"].sum() == n_np and len(got[r]["per_rank"]) == r
                  for r in got), "%s: ood_rejected %d (numpy %d), per rank summing to it" % (name, b1["rejected"], n_np))
        check(b1["threshold"] == ref["threshold"], "%s: the threshold alq ood calibrates" % name)
    # Without the stage margin is drawn to junk on this pool; with it, none.
    plain = os.path.join(args.workdir, "plain.h5")
    run(args, ["select", "--pool", pool_path, "--budget", "40", "--out", plain, "--strategy", "margin", "--quiet"])
    with h5py.File(plain, "r") as f:
        ids = f["selected/ids"][:]
        check("ood" not in f.attrs, "no --ood: no ood attributes")
    junk_ids = set(pool["ids"][pool["junk"]].tolist())
    print("margin without --ood: %d of 40 junk" % len(set(ids.tolist()) & junk_ids))
    # simulate --ood: junk marked -1 in /labels, the same curve at 1 and 2 ranks.
    sim_pool = os.path.join(args.workdir, "sim.h5")
    make_pool(sim_pool)
    with h5py.File(sim_pool, "r+") as f:
        f["labels"][...] = np.where(np.isin(f["ids"][:], pool["ids"][pool["junk"]]), -1, f["labels"][:])
    curves = {}
    for ranks in (1, 2):
        curve = os.path.join(args.workdir, "curve-%d.csv" % ranks)
        run(args, ["simulate", "--pool", sim_pool, "--strategy", "margin", "--batch", "20", "--rounds", "2", "--seeds",
                   "1", "--initial", "20", "--out", curve, "--quiet", "--ood", "knn", "--ood-reject", "0.1",
                   "--ood-k", "5"], ranks)
        rows = [l.split(",") for l in open(curve).read().splitlines()[1:]]
        curves[ranks] = [(r[0], r[3], r[4]) for r in rows]
    check(len(curves[1]) == 3 and curves[1] == curves[2] and [c[1] for c in curves[1]] == ["20", "40", "60"],
          "simulate --ood with junk labels -1: the same curve at 1 and 2 ranks, labels spent 20, 40, 60")
    m = run(args, ["manifest", os.path.join(args.workdir, "margin-1.h5")])
    check("--ood-threshold %.17g" % ref["threshold"] in m.stdout and "--ood knn" in m.stdout,
          "the manifest records --ood and its threshold")


def part_space(args):
    pool_path = os.path.join(args.workdir, "pool.h5")
    pool = make_pool(pool_path)
    model = os.path.join(args.workdir, "mlp.h5")
    run(args, ["train", "--pool", pool_path, "--model", "mlp", "--hidden", "12", "--epochs", "60", "--seed", "2",
               "--out", model, "--quiet"])
    knn = ["--ood", "knn", "--ood-reject", "0.1", "--ood-k", "7", "--quiet", "--chunk-rows", "64"]
    outs = {}
    for name, extra in {"plain": [], "model-pool": ["--model", model, "--ood-space", "pool"],
                        "model-selection": ["--model", model]}.items():
        outs[name] = os.path.join(args.workdir, "space-%s.h5" % name)
        run(args, ["ood", pool_path, "--out", outs[name]] + knn + extra, 2)
    plain, pooled, hidden = (read_scores(outs[n]) for n in ("plain", "model-pool", "model-selection"))
    check(all(np.array_equal(plain[key], pooled[key]) for key in ("ids", "scores", "rejected", "cal")),
          "--model --ood-space pool: the scores, flags and calibration of the pool without the model")
    s_np, cal_np = knn_reference(pool, 7)
    check(np.abs(pooled["scores"] - s_np).max() < TOL, "--ood-space pool: kNN scores within %g of numpy on /embeddings"
          % TOL)
    check(not np.allclose(hidden["scores"], s_np, atol=1e-3), "--model alone: scores in the hidden layer, not the pool's")
    logreg = os.path.join(args.workdir, "logreg.h5")
    run(args, ["train", "--pool", pool_path, "--model", "logreg", "--epochs", "40", "--out", logreg, "--quiet"])
    for name, m in (("mlp", model), ("logreg", logreg)):
        for space in ("features", "selection"):
            outs[name + "-" + space] = os.path.join(args.workdir, "space-%s-%s.h5" % (name, space))
            run(args, ["ood", pool_path, "--out", outs[name + "-" + space], "--model", m, "--ood-space", space] + knn, 3)
    with h5py.File(model, "r") as f:
        z = (pool["x"] - f["standardize/mean"][:]) / f["standardize/std"][:]
    z_np, _ = knn_reference(dict(pool, x=z), 7)
    feats = read_scores(outs["mlp-features"])
    check(np.abs(feats["scores"] - z_np).max() < TOL, "--model mlp --ood-space features: kNN scores within %g of "
          "numpy on (x - mean) / std (max %.2e)" % (TOL, np.abs(feats["scores"] - z_np).max()))
    a, b = read_scores(outs["logreg-features"]), read_scores(outs["logreg-selection"])
    check(all(np.array_equal(a[key], b[key]) for key in ("ids", "scores", "rejected", "cal")),
          "--model logreg: --ood-space features gives the default space's scores (logreg's embeddings are z)")
    with h5py.File(outs["model-pool"], "r") as f, h5py.File(outs["model-selection"], "r") as g:
        check(text(f.attrs["space"]) == "pool" and text(g.attrs["space"]) == "selection", "alq ood writes the space attribute")
    rejected_ids = set(pooled["ids"][(pooled["rejected"] == 1) & (pooled["labeled"] == 0)].tolist())
    n_np = int(((s_np > threshold(cal_np, 0.1)) & (pooled["labeled"] == 0)).sum())
    for space, scores in (("pool", pooled), ("features", feats)):
        rejected_ids = set(scores["ids"][(scores["rejected"] == 1) & (scores["labeled"] == 0)].tolist())
        n_alq = len(rejected_ids)
        got = {}
        for ranks in (1, 2, 3):
            out = os.path.join(args.workdir, "space-select-%s-%d.h5" % (space, ranks))
            run(args, ["select", "--pool", pool_path, "--budget", "30", "--out", out, "--seed", "3", "--strategy",
                       "margin", "--model", model, "--ood-space", space] + knn, ranks)
            got[ranks] = batch(out)
            with h5py.File(out, "r") as f:
                got[ranks]["space"] = text(f.attrs["ood_space"])
        b1 = got[1]
        check(all(np.array_equal(got[r]["ids"], b1["ids"]) for r in got), "select --model --ood-space %s: the same "
              "batch at 1-3 ranks" % space)
        check(len(b1["ids"]) == 30 and not (set(b1["ids"].tolist()) & rejected_ids) and b1["rejected"] == n_alq and
              b1["space"] == space, "select --ood-space %s: 30 items, none rejected, %d rejected (alq ood %d), space "
              "attribute %s" % (space, b1["rejected"], n_alq, b1["space"]))
        m = run(args, ["manifest", os.path.join(args.workdir, "space-select-%s-1.h5" % space)])
        check("--ood-space %s" % space in m.stdout, "the manifest records --ood-space %s" % space)
    check(len(set(pooled["ids"][(pooled["rejected"] == 1) & (pooled["labeled"] == 0)])) == n_np,
          "alq ood --ood-space pool rejects numpy's count (%d)" % n_np)


def part_errors(args):
    pool_path = os.path.join(args.workdir, "pool.h5")
    make_pool(pool_path)
    noprobs = os.path.join(args.workdir, "noprobs.h5")
    make_pool(noprobs, probs=False)
    out = os.path.join(args.workdir, "out.h5")
    cases = [(["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood-reject", "0.1"],
              2, "--ood-reject"),
             (["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood", "knn"],
              2, "--ood-reject Q"),
             (["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood", "fuzzy",
               "--ood-reject", "0.1"], 2, "fuzzy"),
             (["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood", "knn",
               "--ood-reject", "1"], 2, "--ood-reject"),
             (["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood", "maxprob",
               "--ood-reject", "0.1", "--ood-k", "3"], 2, "--ood-k"),
             (["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood", "energy",
               "--ood-reject", "0.1"], 2, "T = 1"),
             (["select", "--pool", noprobs, "--budget", "5", "--strategy", "kcenter", "--out", out, "--ood", "maxprob",
               "--ood-reject", "0.1"], 3, "/probs"),
             (["ood", noprobs, "--ood", "maxprob", "--ood-reject", "0.1", "--out", out], 3, "/probs"),
             (["select", "--pool", pool_path, "--budget", "5", "--strategy", "margin", "--out", out, "--ood", "maxprob",
               "--ood-reject", "0.1", "--ood-space", "pool"], 2, "--ood-space"),
             (["ood", pool_path, "--ood", "knn", "--ood-reject", "0.1", "--ood-space", "hidden", "--out", out], 2,
              "hidden"),
             (["ood", pool_path, "--ood", "knn", "--ood-reject", "0.1"], 2, "--out"),
             (["ood", pool_path, "--ood", "knn", "--ood-reject", "0.1", "--out", pool_path], 2, "same file")]
    for i, (cmd, code, word) in enumerate(cases):
        for ranks in (1, 2) if i in (1, 6) else (1,):
            p = run(args, cmd, ranks, expect=code)
            lines = [l for l in p.stderr.splitlines() if l.startswith("alq: error:")]
            check(p.returncode == code and len(lines) == 1 and word in lines[0] and not os.path.exists(out),
                  "alq %s ... %s at %d rank(s): exit %d, one line naming %r" % (cmd[0], " ".join(cmd[-2:]), ranks, code,
                                                                            word))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", choices=["scores", "select", "space", "errors"], required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    {"scores": part_scores, "select": part_select, "space": part_space, "errors": part_errors}[args.part](args)
    if FAILS:
        print("%d check(s) failed" % len(FAILS))
        sys.exit(1)


if __name__ == "__main__":
    main()
