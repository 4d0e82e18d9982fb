#!/usr/bin/python3
"""bench/kcenter_google.py: google/active-learning's published kcenter_greedy
on an alq pool, timed the way bench/kcenter_numpy.py times its baseline.

  GOOGLE_AL=/path/to/active-learning bench/kcenter_google.py --pool POOL.h5 \
      [--labeled FILE] --budget B [--first ID] --out OUT.json

GOOGLE_AL (or --google) is the user's checkout of
https://github.com/google/active-learning: their sampling_methods/
kcenter_greedy.py is imported from there as published, never copied into
alq.  It needs numpy and scikit-learn (Debian: python3-sklearn); the two
modules it imports (kcenter_greedy.py, sampling_def.py) import nothing else
of theirs (no absl), so no shim is needed.

Their kCenterGreedy runs on all rows (labeled rows included: their distance
to a center is 0, so they are never picked), with already_selected = the
labeled rows and model=None (their select_batch_ then falls back to the raw
features).  Row index = alq id in pools from `alq gen` (ids 0..N-1; checked).

From no labeled items their first pick is np.argmax(None) = row 0, where alq
(and kcenter_numpy.py) draw the first center by hash(seed, id).  So that the
batches can be compared, --first ID (alq's first pick) is given to them as
the only already-selected row and they pick the remaining B - 1; the time
includes their distance pass against that first center (the cost of one of
their steps).

Distances: sklearn's euclidean pairwise_distances on float32 rows (computed
with float64 accumulation in blocks), against alq's exact float32 formula:
on pools without near-ties the greedy picks are the same; where a step's
top two distances differ by less than float32 rounding they may not be (the
comparison in kcenter_bench.sh reports the first differing step).

Only select_batch_ is timed (the pool is in memory before).  Output JSON:
ids (alq's first pick first when --first is given), seconds.
"""
import argparse
import io
import json
import os
import sys
import time
from contextlib import redirect_stdout

import h5py
import numpy as np


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pool", required=True)
    ap.add_argument("--labeled", default="", help="labeled-set file (default: the pool's /labeled)")
    ap.add_argument("--budget", type=int, required=True)
    ap.add_argument("--first", type=int, default=-1, help="with no labeled items: the first center's id")
    ap.add_argument("--google", default=os.environ.get("GOOGLE_AL", ""),
                    help="checkout of google/active-learning (default: $GOOGLE_AL)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if not a.google or not os.path.isfile(os.path.join(a.google, "sampling_methods", "kcenter_greedy.py")):
        sys.exit("kcenter_google: set GOOGLE_AL (or --google) to a checkout of google/active-learning "
                 "(sampling_methods/kcenter_greedy.py not found in %r)" % a.google)
    sys.path.insert(0, a.google)
    from sampling_methods.kcenter_greedy import kCenterGreedy  # theirs, as published

    with h5py.File(a.labeled or a.pool, "r") as f:
        labeled = np.sort(np.asarray(f["labeled/ids"][...], dtype=np.int64)) if "labeled" in f else \
            np.zeros(0, np.int64)
    with h5py.File(a.pool, "r") as f:
        X = np.ascontiguousarray(f["embeddings"][...], dtype=np.float32)
        ids = np.asarray(f["ids"][...], dtype=np.int64) if "ids" in f else np.arange(X.shape[0])
    if not np.array_equal(ids, np.arange(X.shape[0])):
        sys.exit("kcenter_google: the pool's ids are not 0..N-1 (row index = id is assumed)")
    selected, budget = [int(i) for i in labeled], a.budget
    if not selected:
        if a.first < 0:
            sys.exit("kcenter_google: with no labeled items, give --first (alq's first pick)")
        selected, budget = [a.first], a.budget - 1

    sampler = kCenterGreedy(X, None, seed=0)
    quiet = io.StringIO()  # their progress prints
    t0 = time.perf_counter()
    with redirect_stdout(quiet):
        batch = sampler.select_batch_(model=None, already_selected=selected, N=budget)
    secs = time.perf_counter() - t0
    picks = ([a.first] if not labeled.size else []) + [int(i) for i in batch]
    with open(a.out, "w") as f:
        json.dump({"ids": picks, "seconds": secs, "budget": a.budget, "labeled": int(labeled.size),
                   "first_given": not labeled.size, "google_al": os.path.abspath(a.google)}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
