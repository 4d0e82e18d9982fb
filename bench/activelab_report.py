#!/usr/bin/python3
"""bench/activelab_report.py: the "ActiveLab" section of docs/results.md from
bench/activelab_results.sh's CSVs (alq simulate --annotators): mean test
accuracy (+- sd over seeds) at equal answers spent, the mean over the curve,
and whether activelab beats margin and random on every set.  Replaces the
section if present, else appends it."""
import argparse
import collections
import csv
import os

import numpy as np

HEADS = {"logreg": "logistic regression", "mlp": "an MLP"}


def summarise(path):
    by = collections.defaultdict(list)
    items = collections.defaultdict(list)
    for r in csv.DictReader(open(path)):
        by[(r["strategy"], int(r["round"]))].append(float(r["accuracy"]))
        items[(r["strategy"], int(r["round"]))].append(int(r["items"]))
    return by, items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--seeds", type=int, required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--annotators", type=int, required=True)
    ap.add_argument("--noise", type=float, required=True)
    ap.add_argument("--sets", nargs="+", required=True)
    ap.add_argument("--model", default="logreg")
    ap.add_argument("--model-args", default="")
    ap.add_argument("--load", default="", help="the machine's load during the run, for the record")
    ap.add_argument("--tag", default="activelab", help="markers <!-- TAG:begin/end --> and plots TAG_SET.svg")
    ap.add_argument("--pool-rows", type=int, default=0, help="sets cut to this many rows (0: in full)")
    a = ap.parse_args()
    marker = a.tag.replace("_", "-")
    BEGIN, END = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    head = HEADS.get(a.model, a.model) + f" (`--model {a.model}{' ' + a.model_args.strip() if a.model_args.strip() else ''}`)"
    title = "## ActiveLab: label again, or label a new item (noisy annotators)" + \
        ("" if a.model == "logreg" else f", {a.model} head") + \
        (f", small pools ({a.pool_rows} rows)" if a.pool_rows else "")
    pools = (f"Each set cut to {a.pool_rows} rows, stratified (bench/stratified_subsample.py, seed 1; a set of "
             f"fewer rows in full), so that new items run short as in the ActiveLab paper's experiments.  "
             if a.pool_rows else "")
    sets = [a.sets[i:i + 3] for i in range(0, len(a.sets), 3)] if len(a.sets[0].split()) == 1 else \
        [s.split() for s in a.sets]
    strategies = ["activelab", "margin", "random"]
    lines = [BEGIN, title, "",
             pools + f"`bench/activelab_results.sh` ({a.seconds} s on 2 ranks{', ' + a.load if a.load else ''}): `alq simulate --annotators {a.annotators} "
             f"--annotator-noise {a.noise}` (each answer wrong with probability {a.noise}, uniform over the other "
             f"classes; one answer per request, an item to each annotator at most once), {a.seeds} seeds, "
             f"{a.rounds} rounds, {head} retrained each round on the CROWDLAB consensus of the answers, "
             "test accuracy on a held-out 20% against the true labels.  x = answers spent (every answer counts, "
             "re-labels included).  `margin` never re-labels (its labels are the single noisy answers); "
             "`activelab` (docs/activelab.md) mixes re-labels into each batch, scores labeled items (and takes their "
             "consensus) by 5-fold out-of-sample probabilities and scales the probabilities by a temperature "
             "fitted against the consensus labels.", "",
             "| set | answers | " + " | ".join(strategies) + " | activelab items | curve mean (activelab / margin / random) |",
             "|---|---|" + "---|" * len(strategies) + "---|---|"]
    verdicts = []
    for name, initial, batch in sets:
        by, items = summarise(os.path.join(a.work, name + ".csv"))
        for rd in (a.rounds // 2, a.rounds):
            spent = int(initial) + rd * int(batch)
            cells = [f"{np.mean(by[(s, rd)]):.3f} +- {np.std(by[(s, rd)], ddof=1):.3f}" for s in strategies]
            mean = [np.mean([np.mean(by[(s, r)]) for r in range(a.rounds + 1)]) for s in strategies]
            lines.append(f"| {name} | {spent} | " + " | ".join(cells) +
                         f" | {np.mean(items[('activelab', rd)]):.0f} | " + " / ".join(f"{m:.4f}" for m in mean) + " |")
        mean = [np.mean([np.mean(by[(s, r)]) for r in range(a.rounds + 1)]) for s in strategies]
        final = [np.mean(by[(s, a.rounds)]) for s in strategies]
        verdicts.append((name, mean[0] > mean[1] and mean[0] > mean[2], final[0] > final[1] and final[0] > final[2]))
    lines += ["", "Plots (mean and +-1 sd over seeds): " + ", ".join(
        f"[{n}](results/{a.tag}_{n}.svg)" for n, _, _ in sets) + ".", ""]
    wins = [n for n, m, f in verdicts if m and f]
    ends = [n for n, m, f in verdicts if f]
    lines.append(f"activelab above margin and random at the end: {', '.join(ends) if ends else 'on no set'} "
                 f"({len(ends)} of {len(verdicts)}); over the whole curve and at the end: "
                 f"{', '.join(wins) if wins else 'on no set'} ({len(wins)} of {len(verdicts)}).  Goal (issue 15: "
                 f"higher test accuracy per answer than margin and random on 3 sets): "
                 f"{'reached' if len(wins) >= 3 else 'not reached'} (why: docs/activelab.md, \"Evidence\").")
    lines.append(END)
    text = open(a.out).read() if os.path.exists(a.out) else ""
    section = "\n".join(lines) + "\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + section.rstrip("\n") + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open(a.out, "w").write(text)


if __name__ == "__main__":
    main()
