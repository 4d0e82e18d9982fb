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
junk = h5py.File(os.path.join(work, "pool.h5"), "r")["junk"][:].astype(bool)

print("| head | --ood (q = 0.05) | junk share of margin's 200 | rejected |")
print("|---|---|---|---|")
for head, ood, path in csv.reader(open(os.path.join(work, "shares.csv"))):
    with h5py.File(path, "r") as f:
        ids = f["selected/ids"][:]
        rej = f.attrs.get("ood_rejected", "")
    share = "%.1f%%" % (100 * junk[ids].mean()) if len(ids) else "(empty batch)"
    print("| %s | %s | %s | %s |" % (head, ood, share, rej))

def read_curves(prefix):
    curves = {}
    for tag, name in (("plain", ""), ("ood", "+ood-knn")):
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
    m, o = curves["margin"], curves["margin+ood-knn"]
    ahead = sum(np.mean(o[n]) >= np.mean(m[n]) for n in labels)
    print("margin+ood-knn at least as high as margin at %d of %d points" % (ahead, len(labels)))
    return labels


def plot(curves, labels, title, name):
    """SVG: accuracy against labels spent, mean over seeds, +-1 sd band."""
    W, H, L, B = 640, 400, 60, 40
    xs = np.array(labels, float)
    lo = min(np.mean(c[n]) - np.std(c[n]) for c in curves.values() for n in labels)
    hi = max(np.mean(c[n]) + np.std(c[n]) for c in curves.values() for n in labels)
    px = lambda v: L + (v - xs.min()) / (xs.max() - xs.min()) * (W - L - 20)
    py = lambda v: H - B - (v - lo) / (hi - lo) * (H - B - 30)
    colors = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
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
        parts.append('<polygon points="%s" fill="%s" opacity="0.15"/>' % (" ".join(band), colors[i % 4]))
        parts.append('<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>'
                     % (" ".join("%.1f,%.1f" % (px(x), py(v)) for x, v in zip(xs, mean)), colors[i % 4]))
        parts.append('<text x="%d" y="%d" fill="%s">%s</text>' % (L + 10, 40 + 16 * i, colors[i % 4], key))
    parts.append("</svg>")
    open(os.path.join(results, name), "w").write("\n".join(parts) + "\n")
    print("plot: docs/results/%s" % name)


curves = read_curves("")
labels = curve_table("logreg head, `--ood knn` in its space (the standardised pixels):", curves)
plot(curves, labels, "Fashion-MNIST + 20% junk, logreg: test accuracy vs labels spent (5 seeds, mean +- sd)",
     "ood_fashion_mnist.svg")
if os.path.exists(os.path.join(work, "curve-mlp-plain.csv")):
    curves = read_curves("mlp-")
    labels = curve_table("MLP head (`--model mlp`), `--ood knn --ood-space pool` (the raw pixels):", curves)
    plot(curves, labels, "Fashion-MNIST + 20% junk, MLP, kNN stage on the pool's pixels (5 seeds, mean +- sd)",
         "ood_fashion_mnist_mlp.svg")
