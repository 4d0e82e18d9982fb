# --- activelab: CROWDLAB consensus, the activelab strategy, noisy simulate ---
# Consensus and ActiveLab scores against numpy (tests/activelab_consensus.py).
add_executable(test_consensus ${CMAKE_CURRENT_SOURCE_DIR}/test_consensus.c)
target_link_libraries(test_consensus PRIVATE alqcore m)
add_test(NAME activelab-consensus
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/activelab_consensus.py
                 --exe $<TARGET_FILE:test_consensus>)
set_tests_properties(activelab-consensus PROPERTIES TIMEOUT 120)
# --- end activelab ---
