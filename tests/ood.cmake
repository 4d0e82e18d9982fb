# The out-of-distribution stage (alq ood, alq select --ood): kNN, maxprob and
# energy scores and the calibrated threshold against numpy, the same outputs
# and batches at 1-4 ranks, --ood-space pool under a model, errors.  Run: ctest -L ood
set(ALQ_OOD_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
foreach(part scores select space errors)
  add_test(NAME ood-${part}
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/ood_select.py --part ${part} --alq $<TARGET_FILE:alq>
                   --mpiexec ${MPIEXEC_EXECUTABLE} --workdir ${CMAKE_CURRENT_BINARY_DIR}/ood/${part})
  set_tests_properties(ood-${part} PROPERTIES TIMEOUT 300 LABELS ood ENVIRONMENT "${ALQ_OOD_ENV}")
endforeach()
# Under the kernel matrix (kernels.cmake): the kNN bound comes from SGEMM,
# whose rounding differs by kernel; the scores and flags must not.
foreach(k Haswell SkylakeX Sandybridge Prescott threads2)
  add_test(NAME kernel-${k}-ood-scores
           COMMAND ${ALQ_KERNEL_RUN} --kernel ${k} -- /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/ood_select.py
                   --part scores --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/ood/kernel-${k})
  set_tests_properties(kernel-${k}-ood-scores PROPERTIES TIMEOUT 300 SKIP_RETURN_CODE 77 LABELS "kernels;ood"
                       ENVIRONMENT "${ALQ_OOD_ENV}")
endforeach()
