#!/usr/bin/python3
"""tests/cli_help.py: every alq command answers --help with exit 0 and its usage,
and `alq strategies` lists the six registered strategies (once, also under
mpiexec -n 2: serial commands print from rank 0 only).

    cli_help.py --alq build/alq --mpiexec mpiexec
"""
import argparse
import os
import subprocess
import sys

COMMANDS = ["gen", "import", "info", "select", "strategies"]
STRATEGIES = ["random", "least-confidence", "margin", "entropy", "kcenter", "margin-kcenter"]
TIMEOUT = 60
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


def run(cmd):
    env = dict(os.environ)
    env.update(OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1",
               OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")
    try:
        p = subprocess.run(["timeout", "-k", "10", str(TIMEOUT)] + cmd, env=env,
                           capture_output=True, text=True, timeout=TIMEOUT + 30)
    except subprocess.TimeoutExpired:
        return 124, "", "timeout"
    return p.returncode, p.stdout, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    a = ap.parse_args()
    mpi = [a.mpiexec, "--allow-run-as-root", "--oversubscribe"]

    for c in COMMANDS:
        for launcher in ([], mpi + ["-n", "1"]):
            rc, so, se = run(launcher + [a.alq, c, "--help"])
            tag = f"alq {c} --help" + (" (mpiexec -n 1)" if launcher else "")
            if rc != 0:
                fail(f"{tag}: exit {rc}; stderr {se.strip()[-300:]}")
            if not so.strip():
                fail(f"{tag}: nothing on stdout (usage belongs on stdout for --help); stderr {se.strip()[:200]!r}")
            if c not in so + se:
                fail(f"{tag}: usage does not name the command")
            if "alq: error" in so + se:
                fail(f"{tag}: printed an error line")

    # top-level help
    rc, so, se = run([a.alq, "--help"])
    if rc != 0:
        fail(f"alq --help: exit {rc}")
    for c in COMMANDS:
        if c not in so + se:
            fail(f"alq --help does not mention the '{c}' command")

    # unknown command: usage error
    rc, so, se = run([a.alq, "no-such-command"])
    if rc != 2:
        fail(f"alq no-such-command: exit {rc}, expected 2")

    for launcher, n in (([], 1), (mpi + ["-n", "2"], 2)):
        rc, so, se = run(launcher + [a.alq, "strategies"])
        tag = f"alq strategies (ranks {n})"
        if rc != 0:
            fail(f"{tag}: exit {rc}; stderr {se.strip()[-300:]}")
            continue
        words = [l.split()[0] for l in so.splitlines() if l.strip()]
        for s in STRATEGIES:
            if words.count(s) != 1:
                fail(f"{tag}: '{s}' starts {words.count(s)} lines of the listing, expected 1:\n{so}")

    print(f"\n{len(failures)} failure(s)")
    for f in failures:
        print("  " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
