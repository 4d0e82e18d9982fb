# Sourced by alq's scripts: settings for running MPI jobs on a workstation.
# One OpenBLAS thread per rank: ranks already occupy the cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
# Open MPI refuses to start as root unless told twice; containers and CI run as root.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# More ranks than cores is fine for demos and tests.
export OMPI_MCA_rmaps_base_oversubscribe=1
