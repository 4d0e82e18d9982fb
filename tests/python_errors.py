#!/usr/bin/python3
"""tests/python_errors.py: alq.select on bad input raises the exception of
alq's exit class carrying alq's one-line message: the line `alq select`
prints for the same data (its pool path replaced by the arrays' name), or the
documented message where only Python has the input (dtypes, array options).

    python_errors.py --alq build/alq --workdir DIR

With ALQ_LIBRARY=<build>/libalq.so and PYTHONPATH=<repo>/python; one process.
"""
import argparse
import os
import subprocess
import sys

import numpy as np

import alq

N, D, C = 50, 4, 3
failures = []


def base():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(N, D))
    p = rng.random(size=(N, C)) + 0.05
    p /= p.sum(axis=1, keepdims=True)
    ids = np.arange(N, dtype=np.int64) * 3 + 10
    return dict(embeddings=x, probs=p, ids=ids, labeled_ids=ids[[4, 9]], labeled_labels=np.array([0, 2]))


def cli_error(alq_path, workdir, arrays, options):
    """`alq select`'s exit code and error line on a pool of these arrays."""
    pool = os.path.join(workdir, "pool.h5")
    alq.io.write_pool(pool, arrays["embeddings"], probs=arrays.get("probs"), ids=arrays["ids"],
                      labeled_ids=arrays["labeled_ids"], labeled_labels=arrays["labeled_labels"],
                      classes=None if arrays.get("probs") is not None else C)
    cmd = [alq_path, "select", "--pool", pool, "--out", os.path.join(workdir, "batch.h5"), "--quiet"]
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        cmd += [flag] if value is True else [flag, str(value)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    lines = [l for l in r.stderr.splitlines() if l.startswith("alq: error: ")]
    line = lines[0][len("alq: error: "):] if lines else r.stderr
    return r.returncode, line.replace(pool, "alq.select")


def expect(case, cls, code, message, arrays, options):
    try:
        alq.select(**arrays, **options)
        failures.append("%s: no exception" % case)
        return
    except alq.AlqError as e:
        if type(e) is not cls or e.exit_class != code or e.message != message or str(e) != message:
            failures.append("%s: got %s(%r, %d), want %s(%r, %d)" % (case, type(e).__name__, e.message, e.exit_class,
                                                                     cls.__name__, message, code))


def like_cli(case, cls, alq_path, workdir, arrays, options):
    code, line = cli_error(alq_path, workdir, arrays, options)
    if code != cls.exit_class:
        failures.append("%s: alq select exits %d (%s), expected %d" % (case, code, line, cls.exit_class))
    expect(case, cls, cls.exit_class, line, arrays, options)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    ok = dict(budget=5, strategy="margin", quiet=True)

    a = base()
    like_cli("unknown strategy", alq.UsageError, args.alq, args.workdir, a, dict(ok, strategy="bogus"))
    like_cli("budget 0", alq.UsageError, args.alq, args.workdir, a, dict(ok, budget=0))
    like_cli("bad diversity", alq.UsageError, args.alq, args.workdir, a, dict(ok, diversity="bogus"))
    like_cli("candidates < budget", alq.UsageError, args.alq, args.workdir, a,
             dict(ok, strategy="margin-kcenter", candidates=2))
    like_cli("delta without probcover", alq.UsageError, args.alq, args.workdir, a, dict(ok, delta=0.5))
    b = base()
    b["probs"][7, 1] = np.nan
    like_cli("NaN probability", alq.InputError, args.alq, args.workdir, b, ok)
    b = base()
    b["probs"][12] *= 1.5
    like_cli("probabilities not summing to 1", alq.InputError, args.alq, args.workdir, b, ok)
    b = base()
    b["embeddings"][20, 3] = np.inf
    like_cli("infinite embedding", alq.InputError, args.alq, args.workdir, b, dict(ok, strategy="kcenter"))
    b = base()
    b["ids"][30] = b["ids"][29]
    like_cli("ids not increasing", alq.InputError, args.alq, args.workdir, b, ok)
    b = base()
    b["labeled_ids"] = np.array([b["ids"][4], 99999])
    like_cli("labeled id not in the pool", alq.InputError, args.alq, args.workdir, b, ok)
    b = base()
    b["probs"] = None
    like_cli("margin without probs", alq.InputError, args.alq, args.workdir, b, ok)

    a = base()
    ids = a["ids"]
    expect("labeled id twice", alq.InputError, 3, "alq.select: labeled_ids holds id %d twice (rows 0 and 2)" % ids[4],
           dict(a, labeled_ids=ids[[4, 9, 4]], labeled_labels=np.array([0, 1, 0])), ok)
    expect("label out of range", alq.InputError, 3,
           "alq.select: labeled_labels row 1 (id %d) is 3, outside [0, 3)" % ids[9],
           dict(a, labeled_labels=np.array([0, 3])), ok)
    expect("integer embeddings", alq.InputError, 3, "embeddings: dtype int64, expected float16, float32 or float64",
           dict(a, embeddings=np.ones((N, D), dtype=np.int64)), ok)
    expect("ids beyond int64", alq.InputError, 3, "ids: row 0 is %d, above the int64 range" % (2 ** 63),
           dict(a, ids=np.arange(N, dtype=np.uint64) + np.uint64(2 ** 63)), ok)
    expect("probs rows", alq.InputError, 3, "probs: 49 rows but embeddings has 50", dict(a, probs=a["probs"][1:]), ok)
    expect("a file option", alq.UsageError, 2,
           "option 'out' reads or writes a file: the C API selects from arrays in memory and returns the batch "
           "(use alq select for files)", a, dict(ok, out="batch.h5"))
    expect("unknown option", alq.UsageError, 2, "option 'colour' is unknown (alq select --help lists the options)",
           a, dict(ok, colour="red"))
    expect("no strategy", alq.UsageError, 2, "the selection needs strategy=NAME", a, dict(budget=5))

    got = alq.select(**base(), **ok)  # the library is usable after every failure
    if len(got[0]) != 5:
        failures.append("a good call after the failures: %d ids" % len(got[0]))

    env = dict(os.environ, ALQ_LIBRARY=os.path.join(args.workdir, "missing", "libalq.so"))
    r = subprocess.run([sys.executable, "-c", "import alq, numpy as np\n"
                        "try:\n alq.select(embeddings=np.zeros((2, 2)), budget=1, strategy='random')\n"
                        "except alq.UsageError as e:\n print('UsageError', e.exit_class, e.message)"],
                       capture_output=True, text=True, env=env, timeout=60)
    if not r.stdout.startswith("UsageError 2 cannot load libalq: set ALQ_LIBRARY"):
        failures.append("a missing library: %r %r" % (r.stdout, r.stderr))

    for f in failures:
        print("FAIL: " + f, flush=True)
    print("python_errors: %s" % ("ok" if not failures else "%d failure(s)" % len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
