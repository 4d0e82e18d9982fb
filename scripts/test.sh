#!/usr/bin/env bash
# One command from a fresh Debian 12 machine to a full test run:
# installs dependencies, builds, and runs every test under ctest.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
. "$root/scripts/mpi-env.sh"
cd "$root/build"
ctest --output-on-failure -j2 "$@"
