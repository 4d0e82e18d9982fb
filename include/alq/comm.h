/* alq/comm.h: the MPI calls alq makes, counted for --log-view, and the rule
 * that no rank is ever left waiting in a collective after another failed.
 *
 * Every MPI call of the library that can fail or block goes through these
 * wrappers: they check the return code (recording an ALQ_ERR_MPI message) and
 * take 64-bit counts.  No single MPI call moves more than the message limit
 * (alq_comm_max_message_bytes()): larger transfers go in pieces, so int counts
 * never overflow however large the buffers.
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

/* The most bytes one MPI call carries: the environment variable
 * ALQ_MPI_MAX_MESSAGE_BYTES (1 .. 2^31-1; read once) or 1 GiB.  Sets an
 * ALQ_ERR_USAGE error and returns 0 when the variable is malformed, and the
 * wrappers below then fail with that error on every rank alike. */
int64_t alq_comm_max_message_bytes(void);

/* Collectives with 64-bit counts, in pieces of at most the message limit (a
 * single element larger than the limit still goes whole).  `send` may be
 * MPI_IN_PLACE for alq_allreduce. */
alq_err alq_bcast(void *buf, int64_t bytes, int root, MPI_Comm comm);
alq_err alq_allreduce(const void *send, void *recv, int64_t count, MPI_Datatype type, MPI_Op op,
                      MPI_Comm comm);
/* recv matters on `root` only. */
alq_err alq_reduce(const void *send, void *recv, int64_t count, MPI_Datatype type, MPI_Op op, int root,
                   MPI_Comm comm);
/* Every rank's block of `bytes` (at most 2^31-1), in rank order, on every rank. */
alq_err alq_allgather_bytes(const void *send, int64_t bytes, void *recv, MPI_Comm comm);
/* Gathers variable-size byte blocks to `root`; on root *recv is allocated
 * (caller frees) and counts/displs (allocated, caller frees) describe it.
 * For small blocks (reports): the total must stay below 2 GiB. */
alq_err alq_gatherv_bytes(const void *send, int bytes, int root, MPI_Comm comm, unsigned char **recv,
                          int **counts, int **displs);
/* All ranks receive the concatenation of every rank's block, in rank order
 * (total below 2 GiB). */
alq_err alq_allgatherv_bytes(const void *send, int64_t bytes, MPI_Comm comm, unsigned char **recv,
                             int64_t *total);

/* Collective: send[q] goes to rank q, recv[r] comes from rank r. */
alq_err alq_alltoall_int64(const int64_t *send, int64_t *recv, MPI_Comm comm);
/* Collective: the block send + sdispl[q] (scount[q] bytes) goes to rank q and
 * lands in q's recv + rdispl[r] for this rank r; counts and displacements are
 * bytes, 64-bit.  Moves the blocks point to point in pieces (tag
 * ALQ_TAG_ALLTOALLV) and returns only when every piece arrived. */
alq_err alq_alltoallv_bytes(const void *send, const int64_t *scount, const int64_t *sdispl, void *recv,
                            const int64_t *rcount, const int64_t *rdispl, MPI_Comm comm);

/* Point-to-point tags of alq.  Messages with one tag between two ranks are
 * matched in the order they were sent (MPI's non-overtaking rule), so a tag
 * names a kind of message, never one message.  All are far below 32767, the
 * least MPI_TAG_UB the standard allows. */
enum {
  ALQ_TAG_ALLTOALLV = 1,
  ALQ_TAG_TREE_FIRST = 2, /* strategies/kcenter_hier.c: 2 + 2 level (sizes), 3 + 2 level (bodies) */
  ALQ_TAG_TREE_LAST = 2 + 2 * 64 + 1,
};

/* Nonblocking point-to-point messages of any size.  A message of `bytes` goes
 * as alq_message_pieces(bytes) MPI messages; sender and receiver must agree on
 * `bytes` (send the size first).  Requests are reserved up front so that no
 * allocation can fail once messages are in flight. */
typedef struct {
  MPI_Request *req;
  int64_t n, cap;
} alq_requests;

int64_t alq_message_pieces(int64_t bytes);
alq_err alq_requests_init(alq_requests *r, int64_t capacity);
alq_err alq_isend_bytes(const void *buf, int64_t bytes, int dest, int tag, MPI_Comm comm, alq_requests *r);
alq_err alq_irecv_bytes(void *buf, int64_t bytes, int src, int tag, MPI_Comm comm, alq_requests *r);
/* Completes every request in r and frees r (safe on a zeroed alq_requests). */
alq_err alq_waitall(alq_requests *r);

#endif
