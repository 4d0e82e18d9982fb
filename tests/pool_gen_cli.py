"""alq gen: the written pool has the documented datasets, is reproducible, and
its labeled set is stratified by class."""
import os

import h5py
import numpy as np

from pool_cli_util import check, expect_error, finish, largest_remainder, parse_args, run

args = parse_args()
alq, work = args.alq, args.workdir
pool, again = os.path.join(work, "gen.h5"), os.path.join(work, "gen-again.h5")

opts = ["--items", 3000, "--dim", 8, "--classes", 4, "--imbalance", 5, "--labeled", 40, "--seed", 11]
res = run(alq, "gen", "--out", pool, *opts)
check(res.rc == 0, f"gen exit {res.rc}: {res.err}")
with h5py.File(pool, "r") as f:
    emb, probs, labels = f["embeddings"][:], f["probs"][:], f["labels"][:]
    lids, llabels = f["labeled/ids"][:], f["labeled/labels"][:]
    check(emb.shape == (3000, 8) and emb.dtype == np.float32, f"/embeddings {emb.shape} {emb.dtype}")
    check(probs.shape == (3000, 4) and probs.dtype == np.float32, f"/probs {probs.shape} {probs.dtype}")
    check(labels.dtype == np.int32 and labels.min() >= 0 and labels.max() < 4, "/labels range")
    check(lids.dtype == np.int64 and llabels.dtype == np.int32, "labeled dtypes")
    check(f.attrs["classes"] == 4, f"classes attribute {f.attrs.get('classes')}")
    version = f.attrs["alq_version"]
    check(isinstance(version, str) and version.count(".") == 2, f"alq_version {version!r}")
    check(f["embeddings"].chunks == (3000, 8), f"chunks {f['embeddings'].chunks}")
    check(f["probs"].chunks[0] == f["labels"].chunks[0] == 3000, "same chunk height")
    check("ids" not in f, "gen writes no /ids (ids are row indices)")
check(np.isfinite(emb).all(), "finite embeddings")
check(np.allclose(probs.sum(1), 1, atol=1e-5) and (probs >= 0).all(), "probs rows are distributions")
check(len(lids) == 40 and (np.diff(lids) > 0).all(), "labeled ids sorted, unique")
check((llabels == labels[lids]).all(), "labeled labels are the ground truth")
counts = np.bincount(labels, minlength=4).tolist()
check(np.bincount(llabels, minlength=4).tolist() == largest_remainder(counts, 40),
      f"labeled class counts {np.bincount(llabels, minlength=4).tolist()} vs {largest_remainder(counts, 40)}")
check(counts[0] > counts[3] * 2, f"imbalance 5 visible in class counts {counts}")

res = run(alq, "gen", "--out", again, *opts)
with h5py.File(pool, "r") as a, h5py.File(again, "r") as b:
    for name in ["embeddings", "probs", "labels", "labeled/ids", "labeled/labels"]:
        check(np.array_equal(a[name][:], b[name][:]), f"same options give the same {name}")

res = run(alq, "gen", "--out", again, "--items", 100, "--dim", 3, "--classes", 2, "--no-probs")
with h5py.File(again, "r") as f:
    check(res.rc == 0 and "probs" not in f and "labeled" not in f, "--no-probs and no --labeled")
    check(f.attrs["classes"] == 2, "classes attribute without /probs")

res = run(alq, "gen", "--help")
check(res.rc == 0 and "--imbalance" in res.out and "Memory" in res.out, "gen --help")
expect_error(run(alq, "gen", "--items", 10), 2, "--out", what="gen without --out")
expect_error(run(alq, "gen", "--out", again, "--classes", 1), 2, "classes", what="gen --classes 1")
expect_error(run(alq, "gen", "--out", again, "--items", "ten"), 2, "ten", what="gen --items ten")
expect_error(run(alq, "gen", "--out", again, "--items", 5, "--labeled", 6), 2, "--labeled",
             what="gen --labeled > items")
expect_error(run(alq, "gen", "--out", os.path.join(work, "no/such/dir/p.h5")), 4, "no/such/dir/p.h5",
             what="gen into a missing folder")
check(not [n for n in os.listdir(work) if ".tmp." in n], "no temporary files left")
finish("pool-gen-cli")
