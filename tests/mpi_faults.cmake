# --- MPI failure agreement and large counts ---
# Every fault point of `alq select` (ALQ_FAIL_AT=<phase>:<rank>) on every rank
# at 2, 3 and 4 ranks: the same exit code everywhere, one line on rank 0, no
# output left, no hang (about 3 minutes on 2 cores); and transfers cut into
# tiny pieces (ALQ_MPI_MAX_MESSAGE_BYTES) give the same batch, byte for byte.
# docs/reliability.md.  Run: ctest -L mpi -R '^mpi-(fault|large)'
set(ALQ_FAULTS_PYTHON "/usr/bin/python3" CACHE FILEPATH
    "Python 3 with numpy and h5py, for the fault-injection and large-count tests")
set(ALQ_FAULTS_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
add_test(NAME mpi-fault-inject
         COMMAND ${ALQ_FAULTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/fault_inject.py --part faults
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/mpi-fault-inject)
add_test(NAME mpi-large-count
         COMMAND ${ALQ_FAULTS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/fault_inject.py --part large-count
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/mpi-large-count)
# The global top-k unit test with every block reduced in its own call.
add_test(NAME mpi-large-count-topk COMMAND ${MPIEXEC_EXECUTABLE} --allow-run-as-root -n 3 $<TARGET_FILE:test_scored>)
set_tests_properties(mpi-fault-inject PROPERTIES TIMEOUT 600 LABELS "mpi" ENVIRONMENT "${ALQ_FAULTS_ENV}")
set_tests_properties(mpi-large-count PROPERTIES TIMEOUT 300 LABELS "mpi" ENVIRONMENT "${ALQ_FAULTS_ENV}")
set_tests_properties(mpi-large-count-topk PROPERTIES TIMEOUT 180 LABELS "mpi"
                     ENVIRONMENT "${ALQ_FAULTS_ENV};ALQ_MPI_MAX_MESSAGE_BYTES=16")
# --- end MPI failure agreement and large counts ---
