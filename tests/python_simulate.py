#!/usr/bin/python3
"""tests/python_simulate.py: alq.simulate's curve equals `alq simulate`'s at
the same rank count (results are a function of the options and the ranks).

    python_simulate.py --alq build/alq --workdir DIR [--ranks 2 --mpiexec mpiexec]

With ALQ_LIBRARY=<build>/libalq.so and PYTHONPATH=<repo>/python.  The driver
generates a labeled pool in numpy (written with alq.io.write_pool) and runs
`alq simulate` (random, margin, anchoral+kcenter; 2 seeds, 3 rounds; and margin
with --ood knn --ood-space pool); then
alq.simulate runs the same options in one process, or under mpiexec with
mpi4py, writing its own CSV: every column but the two timings must be equal,
and the returned columns must be the CSV's values.  A bad strategy raises
UsageError with the command's message.
"""
import argparse
import csv
import os
import subprocess
import sys

import numpy as np

TIMINGS = ("train_seconds", "select_seconds")
OPTIONS = dict(initial=10, seeds=2, seed=4, quiet=True)
STRATEGIES = ["random", "margin", "anchoral+kcenter"]
# The out-of-distribution stage, in both spaces' parser paths: ood_space is
# checked and recorded; on a pool without a model the two spaces coincide.
OOD = dict(ood="knn", ood_reject=0.3, ood_k=3, ood_space="pool")


def make_pool(path):
    import alq
    rng = np.random.default_rng(8)
    n, d, c = 700, 6, 4
    y = rng.choice(c, size=n, p=[0.5, 0.3, 0.15, 0.05])
    x = rng.normal(size=(c, d))[y] * 2 + rng.normal(size=(n, d))
    alq.io.write_pool(path, x, labels=y)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def without_timings(table):
    return [{k: v for k, v in r.items() if k not in TIMINGS} for r in table]


def compare(workdir):
    import alq
    comm, rank = None, 0
    if os.environ.get("OMPI_COMM_WORLD_SIZE", "1") != "1":
        from mpi4py import MPI
        comm = MPI.COMM_WORLD
        rank = comm.Get_rank()
    mine = os.path.join(workdir, "python.csv")
    curve = alq.simulate(os.path.join(workdir, "pool.h5"), STRATEGIES, 10, 3, comm=comm, out=mine, **OPTIONS)
    failures = []
    try:
        alq.simulate(os.path.join(workdir, "pool.h5"), ["margin", "bogus"], 10, 3, comm=comm, **OPTIONS)
        failures.append("unknown strategy: no exception")
    except alq.UsageError as e:
        if e.message != "unknown strategy 'bogus' (alq strategies lists them)":
            failures.append("unknown strategy: %r" % e.message)
    mine_ood = os.path.join(workdir, "python-ood.csv")
    alq.simulate(os.path.join(workdir, "pool.h5"), ["margin"], 10, 3, comm=comm, out=mine_ood, **OPTIONS, **OOD)
    if rank == 0:
        cli, py = rows(os.path.join(workdir, "cli.csv")), rows(mine)
        if without_timings(cli) != without_timings(py):
            failures.append("the curves differ: cli %s, python %s" % (cli[:2], py[:2]))
        cli_ood, py_ood = rows(os.path.join(workdir, "cli-ood.csv")), rows(mine_ood)
        if without_timings(cli_ood) != without_timings(py_ood):
            failures.append("the --ood curves differ: cli %s, python %s" % (cli_ood[:2], py_ood[:2]))
        margin = [r for r in without_timings(py) if r["strategy"] == "margin"]
        if margin == without_timings(py_ood):
            failures.append("ood=knn left margin's curve as it is without the stage: the test proves nothing")
        if len(curve["round"]) != len(py):
            failures.append("%d points returned, %d in the CSV" % (len(curve["round"]), len(py)))
        for i, r in enumerate(py[:len(curve["round"])]):
            got = [curve["strategy"][i], str(curve["seed"][i]), str(curve["round"][i]), str(curve["labeled"][i]),
                   "%.6f" % curve["accuracy"][i], "%.6f" % curve["macro_f1"][i], "%.6f" % curve["rare_recall"][i],
                   str(curve["items"][i])]
            want = [r[k] for k in ("strategy", "seed", "round", "labeled", "accuracy", "macro_f1", "rare_recall",
                                   "items")]
            if got != want:
                failures.append("point %d: returned %s, CSV %s" % (i, got, want))
                break
    elif len(curve["round"]):
        failures.append("rank %d got %d points, expected none" % (rank, len(curve["round"])))
    for f in failures:
        print("rank %d FAIL: %s" % (rank, f), flush=True)
    return not failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--ranks", type=int, default=1)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--compare", action="store_true", help="(internal) the per-rank step")
    args = ap.parse_args()
    if args.compare:
        sys.exit(0 if compare(args.workdir) else 1)
    os.makedirs(args.workdir, exist_ok=True)
    make_pool(os.path.join(args.workdir, "pool.h5"))
    launch = [args.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(args.ranks)] if args.ranks > 1 else []
    cmd = [args.alq, "simulate", "--pool", os.path.join(args.workdir, "pool.h5"), "--strategy", ",".join(STRATEGIES),
           "--batch", "10", "--rounds", "3", "--initial", "10", "--seeds", "2", "--seed", "4", "--quiet",
           "--out", os.path.join(args.workdir, "cli.csv")]
    subprocess.run(launch + cmd, check=True, timeout=300)
    ood = [x for k, v in OOD.items() for x in ("--" + k.replace("_", "-"), str(v))]
    cmd = cmd[:cmd.index("--strategy") + 1] + ["margin"] + cmd[cmd.index("--strategy") + 2:-1] + \
        [os.path.join(args.workdir, "cli-ood.csv")] + ood
    subprocess.run(launch + cmd, check=True, timeout=300)
    step = [sys.executable, os.path.abspath(__file__), "--alq", args.alq, "--workdir", args.workdir, "--compare"]
    code = subprocess.run(launch + step, timeout=300).returncode
    print("python_simulate at %d rank(s): %s" % (args.ranks, "ok" if code == 0 else "FAILED"), flush=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
