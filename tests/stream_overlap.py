#!/usr/bin/python3
"""tests/stream_overlap.py: reads overlapped with compute (workers/stream.c)
change nothing but the time, and fail like the serial pass.

Run with Debian's /usr/bin/python3 (numpy, h5py):
    stream_overlap.py --alq build/alq --mpiexec mpiexec --workdir DIR

On an HDF5 pool written with h5py (many chunks per rank: --chunk-rows 97),
at 1, 2 and 3 ranks, each configuration runs twice, with the overlap (the
default) and with ALQ_OVERLAP=0, and asserts:
  * `--log-view` says which path ran (overlapped passes and chunks, or the
    serial reason ALQ_OVERLAP=0);
  * the batch (/selected/ids and the bits of /selected/scores) is the same
    with and without the overlap, and the same at every rank count;
  * margin's batch is numpy's top B by 1 - (p1 - p2) among the unlabeled rows
    (higher score, then lower id first), scores equal to 1e-12.
Configurations: margin (a plain score pass), margin-kcenter with AnchorAL
(the retrieval pass, whose floors are shared between ranks after every
chunk) and kcenter (every embedding kept).  A `gen:` pool must run serially
and say why.

Errors raised on the compute thread: a NaN embedding (seen by the AnchorAL
retrieval pass) and a row of probabilities that does not sum to 1 (seen by
margin's pass), each in a late chunk of the last rank, and a NaN in the
first chunk of rank 0.  Every run is bounded by `timeout`; each must exit
with 3 (input error) and print exactly one `alq: error:` line naming the
row and value, the same line with and without the overlap and at every rank
count, and leave no batch file.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys

import h5py
import numpy as np

RUN_TIMEOUT = 120
N, D, C = 6000, 16, 5
CHUNK = 97
RANKS = (1, 2, 3)

failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


class Runner:
    def __init__(self, alq, mpiexec):
        self.alq, self.mpiexec = alq, mpiexec

    def run(self, P, args, overlap):
        env = dict(os.environ)
        env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
                   OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
        env.pop("ALQ_OVERLAP", None)
        if not overlap:
            env["ALQ_OVERLAP"] = "0"
        cmd = ["timeout", "-k", "10", str(RUN_TIMEOUT), self.mpiexec, "--allow-run-as-root", "--oversubscribe",
               "-n", str(P), self.alq] + args
        try:
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT + 30)
        except subprocess.TimeoutExpired:
            return 124, "python-side timeout"
        return p.returncode, p.stderr


def make_pool(seed):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(N, D)).astype(np.float32)
    logits = rng.normal(size=(N, C)) * 2.0
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = (p / p.sum(axis=1, keepdims=True)).astype(np.float32)
    ids = np.arange(N, dtype=np.int64) * 3 + 7
    labels = rng.integers(0, C, size=N).astype(np.int32)
    lab_rows = np.sort(rng.choice(N, size=60, replace=False))
    return dict(emb=emb, probs=probs, ids=ids, labels=labels, lab_rows=lab_rows)


def write_pool(path, a):
    with h5py.File(path, "w") as f:
        f.create_dataset("embeddings", data=a["emb"], chunks=(CHUNK, D))
        f.create_dataset("probs", data=a["probs"], chunks=(CHUNK, C))
        f.create_dataset("ids", data=a["ids"])
        f.create_dataset("labels", data=a["labels"])
        g = f.create_group("labeled")
        g.create_dataset("ids", data=a["ids"][a["lab_rows"]])
        g.create_dataset("labels", data=a["labels"][a["lab_rows"]])


CONFIGS = {
    "margin": ["--strategy", "margin", "--budget", "40"],
    "anchoral": ["--strategy", "margin-kcenter", "--budget", "30", "--subpool", "anchoral",
                 "--anchors-per-class", "4", "--neighbors", "60", "--subpool-size", "800", "--candidates", "200"],
    "kcenter": ["--strategy", "kcenter", "--budget", "25"],
}


def select_args(pool, config, out):
    return (["select", "--pool", pool, "--seed", "3", "--chunk-rows", str(CHUNK), "--out", out, "--log-view"]
            + CONFIGS[config])


def read_batch(path):
    with h5py.File(path, "r") as f:
        return np.asarray(f["selected/ids"][...]), np.asarray(f["selected/scores"][...])


def stream_line(err):
    for line in err.splitlines():
        if line.startswith("stream: "):
            return line
    return None


def check_path(err, overlap, tag):
    line = stream_line(err)
    if line is None:
        fail("%s: no 'stream:' line in --log-view" % tag)
        return
    if overlap:
        m = re.search(r"reads overlapped with compute: (\d+) pass\(es\), (\d+) chunks", line)
        if not m or int(m.group(1)) < 1 or int(m.group(2)) < 2:
            fail("%s: the overlapped path did not run: %s" % (tag, line))
    elif "reads not overlapped" not in line or "(ALQ_OVERLAP=0)" not in line:
        fail("%s: the serial path (ALQ_OVERLAP=0) did not run: %s" % (tag, line))


def margin_reference(a, budget):
    p = a["probs"].astype(np.float64)
    s = -np.sort(-p, axis=1)
    score = 1.0 - (s[:, 0] - s[:, 1])
    unl = np.setdiff1d(np.arange(N), a["lab_rows"])
    order = np.lexsort((a["ids"][unl], -score[unl]))
    rows = unl[order[:budget]]
    return a["ids"][rows], score[rows]


def part_same_batch(r, wd, a, pool):
    ref_ids, ref_scores = margin_reference(a, 40)
    for config in CONFIGS:
        first = None
        for P in RANKS:
            for overlap in (False, True):
                tag = "%s P=%d %s" % (config, P, "overlap" if overlap else "ALQ_OVERLAP=0")
                out = os.path.join(wd, "%s-%d-%d.h5" % (config, P, overlap))
                code, err = r.run(P, select_args(pool, config, out), overlap)
                if code != 0:
                    fail("%s: exit %d: %s" % (tag, code, err[-2000:]))
                    continue
                check_path(err, overlap, tag)
                ids, scores = read_batch(out)
                if first is None:
                    first = (ids, scores, tag)
                elif not (np.array_equal(ids, first[0]) and scores.tobytes() == first[1].tobytes()):
                    fail("%s: batch differs from %s's" % (tag, first[2]))
                if config == "margin" and not (np.array_equal(ids, ref_ids)
                                               and np.allclose(scores, ref_scores, rtol=0, atol=1e-12)):
                    fail("%s: batch is not numpy's top %d by margin" % (tag, len(ref_ids)))
        print("same batch: %s at %s ranks, with and without the overlap" % (config, RANKS), flush=True)
    # gen: pools run serially and say why
    out = os.path.join(wd, "gen.h5")
    code, err = r.run(2, ["select", "--pool", "gen:items=3000,dim=8,classes=4,imbalance=2,seed=1", "--strategy",
                          "margin", "--budget", "10", "--chunk-rows", "97", "--out", out, "--log-view"], True)
    line = stream_line(err) or ""
    if code != 0 or "reads not overlapped" not in line or "gen:" not in line:
        fail("gen: pool: exit %d, expected a serial pass naming gen: in %r" % (code, line))


BAD = [
    # (name, config, mutate, regex the error line must match)
    ("nan-embedding-late", "anchoral", lambda a: a["emb"].__setitem__((N - 47, 3), np.nan),
     r"/embeddings row %d \(id %d\) column 3 is nan" % (N - 47, (N - 47) * 3 + 7)),
    ("probs-sum-late", "margin", lambda a: a["probs"].__setitem__((N - 130, 0), a["probs"][N - 130, 0] + 0.5),
     r"/probs row %d \(id %d\) sums to" % (N - 130, (N - 130) * 3 + 7)),
    ("nan-embedding-first", "kcenter", lambda a: a["emb"].__setitem__((5, 0), np.nan),
     r"/embeddings row 5 \(id 22\) column 0 is nan"),
]


def part_errors(r, wd):
    for name, config, mutate, want in BAD:
        a = make_pool(11)
        mutate(a)
        pool = os.path.join(wd, name + ".h5")
        write_pool(pool, a)
        lines = {}
        for P in RANKS:
            for overlap in (False, True):
                tag = "%s P=%d %s" % (name, P, "overlap" if overlap else "ALQ_OVERLAP=0")
                outdir = os.path.join(wd, "%s-%d-%d" % (name, P, overlap))
                shutil.rmtree(outdir, ignore_errors=True)
                os.makedirs(outdir)
                out = os.path.join(outdir, "batch.h5")
                code, err = r.run(P, select_args(pool, config, out), overlap)
                errs = [l for l in err.splitlines() if l.startswith("alq: error:")]
                if code == 124:
                    fail("%s: hung (timeout)" % tag)
                elif code != 3:
                    fail("%s: exit %d, want 3: %s" % (tag, code, err[-1500:]))
                if len(errs) != 1:
                    fail("%s: %d 'alq: error:' lines, want 1: %s" % (tag, len(errs), err[-1500:]))
                elif not re.search(want, errs[0]) or pool not in errs[0]:
                    fail("%s: error line %r does not name %s and /%s/" % (tag, errs[0], pool, want))
                else:
                    lines[tag] = errs[0]
                if os.listdir(outdir):
                    fail("%s: left files behind: %s" % (tag, os.listdir(outdir)))
        if len(set(lines.values())) > 1:
            fail("%s: the error line differs between runs: %s" % (name, sorted(set(lines.values()))))
        print("error %s: exit 3, one line, the same at %s ranks with and without the overlap" % (name, RANKS),
              flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    r = Runner(a.alq, a.mpiexec)
    arrays = make_pool(11)
    pool = os.path.join(a.workdir, "pool.h5")
    write_pool(pool, arrays)
    part_same_batch(r, a.workdir, arrays, pool)
    part_errors(r, a.workdir)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("stream-overlap: all passed")


if __name__ == "__main__":
    main()
