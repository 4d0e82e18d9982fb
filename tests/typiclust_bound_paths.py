"""TypiClust's neighbour search on every bound-GEMM path (alq/gemm.h).

The bound GEMM only decides which pairs alq_dot evaluates; the bf16 path
(oneDNN, a looser allowance) lets other pairs through than the f32 paths
(OpenBLAS, alq's AVX-512 kernel).  Either way the k nearest distances, hence the batch, must be
those of the all-exact pass: this runs `alq select --strategy typiclust` with
ALQ_BOUND_GEMM forced to each path at 1, 2 and 3 ranks on a pool whose
clusters exceed the 512-member own-pair tiles and the 4,096-row blocks, and
requires the same ids and score bits everywhere, and the ids of the numpy
brute force (strategies_cluster.typiclust_reference).  --log-view must name
the path that ran; on a machine without bf16 both runs are f32 and the test
still checks rank invariance and the reference.

    typiclust_bound_paths.py --alq ALQ --mpiexec MPIEXEC --workdir DIR
"""
import argparse
import os
import re
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from anchoral_util import Runner, check, finish, read_batch, read_pool  # noqa: E402
from strategies_cluster import gen_pool, typiclust_reference  # noqa: E402

PATHS = ("openblas-f32", "onednn-bf16", "avx512-f32")
RANKS = (1, 2, 3)


def run(R, wd, pool, path, P):
    R.env["ALQ_BOUND_GEMM"] = path
    out = os.path.join(wd, f"{path}-n{P}.h5")
    p = R.mpi(P, "select", "--pool", pool, "--out", out, "--quiet", "--log-view", "--strategy", "typiclust",
              "--budget", 2, "--seed", 3)
    if not check(p.returncode == 0, f"{path} at {P} ranks: exit {p.returncode}: {p.stderr.strip()}"):
        return None
    m = re.search(r"typiclust: clusters=.* exact_distances=(\d+) .* bound_gemm=(\S+)", p.stderr)
    if not check(m is not None, f"{path} at {P} ranks: no typiclust --log-view line in {p.stderr.strip()}"):
        return None
    ran = m.group(2)
    check(ran == path or ran == "openblas-f32", f"{path} at {P} ranks: ran {ran}")
    return read_batch(out), ran, int(m.group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    R = Runner(a.alq, a.mpiexec)
    # 9,000 items in 2 classes, d = 32: two clusters of ~4,500 (over a block
    # and several own tiles at 1 rank), K = B = 2, no labeled items.
    pool = gen_pool(R, a.workdir, "pool", 9000, 32, 2, 0, 11)
    first, exact = None, {}
    for path in PATHS:
        for P in RANKS:
            got = run(R, a.workdir, pool, path, P)
            if got is None:
                continue
            (ids, scores), ran, n_exact = got
            exact[(ran, P)] = n_exact
            if first is None:
                first = (ids, scores)
                continue
            check(np.array_equal(ids, first[0]), f"{path} at {P} ranks: ids {ids.tolist()} vs {first[0].tolist()}")
            check(np.array_equal(scores.view(np.uint64), first[1].view(np.uint64)),
                  f"{path} at {P} ranks: scores {scores.tolist()} vs {first[1].tolist()}")
    if first is not None:
        ref, _, amb = typiclust_reference(read_pool(pool), 2, 3)
        check(amb == 0, f"the fixture has {amb} ambiguous k-means++ draw(s)")
        check(np.array_equal(first[0], ref), f"alq {first[0].tolist()} vs reference {ref.tolist()}")
    print("exact distances by (path, ranks):", exact)
    finish("typiclust_bound_paths")


if __name__ == "__main__":
    main()
