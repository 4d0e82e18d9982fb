"""Shared helpers for the pool/gen/import/info CLI tests (pool_*_cli.py)."""
import argparse
import os
import shutil
import subprocess
import sys


def parse_args(extra=()):
    p = argparse.ArgumentParser()
    p.add_argument("--alq", required=True, help="the alq executable")
    p.add_argument("--workdir", required=True, help="scratch folder, recreated")
    for name in extra:
        p.add_argument(name, required=True)
    args = p.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    return args


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err


def run(alq, *argv):
    """Runs `alq argv...` as a singleton MPI process; returns rc, stdout, stderr."""
    p = subprocess.run([alq, *map(str, argv)], capture_output=True, text=True, timeout=600)
    return Result(p.returncode, p.stdout, p.stderr)


failures = []


def check(cond, what):
    """Records a failed expectation and keeps going, so one run shows them all."""
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


def expect_error(res, rc, *fragments, what=""):
    """The command failed with `rc` and one 'alq: error:' line holding every fragment."""
    check(res.rc == rc, f"{what}: exit {res.rc}, expected {rc} (stderr: {res.err.strip()!r})")
    lines = [l for l in res.err.splitlines() if l.startswith("alq: error:")]
    check(len(lines) == 1, f"{what}: expected one 'alq: error:' line, stderr was {res.err!r}")
    for f in fragments:
        check(any(f in l for l in lines), f"{what}: error line lacks {f!r}: {res.err.strip()!r}")


def finish(name):
    if failures:
        print(f"{name}: {len(failures)} failure(s)", file=sys.stderr)
        sys.exit(1)
    print(f"{name}: all checks passed")


def largest_remainder(counts, n_labeled):
    """Independent reference for the stratified allocation (docs/format.md)."""
    from fractions import Fraction
    known = sum(counts)
    exact = [Fraction(n_labeled * c, known) for c in counts]
    quota = [int(e) for e in exact]
    order = sorted(range(len(counts)), key=lambda k: (-(exact[k] - quota[k]), k))
    for k in order[: n_labeled - sum(quota)]:
        quota[k] += 1
    if n_labeled >= sum(1 for c in counts if c > 0):
        for k, c in enumerate(counts):
            if c > 0 and quota[k] == 0:
                donor = max(range(len(counts)), key=lambda j: (quota[j], -j))
                quota[donor] -= 1
                quota[k] = 1
    return quota
