"""float16 rows taken in place from the pool file (workers/scan.c, pool/h5_map.c).

The exact k-center keeps every unlabeled row.  Over a contiguous float16
/embeddings it references the file's own pages (mmap) instead of copying
the rows, and flags the labeled rows among them instead of squeezing them
out.  This checks, at 1-4 ranks (1-3 where marked), that:
- the mapped path ran (--log-view's `candidate rows:` line) and gives the
  copy path's batch (ALQ_MAP=0), ids and score bits, for kcenter, --no-prune,
  from 0 labeled and with small chunks (overlapped reads); the pool has
  labeled rows inside every rank's shard and ids that do not follow the rows,
  so the copy path's candidates come in another order than the mapped ones;
- selecting every unlabeled row (1-3 ranks) of a pool whose unlabeled rows repeat
  labeled ones never picks a labeled row (they tie at distance 0), and the
  k-center counts only the unlabeled rows as candidates;
- 3 rows at 4 ranks (an empty shard) run the mapped path on every rank;
- a chunked and a gzip-compressed copy of the pool (1-2 ranks) fall back to the copy
  path, say why, and give the same batch;
- a NaN or an infinity in a mapped row (also in a late chunk; 1-3 ranks) is refused
  with one line naming the file, the dataset and the row, exit 3.
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


N, D, B = 6000, 24, 25
rng = np.random.default_rng(31)
emb = rng.normal(size=(N, D)).astype(np.float16)
emb[::11, 2] = (rng.normal(size=len(emb[::11])) * 1e-6).astype(np.float16)  # subnormal halves
ids = rng.permutation(N * 3)[:N].astype(np.int64)  # ids unrelated to the rows' order
labeled_rows = np.sort(rng.choice(N, 60, replace=False))
check(all(((labeled_rows >= lo) & (labeled_rows < lo + N // 3)).any() for lo in (0, N // 3, 2 * N // 3)),
      "labeled rows lie inside every shard at 3 ranks")


def write_pool(name, rows, **storage):
    with h5py.File(path(name), "w") as f:
        f.create_dataset("embeddings", data=rows, **storage)
        f["ids"] = ids
    return name


with h5py.File(path("labeled.h5"), "w") as f:
    order = np.argsort(ids[labeled_rows])
    f["labeled/ids"] = ids[labeled_rows][order]
    f["labeled/labels"] = np.zeros(len(labeled_rows), np.int32)
pools = {"contiguous": write_pool("f16.h5", emb),
         "chunked": write_pool("chunked.h5", emb, chunks=(500, D)),
         "compressed": write_pool("gzip.h5", emb, chunks=(1000, D), compression="gzip")}
with h5py.File(path("f16.h5"), "r") as f:
    check(f["embeddings"].chunks is None and f["embeddings"].id.get_offset() is not None,
          "f16.h5 stores /embeddings contiguous and allocated")


def select(pool, ranks, opts, mapped=True):
    tag = re.sub(r"[^a-z0-9]+", "-", f"{pool}-{ranks}-{'-'.join(opts)}-{int(mapped)}")
    out = path(f"b-{tag}.h5")
    cmd = [args.mpiexec, "-n", str(ranks), args.alq, "select", "--pool", path(pool), "--strategy", "kcenter",
           "--budget", str(B), "--seed", "9", "--out", out, "--quiet", "--log-view", *opts]
    env = dict(os.environ, ALQ_MAP="1" if mapped else "0")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    check(r.returncode == 0, f"{' '.join(cmd[2:])} ALQ_MAP={env['ALQ_MAP']}: exit {r.returncode}: {r.stderr.strip()}")
    if r.returncode:
        return None
    rows = re.search(r"^candidate rows: (.*)$", r.stderr, re.M)
    with h5py.File(out, "r") as f:
        return f["selected/ids"][:], f["selected/scores"][:].view(np.uint64), rows.group(1) if rows else None


MAPPED = "float16 as stored, mapped from the pool file in place (no copy)"
runs = {
    "kcenter": ["--labeled", path("labeled.h5")],
    "kcenter --no-prune": ["--labeled", path("labeled.h5"), "--no-prune"],
    "kcenter from 0 labeled": [],
    "kcenter, 700-row chunks": ["--labeled", path("labeled.h5"), "--chunk-rows", "700"],
}
first = None
for what, opts in runs.items():
    for ranks in (1, 2, 3, 4):
        mapped, copied = select(pools["contiguous"], ranks, opts), select(pools["contiguous"], ranks, opts, False)
        if mapped is None or copied is None:
            continue
        where = f"{what} at {ranks} rank(s)"
        check(mapped[2] == MAPPED, f"{where}: candidate rows '{mapped[2]}', not mapped in place")
        check(copied[2] is not None and "not mapped: ALQ_MAP=0" in copied[2],
              f"{where}, ALQ_MAP=0: candidate rows '{copied[2]}', not copied")
        check(len(mapped[0]) == B and not np.isin(mapped[0], ids[labeled_rows]).any(),
              f"{where}: the batch has {len(mapped[0])} items or holds a labeled one")
        check(np.array_equal(mapped[0], copied[0]), f"{where}: the mapped path's ids differ from the copy path's")
        check(np.array_equal(mapped[1], copied[1]), f"{where}: the mapped path's score bits differ from the copy's")
        if what == "kcenter":
            first = first if first is not None else mapped
            check(np.array_equal(mapped[0], first[0]) and np.array_equal(mapped[1], first[1]),
                  f"{where}: another batch than at 1 rank")
        if what == "kcenter --no-prune" and first is not None:
            check(np.array_equal(mapped[0], first[0]) and np.array_equal(mapped[1], first[1]),
                  f"{where}: --no-prune gives another batch than the lazy pass")

# Every unlabeled row picked, from a pool where unlabeled rows repeat labeled
# ones: the last picks tie at distance 0 with the labeled rows the mapped
# candidates hold, so one would be picked if it were not skipped (ties go
# to the lower id, and the repeats have higher ids).
small, L_small = 900, 40
dup = emb[:small].copy()
small_labeled = np.sort(rng.choice(small // 2, L_small, replace=False))
dup[small // 2 + np.arange(L_small)] = dup[small_labeled]
small_ids = np.arange(small, dtype=np.int64)
with h5py.File(path("dup.h5"), "w") as f:
    f["embeddings"], f["ids"] = dup, small_ids
    f["labeled/ids"], f["labeled/labels"] = small_labeled, np.zeros(L_small, np.int32)
for ranks in (1, 2, 3):
    for opts in ([], ["--no-prune"]):
        outs = []
        for mapped in (True, False):
            out = path(f"dup-{ranks}-{mapped}-{len(opts)}.h5")
            cmd = [args.mpiexec, "-n", str(ranks), args.alq, "select", "--pool", path("dup.h5"), "--strategy",
                   "kcenter", "--budget", str(small - L_small), "--out", out, "--quiet", "--log-view", *opts]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                               env=dict(os.environ, ALQ_MAP="1" if mapped else "0"))
            check(r.returncode == 0, f"{' '.join(cmd[2:])}: exit {r.returncode}: {r.stderr.strip()}")
            if r.returncode:
                continue
            cands = re.search(r"^kcenter: .* candidates=(\d+)", r.stderr, re.M)
            check(cands is not None and int(cands.group(1)) == small - L_small,
                  f"every row, {ranks} rank(s) {opts} ALQ_MAP={int(mapped)}: kcenter counts "
                  f"{cands.group(1) if cands else None} candidates, not {small - L_small}")
            with h5py.File(out, "r") as f:
                outs.append((f["selected/ids"][:], f["selected/scores"][:].view(np.uint64)))
        if len(outs) < 2:
            continue
        picked = outs[0][0]
        check(len(picked) == small - L_small and not np.isin(picked, small_labeled).any(),
              f"every row, {ranks} rank(s) {opts}: {len(picked)} picks, labeled ones among them: "
              f"{picked[np.isin(picked, small_labeled)][:5]}")
        check(np.array_equal(outs[0][0], outs[1][0]) and np.array_equal(outs[0][1], outs[1][1]),
              f"every row, {ranks} rank(s) {opts}: the mapped batch differs from the copy path's")

# More ranks than rows: a rank with an empty shard takes the mapped path's
# reads with the others (none is left in a collective read).
with h5py.File(path("tiny.h5"), "w") as f:
    f["embeddings"] = emb[:3]
    f["labeled/ids"], f["labeled/labels"] = np.array([1], np.int64), np.zeros(1, np.int32)
tiny = {}
for mapped in ("1", "0"):
    cmd = [args.mpiexec, "-n", "4", args.alq, "select", "--pool", path("tiny.h5"), "--strategy", "kcenter",
           "--budget", "2", "--out", path(f"tiny-{mapped}.h5"), "--quiet", "--log-view"]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=dict(os.environ, ALQ_MAP=mapped))
    except subprocess.TimeoutExpired:
        check(False, f"3 rows at 4 ranks, ALQ_MAP={mapped}: still running after 120 s (a rank left in a collective?)")
        continue
    check(r.returncode == 0 and "min 0" in r.stderr and (mapped == "0") == ("not mapped: ALQ_MAP=0" in r.stderr)
          and (mapped == "0" or MAPPED in r.stderr),
          f"3 rows at 4 ranks, ALQ_MAP={mapped}: exit {r.returncode}, or an empty shard / the path not in: {r.stderr}")
    if r.returncode == 0:
        with h5py.File(path(f"tiny-{mapped}.h5"), "r") as f:
            tiny[mapped] = f["selected/ids"][:].tolist()
check(tiny.get("1") == tiny.get("0") and sorted(tiny.get("1") or []) == [0, 2],
      f"3 rows at 4 ranks: batches {tiny}, want rows 0 and 2, the same both ways")

# Chunked or compressed rows are not one run of bytes in the file: the copy path runs, with the same batch.
for kind, why in (("chunked", "chunked dataset"), ("compressed", "chunked dataset")):
    for ranks in (1, 2):
        r = select(pools[kind], ranks, runs["kcenter"])
        if r is None or first is None:
            continue
        check(r[2] is not None and f"not mapped: {why}" in r[2],
              f"{kind} pool at {ranks} rank(s): candidate rows '{r[2]}', want 'not mapped: {why}'")
        check(np.array_equal(r[0], first[0]) and np.array_equal(r[1], first[1]),
              f"{kind} pool at {ranks} rank(s): another batch than the mapped contiguous pool's")

# Bad input in mapped rows: one line, exit 3, at every rank count (also when
# the row lies in a late chunk, read while another is validated).
for what, value, row in (("nan", np.nan, 4321), ("inf", np.inf, 5999), ("-inf", -np.inf, 17)):
    bad = emb.copy()
    bad[row, 5] = value
    name = write_pool(f"bad{what}.h5", bad)
    for ranks in (1, 2, 3):
        for chunk in ("64", "100000"):
            cmd = [args.mpiexec, "-n", str(ranks), args.alq, "select", "--pool", path(name), "--strategy", "kcenter",
                   "--labeled", path("labeled.h5"), "--budget", str(B), "--chunk-rows", chunk,
                   "--out", path("bad-out.h5"), "--quiet"]
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=dict(os.environ, ALQ_MAP="1"))
            expect_error(Result(r.returncode, r.stdout, r.stderr), 3,
                         f"bad{what}.h5: /embeddings row {row} (id {ids[row]}) column 5 is {what}",
                         what=f"a float16 pool with {what} in a mapped row at {ranks} rank(s), --chunk-rows {chunk}")

finish("pool-half-mapped")
