#!/usr/bin/env bash
# tests/fuzz/test_forked.sh: forked.sh's verdict on fake harnesses whose
# crashes are known, so the classifier that lets HDF5's crashes pass is itself
# checked: a crash in libhdf5 passes, one in alq's code or a leak fails, one
# that does not happen again alone passes, a fuzzer cut short is exit 2.
#   test_forked.sh FORKED_SH
set -uo pipefail
forked=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0

# A stand-in for a libFuzzer binary.  In fork mode (-fork=1) it leaves one
# artifact of KIND and reports its deadline; given that file alone it prints
# the sanitizer stack FRAME and exits REPLAY_EXIT.
make_harness() {   # path kind frame replay_exit deadline_line
  cat >"$1" <<HARNESS
#!/usr/bin/env bash
if [ "\$1" = -fork=1 ]; then
  for a in "\$@"; do case \$a in -artifact_prefix=*) prefix=\${a#-artifact_prefix=};; esac; done
  echo input >"\${prefix}$2-0123"
  echo "$5"
  exit 1
fi
echo "==1==ERROR: AddressSanitizer: SEGV on unknown address"
echo "    #0 0x7f in __memcpy_avx_unaligned /build/glibc/sysdeps/x86_64/memmove.S:300"
echo "    #1 0x7f in __asan_memcpy (/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.asan-x86_64.so+0xa)"
echo "    #2 0x7f in $3"
echo "    #3 0x55 in LLVMFuzzerTestOneInput tests/fuzz/fuzz_state.c:40"
exit $4
HARNESS
  chmod +x "$1"
}

expect() {   # want name kind frame replay_exit deadline_line
  local want=$1 name=$2
  make_harness "$work/$name" "$3" "$4" "$5" "$6"
  "$forked" "$work/$name" "$work/art" "$name" -max_total_time=1 >"$work/$name.log" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "test_forked: $name: forked.sh exit $got, want $want"; sed 's/^/  | /' "$work/$name.log"
    failures=$((failures + 1))
  else
    echo "test_forked: $name: exit $got as expected"
  fi
}

done_line="INFO: exiting: 1 time: 2s"
expect 0 hdf5_crash crash "H5VM_memcpyvv (/usr/lib/x86_64-linux-gnu/hdf5/openmpi/libhdf5.so.103+0x1)" 1 "$done_line"
expect 1 alq_crash crash "alq_state_load state/state.c:120" 1 "$done_line"
expect 1 leak_in_hdf5 leak "H5MM_malloc (/usr/lib/x86_64-linux-gnu/hdf5/openmpi/libhdf5.so.103+0x1)" 1 "$done_line"
expect 0 not_again crash "alq_state_load state/state.c:120" 0 "$done_line"
expect 2 cut_short crash "H5VM_memcpyvv (libhdf5.so.103+0x1)" 1 "==1== ERROR: libFuzzer: fuzz target exited"
exit $((failures > 0))
