#!/usr/bin/python3
"""Stands in for the human step: reads the task list alq export wrote (as
Label Studio would import it) and writes what Label Studio's Export > JSON
gives after annotators answered: per task, `annotations` with a `choices`
result and `completed_by`.  Two annotators answer each task from the pool's
/truth (the second gets every seventh task wrong); the first skips one task
(was_cancelled), as the Skip button records it.  With a real Label Studio,
import TASKS.json into a project set up with labeling.xml, annotate, and
export JSON instead of running this.

    annotate_in_label_studio.py POOL.h5 TASKS.json EXPORT.json
"""
import json
import sys

import h5py

pool, tasks_path, out_path = sys.argv[1:4]
with h5py.File(pool, "r") as f:
    classes = [c.decode() if isinstance(c, bytes) else c for c in f["classes"][:]]
    truth = dict(zip(f["ids"][:].tolist(), f["truth"][:].tolist()))
with open(tasks_path) as f:
    tasks = json.load(f)
export = []
for k, t in enumerate(tasks):
    alq_id = t["meta"]["alq_id"]
    annotations = []
    for user in (1, 2):
        label = truth[alq_id] if user == 1 or k % 7 else (truth[alq_id] + 1) % len(classes)
        skipped = user == 1 and k == 3
        annotations.append({"id": 100 * k + user, "completed_by": user, "was_cancelled": skipped,
                            "result": [] if skipped else
                            [{"from_name": "label", "to_name": "text", "type": "choices",
                              "value": {"choices": [classes[label]]}}]})
    export.append({"id": 500 + k, "data": t["data"], "meta": t["meta"], "annotations": annotations,
                   "predictions": t.get("predictions", [])})
with open(out_path, "w") as f:
    json.dump(export, f, indent=1)
