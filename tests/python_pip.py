#!/usr/bin/python3
"""tests/python_pip.py: the Python package installs offline with Debian's
setuptools and finds libalq.

    python_pip.py --python-src <repo>/python --library <build>/libalq.so --workdir DIR

Copies python/ (so the build writes nothing into the repository), then:
  * a venv with --system-site-packages: pip install --no-build-isolation
    --no-index; `import alq` from outside the tree selects a batch with
    ALQ_LIBRARY set, and fails with alq.UsageError naming ALQ_LIBRARY when
    the library cannot be found;
  * pip install --no-build-isolation --no-index --no-deps --target DIR, with
    libalq.so.0 copied next to the package and no ALQ_LIBRARY: found there.
"""
import argparse
import os
import shutil
import subprocess
import sys

SNIPPET = ("import alq, numpy as np\n"
           "x = np.arange(40, dtype=np.float64).reshape(20, 2)\n"
           "ids, scores = alq.select(embeddings=x, budget=3, strategy='kcenter', labeled_ids=[0], "
           "labeled_labels=[0], quiet=True)\n"
           "print(alq.__file__, list(ids))\n")


def run(cmd, env=None, cwd="/"):
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    return r.returncode, r.stdout + r.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--python-src", required=True)
    ap.add_argument("--library", required=True)
    ap.add_argument("--workdir", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.workdir, ignore_errors=True)
    os.makedirs(args.workdir)
    src = os.path.join(args.workdir, "src")
    shutil.copytree(args.python_src, src, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    failures = []
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "ALQ_LIBRARY")}

    venv = os.path.join(args.workdir, "venv")
    # Debian's pip from the system site-packages (no copy of pip into the venv).
    code, out = run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", venv])
    py = os.path.join(venv, "bin", "python")
    if not code:
        code, out = run([py, "-m", "pip", "install", "--no-build-isolation", "--no-index", src], env)
    if code:
        failures.append("venv install: " + out)
    else:
        code, out = run([py, "-c", SNIPPET], dict(env, ALQ_LIBRARY=args.library))
        # k-center from labeled row 0 on points along a line: 19, then 9 (a tie with 10: lower id), then 14
        if code or not out.startswith(os.path.join(venv, "lib")) or "[19, 9, 14]" not in out:
            failures.append("venv select: " + out)
        code, out = run([py, "-c", "import alq\ntry:\n alq.select(embeddings=[[0.0]], budget=1, strategy='random')\n"
                         "except alq.UsageError as e:\n print('UsageError', e.exit_class, e.message)"],
                        dict(env, ALQ_LIBRARY=os.path.join(args.workdir, "nowhere.so")))
        if not out.startswith("UsageError 2 cannot load libalq: set ALQ_LIBRARY"):
            failures.append("venv, missing library: " + out)

    target = os.path.join(args.workdir, "target")
    code, out = run([sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-index", "--no-deps",
                     "--target", target, src], env)
    if code:
        failures.append("--target install: " + out)
    else:
        shutil.copy(os.path.realpath(args.library), os.path.join(target, "alq", "libalq.so.0"))
        code, out = run([sys.executable, "-c", SNIPPET], dict(env, PYTHONPATH=target))
        if code or "[19, 9, 14]" not in out:
            failures.append("--target, library next to the package: " + out)
    if any(n == "build" or n.endswith(".egg-info") for n in os.listdir(args.python_src)):
        failures.append("the build wrote into the repository's python/")
    for f in failures:
        print("FAIL: " + f.strip(), flush=True)
    print("python_pip: %s" % ("ok" if not failures else "%d failure(s)" % len(failures)))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
