# Tests labelled `sanitize`: the subset scripts/test-sanitize.sh runs under
# AddressSanitizer + UndefinedBehaviorSanitizer in CI (docs/testing.md says why
# these, what each covers and how long they take).  The whole suite under ASan
# takes far longer than CI's budget: every alq process pays ASan's start-up and
# LeakSanitizer's exit scan (~1-3 s), and the CLI drivers start hundreds of them.
# Together these execute every library source file (checked with gcov,
# docs/testing.md).  A test missing from this build (renamed, or not configured)
# is skipped here rather than failing the configure.
set(ALQ_SANITIZE_TESTS
  # unit tests: one process each, cheap under ASan
  unit-partition unit-scored mpi-scored-global-topk-n3 mpi-large-count-topk unit-strategies
  pool-gen-unit pool-labeled-draw-unit pool-write-unit unit-dot unit-half model-unit-n2
  anchoral-choose-unit stream-progress-unit stream-gen-file stream-gen-rows
  # CLI drivers: every command and the coordinator, on small pools
  cli-help pool-info-cli state-workflow anchoral-retrieve stream-hier model-cli simulate-cli
  # the C API (api/) through the Python binding, the ASan runtime preloaded (tests/python.cmake)
  python-errors python-select-n2)
foreach(t IN LISTS ALQ_SANITIZE_TESTS)
  if(TEST ${t})
    get_test_property(${t} LABELS alq_labels)
    if(NOT alq_labels)
      set(alq_labels "")
    endif()
    list(APPEND alq_labels sanitize)
    set_tests_properties(${t} PROPERTIES LABELS "${alq_labels}")
    # Under ASan a process runs ~2x slower and pays ~1 s at start and exit:
    # give the labelled tests 4x their normal time in a sanitizer build.
    if(ALQ_SANITIZE)
      get_test_property(${t} TIMEOUT alq_timeout)
      if(alq_timeout)
        math(EXPR alq_timeout "${alq_timeout} * 4")
        set_tests_properties(${t} PROPERTIES TIMEOUT ${alq_timeout})
      endif()
    endif()
  endif()
endforeach()

# The tracer crash scripts/test-sanitize.sh's intercept_tls_get_addr=0 avoids
# (docs/testing.md): a sanitizer build only, under the script's options.
if(ALQ_SANITIZE MATCHES "address")
  add_test(NAME sanitize-lsan-tracer COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/sanitizers/lsan_tracer.sh $<TARGET_FILE:alq>)
  set_tests_properties(sanitize-lsan-tracer PROPERTIES LABELS sanitize TIMEOUT 300)
endif()
