#!/usr/bin/python3
"""tests/reliability/crash.py: a rank killed, a write interrupted, a disk full.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    crash.py --alq build/alq --mpiexec mpiexec --workdir DIR --part kill|interrupt|disk-full

Parts (every run is killed after --timeout seconds, and that fails the test):
  kill       ALQ_FAIL_AT=<phase>:<rank>:kill (SIGKILL, no cleanup) in the middle
             of streaming, the AnchorAL retrieval, the exact and the hierarchical
             k-center and the batch write, at 2, 3 and 4 ranks, with --state: the
             job ends (Open MPI aborts it) within the timeout with a non-zero
             code, no batch or CSV exists under its final name, the state file
             is byte for byte the one before, and a rerun gives the batch of an
             undisturbed run, id for id.
  interrupt  the process that writes killed at every step of the commit
             (commit-synced, commit-renamed-1..3, commit-done; alq/fault.h) of
             `alq ingest` (the state alone) and of `alq select --state --csv`
             (batch, CSV, state): the state under its final name is the old
             file byte for byte or a complete new state (it opens, holds the
             new answers or round), never anything else; the batch likewise.
             (select writes the state straight to its staged name: one commit
             of the three files, each point reached once.)
             The same steps with a plain failure instead of a kill leave every
             final file as it was (the commit is undone) and exit 1.
  disk-full  a 512 KiB tmpfs mounted for the test, filled up: `alq ingest` of a
             state on it and `alq select --out` onto it exit 4 with one line
             naming the file (and "No space left on device" where alq sees the
             errno: the state and every fsync; the batch writer says "HDF5
             error"), leave no partial
             file, and the old state stays intact.  Skipped (exit 77) with a
             message where the test cannot mount (not root, no CAP_SYS_ADMIN).
"""
import argparse
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np

failures = []
WRAP = ('"$@" 2> "$ALQ_T_DIR/err.$OMPI_COMM_WORLD_RANK"; echo $? > "$ALQ_T_DIR/rc.$OMPI_COMM_WORLD_RANK"')
HIER = ["--strategy", "margin-kcenter", "--diversity", "hier", "--subpool", "anchoral", "--anchors-per-class", "10",
        "--neighbors", "1000", "--subpool-size", "5000", "--candidates", "4500", "--fan-in", "2", "--budget", "8"]
EXACT = ["--strategy", "kcenter", "--diversity", "exact", "--budget", "8"]
# (phase, ranks, killed rank, options): streaming, retrieval, k-center and writing.
KILLS = [("stream", 2, 1, EXACT), ("anchoral-retrieve", 3, 2, HIER), ("kcenter", 4, 3, EXACT),
         ("hier-merge", 3, 1, HIER), ("write", 2, 0, EXACT)]


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def env(extra):
    e = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1")
    for k in ("ALQ_FAIL_AT", "ALQ_MPI_MAX_MESSAGE_BYTES"):
        e.pop(k, None)
    e.update(extra)
    return e


def run(a, ranks, args, extra=None, tag="run"):
    """(per-rank codes or the process's code, rank 0's stderr, seconds, timed out)."""
    rec = os.path.join(a.workdir, "ranks", tag)
    shutil.rmtree(rec, ignore_errors=True)
    os.makedirs(rec)
    if ranks == 1:
        cmd = [a.alq] + args
    else:
        cmd = [a.mpiexec, "-n", str(ranks), "-x", "ALQ_T_DIR", "sh", "-c", WRAP, "sh", a.alq] + args
    t0 = time.time()
    p = subprocess.Popen(cmd, env=dict(env(extra or {}), ALQ_T_DIR=rec), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, err = p.communicate(timeout=a.timeout)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        _, err = p.communicate()
        timed_out = True
    err = err.decode(errors="replace")
    if ranks > 1:
        codes = []
        for r in range(ranks):
            f = os.path.join(rec, f"rc.{r}")
            codes.append(int(open(f).read()) if os.path.exists(f) and open(f).read().strip() else None)
        e0 = os.path.join(rec, "err.0")
        err = open(e0, errors="replace").read() if os.path.exists(e0) else err
        return codes, p.returncode, err, time.time() - t0, timed_out
    return [p.returncode], p.returncode, err, time.time() - t0, timed_out


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest() if os.path.exists(path) else None


def ids(path):
    with h5py.File(path, "r") as f:
        return list(f["selected/ids"][:])


def part_kill(a):
    base = os.path.join(a.workdir, "kill")
    os.makedirs(base)
    state0 = os.path.join(base, "state0.h5")
    # a state after one round, so the killed run has a state to leave alone
    r = run(a, 1, ["select", "--pool", a.pool, "--out", os.path.join(base, "r1.h5"), "--state", state0,
                   "--quiet"] + EXACT, tag="kill-round1")
    if r[0] != [0]:
        sys.exit(f"setup: first round failed: {r[2]}")
    refs = {}
    for phase, ranks, victim, opts in KILLS:
        what = f"SIGKILL at {phase} on rank {victim} of {ranks}"
        d = os.path.join(base, phase)
        os.makedirs(d)
        state = os.path.join(d, "state.h5")
        shutil.copy(state0, state)
        before = sha(state)
        out, csv = os.path.join(d, "batch.h5"), os.path.join(d, "batch.csv")
        args = ["select", "--pool", a.pool, "--out", out, "--csv", csv, "--state", state, "--seed", "3",
                "--quiet"] + opts
        codes, rc, err, secs, timed_out = run(a, ranks, args, {"ALQ_FAIL_AT": f"{phase}:{victim}:kill"},
                                              tag="kill-" + phase)
        if timed_out:
            fail(f"{what}: the job did not end within {a.timeout:.0f} s")
            continue
        if rc == 0:
            fail(f"{what}: mpiexec exited 0")
        if codes[victim] is not None and codes[victim] != 137:
            fail(f"{what}: the killed rank exited {codes[victim]}, not by SIGKILL (137): the point was not reached")
        if os.path.exists(out) or os.path.exists(csv):
            fail(f"{what}: a batch or CSV exists under its final name")
        if sha(state) != before:
            fail(f"{what}: the state file changed")
        # the rerun, undisturbed, gives the batch of an undisturbed run on the same state
        key = tuple(opts)
        if key not in refs:
            rd = os.path.join(base, "ref-%d" % len(refs))
            os.makedirs(rd)
            shutil.copy(state0, os.path.join(rd, "state.h5"))
            rr = run(a, 2, ["select", "--pool", a.pool, "--out", os.path.join(rd, "batch.h5"), "--state",
                            os.path.join(rd, "state.h5"), "--seed", "3", "--quiet"] + opts, tag="kill-ref")
            refs[key] = ids(os.path.join(rd, "batch.h5")) if rr[1] == 0 else None
        rr = run(a, ranks, args, tag="kill-rerun-" + phase)
        if rr[1] != 0:
            fail(f"{what}: the rerun failed: {rr[2].strip()[-300:]}")
        elif ids(out) != refs[key]:
            fail(f"{what}: the rerun's batch {ids(out)} differs from an undisturbed run's {refs[key]}")
        print(f"kill: {what}: ended in {secs:.1f} s, codes {codes}; rerun identical", flush=True)


def answers_count(path):
    try:
        with h5py.File(path, "r") as f:
            return len(f["answers/ids"]), int(f["rounds"].attrs["count"])
    except Exception:
        return None


def part_interrupt(a):
    base = os.path.join(a.workdir, "interrupt")
    os.makedirs(base)
    state0 = os.path.join(base, "state0.h5")
    b0 = os.path.join(base, "b0.h5")
    sel = ["select", "--pool", a.pool, "--strategy", "margin", "--budget", "6", "--seed", "1", "--quiet"]
    if run(a, 1, sel + ["--out", b0, "--state", state0], tag="int-setup")[1] != 0:
        sys.exit("setup: first round failed")
    answers = os.path.join(base, "answers.csv")
    with open(answers, "w") as f:
        f.write("id,label\n" + "".join(f"{i},{k % 4}\n" for k, i in enumerate(ids(b0))))
    old_n = answers_count(state0)
    # alq ingest: one file
    for point in ("commit-synced", "commit-renamed-1", "commit-done"):
        for action in ("kill", "fail"):
            d = os.path.join(base, f"ingest-{point}-{action}")
            os.makedirs(d)
            state = os.path.join(d, "state.h5")
            shutil.copy(state0, state)
            before = sha(state)
            spec = f"{point}:0" + (":kill" if action == "kill" else "")
            codes, rc, err, secs, timed_out = run(a, 1, ["ingest", "--state", state, "--labels", answers, "--quiet"],
                                                  {"ALQ_FAIL_AT": spec}, tag="int-ingest")
            what = f"ingest, {action} at {point}"
            want_rc = -signal.SIGKILL if action == "kill" else 1
            if timed_out or rc != want_rc:
                fail(f"{what}: exit {rc} (timed out: {timed_out}), expected {want_rc}: {err.strip()[-200:]}")
            now = sha(state)
            if action == "fail" and now != before:
                fail(f"{what}: the commit failed but the state changed")
            elif now != before:
                got = answers_count(state)
                if got != (old_n[0] + 6, old_n[1]):
                    fail(f"{what}: the state is neither the old file nor a complete new state ({got})")
            kind = "old" if now == before else "new"
            print(f"interrupt: {what}: exit {rc}, state {kind}", flush=True)
    # alq select --state --csv: three files, state last
    for point in ("commit-synced", "commit-renamed-1", "commit-renamed-2", "commit-renamed-3", "commit-done"):
        for action in ("kill", "fail"):
            d = os.path.join(base, f"select-{point}-{action}")
            os.makedirs(d)
            state, out, csv = (os.path.join(d, n) for n in ("state.h5", "batch.h5", "batch.csv"))
            shutil.copy(state0, state)
            before = sha(state)
            spec = point + ":0" + (":kill" if action == "kill" else "")
            codes, rc, err, secs, timed_out = run(a, 1, sel + ["--out", out, "--csv", csv, "--state", state],
                                                  {"ALQ_FAIL_AT": spec}, tag="int-select")
            what = f"select --state --csv, {action} at {point}"
            want_rc = -signal.SIGKILL if action == "kill" else 1
            if timed_out or rc != want_rc:
                fail(f"{what}: exit {rc} (timed out: {timed_out}), expected {want_rc}: {err.strip()[-200:]}")
            now = sha(state)
            if action == "fail" and (now != before or os.path.exists(out) or os.path.exists(csv)):
                fail(f"{what}: the commit failed but left state changed={now != before}, "
                     f"batch={os.path.exists(out)}, csv={os.path.exists(csv)}")
            if now != before:
                got = answers_count(state)
                if got != (old_n[0], old_n[1] + 1):
                    fail(f"{what}: the state is neither the old file nor a complete new state ({got})")
                if not os.path.exists(out):
                    fail(f"{what}: the state records a round whose batch file does not exist")
            if os.path.exists(out) and len(ids(out)) != 6:
                fail(f"{what}: the batch under its final name is not whole")
            print(f"interrupt: {what}: exit {rc}, state {'old' if now == before else 'new'}, "
                  f"batch {'present' if os.path.exists(out) else 'absent'}", flush=True)


def part_disk_full(a):
    mnt = os.path.join(a.workdir, "tmpfs")
    os.makedirs(mnt)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt], capture_output=True, text=True)
    if p.returncode != 0:
        print(f"SKIP: cannot mount a tmpfs for the disk-full test ({p.stderr.strip() or 'mount failed'}); "
              "run as root with CAP_SYS_ADMIN to test it", flush=True)
        sys.exit(77)
    try:
        base = os.path.join(a.workdir, "disk")
        os.makedirs(base)
        state_src = os.path.join(base, "state.h5")
        b0 = os.path.join(base, "b0.h5")
        sel = ["select", "--pool", a.pool, "--strategy", "margin", "--budget", "6", "--seed", "1", "--quiet"]
        if run(a, 1, sel + ["--out", b0, "--state", state_src], tag="disk-setup")[1] != 0:
            sys.exit("setup: first round failed")
        answers = os.path.join(base, "answers.csv")
        with open(answers, "w") as f:
            f.write("id,label\n" + "".join(f"{i},{k % 4}\n" for k, i in enumerate(ids(b0))))
        state = os.path.join(mnt, "state.h5")
        shutil.copy(state_src, state)
        before = sha(state)
        fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT)  # fill the rest of the file system
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        try:
            while os.write(fd, b"\0"):
                pass
        except OSError:
            pass
        os.close(fd)
        # (what, argv, the file it must not leave, what the line must say).  HDF5 keeps
        # no errno: the batch writer (coordinator/output.c) asks the folder's file
        # system whether it is full.
        # The state's line names the state itself, never the temporary it is written as.
        cases = [("ingest", ["ingest", "--state", state, "--labels", answers, "--quiet"], state,
                  "cannot create " + state + ": No space left on device"),
                 ("select --out", sel + ["--out", os.path.join(mnt, "batch.h5")], os.path.join(mnt, "batch.h5"),
                  "cannot create " + os.path.join(mnt, "batch.h5") + ": No space left on device"),
                 ("select --state", sel + ["--out", os.path.join(base, "b1.h5"), "--state", state],
                  os.path.join(base, "b1.h5"), "cannot create " + state + ": No space left on device")]
        for what, args, target, need in cases:
            listing = sorted(os.listdir(mnt))
            codes, rc, err, secs, timed_out = run(a, 1, args, tag="disk")
            lines = [l for l in err.splitlines() if l.strip()]
            if timed_out or rc != 4:
                fail(f"disk full, {what}: exit {rc}, expected 4: {err.strip()[-300:]}")
            if len(lines) != 1 or not lines[0].startswith("alq: error:") or need not in lines[0]:
                fail(f"disk full, {what}: printed {lines}, expected one line with '{need}'")
            if sorted(os.listdir(mnt)) != listing:
                fail(f"disk full, {what}: files on the full disk changed: {sorted(os.listdir(mnt))}")
            if target != state and os.path.exists(target):
                fail(f"disk full, {what}: {target} exists")
            if sha(state) != before:
                fail(f"disk full, {what}: the old state changed")
            print(f"disk-full: {what}: exit {rc}: {lines[0] if lines else ''}", flush=True)
    finally:
        subprocess.run(["umount", mnt])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--part", choices=["kill", "interrupt", "disk-full"], required=True)
    ap.add_argument("--timeout", type=float, default=60)
    a = ap.parse_args()
    a.alq = os.path.abspath(a.alq)
    a.workdir = os.path.abspath(a.workdir)
    if os.path.ismount(os.path.join(a.workdir, "tmpfs")):
        subprocess.run(["umount", os.path.join(a.workdir, "tmpfs")])
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    a.pool = os.path.join(a.workdir, "pool.h5")
    # 6000 items, 60 labeled: 10 anchors in each of 4 classes, two leaves for the hierarchical k-center
    subprocess.run([a.alq, "gen", "--out", a.pool, "--items", "6000", "--dim", "8", "--classes", "4",
                    "--labeled", "60", "--seed", "1"], check=True, stdout=subprocess.DEVNULL)
    t0 = time.time()
    {"kill": part_kill, "interrupt": part_interrupt, "disk-full": part_disk_full}[a.part](a)
    print(f"{a.part}: {time.time() - t0:.0f} s, {len(failures)} failure(s)", flush=True)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
