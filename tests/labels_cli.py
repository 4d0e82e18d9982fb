#!/usr/bin/python3
"""tests/labels_cli.py: labels and answers as people and labeling tools write them.

1. Answers files: CSV with a UTF-8 byte-order mark, CRLF, quoted fields holding
   commas and line breaks, ids and labels written "15.0" (pandas), class names
   (fixed-width /classes); TSV and JSON Lines; "15.5" refused naming line and
   value; --replace corrects an answer, without it the conflict is refused.
2. Label Studio: alq export --format label-studio writes the documented import
   shape (tests/data/label_studio/import_tasks.json) with the model's top class
   (numpy argmax of /probs) as a pre-annotation; the fixture export of a
   3-annotator project ingests, and the state's answers and consensus equal what
   this script derives from the fixture itself; the next round's export, answered
   as Label Studio would export it, ingests back.
3. A pool grown by 20% (rows appended): the state continues, records the growth,
   excludes its labeled and pending items, and gives the same batch as a state
   built from scratch on the grown pool with the same labels (given as a CSV
   labeled set).
4. Refusals (a lost id, a changed id, a conflicting answer): one error line,
   exit 3, the state byte for byte as it was, no batch left behind.

    labels_cli.py --alq build/alq --mpiexec mpiexec --data tests/data/label_studio --workdir DIR
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

failures = []
CLASSES = ["cat", "dog", "bird"]


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr, flush=True)


def run(cmd, cwd):
    p = subprocess.run(["timeout", "-k", "10", "120"] + [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def ok(res, what):
    check(res[0] == 0, f"{what}: exit {res[0]}: {res[2].strip()}")
    return res


def expect_error(res, fragment, what):
    code, _, err = res
    lines = [l for l in err.splitlines() if l.startswith("alq: error:")]
    check(code == 3, f"{what}: exit {code}, expected 3 ({err.strip()!r})")
    check(len(lines) == 1 and fragment in lines[0], f"{what}: expected one error line with {fragment!r}: {err!r}")


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def write_pool(path, emb, probs, ids, labeled_ids=(), labeled_labels=(), classes=None, fixed=False, text=True):
    with h5py.File(path, "w") as f:
        f["embeddings"] = emb.astype(np.float32)
        f["probs"] = probs.astype(np.float32)
        f["ids"] = np.asarray(ids, dtype=np.int64)
        if len(labeled_ids):
            f["labeled/ids"] = np.asarray(labeled_ids, dtype=np.int64)
            f["labeled/labels"] = np.asarray(labeled_labels, dtype=np.int32)
        if classes is not None:
            f["classes"] = np.array([c.encode() for c in classes], dtype="S8") if fixed else \
                np.array(classes, dtype=h5py.string_dtype())
        if text:
            f["payload/text"] = np.array([f'item {i}, "quoted"\nline two' for i in ids], dtype=h5py.string_dtype())


def data(n, seed):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(n, 8))
    logits = rng.normal(size=(n, 3)) * 2
    p = np.exp(logits - logits.max(1, keepdims=True))
    return emb, p / p.sum(1, keepdims=True)


def state_answers(path):
    with h5py.File(path, "r") as f:
        names = [n.decode() for n in f["annotators"][:]]
        ans = list(zip(f["answers/ids"][:].tolist(), f["answers/labels"][:].tolist(),
                       [names[k] for k in f["answers/annotators"][:]]))
        labeled = dict(zip(f["labeled/ids"][:].tolist(), f["labeled/labels"][:].tolist()))
        pending = set(f["pending/ids"][:].tolist())
    return ans, labeled, pending


def fixture_answers(export):
    """The answers a Label Studio export holds, by the documented rules (docs/labels.md)."""
    out = []
    for t in export:
        alq_id = t["meta"]["alq_id"]
        for a in t["annotations"]:
            if a["was_cancelled"]:
                continue
            choices = [r for r in a["result"] if r["type"] == "choices"]
            if not choices:
                continue
            by = a["completed_by"]
            who = f"ls-user-{by}" if isinstance(by, int) else by["email"]
            out.append((alq_id, CLASSES.index(choices[0]["value"]["choices"][0]), who))
    return out


def consensus(answers):
    """Most answers win, ties to the label answered first."""
    by_id = {}
    for i, (item, label, _) in enumerate(answers):
        by_id.setdefault(item, []).append((label, i))
    out = {}
    for item, rows in by_id.items():
        counts = {}
        for label, i in rows:
            c, first = counts.get(label, (0, i))
            counts[label] = (c + 1, first)
        out[item] = min(counts, key=lambda l: (-counts[l][0], counts[l][1]))
    return out


def answers_files(alq, wd):
    """Section 1: CSV/TSV/JSONL answers, class names, 15.0, --replace."""
    emb, p = data(60, 1)
    ids = np.arange(60) * 10 + 5
    write_pool(os.path.join(wd, "a.h5"), emb, p, ids, ids[:6], [0, 1, 2, 0, 1, 2], CLASSES, fixed=True)
    ok(run([alq, "select", "--pool", "a.h5", "--budget", 8, "--strategy", "margin", "--out", "a1.h5",
            "--state", "a.state.h5", "--quiet"], wd), "answers: select")
    with h5py.File(os.path.join(wd, "a1.h5"), "r") as f:
        batch = f["selected/ids"][:].tolist()
    ok(run([alq, "export", "--batch", "a1.h5", "--csv", "a1.csv"], wd), "answers: export")
    with open(os.path.join(wd, "a1.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    # Excel-style: BOM, CRLF, ids "15.0", labels by name and by "2.0", a quoted
    # annotator name with a comma, the payload's quoted newlines kept.
    with open(os.path.join(wd, "bom.csv"), "w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["id", "text", "label", "annotator"])
        for k, r in enumerate(rows[:4]):
            w.writerow([f"{r['id']}.0", r["text"], CLASSES[k % 3] if k % 2 == 0 else f"{k % 3}.0", "Smith, Jo"])
    ok(run([alq, "ingest", "--state", "a.state.h5", "--labels", "bom.csv"], wd), "BOM/15.0 CSV ingest")
    with open(os.path.join(wd, "b.tsv"), "w") as f:
        f.write("id\tlabel\tannotator\n")
        f.write(f"{batch[4]}\tdog\tkim\n{batch[5]}\t0\tkim\n")
    ok(run([alq, "ingest", "--state", "a.state.h5", "--labels", "b.tsv"], wd), "TSV ingest")
    with open(os.path.join(wd, "c.jsonl"), "w") as f:
        f.write(json.dumps({"id": batch[6], "label": "bird", "annotator": "lee"}) + "\n\n")
        f.write(json.dumps({"id": float(batch[7]), "label": 1.0}) + "\n")
        f.write(json.dumps({"id": batch[0], "label": None, "annotator": "lee"}) + "\n")
    ok(run([alq, "ingest", "--state", "a.state.h5", "--labels", "c.jsonl", "--annotator", "max"], wd), "JSONL ingest")
    ans, labeled, pending = state_answers(os.path.join(wd, "a.state.h5"))
    expect = [(int(rows[k]["id"]), k % 3, "Smith, Jo") for k in range(4)] + \
             [(batch[4], 1, "kim"), (batch[5], 0, "kim"), (batch[6], 2, "lee"), (batch[7], 1, "max")]
    check(ans[6:] == expect, f"answers recorded {ans[6:]}, expected {expect}")
    check(pending == set(), f"pending after answering all: {pending}")

    st = os.path.join(wd, "a.state.h5")
    before = sha(st)
    with open(os.path.join(wd, "half.csv"), "w") as f:
        f.write(f"id,label\n{batch[0]},15.5\n")
    expect_error(run([alq, "ingest", "--state", "a.state.h5", "--labels", "half.csv"], wd),
                 "half.csv line 2: label '15.5'", "15.5 refused")
    with open(os.path.join(wd, "fix.csv"), "w") as f:
        f.write(f"id,label,annotator\n{batch[4]},bird,kim\n")
    expect_error(run([alq, "ingest", "--state", "a.state.h5", "--labels", "fix.csv"], wd),
                 "conflicts with the label 1 it gave before", "conflict without --replace")
    check(sha(st) == before, "a refused ingest changed the state")
    ok(run([alq, "ingest", "--state", "a.state.h5", "--labels", "fix.csv", "--replace"], wd), "--replace")
    ans2, labeled2, _ = state_answers(st)
    check(len(ans2) == len(ans) and ans2[10] == (batch[4], 2, "kim") and labeled2[batch[4]] == 2,
          f"--replace did not correct the answer in place: {ans2[10]}")


def label_studio(alq, wd, fixtures):
    """Section 2: the Label Studio round trip with three annotators."""
    emb, p = data(40, 2)
    ids = list(range(100, 112)) + list(range(112, 122))  # 12 to label, 10 labeled
    write_pool(os.path.join(wd, "ls.h5"), emb[:22], p[:22], ids, ids[12:], [k % 3 for k in range(10)], CLASSES)
    ok(run([alq, "select", "--pool", "ls.h5", "--budget", 12, "--strategy", "margin-kcenter", "--out", "ls1.h5",
            "--state", "ls.state.h5", "--quiet"], wd), "LS: round 1 select")
    with h5py.File(os.path.join(wd, "ls1.h5"), "r") as f:
        batch = f["selected/ids"][:].tolist()
    check(sorted(batch) == list(range(100, 112)), f"LS: round 1 batch {batch}")
    ok(run([alq, "export", "--batch", "ls1.h5", "--format", "label-studio", "--json", "ls1.json", "--predictions",
            "--ls-config", "ls1.xml"], wd), "LS: export")
    with open(os.path.join(wd, "ls1.json")) as f:
        tasks = json.load(f)
    with open(os.path.join(fixtures, "import_tasks.json")) as f:
        doc = json.load(f)[0]
    check([t["meta"]["alq_id"] for t in tasks] == batch and all(t["data"]["alq_id"] == t["meta"]["alq_id"] for t in tasks),
          "LS export: alq ids not in meta and data in selection order")
    shape = lambda t: (sorted(t), sorted(t["predictions"][0]), sorted(t["predictions"][0]["result"][0]),
                       sorted(t["predictions"][0]["result"][0]["value"]))
    check(all(shape(t) == shape(doc) for t in tasks), f"LS export: task shape {shape(tasks[0])} != documented {shape(doc)}")
    row = {i: k for k, i in enumerate(ids)}
    for t in tasks:
        pr = p[row[t["meta"]["alq_id"]]].astype(np.float32)
        r = t["predictions"][0]["result"][0]
        check(r["value"]["choices"] == [CLASSES[int(np.argmax(pr))]] and abs(t["predictions"][0]["score"] - pr.max()) < 1e-6
              and r["from_name"] == "label" and r["to_name"] == "text" and r["type"] == "choices",
              f"LS export: prediction of {t['meta']['alq_id']} wrong: {t['predictions']}")
        check(t["data"]["text"] == f'item {t["meta"]["alq_id"]}, "quoted"\nline two', "LS export: text payload garbled")
    with open(os.path.join(wd, "ls1.xml")) as f:
        cfg = f.read()
    check('<Choices name="label" toName="text"' in cfg and all(f'<Choice value="{c}"/>' in cfg for c in CLASSES),
          f"LS config: {cfg!r}")

    export = os.path.join(fixtures, "export_3_annotators.json")
    res = ok(run([alq, "ingest", "--state", "ls.state.h5", "--labels", export, "--format", "label-studio"], wd),
             "LS: ingest the 3-annotator export")
    with open(export) as f:
        fx = json.load(f)
    expect = fixture_answers(fx)
    ans, labeled, pending = state_answers(os.path.join(wd, "ls.state.h5"))
    check(ans[10:] == expect, f"LS ingest: answers {ans[10:]}, expected {expect}")
    want = consensus([(i, l, "") for i, l in zip(ids[12:], [k % 3 for k in range(10)])] + expect)
    check(labeled == want, f"LS ingest: consensus {labeled}, expected {want}")
    check(pending == {104, 107}, f"LS ingest: pending {pending}, expected 104 (no annotation) and 107 (skipped)")
    check("3 cancelled" in res[2], f"LS ingest summary lacks the cancelled count: {res[2]!r}")
    before = sha(os.path.join(wd, "ls.state.h5"))
    ok(run([alq, "ingest", "--state", "ls.state.h5", "--labels", export], wd), "LS: ingest again (auto format)")
    check(sha(os.path.join(wd, "ls.state.h5")) == before, "LS: a repeated ingest changed the state")

    # Next round on the pool grown by new items; its export comes back through Label Studio.
    emb2, p2 = data(40, 2)
    ids2 = ids + list(range(200, 218))
    write_pool(os.path.join(wd, "ls.h5"), emb2, p2, ids2, ids[12:], [k % 3 for k in range(10)], CLASSES)
    ok(run([alq, "select", "--pool", "ls.h5", "--budget", 6, "--strategy", "margin", "--out", "ls2.h5",
            "--state", "ls.state.h5", "--quiet"], wd), "LS: round 2 select")
    ok(run([alq, "export", "--batch", "ls2.h5", "--format", "label-studio", "--json", "ls2.json",
            "--state", "ls.state.h5"], wd), "LS: round 2 export")
    with open(os.path.join(wd, "ls2.json")) as f:
        tasks2 = json.load(f)
    b2 = [t["meta"]["alq_id"] for t in tasks2]
    check(not set(b2) & (set(labeled) | pending), f"LS round 2 selected labeled or pending items: {b2}")
    check(all(t["meta"]["alq_round"] == 2 for t in tasks2), "LS round 2: meta.alq_round is not 2")
    # What Label Studio exports after two annotators answer (one skips a task).
    out = []
    for k, t in enumerate(tasks2):
        t = dict(t, id=9000 + k, annotations=[])
        for who, cls in ((1, k % 3), (3, (k + 1) % 3)):
            t["annotations"].append({"id": 90000 + 10 * k + who, "completed_by": who, "was_cancelled": who == 3 and k == 0,
                                     "result": [] if who == 3 and k == 0 else
                                     [{"from_name": "label", "to_name": "text", "type": "choices",
                                       "value": {"choices": [CLASSES[cls]]}}]})
        out.append(t)
    with open(os.path.join(wd, "ls2-export.json"), "w") as f:
        json.dump(out, f)
    ok(run([alq, "ingest", "--state", "ls.state.h5", "--labels", "ls2-export.json"], wd), "LS: round 2 ingest")
    _, labeled3, _ = state_answers(os.path.join(wd, "ls.state.h5"))
    check(all(labeled3.get(i) == k % 3 for k, i in enumerate(b2)), "LS round 2: labels not as annotated")
    # Re-labels (activelab): the export lists who already answered each one.
    ok(run([alq, "select", "--pool", "ls.h5", "--budget", 4, "--strategy", "activelab", "--out", "ls3.h5",
            "--state", "ls.state.h5", "--quiet"], wd), "LS: activelab select")
    ok(run([alq, "export", "--batch", "ls3.h5", "--csv", "ls3.csv", "--format", "label-studio", "--json", "ls3.json",
            "--state", "ls.state.h5"], wd), "LS: re-label export")
    ans4, _, _ = state_answers(os.path.join(wd, "ls.state.h5"))
    with h5py.File(os.path.join(wd, "ls3.h5"), "r") as f:
        relabel = f["selected/relabel"][:].tolist() if "relabel" in f["selected"] else None
    with open(os.path.join(wd, "ls3.csv"), newline="") as f:
        rows3 = list(csv.DictReader(f))
    with open(os.path.join(wd, "ls3.json")) as f:
        tasks3 = json.load(f)
    check(relabel is not None and any(relabel), "activelab batch has no re-label items")
    for k, (r, t) in enumerate(zip(rows3, tasks3)):
        who = []
        for i, _, w in ans4:
            if i == int(r["id"]) and w not in who:
                who.append(w)
        check(r["answered_by"] == ";".join(who) and t["meta"].get("alq_answered_by", []) == who,
              f"re-label export of {r['id']}: answered_by {r['answered_by']!r} / {t['meta']}, expected {who}")
        check(r["relabel"] == str(relabel[k]) and t["meta"].get("alq_relabel", False) == bool(relabel[k]),
              f"re-label flag of {r['id']} wrong")
    with h5py.File(os.path.join(wd, "ls.state.h5"), "r") as f:
        check("growth" in f and f["growth/old_items"][:].tolist() == [22] and f["growth/new_items"][:].tolist() == [40],
              "LS: the state does not record the pool's growth 22 -> 40")


def growth(alq, mpi, wd):
    """Sections 3-4: a pool grown by 20%, against a state built from scratch; refusals."""
    n, grown = 500, 600
    emb, p = data(grown, 3)
    truth = np.argmax(p, 1)
    ids = np.arange(grown) * 7 + 3
    init = ids[:15]
    write_pool(os.path.join(wd, "g.h5"), emb[:n], p[:n], ids[:n], init, truth[:15], text=False)
    ok(run(mpi + [alq, "select", "--pool", "g.h5", "--budget", 20, "--strategy", "margin-kcenter", "--seed", 4,
                  "--out", "g1.h5", "--state", "g.state.h5", "--quiet"], wd), "growth: round 1")
    with h5py.File(os.path.join(wd, "g1.h5"), "r") as f:
        b1 = f["selected/ids"][:].tolist()
    row = {int(i): k for k, i in enumerate(ids)}
    with open(os.path.join(wd, "g1.csv"), "w") as f:
        f.write("id,label\n" + "".join(f"{i},{truth[row[i]]}\n" for i in b1))
    ok(run([alq, "ingest", "--state", "g.state.h5", "--labels", "g1.csv", "--quiet"], wd), "growth: ingest")
    write_pool(os.path.join(wd, "g.h5"), emb, p, ids, init, truth[:15], text=False)  # rows appended
    st = os.path.join(wd, "g.state.h5")
    shutil.copy(st, os.path.join(wd, "g.before.h5"))

    # Refusals first, on the grown pool's neighbours: a lost id, a changed id.
    lost = np.delete(ids, 30)
    write_pool(os.path.join(wd, "lost.h5"), np.delete(emb, 30, 0), np.delete(p, 30, 0), lost, text=False)
    before = sha(st)
    expect_error(run([alq, "select", "--pool", "lost.h5", "--budget", 20, "--strategy", "margin", "--out", "x.h5",
                      "--state", "g.state.h5"], wd), "lost id %d" % ids[30] if ids[30] in set(init) | set(b1)
                 else "rows 0..499", "lost id")
    missing = sorted(set(b1) | set(init.tolist()))
    gone = [missing[0], missing[3]]
    lost2 = np.array([i for i in ids if i not in gone])
    write_pool(os.path.join(wd, "lost2.h5"), emb[:len(lost2)], p[:len(lost2)], lost2, text=False)
    expect_error(run([alq, "select", "--pool", "lost2.h5", "--budget", 20, "--strategy", "margin", "--out", "x.h5",
                      "--state", "g.state.h5"], wd), "lost id %d," % gone[0], "lost ids: the first is named")
    changed = ids.copy()
    changed[250] += 1  # still increasing, same count: an item's id changed
    write_pool(os.path.join(wd, "changed.h5"), emb, p, changed, text=False)
    expect_error(run([alq, "select", "--pool", "changed.h5", "--budget", 20, "--strategy", "margin", "--out", "x.h5",
                      "--state", "g.state.h5"], wd), "an item's id changed", "changed id")
    check(sha(st) == before, "a refused select changed the state")
    check(not os.path.exists(os.path.join(wd, "x.h5")), "a refused select left its batch behind")

    ok(run(mpi + [alq, "select", "--pool", "g.h5", "--budget", 20, "--strategy", "margin-kcenter", "--seed", 4,
                  "--out", "g2.h5", "--state", "g.state.h5", "--quiet"], wd), "growth: round 2 on the grown pool")
    with h5py.File(os.path.join(wd, "g2.h5"), "r") as f:
        b2 = f["selected/ids"][:].tolist()
    with h5py.File(st, "r") as f:
        g = {k: f["growth"][k][:].tolist() for k in f["growth"]}
        check(g["old_items"] == [n] and g["new_items"] == [grown] and g["round"] == [2],
              f"growth record {g}")
        check(int(f["pool"].attrs["items"]) == grown, "the state's pool is not the grown pool")
    check(not set(b2) & (set(b1) | set(init.tolist())), "round 2 selected a labeled item")
    check(any(row[i] >= n for i in b2), "round 2 never selected a new item")
    # From scratch on the grown pool, the same labels given as a CSV labeled set
    # (BOM, CRLF, 15.0): the same batch.
    with open(os.path.join(wd, "labeled.csv"), "w", encoding="utf-8-sig", newline="") as f:
        f.write("id,label\r\n" + "".join(f"{i},{truth[row[int(i)]]}.0\r\n" for i in list(init) + b1))
    ok(run(mpi + [alq, "select", "--pool", "g.h5", "--budget", 20, "--strategy", "margin-kcenter", "--seed", 4,
                  "--out", "s2.h5", "--labeled", "labeled.csv", "--state", "scratch.state.h5", "--quiet"], wd),
       "growth: from scratch")
    with h5py.File(os.path.join(wd, "s2.h5"), "r") as f:
        s2 = f["selected/ids"][:].tolist()
    check(b2 == s2, f"grown-pool batch {b2[:5]}... differs from the from-scratch batch {s2[:5]}...")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--data", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    alq, wd = os.path.abspath(a.alq), a.workdir
    shutil.rmtree(wd, ignore_errors=True)
    os.makedirs(wd)
    mpi = [a.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", "2"]
    answers_files(alq, wd)
    label_studio(alq, wd, os.path.abspath(a.data))
    growth(alq, mpi, wd)
    if failures:
        print(f"labels_cli: {len(failures)} failure(s)", file=sys.stderr)
        return 1
    print("labels_cli: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
