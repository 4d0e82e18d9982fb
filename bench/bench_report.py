#!/usr/bin/python3
"""bench/bench_report.py: turns kcenter_bench.sh's results (JSON lines) into the
markdown table of docs/benchmarks.md and checks the goals.

  bench_report.py RESULTS.jsonl [--md OUT.md]

Each input line is one record:
  {"type": "triad", "triad_bytes_per_s": ..., "read_bytes_per_s": ...}
  {"type": "case", "case": ..., "strategy": ..., "labeled": L, "prune": 0|1,
   "ranks": R, "alq_wall": s, "alq_kcenter": {kcenter log-view fields} | null,
   "numpy": {seconds, steps_seconds, step_bytes, budget, ...},
   "compare": {same, first_diff, ok, explanation?, ...}}
"""
import argparse
import json
import os
import sys


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("results")
    ap.add_argument("--md", default="")
    a = ap.parse_args(argv)

    triads, cases, meta = [], [], {}
    with open(a.results) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r["type"] == "triad":
                triads.append(r)
            elif r["type"] == "case":
                cases.append(r)
            elif r["type"] == "meta":
                meta = r
    # The reference bandwidth: the best triad of the run (the least disturbed
    # measurement), so "% of bandwidth" is never flattered by a slow triad.
    triad = max((t["triad_bytes_per_s"] for t in triads), default=None)
    readbw = max((t["read_bytes_per_s"] for t in triads), default=None)

    out = []
    if meta:
        out.append("Pool: N=%s, d=%s, B=%s, seed=%s; %s; fastest of %s run(s) per case." % (
            meta.get("n"), meta.get("dim"), meta.get("budget"), meta.get("seed"), meta.get("host", ""),
            meta.get("reps", 1)))
        out.append("")
    if triads:
        out.append("Memory bandwidth, one core (alq_triad, best of 10, %d runs in this benchmark): "
                   "triad %s GB/s (runs: %s), read-only sum %s GB/s (runs: %s)." % (
                       len(triads), fmt(triad / 1e9, ".1f"),
                       ", ".join("%.1f" % (t["triad_bytes_per_s"] / 1e9) for t in triads),
                       fmt(readbw / 1e9, ".1f"),
                       ", ".join("%.1f" % (t["read_bytes_per_s"] / 1e9) for t in triads)))
        out.append("")
    out.append("| case | ranks | alq select s | numpy s | numpy / alq | alq steps s | numpy steps s | "
               "steps numpy / alq | alq step GB/s | % of triad | % of read | numpy step GB/s | "
               "pruned fraction | alq wall s | load alq / numpy | same batch? |")
    out.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    goals = {"bandwidth": [], "speedup": []}
    matvecs = set()
    for c in cases:
        k = c.get("alq_kcenter")
        npb = c.get("numpy") or {}
        cmp_ = c.get("compare") or {}
        if npb.get("matvec"):
            matvecs.add(npb["matvec"])
        alq_sel = c.get("alq_select")
        alq_steps = step_bps = pruned = None
        if k:
            alq_steps = k.get("seconds")
            pruned = k.get("pruned_fraction")
            us, ub = k.get("unpruned_steps_seconds"), k.get("unpruned_bytes")
            if c["prune"] == 0 and us:
                step_bps = ub / us
            elif alq_steps:
                step_bps = k.get("streamed_bytes", 0) / alq_steps
        np_s, np_steps = npb.get("seconds"), npb.get("steps_seconds")
        ratio = np_s / alq_sel if (np_s and alq_sel) else None
        sratio = np_steps / alq_steps if (np_steps and alq_steps) else None
        np_bps = None
        if np_steps and npb.get("step_bytes"):
            np_bps = npb["step_bytes"] * (npb["budget"] - 1) / np_steps
        pct_t = 100.0 * step_bps / triad if (step_bps and triad and c["ranks"] == 1) else None
        pct_r = 100.0 * step_bps / readbw if (step_bps and readbw and c["ranks"] == 1) else None
        if cmp_.get("same"):
            same = "yes"
        elif cmp_.get("ok"):
            same = "near-tie at step %s" % cmp_.get("first_diff")
        elif cmp_:
            same = "**NO** (step %s)" % cmp_.get("first_diff")
        else:
            same = "not compared"
        label = c["case"]
        x = lambda v: (fmt(v, ".2f") + "x") if v else "—"
        load = "%s / %s" % (fmt(c.get("load1"), ".1f"), fmt(npb.get("load1"), ".1f"))
        out.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, c["ranks"], fmt(alq_sel, ".3g"), fmt(np_s, ".3g"), x(ratio),
            fmt(alq_steps, ".3g"), fmt(np_steps, ".3g"), x(sratio),
            fmt(step_bps and step_bps / 1e9, ".1f"), fmt(pct_t, ".0f"), fmt(pct_r, ".0f"),
            fmt(np_bps and np_bps / 1e9, ".1f"), fmt(pruned, ".3f"), fmt(c.get("alq_wall"), ".1f"), load,
            same))
        if c["strategy"] == "kcenter" and c["ranks"] == 1:
            if c["prune"] == 0 and pct_t is not None:
                goals["bandwidth"].append((label, pct_t, pct_r))
            if c["prune"] == 1 and ratio is not None:
                goals["speedup"].append((label, ratio, bool(cmp_.get("same") or cmp_.get("ok"))))
    out.append("")
    out.append("alq select s: alq's selection with the pool in memory (--log-view: k-center's "
               "`select` phase = norms, labeled-center pass, steps, reductions; margin's "
               "`score`+`reduce`), the same span numpy s times (file read excluded). Steps s: "
               "the greedy steps only (alq: `kcenter:` seconds, the distance updates; numpy: "
               "everything after the labeled-center pass). Step GB/s: embedding bytes the steps "
               "read / their time (--no-prune rows: from `unpruned_bytes` / "
               "`unpruned_steps_seconds`). %% columns: of the one-core triad / read-only "
               "bandwidth above (1-rank rows only). alq wall s: the whole `mpiexec ... alq "
               "select` (start-up, HDF5 read, write). load: the 1-minute load average when the kept alq / numpy run started (%d CPUs here; above that, "
               "other processes shared the cores and the memory bus). numpy's matrix-vector product: %s." % (
                   os.cpu_count(),
                   ", ".join(sorted(matvecs)) or "—"))
    out.append("")
    for c in cases:
        if "same_as_pruned" in c:
            out.append("- %s, %d rank(s): batch %s the pruned run's" % (
                c["case"], c["ranks"], "equals" if c["same_as_pruned"] else "DIFFERS FROM"))
    if meta.get("smoke"):
        out.append("- smoke run (tiny pool): a correctness check; timings are not meaningful "
                   "and the goals are not assessed")
        goals = {"bandwidth": [], "speedup": []}
    for label, pct, pct_r in goals["bandwidth"]:
        out.append("- Goal unpruned step >= 80%% of triad bandwidth, %s: %.0f%% of triad "
                   "(%.0f%% of read-only) -> %s" % (
                       label, pct, pct_r or 0, "reached" if pct >= 80.0 else "NOT reached"))
    for label, ratio, same in goals["speedup"]:
        out.append("- Goal pruned selection >= 3x numpy with the same batch, %s: %.2fx, batch %s -> %s" % (
            label, ratio, "same" if same else "DIFFERENT",
            "reached" if (ratio >= 3.0 and same) else "NOT reached"))
    text = "\n".join(out)
    print(text)
    if a.md:
        with open(a.md, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
