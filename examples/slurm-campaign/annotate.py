#!/usr/bin/python3
"""examples/slurm-campaign/annotate.py: the campaign's stand-in annotators.

Fills the empty label column of a tasks CSV (alq export) with the pool's
ground truth (/labels), as annotators would, and writes the answers file alq
ingest reads (id,label,annotator).  A real campaign replaces this job with
its labeling tool's export.

    annotate.py POOL.h5 TASKS.csv ANSWERS.csv
"""
import csv
import os
import sys

import h5py
import numpy as np


def main(pool_path, tasks_path, answers_path):
    with h5py.File(pool_path, "r") as pool:
        labels = pool["labels"][:]
        ids = pool["ids"][:] if "ids" in pool else np.arange(len(labels))
    row_of = {int(i): r for r, i in enumerate(ids)}
    with open(tasks_path, newline="") as f:
        tasks = [int(row["id"]) for row in csv.DictReader(f)]
    with open(answers_path + ".tmp", "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["id", "label", "annotator"])
        for item in tasks:
            out.writerow([item, int(labels[row_of[item]]), "oracle"])
    # Renamed when complete: the next round never reads half a file.
    os.replace(answers_path + ".tmp", answers_path)
    print(f"annotate.py: {len(tasks)} answer(s) in {answers_path}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: annotate.py POOL.h5 TASKS.csv ANSWERS.csv")
    main(*sys.argv[1:])
