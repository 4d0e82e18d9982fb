#!/usr/bin/python3
"""tests/simulate_cli.py: alq simulate on a small real data set (digits).

- the curve CSV is the same, row for row, when run again with the same seed
  (on 1 rank and on 2 ranks), and different for another seed;
- it has one row per (strategy, seed, round), labeled = initial + round x batch,
  and strategies share each seed's split and initial set (equal round-0 rows);
- the random strategy's accuracy rises with labels;
- the SVG is well-formed and draws one curve per strategy and panel;
- bad input fails with one line and the documented exit code.

    simulate_cli.py --alq build/alq --mpiexec mpiexec --data tests/data --workdir DIR

tests/data carries digits.csv.gz whole (1797 rows; tests/data/README.md).
"""
import argparse
import csv
import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import h5py
import numpy as np

failures = []
TIMEOUT = 300


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def run(cmd, cwd):
    try:
        p = subprocess.run(["timeout", "-k", "10", str(TIMEOUT)] + [str(c) for c in cmd], cwd=cwd,
                           capture_output=True, text=True, timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    return p.returncode, p.stdout, p.stderr


def curve(path):
    """Rows without the timing columns (they vary run to run)."""
    rows = list(csv.DictReader(open(path)))
    return [{k: v for k, v in r.items() if not k.endswith("_seconds")} for r in rows]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    a.data = os.path.abspath(a.data)  # alq runs in --workdir
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    w, alq = a.workdir, a.alq
    mpi = [a.mpiexec, "--allow-run-as-root", "--oversubscribe"]
    csv_in = os.path.join(a.data, "digits.csv.gz")
    check(os.path.exists(csv_in), f"{csv_in} is missing (the real data set this test needs)")
    rc, so, se = run([alq, "import", "--csv", csv_in, "--out", "digits.h5", "--standardize"], w)
    check(rc == 0, f"import digits: exit {rc} {se[-300:]}")
    if rc:
        return

    strategies = ["random", "margin", "kcenter", "margin-kcenter", "anchoral+margin"]
    seeds, rounds, initial, batch = 2, 4, 20, 25
    base = ["simulate", "--pool", "digits.h5", "--strategy", ",".join(strategies), "--initial", initial, "--batch",
            batch, "--rounds", rounds, "--seeds", seeds, "--seed", "7", "--quiet"]
    runs = {}
    for tag, launcher, extra in [("1a", [], []), ("1b", [], []), ("2a", mpi + ["-n", "2"], []),
                                 ("2b", mpi + ["-n", "2"], []), ("seed", [], ["--seed", "8"])]:
        rc, so, se = run(launcher + [alq] + base + extra + ["--out", f"{tag}.csv", "--plot", f"{tag}.svg"], w)
        check(rc == 0, f"simulate ({tag}): exit {rc}, stderr {se.strip()[-400:]}")
        if rc == 0:
            runs[tag] = curve(os.path.join(w, f"{tag}.csv"))
    if len(runs) < 5:
        return
    check(runs["1a"] == runs["1b"], "simulate on 1 rank is not deterministic for a seed")
    check(runs["2a"] == runs["2b"], "simulate on 2 ranks is not deterministic for a seed")
    check(runs["1a"] != runs["seed"], "another --seed gave the same curves")

    rows = runs["1a"]
    check(len(rows) == len(strategies) * seeds * (rounds + 1), f"{len(rows)} rows, expected "
          f"{len(strategies) * seeds * (rounds + 1)}")
    for r in rows:
        check(int(r["labeled"]) == initial + int(r["round"]) * batch, f"row {r}: labeled count")
        for m in ("accuracy", "macro_f1", "rare_recall"):
            check(0 <= float(r[m]) <= 1, f"row {r}: {m} out of [0, 1]")
    check(sorted({r["strategy"] for r in rows}) == sorted(strategies), "strategies in the CSV")
    for seed in {r["seed"] for r in rows}:
        firsts = {(r["accuracy"], r["macro_f1"]) for r in rows if r["seed"] == seed and r["round"] == "0"}
        check(len(firsts) == 1, f"seed {seed}: round-0 results differ between strategies (split not shared?)")

    # The random curve rises: more labels, better test accuracy (mean over seeds).
    def mean_acc(strategy, rnd):
        xs = [float(r["accuracy"]) for r in rows if r["strategy"] == strategy and int(r["round"]) == rnd]
        return sum(xs) / len(xs)
    acc = [mean_acc("random", k) for k in range(rounds + 1)]
    print("# random accuracy by round:", " ".join(f"{x:.3f}" for x in acc))
    check(acc[-1] > acc[0] + 0.05, f"random's accuracy does not rise with labels: {acc}")
    check(all(b > a - 0.02 for a, b in zip(acc, acc[1:])), f"random's accuracy drops between rounds: {acc}")
    print("# margin accuracy by round:", " ".join(f"{mean_acc('margin', k):.3f}" for k in range(rounds + 1)))

    svg = ET.parse(os.path.join(w, "1a.svg")).getroot()
    lines = [e for e in svg.iter() if e.tag.endswith("polyline")]
    check(len(lines) == 2 * len(strategies), f"SVG draws {len(lines)} curves, expected {2 * len(strategies)}")
    text = "".join(e.text or "" for e in svg.iter() if e.tag.endswith("text"))
    check(all(s in text for s in strategies), "SVG legend lacks a strategy")

    # Errors.
    with h5py.File(os.path.join(w, "nolabels.h5"), "w") as f:
        f["embeddings"] = np.zeros((50, 3), np.float32)
        f.attrs["classes"] = np.int64(2)
    cases = [
        (["--pool", "nolabels.h5", "--strategy", "margin", "--batch", "5", "--rounds", "2", "--out", "e.csv"], 3,
         "/labels"),
        (["--pool", "digits.h5", "--strategy", "margin,bogus", "--batch", "5", "--rounds", "2", "--out", "e.csv"], 2,
         "bogus"),
        (["--pool", "digits.h5", "--strategy", "margin", "--batch", "5", "--rounds", "2", "--out", "e.csv",
          "--initial", "5000"], 2, "--initial"),
        (["--pool", "digits.h5", "--strategy", "margin", "--batch", "5", "--rounds", "2", "--out", "e.csv",
          "--mc-samples", "3"], 2, "--mc-samples"),
        (["--pool", "missing.h5", "--strategy", "margin", "--batch", "5", "--rounds", "2", "--out", "e.csv"], 3,
         "missing.h5"),
    ]
    for argv, code, needle in cases:
        for launcher in ([], mpi + ["-n", "2"]):
            rc, so, se = run(launcher + [alq, "simulate"] + argv, w)
            lines = [l for l in se.splitlines() if l.startswith("alq: error")]
            check(rc == code and len(lines) == 1 and needle in lines[0],
                  f"simulate {' '.join(argv)}: exit {rc} (want {code}), stderr {se.strip()[-300:]!r}")
        check(not os.path.exists(os.path.join(w, "e.csv")), f"simulate {' '.join(argv)} left e.csv behind")


if __name__ == "__main__":
    main()
    if failures:
        print(f"{len(failures)} failure(s)")
        sys.exit(1)
    print("simulate-cli: all checks passed")
