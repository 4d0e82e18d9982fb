# tests/fuzz/fuzz.cmake: libFuzzer harnesses for every reader of outside input
# (docs/reliability.md, "Fuzzing").
#
# -DALQ_FUZZ=ON (a clang build, scripts/test-fuzz.sh: build-fuzz/ with
# ALQ_SANITIZE=address,undefined) links each harness with libFuzzer, and
# `ctest -L fuzz` runs each one for ALQ_FUZZ_SECONDS on its seed corpus
# (tests/fuzz/corpus/<harness>/) plus every input that once crashed
# (tests/fuzz/regressions/<harness>/); new inputs go to the build folder, never
# into the tree.  Any crash, sanitizer report, leak or timeout fails the test,
# except in the harnesses listed in ALQ_FUZZ_FORKED below: there a crash whose
# stack starts in libhdf5 is HDF5's own and is let pass (forked.sh; its verdict
# is tested on fake harnesses by `fuzz-forked-verdict`, in every build).
# In every other build each harness is linked with replay_main.c instead and
# `fuzz-replay-<harness>` feeds it the same two folders once (label
# `reliability`): a crash found by fuzzing stays a regression test everywhere.
option(ALQ_FUZZ "Build the libFuzzer harnesses (clang; scripts/test-fuzz.sh)" OFF)
set(ALQ_FUZZ_SECONDS 15 CACHE STRING "Seconds each harness runs in `ctest -L fuzz` (ALQ_FUZZ builds)")
set(ALQ_FUZZ_DIR ${CMAKE_CURRENT_LIST_DIR})
set(ALQ_FUZZ_HARNESSES manifest state pool_inspect idx import csv answers pool_list)
set(ALQ_FUZZ_EXTRA_idx ${CMAKE_SOURCE_DIR}/cli/cmd_import_idx.c ${CMAKE_SOURCE_DIR}/cli/args.c)
set(ALQ_FUZZ_LIBS_idx ZLIB::ZLIB)
set(ALQ_FUZZ_EXTRA_import ${CMAKE_SOURCE_DIR}/cli/cmd_import.c ${CMAKE_SOURCE_DIR}/cli/args.c)
set(ALQ_FUZZ_LIBS_import ZLIB::ZLIB)
# The harnesses that open HDF5 files run in fork mode and go on past a crash:
# HDF5 1.10 itself crashes on some corrupt files (docs/reliability.md, "What the
# long run found"), which no caller can prevent.  forked.sh runs them and
# replays every crash input it left in fuzz-artifacts/: the test fails when one
# crashed outside HDF5.
set(ALQ_FUZZ_FORKED state pool_inspect)

if(ALQ_FUZZ)
  # Coverage feedback from the library's own code, not only the harness: the
  # library is compiled once, as the object library both alqcore and
  # libalq.so are made of (an option on alqcore itself reached no object).
  target_compile_options(alq_objects PRIVATE -fsanitize=fuzzer-no-link)
endif()

foreach(h IN LISTS ALQ_FUZZ_HARNESSES)
  string(REPLACE "_" "-" name ${h})
  if(ALQ_FUZZ)
    set(target fuzz_${h})
    add_executable(${target} ${ALQ_FUZZ_DIR}/fuzz_${h}.c ${ALQ_FUZZ_DIR}/fuzz_input.c ${ALQ_FUZZ_EXTRA_${h}})
    target_compile_options(${target} PRIVATE -fsanitize=fuzzer-no-link)
    target_link_options(${target} PRIVATE -fsanitize=fuzzer)
  else()
    set(target fuzz_replay_${h})
    add_executable(${target} ${ALQ_FUZZ_DIR}/fuzz_${h}.c ${ALQ_FUZZ_DIR}/fuzz_input.c ${ALQ_FUZZ_DIR}/replay_main.c
                             ${ALQ_FUZZ_EXTRA_${h}})
  endif()
  target_include_directories(${target} PRIVATE ${ALQ_FUZZ_DIR} ${CMAKE_SOURCE_DIR}/cli)
  target_link_libraries(${target} PRIVATE alqcore ${ALQ_FUZZ_LIBS_${h}})
  file(MAKE_DIRECTORY ${ALQ_FUZZ_DIR}/regressions/${h})
  if(ALQ_FUZZ)
    set(found ${CMAKE_CURRENT_BINARY_DIR}/fuzz-found/${h})
    file(MAKE_DIRECTORY ${found} ${CMAKE_CURRENT_BINARY_DIR}/fuzz-artifacts)
    set(fuzz_args -max_total_time=${ALQ_FUZZ_SECONDS} -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048
                  -print_final_stats=1 ${found} ${ALQ_FUZZ_DIR}/corpus/${h} ${ALQ_FUZZ_DIR}/regressions/${h})
    set(artifacts ${CMAKE_CURRENT_BINARY_DIR}/fuzz-artifacts)
    if(h IN_LIST ALQ_FUZZ_FORKED)
      add_test(NAME fuzz-${name} COMMAND bash ${ALQ_FUZZ_DIR}/forked.sh $<TARGET_FILE:${target}> ${artifacts} ${h} ${fuzz_args})
    else()
      add_test(NAME fuzz-${name} COMMAND $<TARGET_FILE:${target}> -artifact_prefix=${artifacts}/${h}- ${fuzz_args})
    endif()
    set_tests_properties(fuzz-${name} PROPERTIES LABELS "fuzz" TIMEOUT 120
                         ENVIRONMENT "ASAN_OPTIONS=allocator_may_return_null=1:detect_leaks=1:suppressions=${ALQ_FUZZ_DIR}/asan.supp;LSAN_OPTIONS=suppressions=${ALQ_FUZZ_DIR}/lsan.supp:print_suppressions=0;UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1")
  else()
    add_test(NAME fuzz-replay-${name}
             COMMAND $<TARGET_FILE:${target}> ${ALQ_FUZZ_DIR}/corpus/${h} ${ALQ_FUZZ_DIR}/regressions/${h})
    set_tests_properties(fuzz-replay-${name} PROPERTIES LABELS "reliability;fuzz" TIMEOUT 60)
  endif()
endforeach()

add_test(NAME fuzz-forked-verdict COMMAND bash ${ALQ_FUZZ_DIR}/test_forked.sh ${ALQ_FUZZ_DIR}/forked.sh)
set_tests_properties(fuzz-forked-verdict PROPERTIES LABELS "reliability;fuzz" TIMEOUT 60)
