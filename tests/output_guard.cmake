# tests/output_guard.cmake: no command can destroy one of its inputs (alq/paths.h).
# Every (output, input) and (output, output) pair of every command, spelled as
# the same string, through ./x/../ and through a symlink, must exit 2 and leave
# every file byte for byte as it was; runs that fail late leave pre-existing
# outputs and the state file intact.  Debian's /usr/bin/python3 (numpy + h5py).
add_test(NAME cli-output-guard
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/output_guard.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/output_guard)
set_tests_properties(cli-output-guard PROPERTIES TIMEOUT 600 ENVIRONMENT
                     "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
