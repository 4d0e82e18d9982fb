#!/usr/bin/python3
"""tests/activelab_oos.py: alq simulate's out-of-sample probabilities of the
labeled items (simulate/oos.c, via tests/test_sim_oos.c, which checks that a
fold's probabilities do not depend on its own labels) are the same at 1 and 2
ranks: the same items and folds, probabilities equal to float rounding (a
model trained at another rank count sums in another order,
model/model_train.c).  The whole noisy activelab curve at 1 and 2 ranks is compared in
tests/activelab_select.py.

    activelab_oos.py --exe build/tests/test_sim_oos --mpiexec mpiexec
"""
import argparse
import subprocess
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--mpiexec", required=True)
    a = ap.parse_args()
    digests, bad = [], 0  # per rank count: id, then the K = 4 probabilities
    for n in (1, 2):
        p = subprocess.run([a.mpiexec, "--oversubscribe", "-n", str(n), a.exe], capture_output=True, text=True,
                           timeout=120)
        print(f"{n} rank(s): exit {p.returncode}\n{p.stdout}{p.stderr}", flush=True)
        bad += p.returncode != 0 or "ok" not in p.stdout.split()
        rows = [l.split()[1:] for l in p.stdout.splitlines() if l.startswith("p ")]
        digests.append(np.array(rows, dtype=np.float64).reshape(-1, 5) if rows else np.zeros((0, 5)))
    one, two = digests
    if len(one) == 0 or one.shape != two.shape or not np.array_equal(one[:, 0], two[:, 0]):
        print(f"FAIL: the out-of-sample rows differ at 1 and 2 ranks: {one.shape} vs {two.shape}")
        bad += 1
    elif not np.allclose(one[:, 1:], two[:, 1:], rtol=0, atol=1e-4):
        print(f"FAIL: out-of-sample probabilities differ at 1 and 2 ranks by {np.abs(one - two).max()}")
        bad += 1
    else:
        print(f"{len(one)} rows, largest difference {np.abs(one - two).max():.3g}")
    print("ok" if not bad else f"{bad} failure(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
