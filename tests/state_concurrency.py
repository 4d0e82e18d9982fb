"""Concurrent updates of one round state never lose an update.

Eight `alq ingest` of disjoint answer sets start at once on one state file
(eight annotation teams); afterwards the state holds every answer, once, and
no lock or temporary file is left.  Then an ingest and an `alq select
--state` race: the selection's round and the ingest's answers are both in the
final state; two selections at once send out disjoint rounds.  A lock held by another process makes a command wait and then
give up with exit 4 and one line, the state untouched
(ALQ_STATE_LOCK_TIMEOUT=0.3).  The reference is the answer sets themselves.

    state_concurrency.py --alq build/alq --workdir DIR
"""
import argparse
import csv
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time

import h5py
import numpy as np

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)
    return cond


def run(alq, *argv, env=None):
    return subprocess.run([alq, *map(str, argv)], capture_output=True, text=True, timeout=300, env=env)


def write_answers(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "label"])
        w.writerows(rows)


def answers_in(state):
    with h5py.File(state, "r") as f:
        return sorted(zip(f["answers/ids"][:].tolist(), f["answers/labels"][:].tolist(),
                          f["answers/rounds"][:].tolist()))


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def leftovers(wd):
    return [n for n in os.listdir(wd) if ".tmp." in n or n.endswith(".lock")]


def parallel_ingests(alq, wd, state, pending, truth):
    teams = np.array_split(np.array(sorted(pending)), 8)
    files = []
    for k, ids in enumerate(teams):
        path = os.path.join(wd, f"team{k}.csv")
        write_answers(path, [(int(i), int(truth[i])) for i in ids])
        files.append(path)
    procs = [subprocess.Popen([alq, "ingest", "--state", state, "--labels", p, "--annotator", f"team{k}"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k, p in enumerate(files)]
    for k, p in enumerate(procs):
        out, err = p.communicate(timeout=300)
        check(p.returncode == 0, f"ingest team{k}: exit {p.returncode}: {err.strip()}")
    got = [(i, l) for i, l, r in answers_in(state) if r == 1]
    want = sorted((int(i), int(truth[i])) for i in pending)
    check(got == want, f"parallel ingests: the state holds {len(got)} round-1 answers, expected {len(want)}")
    check(not leftovers(wd), f"parallel ingests left {leftovers(wd)}")


def select_and_ingest_race(alq, wd, pool, state, truth):
    """The selection reads the state, streams a pool long enough for the
    ingest to start meanwhile, and writes the state last."""
    r = run(alq, "select", "--pool", pool, "--budget", 30, "--strategy", "margin", "--state", state,
            "--out", os.path.join(wd, "b2.h5"), "--quiet")
    if not check(r.returncode == 0, f"round 2 select: {r.stderr.strip()}"):
        return
    with h5py.File(state, "r") as f:
        round2 = f["rounds/000002/ids"][:].tolist()
    half = round2[:15]
    write_answers(os.path.join(wd, "late.csv"), [(i, int(truth[i])) for i in half])
    sel = subprocess.Popen([alq, "select", "--pool", pool, "--budget", "30", "--strategy", "margin", "--state", state,
                            "--out", os.path.join(wd, "b3.h5"), "--quiet"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # the selection has read the state and is streaming
    ing = subprocess.Popen([alq, "ingest", "--state", state, "--labels", os.path.join(wd, "late.csv"), "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for name, p in (("select", sel), ("ingest", ing)):
        _, err = p.communicate(timeout=300)
        check(p.returncode == 0, f"racing {name}: exit {p.returncode}: {err.strip()}")
    with h5py.File(state, "r") as f:
        rounds = int(f["rounds"].attrs["count"])
    check(rounds == 3, f"racing select: the state has {rounds} rounds, expected 3")
    got = {i for i, _, r in answers_in(state) if r == 2}
    check(got == set(half), f"racing ingest: {len(got)} round-2 answers in the state, expected {len(half)}")
    check(not leftovers(wd), f"race left {leftovers(wd)}")


def parallel_selects(alq, wd, pool, state):
    """Two job-array tasks select from one state at once: the second must see
    the first's batch as pending, so the two rounds share no item."""
    procs = [subprocess.Popen([alq, "select", "--pool", pool, "--budget", "50", "--strategy", "margin", "--state",
                               state, "--out", os.path.join(wd, f"array{k}.h5"), "--quiet"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for k in range(2)]
    for k, p in enumerate(procs):
        _, err = p.communicate(timeout=300)
        check(p.returncode == 0, f"parallel select {k}: exit {p.returncode}: {err.strip()}")
    with h5py.File(state, "r") as f:
        n = int(f["rounds"].attrs["count"])
        last = [set(f[f"rounds/{r:06d}/ids"][:].tolist()) for r in (n - 1, n)]
    check(n == 5, f"parallel selects: {n} rounds, expected 5")
    check(not (last[0] & last[1]), f"parallel selects: {len(last[0] & last[1])} items sent out in both rounds")


def held_lock_times_out(alq, wd, state):
    before = sha(state)
    write_answers(os.path.join(wd, "none.csv"), [])
    with open(state + ".lock", "w") as holder:
        fcntl.flock(holder, fcntl.LOCK_EX)
        env = dict(os.environ, ALQ_STATE_LOCK_TIMEOUT="0.3")
        r = run(alq, "ingest", "--state", state, "--labels", os.path.join(wd, "none.csv"), env=env)
    os.unlink(state + ".lock")
    lines = [l for l in r.stderr.splitlines() if l.startswith("alq: error:")]
    check(r.returncode == 4, f"held lock: exit {r.returncode}, expected 4 ({r.stderr.strip()})")
    check(len(lines) == 1 and state in lines[0] and "another alq command" in lines[0],
          f"held lock: error line {lines}")
    check("waiting for another alq command" in r.stderr, f"held lock: no waiting note: {r.stderr!r}")
    check(sha(state) == before, "held lock: the state changed")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alq", required=True)
    p.add_argument("--workdir", required=True)
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    wd, alq = a.workdir, a.alq
    pool, state = os.path.join(wd, "pool.h5"), os.path.join(wd, "state.h5")
    r = run(alq, "gen", "--out", pool, "--items", 400000, "--dim", 8, "--classes", 4, "--labeled", 20, "--seed", 2)
    check(r.returncode == 0, f"gen: {r.stderr}")
    with h5py.File(pool, "r") as f:
        truth = f["labels"][:]
    r = run(alq, "select", "--pool", pool, "--budget", 400, "--strategy", "margin", "--state", state,
            "--out", os.path.join(wd, "b1.h5"), "--quiet")
    if not check(r.returncode == 0, f"round 1 select: {r.stderr.strip()}"):
        sys.exit(1)
    with h5py.File(state, "r") as f:
        pending = f["pending/ids"][:].tolist()
    parallel_ingests(alq, wd, state, pending, truth)
    select_and_ingest_race(alq, wd, pool, state, truth)
    parallel_selects(alq, wd, pool, state)
    held_lock_times_out(alq, wd, state)
    if failures:
        print(f"state-concurrency: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("state-concurrency: all checks passed")


if __name__ == "__main__":
    main()
