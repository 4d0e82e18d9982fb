#!/bin/sh
# examples/python-numpy/run.sh WORKDIR: the example as CI runs it (ctest
# python-example-numpy): a demo features file, the batch on one process and
# on 2 mpi4py ranks (the same CSV), and `alq select` on the same data, whose
# ids and scores the CSV must hold.  Needs ALQ_LIBRARY (or an installed alq)
# and, from the repository, PYTHONPATH=<repo>/python; ALQ (default alq) is the
# CLI, PYTHON (default python3) a Python with numpy, h5py and mpi4py.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${1:?usage: run.sh WORKDIR}
alq_cli=${ALQ:-alq}
py=${PYTHON:-python3}
mkdir -p "$work"
cd "$work"
rm -f features.h5 batch1.csv batch2.csv pool.h5 cli.csv cli.h5
"$py" "$here/select_batch.py" --make-demo --features features.h5 --budget 40 --csv batch1.csv
mpiexec --allow-run-as-root --oversubscribe -n 2 \
  "$py" "$here/select_batch.py" --features features.h5 --budget 40 --csv batch2.csv
cmp batch1.csv batch2.csv
# The same selection with the command, on a pool file made from the features.
"$py" - <<'PY'
import h5py, alq
with h5py.File("features.h5", "r") as f:
    alq.io.write_pool("pool.h5", f["embeddings"][:], probs=f["probs"][:], ids=f["ids"][:],
                      labeled_ids=f["labeled/ids"][:], labeled_labels=f["labeled/labels"][:])
PY
"$alq_cli" select --pool pool.h5 --budget 40 --strategy margin-kcenter --seed 0 --out cli.h5 --csv cli.csv --quiet
cut -d, -f1-3 batch1.csv | tail -n +2 > mine.txt
tail -n +2 cli.csv > theirs.txt
cmp mine.txt theirs.txt
echo "python-numpy example: $(wc -l < mine.txt) items, the same at 1 and 2 ranks and as alq select"
