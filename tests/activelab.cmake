# --- activelab: CROWDLAB consensus, the activelab strategy, noisy simulate ---
# Consensus and ActiveLab scores against numpy (tests/activelab_consensus.py).
add_executable(test_consensus ${CMAKE_CURRENT_SOURCE_DIR}/test_consensus.c)
target_link_libraries(test_consensus PRIVATE alqcore m)
add_test(NAME activelab-consensus
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/activelab_consensus.py
                 --exe $<TARGET_FILE:test_consensus>)
set_tests_properties(activelab-consensus PROPERTIES TIMEOUT 120)
# activelab and alq consensus through the CLI (1-4 ranks), simulate --annotators.
add_test(NAME activelab-select
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/activelab_select.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --data ${CMAKE_SOURCE_DIR}/tests/data --workdir ${CMAKE_CURRENT_BINARY_DIR}/activelab-select)
set_tests_properties(activelab-select PROPERTIES TIMEOUT 300
  ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# simulate's out-of-sample probabilities (simulate/oos.c): out of sample, the same at 1 and 2 ranks.
add_executable(test_sim_oos ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_oos.c)
target_link_libraries(test_sim_oos PRIVATE alqcore m)
add_test(NAME activelab-oos
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/activelab_oos.py
                 --exe $<TARGET_FILE:test_sim_oos> --mpiexec ${MPIEXEC_EXECUTABLE})
set_tests_properties(activelab-oos PROPERTIES TIMEOUT 120
  ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
# --- end activelab ---
