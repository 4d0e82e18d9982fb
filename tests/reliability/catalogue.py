#!/usr/bin/python3
"""tests/reliability/catalogue.py: the reliability catalogue (docs/reliability.md), every case run.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    catalogue.py --alq build/alq --mpiexec mpiexec --workdir DIR [--only NAME,...] [--table]

Builds small fixtures with h5py and alq itself (valid pool, state, batch,
model, answers) and runs every case of CASES: one alq command on hostile or
broken input, at 1 rank (a plain process) or 2 ranks (under mpiexec, each
rank's exit code and stderr recorded apart).  For each case:
  * every rank exits with the documented code (README "Exit codes");
  * rank 0 prints exactly the catalogued line (the workdir spelled W), the other
    ranks nothing; for exit 0 cases no `alq: error:` line and the catalogued
    check of the result holds;
  * no run exceeds TIMEOUT seconds (a hang fails);
  * no input changed (sha256 of every fixture file before and after) and no
    file is left in the case's output folder unless the case succeeds.
--table prints the catalogue as the Markdown table of docs/reliability.md.
Cases run two at a time (the machine has 2 cores; all of them take ~30 s).
"""
import argparse
import concurrent.futures
import hashlib
import os
import re
import shutil
import signal
import subprocess
import sys

import h5py
import numpy as np

TIMEOUT = 40
N, D, C = 40, 4, 3
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


# ---------------------------------------------------------------- fixtures


def arrays(n=N, d=D, c=C, seed=5):
    rng = np.random.default_rng(seed)
    p = rng.random((n, c)) + 0.05
    return dict(embeddings=rng.normal(size=(n, d)).astype(np.float32),
                probs=(p / p.sum(axis=1, keepdims=True)).astype(np.float32),
                ids=np.arange(n, dtype=np.int64) * 2 + 100,
                labels=rng.integers(0, c, n).astype(np.int32))


def write_pool(path, a, labeled=((102, 0), (110, 1), (130, 2)), **dset_opts):
    with h5py.File(path, "w") as f:
        for k, v in a.items():
            if v is not None:
                f.create_dataset(k, data=v, **dset_opts.get(k, {}))
        if labeled:
            f.create_dataset("labeled/ids", data=np.array([i for i, _ in labeled], np.int64))
            f.create_dataset("labeled/labels", data=np.array([l for _, l in labeled], np.int32))


def variant(fx, name, mutate=None, labeled=((102, 0), (110, 1), (130, 2)), **opts):
    a = arrays()
    if mutate:
        mutate(a)
    path = os.path.join(fx, name + ".h5")
    write_pool(path, a, labeled, **opts)
    return path


def set_row(name, row, values):
    def m(a):
        a[name][row] = values
    return m


def alq_ok(alq, *args):
    p = subprocess.run([alq] + [str(x) for x in args], capture_output=True, text=True, timeout=120)
    if p.returncode != 0:
        sys.exit(f"fixture failed: alq {' '.join(map(str, args))}: {p.stderr.strip()}")


def build_fixtures(alq, fx):
    """Every input file the cases read, in `fx` (hashed before and after each case)."""
    os.makedirs(fx)
    good = variant(fx, "good")
    P = lambda name: os.path.join(fx, name)
    # broken or strange pool files
    shutil.copy(good, P("truncated.h5"))
    os.truncate(P("truncated.h5"), os.path.getsize(good) // 2)
    blob = bytearray(open(good, "rb").read())
    blob[0:8] = b"\0" * 8  # the HDF5 signature
    open(P("no-signature.h5"), "wb").write(blob)
    open(P("text.h5"), "w").write("id,label\n1,2\n")
    variant(fx, "emb-rank3", lambda a: a.update(embeddings=a["embeddings"].reshape(N, 2, 2)))
    variant(fx, "emb-int32", lambda a: a.update(embeddings=(a["embeddings"] * 9).astype(np.int32)))
    variant(fx, "emb-float64", lambda a: a.update(embeddings=a["embeddings"].astype(np.float64)))
    variant(fx, "probs-columns", lambda a: a.update(probs=np.full((N, 2), 0.5, np.float32)))
    variant(fx, "probs-rows", lambda a: a.update(probs=a["probs"][:N - 1]))
    variant(fx, "probs-nan", set_row("probs", 33, [np.nan, 0.5, 0.5]))
    variant(fx, "probs-inf", set_row("probs", 33, [np.inf, 0, 0]))
    variant(fx, "probs-negative", set_row("probs", 33, [1.25, -0.25, 0]))
    variant(fx, "probs-denormal", set_row("probs", 33, [1.0, 1e-40, 0]))
    variant(fx, "emb-nan", set_row("embeddings", 21, [0, np.nan, 0, 0]))
    variant(fx, "ids-duplicate", set_row("ids", 30, 158))
    variant(fx, "ids-negative", lambda a: a.update(ids=a["ids"] - 200), labeled=None)
    variant(fx, "ids-rows", lambda a: a.update(ids=a["ids"][:N - 2]))
    with h5py.File(P("empty.h5"), "w") as f:
        f.create_dataset("embeddings", shape=(0, D), dtype=np.float32)
        f.create_dataset("probs", shape=(0, C), dtype=np.float32)
    with h5py.File(P("one-item.h5"), "w") as f:
        f.create_dataset("embeddings", data=np.ones((1, D), np.float32))
        f.create_dataset("probs", data=np.array([[0.2, 0.3, 0.5]], np.float32))
    write_pool(P("dim1.h5"), arrays(d=1), labeled=None)
    write_pool(P("dim16384.h5"), arrays(n=6, d=16384), labeled=None)
    write_pool(P("classes1e5.h5"), arrays(n=4, c=100000), labeled=None)
    write_pool(P("chunked-gzip.h5"), arrays(), embeddings=dict(chunks=(7, D), compression="gzip", shuffle=True),
               probs=dict(chunks=(5, C), compression="gzip"))
    write_pool(P("chunked-odd.h5"), arrays(), embeddings=dict(chunks=(3, 1)), probs=dict(chunks=(40, 1)))
    # labeled sets in their own files
    for name, ids, labels in [("lab-not-in-pool", [102, 101], [0, 1]), ("lab-duplicate", [102, 102], [0, 0]),
                              ("lab-out-of-range", [102, 104], [0, 3]), ("lab-negative-label", [102], [-1])]:
        with h5py.File(P(name + ".h5"), "w") as f:
            f.create_dataset("labeled/ids", data=np.array(ids, np.int64))
            f.create_dataset("labeled/labels", data=np.array(labels, np.int32))
    # a state after one round, and hand-edited copies
    os.makedirs(P("work"))
    alq_ok(alq, "select", "--pool", good, "--budget", 4, "--strategy", "margin", "--state", P("state.h5"),
           "--out", P("batch.h5"), "--quiet")
    other = variant(fx, "other-pool", lambda a: a.update(embeddings=np.zeros((N + 1, D), np.float32),
                                                         probs=np.full((N + 1, C), 1 / 3, np.float32),
                                                         ids=np.arange(N + 1, dtype=np.int64) * 3 + 100,
                                                         labels=np.zeros(N + 1, np.int32)))
    same_shape = variant(fx, "same-shape-other-ids", lambda a: a.update(ids=a["ids"] + 1), labeled=None)
    shutil.copy(P("state.h5"), P("state-truncated.h5"))
    os.truncate(P("state-truncated.h5"), os.path.getsize(P("state.h5")) * 2 // 3)
    for name, edit in [("state-newer", lambda f: f.attrs.modify("format_version", np.int64(99))),
                       ("state-no-format", lambda f: f.attrs.__delitem__("format")),
                       ("state-annotator-index", lambda f: f["answers/annotators"].__setitem__(0, 7)),
                       ("state-rounds-count", lambda f: f["rounds"].attrs.modify("count", np.int64(5)))]:
        shutil.copy(P("state.h5"), P(name + ".h5"))
        with h5py.File(P(name + ".h5"), "r+") as f:
            edit(f)
    batch_ids = [int(i) for i in h5py.File(P("batch.h5"), "r")["selected/ids"][:]]
    # batch files with a broken manifest
    shutil.copy(P("batch.h5"), P("batch-bad-manifest.h5"))
    with h5py.File(P("batch-bad-manifest.h5"), "r+") as f:
        del f["manifest"]
        f.create_dataset("manifest", data=np.frombuffer(b"\xff\xff\xff\xff\x0f", np.uint8))
    shutil.copy(P("batch.h5"), P("batch-no-manifest.h5"))
    with h5py.File(P("batch-no-manifest.h5"), "r+") as f:
        del f["manifest"]
    # answers files (alq ingest)
    i0, i1 = batch_ids[0], batch_ids[1]
    never_sent = min(set(range(100, 100 + 2 * N, 2)) - set(batch_ids) - {102, 110, 130})
    answers = {
        "ans-empty.csv": b"",
        "ans-header-only.csv": b"id,label\n",
        "ans-long-line.csv": b"id,label\n" + str(i0).encode() + b"," + b"1" * 1000000 + b"\n",
        "ans-nul.csv": b"id,label\n" + str(i0).encode() + b",1\0\n",
        "ans-bad-utf8.csv": b"id,label,annotator\n" + str(i0).encode() + b",1,\xff\xfe\n",
        "ans-crlf.csv": b"id,label\r\n" + str(i0).encode() + b",1\r\n" + str(i1).encode() + b",2\r\n",
        "ans-quoted-newline.csv": b"id,label,annotator\n" + str(i0).encode() + b",1,\"ann\nwith newline\"\n",
        "ans-negative-id.csv": b"id,label\n-5,1\n",
        "ans-huge-id.csv": b"id,label\n9223372036854775808,1\n",
        "ans-conflict.csv": b"id,label,annotator\n" + f"{i0},1,ann\n{i0},2,ann\n".encode(),
        "ans-not-sent.csv": f"id,label\n{never_sent},1\n".encode(),
        "ans-label-range.csv": b"id,label\n" + f"{i0},3\n".encode(),
        "ans-no-label-column.csv": b"id,class\n" + f"{i0},1\n".encode(),
        "ans-unterminated-quote.csv": b"id,label\n" + f"{i0},\"1\n".encode(),
    }
    for name, data in answers.items():
        open(P(name), "wb").write(data)
    # models: a real one, one of another dimension, and a pool given as a model
    alq_ok(alq, "train", "--pool", good, "--model", "logreg", "--out", P("model.h5"), "--quiet")
    write_pool(P("wide.h5"), arrays(d=D + 2))
    alq_ok(alq, "train", "--pool", P("wide.h5"), "--model", "logreg", "--out", P("model-wide.h5"), "--quiet")
    shutil.copy(P("model.h5"), P("model-truncated.h5"))
    os.truncate(P("model-truncated.h5"), os.path.getsize(P("model.h5")) // 2)
    # idx files (alq import-idx): a 16-byte image header announcing 6 x 3 x 2^30 pixels
    open(P("idx-huge.idx"), "wb").write(bytes.fromhex("00000803 00000006 00000003 40000000".replace(" ", "")))
    open(P("idx-labels.idx"), "wb").write(bytes.fromhex("00000801 00000006") + bytes(6))
    open(P("csv-ragged.csv"), "w").write("f0,f1,label\n1,2,0\n3,1\n")
    return batch_ids


# ---------------------------------------------------------------- cases
# (name, ranks, argv (W = the fixtures' folder, O = this case's output folder),
#  exit code, check of an exit-0 result).  The exact line rank 0 prints is in
#  catalogue_lines.txt ("name<TAB>line", W and O spelled so; `--record` rewrites it).

SEL = ["select", "--seed", "1", "--out", "O/batch.h5", "--quiet"]


def sel(pool, strategy="margin", budget="4", *more):
    return SEL + ["--pool", "W/" + pool, "--strategy", strategy, "--budget", budget] + list(more)


def out_at(path):
    argv = sel("good.h5")
    argv[argv.index("--out") + 1] = path
    return argv


def ingest(answers, state="state.h5"):
    # a copy of the state in O: ingest updates it in place
    return ["ingest", "--state", "O/" + state, "--labels", "W/" + answers, "--quiet"]


CASES = [
    # ---- pool files
    ("pool-missing", 1, sel("nope.h5"), 3, None),
    ("pool-truncated", 2, sel("truncated.h5"), 3, None),
    ("pool-no-hdf5-signature", 1, sel("no-signature.h5"), 3, None),
    ("pool-is-text", 1, ["info", "W/text.h5"], 3, None),
    ("embeddings-rank-3", 1, sel("emb-rank3.h5", "kcenter"), 3, None),
    ("embeddings-int32", 1, sel("emb-int32.h5", "kcenter"), 3, None),
    ("embeddings-float64", 1, sel("emb-float64.h5", "kcenter"), 0, None),
    ("embeddings-nan", 2, sel("emb-nan.h5", "kcenter"), 3, None),
    ("probs-2-columns-label-2", 1, sel("probs-columns.h5"), 3, None),
    ("probs-short", 1, sel("probs-rows.h5"), 3, None),
    ("probs-nan", 2, sel("probs-nan.h5"), 3, None),
    ("probs-inf", 1, sel("probs-inf.h5", "entropy"), 3, None),
    ("probs-negative", 1, sel("probs-negative.h5"), 3, None),
    ("probs-denormal", 1, sel("probs-denormal.h5", "entropy"), 0, None),
    ("ids-duplicate", 2, sel("ids-duplicate.h5", "random"), 3, None),
    ("ids-negative", 1, sel("ids-negative.h5", "random"), 0, None),
    ("ids-short", 1, sel("ids-rows.h5"), 3, None),
    ("pool-empty", 1, sel("empty.h5"), 0, "count:0"),
    ("pool-one-item", 2, sel("one-item.h5", "margin", "3"), 0, "count:1"),
    ("pool-dim-1", 1, sel("dim1.h5", "kcenter"), 0, None),
    ("pool-dim-16384", 2, sel("dim16384.h5", "kcenter", "3"), 0, None),
    ("pool-1e5-classes", 1, sel("classes1e5.h5", "margin", "2"), 0, None),
    ("pool-chunked-gzip", 2, sel("chunked-gzip.h5", "margin-kcenter"), 0, "same-as-good"),
    ("pool-chunked-odd", 1, sel("chunked-odd.h5", "margin-kcenter"), 0, "same-as-good"),
    # ---- labeled sets
    ("labeled-id-not-in-pool", 1, sel("good.h5") + ["--labeled", "W/lab-not-in-pool.h5"], 3, None),
    ("labeled-duplicate-id", 1, sel("good.h5") + ["--labeled", "W/lab-duplicate.h5"], 3, None),
    ("labeled-label-out-of-range", 2, sel("good.h5") + ["--labeled", "W/lab-out-of-range.h5"], 3, None),
    ("labeled-label-negative", 1, sel("good.h5") + ["--labeled", "W/lab-negative-label.h5"], 3, None),
    # ---- state files (select --state works on a copy in O)
    ("state-other-pool", 1, sel("other-pool.h5") + ["--state", "O/state.h5"], 3, None),
    ("state-pool-ids-replaced", 2, sel("same-shape-other-ids.h5") + ["--state", "O/state.h5"], 3, None),
    ("state-truncated", 1, sel("good.h5") + ["--state", "O/state-truncated.h5"], 3, None),
    ("state-newer-format", 1, sel("good.h5") + ["--state", "O/state-newer.h5"], 3, None),
    ("state-no-format", 1, ingest("ans-crlf.csv", "state-no-format.h5"), 3, None),
    ("state-hand-edited-annotator", 1, ingest("ans-crlf.csv", "state-annotator-index.h5"), 3, None),
    ("state-hand-edited-rounds", 1, ["manifest", "O/state-rounds-count.h5"], 3, None),
    # ---- answers files (alq ingest)
    ("answers-empty", 1, ingest("ans-empty.csv"), 3, None),
    ("answers-header-only", 1, ingest("ans-header-only.csv"), 0, None),
    ("answers-1e6-char-line", 1, ingest("ans-long-line.csv"), 3, None),
    ("answers-nul-byte", 1, ingest("ans-nul.csv"), 3, None),
    ("answers-invalid-utf8", 1, ingest("ans-bad-utf8.csv"), 0, None),
    ("answers-crlf", 1, ingest("ans-crlf.csv"), 0, None),
    ("answers-quoted-newline", 1, ingest("ans-quoted-newline.csv"), 0, None),
    ("answers-negative-id", 1, ingest("ans-negative-id.csv"), 3, None),
    ("answers-huge-id", 1, ingest("ans-huge-id.csv"), 3, None),
    ("answers-conflicting-labels", 1, ingest("ans-conflict.csv"), 3, None),
    ("answers-id-not-sent-out", 1, ingest("ans-not-sent.csv"), 3, None),
    ("answers-label-out-of-range", 1, ingest("ans-label-range.csv"), 3, None),
    ("answers-no-label-column", 1, ingest("ans-no-label-column.csv"), 3, None),
    ("answers-unterminated-quote", 1, ingest("ans-unterminated-quote.csv"), 3, None),
    ("answers-missing", 1, ingest("nope.csv"), 3, None),
    # ---- model files
    ("model-other-dim", 2, sel("good.h5") + ["--model", "W/model-wide.h5"], 3, None),
    ("model-is-a-pool", 1, sel("good.h5") + ["--model", "W/good.h5"], 3, None),
    ("model-truncated", 1, sel("good.h5") + ["--model", "W/model-truncated.h5"], 3, None),
    # ---- manifests
    ("manifest-garbage-bytes", 1, ["manifest", "W/batch-bad-manifest.h5"], 3, None),
    ("manifest-missing", 1, ["manifest", "W/batch-no-manifest.h5"], 3, None),
    # ---- other importers
    ("idx-header-announces-20g", 1, ["import-idx", "--images", "W/idx-huge.idx", "--labels", "W/idx-labels.idx",
                                     "--out", "O/pool.h5"], 3, None),
    ("csv-ragged-row", 1, ["import", "--csv", "W/csv-ragged.csv", "--out", "O/pool.h5"], 3, None),
    # ---- command-line values
    ("budget-0", 2, sel("good.h5", "margin", "0"), 2, None),
    ("budget-negative", 1, sel("good.h5", "margin", "-3"), 2, None),
    ("budget-larger-than-pool", 1, sel("good.h5", "margin", "1000"), 0, "count:37"),
    ("budget-2^63", 1, sel("good.h5", "margin", "9223372036854775808"), 2, None),
    ("budget-not-a-number", 1, sel("good.h5", "margin", "5x"), 2, None),
    ("unknown-option", 2, sel("good.h5") + ["--frobnicate"], 2, None),
    ("repeated-option-last-wins", 1, sel("good.h5") + ["--budget", "2"], 0, "count:2"),
    ("unknown-strategy", 1, sel("good.h5", "no-such"), 2, None),
    ("seed-2^64", 1, sel("good.h5") + ["--seed", "18446744073709551616"], 2, None),
    ("memory-per-rank-garbage", 1, sel("good.h5") + ["--memory-per-rank", "2Q"], 2, None),
    # ---- environment
    ("out-folder-missing", 2, out_at("O/no/such/folder/batch.h5"), 4, None),
    ("out-is-a-folder", 1, out_at("O"), 4, None),
    ("out-read-only-fs", 1, out_at("/proc/alq-batch.h5"), 4, None),
    ("csv-same-as-pool", 1, sel("good.h5") + ["--csv", "W/good.h5"], 2, None),
]

# Inputs a case gets a private copy of in O (the commands update them in place).
COPIES = {"state.h5", "state-truncated.h5", "state-newer.h5", "state-no-format.h5", "state-annotator-index.h5",
          "state-rounds-count.h5"}
WRAP = ('"$@" 2> "$ALQ_T_DIR/err.$OMPI_COMM_WORLD_RANK"; echo $? > "$ALQ_T_DIR/rc.$OMPI_COMM_WORLD_RANK"')


def env():
    e = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
             OMPI_MCA_rmaps_base_oversubscribe="1")
    for k in ("ALQ_FAIL_AT", "ALQ_MPI_MAX_MESSAGE_BYTES"):
        e.pop(k, None)
    return e


def sha(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def snapshot(folder):
    return {n: sha(os.path.join(folder, n)) for n in sorted(os.listdir(folder))
            if os.path.isfile(os.path.join(folder, n))}


def run_case(a, case):
    """Runs one case; returns (per-rank codes, per-rank stderr, timed out, files left in O)."""
    name, ranks, argv, code, check = case
    out = os.path.join(a.workdir, "cases", name)
    rec = os.path.join(a.workdir, "ranks", name)
    for d in (out, rec):
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
    used = [x[2:] for x in argv if x.startswith("O/")]
    for f in used:
        if f in COPIES:
            shutil.copy(os.path.join(a.fixtures, f), os.path.join(out, f))
    before = snapshot(out)
    args = [x.replace("W/", a.fixtures + "/", 1) if x.startswith("W/") else
            out if x == "O" else x.replace("O/", out + "/", 1) if x.startswith("O/") else x for x in argv]
    if ranks == 1:
        cmd = ["sh", "-c", WRAP.replace("$OMPI_COMM_WORLD_RANK", "0"), "sh", a.alq] + args
    else:
        cmd = [a.mpiexec, "-n", str(ranks), "-x", "ALQ_T_DIR", "sh", "-c", WRAP, "sh", a.alq] + args
    p = subprocess.Popen(cmd, env=dict(env(), ALQ_T_DIR=rec), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        p.wait(timeout=TIMEOUT)
        timed_out = False
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()
        timed_out = True
    codes, errs = [], []
    for r in range(ranks):
        rc, er = os.path.join(rec, f"rc.{r}"), os.path.join(rec, f"err.{r}")
        t = open(rc).read().strip() if os.path.exists(rc) else ""
        codes.append(int(t) if t else None)
        errs.append(open(er, errors="replace").read() if os.path.exists(er) else "")
    after = snapshot(out)
    return codes, errs, timed_out, before, after, out


def spell(line, a, out):
    return re.sub(r"\.(tmp|old)\.[0-9]+", r".\1.PID", line.replace(out, "O").replace(a.fixtures, "W"))


def check_case(a, case, result, expected, batch_of_good):
    name, ranks, argv, code, check = case
    codes, errs, timed_out, before, after, out = result
    tag = f"[{name} -n {ranks}]"
    if timed_out:
        fail(f"{tag}: no exit within {TIMEOUT} s (a rank left waiting?)")
        return None
    if codes != [code] * ranks:
        fail(f"{tag}: exit codes per rank {codes}, expected {code} on every rank; rank 0: {errs[0].strip()[-300:]}")
    lines = [l for l in errs[0].splitlines() if l.strip()]
    errors = [l for l in lines if l.startswith("alq: error:")]
    for r in range(1, ranks):
        if errs[r].strip():
            fail(f"{tag}: rank {r} printed {errs[r].strip()[:200]!r}")
    if code == 0:
        if errors:
            fail(f"{tag}: succeeded but printed {errors}")
        if check and check.startswith("count:"):
            got = len(h5py.File(os.path.join(out, "batch.h5"), "r")["selected/ids"][:])
            if got != int(check[6:]):
                fail(f"{tag}: batch of {got} items, expected {check[6:]}")
        if check == "same-as-good":
            got = list(h5py.File(os.path.join(out, "batch.h5"), "r")["selected/ids"][:])
            if got != batch_of_good(argv):
                fail(f"{tag}: batch {got}, the contiguous pool gives {batch_of_good(argv)}")
        return "(succeeds)"
    if len(lines) != 1 or len(errors) != 1:
        fail(f"{tag}: rank 0 printed {len(lines)} lines, expected one 'alq: error:' line: {lines[:3]}")
        return errors[0] if errors else None
    got = spell(errors[0], a, out)
    # A catalogued line ending in "[...]" is the start of a longer one.
    if expected is not None and not (got == expected or expected.endswith("[...]") and got.startswith(expected[:-5])):
        fail(f"{tag}: printed\n    {got}\n  catalogued\n    {expected}")
    # no output, and every input (the private copies too) byte for byte as it was
    if set(after) - set(before):
        fail(f"{tag}: left {sorted(set(after) - set(before))} in its output folder")
    for f in before:
        if after.get(f) != before[f]:
            fail(f"{tag}: {f} changed")
    return got


def read_lines(path):
    lines = {}
    if os.path.exists(path):
        for l in open(path, encoding="utf-8"):
            if l.strip() and not l.startswith("#"):
                k, v = l.rstrip("\n").split("\t", 1)
                lines[k] = v
    return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--only", default="")
    ap.add_argument("--record", action="store_true", help="rewrite catalogue_lines.txt with what alq prints")
    ap.add_argument("--table", action="store_true", help="print the docs/reliability.md table and exit")
    a = ap.parse_args()
    lines_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalogue_lines.txt")
    expected = read_lines(lines_path)
    if a.table:
        for name, ranks, argv, code, check in CASES:
            shown = " ".join(x for x in argv if x not in ("--quiet",))
            print(f"| `{name}` | {ranks} | `alq {shown}` | {code} | "
                  f"{'`' + expected.get(name, '') + '`' if code else 'succeeds'} |")
        return 0
    a.workdir = os.path.abspath(a.workdir)
    shutil.rmtree(a.workdir, ignore_errors=True)
    a.fixtures = os.path.join(a.workdir, "W")
    build_fixtures(a.alq, a.fixtures)
    inputs = snapshot(a.fixtures)
    cases = [c for c in CASES if not a.only or c[0] in a.only.split(",")]
    good_batches = {}

    def batch_of_good(argv):
        key = tuple(argv)
        if key not in good_batches:
            ref = [x if not x.startswith("W/") else "W/good.h5" for x in argv]
            res = run_case(a, ("ref-" + str(len(good_batches)), 1, ref, 0, None))
            good_batches[key] = list(h5py.File(os.path.join(res[5], "batch.h5"), "r")["selected/ids"][:])
        return good_batches[key]

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: run_case(a, c), cases))
    recorded = {}
    for case, res in zip(cases, results):
        line = check_case(a, case, res, None if a.record else expected.get(case[0]), batch_of_good)
        recorded[case[0]] = line
        print(f"{case[0]:32s} -n {case[1]}  exit {res[0]}  {line}", flush=True)
    if a.record:
        with open(lines_path, "w", encoding="utf-8") as f:
            f.write("# tests/reliability/catalogue.py: the line rank 0 prints for each failing case\n"
                    "# (W: the fixtures' folder, O: the case's output folder).  Rewritten by --record.\n")
            for name, ranks, argv, code, check in CASES:
                line = recorded.get(name)
                if code and line:
                    f.write(f"{name}\t{line if len(line) < 300 else line[:200] + '[...]'}\n")
    for name, ranks, argv, code, check in cases:
        if code and not a.record and name not in expected:
            fail(f"[{name}]: no catalogued line in catalogue_lines.txt")
    for root, dirs, files in os.walk(os.path.join(a.workdir, "cases")):
        for n in files:
            if re.search(r"\.(tmp|old)\.[0-9]+$", n):
                fail(f"temporary file left behind: {os.path.join(root, n)}")
    if snapshot(a.fixtures) != inputs:
        changed = [n for n in inputs if snapshot(a.fixtures).get(n) != inputs[n]]
        fail(f"inputs changed: {changed}")
    print(f"{len(cases)} cases, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
