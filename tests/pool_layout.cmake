# --- pools in the user's layout (tests/pool_layout.py, docs/format.md) ---
# An h5py pool (emb float16/float32, pred float64, unsorted int64 idx) selects
# the same margin and margin-kcenter batch as its standard rewrite, at 1 and 2
# ranks; bad layouts fail with one line.  About 20 s on 2 idle cores.
add_test(NAME pool-layout
         COMMAND ${ALQ_STREAM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/pool_layout.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/pool_layout)
set_tests_properties(pool-layout PROPERTIES TIMEOUT 300 LABELS pool-layout
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# --- end pools in the user's layout ---
# --- float16 pools (tests/pool_half.py, alq/half.h) ---
# A float16 pool and a pool list of float16 shards give their float32 copy's
# batch (ids and score bits) for kcenter, --no-prune, margin-kcenter and hier
# at 1-3 ranks; picks checked against numpy; the steps read half the bytes.
add_test(NAME pool-half
         COMMAND ${ALQ_STREAM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/pool_half.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/pool_half)
set_tests_properties(pool-half PROPERTIES TIMEOUT 300 LABELS pool-layout
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# The exact k-center's float16 rows taken in place from the file (mmap): the
# copy path's batch (ALQ_MAP=0) at 1-4 ranks with labeled rows inside the
# mapped shards; chunked and compressed pools fall back; bad rows refused.
add_test(NAME pool-half-mapped
         COMMAND ${ALQ_STREAM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/pool_mapped.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/pool_mapped)
set_tests_properties(pool-half-mapped PROPERTIES TIMEOUT 300 LABELS pool-layout
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# --- end float16 pools ---
