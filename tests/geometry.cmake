# Embedding geometry (ScaLAPACK): covariance pass, PDSYEVD, PDPOTRF against
# one-rank LAPACK (test_geometry) and numpy (geometry.py), bit-identical
# projections and batches at 1-4 ranks.  Run: ctest -L geometry
set(ALQ_GEO_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
add_executable(test_geometry test_geometry.c)
target_include_directories(test_geometry PRIVATE ${CMAKE_SOURCE_DIR}/geometry ${HDF5_C_INCLUDE_DIRS})
target_link_libraries(test_geometry PRIVATE alqcore m)

set(ALQ_GEO_RUN /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/geometry.py --alq $<TARGET_FILE:alq>
    --test-geometry $<TARGET_FILE:test_geometry> --mpiexec ${MPIEXEC_EXECUTABLE})
foreach(part pca maha select cli)
  add_test(NAME geometry-${part}
           COMMAND ${ALQ_GEO_RUN} --part ${part} --workdir ${CMAKE_CURRENT_BINARY_DIR}/geometry/${part})
endforeach()
set_tests_properties(geometry-pca geometry-maha geometry-select geometry-cli PROPERTIES
                     TIMEOUT 300 LABELS geometry ENVIRONMENT "${ALQ_GEO_ENV}")
