"""alq import: every data set in --data (tests/data: small real subsets vendored
in the repository; or any folder of the full sets with the same README table) imports with its README
table's shape and class counts, --standardize z-scores columns, and malformed
CSVs fail with exit 3 and one line naming the file and line."""
import glob
import gzip
import hashlib
import os
import sys

import h5py
import numpy as np

from pool_cli_util import check, expect_error, finish, largest_remainder, parse_args, run

args = parse_args(["--data"])
alq, work, data = args.alq, args.workdir, args.data

# The data must be there: a missing folder is a failure, not a skipped test.
readme = os.path.join(data, "README.md")
files = sorted(glob.glob(os.path.join(data, "*.csv.gz")))
if not os.path.isfile(readme) or not files:
    print(f"pool-import-cli: FAIL: no data sets (README.md and *.csv.gz) in {data}", file=sys.stderr)
    sys.exit(1)

# | file | rows | features | classes | class counts ... [| csv sha256 ...] from the
# README table, columns found by their header (tests/data's table also gives the
# SHA-256 of each uncompressed CSV; a folder of the full sets may not).
table, digests, cols = {}, {}, None
for line in open(readme):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if cells[:2] == ["file", "rows"]:
        cols = {name: next((i for i, c in enumerate(cells) if c.startswith(name)), None)
                for name in ("rows", "features", "classes", "class counts", "csv sha256")}
    elif cols and len(cells) > cols["class counts"] and cells[0].endswith(".csv.gz"):
        table[cells[0]] = (int(cells[cols["rows"]]), int(cells[cols["features"]]), int(cells[cols["classes"]]),
                           [int(x) for x in cells[cols["class counts"]].split(",")])
        if cols["csv sha256"] is not None:
            digests[cells[0]] = cells[cols["csv sha256"]]
check(sorted(table) == sorted(os.path.basename(f) for f in files),
      f"README table {sorted(table)} lists the same files as {data}")
# The checks below must meet a constant column somewhere (digits, optdigits, kddcup).
constant_columns_seen = 0


def load_csv(path):
    with gzip.open(path, "rt") as f:
        raw = np.loadtxt(f, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    return raw[:, :-1], raw[:, -1].astype(np.int64)


for path in files:
    name = os.path.basename(path)
    rows, features, classes, counts = table.get(name, (None, None, None, None))
    pool = os.path.join(work, name.replace(".csv.gz", ".h5"))
    res = run(alq, "import", "--csv", path, "--out", pool)
    check(res.rc == 0, f"{name}: exit {res.rc}: {res.err.strip()}")
    if res.rc != 0:
        continue
    if name in digests:
        with gzip.open(path, "rb") as f:
            sha = hashlib.sha256(f.read()).hexdigest()
        check(sha == digests[name], f"{name}: CSV sha256 {sha}, README {digests[name]} (file changed?)")
    x, y = load_csv(path)
    with h5py.File(pool, "r") as f:
        emb, labels = f["embeddings"][:], f["labels"][:]
        check(emb.shape == (rows, features), f"{name}: /embeddings {emb.shape}, README {rows}x{features}")
        check(emb.dtype == np.float32 and labels.dtype == np.int32, f"{name}: dtypes")
        check(f.attrs["classes"] == classes, f"{name}: classes {f.attrs['classes']}, README {classes}")
        check(np.bincount(labels, minlength=classes).tolist() == counts, f"{name}: class counts")
        check("probs" not in f and "labeled" not in f, f"{name}: no /probs, no /labeled")
        check(np.array_equal(emb, x.astype(np.float32)) and np.array_equal(labels, y),
              f"{name}: values equal numpy's parse of the CSV")

    # --standardize: mean 0, std 1 per column (a constant column stays 0).
    std_pool = pool.replace(".h5", "-std.h5")
    res = run(alq, "import", "--csv", path, "--out", std_pool, "--standardize", "--labeled", 30, "--seed", 5)
    check(res.rc == 0, f"{name} --standardize: exit {res.rc}: {res.err.strip()}")
    if res.rc != 0:
        continue
    with h5py.File(std_pool, "r") as f:
        z = f["embeddings"][:].astype(np.float64)
        lids, llabels = f["labeled/ids"][:], f["labeled/labels"][:]
    sd = x.std(axis=0)
    constant = sd == 0
    constant_columns_seen += int(constant.sum())
    check(np.abs(z.mean(axis=0)).max() < 1e-4, f"{name}: standardized column means {np.abs(z.mean(0)).max()}")
    check(np.abs(z[:, ~constant].std(axis=0) - 1).max() < 1e-4, f"{name}: standardized stds")
    check((z[:, constant] == 0).all(), f"{name}: constant columns are 0")
    expect = (x - x.mean(0)) / np.where(constant, 1, sd)
    check(np.abs(z - expect).max() < 1e-4 * max(1.0, np.abs(expect).max()), f"{name}: z-scores")
    check(len(lids) == 30 and (np.diff(lids) > 0).all() and (llabels == y[lids]).all(),
          f"{name}: labeled set sorted, labels are the CSV's")
    check(np.bincount(llabels, minlength=classes).tolist() == largest_remainder(counts, 30),
          f"{name}: labeled class counts {np.bincount(llabels, minlength=classes).tolist()}")

check(constant_columns_seen > 0, "no data set has a constant column: the constant-column check never ran")

# A plain (not gzip'd) CSV with CRLF line ends, blanks and a blank line.
plain = os.path.join(work, "plain.csv")
open(plain, "w").write("a, b,label\r\n1.5, -2 ,1\r\n\r\n3e2,4,0\r\n")
res = run(alq, "import", "--csv", plain, "--out", os.path.join(work, "plain.h5"))
check(res.rc == 0, f"plain CSV: exit {res.rc}: {res.err.strip()}")
if res.rc == 0:
    with h5py.File(os.path.join(work, "plain.h5"), "r") as f:
        check(f["embeddings"][:].tolist() == [[1.5, -2.0], [300.0, 4.0]], "plain CSV values")
        check(f["labels"][:].tolist() == [1, 0] and f.attrs["classes"] == 2, "plain CSV labels")

# --dtype float16: /embeddings stored as IEEE half, the values numpy's
# astype(float16) gives (round to nearest even), half the bytes; a select on
# it gives the batch of a float32 pool holding the same (rounded) values.
rng = np.random.default_rng(4)
vals = np.concatenate([rng.normal(size=(300, 5)) * 10 ** rng.uniform(-6, 4, size=(300, 1)),
                       np.array([[65503.9, -1e-7, 0.0, 2049.0, 1 / 3]])])
wide = os.path.join(work, "wide.csv")
with open(wide, "w") as f:
    f.write("a,b,c,d,e,label\n" + "".join(",".join(repr(float(v)) for v in row) + ",%d\n" % (i % 3)
                                          for i, row in enumerate(vals)))
p32, p16 = os.path.join(work, "wide32.h5"), os.path.join(work, "wide16.h5")
res32 = run(alq, "import", "--csv", wide, "--out", p32, "--labeled", 6)
res16 = run(alq, "import", "--csv", wide, "--out", p16, "--labeled", 6, "--dtype", "float16")
check(res32.rc == 0 and res16.rc == 0, f"--dtype float16: exit {res32.rc}/{res16.rc}: {res16.err.strip()}")
if res32.rc == 0 and res16.rc == 0:
    with h5py.File(p32, "r") as f32, h5py.File(p16, "r") as f16:
        e32, e16 = f32["embeddings"][:], f16["embeddings"]
        check(e16.dtype == np.float16, f"--dtype float16 stored {e16.dtype}")
        check(np.array_equal(e16[:].view(np.uint16), e32.astype(np.float16).view(np.uint16)),
              "--dtype float16: not numpy's round to nearest")
        rounded = os.path.join(work, "wide16as32.h5")
        with h5py.File(rounded, "w") as g:
            for k in ("labels", "labeled/ids", "labeled/labels"):
                g[k] = f32[k][:]
            g.attrs["classes"] = f32.attrs["classes"]
            g["embeddings"] = e16[:].astype(np.float32)
    batches = []
    for pool in (p16, rounded):
        out = pool + ".batch.h5"
        r = run(alq, "select", "--pool", pool, "--strategy", "kcenter", "--budget", 12, "--out", out, "--quiet")
        check(r.rc == 0, f"select on {pool}: {r.err.strip()}")
        if r.rc == 0:
            with h5py.File(out, "r") as f:
                batches.append(f["selected/ids"][:].tolist())
    check(len(batches) == 2 and batches[0] == batches[1], "float16 pool: another batch than its float32 copy")
big = os.path.join(work, "big.csv")
open(big, "w").write("a,b,label\n1,2,0\n3,70000,1\n")
expect_error(run(alq, "import", "--csv", big, "--out", big + ".h5", "--dtype", "float16"), 3, "row 1 column 1",
             "70000", "float16", what="a value beyond float16's range")
check(not os.path.exists(big + ".h5"), "float16 range error: no output written")
expect_error(run(alq, "import", "--csv", big, "--out", big + ".h5", "--dtype", "float64"), 2, "--dtype",
             what="--dtype float64")

# Malformed inputs: exit 3, one line naming the file, the line and the text.
bad = {
    "non-numeric.csv": ("a,b,label\n1,2,0\n3,x4,1\n", ["line 3", "column 2", "'x4'"]),
    "ragged.csv": ("a,b,label\n1,2,0\n3,4\n", ["line 3", "2 fields", "expected 3"]),
    "negative-label.csv": ("a,b,label\n1,2,0\n1,2,-1\n", ["line 3", "'-1'"]),
    "fraction-label.csv": ("a,b,label\n1,2,0.5\n", ["line 2", "'0.5'"]),
    "text-label.csv": ("a,b,label\n1,2,cat\n", ["line 2", "'cat'"]),
    "huge-label.csv": ("a,b,label\n1,2,0\n1,2,1000000\n", ["line 3", "1000000", "999999"]),
    "nan-feature.csv": ("a,b,label\n1,nan,0\n", ["line 2", "'nan'"]),
    "empty-cell.csv": ("a,b,label\n1,,0\n", ["line 2", "column 2"]),
    "empty.csv": ("", ["line 1", "empty"]),
    "header-only.csv": ("a,b,label\n", ["no data rows"]),
    "one-column.csv": ("label\n1\n", ["line 1", "1 column"]),
}
for fname, (text, fragments) in bad.items():
    path = os.path.join(work, fname)
    open(path, "w").write(text)
    out = os.path.join(work, fname + ".h5")
    expect_error(run(alq, "import", "--csv", path, "--out", out), 3, path, *fragments, what=fname)
    check(not os.path.exists(out), f"{fname}: no output written")
# The gzip path reports lines too.
gz = os.path.join(work, "ragged.csv.gz")
with gzip.open(gz, "wt") as f:
    f.write("a,b,label\n" + "1,2,0\n" * 1000 + "1,2\n")
expect_error(run(alq, "import", "--csv", gz, "--out", gz + ".h5"), 3, gz, "line 1002", what="ragged .gz")
missing = os.path.join(work, "missing.csv.gz")
expect_error(run(alq, "import", "--csv", missing, "--out", missing + ".h5"), 3, missing, what="missing file")

expect_error(run(alq, "import", "--csv", plain), 2, "--out", what="import without --out")
expect_error(run(alq, "import", "--csv", plain, "--out", os.path.join(work, "x.h5"), "--labeled", 3), 2,
             "3", what="import --labeled > rows")
res = run(alq, "import", "--help")
check(res.rc == 0 and "--standardize" in res.out, "import --help")
check(not [n for n in os.listdir(work) if ".tmp." in n], "no temporary files left")
finish("pool-import-cli")
