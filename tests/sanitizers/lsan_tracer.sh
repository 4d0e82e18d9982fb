#!/usr/bin/env bash
# LeakSanitizer's tracer crash in GCC 12's runtime (docs/testing.md): its
# __tls_get_addr interceptor misreads a dynamic TLS block that starts 16 bytes
# past a page, and where Open MPI's blocks land moves with the size of the
# environment.  `alq --version` (MPI_Init and the components it loads) runs
# under the ASAN_OPTIONS the run exports, with 0-2048 bytes of padding in the
# environment; any "LeakSanitizer has encountered a fatal error" fails.
# Without intercept_tls_get_addr=0, 0-768 crashed under ctest and every
# padding tried in a bare environment (2026-12-06): it can fail.
set -uo pipefail
alq=$1
crashes=""
for pad in $(seq 0 32 2048); do
  out=$(ALQ_TRACER_PAD=$(printf '%*s' "$pad" '') "$alq" --version 2>&1 >/dev/null)
  grep -q "LeakSanitizer has encountered a fatal error" <<<"$out" && crashes="$crashes $pad"
done
if [ -n "$crashes" ]; then
  echo "lsan_tracer: LeakSanitizer's tracer crashed with environment padding of:$crashes bytes" \
       "(ASAN_OPTIONS=${ASAN_OPTIONS:-})" >&2
  exit 1
fi
echo "lsan_tracer: 65 paddings, no tracer crash (ASAN_OPTIONS=${ASAN_OPTIONS:-})"
