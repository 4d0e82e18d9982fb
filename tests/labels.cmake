# Labels and answers as people and labeling tools write them (docs/labels.md):
# CSV/TSV/JSON Lines answers with a BOM and 15.0, class names, --replace, a
# Label Studio round trip with three annotators, a state continuing on a pool
# grown by 20% (the same batch as a state built from scratch), and refusals
# that leave the state byte for byte.
add_test(NAME labels-cli
         COMMAND ${ALQ_SSW_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/labels_cli.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --data ${CMAKE_CURRENT_SOURCE_DIR}/data/label_studio
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/labels-cli)
set_tests_properties(labels-cli PROPERTIES TIMEOUT 300 LABELS labels ENVIRONMENT "${ALQ_SSW_ENV}")
add_test(NAME labels-example-label-studio
         COMMAND sh ${CMAKE_SOURCE_DIR}/examples/label-studio/run.sh $<TARGET_FILE:alq>
                 ${CMAKE_CURRENT_BINARY_DIR}/labels-example-label-studio)
set_tests_properties(labels-example-label-studio PROPERTIES TIMEOUT 300 LABELS labels ENVIRONMENT "${ALQ_SSW_ENV}")
