"""BADGE's skipped D^2 updates (issue 13) change nothing.

Debian's /usr/bin/python3 with numpy and h5py.  `alq select --strategy badge`
skips an item's D^2 update when a norm or center bound proves its computed
distance cannot lower D^2; `--no-prune` evaluates every item.  At 1, 2 and 3
ranks both must give the same batch, id for id and score bit for bit, as the
one-rank `--no-prune` run (which strategy-badge-reference holds to a numpy
reference).  The `badge:` line of --log-view must show that the skipping
path really skipped (a substantial share, by each of the three bounds) and the unskipped
one did not, so the test fails if skipping silently does nothing; the
skipped count depends on the items and centers only, so it must not change
with the rank count either.  The line's d2_digest (a hash of every lowered
D^2 with its id and step, summed) must also match: a wrong skip that leaves
one item's D^2 too high for a step changes it even when the batch survives.  Pools: a generated one with class structure,
its embeddings scaled by 1e-22 (float products underflow: the absolute part
of the rounding allowance) and by 1e15, and one of exact duplicates (distances
that tie at 0, then the uniform fallback).

    badge_skip.py --alq ALQ --mpiexec MPIEXEC --workdir DIR
"""
import argparse
import os
import re
import shutil
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchoral_util import Runner, check, finish, read_batch  # noqa: E402

RANKS = (1, 2, 3)
MIN_SKIPPED = 0.3  # the structured pool skips ~0.8 of its updates


def badge_line(stderr):
    m = re.search(r"^badge: (.*)$", stderr, re.M)
    if not m:
        return None
    return dict(kv.split("=", 1) for kv in m.group(1).split())


def run(R, P, pool, out, seed, B, extra):
    p = R.mpi(P, "select", "--pool", pool, "--out", out, "--quiet", "--log-view", "--strategy", "badge",
              "--budget", B, "--seed", seed, *extra)
    if not check(p.returncode == 0, f"{out} at {P} ranks: exit {p.returncode}: {p.stderr.strip()}"):
        return None, None
    st = badge_line(p.stderr)
    check(st is not None, f"{out}: no badge: line in --log-view")
    return read_batch(out), st


def compare(tag, P, got, want):
    ids, scores = got
    check(np.array_equal(ids, want[0]), f"{tag} at {P} ranks: batch {ids.tolist()} vs unskipped {want[0].tolist()}")
    check(ids.shape == want[0].shape and np.array_equal(scores.view(np.uint64), want[1].view(np.uint64)),
          f"{tag} at {P} ranks: scores differ from the unskipped 1-rank run")


def one_pool(R, wd, tag, pool, seed, B, min_skipped):
    """Skip vs --no-prune at every rank count; returns the skipped fraction."""
    want, counts, frac, digest = None, None, 0.0, None
    for P in RANKS:
        plain, st0 = run(R, P, pool, os.path.join(wd, f"{tag}-noskip-n{P}.h5"), seed, B, ["--no-prune"])
        skip, st1 = run(R, P, pool, os.path.join(wd, f"{tag}-skip-n{P}.h5"), seed, B, [])
        if plain is None or skip is None or st0 is None or st1 is None:
            continue
        if want is None:
            want, digest = plain, st0["d2_digest"]
        check(st0["d2_digest"] == digest and st1["d2_digest"] == digest,
              f"{tag} at {P} ranks: D^2 digests {st0['d2_digest']} (unskipped), {st1['d2_digest']} (skipped) "
              f"vs {digest} at 1 rank unskipped")
        compare(tag + " unskipped", P, plain, want)
        compare(tag + " skipped", P, skip, want)
        check(st0["skip"] == "no" and int(st0["skipped"]) == 0, f"{tag} at {P} ranks: --no-prune skipped: {st0}")
        check(st1["skip"] == "yes", f"{tag} at {P} ranks: skipping not in use: {st1}")
        check(int(st1["updates"]) == int(st0["updates"]) and
              int(st1["skipped"]) + int(st1["distances"]) == int(st1["updates"]),
              f"{tag} at {P} ranks: update counts do not add up: {st1} vs {st0}")
        c = (st1["updates"], st1["norm_skips"], st1["center_skips"], st1["factor_skips"])
        check(st0["lowered"] == st1["lowered"] and int(st1["lowered"]) <= int(st1["distances"]),
              f"{tag} at {P} ranks: lowered D^2 {st1['lowered']} (skipped) vs {st0['lowered']} (unskipped)")
        if counts is None:
            counts = c
        check(c == counts, f"{tag}: skip counts at {P} ranks {c} differ from 1 rank {counts}")
        frac = float(st1["skipped_fraction"])
        if min_skipped > 0:
            check(frac >= min_skipped, f"{tag} at {P} ranks: only {frac} of the updates skipped (want >= {min_skipped})")
            check(int(st1["norm_skips"]) > 0 and int(st1["center_skips"]) > 0 and int(st1["factor_skips"]) > 0,
                  f"{tag} at {P} ranks: a bound never skipped: {st1}")
    print(f"{tag}: skipped fraction {frac}, norm/center/factor skips {counts[1:] if counts else None}")
    return frac


def derived_pool(src, dst, scale=1.0, dup=0):
    with h5py.File(src, "r") as f, h5py.File(dst, "w") as g:
        emb, probs = f["embeddings"][:], f["probs"][:]
        rows = np.arange(len(emb)) % dup if dup else np.arange(len(emb))
        g["embeddings"] = (emb[rows] * np.float32(scale)).astype(np.float32)
        g["probs"] = probs[rows]
        g["ids"] = np.arange(len(emb), dtype=np.int64)
    return dst


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    R = Runner(a.alq, a.mpiexec)
    wd = a.workdir
    pool = os.path.join(wd, "pool.h5")
    R.serial("gen", "--out", pool, "--items", 6000, "--dim", 24, "--classes", 8, "--imbalance", 3,
             "--labeled", 30, "--seed", 11)
    for seed, B in ((1, 150), (6, 60)):
        one_pool(R, wd, f"structured-s{seed}", pool, seed, B, MIN_SKIPPED)
    # Scaled: the same geometry, so the same share should skip at 1e15; at
    # 1e-22 the allowance's absolute part (underflow) may forbid skips, but
    # the batch must still be the unskipped one.
    one_pool(R, wd, "scaled-1e15", derived_pool(pool, os.path.join(wd, "big.h5"), 1e15), 2, 80, MIN_SKIPPED)
    one_pool(R, wd, "scaled-1e-22", derived_pool(pool, os.path.join(wd, "tiny.h5"), 1e-22), 2, 80, 0)
    one_pool(R, wd, "duplicates", derived_pool(pool, os.path.join(wd, "dup.h5"), dup=7), 3, 20, 0)
    finish("badge_skip")


if __name__ == "__main__":
    main()
