"""Runs a test command under one OpenBLAS kernel of the kernel matrix.

usage: kernel_env.py --kernel K --corename BLAS_CORENAME -- command...

K is an OPENBLAS_CORETYPE (Haswell, SkylakeX, Cooperlake, Sandybridge,
Prescott), `default` (OpenBLAS's own choice for this CPU: the variable is
removed for this test only) or `threads2` (the environment's kernel with two
OpenBLAS threads per process, as users run threaded OpenBLAS).  A kernel this
CPU cannot run is skipped with a message (exit 77, ctest's SKIP_RETURN_CODE);
a forced kernel that OpenBLAS did not take is a failure.
"""
import argparse
import os
import subprocess
import sys

SKIP = 77
# /proc/cpuinfo flags each kernel's instructions need.
NEEDS = {
    "Prescott": ["sse3"],
    "Sandybridge": ["avx"],
    "Haswell": ["avx2", "fma"],
    "SkylakeX": ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"],
    "Cooperlake": ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd", "avx512_bf16"],
}
CPUINFO_ALIASES = {"sse3": "pni"}


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def environment(kernel):
    env = dict(os.environ)
    if kernel == "default":
        env.pop("OPENBLAS_CORETYPE", None)
    elif kernel == "threads2":
        env["OPENBLAS_NUM_THREADS"] = "2"
    else:
        env["OPENBLAS_CORETYPE"] = kernel
    return env


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--kernel", required=True)
    p.add_argument("--corename", required=True, help="the blas_corename helper")
    p.add_argument("command", nargs=argparse.REMAINDER)
    a = p.parse_args()
    cmd = a.command[1:] if a.command[:1] == ["--"] else a.command
    if a.kernel in NEEDS:
        flags = cpu_flags()
        missing = [f for f in NEEDS[a.kernel] if CPUINFO_ALIASES.get(f, f) not in flags]
        if missing:
            print(f"skipped: this CPU cannot run OpenBLAS's {a.kernel} kernel (lacks {', '.join(missing)})")
            sys.exit(SKIP)
    env = environment(a.kernel)
    core = subprocess.run([a.corename], env=env, capture_output=True, text=True, timeout=60).stdout.strip()
    print(f"# OpenBLAS kernel in effect: {core} (matrix entry {a.kernel})", flush=True)
    if a.kernel in NEEDS and core.lower() != a.kernel.lower():
        print(f"FAIL: OPENBLAS_CORETYPE={a.kernel} gave kernel {core!r}", file=sys.stderr)
        sys.exit(1)
    sys.exit(subprocess.run(cmd, env=env).returncode)


if __name__ == "__main__":
    main()
