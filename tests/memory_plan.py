#!/usr/bin/python3
"""tests/memory_plan.py: --memory-per-rank counts what a rank holds.

Run with Debian's /usr/bin/python3 (it needs nothing beyond the standard library):
    memory_plan.py --alq build/alq --mpiexec mpiexec --workdir DIR

For selections whose state is tens to hundreds of MB (score-only margin,
margin-kcenter, kcenter on every item, --diversity hier, AnchorAL with many
anchors x neighbors, a --model), the plan `alq select --log-view` prints
("memory: rank R of P needs at most N bytes") is compared with each rank's
measured peak RSS (/usr/bin/time's maximum resident set size), less what a
trivial run holds beyond its own plan (MPI, HDF5, OpenBLAS, the C runtime):

    declared >= measured - SLACK            the plan bounds the peak
    declared <= 1.5 x measured + SLACK      and is not a wild overestimate

A limit one byte below the plan then fails up front (exit 5 on every rank,
one "alq: error:" line with the breakdown and the right advice, no output
file, in a fraction of the full run's time), and a limit equal to it passes.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

RUN_TIMEOUT = 120
MiB = 1 << 20
failures = []

# Why these tolerances.  Measured, the plan is within 3% of the peak either
# way (the test prints both).  Below: what the plan cannot see moves the peak
# a little -- glibc keeps freed blocks smaller than its mmap threshold (which
# rises to the largest block freed so far, e.g. an 8 MiB chunk buffer) as
# touched holes, OpenBLAS's packing buffers and MPI's collective buffers are
# touched only by large runs, the baseline varies by ~0.2 MiB -- so the plan
# may fall short by 2 MiB + 5%; a part left out (the merge buffers, qsort's
# scratch, a second copy of the heaps' rows) is more.  Above: the plan uses
# bounds for data-dependent sizes (a rank's subpool share, the items a leaf
# owner receives) and sums a phase's parts as if all were live at once;
# 1.5x + 2 MiB still catches a part counted twice.
SLACK_FIXED = 2 * MiB
SLACK_SHARE = 0.05
UPPER_RATIO = 1.5

GEN = "gen:items={items},dim=64,classes=10,imbalance=3,seed=1"
GEN_WIDE_C = "gen:items={items},dim=8,classes=100,imbalance=3,seed=1"  # run without a labeled set
# (name, ranks, items, options): sizes chosen so the selection's state
# dominates the ~20-25 MB a rank holds anyway.
CONFIGS = [
    ("margin", 2, 1000000, ["--strategy", "margin", "--budget", 400000, "--chunk-rows", 400000]),
    ("margin-kcenter", 2, 400000, ["--strategy", "margin-kcenter", "--budget", 100, "--candidates", 200000]),
    ("kcenter", 2, 400000, ["--strategy", "kcenter", "--budget", 50]),
    ("kcenter-1rank", 1, 200000, ["--strategy", "kcenter", "--budget", 50]),
    ("hier", 2, 400000, ["--strategy", "kcenter", "--diversity", "hier", "--budget", 100]),
    ("anchoral", 2, 400000, ["--strategy", "margin", "--budget", 100, "--subpool", "anchoral",
                             "--anchors-per-class", 100, "--neighbors", 200]),
    ("model", 2, 400000, ["--strategy", "margin-kcenter", "--budget", 100, "--candidates", 100000, "--model", None]),
    # Strategies with a select stage of their own (alq_strategy select_bytes).
    # BADGE on many classes and narrow rows: its C floats an item outweigh the
    # candidates' rows, so the plan's strategy part is what is checked.
    ("badge", 2, 300000, ["--strategy", "badge", "--budget", 50, "--pool", GEN_WIDE_C]),
    ("vessal", 2, 300000, ["--strategy", "vessal", "--budget", 50]),
    ("cluster-margin", 2, 400000, ["--strategy", "cluster-margin", "--budget", 200, "--candidates", 100000]),
    # K = |L| + B clusters: a small labeled set keeps the k-means short.
    ("typiclust", 2, 100000, ["--strategy", "typiclust", "--budget", 20, "--labeled", "SMALL"]),
]


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, flush=True)


class Run:
    """One `alq select` under mpiexec, each rank under /usr/bin/time."""

    def __init__(self, a, name, ranks, pool, opts, limit=None):
        self.name, self.ranks = name, ranks
        self.out = os.path.join(a.dir, name + ".h5")
        if os.path.exists(self.out):
            os.remove(self.out)
        stats = os.path.join(a.dir, name + ".rank")
        for r in range(ranks):
            if os.path.exists("%s%d" % (stats, r)):
                os.remove("%s%d" % (stats, r))
        # Open MPI names the rank in OMPI_COMM_WORLD_RANK; %M is the peak RSS
        # in KiB, %x the exit status.  The wrapper itself exits 0, or mpiexec
        # would kill the other ranks (and their time) when the first one fails.
        wrap = '%s -o %s$OMPI_COMM_WORLD_RANK -f "%%M %%x" "$0" "$@"; exit 0' % (a.time, stats)
        cmd = [a.mpiexec, "--allow-run-as-root", "--oversubscribe", "-n", str(ranks), "sh", "-c", wrap, a.alq,
               "select", "--pool", pool, "--out", self.out, "--log-view", "--quiet"] + [str(o) for o in opts]
        if limit is not None:
            cmd += ["--memory-per-rank", str(limit)]
        self.cmd = " ".join(cmd)
        t0 = time.time()
        try:
            p = subprocess.run(cmd, env=a.env, timeout=RUN_TIMEOUT, capture_output=True, text=True)
        except subprocess.TimeoutExpired:
            fail("%s: timeout: %s" % (name, self.cmd))
            self.rc, self.stderr, self.rss, self.status = None, "", [], []
            return
        self.seconds = time.time() - t0
        self.stderr = p.stderr
        self.rss, self.status = [], []
        for r in range(ranks):
            with open("%s%d" % (stats, r)) as f:
                last = f.read().splitlines()[-1].split()  # time prefixes a failure with its own line
            self.rss.append(int(last[0]) * 1024)
            self.status.append(int(last[1]))
        self.rc = p.returncode or max(self.status)
        m = re.search(r"^memory: rank (\d+) of \d+ needs at most (\d+) bytes", p.stderr, re.M)
        self.declared = int(m.group(2)) if m else None
        self.plan_line = m.group(0) if m else ""
        self.errors = [l for l in p.stderr.splitlines() if l.startswith("alq: error:")]

    def ok(self):
        if self.rc != 0:
            fail("%s: exit %s: %s\n%s" % (self.name, self.rc, self.cmd, self.stderr))
            return False
        if self.declared is None:
            fail("%s: no 'memory:' line in --log-view output: %r" % (self.name, self.stderr))
            return False
        return True


class Alq:
    def __init__(self, args):
        self.alq, self.mpiexec, self.dir, self.time = args.alq, args.mpiexec, args.workdir, args.time
        self.env = dict(os.environ)
        self.env.update(OPENBLAS_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
                        OMPI_MCA_rmaps_base_oversubscribe="1")

    def tool(self, *argv):
        subprocess.run([str(x) for x in argv], check=True, env=self.env, timeout=RUN_TIMEOUT,
                       stdout=subprocess.DEVNULL)


def setup(a):
    """Labeled sets (2,000 and 20 items of ids < 20,000, which the gen: pools
    share) and an MLP trained on the first."""
    labeled = os.path.join(a.dir, "labeled.h5")
    a.small = os.path.join(a.dir, "labeled-small.h5")
    model = os.path.join(a.dir, "mlp.h5")
    for path, n in ((labeled, 2000), (a.small, 20)):
        a.tool(a.alq, "gen", "--out", path, "--items", 20000, "--dim", 64, "--classes", 10, "--imbalance", 3,
               "--labeled", n, "--seed", 1)
    a.tool(a.mpiexec, "--allow-run-as-root", "-n", 1, a.alq, "train", "--pool", labeled, "--model", "mlp",
           "--out", model, "--epochs", 5, "--quiet")
    return labeled, model


def uncounted(a, ranks, labeled, extra):
    """Per rank: what a trivial run holds beyond its own plan.  `extra` is
    --model when the run has one: loading it brings up HDF5 on every rank."""
    r = Run(a, "baseline-%d%s" % (ranks, "-model" if extra else ""), ranks, GEN.format(items=20000),
            ["--labeled", labeled, "--strategy", "margin", "--budget", 1] + extra)
    if not r.ok():
        sys.exit(1)
    base = [rss - r.declared for rss in r.rss]
    print("baseline P=%d%s: peak RSS %s MiB, plan %.2f MiB" %
          (ranks, " --model" if extra else "", ["%.1f" % (x / MiB) for x in r.rss], r.declared / MiB), flush=True)
    return base


def check_figures(a, name, ranks, items, opts, labeled, base):
    pool, own = GEN, "--labeled" in opts
    if "--pool" in opts:  # another generated pool, whose rows the labeled sets are not
        at = opts.index("--pool")
        pool, opts, own = opts[at + 1], opts[:at] + opts[at + 2:], True
    r = Run(a, name, ranks, pool.format(items=items), ([] if own else ["--labeled", labeled]) + opts)
    if not r.ok():
        return None
    measured = max(rss - b for rss, b in zip(r.rss, base))
    slack = SLACK_FIXED + SLACK_SHARE * r.declared
    print("%-15s P=%d declared %7.1f MiB, measured %7.1f MiB (ratio %.2f), %.1f s" %
          (name, ranks, r.declared / MiB, measured / MiB, r.declared / measured, r.seconds), flush=True)
    if r.declared < measured - slack:
        fail("%s: the plan (%d bytes) is below the measured peak %d bytes - slack: %s" %
             (name, r.declared, measured, r.plan_line))
    if r.declared > UPPER_RATIO * measured + SLACK_FIXED:
        fail("%s: the plan (%d bytes) exceeds %.1f x the measured peak %d bytes: %s" %
             (name, r.declared, UPPER_RATIO, measured, r.plan_line))
    return r


def check_limit(a, full, ranks, items, opts, labeled, part, advice, add_ranks):
    """One byte below the plan fails up front on every rank; the plan itself passes."""
    pool = GEN.format(items=items)
    below = Run(a, full.name + "-below", ranks, pool, ["--labeled", labeled] + opts, limit=full.declared - 1)
    tag = full.name + " at --memory-per-rank plan - 1"
    if below.rc != 5 or below.status != [5] * ranks:
        fail("%s: exit %s, rank statuses %s, expected 5 on every rank: %s" % (tag, below.rc, below.status,
                                                                              below.stderr))
    if len(below.errors) != 1:
        fail("%s: expected one 'alq: error:' line, got %r" % (tag, below.stderr))
    else:
        line = below.errors[0]
        for want in ("needs", "--memory-per-rank", part, advice):
            if want not in line:
                fail("%s: %r not in the error line %r" % (tag, want, line))
        if ("add ranks" in line) != add_ranks:
            fail("%s: 'add ranks' should %sbe advised: %r" % (tag, "" if add_ranks else "not ", line))
        print("%s: %s" % (tag, line), flush=True)
    if os.path.exists(below.out):
        fail("%s: an output file was left behind" % tag)
    # Failing before the stream: no progress, and a fraction of the full run's time.
    if below.seconds > max(2.5, 0.3 * full.seconds):
        fail("%s: took %.1f s (the full run %.1f s): not up front" % (tag, below.seconds, full.seconds))
    at = Run(a, full.name + "-at", ranks, pool, ["--labeled", labeled] + opts, limit=full.declared)
    if at.ok() and not os.path.exists(at.out):
        fail("%s at --memory-per-rank plan: no batch written" % full.name)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--alq", required=True)
    ap.add_argument("--mpiexec", default="mpiexec")
    ap.add_argument("--time", default="/usr/bin/time")
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    if not os.access(args.time, os.X_OK):
        print("SKIP: %s (GNU time) is not installed" % args.time)
        sys.exit(0)
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    a = Alq(args)
    labeled, model = setup(a)
    base, runs = {}, {}
    for name, ranks, items, opts in CONFIGS:
        opts = [model if o is None else a.small if o == "SMALL" else o for o in opts]
        extra = ["--model", model] if model in opts else []
        key = (ranks, bool(extra))
        if key not in base:
            base[key] = uncounted(a, ranks, labeled, extra)
        runs[name] = (check_figures(a, name, ranks, items, opts, labeled, base[key]), ranks, items, opts)
    # Per-rank state that more ranks do not shrink: the anchor heaps.
    full, ranks, items, opts = runs["anchoral"]
    if full:
        check_limit(a, full, ranks, items, opts, labeled, "anchor", "lower --neighbors or --anchors-per-class",
                    False)
    # kcenter keeps every item of its shard: here more ranks do help.
    full, ranks, items, opts = runs["kcenter"]
    if full:
        check_limit(a, full, ranks, items, opts, labeled, "candidates", "--subpool anchoral", True)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
