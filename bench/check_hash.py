#!/usr/bin/python3
"""bench/check_hash.py: kcenter_numpy.alq_hash3 must equal core/hash.c bit for bit.

  check_hash.py PATH/TO/alq_hash_print

Exit 0 when equal on every tried (seed, purpose, id range), 1 otherwise, 77
(skip) without numpy.
"""
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(77)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kcenter_numpy import alq_hash3  # noqa: E402


def main():
    exe = sys.argv[1]
    bad = 0
    for seed, purpose, lo, hi in [(0, 2, 0, 1000), (1, 2, 0, 1000), (7, 1, 999000, 1000000),
                                  (12345678901234567, 2, 0, 100), ((1 << 64) - 1, 2, 0, 100),
                                  (42, 4, (1 << 40), (1 << 40) + 100)]:
        out = subprocess.run([exe, str(seed), str(purpose), str(lo), str(hi)], check=True,
                             capture_output=True, text=True).stdout.split()
        c = np.array([int(v) for v in out[1::2]], dtype=np.uint64)
        py = alq_hash3(seed, np.arange(lo, hi, dtype=np.uint64), purpose)
        if not np.array_equal(c, py):
            print("hash mismatch: seed %d purpose %d ids [%d, %d)" % (seed, purpose, lo, hi))
            bad = 1
    print("alq_hash3: numpy == C" if not bad else "alq_hash3: numpy != C")
    return bad


if __name__ == "__main__":
    sys.exit(main())
