#!/usr/bin/python3
"""bench/anchoral_report.py: results.jsonl of bench/anchoral_bench.sh -> markdown tables."""
import json
import sys


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
    by = lambda k: [r for r in rows if r["kind"] == k]
    m = by("machine")[0]
    end = by("machine_end")
    print(f"Run {m['date']} on {m['cores']} cores ({m['cpu']}); load average (1/5/15 min) at start "
          f"{m['load_start']}, at end {end[0]['load_end'] if end else '?'}.\n")
    peaks = {r["threads"]: r["gflops"] for r in by("peak")}
    if peaks:
        print("| SGEMM 4096^3 (same run) | GFLOP/s |\n|---|---|")
        for t in sorted(peaks):
            print(f"| {t} thread(s) | {peaks[t]:.1f} |")
        print()
    gp = by("gemm_peak")
    if gp:
        print("| bound GEMM (same run, 1 thread) | path that ran | implementation | M x N x K | GFLOP/s | load |\n"
              "|---|---|---|---|---|---|")
        for r in gp:
            g = r["result"]
            print(f"| {r['requested']} | {g['path']} | {g['impl']} | {g['m']} x {g['n']} x {g['k']} "
                  f"| {g['gflops']:.1f} | {r['load']} |")
        print()
    ret = by("retrieval")
    if ret:
        # The fraction is of the bound GEMM's own peak at the retrieval's block shape
        # (BLOCK_ROWS = 256 rows of subpool/retrieval.c against all anchors), same run, on
        # the path alq picks by default (requested "default", none forced; older runs: onednn-bf16).
        fastest = [g["result"] for g in gp if g["requested"] == "default" and g["result"]["m"] == 256]
        fastest = fastest or [g["result"] for g in gp if g["requested"] == "onednn-bf16" and g["result"]["m"] == 256]
        pk = fastest[0]["gflops"] if fastest else peaks.get(1, 0)
        pk_name = f"{fastest[0]['path']} peak" if fastest else "1-thread SGEMM peak"
        print("| A_total | K | ranks / threads | alq retrieve (s) | alq bound GEMM (s) | alq GFLOP/s per rank "
              f"| % of {pk_name} | FAISS search (s) | FAISS normalise+add (s) | FAISS search / alq "
              "| goal >= 3x | same lists | load |")
        print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for r in ret:
            f = r["faiss"]
            flops = 2.0 * r["n"] * r["anchors"] * r["d"]
            per_rank = flops / r["alq_sgemm_s"] / r["ranks"] / 1e9 if r["alq_sgemm_s"] > 0 else 0.0
            ratio = f["faiss_search_s"] / r["alq_s"]
            same = "yes" if f["same"] else "NO"
            if f["positions_differing"]:
                same += f" ({f['positions_differing']} near-tie swaps)"
            print(f"| {r['anchors']} | {r['k']} | {r['ranks']} | {r['alq_s']:.3f} | {r['alq_sgemm_s']:.3f} "
                  f"| {per_rank:.1f} | {100 * per_rank / pk:.0f}% | {f['faiss_search_s']:.3f} "
                  f"| {f['faiss_normalize_add_s']:.3f} | {ratio:.2f}x "
                  f"| {'reached' if ratio >= 3 else 'not reached'} | {same} | {r['load']} |")
        print()
    e2e = by("e2e")
    if e2e:
        print("| pool | subpool | ranks | wall (s) | alq total (s) | batch | classes in batch "
              "| minority share (rarest half of classes) | their share of the pool | load |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in e2e:
            c = r["classes"]
            print(f"| {r['case']} | {r['subpool']} | {r['ranks']} | {r['wall_s']:.2f} | {r['alq_total_s']:.2f} "
                  f"| {c['size']} | {c['classes']} of {c['of_classes']} | {c['minority_share']:.3f} "
                  f"| {c['minority_pool_share']:.4f} | {r['load']} |")
        for r in e2e:
            if r["anchoral_line"]:
                print(f"\n{r['case']}: `anchoral: {r['anchoral_line']}`")


if __name__ == "__main__":
    main()
