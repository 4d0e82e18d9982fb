#!/usr/bin/python3
"""tests/output_guard.py: no alq command can destroy one of its inputs.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    output_guard.py --alq build/alq --mpiexec mpiexec --workdir DIR

1. For every command that names files (the table COMMANDS mirrors each
   command's option list), every pair of (output, input) options and every pair
   of outputs is given one file, spelled three ways: the same string, through
   `./x/../`, and through a symlink.  Each run must exit 2 with one
   `alq: error:` line naming both options, leave every file of the folder byte
   for byte as it was (sha256) and create no file.  A control run of each
   command with distinct files must succeed, so the exit 2 is the guard's.
2. A few pairs again at 2 ranks: every rank exits 2, nothing hangs.
3. Runs that fail for another reason after their outputs are written
   (a state whose pool ids do not match, found when the round is recorded; a
   CSV whose final name is a folder, found while renaming; an unwritable plot
   or JSON file; a bad budget) leave a pre-existing --out, --csv and the state
   file byte for byte as they were, and no new file.
"""
import argparse
import gzip
import hashlib
import os
import shutil
import struct
import subprocess
import sys

import h5py
import numpy as np

TIMEOUT = 60
N, D, C = 240, 6, 3

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)


def run(cmd, cwd):
    p = subprocess.run(["timeout", "-k", "10", str(TIMEOUT)] + [str(c) for c in cmd], cwd=cwd,
                       capture_output=True, text=True, errors="replace")
    return p.returncode, p.stdout, p.stderr


def must(res, what):
    code, out, err = res
    if code != 0:
        sys.exit(f"setup failed: {what}: exit {code}: {err.strip()}")


def snapshot(folder):
    """Every entry under `folder`: sha256 of regular files, the target of links, 'dir' for folders."""
    snap = {}
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder)
            if os.path.islink(path):
                snap[rel] = "link:" + os.readlink(path)
            elif os.path.isdir(path):
                snap[rel] = "dir"
            else:
                with open(path, "rb") as f:
                    snap[rel] = hashlib.sha256(f.read()).hexdigest()
    return snap


def compare(before, after, what):
    """Checks that nothing changed; returns False when something did."""
    new = sorted(set(after) - set(before))
    gone = sorted(set(before) - set(after))
    changed = sorted(k for k in before if k in after and before[k] != after[k])
    check(not new, f"{what}: left new file(s) behind: {new}")
    check(not gone, f"{what}: removed {gone}")
    check(not changed, f"{what}: changed {changed}")
    return not (new or gone or changed)


def restore(folder, pristine):
    """After a failed case: the next cases start from intact files again."""
    shutil.rmtree(folder)
    shutil.copytree(pristine, folder, symlinks=True)


def expect_error(res, rc, fragments, what):
    code, out, err = res
    check(code == rc, f"{what}: exit {code}, expected {rc} (stderr {err.strip()!r})")
    lines = [l for l in err.splitlines() if l.startswith("alq: error:")]
    check(len(lines) == 1, f"{what}: expected one 'alq: error:' line, stderr {err!r}")
    for f in fragments:
        check(any(f in l for l in lines), f"{what}: error line lacks {f!r}: {err.strip()!r}")


def write_idx(path, array, magic_dims):
    with gzip.open(path, "wb") as f:
        f.write(bytes([0, 0, 8, magic_dims]))
        for s in array.shape:
            f.write(struct.pack(">I", s))
        f.write(array.astype(np.uint8).tobytes())


def make_fixtures(alq, fx):
    os.makedirs(fx)
    must(run([alq, "gen", "--out", "pool.h5", "--items", N, "--dim", D, "--classes", C, "--labeled", 12,
              "--seed", 1], fx), "gen")
    with h5py.File(os.path.join(fx, "pool.h5"), "r") as f, h5py.File(os.path.join(fx, "labeled.h5"), "w") as g:
        g.create_dataset("labeled/ids", data=f["labeled/ids"][:])
        g.create_dataset("labeled/labels", data=f["labeled/labels"][:])
        emb = f["embeddings"][:]
        labels = f["labels"][:]
    with h5py.File(os.path.join(fx, "anchors.h5"), "w") as g:
        g.create_dataset("anchors", data=emb[:4])
    must(run([alq, "train", "--pool", "pool.h5", "--model", "logreg", "--epochs", 5, "--out", "model.h5"], fx),
         "train")
    must(run([alq, "select", "--pool", "pool.h5", "--budget", 5, "--strategy", "random", "--out", "batch.h5",
              "--state", "state.h5", "--quiet"], fx), "select --state")
    with h5py.File(os.path.join(fx, "batch.h5"), "r") as f:
        sent = f["selected/ids"][:]
    with open(os.path.join(fx, "answers.csv"), "w") as f:
        f.write("id,label\n" + "".join(f"{i},{labels[i]}\n" for i in sent))
    with open(os.path.join(fx, "data.csv"), "w") as f:
        f.write(",".join(f"f{j}" for j in range(D)) + ",label\n")
        f.writelines(",".join(f"{v:.4f}" for v in emb[i]) + f",{labels[i]}\n" for i in range(40))
    rng = np.random.default_rng(3)
    write_idx(os.path.join(fx, "images.gz"), rng.integers(0, 256, size=(20, 4, 4)), 3)
    write_idx(os.path.join(fx, "labels.gz"), rng.integers(0, 3, size=20), 1)
    # Outputs that exist before a run, and the spellings' helpers.
    shutil.copy(os.path.join(fx, "batch.h5"), os.path.join(fx, "prev.h5"))
    with open(os.path.join(fx, "prev.csv"), "w") as f:
        f.write("an earlier output\n")
    os.makedirs(os.path.join(fx, "x"))
    for name in ("pool.h5", "labeled.h5", "model.h5", "anchors.h5", "state.h5", "batch.h5", "answers.csv",
                 "data.csv", "images.gz", "labels.gz", "prev.h5"):
        os.symlink(name, os.path.join(fx, "link-" + name))


# Each command's file options, as declared in cli/cmd_*.c: (option, default file or
# None for an output, role), the other arguments, and the file options it needs.
COMMANDS = {
    "select": (["--budget", 5, "--strategy", "margin", "--quiet"],
               [("--pool", "pool.h5", "in"), ("--labeled", "labeled.h5", "in"), ("--model", "model.h5", "in"),
                ("--state", "state.h5", "update"), ("--out", None, "out"), ("--csv", None, "out")],
               ["--pool", "--out"]),
    "train": (["--model", "logreg", "--epochs", 5, "--quiet"],
              [("--pool", "pool.h5", "in"), ("--labeled", "labeled.h5", "in"), ("--out", None, "out")],
              ["--pool", "--out"]),
    "retrieve": (["--neighbors", 3, "--quiet"],
                 [("--pool", "pool.h5", "in"), ("--anchors", "anchors.h5", "in"),
                  ("--labeled", "labeled.h5", "in"), ("--out", None, "out")],
                 ["--pool", "--anchors", "--out"]),
    "simulate": (["--strategy", "random", "--batch", 5, "--rounds", 1, "--seeds", 1, "--initial", 6,
                  "--epochs", 5, "--quiet"],
                 [("--pool", "pool.h5", "in"), ("--out", None, "out"), ("--plot", None, "out")],
                 ["--pool", "--out"]),
    "import": ([], [("--csv", "data.csv", "in"), ("--out", None, "out")], ["--csv", "--out"]),
    "import-idx": ([], [("--images", "images.gz", "in"), ("--labels", "labels.gz", "in"), ("--out", None, "out")],
                   ["--images", "--labels", "--out"]),
    "export": ([], [("--batch", "batch.h5", "in"), ("--pool", "pool.h5", "in"), ("--csv", None, "out"),
                    ("--json", None, "out")],
               ["--batch", "--csv"]),
    "ingest": (["--quiet"], [("--state", "state.h5", "update"), ("--labels", "answers.csv", "in")],
               ["--state", "--labels"]),
    "project": (["--project", "pca:2"], [("--pool", "pool.h5", "in"), ("--out", None, "out")], ["--pool", "--out"]),
    "score": (["--mahalanobis"], [("--pool", "pool.h5", "in"), ("--labeled", "labeled.h5", "in"),
                                  ("--out", None, "out")], ["--pool", "--out"]),
}
# `alq gen` writes one file and reads none; info, manifest and strategies write nothing.


def fresh(option):
    return "fresh" + option.replace("-", "_") + ".out"


def argv_for(command, given):
    """The command line with `given` {option: path} and defaults for the other required files."""
    extra, files, required = COMMANDS[command]
    argv = [command] + [str(e) for e in extra]
    for option, default, role in files:
        if option in given:
            argv += [option, given[option]]
        elif option in required:
            argv += [option, default if default else fresh(option)]
    return argv


def spell(name, how):
    return {"same": name, "dotdot": "./x/../" + name, "symlink": "link-" + name}[how]


def written_over(a, b):
    """(writer, other) of two file options: an output is written over an updated state,
    either over an input."""
    if a[2] == "in" or (a[2] == "update" and b[2] == "out"):
        return b, a
    return a, b


def pair_cases(command, spellings=("same", "dotdot", "symlink")):
    """(what, {option: path}) for every pair of file options with a written side."""
    files = COMMANDS[command][1]
    cases = []
    for i, a in enumerate(files):
        for b in files[i + 1:]:
            if a[2] == "in" and b[2] == "in":
                continue  # two inputs may share a file (--labeled may be the pool)
            writer, other = written_over(a, b)
            for how in spellings:
                if other[1] is None:
                    # Two outputs: a new file named twice, or an existing one and a link to it.
                    target = "prev.h5" if how == "symlink" else "new.out"
                    given = {other[0]: target, writer[0]: spell(target, how)}
                else:
                    given = {other[0]: other[1], writer[0]: spell(other[1], how)}
                cases.append((f"{command} {writer[0]} over {other[0]} ({how})", given))
    return cases


def control_runs(alq, fx, workdir):
    ctl = os.path.join(workdir, "control")
    shutil.copytree(fx, ctl, symlinks=True)
    for command in COMMANDS:
        files = COMMANDS[command][1]
        given = {o: (d if d else fresh(o)) for o, d, r in files if not (command == "select" and o == "--labeled")}
        code, out, err = run([alq] + argv_for(command, given), ctl)
        check(code == 0, f"control: alq {' '.join(argv_for(command, given))}: exit {code}: {err.strip()}")


def guard_runs(alq, fx, launcher=(), only=None, spellings=("same", "dotdot", "symlink"), label="1 process"):
    """Every pair case (or those whose name starts with one of `only`), run by `launcher`."""
    for command in COMMANDS:
        for what, given in pair_cases(command, spellings):
            if only and not any(what.startswith(o) for o in only):
                continue
            before = snapshot(fx)
            res = run(list(launcher) + [alq] + argv_for(command, given), fx)
            names = list(given) + list(given.values())
            expect_error(res, 2, names + ["same file"], f"{label}: {what}")
            if not compare(before, snapshot(fx), f"{label}: {what}"):
                restore(fx, fx + ".pristine")


def export_recorded_pool(alq, fx):
    """Without --pool, export reads the pool the batch records: writing over it is refused too."""
    for option in ("--csv", "--json"):
        before = snapshot(fx)
        res = run([alq, "export", "--batch", "batch.h5", option, "./x/../pool.h5"], fx)
        expect_error(res, 2, [option, "pool.h5", "the batch's pool", "same file"],
                     f"export {option} over the batch's pool")
        if not compare(before, snapshot(fx), f"export {option} over the batch's pool"):
            restore(fx, fx + ".pristine")


def state_with_other_pool(alq, late):
    """state-a.h5 for pool-a.h5 (pool.h5 with even ids), and pool-b.h5: the same shape, one
    unlabeled item's id made odd.  Its shape check passes, its ids check fails only when the
    round is recorded, after the batch is written."""
    shutil.copy(os.path.join(late, "pool.h5"), os.path.join(late, "pool-a.h5"))
    with h5py.File(os.path.join(late, "pool-a.h5"), "a") as f:
        f.create_dataset("ids", data=2 * np.arange(N, dtype=np.int64))
        f["labeled/ids"][...] = 2 * f["labeled/ids"][:]
    must(run([alq, "select", "--pool", "pool-a.h5", "--budget", 5, "--strategy", "random", "--out", "a0.h5",
              "--state", "state-a.h5", "--quiet"], late), "select --state state-a.h5")
    with h5py.File(os.path.join(late, "state-a.h5"), "r") as st:
        excluded = set(st["labeled/ids"][:].tolist()) | set(st["pending/ids"][:].tolist())
    shutil.copy(os.path.join(late, "pool-a.h5"), os.path.join(late, "pool-b.h5"))
    with h5py.File(os.path.join(late, "pool-b.h5"), "a") as f:
        ids = f["ids"][:]
        ids[next(j for j in range(N) if int(ids[j]) not in excluded)] += 1
        f["ids"][...] = ids


def late_failures(alq, fx, workdir, mpi):
    late = os.path.join(workdir, "late")
    shutil.copytree(fx, late, symlinks=True)
    state_with_other_pool(alq, late)
    os.makedirs(os.path.join(late, "emptydir"))
    cases = [
        ("select, state ids mismatch", [], 3, "ids",
         ["select", "--pool", "pool-b.h5", "--budget", 5, "--strategy", "margin", "--state", "state-a.h5",
          "--out", "prev.h5", "--csv", "prev.csv", "--quiet"]),
        ("select, state ids mismatch, 2 ranks", mpi + ["-n", 2], 3, "ids",
         ["select", "--pool", "pool-b.h5", "--budget", 5, "--strategy", "margin", "--state", "state-a.h5",
          "--out", "prev.h5", "--csv", "prev.csv", "--quiet"]),
        ("select, --csv names a folder (the second rename fails)", [], 4, "emptydir",
         ["select", "--pool", "pool.h5", "--budget", 5, "--strategy", "margin", "--out", "prev.h5",
          "--csv", "emptydir", "--quiet"]),
        ("select --state, --csv names a folder", [], 4, "emptydir",
         ["select", "--pool", "pool.h5", "--budget", 5, "--strategy", "margin", "--out", "prev.h5",
          "--csv", "emptydir", "--state", "state.h5", "--quiet"]),
        ("select, budget 0", [], 2, "--budget",
         ["select", "--pool", "pool.h5", "--budget", 0, "--strategy", "margin", "--out", "prev.h5",
          "--state", "state.h5"]),
        ("simulate, unwritable --plot", [], 4, "nodir",
         ["simulate", "--pool", "pool.h5", "--strategy", "random", "--batch", 5, "--rounds", 1, "--seeds", 1,
          "--initial", 6, "--epochs", 5, "--out", "prev.csv", "--plot", "nodir/curve.svg", "--quiet"]),
        ("export, unwritable --json", [], 4, "nodir",
         ["export", "--batch", "batch.h5", "--csv", "prev.csv", "--json", "nodir/tasks.json"]),
        ("ingest, id never sent out", [], 3, "never",
         ["ingest", "--state", "state.h5", "--labels", "bad-answers.csv", "--quiet"]),
    ]
    with h5py.File(os.path.join(late, "state.h5"), "r") as st:
        known = set(st["labeled/ids"][:].tolist()) | set(st["pending/ids"][:].tolist())
    unknown = next(i for i in range(N) if i not in known)
    with open(os.path.join(late, "bad-answers.csv"), "w") as f:
        f.write(f"id,label\n{unknown},1\n")
    shutil.copytree(late, late + ".pristine", symlinks=True)
    for what, launcher, rc, fragment, argv in cases:
        before = snapshot(late)
        res = run(launcher + [alq] + [str(a) for a in argv], late)
        expect_error(res, rc, [fragment], what)
        if not compare(before, snapshot(late), what):
            restore(late, late + ".pristine")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    alq = os.path.abspath(a.alq)
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    mpi = [a.mpiexec, "--allow-run-as-root", "--oversubscribe"]
    fx = os.path.join(a.workdir, "fixtures")
    make_fixtures(alq, fx)
    shutil.copytree(fx, fx + ".pristine", symlinks=True)
    control_runs(alq, fx, a.workdir)
    guard_runs(alq, fx)
    export_recorded_pool(alq, fx)
    # Collective commands: rank 0 checks, every rank exits 2 (a few pairs: mpiexec costs a second each).
    guard_runs(alq, fx, mpi + ["-n", "2"], ["select --out over --pool", "select --csv over --state",
                                             "select --state over --labeled", "train --out over --labeled",
                                             "retrieve --out over --anchors", "simulate --plot over --out"],
               ["symlink"], "2 ranks")
    late_failures(alq, fx, a.workdir, mpi)
    if failures:
        print(f"output_guard: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("output_guard: all checks passed")


if __name__ == "__main__":
    main()
