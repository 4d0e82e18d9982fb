#!/usr/bin/python3
"""bench/hier_radius.py: how good is the hierarchical k-center (--diversity hier)?

For generated pools (alq gen), runs `alq select --strategy kcenter` with
--diversity exact (one MAXLOC allreduce per pick) and with --diversity hier at
several fan-ins, and reports the covering radius of each batch over the
candidate set (every unlabeled item): max over candidates of the distance to
the nearest of labeled + batch, in float64 numpy from the pool file.  The
figure of merit is radius(hier) / radius(exact greedy).  It also checks that
the hier batch is the same at every rank count (1..4 real, 6 and 8
oversubscribed) and records select-phase time and messages from --log-view.

    /usr/bin/python3 bench/hier_radius.py --alq build/alq [--out DIR] [--quick]

Output: a markdown table on stdout and DIR/hier_radius.jsonl.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

import h5py
import numpy as np

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_rmaps_base_oversubscribe="1")


def run(alq, P, pool, out, *opts):
    cmd = ["mpiexec", "--oversubscribe", "-n", str(P), alq, "select", "--pool", pool, "--out", out,
           "--log-view"] + [str(o) for o in opts]
    t0 = time.time()
    p = subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=3600)
    wall = time.time() - t0
    if p.returncode != 0:
        sys.exit("failed: %s\n%s" % (" ".join(cmd), p.stderr))
    m = re.search(r"^select\s+([\d.]+)\s+([\d.]+)\s+\S+\s+\d+\s+(\d+)\s+(\d+)", p.stderr, re.M)
    with h5py.File(out, "r") as f:
        ids = f["selected/ids"][:]
    return ids, {"wall": wall, "select_s": float(m.group(1)) if m else None,
                 "select_messages": int(m.group(3)) if m else None, "select_msg_bytes": int(m.group(4)) if m else None}


def radius(emb, cand, centers):
    x = emb[cand]
    c = emb[np.asarray(centers, dtype=np.int64)]
    xn = (x * x).sum(1)
    best = np.full(len(x), np.inf)
    for j0 in range(0, len(c), 1024):
        cj = c[j0:j0 + 1024]
        d2 = xn[:, None] + (cj * cj).sum(1)[None, :] - 2.0 * (x @ cj.T)
        np.minimum(best, d2.min(1), out=best)
    return float(np.sqrt(max(best.max(), 0.0)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--out", default="/tmp/alq-hier-radius")
    ap.add_argument("--quick", action="store_true", help="one small pool only")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    pools = [(100000, 32, 10, 1000, 100), (300000, 32, 10, 1000, 500)]
    budgets = {100000: [100, 500], 300000: [100, 500]}
    fan_ins = [2, 4, 8]
    if a.quick:
        pools, budgets, fan_ins = [(50000, 16, 10, 200, 7)], {50000: [100]}, [2, 8]
    rows = []
    log = open(os.path.join(a.out, "hier_radius.jsonl"), "w")
    for n, d, c, L, seed in pools:
        pool = os.path.join(a.out, "pool-%d-%d.h5" % (n, d))
        if not os.path.exists(pool):
            subprocess.run([a.alq, "gen", "--out", pool, "--items", str(n), "--dim", str(d), "--classes", str(c),
                            "--imbalance", "10", "--labeled", str(L), "--seed", str(seed)], check=True, env=ENV,
                           stdout=subprocess.DEVNULL)
        with h5py.File(pool, "r") as f:
            emb = f["embeddings"][:].astype(np.float64)
            lab = f["labeled/ids"][:]
        cand = np.setdiff1d(np.arange(n), lab)
        for B in budgets[n]:
            out = os.path.join(a.out, "b.h5")
            ex_ids, ex = run(a.alq, 2, pool, out, "--strategy", "kcenter", "--budget", B, "--diversity", "exact")
            r_ex = radius(emb, cand, np.concatenate([lab, ex_ids]))
            leaf = max(4096, 2 * B)
            for F in fan_ins:
                ids, st = run(a.alq, 2, pool, out, "--strategy", "kcenter", "--budget", B, "--diversity", "hier",
                              "--fan-in", F)
                same = True
                if F == fan_ins[-1]:  # the batch must not depend on the rank count
                    for P in (1, 3, 4, 6, 8):
                        other, _ = run(a.alq, P, pool, out, "--strategy", "kcenter", "--budget", B, "--diversity",
                                       "hier", "--fan-in", F)
                        same = same and np.array_equal(other, ids)
                assert len(np.unique(ids)) == B and not np.isin(ids, lab).any()
                r = radius(emb, cand, np.concatenate([lab, ids]))
                leaves = -(-len(cand) // leaf)
                levels, w = 1, leaves
                while w > 1:
                    w = -(-w // F)
                    levels += 1
                row = {"n": n, "dim": d, "labeled": L, "candidates": int(len(cand)), "budget": B, "fan_in": F,
                       "leaves": leaves, "greedy_levels": levels, "radius_exact": r_ex, "radius_hier": r,
                       "ratio": r / r_ex, "same_batch_P_1_2_3_4_6_8": same if F == fan_ins[-1] else None,
                       "exact_select_s": ex["select_s"], "exact_select_messages": ex["select_messages"],
                       "hier_select_s": st["select_s"], "hier_select_messages": st["select_messages"],
                       "hier_select_msg_bytes": st["select_msg_bytes"]}
                rows.append(row)
                log.write(json.dumps(row) + "\n")
                log.flush()
                print("n=%d B=%d F=%d leaves=%d levels=%d ratio=%.4f" % (n, B, F, leaves, levels, r / r_ex),
                      file=sys.stderr, flush=True)
    print("| N | candidates | B | fan-in | leaves | greedy levels | radius exact | radius hier | ratio | "
          "same batch P=1,2,3,4,6,8 | select s exact / hier (P=2) | select messages exact / hier |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| %d | %d | %d | %d | %d | %d | %.4f | %.4f | **%.4f** | %s | %.2f / %.2f | %s / %s |" % (
            r["n"], r["candidates"], r["budget"], r["fan_in"], r["leaves"], r["greedy_levels"], r["radius_exact"],
            r["radius_hier"], r["ratio"], {None: "", True: "yes", False: "NO"}[r["same_batch_P_1_2_3_4_6_8"]],
            r["exact_select_s"] or 0, r["hier_select_s"] or 0, r["exact_select_messages"],
            r["hier_select_messages"]))
    print("worst ratio: %.4f" % max(r["ratio"] for r in rows))


if __name__ == "__main__":
    main()
