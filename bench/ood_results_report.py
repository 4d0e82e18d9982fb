#!/usr/bin/python3
"""Report of bench/ood_results.sh: junk shares and the learning-curve tables (markdown on
stdout) and docs/results/ood_fashion_mnist.svg and ood_fashion_mnist_mlp.svg (accuracy
against labels spent, mean over seeds, +-1 sd band)."""
import csv
import os
import sys

import h5py
import numpy as np

work = sys.argv[1]
results = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "results")
with h5py.File(os.path.join(work, "pool.h5"), "r") as f:
    junk = f["junk"][:].astype(bool)
    x = f["embeddings"][:]
# ood_make_pool.py's junk kinds: blank rows are 0, saturated 1, noise U(0, 1).
KINDS = ("blank", "saturated", "noise")
kind = np.where(x.max(1) == 0, 0, np.where(x.min(1) == 1, 1, 2))


def by_kind(rows):
    return " / ".join(str(int((junk[rows] & (kind[rows] == k)).sum())) for k in range(3))


print("| head | --ood (q = 0.05) | junk share of margin's 200 | its junk: %s | rejected | rejected junk: %s "
      "| rejected in-distribution |" % (" / ".join(KINDS), " / ".join(KINDS)))
print("|---|---|---|---|---|---|---|")
for head, ood, path in csv.reader(open(os.path.join(work, "shares.csv"))):
    with h5py.File(path, "r") as f:
        ids = f["selected/ids"][:]
        rej = f.attrs.get("ood_rejected", "")
    share = "%.1f%%" % (100 * junk[ids].mean()) if len(ids) else "(empty batch)"
    flags = os.path.join(work, "flags-%s-%s.h5" % (head, ood))
    rejected = junk_rejected = in_rejected = ""
    if os.path.exists(flags):
        with h5py.File(flags, "r") as f:
            out = (f["ood/rejected"][:] == 1) & (f["ood/labeled"][:] == 0)  # rows in pool order
        junk_rejected = by_kind(np.flatnonzero(out))
        in_rejected = int((out & ~junk).sum())
    print("| %s | %s | %s | %s | %s | %s | %s |" % (head, ood, share, by_kind(ids) if len(ids) else "",
                                                   rej, junk_rejected, in_rejected))

def read_curves(prefix, runs=(("plain", ""), ("ood", "+ood-knn"))):
    curves = {}
    for tag, name in runs:
        for r in csv.DictReader(open(os.path.join(work, "curve-%s%s.csv" % (prefix, tag)))):
            key = r["strategy"] + name
            curves.setdefault(key, {}).setdefault(int(r["labeled"]), []).append(float(r["accuracy"]))
    return curves


def curve_table(title, curves):
    print()
    print(title)
    print()
    labels = sorted(next(iter(curves.values())))
    print("| labels spent | " + " | ".join(curves) + " |")
    print("|---|" + "---|" * len(curves))
    for n in labels:
        print("| %d | " % n + " | ".join("%.3f +- %.3f" % (np.mean(c[n]), np.std(c[n])) for c in curves.values()) + " |")
    auc = {k: np.mean([np.mean(v[n]) for n in labels]) for k, v in curves.items()}
    print()
    print("mean accuracy over the curve: " + ", ".join("%s %.4f" % kv for kv in auc.items()))
    for key in curves:
        if key.startswith("margin+"):
            ahead = sum(np.mean(curves[key][n]) >= np.mean(curves["margin"][n]) for n in labels)
            print("%s at least as high as margin at %d of %d points" % (key, ahead, len(labels)))
    return labels


def plot(curves, labels, title, name):
    """SVG: accuracy against labels spent, mean over seeds, +-1 sd band."""
    W, H, L, B = 640, 400, 60, 40
    xs = np.array(labels, float)
    lo = min(np.mean(c[n]) - np.std(c[n]) for c in curves.values() for n in labels)
    hi = max(np.mean(c[n]) + np.std(c[n]) for c in curves.values() for n in labels)
    px = lambda v: L + (v - xs.min()) / (xs.max() - xs.min()) * (W - L - 20)
    py = lambda v: H - B - (v - lo) / (hi - lo) * (H - B - 30)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"]
    parts = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" '
             'font-size="12">' % (W, H), '<rect width="100%" height="100%" fill="white"/>',
             '<text x="%d" y="18">%s</text>' % (L, title)]
    for t in np.linspace(lo, hi, 5):
        parts.append('<text x="5" y="%.1f">%.3f</text><line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/>'
                     % (py(t) + 4, t, L, W - 20, py(t), py(t)))
    for n in labels[::2]:
        parts.append('<text x="%.1f" y="%d">%d</text>' % (px(n) - 10, H - B + 16, n))
    for i, (key, c) in enumerate(curves.items()):
        mean = [np.mean(c[n]) for n in labels]
        sd = [np.std(c[n]) for n in labels]
        band = ["%.1f,%.1f" % (px(x), py(m_ + s)) for x, m_, s in zip(xs, mean, sd)] + \
               ["%.1f,%.1f" % (px(x), py(m_ - s)) for x, m_, s in reversed(list(zip(xs, mean, sd)))]
        parts.append('<polygon points="%s" fill="%s" opacity="0.15"/>' % (" ".join(band), colors[i % len(colors)]))
        parts.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>'
                     % (" ".join("%.1f,%.1f" % (px(x), py(v)) for x, v in zip(xs, mean)), colors[i % len(colors)]))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>' % (L + 10, 40 + 16 * i, colors[i % len(colors)], key))
    parts.append("</svg>")
    open(os.path.join(results, name), "w").write("\n".join(parts) + "\n")
    print("plot: docs/results/%s" % name)


curves = read_curves("")
labels = curve_table("logreg head, `--ood knn` in its space (the standardised pixels):", curves)
plot(curves, labels, "Fashion-MNIST + 20% junk, logreg: test accuracy vs labels spent (5 seeds, mean +- sd)",
     "ood_fashion_mnist.svg")
if os.path.exists(os.path.join(work, "curve-mlp-plain.csv")):
    curves = read_curves("mlp-", (("plain", ""), ("ood", "+ood-knn-pool"), ("ood-features", "+ood-knn-features")))
    labels = curve_table("MLP head (`--model mlp`), `--ood knn` with `--ood-space pool` (the raw pixels) and "
                         "`features` (its standardised input):", curves)
    plot(curves, labels, "Fashion-MNIST + 20% junk, MLP head, kNN stage outside its hidden layer (5 seeds)",
         "ood_fashion_mnist_mlp.svg")
