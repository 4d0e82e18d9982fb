# --- clustering strategies (BADGE, TypiClust, Cluster-Margin) and cluster/ ---
# cluster-kmeans-nP: distributed k-means / k-means++ / D^2 draws at P ranks,
# bit for bit against the one-rank result and against a float64 reference
# (tests/test_cluster.c).  strategy-*: alq select against independent numpy
# references and identical batches at 1-4 ranks (tests/strategies_cluster.py).
set(ALQ_CLU_ENV "OPENBLAS_NUM_THREADS=1;OMPI_ALLOW_RUN_AS_ROOT=1;OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1;OMPI_MCA_rmaps_base_oversubscribe=1")
set(ALQ_CLU_MPIEXEC ${MPIEXEC_EXECUTABLE} --allow-run-as-root --oversubscribe)
add_executable(test_cluster test_cluster.c)
target_link_libraries(test_cluster PRIVATE alqcore PkgConfig::CMOCKA m)
foreach(p 1 2 3 4)
  add_test(NAME cluster-kmeans-n${p} COMMAND ${ALQ_CLU_MPIEXEC} -n ${p} $<TARGET_FILE:test_cluster>)
  set_tests_properties(cluster-kmeans-n${p} PROPERTIES TIMEOUT 60 ENVIRONMENT "${ALQ_CLU_ENV}")
endforeach()
# One driver per strategy: reference, 1-4 ranks identical, composition.
foreach(part badge typiclust cluster-margin)
  add_test(NAME strategy-${part}-reference
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/strategies_cluster.py --part ${part}
                   --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                   --workdir ${CMAKE_CURRENT_BINARY_DIR}/strategies_cluster/${part})
  set_tests_properties(strategy-${part}-reference PROPERTIES TIMEOUT 240 ENVIRONMENT "${ALQ_CLU_ENV}")
endforeach()
# BADGE's skipped D^2 updates (norm and center bounds): the same batch and the
# same D^2 at every step as --no-prune, 1-3 ranks, and a real share skipped.
add_test(NAME strategy-badge-skip
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/badge_skip.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/badge_skip)
set_tests_properties(strategy-badge-skip PROPERTIES TIMEOUT 180 ENVIRONMENT "${ALQ_CLU_ENV}")
# TypiClust's neighbour search on both bound-GEMM paths (ALQ_BOUND_GEMM forced
# to openblas-f32 and to onednn-bf16): the same batch, bits and all, at 1-3
# ranks, and the numpy brute force's ids.
add_test(NAME strategy-typiclust-bound-paths
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/typiclust_bound_paths.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/typiclust_bound_paths)
set_tests_properties(strategy-typiclust-bound-paths PROPERTIES TIMEOUT 240 ENVIRONMENT "${ALQ_CLU_ENV}")
# Ids in any order: the strategies that visit items in id order re-deal their
# candidates (cluster/id_order.c); the shuffled pool's batch is the sorted one's.
add_test(NAME strategy-id-order
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/strategies_id_order.py
                 --alq $<TARGET_FILE:alq> --mpiexec ${MPIEXEC_EXECUTABLE}
                 --workdir ${CMAKE_CURRENT_BINARY_DIR}/strategies_id_order)
set_tests_properties(strategy-id-order PROPERTIES TIMEOUT 180 ENVIRONMENT "${ALQ_CLU_ENV}")
# --- end clustering strategies ---
