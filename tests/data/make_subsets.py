#!/usr/bin/python3
"""Regenerates the vendored test data in tests/data from the full sets.

OPTIONAL: the tests never run this; they read the committed files.  It records
how every file here was made, and rebuilds them when the selection changes:

    /usr/bin/python3 tests/data/make_subsets.py --src FOLDER

--src is the folder of the full sets (its README.md gives the sources); the
maintainers keep it outside the repository.
Writes <name>.csv.gz and <name>.classes.txt next to this script, SHA256SUMS,
and the table between the TABLE markers in README.md.  Needs numpy only.

Subsets keep the header and the rows in file order.  A stratified subset of
about N rows keeps, of each class c with count n_c of the full set's total T,
the first max(min(n_c, MIN_PER_CLASS), round(n_c * N / T)) rows of that class,
so every class survives and rare classes keep up to MIN_PER_CLASS rows.
The one substitute (synthetic_fars_like) is generated from a fixed seed; see
README.md for why.
"""
import argparse
import gzip
import hashlib
import os
import shutil

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
MIN_PER_CLASS = 20

# name -> (target rows or None for the whole file, source, licence)
UCI = "CC BY 4.0 (UCI Machine Learning Repository)"
SETS = {
    "iris": (None, "UCI Iris (Fisher 1936), as bundled by scikit-learn 1.2.1", UCI),
    "wine": (None, "UCI Wine, as bundled by scikit-learn 1.2.1", UCI),
    "breast_cancer": (None, "UCI Breast Cancer Wisconsin (Diagnostic), as bundled by scikit-learn 1.2.1", UCI),
    "digits": (None, "UCI Optical Recognition of Handwritten Digits (test part), as bundled by scikit-learn 1.2.1",
               UCI),
    "pmlb_optdigits": (1500, "UCI Optical Recognition of Handwritten Digits via PMLB 253138e2aa40", UCI),
    "pmlb_pendigits": (1500, "UCI Pen-Based Recognition of Handwritten Digits via PMLB 253138e2aa40", UCI),
    "pmlb_page_blocks": (1500, "UCI Page Blocks Classification via PMLB 253138e2aa40", UCI),
    "pmlb_kddcup_dedup": (3000, "UCI KDD Cup 1999 (10% file, duplicates removed) via PMLB 253138e2aa40", UCI),
}
SYNTHETIC = "synthetic_fars_like"


def stratified_rows(labels, target):
    total = len(labels)
    keep = np.zeros(total, bool)
    for c in np.unique(labels):
        where = np.flatnonzero(labels == c)
        quota = max(min(len(where), MIN_PER_CLASS), int(round(len(where) * target / total)))
        keep[where[:quota]] = True
    return np.flatnonzero(keep)


def write_gz(path, text):
    # mtime=0 and no file name in the header: the bytes depend on the text only.
    with open(path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as f:
        f.write(text.encode())


def synthetic_fars_like():
    """Integer-coded categorical columns with 'unknown' codes (9, 99, 999) and 8
    heavily imbalanced classes, the traits of FARS that the import test covers."""
    rng = np.random.default_rng(20261202)
    counts = [9, 700, 250, 20, 330, 230, 140, 21]
    cards = [51, 99, 3, 10, 55, 20, 10, 4, 10, 3, 30, 10, 7, 4, 1000, 10, 7, 5, 1000, 5, 1000, 5, 1000, 8, 2,
             100, 100, 100, 20]
    rows = []
    for label, n in enumerate(counts):
        for _ in range(n):
            rows.append([int(rng.integers(0, k)) for k in cards] + [label])
    order = rng.permutation(len(rows))
    header = ",".join([f"F{i}" for i in range(len(cards))] + ["label"])
    return header + "\n" + "".join(",".join(map(str, rows[i])) + "\n" for i in order)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--src", required=True, help="folder of the full *.csv.gz sets and their README.md")
    src = ap.parse_args().src
    made = []
    for name, (target, source, licence) in SETS.items():
        gz_in = os.path.join(src, name + ".csv.gz")
        out = os.path.join(HERE, name + ".csv.gz")
        with gzip.open(gz_in, "rt") as f:
            lines = f.read().splitlines()
        header, body = lines[0], [l for l in lines[1:] if l.strip()]
        labels = np.array([int(l.rsplit(",", 1)[1]) for l in body])
        if target is None:
            shutil.copyfile(gz_in, out)
            how = f"whole file ({len(body)} rows), copied byte for byte"
        else:
            pick = stratified_rows(labels, target)
            body = [body[i] for i in pick]
            labels = labels[pick]
            write_gz(out, header + "\n" + "".join(l + "\n" for l in body))
            how = f"stratified ~{target} of {len(lines) - 1} rows (min {MIN_PER_CLASS} per class)"
        shutil.copyfile(os.path.join(src, name + ".classes.txt"), os.path.join(HERE, name + ".classes.txt"))
        made.append((name, source, licence, how))
    write_gz(os.path.join(HERE, SYNTHETIC + ".csv.gz"), synthetic_fars_like())
    made.append((SYNTHETIC, "generated here (numpy seed 20261202): substitute for PMLB/KEEL FARS",
                 "same as this repository", "synthetic, 1700 rows"))

    table = ["| file | rows | features | classes | class counts (label 0..K-1) | gz bytes | csv sha256 | subset |",
             "|---|---|---|---|---|---|---|---|"]
    sums = []
    for name, source, licence, how in made:
        path = os.path.join(HERE, name + ".csv.gz")
        blob = open(path, "rb").read()
        text = gzip.decompress(blob)
        lines = [l for l in text.decode().splitlines()[1:] if l.strip()]
        labels = np.array([int(l.rsplit(",", 1)[1]) for l in lines])
        features = len(lines[0].split(",")) - 1
        counts = np.bincount(labels).tolist()
        table.append(f"| {name}.csv.gz | {len(lines)} | {features} | {len(counts)} | "
                     f"{', '.join(map(str, counts))} | {len(blob)} | {hashlib.sha256(text).hexdigest()} | {how} |")
        sums.append(f"{hashlib.sha256(blob).hexdigest()}  {name}.csv.gz")
    open(os.path.join(HERE, "SHA256SUMS"), "w").write("\n".join(sums) + "\n")

    readme = os.path.join(HERE, "README.md")
    text = open(readme).read()
    start, end = "<!-- TABLE (make_subsets.py) -->", "<!-- /TABLE -->"
    head, rest = text.split(start)
    _, tail = rest.split(end)
    open(readme, "w").write(head + start + "\n" + "\n".join(table) + "\n" + end + tail)
    print("\n".join(table))


if __name__ == "__main__":
    main()
