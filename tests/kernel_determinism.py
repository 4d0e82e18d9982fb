"""The same outputs at 1, 2 and 3 ranks, and under every OpenBLAS kernel.

Every configuration here is one whose values once came from BLAS calls whose
rounding depends on the kernel, the thread count or a row's position in the
call: AnchorAL retrieval similarities, a model's probabilities and embeddings
(select --model, with and without MC dropout), k-center distances (exact,
hierarchical, on an AnchorAL subpool).  Chunk sizes are primes, so shards and
chunks cut the pool at positions that are multiples of nothing.

  kernel_determinism.py --alq A --mpiexec M --workdir W            ranks 1, 2, 3 agree bit for bit
  kernel_determinism.py ... --cross --corename C                   1 rank: every kernel agrees bit for bit

Run under each kernel by tests/kernels.cmake (through kernel_env.py).
"""
import argparse
import hashlib
import os
import shutil
import subprocess
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kernel_env  # noqa: E402

TIMEOUT = 300
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


class Runner:
    def __init__(self, a):
        self.alq, self.mpiexec, self.work = a.alq, a.mpiexec, a.workdir

    def run(self, argv, ranks=None, env=None):
        cmd = [self.alq, *map(str, argv)]
        if ranks:
            cmd = ["timeout", str(TIMEOUT), self.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks),
                   *cmd]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT + 30, env=env)
        if p.returncode != 0:
            raise SystemExit(f"FAIL: {' '.join(cmd)} exited {p.returncode}: {p.stderr.strip()}")
        return p


def make_inputs(r):
    pool = os.path.join(r.work, "pool.h5")
    r.run(["gen", "--out", pool, "--items", 20000, "--dim", 48, "--classes", 12, "--imbalance", 4,
           "--labeled", 240, "--seed", 5])
    rng = np.random.default_rng(7)
    with h5py.File(pool, "r") as f:
        emb = f["embeddings"][:]
    anchors = emb[rng.choice(len(emb), 45, replace=False)] + rng.normal(0, 0.05, (45, emb.shape[1]))
    with h5py.File(os.path.join(r.work, "anchors.h5"), "w") as f:
        f["anchors"] = anchors.astype(np.float32)
    model = os.path.join(r.work, "mlp.h5")
    r.run(["train", "--pool", pool, "--model", "mlp", "--hidden", 37, "--epochs", 40, "--seed", 3, "--out", model,
           "--quiet"], ranks=1)
    return pool, model


def configurations(work, pool, model):
    """name -> (argv without --out, the datasets to compare)."""
    lists = ["neighbors/ids", "neighbors/similarities"]
    batch = ["selected/ids", "selected/scores"]
    sel = ["select", "--pool", pool, "--seed", 11, "--quiet"]
    return {
        "retrieve": (["retrieve", "--pool", pool, "--anchors", os.path.join(work, "anchors.h5"), "--neighbors", 30,
                      "--chunk-rows", 1009, "--quiet"], lists),
        "model-margin": (sel + ["--model", model, "--strategy", "margin", "--budget", 40, "--chunk-rows", 997], batch),
        "model-mc-entropy": (sel + ["--model", model, "--mc-samples", 3, "--strategy", "entropy", "--budget", 40,
                                    "--chunk-rows", 1013], batch),
        "model-margin-kcenter": (sel + ["--model", model, "--strategy", "margin-kcenter", "--budget", 30,
                                        "--chunk-rows", 991], batch),
        "hier": (sel + ["--strategy", "margin-kcenter", "--diversity", "hier", "--budget", 40, "--candidates", 2000,
                        "--chunk-rows", 1019], batch),
        "anchoral-kcenter": (sel + ["--strategy", "kcenter", "--subpool", "anchoral", "--anchors-per-class", 4,
                                    "--neighbors", 40, "--subpool-size", 1500, "--budget", 30, "--chunk-rows", 983],
                             batch),
    }


def digest(path, datasets):
    with h5py.File(path, "r") as f:
        return {d: (f[d].dtype.str, f[d].shape, hashlib.sha256(f[d][()].tobytes()).hexdigest()) for d in datasets}


def first_difference(pa, pb, dataset):
    with h5py.File(pa, "r") as fa, h5py.File(pb, "r") as fb:
        a, b = fa[dataset][()], fb[dataset][()]
    if a.shape != b.shape:
        return f"shapes {a.shape} and {b.shape}"
    diff = np.flatnonzero(a.reshape(-1) != b.reshape(-1))
    i = diff[0]
    return f"{len(diff)} entries differ, first at flat index {i}: {a.reshape(-1)[i]!r} vs {b.reshape(-1)[i]!r}"


def compare(outputs, datasets, what):
    """outputs: label -> file; all must hold bit-identical datasets."""
    labels = list(outputs)
    ref = digest(outputs[labels[0]], datasets)
    for lab in labels[1:]:
        got = digest(outputs[lab], datasets)
        for d in datasets:
            ok = got[d] == ref[d]
            check(ok, f"{what}: {d} differs between {labels[0]} and {lab}"
                      + ("" if ok else ": " + first_difference(outputs[labels[0]], outputs[lab], d)))


def across_ranks(r, configs):
    for name, (argv, datasets) in configs.items():
        outs = {}
        for p in (1, 2, 3):
            out = os.path.join(r.work, f"{name}-n{p}.h5")
            r.run(argv + ["--out", out], ranks=p)
            outs[f"{p} rank(s)"] = out
        compare(outs, datasets, name)
        print(f"{name}: identical at 1, 2, 3 ranks" if not failures else f"{name}: checked")


def across_kernels(r, configs, corename):
    kernels = ["default", *kernel_env.NEEDS]
    flags = kernel_env.cpu_flags()
    runnable = []
    for k in kernels:
        missing = [f for f in kernel_env.NEEDS.get(k, []) if kernel_env.CPUINFO_ALIASES.get(f, f) not in flags]
        if missing:
            print(f"# kernel {k}: skipped, this CPU lacks {', '.join(missing)}")
        else:
            runnable.append(k)
    for k in runnable:
        core = subprocess.run([corename], env=kernel_env.environment(k), capture_output=True, text=True).stdout.strip()
        print(f"# kernel {k}: OpenBLAS runs {core}")
    check(len(runnable) >= 2, f"only {runnable} can run here: nothing to compare")
    for name, (argv, datasets) in configs.items():
        outs = {}
        for k in runnable:
            out = os.path.join(r.work, f"{name}-{k}.h5")
            r.run(argv + ["--out", out], ranks=1, env=kernel_env.environment(k))
            outs[k] = out
        compare(outs, datasets, name)
        print(f"{name}: compared under {', '.join(runnable)}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--alq", required=True)
    p.add_argument("--mpiexec", required=True)
    p.add_argument("--workdir", required=True)
    p.add_argument("--cross", action="store_true", help="compare kernels instead of rank counts")
    p.add_argument("--corename", help="the blas_corename helper (with --cross)")
    a = p.parse_args()
    shutil.rmtree(a.workdir, ignore_errors=True)
    os.makedirs(a.workdir)
    r = Runner(a)
    pool, model = make_inputs(r)
    configs = configurations(a.workdir, pool, model)
    if a.cross:
        across_kernels(r, configs, a.corename)
    else:
        across_ranks(r, configs)
    if failures:
        print(f"kernel_determinism: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print("kernel_determinism: all checks passed")


if __name__ == "__main__":
    main()
