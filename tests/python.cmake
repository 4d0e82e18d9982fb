# The Python package (python/, docs/python.md) on libalq.so: alq.select's batch
# against alq select's at 1 and 2 mpi4py ranks, errors by exit class, alq.io
# against alq's tools, alq.simulate against alq simulate, the offline pip
# install, and examples/python-numpy.  Run: ctest -L python
set(ALQ_PY /usr/bin/python3)
set(ALQ_PY_ENV "ALQ_LIBRARY=$<TARGET_FILE:alq_shared>;PYTHONPATH=${CMAKE_SOURCE_DIR}/python"
    "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
    "OMPI_MCA_rmaps_base_oversubscribe=1")
set(ALQ_PY_DIR ${CMAKE_CURRENT_BINARY_DIR}/python)
foreach(n 1 2)
  add_test(NAME python-select-n${n}
           COMMAND ${ALQ_PY} ${CMAKE_CURRENT_SOURCE_DIR}/python_select.py --alq $<TARGET_FILE:alq>
                   --workdir ${ALQ_PY_DIR}/select-n${n} --ranks ${n} --mpiexec ${MPIEXEC_EXECUTABLE})
  add_test(NAME python-simulate-n${n}
           COMMAND ${ALQ_PY} ${CMAKE_CURRENT_SOURCE_DIR}/python_simulate.py --alq $<TARGET_FILE:alq>
                   --workdir ${ALQ_PY_DIR}/simulate-n${n} --ranks ${n} --mpiexec ${MPIEXEC_EXECUTABLE})
endforeach()
add_test(NAME python-errors
         COMMAND ${ALQ_PY} ${CMAKE_CURRENT_SOURCE_DIR}/python_errors.py --alq $<TARGET_FILE:alq>
                 --workdir ${ALQ_PY_DIR}/errors)
add_test(NAME python-io
         COMMAND ${ALQ_PY} ${CMAKE_CURRENT_SOURCE_DIR}/python_io.py --alq $<TARGET_FILE:alq>
                 --workdir ${ALQ_PY_DIR}/io)
add_test(NAME python-pip
         COMMAND ${ALQ_PY} ${CMAKE_CURRENT_SOURCE_DIR}/python_pip.py --python-src ${CMAKE_SOURCE_DIR}/python
                 --library $<TARGET_FILE:alq_shared> --workdir ${ALQ_PY_DIR}/pip)
set(ALQ_PY_TESTS python-select-n1 python-select-n2 python-simulate-n1 python-simulate-n2 python-errors python-io
    python-pip python-example-numpy)
add_test(NAME python-example-numpy
         COMMAND ${CMAKE_SOURCE_DIR}/examples/python-numpy/run.sh ${ALQ_PY_DIR}/example-numpy)
set_tests_properties(${ALQ_PY_TESTS} PROPERTIES TIMEOUT 300 LABELS python ENVIRONMENT "${ALQ_PY_ENV}")
set_property(TEST python-example-numpy APPEND PROPERTY ENVIRONMENT "ALQ=$<TARGET_FILE:alq>;PYTHON=${ALQ_PY}")

# In a sanitizer build libalq.so needs the ASan runtime, which must come first
# in the process's library list; the interpreter is not built with it, so the
# runtime is preloaded.  CPython and mpi4py keep allocations until exit by
# design, so leak checks are off in these processes (docs/testing.md); ASan
# and UBSan still check every call into libalq.
if(ALQ_SANITIZE MATCHES "address")
  if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
    set(alq_asan_runtime_name libclang_rt.asan-x86_64.so)
  else()
    set(alq_asan_runtime_name libasan.so)
  endif()
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=${alq_asan_runtime_name}
                  OUTPUT_VARIABLE alq_asan_runtime OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(IS_ABSOLUTE "${alq_asan_runtime}" AND EXISTS "${alq_asan_runtime}")
    set_property(TEST ${ALQ_PY_TESTS} APPEND PROPERTY ENVIRONMENT "LD_PRELOAD=${alq_asan_runtime}")
    set_property(TEST ${ALQ_PY_TESTS} PROPERTY ENVIRONMENT_MODIFICATION "ASAN_OPTIONS=string_append::detect_leaks=0")
  else()
    message(WARNING "no ASan runtime found (${alq_asan_runtime_name}): the python tests cannot load libalq.so here")
  endif()
endif()
