# --- pools in several files (tests/pool_multi.py, docs/format.md) ---
# A pool list over three unequal shards (and over separate embeddings and
# model-output files) selects the single file's margin and margin-kcenter batch
# at 1, 2 and 3 ranks; bad lists fail with one line naming the list and line.
add_test(NAME pool-multi
         COMMAND ${ALQ_STREAM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/pool_multi.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/pool_multi)
set_tests_properties(pool-multi PROPERTIES TIMEOUT 300 LABELS pool-layout
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# --- end pools in several files ---
