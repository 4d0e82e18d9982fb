#!/usr/bin/python3
"""tests/activelab_select.py: the activelab strategy and `alq consensus`
through the CLI, against the numpy CROWDLAB/ActiveLab reference of
tests/activelab_consensus.py, and `alq simulate --annotators`.

- a round state with answers from three annotators (some items answered two
  or three times, with disagreements): `alq consensus` gives the reference's
  label, quality and answer count per item;
- `alq select --strategy activelab --state` gives the reference's batch (the
  top B of labeled and unlabeled items on one scale) with /selected/relabel =
  1 exactly on the labeled items, the same at 1-4 ranks; without a state (one
  answer per labeled item) likewise;
- `alq simulate --annotators 1 --annotator-noise 0` reproduces the plain
  simulation's accuracies; with noise the runs are the same on 1 and 2 ranks,
  'labeled' counts every answer, margin never re-labels (items = labeled)
  and activelab's items are at most its answers; noise 1 on two classes
  (every answer wrong) ruins the model; a bad confusion file fails with exit 3.

    activelab_select.py --alq build/alq --mpiexec mpiexec --data tests/data --workdir DIR
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import activelab_consensus as ref  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(cmd, cwd):
    try:
        p = subprocess.run(["timeout", "-k", "5", "120"] + [str(c) for c in cmd], cwd=cwd, capture_output=True,
                           text=True, timeout=150)
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    return p.returncode, p.stdout, p.stderr


def state_answers(path):
    with h5py.File(path, "r") as f:
        ids = f["answers/ids"][:]
        labels = f["answers/labels"][:]
        who = f["answers/annotators"][:]
    items = {}
    seen = set()
    for i, l, a in zip(ids, labels, who):
        if (int(i), int(a)) in seen:
            continue
        seen.add((int(i), int(a)))
        items.setdefault(int(i), []).append((int(a), int(l)))
    order = sorted(items)
    used = sorted({a for v in items.values() for a, _ in v})
    remap = {a: j for j, a in enumerate(used)}  # table annotators: first appearance by id order
    first = []
    for i in order:
        for a, _ in items[i]:
            if a not in first:
                first.append(a)
    remap = {a: j for j, a in enumerate(first)}
    return order, [[(remap[a], l) for a, l in items[i]] for i in order], len(first)


def expected_batch(probs, labeled_ids, items, budget, known_annotators):
    """known_annotators: an item every annotator answered is no candidate."""
    K, A = probs.shape[1], max(a for v in items for a, _ in v) + 1
    # ActiveLab scales the probabilities by a temperature fitted against the
    # consensus labels (1 when no item has two answers; alq keeps the labeled
    # items' scaled ones as float32): strategies/activelab.c, temperature_fit.
    T = ref.consensus_temperature(items, probs[labeled_ids], K, A)
    lprobs = probs[labeled_ids] if T == 1 else ref.temp_scale(probs[labeled_ids], T).astype(np.float32)
    r = ref.crowdlab(items, lprobs, K, A)
    r["temperature"] = T
    lab, _, wbar = ref.activelab(r, items, K)
    unl_ids = np.setdiff1d(np.arange(len(probs)), labeled_ids)
    if known_annotators:
        open_ = np.array([len(v) < A for v in items])
        labeled_ids, lab = labeled_ids[open_], lab[open_]
    maxp = probs[unl_ids].max(axis=1).astype(np.float64) if T == 1 else ref.temp_scale(probs[unl_ids], T).max(axis=1)
    unl = 1 - (r["w_m"] * maxp + wbar / K) / (r["w_m"] + wbar)
    ids = np.concatenate([labeled_ids, unl_ids])
    scores = np.concatenate([lab, unl])
    order = np.lexsort((ids, -scores))[:budget]
    return ids[order], scores[order], np.isin(ids[order], labeled_ids).astype(int), r


def batch_of(path):
    with h5py.File(path, "r") as f:
        return f["selected/ids"][:], f["selected/scores"][:], f["selected/relabel"][:]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    alq, w = os.path.abspath(a.alq), a.workdir
    shutil.rmtree(w, ignore_errors=True)
    os.makedirs(w)
    mpi = lambda n: [a.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", n]

    # A pool with a model's /probs and 40 labeled items; round 1 by margin.
    code, _, err = run([alq, "gen", "--out", "pool.h5", "--items", 3000, "--dim", 8, "--classes", 5,
                        "--labeled", 40, "--seed", 5], w)
    check(code == 0, f"gen: {err}")
    code, _, err = run([alq, "select", "--pool", "pool.h5", "--strategy", "margin", "--budget", 60, "--out",
                        "r1.h5", "--state", "state.h5", "--quiet"], w)
    check(code == 0, f"select round 1: {err}")
    with h5py.File(os.path.join(w, "pool.h5"), "r") as f:
        probs, truth = f["probs"][:], f["labels"][:]
    with h5py.File(os.path.join(w, "r1.h5"), "r") as f:
        r1 = f["selected/ids"][:]
    rng = np.random.default_rng(3)
    for name, acc, share in (("alice", 0.8, 1.0), ("bob", 0.6, 0.6), ("carol", 0.9, 0.4)):
        rows = ["id,label,annotator"]
        for i in r1:
            if rng.random() < share:
                l = truth[i] if rng.random() < acc else rng.integers(0, 5)
                rows.append(f"{i},{l},{name}")
        open(os.path.join(w, name + ".csv"), "w").write("\n".join(rows) + "\n")
        code, _, err = run([alq, "ingest", "--state", "state.h5", "--labels", name + ".csv", "--quiet"], w)
        check(code == 0, f"ingest {name}: {err}")
    order, items, A = state_answers(os.path.join(w, "state.h5"))
    check(sum(len(v) > 1 for v in items) > 20, "the state has too few items with several answers")

    # alq consensus against the reference.
    code, _, err = run([alq, "consensus", "state.h5", "--out", "labels.csv", "--quiet"], w)
    check(code == 0, f"consensus: {err}")
    if code == 0:
        rows = list(csv.DictReader(open(os.path.join(w, "labels.csv"))))
        r = ref.crowdlab(items, probs[order], 5, A)
        check([int(x["id"]) for x in rows] == order, "consensus: ids differ from the answered items")
        check(np.array_equal([int(x["label"]) for x in rows], r["label"]), "consensus: labels differ")
        check(np.allclose([float(x["quality"]) for x in rows], r["quality"], rtol=1e-7),
              "consensus: quality differs")
        check([int(x["answers"]) for x in rows] == [len(v) for v in items], "consensus: answer counts differ")
        check(np.mean(r["label"] == truth[order]) > 0.7, "consensus: the reference itself is poor (test data?)")

    # activelab with the state's answers, at 1-4 ranks (each on a copy: select records a round),
    # on a copy of the pool whose /probs are sharpened (p^3, renormalised): an
    # over-confident model, so that the fitted temperature is not 1.
    shutil.copy(os.path.join(w, "pool.h5"), os.path.join(w, "sharp.h5"))
    with h5py.File(os.path.join(w, "sharp.h5"), "r+") as f:
        sharp = f["probs"][:].astype(np.float64) ** 3
        f["probs"][...] = (sharp / sharp.sum(axis=1, keepdims=True)).astype(np.float32)
        sprobs = f["probs"][:]
    eids, escores, erel, eref = expected_batch(sprobs, np.array(order), items, 300, True)
    check(eref["temperature"] != 1, "the state's answers give temperature 1: the scaling is not exercised")
    first = None
    for n in (1, 2, 3, 4):
        shutil.copy(os.path.join(w, "state.h5"), os.path.join(w, f"state{n}.h5"))
        code, _, err = run(mpi(n) + [alq, "select", "--pool", "sharp.h5", "--strategy", "activelab", "--budget", 300,
                                     "--out", f"al{n}.h5", "--state", f"state{n}.h5", "--quiet"], w)
        check(code == 0, f"activelab at {n} ranks: {err}")
        if code:
            continue
        got = batch_of(os.path.join(w, f"al{n}.h5"))
        if first is None:
            first = got
            check(np.array_equal(got[0], eids), f"activelab --state: ids differ from the reference: {got[0][:8]} vs "
                                                f"{eids[:8]}")
            # float32 rounding of the scaled probabilities (numpy's exp/log vs libm's): not 1e-9
            check(np.allclose(got[1], escores, rtol=1e-6), "activelab --state: scores differ from the reference")
            check(np.array_equal(got[2], erel), "activelab --state: /selected/relabel differs")
        else:
            check(all(np.array_equal(x, y) for x, y in zip(got, first)), f"activelab: batch at {n} ranks differs")

    # Without a state: one answer per labeled item (the pool's /labeled).
    with h5py.File(os.path.join(w, "pool.h5"), "r") as f:
        lids, llab = f["labeled/ids"][:], f["labeled/labels"][:]
    single = [[(0, int(l))] for l in llab]
    eids, escores, erel, _ = expected_batch(probs, lids, single, 30, False)
    check(erel.sum() > 0 and erel.sum() < 30, f"the single-answer reference batch does not mix ({erel.sum()})")
    for n in (1, 2, 3, 4):
        code, _, err = run(mpi(n) + [alq, "select", "--pool", "pool.h5", "--strategy", "activelab", "--budget", 30,
                                     "--out", f"single{n}.h5", "--quiet"], w)
        check(code == 0, f"activelab without a state at {n} ranks: {err}")
        if code == 0:
            got = batch_of(os.path.join(w, f"single{n}.h5"))
            check(np.array_equal(got[0], eids) and np.allclose(got[1], escores, rtol=1e-9),
                  f"activelab without a state at {n} ranks: batch differs from the reference")
            check(np.array_equal(got[2], erel), f"activelab without a state at {n} ranks: relabel flags differ")
    code, _, err = run([alq, "select", "--pool", "pool.h5", "--strategy", "activelab", "--budget", 30,
                        "--diversity", "exact", "--out", "x.h5"], w)
    check(code == 2 and "no --diversity" in err, f"activelab --diversity: exit {code}, {err.strip()}")

    # simulate --annotators.
    code, _, err = run([alq, "import", "--csv", os.path.join(a.data, "pmlb_page_blocks.csv.gz"), "--out",
                        "pb.h5", "--standardize"], w)
    check(code == 0, f"import: {err}")
    base = ["simulate", "--pool", "pb.h5", "--initial", 30, "--batch", 30, "--rounds", 4, "--seeds", 2, "--quiet"]
    curve = lambda p: [(r["strategy"], r["seed"], r["round"], r["labeled"], r["accuracy"], r["items"])
                       for r in csv.DictReader(open(os.path.join(w, p)))]
    code, _, err = run([alq] + base + ["--strategy", "margin,random", "--out", "plain.csv"], w)
    code2, _, err2 = run([alq] + base + ["--strategy", "margin,random", "--annotators", 1, "--annotator-noise", 0,
                                         "--out", "clean.csv"], w)
    check(code == 0 and code2 == 0, f"simulate: {err} {err2}")
    if code == 0 and code2 == 0:
        check(curve("plain.csv") == curve("clean.csv"), "noise-free annotators change the curve")
    noisy = base + ["--strategy", "activelab,margin", "--annotators", 3, "--annotator-noise", 0.3]
    code, _, err = run([alq] + noisy + ["--out", "n1.csv"], w)
    code2, _, err2 = run(mpi(2) + [alq] + noisy + ["--out", "n2.csv"], w)
    check(code == 0 and code2 == 0, f"simulate noisy: {err} {err2}")
    if code == 0 and code2 == 0:
        c1 = curve("n1.csv")
        check(c1 == curve("n2.csv"), "noisy simulate differs at 1 and 2 ranks")
        check(all(int(r[3]) == 30 + 30 * int(r[2]) for r in c1), "labeled does not count every answer")
        check(all(r[3] == r[5] for r in c1 if r[0] == "margin"), "margin re-labeled an item")
        check(all(int(r[5]) <= int(r[3]) for r in c1), "more items than answers")
        check(any(int(r[5]) < int(r[3]) for r in c1 if r[0] == "activelab"), "activelab never re-labeled")
        check(curve("plain.csv")[1:] != [r for r in c1], "noise changes nothing")
    # Two classes, every answer wrong: the model learns the flipped labels.
    code, _, err = run([alq, "import", "--csv", os.path.join(a.data, "breast_cancer.csv.gz"), "--out", "bc.h5",
                        "--standardize"], w)
    code2, _, err2 = run([alq, "simulate", "--pool", "bc.h5", "--strategy", "random", "--initial", 40, "--batch", 20,
                          "--rounds", 3, "--seeds", 1, "--annotators", 2, "--annotator-noise", 1, "--quiet",
                          "--out", "flip.csv"], w)
    check(code == 0 and code2 == 0, f"simulate flipped: {err} {err2}")
    if code2 == 0:
        acc = [float(r[4]) for r in curve("flip.csv")]
        check(max(acc) < 0.3, f"every answer wrong, yet accuracy {acc}")
    open(os.path.join(w, "bad.txt"), "w").write("0.5 0.5\n0.7 0.2\n")
    code, _, err = run([alq, "simulate", "--pool", "bc.h5", "--strategy", "random", "--initial", 40, "--batch", 20,
                        "--rounds", 1, "--seeds", 1, "--annotators", 2, "--confusion", "bad.txt", "--out", "x.csv"], w)
    check(code == 3 and "bad.txt: line 2" in err and err.count("\n") == 1, f"bad confusion: exit {code}, {err!r}")
    open(os.path.join(w, "swap.txt"), "w").write("0,1\n1,0\n")
    code, _, err = run([alq, "simulate", "--pool", "bc.h5", "--strategy", "random", "--initial", 40, "--batch", 20,
                        "--rounds", 3, "--seeds", 1, "--annotators", 2, "--confusion", "swap.txt", "--quiet",
                        "--out", "swap.csv"], w)
    check(code == 0 and [r[4] for r in curve("swap.csv")] == [r[4] for r in curve("flip.csv")],
          f"a swapping confusion matrix differs from noise 1 on two classes: {err}")
    if failures:
        print(f"{len(failures)} failure(s)")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
