# The kernel matrix (issue: "the same batch on every machine"): the
# determinism-sensitive tests under every OpenBLAS kernel this CPU can run,
# OpenBLAS's own choice, and two OpenBLAS threads per process.  kernel_env.py
# skips (exit 77) a kernel the CPU lacks and fails when a forced kernel does
# not take.  kernel-cross runs one rank under every kernel and requires
# bit-identical outputs: the batch does not depend on BLAS at all.
# Run: ctest -L kernels
add_executable(blas_corename blas_corename.c)
target_link_libraries(blas_corename PRIVATE PkgConfig::OPENBLAS)

set(ALQ_KERNEL_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
set(ALQ_KERNEL_RUN /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/kernel_env.py --corename $<TARGET_FILE:blas_corename>)
foreach(k default Haswell SkylakeX Cooperlake Sandybridge Prescott threads2)
  add_test(NAME kernel-${k}-unit-dot COMMAND ${ALQ_KERNEL_RUN} --kernel ${k} -- $<TARGET_FILE:test_dot>)
  add_test(NAME kernel-${k}-model-unit-n2
           COMMAND ${ALQ_KERNEL_RUN} --kernel ${k} -- ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe -n 2
                   $<TARGET_FILE:test_model>)
  add_test(NAME kernel-${k}-ranks
           COMMAND ${ALQ_KERNEL_RUN} --kernel ${k} -- /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/kernel_determinism.py
                   --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/kernels/${k})
  set_tests_properties(kernel-${k}-unit-dot kernel-${k}-model-unit-n2 kernel-${k}-ranks PROPERTIES
                       TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS kernels ENVIRONMENT "${ALQ_KERNEL_ENV}")
endforeach()
add_test(NAME kernel-cross
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/kernel_determinism.py --cross
                 --corename $<TARGET_FILE:blas_corename> --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/kernels/cross)
set_tests_properties(kernel-cross PROPERTIES TIMEOUT 300 LABELS kernels ENVIRONMENT "${ALQ_KERNEL_ENV}")

# On a CPU with AVX512-BF16 (and alq built with oneDNN) the bounds come from
# the bf16 GEMM, so the matrix above no longer reaches OpenBLAS's SGEMM
# rounding: these entries force the SGEMM bound path (ALQ_BOUND_GEMM, alq/gemm.h)
# under two kernels, where the issue-9 failures were.
foreach(k Haswell SkylakeX)
  add_test(NAME kernel-${k}-sgemm-bounds-ranks
           COMMAND ${ALQ_KERNEL_RUN} --kernel ${k} -- /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/kernel_determinism.py
                   --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/kernels/sgemm-${k})
  set_tests_properties(kernel-${k}-sgemm-bounds-ranks PROPERTIES
                       TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS kernels
                       ENVIRONMENT "${ALQ_KERNEL_ENV};ALQ_BOUND_GEMM=openblas-f32")
endforeach()
