#!/usr/bin/python3
"""bench/bayes_results_report.py: the markdown of bench/bayes_results.sh, with the
tables and verdicts of bench/al_results_report.py (same metrics): per set, the
subsection of the clustering section (random, margin, badge, typiclust,
cluster-margin) and those of the BALD/VeSSAL/ProbCover section (logreg, mlp)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import al_results_report as rep  # noqa: E402


def clustering(work, name, rounds):
    order, runs = rep.load(os.path.join(work, f"{name}-clustering.csv"))
    _, stats, _ = rep.summarise(name, order, runs, rounds)
    verdict, _ = rep.verdict(name, order, stats)
    return ([f"### {name}", "", f"![learning curves on {name}](results/clustering_{name}.svg)", ""]
            + rep.final_auc_table(order, runs, rounds) + verdict + [""])


def bayes(work, name, rounds, sub):
    out = []
    for head in ("logreg", "mlp"):
        order, runs = rep.load(os.path.join(work, f"{name}-{head}.csv"))
        lines, stats, _ = rep.summarise(name, order, runs, rounds)
        verdict, _ = rep.verdict(f"{name}, {head}", order, stats)
        out += [f"### {name}, {head} head", "", f"![{name} {head}](results/bayes-{name}-{head}.svg)", ""]
        if head == "logreg" and sub > 0:
            out += [f"On a stratified random subsample of about {sub:,} rows (bench/stratified_subsample.py, "
                    "seed 0), for all four strategies: ProbCover's delta-ball graph is O(N^2) per round.", ""]
        out += lines + verdict + [""]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--sets", nargs="+", required=True)
    ap.add_argument("--subsample", nargs="+", type=int, help="per set: rows of the logreg run's pool, 0 = all")
    ap.add_argument("--set-seconds", nargs="+", type=int, help="per set: wall seconds of its three runs")
    a = ap.parse_args()
    subs = a.subsample or [0] * len(a.sets)
    out = ["<!-- clustering section -->", ""]
    for name in a.sets:
        out += clustering(a.work, name, a.rounds)
    out += ["<!-- BALD, VeSSAL and ProbCover section -->", ""]
    for name, sub in zip(a.sets, subs):
        out += bayes(a.work, name, a.rounds, sub)
    if a.set_seconds:
        out.append("Wall time of the three runs per set, 2 ranks: "
                   + ", ".join(f"{n} {s} s" for n, s in zip(a.sets, a.set_seconds)) + ".")
    print("\n".join(out))


if __name__ == "__main__":
    main()
