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
