#!/usr/bin/python3
"""tests/slurm_e2e.py: the sbatch templates on a one-node Slurm started here.

Starts the local cluster (slurm/local/start.sh: installs slurm-wlm and munge
when missing, so it needs root, as CI has), then with `sbatch -W`:
  - select.sbatch launched by `srun --mpi=pmix` (2 ranks) and by mpiexec inside
    the allocation (3 ranks, --overcommit): both batches equal a direct run's,
    and the manifest records the ranks and the Slurm job;
  - a chain: select.sbatch --state (round 1), then round.sbatch (round 2) with
    --dependency=afterok on it: two disjoint rounds, tasks exported;
  - a job whose alq fails exits with alq's code (3).
Stops the daemons at the end unless they were already running.

    slurm_e2e.py --alq build/alq --source . --workdir DIR
"""
import argparse
import fcntl
import os
import shutil
import subprocess
import sys
import time

import h5py

JOB_TIMEOUT = 180
# The daemons are per machine: two runs of this test (two ctest runs, two
# build trees) take turns, or one would stop the cluster under the other.
LOCK = "/var/tmp/alq-slurm-test.lock"
LOCK_WAIT = 600
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)


def run(cmd, cwd, env=None, timeout=JOB_TIMEOUT):
    try:
        p = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s: {cmd}"
    return p.returncode, p.stdout, p.stderr


def batch_ids(path):
    with h5py.File(path, "r") as f:
        return f["selected/ids"][:].tolist()


def job_output(wd, name):
    path = os.path.join(wd, name)
    return open(path).read() if os.path.exists(path) else "(no job output file)"


def alive(pidfile):
    try:
        os.kill(int(open(pidfile).read().strip()), 0)
        return True
    except (OSError, ValueError):
        return False


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--source", required=True, help="the alq source tree (slurm/ lives there)")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    alq, src, wd = os.path.abspath(a.alq), os.path.abspath(a.source), os.path.abspath(a.workdir)
    if os.geteuid() != 0:
        print("slurm_e2e: must run as root: it installs and starts a local Slurm (slurm/local/start.sh)",
              file=sys.stderr)
        return 1
    lock = open(LOCK, "w")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() > deadline:
                print(f"slurm_e2e: another run held {LOCK} for {LOCK_WAIT} s", file=sys.stderr)
                return 1
            time.sleep(1)
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    rundir = os.environ.get("ALQ_SLURM_RUNDIR", "/var/tmp/alq-slurm")
    was_running = alive(os.path.join(rundir, "slurmctld.pid"))
    code, out, err = run(["bash", os.path.join(src, "slurm/local/start.sh")], wd, timeout=600)
    print(out + err, flush=True)
    if code != 0:
        print(f"slurm_e2e: the local cluster did not start (exit {code})", file=sys.stderr)
        return 1
    try:
        jobs(alq, src, wd)
    finally:
        if not was_running:
            code, out, err = run(["bash", os.path.join(src, "slurm/local/stop.sh")], wd, timeout=120)
            print(out + err, flush=True)
            check(code == 0, f"stop.sh exited {code}")
    if failures:
        print(f"slurm_e2e: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("slurm_e2e: all checks passed")
    return 0


def jobs(alq, src, wd):
    env = dict(os.environ, ALQ=alq, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    select_t, round_t = os.path.join(src, "slurm/select.sbatch"), os.path.join(src, "slurm/round.sbatch")
    code, _, err = run([alq, "gen", "--out", "pool.h5", "--items", "4000", "--dim", "8", "--classes", "4",
                        "--imbalance", "4", "--labeled", "10", "--seed", "2"], wd, env)
    check(code == 0, f"alq gen: {err}")
    sel = ["--pool", "pool.h5", "--budget", "12", "--strategy", "margin-kcenter", "--seed", "4"]
    code, _, err = run([alq, "select"] + sel + ["--out", "direct.h5"], wd, env)
    check(code == 0, f"direct alq select: {err}")
    reference = batch_ids(os.path.join(wd, "direct.h5")) if code == 0 else None

    # sbatch -n N -O: N ranks whatever the CPU count (the node may have fewer).
    sbatch = ["sbatch", "-W", f"--chdir={wd}", "-O"]
    for launcher, ranks in (("srun", 2), ("mpiexec", 3)):
        out_name = f"{launcher}-job.out"
        code, _, err = run(sbatch + ["-n", ranks, "-o", out_name, select_t] + sel + ["--out", f"{launcher}.h5"],
                           wd, dict(env, ALQ_LAUNCH=launcher))
        log = job_output(wd, out_name)
        check(code == 0, f"select.sbatch with {launcher}: sbatch exit {code}: {err}\n{log}")
        if code == 0:
            check(batch_ids(os.path.join(wd, f"{launcher}.h5")) == reference,
                  f"select.sbatch with {launcher} ({ranks} ranks): batch differs from the direct run")
            check(f"on {ranks} rank(s)" in log, f"select.sbatch with {launcher}: not {ranks} ranks:\n{log}")
            code, out, err = run([alq, "manifest", f"{launcher}.h5"], wd, env)
            check(code == 0 and f"ranks: {ranks}" in out and "slurm job: " in out,
                  f"{launcher} batch manifest lacks ranks or the Slurm job: {out}{err}")

    # A chain: round 2 waits for round 1 with afterok.
    code, out, err = run(["sbatch", "--parsable", f"--chdir={wd}", "-O", "-n", "2", "-o", "chain1.out", select_t]
                         + sel + ["--out", "round1.h5", "--state", "state.h5"], wd, env)
    check(code == 0, f"chain round 1: sbatch exit {code}: {err}")
    first = out.strip().split(";")[0]
    round_env = dict(env, ALQ_POOL="pool.h5", ALQ_STATE="state.h5", ALQ_BUDGET="12", ALQ_STRATEGY="margin-kcenter",
                     ALQ_SEED="4", ALQ_OUT="round2.h5")
    code, _, err = run(sbatch + ["-n", "2", f"--dependency=afterok:{first}", "-o", "chain2.out", round_t], wd,
                       round_env)
    check(code == 0, f"chain round 2: sbatch exit {code}: {err}\n{job_output(wd, 'chain1.out')}\n"
                     f"{job_output(wd, 'chain2.out')}")
    if code == 0:
        r1, r2 = batch_ids(os.path.join(wd, "round1.h5")), batch_ids(os.path.join(wd, "round2.h5"))
        check(r1 == reference, "chain round 1 differs from the direct run")
        check(len(r2) == 12 and not set(r1) & set(r2), f"chain rounds overlap or are short: {r1} {r2}")
        with h5py.File(os.path.join(wd, "state.h5"), "r") as f:
            check(int(f["rounds"].attrs["count"]) == 2, "the chain's state does not hold 2 rounds")
        for name in ("round2-tasks.csv", "round2-tasks.json"):
            check(os.path.exists(os.path.join(wd, name)), f"round.sbatch did not export {name}")

    # alq's exit status is the job's.
    code, _, err = run(sbatch + ["-n", "2", "-o", "fail.out", select_t, "--pool", "missing.h5", "--budget", "5",
                                 "--strategy", "margin", "--out", "never.h5"], wd, env)
    check(code == 3, f"a failing select job: sbatch -W exit {code}, expected alq's 3\n{job_output(wd, 'fail.out')}")
    check("missing.h5" in job_output(wd, "fail.out"), "the failing job's output does not name the missing pool")


if __name__ == "__main__":
    sys.exit(main())
