# --- --memory-per-rank plan (tests/memory_plan.py) ---
# The plan --log-view prints against each rank's measured peak RSS for six
# kinds of selection, and a limit just below / at the plan.  Needs GNU time
# (/usr/bin/time); about a minute and a half on 2 idle cores.
add_test(NAME stream-memory-plan
         COMMAND ${ALQ_STREAM_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/memory_plan.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/memory_plan)
set_tests_properties(stream-memory-plan PROPERTIES TIMEOUT 300
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# --- end --memory-per-rank plan ---
