#!/usr/bin/python3
"""tests/state_workflow.py: three labeling rounds on one pool, through the CLI.

Each round: `alq select --state` on 2 ranks, `alq export` (CSV and JSON tasks
with payload columns), simulated annotators answer from the pool's /labels
(two annotators on some items, one unanswered-then-answered-later item), and
`alq ingest`.  Checks that the labeled set grows by exactly the batch each
round, that no item is ever selected twice, that pending items are excluded,
the state's history and manifests, and that every bad answers file is
rejected with one error line and leaves the state file byte for byte as it was.

    state_workflow.py --alq build/alq --mpiexec mpiexec --workdir DIR
"""
import argparse
import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

TIMEOUT = 300
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)


def run(cmd, cwd):
    p = subprocess.run(["timeout", "-k", "10", str(TIMEOUT)] + [str(c) for c in cmd], cwd=cwd,
                       capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def expect_error(res, rc, fragment, what):
    code, out, err = res
    check(code == rc, f"{what}: exit {code}, expected {rc} (stderr {err.strip()!r})")
    lines = [l for l in err.splitlines() if l.startswith("alq: error:")]
    check(len(lines) == 1, f"{what}: expected one 'alq: error:' line, stderr {err!r}")
    check(any(fragment in l for l in lines), f"{what}: error line lacks {fragment!r}: {err.strip()!r}")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mix64(z):
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return z ^ (z >> np.uint64(31))


def ids_checksum(ids):
    """The reference checksum of docs/format.md, in numpy."""
    ids = np.asarray(ids, dtype=np.int64).astype(np.uint64)
    with np.errstate(over="ignore"):
        pos = np.arange(len(ids), dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        return int(np.sum(mix64(ids + pos), dtype=np.uint64))


def add_payload(pool):
    """Payload columns of every kind, with text that needs CSV quoting and JSON escaping."""
    with h5py.File(pool, "a") as f:
        n = f["embeddings"].shape[0]
        g = f.create_group("payload")
        g["text"] = np.array([f'item {i}, "quoted"\nline two' for i in range(n)], dtype=h5py.string_dtype())
        g["source"] = np.array([b"src%d" % (i % 7) for i in range(n)], dtype="S8")
        g["weight"] = np.arange(n, dtype=np.float64) / 4
        g["page"] = np.arange(n, dtype=np.int32) * 3


def state_sets(path):
    with h5py.File(path, "r") as f:
        labeled = set(f["labeled/ids"][:].tolist())
        pending = set(f["pending/ids"][:].tolist())
        rounds = int(f["rounds"].attrs["count"])
        batches = [f["rounds/%06d/ids" % r][:].tolist() for r in range(1, rounds + 1)]
    return labeled, pending, batches


def write_answers(path, rows, header="id,label,annotator"):
    with open(path, "w", newline="") as f:
        f.write(header + "\n")
        for r in rows:
            f.write(",".join(str(x) for x in r) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    alq = os.path.abspath(a.alq)
    wd = a.workdir
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    mpi = [a.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", "2"]

    for c in ("export", "ingest", "manifest"):
        code, out, err = run([alq, c, "--help"], wd)
        check(code == 0 and c in out and "alq: error" not in out + err, f"alq {c} --help: exit {code}, {err!r}")
    code, out, _ = run([alq, "select", "--help"], wd)
    check(code == 0 and "--state" in out, "alq select --help does not document --state")

    code, _, err = run([alq, "gen", "--out", "pool.h5", "--items", "3000", "--dim", "8", "--classes", "4",
                        "--imbalance", "4", "--labeled", "12", "--seed", "5"], wd)
    check(code == 0, f"alq gen: {err}")
    add_payload(os.path.join(wd, "pool.h5"))
    with h5py.File(os.path.join(wd, "pool.h5"), "r") as f:
        truth = f["labels"][:]
        initial = set(f["labeled/ids"][:].tolist())
        text = f["payload/text"][:]
    state = os.path.join(wd, "state.h5")
    budget = 40
    labeled_before = set(initial)
    selected_ever = set()
    held_back = None  # an item left unanswered in round 1, answered in round 2

    for r in (1, 2, 3):
        batch, tasks_csv, tasks_json = f"b{r}.h5", f"tasks{r}.csv", f"tasks{r}.json"
        code, _, err = run(mpi + [alq, "select", "--pool", "pool.h5", "--budget", budget, "--strategy",
                                  "margin-kcenter", "--seed", r, "--out", batch, "--state", "state.h5"], wd)
        check(code == 0, f"round {r} select: exit {code}: {err}")
        check(f"round {r} recorded" in err, f"round {r}: select does not report the round: {err!r}")
        with h5py.File(os.path.join(wd, batch), "r") as f:
            ids = f["selected/ids"][:].tolist()
        check(len(ids) == budget, f"round {r}: {len(ids)} ids selected, expected {budget}")
        check(not (set(ids) & selected_ever), f"round {r}: ids selected twice: {set(ids) & selected_ever}")
        check(not (set(ids) & initial), f"round {r}: initially labeled ids selected")
        if held_back is not None:
            check(held_back not in ids, f"round {r}: pending id {held_back} selected again")
        selected_ever |= set(ids)
        labeled, pending, batches = state_sets(state)
        check(len(batches) == r and batches[-1] == ids, f"round {r}: state rounds {len(batches)}, last != batch")
        check(set(ids) <= pending, f"round {r}: the new batch is not pending in the state")

        # The manifest: printed, and its checksum is the documented function of the ids.
        code, out, err = run([alq, "manifest", batch], wd)
        check(code == 0 and "batch checksum matches" in out, f"round {r} manifest: {code} {err!r}")
        check("%016x" % ids_checksum(ids) in out, f"round {r}: manifest checksum differs from the reference")
        check("ranks: 2" in out and "--state state.h5" in out, f"round {r}: manifest lacks ranks/options: {out}")

        code, _, err = run([alq, "export", "--batch", batch, "--csv", tasks_csv, "--json", tasks_json], wd)
        check(code == 0, f"round {r} export: {err}")
        with open(os.path.join(wd, tasks_csv), newline="") as f:
            rows = list(csv.DictReader(f))
        check([int(x["id"]) for x in rows] == ids, f"round {r}: CSV tasks not in selection order")
        check(list(rows[0].keys()) == ["id", "page", "source", "text", "weight", "label"],
              f"round {r}: CSV header {list(rows[0].keys())}")
        check(all(x["text"] == text[int(x["id"])].decode() for x in rows), f"round {r}: CSV text payload garbled")
        check(all(x["label"] == "" for x in rows), f"round {r}: CSV label column not empty")
        with open(os.path.join(wd, tasks_json)) as f:
            tasks = json.load(f)
        check([t["id"] for t in tasks] == ids, f"round {r}: JSON tasks not in selection order")
        t0 = tasks[0]
        check(t0["text"] == text[t0["id"]].decode() and t0["page"] == 3 * t0["id"] and t0["weight"] == t0["id"] / 4
              and t0["source"] == "src%d" % (t0["id"] % 7), f"round {r}: JSON payload wrong: {t0}")

        # Annotators fill in the exported CSV: alice answers all (but one in round 1),
        # bob answers the first five again; a repeated row is harmless.
        answered = [x for x in rows if r != 1 or int(x["id"]) != ids[-1]]
        if r == 1:
            held_back = ids[-1]
        for x in rows:
            x["label"] = str(truth[int(x["id"])]) if x in answered else ""
        filled = os.path.join(wd, f"filled{r}.csv")
        with open(filled, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
            w.writeheader()
            w.writerows(rows)
        code, _, err = run([alq, "ingest", "--state", "state.h5", "--labels", filled, "--annotator", "alice"], wd)
        check(code == 0, f"round {r} ingest (alice): {err}")
        second = [(int(x["id"]), (truth[int(x["id"])] + 1) % 4, "bob") for x in rows[:5]]
        extra = []
        if r == 2:
            extra = [(held_back, truth[held_back], "carol")]
        write_answers(os.path.join(wd, f"bob{r}.csv"), second + second[:1] + extra)
        code, _, err = run([alq, "ingest", "--state", "state.h5", "--labels", f"bob{r}.csv"], wd)
        check(code == 0, f"round {r} ingest (bob): {err}")

        labeled, pending, _ = state_sets(state)
        grown = labeled - labeled_before
        expect = set(ids) - ({held_back} if r == 1 else set()) | ({held_back} if r == 2 else set())
        check(grown == expect, f"round {r}: labeled set grew by {len(grown)} items, expected {len(expect)}")
        check(pending == ({held_back} if r == 1 else set()), f"round {r}: pending {sorted(pending)}")
        labeled_before = labeled

    # Several annotators are kept; the consensus is the majority, ties to the first answer.
    with h5py.File(state, "r") as f:
        names = [n.decode() for n in f["annotators"][:]]
        ans_ids, ans_lab = f["answers/ids"][:], f["answers/labels"][:]
        ans_who = [names[k] for k in f["answers/annotators"][:]]
        lab = dict(zip(f["labeled/ids"][:].tolist(), f["labeled/labels"][:].tolist()))
    check(names == ["(initial)", "alice", "bob", "carol"], f"annotator names {names}")
    multi = [i for i in set(ans_ids.tolist()) if (ans_ids == i).sum() > 1]
    check(len(multi) == 15, f"{len(multi)} items with two answers, expected 15 (5 per round)")
    for i in multi:
        first = ans_lab[np.nonzero(ans_ids == i)[0][0]]
        check(lab[i] == first, f"id {i}: consensus {lab[i]} is not the first of a 1-1 tie ({first})")
    check(len(lab) == len(initial) + 3 * budget, f"{len(lab)} labeled, expected {len(initial) + 3 * budget}")

    # An existing state refuses --labeled, and another pool; a copy of the pool is the pool.
    # (3001 items of dim 8 would be this pool grown, as its ids are rows: dim 9 is another pool.)
    code, _, err = run([alq, "gen", "--out", "other.h5", "--items", "3001", "--dim", "9", "--classes", "4",
                        "--seed", "6"], wd)
    check(code == 0, f"alq gen other.h5: {err}")
    with h5py.File(os.path.join(wd, "pool.h5"), "r") as src, h5py.File(os.path.join(wd, "shifted.h5"), "w") as dst:
        for name in ("embeddings", "probs", "labels"):
            dst[name] = src[name][:]
        dst["ids"] = np.arange(3000, dtype=np.int64) * 2
        dst.attrs["classes"] = np.int64(4)
    before = sha(state)
    # The ids checksum comes from the streaming pass, so a state's labeled id that
    # the other pool lacks is what is reported first.
    expect_error(run([alq, "select", "--pool", "shifted.h5", "--budget", 5, "--strategy", "random", "--out",
                      "x.h5", "--state", "state.h5"], wd), 3, "which is not an id of pool shifted.h5",
                 "select --state, other ids")
    expect_error(run([alq, "select", "--pool", "other.h5", "--budget", 5, "--strategy", "random", "--out",
                      "x.h5", "--state", "state.h5"], wd), 3, "belongs to pool", "select --state with another pool")
    expect_error(run([alq, "select", "--pool", "pool.h5", "--budget", 5, "--strategy", "random", "--out", "x.h5",
                      "--state", "state.h5", "--labeled", "pool.h5"], wd), 2, "--labeled", "--labeled with a state")
    check(not os.path.exists(os.path.join(wd, "x.h5")), "a failed select left its batch behind")
    check(sha(state) == before, "a failed select changed the state file")

    bad_ingest(alq, wd, state, truth)
    if failures:
        print(f"state_workflow: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("state_workflow: all checks passed")
    return 0


def bad_ingest(alq, wd, state, truth):
    """Every rejected answers file: exit 3, one line, state byte-identical, no temporary left."""
    # Round 4 leaves items pending, so answers for them are otherwise acceptable.
    shutil.copy(os.path.join(wd, "pool.h5"), os.path.join(wd, "copy.h5"))
    code, _, err = run([alq, "select", "--pool", "copy.h5", "--budget", 5, "--strategy", "margin", "--out",
                        "b4.h5", "--state", "state.h5"], wd)
    check("was created for pool pool.h5" in err, f"select with a copy of the pool: no note: {err!r}")
    check(code == 0, f"round 4 select: {err}")
    with h5py.File(os.path.join(wd, "b4.h5"), "r") as f:
        ids = f["selected/ids"][:].tolist()
    with h5py.File(state, "r") as f:
        alice = [n.decode() for n in f["annotators"][:]].index("alice")
        k = np.nonzero(f["answers/annotators"][:] == alice)[0][0]
        old_id, old_label = int(f["answers/ids"][k]), int(f["answers/labels"][k])
    ok = ids[0]
    never = next(i for i in range(3000) if i not in ids and i not in state_sets(state)[0])
    cases = {
        "unknown id": ("id,label\n%d,1\n%d,1\n" % (ok, never), f"id {never} was never sent out"),
        "id not a number": ("id,label\n%d,1\nabc,1\n" % ok, "id 'abc' is not an integer"),
        "label out of range": ("id,label\n%d,4\n" % ok, "label 4 for id %d is outside [0, 4)" % ok),
        "negative label": ("id,label\n%d,-1\n" % ok, "outside [0, 4)"),
        "label not an integer": ("id,label\n%d,1.5\n" % ok, "label '1.5'"),
        "conflicting duplicate": ("id,label,annotator\n%d,1,x\n%d,2,y\n%d,3,x\n" % (ok, ok, ok),
                                  "lines 2 and 4: conflicting labels 1 and 3 for id %d by annotator 'x'" % ok),
        "conflict with an earlier answer": ("id,label,annotator\n%d,%d,alice\n" % (old_id, (old_label + 1) % 4),
                                            "conflicts with the label %d it gave before" % old_label),
        "missing label column": ("id,answer\n%d,1\n" % ok, "no 'label' column"),
        "wrong field count": ("id,label\n%d,1,3\n" % ok, "3 fields, expected 2"),
        "unclosed quote": ('id,label\n%d,"1\n' % ok, "never closed"),
        "text after quote": ('id,label\n%d,"1"x\n' % ok, "after the closing quote"),
        "empty file": ("", "is empty"),
    }
    for what, (text, fragment) in cases.items():
        path = os.path.join(wd, "bad.csv")
        with open(path, "w") as f:
            f.write(text)
        before = sha(state)
        expect_error(run([alq, "ingest", "--state", "state.h5", "--labels", "bad.csv"], wd), 3, fragment,
                     f"ingest {what}")
        check(sha(state) == before, f"ingest {what}: the state file changed")
    expect_error(run([alq, "ingest", "--state", "state.h5", "--labels", "missing.csv"], wd), 3, "missing.csv",
                 "ingest a missing file")
    expect_error(run([alq, "ingest", "--state", "nostate.h5", "--labels", "bad.csv"], wd), 3, "nostate.h5",
                 "ingest into a missing state")
    expect_error(run([alq, "ingest", "--labels", "bad.csv"], wd), 2, "--state", "ingest without --state")
    leftovers = [n for n in os.listdir(wd) if ".tmp." in n]
    check(not leftovers, f"temporary files left behind: {leftovers}")
    # The good rows alone are accepted, and ingesting them twice changes nothing.
    with open(os.path.join(wd, "good.csv"), "w") as f:
        f.write("label,id\n%d,%d\n" % (truth[ok], ok))
    code, _, err = run([alq, "ingest", "--state", "state.h5", "--labels", "good.csv"], wd)
    check(code == 0 and "ingested 1 answer" in err, f"good ingest: {code} {err!r}")
    before = sha(state)
    code, _, err = run([alq, "ingest", "--state", "state.h5", "--labels", "good.csv"], wd)
    check(code == 0 and "ingested 0 answer" in err and sha(state) == before, f"repeat ingest changed the state: {err}")


if __name__ == "__main__":
    sys.exit(main())
