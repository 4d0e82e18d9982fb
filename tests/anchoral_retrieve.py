#!/usr/bin/python3
"""tests/anchoral_retrieve.py: `alq retrieve` (AnchorAL's exact retrieval)
against a brute-force all-pairs cosine computation in numpy float64.

    anchoral_retrieve.py --alq build/alq --mpiexec mpiexec --workdir DIR

Pools: an `alq gen` pool (with /probs, /labels and a labeled set) and a pool
written here (non-contiguous /ids, chunked, duplicated rows so that exact score
ties occur, a zero row, no /probs).  Anchors: random rows, copies of pool rows,
and an all-zero anchor (every similarity is exactly 0: the list must be the K
lowest unlabeled ids).  Runs under mpiexec -n 1..4 with small --chunk-rows and
checks, per anchor:
  * the lists are bit-identical across rank counts;
  * no labeled id, no duplicate, ids in the pool;
  * similarities equal the reference's sorted top K to float32 tolerance, each
    listed id's reference similarity equals alq's, and the ids equal the
    reference's wherever the gap to the neighbouring similarities exceeds the
    tolerance (near-ties are allowed to come out in either order);
  * equal similarities come out in increasing id order (alq's tie rule);
  * fewer than K unlabeled items: padded with -1 / -inf;
  * --labeled FILE excludes that set instead of the pool's own;
  * errors: exit codes and one 'alq: error:' line naming the file/dataset, no output left.
"""
import os

import h5py
import numpy as np

import anchoral_util as U

TOL = 2e-6  # float32 cosine of unit vectors, d <= 32


def check_lists(tag, ids, sims, pool_emb, pool_ids, excluded, anchors, k):
    ref_ids, ref_sims, S, cand = U.retrieve(pool_emb, pool_ids, excluded, anchors, k)
    sim_of = [dict(zip(cand.tolist(), S[a].tolist())) for a in range(len(anchors))]
    n_cand = len(cand)
    for a in range(len(anchors)):
        real = ids[a] >= 0
        n_real = int(real.sum())
        U.check(n_real == min(k, n_cand), f"{tag} anchor {a}: {n_real} ids, expected {min(k, n_cand)}")
        U.check(np.all(ids[a][~real] == -1) and np.all(np.isneginf(sims[a][~real])),
                f"{tag} anchor {a}: padding is not -1 / -inf")
        U.check(np.all(real[:n_real]), f"{tag} anchor {a}: padding before real entries")
        got_i, got_s = ids[a][:n_real], sims[a][:n_real]
        U.check(len(set(got_i.tolist())) == n_real, f"{tag} anchor {a}: duplicate ids")
        U.check(not np.isin(got_i, excluded).any(), f"{tag} anchor {a}: a labeled id was returned")
        if not U.check(np.isin(got_i, cand).all(), f"{tag} anchor {a}: id not in the pool"):
            continue
        # sorted order: similarity descending, equal similarity -> lower id first
        for j in range(1, n_real):
            U.check(got_s[j] < got_s[j - 1] or (got_s[j] == got_s[j - 1] and got_i[j] > got_i[j - 1]),
                    f"{tag} anchor {a}: entries {j - 1},{j} out of alq's order "
                    f"({got_s[j - 1]!r},{got_i[j - 1]}) ({got_s[j]!r},{got_i[j]})")
        # similarities against the reference
        err_sorted = np.abs(got_s - ref_sims[a][:n_real]).max() if n_real else 0.0
        U.check(err_sorted <= TOL, f"{tag} anchor {a}: sorted similarities differ by {err_sorted:.3g}")
        err_own = max((abs(sim_of[a][int(i)] - s) for i, s in zip(got_i, got_s)), default=0.0)
        U.check(err_own <= TOL, f"{tag} anchor {a}: an id's similarity differs from its reference by {err_own:.3g}")
        # ids exactly where the reference has no near-tie around the position
        rs = ref_sims[a]
        full = np.sort(S[a])[::-1]
        for j in range(n_real):
            lo_gap = rs[j] - full[j + 1] if j + 1 < len(full) else np.inf
            hi_gap = full[j - 1] - rs[j] if j > 0 else np.inf
            if min(lo_gap, hi_gap) > 2 * TOL:
                U.check(got_i[j] == ref_ids[a][j],
                        f"{tag} anchor {a} position {j}: id {got_i[j]}, reference {ref_ids[a][j]} (gap > tol)")
            elif min(lo_gap, hi_gap) == 0:
                pass  # exact tie in float64: alq's float32 scores tie too or are within TOL (checked above)
    return ref_ids


def run_retrieve(R, wd, tag, pool, anchors_file, k, ranks=(1, 2, 3, 4), chunk=37, extra=()):
    outs = []
    for n in ranks:
        out = os.path.join(wd, f"{tag}-n{n}.h5")
        p = R.mpi(n, "retrieve", "--pool", pool, "--anchors", anchors_file, "--neighbors", k, "--out", out,
                  "--chunk-rows", chunk, "--quiet", *extra)
        if not U.check(p.returncode == 0, f"{tag} n={n}: exit {p.returncode}: {p.stderr.strip()[-2000:]}"):
            return None
        with h5py.File(out, "r") as f:
            ids, sims = f["neighbors/ids"][:], f["neighbors/similarities"][:]
            U.check(f["neighbors/ids"].dtype == np.int64 and f["neighbors/similarities"].dtype == np.float64,
                    f"{tag}: dtypes {f['neighbors/ids'].dtype} {f['neighbors/similarities'].dtype}")
            U.check(int(f.attrs["ranks"]) == n and int(f.attrs["neighbors"]) == k, f"{tag}: attributes")
        outs.append((n, ids, sims))
        U.check(not [x for x in os.listdir(wd) if ".tmp." in x], f"{tag} n={n}: temporary file left behind")
    n0, i0, s0 = outs[0]
    for n, i, s in outs[1:]:
        U.check(np.array_equal(i, i0) and np.array_equal(s, s0), f"{tag}: lists differ between -n {n0} and -n {n}")
    return i0, s0


LOG_VIEW_PHASES = ("read", "score", "retrieve", "select", "reduce", "write", "total")


def check_log_view(R, wd, pool, anchors_file):
    """--log-view prints the table with every phase once, and changes nothing in the output; a
    failure in its report gather (the last collective step) leaves no output."""
    lists = {}
    for tag, extra in (("plain", ()), ("log-view", ("--log-view",))):
        out = os.path.join(wd, f"logview-{tag}.h5")
        p = R.mpi(2, "retrieve", "--pool", pool, "--anchors", anchors_file, "--neighbors", 7, "--out", out,
                  "--chunk-rows", 37, *extra)
        if not U.check(p.returncode == 0, f"log-view {tag}: exit {p.returncode}: {p.stderr.strip()[-2000:]}"):
            return
        with h5py.File(out, "r") as f:
            lists[tag] = (f["neighbors/ids"][:], f["neighbors/similarities"][:],
                          {k: f.attrs[k] for k in f.attrs})
        rows = [l.split()[0] for l in p.stderr.splitlines() if l.split() and l.split()[0] in LOG_VIEW_PHASES]
        table = "alq log view" in p.stderr and "phase    max time(s) min time(s)  ratio" in p.stderr
        if tag == "plain":
            U.check(not table and not rows, f"log-view plain: a table without --log-view: {p.stderr[-800:]}")
            continue
        U.check(table and rows == list(LOG_VIEW_PHASES), f"log-view: phase rows {rows}: {p.stderr[-2000:]}")
        U.check("retrieve: 10 anchor(s), 7 neighbor(s) each, 2 rank(s), pool 4000 x 24" in p.stderr
                and "rows per rank: min 2000, max 2000" in p.stderr, f"log-view: heading: {p.stderr[-2000:]}")
        read = [l.split() for l in p.stderr.splitlines() if l.startswith("read ")][0]
        U.check(int(read[4]) == 4000 * 24 * 4, f"log-view: bytes read {read[4]}, expected the pool's embeddings")
    (i0, s0, a0), (i1, s1, a1) = lists["plain"], lists["log-view"]
    U.check(np.array_equal(i0, i1) and np.array_equal(s0, s1) and a0 == a1, "log-view: the lists changed")
    out = os.path.join(wd, "logview-fail.h5")
    R.env["ALQ_FAIL_AT"] = "report:1"
    p = R.mpi(2, "retrieve", "--pool", pool, "--anchors", anchors_file, "--neighbors", 7, "--out", out, "--log-view")
    del R.env["ALQ_FAIL_AT"]
    U.check(p.returncode == 1 and not os.path.exists(out) and not [x for x in os.listdir(wd) if ".tmp." in x],
            f"log-view: a failed report left output or exit {p.returncode}: {p.stderr.strip()[-500:]}")
    # The lists are committed as select's outputs are (alq_paths_commit: fsync'd,
    # all or nothing): a failure after the sync leaves an existing output as it was.
    with open(out, "wb") as f:
        f.write(b"an earlier output")
    R.env["ALQ_FAIL_AT"] = "commit-synced:0"  # rank 0 commits
    p = R.mpi(2, "retrieve", "--pool", pool, "--anchors", anchors_file, "--neighbors", 7, "--out", out)
    del R.env["ALQ_FAIL_AT"]
    with open(out, "rb") as f:
        kept = f.read()
    U.check(p.returncode != 0 and kept == b"an earlier output"
            and not [x for x in os.listdir(wd) if ".tmp." in x or ".old." in x],
            f"commit: a failed commit changed the existing output or left files, exit {p.returncode}: "
            f"{p.stderr.strip()[-500:]}")


def write_anchors(path, rows):
    with h5py.File(path, "w") as f:
        f["anchors"] = np.asarray(rows, dtype=np.float32)


def main():
    a = U.parse_args()
    R = U.Runner(a.alq, a.mpiexec)
    wd = a.workdir
    rng = np.random.default_rng(11)

    # 1. an alq gen pool (with /probs: the retrieval reads embeddings only)
    gen = os.path.join(wd, "gen.h5")
    R.serial("gen", "--out", gen, "--items", 4000, "--dim", 24, "--classes", 6, "--imbalance", 10,
             "--labeled", 60, "--seed", 5)
    P = U.read_pool(gen)
    anchors = np.concatenate([rng.standard_normal((6, 24)),
                              P["emb"][[3, 1500]],                     # a pool row (unlabeled or labeled)
                              P["emb"][[int(P["lids"][0])]] * 3.0,     # a labeled row, scaled
                              np.zeros((1, 24))]).astype(np.float32)  # all-zero: every similarity is 0
    af = os.path.join(wd, "anchors-gen.h5")
    write_anchors(af, anchors)
    for k in (1, 25):
        res = run_retrieve(R, wd, f"gen-k{k}", gen, af, k)
        if res:
            check_lists(f"gen-k{k}", res[0], res[1], P["emb"], P["ids"], P["lids"], anchors, k)
            unl = np.setdiff1d(P["ids"], P["lids"])[:k]
            U.check(np.array_equal(res[0][-1], unl) and np.all(res[1][-1] == 0.0),
                    "zero anchor: expected the K lowest unlabeled ids with similarity 0")

    # 2. --labeled FILE replaces the pool's labeled set
    lab = os.path.join(wd, "other-labeled.h5")
    other = np.array(sorted(rng.choice(4000, 50, replace=False)), dtype=np.int64)
    U.write_labeled(lab, other, np.zeros(50, np.int32))
    res = run_retrieve(R, wd, "gen-labeled-file", gen, af, 25, ranks=(1, 3), extra=("--labeled", lab))
    if res:
        check_lists("gen-labeled-file", res[0], res[1], P["emb"], P["ids"], other, anchors, 25)

    # 3. a hand-written pool: sparse ids, chunked, duplicated rows (exact ties), a zero row
    n, d = 1003, 8
    base = rng.standard_normal((n, d)).astype(np.float32)
    base[100:140] = base[7]          # 40 copies of row 7: exact ties
    base[500] = 0.0                  # a zero row
    ids = np.cumsum(rng.integers(1, 5, size=n)).astype(np.int64) + 1000
    hp = os.path.join(wd, "hand.h5")
    with h5py.File(hp, "w") as f:
        f.create_dataset("embeddings", data=base, chunks=(64, d))
        f.create_dataset("ids", data=ids, chunks=(64,))
        f.attrs["classes"] = np.int64(3)
        f["labeled/ids"] = ids[[7, 120, 800]]
        f["labeled/labels"] = np.array([0, 1, 2], np.int32)
    HP = U.read_pool(hp)
    anchors = np.concatenate([base[[7]], rng.standard_normal((3, d)), -base[[7]]]).astype(np.float32)
    af2 = os.path.join(wd, "anchors-hand.h5")
    write_anchors(af2, anchors)
    res = run_retrieve(R, wd, "hand", hp, af2, 50, chunk=64)
    if res:
        check_lists("hand", res[0], res[1], HP["emb"], HP["ids"], HP["lids"], anchors, 50)
        # anchor 0 is row 7: its 39 unlabeled copies tie exactly at the top, in id order
        dup = np.setdiff1d(ids[100:140], HP["lids"])
        U.check(np.array_equal(res[0][0][:len(dup)], dup), "hand: exact duplicates not first in increasing id order")

    # 4. fewer unlabeled items than K: padding, on more ranks than items
    tiny = os.path.join(wd, "tiny.h5")
    with h5py.File(tiny, "w") as f:
        f["embeddings"] = rng.standard_normal((3, d)).astype(np.float32)
        f.attrs["classes"] = np.int64(2)
        f["labeled/ids"] = np.array([1], np.int64)
        f["labeled/labels"] = np.array([0], np.int32)
    TP = U.read_pool(tiny)
    res = run_retrieve(R, wd, "tiny", tiny, af2, 4, chunk=1)
    if res:
        check_lists("tiny", res[0], res[1], TP["emb"], TP["ids"], TP["lids"], anchors, 4)

    # 5. --log-view: the per-phase table on rank 0, the same lists with and without it
    check_log_view(R, wd, gen, af)

    # 6. errors
    def expect(tag, rc, frag, *argv):
        out = os.path.join(wd, f"err-{tag}.h5")
        p = R.mpi(2, "retrieve", *argv, "--out", out)
        lines = [l for l in p.stderr.splitlines() if l.startswith("alq: error:")]
        U.check(p.returncode == rc, f"error {tag}: exit {p.returncode}, expected {rc}: {p.stderr.strip()[-500:]}")
        U.check(len(lines) == 1 and frag in lines[0], f"error {tag}: expected one error line with {frag!r}: {lines}")
        U.check(not os.path.exists(out), f"error {tag}: output left behind")

    missing = os.path.join(wd, "missing.h5")
    noanch = os.path.join(wd, "noanchors.h5")
    with h5py.File(noanch, "w") as f:
        f["other"] = np.zeros((2, 24), np.float32)
    wrongd = os.path.join(wd, "wrongdim.h5")
    write_anchors(wrongd, np.ones((2, 5)))
    expect("no-neighbors", 2, "--neighbors", "--pool", gen, "--anchors", af)
    expect("zero-neighbors", 2, "--neighbors", "--pool", gen, "--anchors", af, "--neighbors", 0)
    expect("missing-anchors-file", 3, missing, "--pool", gen, "--anchors", missing, "--neighbors", 5)
    expect("no-anchors-dataset", 3, "/anchors", "--pool", gen, "--anchors", noanch, "--neighbors", 5)
    expect("wrong-dim", 3, "/anchors", "--pool", gen, "--anchors", wrongd, "--neighbors", 5)
    expect("missing-pool", 3, missing, "--pool", missing, "--anchors", af, "--neighbors", 5)
    bad_lab = os.path.join(wd, "bad-labeled.h5")
    U.write_labeled(bad_lab, [5, 999999], [0, 1])
    expect("labeled-not-in-pool", 3, "999999", "--pool", gen, "--anchors", af, "--neighbors", 5,
           "--labeled", bad_lab)
    p = R.mpi(1, "retrieve", "--help")
    U.check(p.returncode == 0 and "--neighbors" in p.stdout, "retrieve --help")
    U.finish("anchoral-retrieve")


if __name__ == "__main__":
    main()
