/* alq/comm.h: the MPI calls alq makes, counted for --log-view, and the rule
 * that no rank is ever left waiting in a collective after another failed.
 */
#ifndef ALQ_COMM_H
#define ALQ_COMM_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"

/* Collective.  Every rank passes its own status; every rank gets back the
 * status of the lowest failing rank (ALQ_OK if none failed), and that rank's
 * error message is copied into every rank's error buffer.  Call it at every
 * phase boundary after work that can fail on some ranks only. */
alq_err alq_agree(MPI_Comm comm, alq_err local);

/* Counted wrappers; they record an ALQ_ERR_MPI message on failure. */
alq_err alq_bcast(void *buf, int64_t bytes, int root, MPI_Comm comm);
alq_err alq_allreduce(const void *send, void *recv, int count, MPI_Datatype type, MPI_Op op,
                      MPI_Comm comm);
alq_err alq_allgather_bytes(const void *send, int64_t bytes, void *recv, MPI_Comm comm);
/* Gathers variable-size byte blocks to `root`; on root *recv is allocated
 * (caller frees) and counts/displs (allocated, caller frees) describe it. */
alq_err alq_gatherv_bytes(const void *send, int bytes, int root, MPI_Comm comm, unsigned char **recv,
                          int **counts, int **displs);
/* All ranks receive the concatenation of every rank's block, in rank order. */
alq_err alq_allgatherv_bytes(const void *send, int64_t bytes, MPI_Comm comm, unsigned char **recv,
                             int64_t *total);

#endif
