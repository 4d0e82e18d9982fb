#!/usr/bin/python3
"""tests/slurm_e2e.py: the sbatch templates and the campaign example on a
one-node Slurm of its own.

Starts a local cluster in a fresh run directory (slurm/local/start.sh: its own
slurm.conf, munged and free ports, reached through the SLURM_CONF of the env.sh
it writes; installs slurm-wlm and munge when missing, so it needs root, as CI
has), then with `sbatch -W`:
  - select.sbatch with alq found through ALQ_PREFIX, launched by the default
    `srun --mpi=pmix` (2 ranks) and by ALQ_LAUNCHER=mpiexec (3 ranks): both
    batches equal a direct run's, and the manifest records the ranks and the job;
  - the site variables: ALQ_MODULES runs `module load`, OPENBLAS_NUM_THREADS
    follows --cpus-per-task, SBATCH_TIMELIMIT overrides the template's --time,
    an ALQ_PREFIX without alq fails with exit 2 and says so;
  - a chain: select.sbatch --state (round 1), then round.sbatch (round 2) with
    --dependency=afterok on it: two disjoint rounds, tasks exported;
  - a job whose alq fails exits with alq's code (3);
  - examples/slurm-campaign/campaign.sh: three rounds chained with afterok
    (round, answers, round, ...) and an array job over three seeds; every
    round and every seed's batch equal the same steps run directly with the CLI;
  - isolation: /etc/slurm is never written (from the moment the Slurm
    packages are there: installing them, the first start.sh's job on a bare
    machine, creates it), and stop.sh on this cluster leaves a second local
    cluster, and its running job, alone.

    slurm_e2e.py --alq build/alq --source . --workdir DIR
"""
import argparse
import csv
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

import h5py

JOB_TIMEOUT = 180
CAMPAIGN_TIMEOUT = 400
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


def etc_slurm():
    """Every file under /etc/slurm with its size and modification time."""
    seen = {}
    for root, _, files in os.walk("/etc/slurm"):
        for name in files:
            st = os.stat(os.path.join(root, name))
            seen[os.path.join(root, name)] = (st.st_size, st.st_mtime_ns)
    return seen


class Cluster:
    """A local cluster in its own run directory (slurm/local/start.sh)."""

    def __init__(self, src, cpus):
        # Short: munge's socket path lives under it.
        self.rundir = tempfile.mkdtemp(prefix="alq-slurm-", dir="/tmp")
        self.src, self.cpus = src, cpus
        self.env = {}

    def start(self, cwd):
        env = dict(os.environ, ALQ_SLURM_RUNDIR=self.rundir, ALQ_SLURM_CPUS=str(self.cpus))
        code, out, err = run(["bash", os.path.join(self.src, "slurm/local/start.sh")], cwd, env, timeout=600)
        print(out + err, flush=True)
        if code != 0:
            return False
        # env.sh: the exports the tests source (SLURM_CONF, ALQ_SLURM_RUNDIR).
        for line in open(os.path.join(self.rundir, "env.sh")):
            words = shlex.split(line)
            if len(words) == 2 and words[0] == "export" and "=" in words[1]:
                name, value = words[1].split("=", 1)
                self.env[name] = value
        return "SLURM_CONF" in self.env

    def stop(self, cwd):
        env = dict(os.environ, ALQ_SLURM_RUNDIR=self.rundir)
        code, out, err = run(["bash", os.path.join(self.src, "slurm/local/stop.sh"), "--purge"], cwd, env,
                             timeout=120)
        print(out + err, flush=True)
        return code, out

    def log_tail(self):
        path = os.path.join(self.rundir, "log/slurmctld.log")
        return "".join(open(path).readlines()[-20:]) if os.path.exists(path) else ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--source", required=True, help="the alq source tree (slurm/ and examples/ live there)")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    alq, src, wd = os.path.abspath(a.alq), os.path.abspath(a.source), os.path.abspath(a.workdir)
    if os.geteuid() != 0:
        print("slurm_e2e: must run as root: it installs and starts a local Slurm (slurm/local/start.sh)",
              file=sys.stderr)
        return 1
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    # On a machine without Slurm the first start.sh installs it, and the
    # packages create /etc/slurm: the check then starts after that install.
    etc_before = etc_slurm() if shutil.which("slurmctld") else None
    # 4 CPUs on any machine: the templates' own --ntasks=4 runs without --overcommit.
    cluster = Cluster(src, 4)
    if not cluster.start(wd):
        print("slurm_e2e: the local cluster did not start", file=sys.stderr)
        print(cluster.log_tail(), file=sys.stderr)
        cluster.stop(wd)
        return 1
    if etc_before is None:
        etc_before = etc_slurm()
    try:
        env = base_env(alq, wd, cluster)
        jobs(src, wd, env)
        site_variables(src, wd, env)
        campaign(alq, src, wd, env)
        isolation(src, wd, cluster, env)
    finally:
        if failures:
            print(cluster.log_tail(), file=sys.stderr)
        code, _ = cluster.stop(wd)
        check(code == 0, f"stop.sh exited {code}")
    check(etc_slurm() == etc_before, "/etc/slurm changed while the local clusters ran")
    if failures:
        print(f"slurm_e2e: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("slurm_e2e: all checks passed")
    return 0


def base_env(alq, wd, cluster):
    """The environment jobs are submitted with: alq found from a prefix (ALQ_PREFIX), the cluster's SLURM_CONF."""
    prefix = os.path.join(wd, "prefix")
    os.makedirs(os.path.join(prefix, "bin"))
    os.symlink(alq, os.path.join(prefix, "bin", "alq"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ALQ", "SBATCH_", "SLURM_"))}
    env.update(cluster.env)
    env.update(ALQ_PREFIX=prefix, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    return env


def jobs(src, wd, env):
    alq = os.path.join(env["ALQ_PREFIX"], "bin", "alq")
    select_t, round_t = os.path.join(src, "slurm/select.sbatch"), os.path.join(src, "slurm/round.sbatch")
    code, _, err = run([alq, "gen", "--out", "pool.h5", "--items", "4000", "--dim", "8", "--classes", "4",
                        "--imbalance", "4", "--labeled", "10", "--seed", "2"], wd, env)
    check(code == 0, f"alq gen: {err}")
    sel = ["--pool", "pool.h5", "--budget", "12", "--strategy", "margin-kcenter", "--seed", "4"]
    code, _, err = run([alq, "select"] + sel + ["--out", "direct.h5"], wd, env)
    check(code == 0, f"direct alq select: {err}")
    reference = batch_ids(os.path.join(wd, "direct.h5")) if code == 0 else None

    # sbatch -n N -O: N ranks whatever the CPU count.
    sbatch = ["sbatch", "-W", f"--chdir={wd}", "-O"]
    for name, launcher, ranks in (("srun", None, 2), ("mpiexec", "mpiexec", 3)):
        out_name = f"{name}-job.out"
        job_env = dict(env, ALQ_LAUNCHER=launcher) if launcher else env
        code, _, err = run(sbatch + ["-n", ranks, "-o", out_name, select_t] + sel + ["--out", f"{name}.h5"],
                           wd, job_env)
        log = job_output(wd, out_name)
        check(code == 0, f"select.sbatch with {name}: sbatch exit {code}: {err}\n{log}")
        if code == 0:
            check(batch_ids(os.path.join(wd, f"{name}.h5")) == reference,
                  f"select.sbatch with {name} ({ranks} ranks): batch differs from the direct run")
            check(f"on {ranks} rank(s)" in log, f"select.sbatch with {name}: not {ranks} ranks:\n{log}")
            code, out, err = run([alq, "manifest", f"{name}.h5"], wd, env)
            check(code == 0 and f"ranks: {ranks}" in out and "slurm job: " in out,
                  f"{name} batch manifest lacks ranks or the Slurm job: {out}{err}")

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


def site_variables(src, wd, env):
    """ALQ_MODULES, OPENBLAS_NUM_THREADS from --cpus-per-task, SBATCH_TIMELIMIT, a wrong ALQ_PREFIX."""
    select_t = os.path.join(src, "slurm/select.sbatch")
    # A stand-in alq that reports what the template set up (run by srun on each task).
    probe = os.path.join(wd, "probe")
    os.makedirs(os.path.join(probe, "bin"))
    with open(os.path.join(probe, "bin", "alq"), "w") as f:
        f.write("#!/bin/sh\necho \"probe: threads=$OPENBLAS_NUM_THREADS args=$*\"\n"
                "scontrol show job \"$SLURM_JOB_ID\" | grep -o 'TimeLimit=[^ ]*'\n")
    os.chmod(os.path.join(probe, "bin", "alq"), 0o755)
    # `module` as the site's shell function would be (bash imports exported functions).
    job_env = dict(env, ALQ_PREFIX=probe, ALQ_MODULES="openmpi/4.1 hdf5-mpi", SBATCH_TIMELIMIT="00:07:00",
                   **{"BASH_FUNC_module%%": "() { echo \"module $*\" >> modules.log; }"})
    code, _, err = run(["sbatch", "-W", f"--chdir={wd}", "-n", "1", "-c", "2", "-o", "probe.out", select_t,
                        "--seed", "5"], wd, job_env)
    log = job_output(wd, "probe.out")
    check(code == 0, f"probe job: sbatch exit {code}: {err}\n{log}")
    check("probe: threads=2 args=select --seed 5" in log,
          f"OPENBLAS_NUM_THREADS does not follow --cpus-per-task 2:\n{log}")
    check("TimeLimit=00:07:00" in log, f"SBATCH_TIMELIMIT did not override the template's --time:\n{log}")
    check(job_output(wd, "modules.log").strip() == "module load openmpi/4.1 hdf5-mpi",
          f"ALQ_MODULES did not run module load: {job_output(wd, 'modules.log')}")

    code, _, err = run(["sbatch", "-W", f"--chdir={wd}", "-n", "1", "-o", "noalq.out", select_t],
                       wd, dict(env, ALQ_PREFIX=os.path.join(wd, "no-such-prefix")))
    log = job_output(wd, "noalq.out")
    check(code == 2 and "set ALQ_PREFIX" in log, f"a prefix without alq: exit {code}, expected 2:\n{log}")


def campaign(alq, src, wd, env):
    """examples/slurm-campaign against the same steps run directly."""
    cd = os.path.join(wd, "campaign")
    os.makedirs(cd)
    code, _, err = run([alq, "gen", "--out", os.path.join(cd, "pool.h5"), "--items", "3000", "--dim", "8",
                        "--classes", "4", "--imbalance", "3", "--labeled", "12", "--seed", "5"], cd, env)
    check(code == 0, f"campaign pool: {err}")
    camp_env = dict(env, ALQ_BUDGET="10", ALQ_PYTHON=sys.executable)
    code, out, err = run(["bash", os.path.join(src, "examples/slurm-campaign/campaign.sh"), cd], cd, camp_env)
    print(out + err, flush=True)
    check(code == 0, f"campaign.sh exited {code}: {err}")
    if code != 0:
        return
    ids = dict(line.split() for line in open(os.path.join(cd, "jobs.txt")))
    deadline = time.monotonic() + CAMPAIGN_TIMEOUT
    while time.monotonic() < deadline:
        code, out, _ = run(["squeue", "-h", "-j", ",".join(ids.values())], cd, env)
        if code == 0 and not out.strip():
            break
        time.sleep(2)
    check(time.monotonic() < deadline, f"the campaign's jobs did not finish in {CAMPAIGN_TIMEOUT} s")
    # The chain ran in order: each job started after the one it waited for ended.
    times = {}
    for name, job in ids.items():
        code, out, _ = run(["scontrol", "-o", "show", "job", job], cd, env)
        fields = dict(w.split("=", 1) for line in out.splitlines() for w in line.split() if "=" in w)
        times[name] = (fields.get("StartTime"), fields.get("EndTime"))
        states = {w.split("=", 1)[1] for line in out.splitlines() for w in line.split() if w.startswith("JobState=")}
        check(states == {"COMPLETED"}, f"campaign job {name} ({job}) ended {states}\n{out}")
    chain = ["round1", "answers1", "round2", "answers2", "round3"]
    for before, after in zip(chain, chain[1:]):
        check(times[after][0] >= times[before][1], f"{after} started before {before} ended: {times}")

    # The same rounds and seeds, directly with the CLI on 2 ranks.
    ref = os.path.join(wd, "campaign-direct")
    os.makedirs(ref)
    mpi = ["mpiexec", "--allow-run-as-root", "--oversubscribe", "-n", "2", alq]
    pool = os.path.join(cd, "pool.h5")
    for n in (1, 2, 3):
        if n > 1:
            code, _, err = run([alq, "ingest", "--state", "state.h5", "--labels", f"answers{n - 1}.csv"], ref, env)
            check(code == 0, f"direct ingest {n - 1}: {err}")
        code, _, err = run(mpi + ["select", "--pool", pool, "--state", "state.h5", "--budget", "10", "--strategy",
                                  "margin-kcenter", "--seed", n, "--out", f"round{n}.h5"], ref, env)
        check(code == 0, f"direct round {n}: {err}")
        if code != 0:
            return
        code, _, err = run([alq, "export", "--batch", f"round{n}.h5", "--csv", f"round{n}-tasks.csv"], ref, env)
        code, _, err = run([sys.executable, os.path.join(src, "examples/slurm-campaign/annotate.py"), pool,
                            f"round{n}-tasks.csv", f"answers{n}.csv"], ref, env)
        check(code == 0, f"direct annotate {n}: {err}")
        check(batch_ids(os.path.join(cd, f"round{n}.h5")) == batch_ids(os.path.join(ref, f"round{n}.h5")),
              f"campaign round {n} differs from the direct run")
        if n < 3:
            with open(os.path.join(cd, f"answers{n}.csv")) as f:
                got = [r["id"] for r in csv.DictReader(f)]
            check(got == [str(i) for i in batch_ids(os.path.join(ref, f"round{n}.h5"))],
                  f"campaign answers{n}.csv does not answer round {n}")
    with h5py.File(os.path.join(cd, "state.h5"), "r") as f:
        check(int(f["rounds"].attrs["count"]) == 3, "the campaign's state does not hold 3 rounds")
    for seed in (1, 2, 3):
        code, _, err = run(mpi + ["select", "--pool", pool, "--budget", "10", "--strategy", "margin-kcenter",
                                  "--seed", seed, "--out", f"seed-{seed}.h5"], ref, env)
        check(code == 0 and batch_ids(os.path.join(cd, f"seed-{seed}.h5")) == batch_ids(
            os.path.join(ref, f"seed-{seed}.h5")), f"campaign array task {seed} differs from alq select --seed {seed}")


def isolation(src, wd, cluster, env):
    """stop.sh on one local cluster leaves another one, and its job, running."""
    other = Cluster(src, 2)
    if not other.start(wd):
        check(False, "a second local cluster did not start beside the first")
        other.stop(wd)
        return
    try:
        other_env = dict(env, **other.env)
        code, out, err = run(["sbatch", "--parsable", f"--chdir={wd}", "-n", "1", "-o", "other.out",
                              "--wrap", "sleep 60"], wd, other_env)
        check(code == 0, f"a job on the second cluster: {err}")
        job = out.strip()
        code, out, err = run(["sbatch", "--parsable", f"--chdir={wd}", "-n", "1", "-o", "mine.out",
                              "--wrap", "sleep 60"], wd, env)
        mine = out.strip()
        check(code == 0 and job and mine, f"a job on the first cluster: {err}")
        for _ in range(50): # both running
            states = [run(["squeue", "-h", "-j", j, "-o", "%T"], wd, e)[1].strip() for j, e in
                      ((job, other_env), (mine, env))]
            if states == ["RUNNING", "RUNNING"]:
                break
            time.sleep(0.2)
        code, out = cluster.stop(wd)
        check(f"cancelled job(s) {mine}" in out, f"stop.sh did not cancel its own job {mine}: {out}")
        code, out, err = run(["squeue", "-h", "-j", job, "-o", "%T"], wd, other_env)
        check(code == 0 and out.strip() == "RUNNING",
              f"stop.sh of one cluster disturbed the other's job {job}: '{out.strip()}' {err}")
    finally:
        other.stop(wd)


if __name__ == "__main__":
    sys.exit(main())
