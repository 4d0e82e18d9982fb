# tests/strategies_bayes.cmake: BALD, VeSSAL and ProbCover (tests/strategies_bayes.py):
# each against an independent numpy reference and for the same batch at 1-4 ranks.
set(ALQ_BAYES_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
foreach(part bald-mc-probs bald-model bald-errors vessal probcover)
  add_test(NAME strategy-${part}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/strategies_bayes.py --part ${part}
                   --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/strategies_bayes/${part})
  set_tests_properties(strategy-${part} PROPERTIES TIMEOUT 170 ENVIRONMENT "${ALQ_BAYES_ENV}")
endforeach()
