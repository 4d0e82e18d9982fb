# Concurrent updates of one round state (alq/state_lock.h): parallel ingests,
# an ingest racing a selection, two selections at once, a held lock timing out.
add_test(NAME state-concurrency
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/state_concurrency.py --alq $<TARGET_FILE:alq>
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/state-concurrency)
set_tests_properties(state-concurrency PROPERTIES TIMEOUT 300
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
