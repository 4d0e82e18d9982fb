#!/usr/bin/python3
"""tests/fault_inject.py: failures agreed on every rank, and transfers in pieces.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    fault_inject.py --alq build/alq --mpiexec mpiexec --workdir DIR --part faults|large-count

Parts (every alq run is killed after --timeout seconds, and that fails the test):
  faults       ALQ_FAIL_AT=<phase>:<rank> for every fault point of `alq select`
               (alq/fault.h), every rank, at 2, 3 and 4 ranks: every rank exits
               with code 1, rank 0 prints exactly the one line naming the phase
               and rank (so the phase was really reached), the other ranks
               print nothing, and the output folder stays empty (no batch.h5,
               batch.csv, nor temporary file).  The same options without
               ALQ_FAIL_AT succeed.  An unknown phase, a malformed value and a
               rank outside the job are usage errors (exit 2) on every rank.
  large-count  ALQ_MPI_MAX_MESSAGE_BYTES=64 and =1000 (every transfer in small
               pieces) give the batch of the default limit, byte for byte, for
               the hierarchical and exact k-center, AnchorAL and plain top-k,
               while --log-view counts more MPI calls at 64; malformed limits are
               usage errors on every rank.
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

# The fault points, in the order `alq select` reaches them (alq/fault.h).
PHASES = ["prepare", "broadcast", "labeled", "pool-open", "labeled-embeddings", "anchoral-retrieve",
          "anchoral-merge", "stream", "score", "candidates", "kcenter", "hier-leaf", "hier-merge",
          "manifest", "write", "report"]

# Options that reach every phase.  hier: margin-kcenter on an AnchorAL subpool
# of 5000 items, 4500 candidates = two leaves of 4096, so one merge level with
# messages between ranks.  exact: the MAXLOC k-center over the whole pool.
CONFIGS = {
    "hier": ["--strategy", "margin-kcenter", "--diversity", "hier", "--subpool", "anchoral",
             "--anchors-per-class", "10", "--neighbors", "1000", "--subpool-size", "5000",
             "--candidates", "4500", "--fan-in", "2", "--budget", "8"],
    "exact": ["--strategy", "kcenter", "--diversity", "exact", "--budget", "8"],
    "hier-all": ["--strategy", "kcenter", "--diversity", "hier", "--fan-in", "3", "--budget", "12"],
    "margin": ["--strategy", "margin", "--budget", "50"],
}
PHASE_CONFIG = {p: ("exact" if p == "kcenter" else "hier") for p in PHASES}

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


class Run:
    """One `alq select` under mpiexec, each rank's exit code and stderr kept apart."""

    def __init__(self, a, nranks, config, name, env_extra, extra=()):
        self.dir = os.path.join(a.workdir, name)
        shutil.rmtree(self.dir, ignore_errors=True)
        self.out = os.path.join(self.dir, "out")
        os.makedirs(self.out)
        # Each rank records its own exit code and stderr: mpiexec reports only
        # one code, and kills the other ranks once one exits non-zero (which
        # would hide a rank that never finishes), so the wrapper exits 0.
        wrap = ('"$@" 2> "$ALQ_T_DIR/err.$OMPI_COMM_WORLD_RANK"; '
                'echo $? > "$ALQ_T_DIR/rc.$OMPI_COMM_WORLD_RANK"')
        cmd = [a.mpiexec, "-n", str(nranks), "-x", "ALQ_T_DIR", "sh", "-c", wrap, "sh", a.alq, "select",
               "--pool", a.pool, "--out", os.path.join(self.out, "batch.h5"),
               "--csv", os.path.join(self.out, "batch.csv"), "--seed", "3"] + CONFIGS[config] + list(extra)
        env = dict(os.environ, ALQ_T_DIR=self.dir)
        env.pop("ALQ_FAIL_AT", None)
        env.pop("ALQ_MPI_MAX_MESSAGE_BYTES", None)
        env.update(env_extra)
        t0 = time.time()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        try:
            self.stdout, self.mpiexec_err = p.communicate(timeout=a.timeout)
            self.timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            self.stdout, self.mpiexec_err = p.communicate()
            self.timed_out = True
        self.seconds = time.time() - t0
        self.rc, self.err = [], []
        for r in range(nranks):
            rc_path, err_path = os.path.join(self.dir, "rc.%d" % r), os.path.join(self.dir, "err.%d" % r)
            text = open(rc_path).read().strip() if os.path.exists(rc_path) else ""
            self.rc.append(int(text) if text else None)
            self.err.append(open(err_path).read() if os.path.exists(err_path) else None)

    def lines(self, r):
        return [l for l in (self.err[r] or "").splitlines() if l.strip()]

    def left(self):
        return sorted(os.listdir(self.out))


def check_failed(run, what, code, rank0_line):
    """Every rank exited with `code`, rank 0 printed one line (checked by rank0_line), no output left."""
    if run.timed_out:
        fail("%s: timed out after %.0f s (a rank hung)" % (what, run.seconds))
        return
    if run.rc != [code] * len(run.rc):
        fail("%s: exit codes per rank %s, expected %d on every rank" % (what, run.rc, code))
    lines = run.lines(0)
    if len(lines) != 1 or not rank0_line(lines[0]):
        fail("%s: rank 0 printed %r" % (what, lines))
    for r in range(1, len(run.rc)):
        if run.lines(r):
            fail("%s: rank %d printed %r" % (what, r, run.lines(r)))
    if run.left():
        fail("%s: left %s behind" % (what, run.left()))


def batch(path):
    with h5py.File(path, "r") as f:
        return f["selected/ids"][:], f["selected/scores"][:]


def check_ok(run, what):
    if run.timed_out or run.rc != [0] * len(run.rc):
        fail("%s: exit codes %s (timed out: %s), stderr %r" % (what, run.rc, run.timed_out, run.err[0]))
        return None
    return batch(os.path.join(run.out, "batch.h5"))


def part_faults(a):
    ref = {}
    for config in sorted(set(PHASE_CONFIG.values())):
        for P in a.ranks:
            got = check_ok(Run(a, P, config, "ok-%s-P%d" % (config, P), {}, ["--quiet"]), "%s P=%d" % (config, P))
            if got is not None and config in ref and not np.array_equal(ref[config][0], got[0]):
                fail("%s: P=%d batch differs from P=%d" % (config, P, a.ranks[0]))
            ref.setdefault(config, got)
    slowest = 0.0
    for phase in PHASES:
        for P in a.ranks:
            for r in range(P):
                what = "ALQ_FAIL_AT=%s:%d, %d ranks" % (phase, r, P)
                run = Run(a, P, PHASE_CONFIG[phase], "fail", {"ALQ_FAIL_AT": "%s:%d" % (phase, r)}, ["--quiet"])
                want = "alq: error: injected failure at phase '%s' on rank %d (ALQ_FAIL_AT)" % (phase, r)
                check_failed(run, what, 1, lambda line: line == want)
                slowest = max(slowest, run.seconds)
    print("faults: %d phases x ranks at %s ranks; slowest run %.1f s" % (len(PHASES), a.ranks, slowest), flush=True)
    for value, needle in (("nosuch:0", "unknown phase 'nosuch'"), ("stream", "must be <phase>"),
                          ("stream:x", "must be <phase>"), ("stream:7", "rank 7 is not a rank")):
        for P in (2, 3):
            run = Run(a, P, "exact", "bad", {"ALQ_FAIL_AT": value}, ["--quiet"])
            check_failed(run, "ALQ_FAIL_AT=%s, %d ranks" % (value, P), 2,
                         lambda line: line.startswith("alq: error: ") and needle in line)


def total_messages(run):
    """The messages column of the --log-view table's total line."""
    for line in run.err[0].splitlines():
        if line.startswith("total "):
            return int(line.split()[3])
    return None


def part_large_count(a):
    for config in ("hier", "hier-all", "exact", "margin"):
        for P in (2, 3):
            base = Run(a, P, config, "default-%s-P%d" % (config, P), {}, ["--log-view"])
            want = check_ok(base, "%s P=%d default limit" % (config, P))
            if want is None:
                continue
            want_csv = open(os.path.join(base.out, "batch.csv"), "rb").read()
            for limit in ("64", "1000"):
                what = "%s P=%d ALQ_MPI_MAX_MESSAGE_BYTES=%s" % (config, P, limit)
                run = Run(a, P, config, "limit", {"ALQ_MPI_MAX_MESSAGE_BYTES": limit}, ["--log-view"])
                got = check_ok(run, what)
                if got is None:
                    continue
                if not (np.array_equal(want[0], got[0]) and want[1].tobytes() == got[1].tobytes()):
                    fail("%s: batch differs from the default limit's" % what)
                if open(os.path.join(run.out, "batch.csv"), "rb").read() != want_csv:
                    fail("%s: batch.csv differs from the default limit's" % what)
                # At 64 bytes even the small broadcasts (labeled ids) go in pieces.
                m0, m1 = total_messages(base), total_messages(run)
                if limit == "64" and (m0 is None or m1 is None or m1 <= m0):
                    fail("%s: %s MPI calls against %s at the default limit: the limit did not cut messages"
                         % (what, m1, m0))
    for value in ("0", "abc", "3000000000", "-5"):
        run = Run(a, 2, "exact", "bad", {"ALQ_MPI_MAX_MESSAGE_BYTES": value}, ["--quiet"])
        check_failed(run, "ALQ_MPI_MAX_MESSAGE_BYTES=%s" % value, 2,
                     lambda line: line.startswith("alq: error: ALQ_MPI_MAX_MESSAGE_BYTES"))
    print("large-count: batches identical at 64 and 1000-byte message limits", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", choices=["faults", "large-count"], required=True)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    a.alq = os.path.abspath(a.alq)
    a.ranks = [2, 3, 4]
    os.makedirs(a.workdir, exist_ok=True)
    a.pool = os.path.join(a.workdir, "pool.h5")
    # A tiny pool: 6000 items, 60 labeled (enough for 10 anchors in each of 4 classes).
    subprocess.run([a.alq, "gen", "--out", a.pool, "--items", "6000", "--dim", "8", "--classes", "4",
                    "--imbalance", "1", "--labeled", "60", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    t0 = time.time()
    {"faults": part_faults, "large-count": part_large_count}[a.part](a)
    print("%s: %.0f s" % (a.part, time.time() - t0), flush=True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
