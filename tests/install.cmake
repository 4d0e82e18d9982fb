# --- install (docs/install.md) ---
# cmake --install into a fresh prefix; examples/c built against it with
# find_package(alq) and with pkg-config, run at 1 and 2 ranks, its batch equal
# to `alq select`'s on the same arrays; man alq-select renders.  ctest -L install
add_test(NAME install-prefix-example
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/install_example.sh ${CMAKE_BINARY_DIR} ${CMAKE_SOURCE_DIR}
                 ${CMAKE_CURRENT_BINARY_DIR}/install-prefix-example ${PROJECT_VERSION} $<IF:$<BOOL:${ALQ_MAN_PAGES}>,ON,OFF>
                 ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe)
set_tests_properties(install-prefix-example PROPERTIES LABELS install TIMEOUT 300
                     ENVIRONMENT "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1")
# --- end install ---
