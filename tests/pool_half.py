"""float16 pools: half the bytes, the same batch (issue 16 goal 3; docs/format.md).

A pool whose /embeddings are IEEE half (numpy float16, written by h5py; with
subnormal halves, negative zeros and a few far rows) is read
by alq's own widening (alq/half.h), and the exact k-center keeps its
candidates as halves.  Its float32 copy (the same values) must give the same
batch, ids and score bits, for kcenter (lazy, --no-prune and from 0 labeled), margin-kcenter
and --diversity hier, at 1-3 ranks, and so must a pool list of float16
shards.  Independent of alq's float32 path, each pick's score is checked
against numpy's float64 distance to its nearest center (labeled items, then
the earlier picks), and each pick against numpy's farthest unselected item.
--log-view's kcenter line says the rows stayed halves, and its unpruned
bytes that the steps read half as much.  A NaN or an infinity in a float16
pool is refused with one line naming the file, dataset and row, whether
kcenter's rows are mapped from the file (tests/pool_mapped.py) or copied.
"""
import os
import re
import subprocess

import h5py
import numpy as np

from pool_cli_util import Result, check, expect_error, finish, parse_args

args = parse_args(extra=("--mpiexec",))


def path(name):
    return os.path.join(args.workdir, name)


N, D, C, B, L = 4000, 40, 5, 40, 30  # D = 40: every vector path has a tail
rng = np.random.default_rng(16)
emb = rng.normal(size=(N, D)).astype(np.float16)
emb[:, 3] = (rng.normal(size=N) * 1e-6).astype(np.float16)  # subnormal halves (below 2^-14)
emb[::7, 5] = np.float16(-0.0)
emb[::97, 7] = np.float16(100.0)  # a few far rows (exponent 6)
probs = rng.dirichlet(np.ones(C), size=N).astype(np.float32)
labeled = np.sort(rng.choice(N, L, replace=False)).astype(np.int64)
check(((emb[:, 3].view(np.uint16) & 0x7C00) == 0).sum() > N // 2, "the pool holds subnormal halves")


def write_pool(name, rows, lo=0, hi=N):
    with h5py.File(path(name), "w") as f:
        f["embeddings"], f["probs"] = rows[lo:hi], probs[lo:hi]
        f["ids"] = np.arange(lo, hi, dtype=np.int64)


write_pool("f16.h5", emb)
write_pool("f32.h5", emb.astype(np.float32))
write_pool("part0.h5", emb, 0, 1500)
write_pool("part1.h5", emb, 1500, N)
with open(path("f16.alqlist"), "w") as f:
    f.write("# alq pool list 1\npart0.h5\npart1.h5\n")
with h5py.File(path("labeled.h5"), "w") as f:
    f["labeled/ids"], f["labeled/labels"] = labeled, rng.integers(0, C, L).astype(np.int32)


NO_LABELED = "(no labeled set)"  # in a run's options: select from 0 labeled


def select(pool, ranks, *opts):
    tag = re.sub(r"[^a-z0-9]+", "-", f"{pool}-{ranks}-{'-'.join(opts)}")
    out = path(f"b-{tag}.h5")
    labeled_opts = [] if NO_LABELED in opts else ["--labeled", path("labeled.h5")]
    opts = [o for o in opts if o != NO_LABELED]
    cmd = [args.mpiexec, "-n", str(ranks), args.alq, "select", "--pool", path(pool), *labeled_opts,
           "--budget", str(B), "--seed", "4", "--out", out, "--quiet", "--log-view", *opts]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    check(r.returncode == 0, f"{' '.join(cmd[2:])}: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode:
        return None, None, r.stderr
    with h5py.File(out, "r") as f:
        return f["selected/ids"][:], f["selected/scores"][:], r.stderr


def unpruned_bytes(log):
    m = re.search(r"^kcenter: .*unpruned_bytes=(\d+)", log, re.M)
    return int(m.group(1)) if m else None


runs = {
    "kcenter": ["--strategy", "kcenter"],
    "kcenter --no-prune": ["--strategy", "kcenter", "--no-prune"],
    "kcenter from 0 labeled": ["--strategy", "kcenter", NO_LABELED],  # the first center's pass
    "margin-kcenter": ["--strategy", "margin-kcenter", "--candidates", "400"],
    "kcenter hier": ["--strategy", "kcenter", "--diversity", "hier"],
}
x64 = emb.astype(np.float64)
for what, opts in runs.items():
    ref_ids, ref_scores, ref_log = select("f32.h5", 1, *opts)
    if ref_ids is None:
        continue
    for pool in ("f16.h5", "f16.alqlist"):
        for ranks in (1, 2, 3):
            ids, scores, log = select(pool, ranks, *opts)
            if ids is None:
                continue
            check(np.array_equal(ids, ref_ids), f"{what} on {pool} at {ranks} rank(s): another batch than float32's")
            check(np.array_equal(scores.view(np.uint64), ref_scores.view(np.uint64)),
                  f"{what} on {pool} at {ranks} rank(s): score bits differ from float32's")
            rows = re.search(r"^kcenter: .* rows=(\w+)", log, re.M)
            check(what == "kcenter hier" or (rows is not None and rows.group(1) == "float16"),
                  f"{what} on {pool} at {ranks} rank(s): k-center rows {rows.group(1) if rows else None}, not float16")
            if what == "kcenter --no-prune" and ranks == 1:
                b16, b32 = unpruned_bytes(log), unpruned_bytes(ref_log)
                check(b16 is not None and b32 is not None and 2 * b16 == b32,
                      f"--no-prune steps on {pool} read {b16} bytes, float32's {b32}: not half")
    if what in ("kcenter", "kcenter --no-prune"):
        # numpy float64 greedy check of every pick (exact k-center only)
        centers = list(labeled)
        unsel = np.ones(N, bool)
        unsel[labeled] = False
        near = np.min(((x64[:, None, :] - x64[labeled][None, :, :]) ** 2).sum(-1), axis=1)
        for t, (i, s) in enumerate(zip(ref_ids, ref_scores)):
            far = near[unsel].max()
            check(unsel[i] and near[i] >= far * (1 - 1e-4), f"{what}: pick {t} (id {i}) is not the farthest")
            check(abs(s - np.sqrt(near[i])) <= 1e-4 * np.sqrt(near[i]) + 1e-6,
                  f"{what}: pick {t} score {s} against numpy's {np.sqrt(near[i])}")
            unsel[i] = False
            near = np.minimum(near, ((x64 - x64[i]) ** 2).sum(1))

# Bad input on halves: an infinity or a NaN in a float16 pool is refused as
# in a float32 one (exit 3, one line naming the file, the dataset and the
# row), whether the rows stay halves (kcenter, checked on the stored bits) or
# are widened (margin-kcenter's score reads the floats).
for what, value, row in (("nan", np.nan, 1234), ("-inf", -np.inf, 2777)):
    bad = emb.copy()
    bad[row, 9] = value
    write_pool(f"bad{what}.h5", bad)
    # kcenter twice: its rows mapped in place from the file, and copied (ALQ_MAP=0)
    for strategy, mapped in (("kcenter", "1"), ("kcenter", "0"), ("margin-kcenter", "1")):
        cmd = [args.mpiexec, "-n", "2", args.alq, "select", "--pool", path(f"bad{what}.h5"), "--strategy", strategy,
               "--budget", str(B), "--out", path("bad-out.h5"), "--quiet"]
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, ALQ_MAP=mapped))
        expect_error(Result(r.returncode, r.stdout, r.stderr), 3,
                     f"bad{what}.h5: /embeddings row {row} (id {row}) column 9 is {what}",
                     what=f"{strategy} (ALQ_MAP={mapped}) on a float16 pool with {what}")

finish("pool-half")
