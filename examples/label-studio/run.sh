#!/bin/sh
# A Label Studio round trip: select a batch, export it as Label Studio tasks
# with pre-annotations, take Label Studio's JSON export back into the round
# state, and select the next round.  Run by ctest (labels-example-label-studio).
#
#   run.sh [ALQ] [WORKDIR]       (default: alq on PATH, ./label-studio-run)
set -eu
ALQ=${1:-alq}
WD=${2:-label-studio-run}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${PYTHON:-/usr/bin/python3}
rm -rf "$WD" && mkdir -p "$WD" && cd "$WD"

# 1. A pool written with h5py: /embeddings, /probs, /ids, /classes, /payload/text.
"$PY" "$HERE/make_pool.py" pool.h5 2000

for round in 1 2; do
  # 2. Select the round's batch; the state remembers every batch and answer.
  "$ALQ" select --pool pool.h5 --budget 25 --strategy margin-kcenter --seed "$round" \
         --out batch$round.h5 --state state.h5
  # 3. Tasks for Label Studio: the text to read, the alq id in meta, the model's
  #    top class as a pre-annotation, and a labeling config to paste into the project.
  "$ALQ" export --batch batch$round.h5 --format label-studio --json tasks$round.json \
         --predictions --ls-config labeling.xml --state state.h5
  # 4. Annotators work in Label Studio; its Export > JSON is the answers file.
  "$PY" "$HERE/annotate_in_label_studio.py" pool.h5 tasks$round.json ls-export$round.json
  # 5. Into the state: completed_by is the annotator, choices map to /classes names.
  "$ALQ" ingest --state state.h5 --labels ls-export$round.json --format label-studio
done

# The state now holds both rounds: 12 initial + 2 x 25 labeled (one task per
# round was skipped by one annotator and answered by the other).
"$PY" - <<'PY'
import h5py
with h5py.File("state.h5", "r") as f:
    labeled, pending = len(f["labeled/ids"]), len(f["pending/ids"])
    rounds = int(f["rounds"].attrs["count"])
assert (labeled, pending, rounds) == (62, 0, 2), (labeled, pending, rounds)
print(f"label-studio example: {rounds} rounds, {labeled} items labeled, {pending} pending")
PY
