#!/usr/bin/python3
"""bench/bayes_results_report.py: the markdown section of bench/bayes_results.sh,
with the tables and verdicts of bench/al_results_report.py (same metrics)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import al_results_report as rep  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--seconds", type=int, required=True)
    ap.add_argument("--rounds", type=int, required=True)
    ap.add_argument("--sets", nargs="+", required=True)
    a = ap.parse_args()
    out = []
    for name in a.sets:
        for head in ("logreg", "mlp"):
            order, runs = rep.load(os.path.join(a.work, f"{name}-{head}.csv"))
            lines, stats, _ = rep.summarise(name, order, runs, a.rounds)
            verdict, _ = rep.verdict(f"{name}, {head}", order, stats)
            out += [f"#### {name}, {head} head", "", f"![{name} {head}](results/bayes-{name}-{head}.svg)", ""]
            out += lines + verdict + [""]
    out.append(f"All runs: {a.seconds} s wall on 2 ranks.")
    print("\n".join(out))


if __name__ == "__main__":
    main()
