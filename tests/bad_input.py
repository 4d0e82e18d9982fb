#!/usr/bin/python3
"""tests/bad_input.py: `alq select` on bad input fails cleanly, at any rank count.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    bad_input.py --alq build/alq --mpiexec mpiexec --workdir DIR

Builds one valid pool with h5py (a control run must succeed on it), then one
broken variant per case.  Each case runs `alq select` under mpiexec -n 1 and
-n 3, each bounded by `timeout 60`, and asserts:
  * the documented exit code (3 input, 2 usage);
  * exactly one line starting with `alq: error:` on stderr (all ranks' stderr
    is merged by mpiexec), mentioning the file and dataset, and the row and
    value where the case has one;
  * the output folder is empty afterwards: no batch, no CSV, no temp file.
Bad values sit in rows owned by the last rank at -n 3, so the error must be
carried from a worker to rank 0.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

RUN_TIMEOUT = 60
N, D, C = 60, 4, 3
BAD_ROW = 47  # on rank 2 of 3 (rows 40..59)

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def base_arrays():
    rng = np.random.default_rng(5)
    emb = rng.normal(size=(N, D)).astype(np.float32)
    p = rng.random(size=(N, C)) + 0.05
    probs = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(N, dtype=np.int64) * 2 + 100
    labels = rng.integers(0, C, size=N).astype(np.int32)
    lab_ids = ids[[3, 17, 29]]
    lab_labels = labels[[3, 17, 29]]
    return dict(embeddings=emb, probs=probs, ids=ids, labels=labels,
                lab_ids=lab_ids, lab_labels=lab_labels)


def write(path, a, drop=()):
    with h5py.File(path, "w") as f:
        for name in ("embeddings", "probs", "ids", "labels"):
            if name in drop or a.get(name) is None:
                continue
            f.create_dataset(name, data=a[name])
        if "labeled" not in drop:
            g = f.create_group("labeled")
            g.create_dataset("ids", data=np.asarray(a["lab_ids"], np.int64))
            g.create_dataset("labels", data=np.asarray(a["lab_labels"], np.int32))


def case_pools(wd):
    """(name, pool path, extra args, strategy, exit code, [regexes stderr must match])."""
    cases = []

    def mk(name, mutate, drop=()):
        a = base_arrays()
        mutate(a)
        path = os.path.join(wd, f"{name}.h5")
        write(path, a, drop)
        return path

    nan_row, inf_row = BAD_ROW, BAD_ROW
    ident = lambda a: None

    cases.append(("missing-file", os.path.join(wd, "does-not-exist.h5"), [], "margin", 3,
                  [r"does-not-exist\.h5"]))
    p = mk("no-embeddings", ident, drop=("embeddings",))
    cases.append(("missing-embeddings", p, [], "kcenter", 3, [r"no-embeddings\.h5", r"embeddings"]))

    def short_probs(a):
        a["probs"] = a["probs"][:N - 1]
    p = mk("probs-rows", short_probs)
    cases.append(("probs-wrong-rows", p, [], "margin", 3,
                  [r"probs-rows\.h5", r"probs", rf"\b{N - 1}\b"]))

    def int_emb(a):
        a["embeddings"] = (a["embeddings"] * 10).astype(np.int32)
    p = mk("emb-int32", int_emb)
    cases.append(("embeddings-int32", p, [], "kcenter", 3, [r"emb-int32\.h5", r"embeddings"]))

    def nan_emb(a):
        a["embeddings"][nan_row, 2] = np.nan
    p = mk("emb-nan", nan_emb)
    cases.append(("embeddings-nan", p, [], "kcenter", 3,
                  [r"emb-nan\.h5", r"embeddings", rf"\b{nan_row}\b|\b{100 + 2 * nan_row}\b",
                   r"(?i)nan"]))

    def inf_probs(a):
        a["probs"][inf_row, 1] = np.inf
    p = mk("probs-inf", inf_probs)
    cases.append(("probs-inf", p, [], "margin", 3,
                  [r"probs-inf\.h5", r"probs", rf"\b{inf_row}\b|\b{100 + 2 * inf_row}\b",
                   r"(?i)inf"]))

    def neg_probs(a):
        a["probs"][BAD_ROW] = np.array([1.25, -0.25, 0.0], np.float32)
    p = mk("probs-negative", neg_probs)
    cases.append(("probs-negative", p, [], "entropy", 3,
                  [r"probs-negative\.h5", r"probs", rf"\b{BAD_ROW}\b|\b{100 + 2 * BAD_ROW}\b",
                   r"-0\.25"]))

    def sum_probs(a):
        a["probs"][BAD_ROW] = np.array([0.5, 0.3, 0.3], np.float32)
    p = mk("probs-sum", sum_probs)
    cases.append(("probs-row-sum-1.1", p, [], "least-confidence", 3,
                  [r"probs-sum\.h5", r"probs", rf"\b{BAD_ROW}\b|\b{100 + 2 * BAD_ROW}\b",
                   r"1\.1"]))

    # sum off by 2e-3 (> 1e-3): still rejected
    def sum_probs_small(a):
        a["probs"][BAD_ROW] = np.array([0.5, 0.3, 0.202], np.float32)
    p = mk("probs-sum-small", sum_probs_small)
    cases.append(("probs-row-sum-1.002", p, [], "margin", 3,
                  [r"probs-sum-small\.h5", r"probs", rf"\b{BAD_ROW}\b|\b{100 + 2 * BAD_ROW}\b"]))

    def bad_labeled(a):
        a["lab_ids"] = np.array([102, 9999, 140], np.int64)
    p = mk("labeled-unknown", bad_labeled)
    cases.append(("labeled-id-not-in-pool", p, [], "margin", 3,
                  [r"labeled-unknown\.h5", r"labeled", r"\b9999\b"]))

    # labeled set from a separate file, with an id the pool lacks
    good = os.path.join(wd, "good-for-labeled.h5")
    write(good, base_arrays(), drop=("labeled",))
    lab = os.path.join(wd, "extra-labeled.h5")
    with h5py.File(lab, "w") as f:
        g = f.create_group("labeled")
        g.create_dataset("ids", data=np.array([100, 101], np.int64))  # 101: odd, not an id
        g.create_dataset("labels", data=np.array([0, 1], np.int32))
    cases.append(("labeled-file-id-not-in-pool", good, ["--labeled", lab], "margin", 3,
                  [r"extra-labeled\.h5|good-for-labeled\.h5", r"\b101\b"]))
    cases.append(("labeled-file-missing", good, ["--labeled", os.path.join(wd, "no-labeled.h5")],
                  "margin", 3, [r"no-labeled\.h5"]))

    # ids in any order are accepted (tests/pool_layout.py); a repeated id is not
    def ids_dup(a):
        a["ids"][BAD_ROW + 1] = a["ids"][BAD_ROW]
    p = mk("ids-dup", ids_dup)
    cases.append(("ids-duplicate", p, [], "random", 3,
                  [r"ids-dup\.h5", r"ids", rf"\b{BAD_ROW}\b|\b{BAD_ROW + 1}\b"]))

    # ids unique within every shard of -n 3 (rows 0-19, 20-39, 40-59) but
    # rows 40.. repeat the ids of rows 20..: only the index across ranks sees it
    def ids_drop_at_boundary(a):
        a["ids"][40:] = a["ids"][40:] - 60
    p = mk("ids-boundary", ids_drop_at_boundary)
    cases.append(("ids-decrease-at-shard-boundary", p, [], "margin", 3,
                  [r"ids-boundary\.h5", r"ids", r"\b40\b"]))

    # bad rows on two ranks at once: one line, naming the first bad row
    def two_nans(a):
        a["embeddings"][25, 0] = np.nan
        a["embeddings"][47, 3] = np.nan
    p = mk("emb-two-nans", two_nans)
    cases.append(("embeddings-nan-on-two-ranks", p, [], "kcenter", 3,
                  [r"emb-two-nans\.h5", r"embeddings", r"\b25\b|\b150\b", r"(?i)nan"]))

    def dup_labeled(a):
        a["lab_ids"] = np.array([102, 140, 102], np.int64)
        a["lab_labels"] = np.array([0, 1, 0], np.int32)
    p = mk("labeled-dup", dup_labeled)
    cases.append(("labeled-duplicate-id", p, [], "margin", 3,
                  [r"labeled-dup\.h5", r"labeled", r"\b102\b"]))

    def label_range(a):
        a["lab_labels"] = np.array([0, 7, 1], np.int32)
    p = mk("labeled-range", label_range)
    cases.append(("labeled-label-out-of-range", p, [], "margin", 3,
                  [r"labeled-range\.h5", r"labels", r"\b7\b"]))

    def label_len(a):
        a["lab_labels"] = np.array([0, 1], np.int32)
    p = mk("labeled-len", label_len)
    cases.append(("labeled-labels-length", p, [], "margin", 3,
                  [r"labeled-len\.h5", r"labels"]))

    def labels_float(a):
        a["labels"] = a["labels"].astype(np.float32)
    p = mk("labels-float", labels_float)
    cases.append(("labels-float32", p, [], "margin", 3, [r"labels-float\.h5", r"labels"]))

    def emb_rank1(a):
        a["embeddings"] = a["embeddings"][:, 0].copy()
    p = mk("emb-rank1", emb_rank1)
    cases.append(("embeddings-1d", p, [], "kcenter", 3, [r"emb-rank1\.h5", r"embeddings"]))

    good2 = os.path.join(wd, "good.h5")
    write(good2, base_arrays())
    cases.append(("budget-0", good2, [], "margin", 2, [r"budget"]))
    cases.append(("unknown-strategy", good2, [], "no-such-strategy", 2, [r"no-such-strategy"]))
    cases.append(("unknown-option", good2, ["--frobnicate"], "margin", 2, [r"frobnicate"]))
    cases.append(("budget-not-a-number", good2, [], "margin", 2, [r"budget"]))
    cases.append(("budget-negative", good2, [], "margin", 2, [r"budget"]))
    cases.append(("seed-not-a-number", good2, ["--seed", "x1"], "margin", 2, [r"seed"]))
    # outputs that cannot be written: exit 4, and nothing left behind (the
    # batch must not survive a failed CSV write)
    cases.append(("out-dir-missing", good2, ["OUT=nodir/batch.h5"], "margin", 4, [r"nodir"]))
    cases.append(("csv-dir-missing", good2, ["CSV=nodir/batch.csv"], "margin", 4, [r"nodir"]))
    cases.append(("strategy-needs-missing-probs", mk("no-probs", ident, drop=("probs",)), [],
                  "margin", 3, [r"no-probs\.h5", r"probs"]))
    return cases, good2


def env():
    e = dict(os.environ)
    e.update(OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
             OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return e


def run(alq, mpiexec, nranks, args):
    cmd = ["timeout", "-k", "10", str(RUN_TIMEOUT), mpiexec, "--allow-run-as-root",
           "--oversubscribe", "-n", str(nranks), alq] + args
    try:
        p = subprocess.run(cmd, env=env(), capture_output=True, text=True,
                           timeout=RUN_TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        return 124, "", "python-side timeout"
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    wd = args.workdir
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    pools = os.path.join(wd, "pools")
    os.makedirs(pools)
    cases, good = case_pools(pools)

    # control: the unbroken pool selects fine (else every case below is vacuous)
    for P in (1, 3):
        outdir = os.path.join(wd, f"control-n{P}")
        os.makedirs(outdir)
        out = os.path.join(outdir, "batch.h5")
        rc, so, se = run(args.alq, args.mpiexec, P,
                         ["select", "--pool", good, "--budget", "5", "--strategy", "margin",
                          "--seed", "1", "--out", out, "--csv", os.path.join(outdir, "b.csv")])
        if rc != 0 or not os.path.exists(out):
            fail(f"control run on the valid pool (-n {P}): exit {rc}, stderr {se.strip()[-400:]}")

    for name, pool, extra, strategy, want_rc, patterns in cases:
        for P in (1, 3):
            tag = f"[{name} -n {P}]"
            outdir = os.path.join(wd, f"{name}-n{P}")
            os.makedirs(outdir)
            budget = {"budget-0": "0", "budget-not-a-number": "5x",
                      "budget-negative": "-3"}.get(name, "5")
            out, csv, more = "batch.h5", "batch.csv", []
            for e in extra:
                if e.startswith("OUT="):
                    out = e[4:]
                elif e.startswith("CSV="):
                    csv = e[4:]
                else:
                    more.append(e)
            argv = ["select", "--pool", pool, "--budget", budget, "--strategy", strategy,
                    "--seed", "1", "--out", os.path.join(outdir, out),
                    "--csv", os.path.join(outdir, csv)] + more
            rc, so, se = run(args.alq, args.mpiexec, P, argv)
            if rc == 124 or rc == 137:
                fail(f"{tag}: timed out (a rank left waiting?)")
            elif rc != want_rc:
                fail(f"{tag}: exit {rc}, expected {want_rc}; stderr: {se.strip()[-400:]}")
            lines = [l for l in (se + so).splitlines() if l.startswith("alq: error:")]
            if len(lines) != 1:
                fail(f"{tag}: {len(lines)} 'alq: error:' lines, expected exactly 1: {lines[:4]}")
            if lines:
                msg = lines[0]
                print(f"{tag} exit {rc}: {msg}", flush=True)
                missing = [p for p in patterns if not re.search(p, msg)]
                if missing:
                    fail(f"{tag}: error line lacks {missing}: {msg!r}")
            left = os.listdir(outdir)
            if left:
                fail(f"{tag}: files left in the output folder: {left}")

    # C = 1: margin has no second probability.  Either reject the pool (exit 3)
    # or score every item 1 - (1 - 0) = 0; never read past the row.
    one = os.path.join(pools, "one-class.h5")
    with h5py.File(one, "w") as f:
        f.create_dataset("embeddings", data=np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32))
        f.create_dataset("probs", data=np.ones((50, 1), np.float32))
    for P in (1, 3):
        outdir = os.path.join(wd, f"one-class-n{P}")
        os.makedirs(outdir)
        out = os.path.join(outdir, "batch.h5")
        rc, so, se = run(args.alq, args.mpiexec, P, ["select", "--pool", one, "--budget", "5",
                                                     "--strategy", "margin", "--seed", "1", "--out", out])
        tag = f"[one-class margin -n {P}]"
        if rc == 3:
            if sum(l.startswith("alq: error:") for l in se.splitlines()) != 1 or os.listdir(outdir):
                fail(f"{tag}: rejected, but not cleanly: {se.strip()[-300:]} left {os.listdir(outdir)}")
        elif rc == 0:
            with h5py.File(out, "r") as f:
                ids = list(f["selected/ids"][...])
                sc = list(f["selected/scores"][...])
            if ids != [0, 1, 2, 3, 4] or any(s != 0.0 for s in sc):
                fail(f"{tag}: with one class every margin score is 0 and ties go to the lowest ids; "
                     f"got ids {ids} scores {sc}")
        else:
            fail(f"{tag}: exit {rc}: {se.strip()[-300:]}")

    print(f"\n{len(failures)} failure(s)")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
