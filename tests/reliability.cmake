# tests/reliability.cmake: the reliability catalogue, faults and fuzzing
# (docs/reliability.md).  Label `reliability`: `ctest -L reliability`.
set(ALQ_REL_PYTHON "/usr/bin/python3" CACHE FILEPATH "Python 3 with numpy and h5py, for the reliability tests")
set(ALQ_REL_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
set(ALQ_REL_DIR ${CMAKE_CURRENT_SOURCE_DIR}/reliability)

# Every case of the catalogue (tests/reliability/catalogue.py): exit code on
# every rank, the exact line, no hang, no output, no input changed (~30 s).
add_test(NAME reliability-catalogue
         COMMAND ${ALQ_REL_PYTHON} ${ALQ_REL_DIR}/catalogue.py --alq $<TARGET_FILE:alq>
                 --mpiexec ${MPIEXEC_EXECUTABLE} --workdir ${CMAKE_CURRENT_BINARY_DIR}/reliability-catalogue)
set_tests_properties(reliability-catalogue PROPERTIES LABELS "reliability" TIMEOUT 240 ENVIRONMENT "${ALQ_REL_ENV}")


# Faults (tests/reliability/crash.py): SIGKILL of a rank mid-streaming,
# retrieval, k-center and write at 2-4 ranks (~20 s); the writer killed or
# failing at every step of the commit of ingest and select (~11 s); a full
# tmpfs (~3 s; skipped where the test cannot mount one).
foreach(part kill interrupt disk-full)
  add_test(NAME reliability-${part}
           COMMAND ${ALQ_REL_PYTHON} ${ALQ_REL_DIR}/crash.py --part ${part} --alq $<TARGET_FILE:alq>
                   --mpiexec ${MPIEXEC_EXECUTABLE} --workdir ${CMAKE_CURRENT_BINARY_DIR}/reliability-${part})
  set_tests_properties(reliability-${part} PROPERTIES LABELS "reliability;mpi" TIMEOUT 300
                       ENVIRONMENT "${ALQ_REL_ENV}" SKIP_RETURN_CODE 77)
endforeach()

include(${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz.cmake)
