#!/usr/bin/env bash
# Installs alq's build, run and test dependencies from Debian packages.
# With --bench, also what only the benchmarks of bench/ need (not CI's).
# Idempotent: does nothing when every package is already installed.
# usage: scripts/install-deps.sh [--bench]
set -euo pipefail

packages=(
  build-essential cmake pkg-config
  openmpi-bin libopenmpi-dev            # the distributed engine
  libopenblas-dev                       # all dense math
  libscalapack-openmpi-dev              # distributed dense linear algebra
  libhdf5-openmpi-dev hdf5-tools        # pools, batches, state (parallel MPI-IO driver)
  libprotobuf-c-dev protobuf-c-compiler # control messages and manifests
  zlib1g-dev                            # reading .csv.gz in alq import
  libcmocka-dev                         # unit tests
  clang libclang-rt-14-dev              # libFuzzer harnesses (scripts/test-fuzz.sh)
  valgrind                              # memcheck over MPI runs (scripts/test-valgrind.sh)
  libdnnl-dev                           # oneDNN: bf16 GEMM for bounds on AVX512-BF16 CPUs (optional at build time)
  help2man                              # man pages generated from --help at build time
  python3 python3-numpy python3-h5py    # test fixtures and benchmark baselines only
  python3-faiss                         # the FAISS baseline of bench/anchoral_bench.sh only
  python3-mpi4py                        # the Python package's multi-rank tests (tests/python.cmake)
  python3-setuptools python3-wheel python3-pip  # pip install ./python, offline (docs/python.md)
  python3-venv                          # tests/python_pip.py installs the package into a venv
)
bench_packages=(
  python3-sklearn                       # google/active-learning's kcenter_greedy (bench/kcenter_google.py)
  dataset-fashion-mnist                 # the OOD evidence (bench/ood_results.sh)
)
case "${1:-}" in
  "") ;;
  --bench) packages+=("${bench_packages[@]}") ;;
  *) echo "usage: scripts/install-deps.sh [--bench]" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
