/* core/comm.c: counted MPI calls and agreement on failure. */
#include "alq/comm.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "alq/logview.h"

/* --log-view counts messages between ranks: calls on MPI_COMM_SELF (the
 * hierarchical k-center's per-node greedy) move nothing and are not counted. */
static void count_call(MPI_Comm comm, int64_t bytes) {
  if (comm != MPI_COMM_SELF)
    alq_log_message(bytes);
}

/* MPI counts are int: larger buffers go in pieces of this many bytes. */
#define PIECE ((int64_t)1 << 30)

static alq_err mpi_failed(int rc, const char *what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return alq_error_set(ALQ_ERR_MPI, "%s failed: %s", what, text);
}

alq_err alq_agree(MPI_Comm comm, alq_err local) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int mine = local ? rank : INT_MAX, first = INT_MAX;
  count_call(comm, sizeof mine);
  if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
    MPI_Abort(comm, ALQ_ERR_MPI); /* nothing sane is left to agree on */
  if (first == INT_MAX)
    return ALQ_OK;
  struct {
    int code;
    char message[1024];
  } verdict;
  memset(&verdict, 0, sizeof verdict);
  if (rank == first) {
    verdict.code = local;
    strncpy(verdict.message, alq_error_message(), sizeof verdict.message - 1);
  }
  count_call(comm, sizeof verdict);
  if (MPI_Bcast(&verdict, sizeof verdict, MPI_BYTE, first, comm) != MPI_SUCCESS)
    MPI_Abort(comm, ALQ_ERR_MPI);
  if (rank != first)
    alq_error_replace(verdict.message);
  return (alq_err)verdict.code;
}

alq_err alq_bcast(void *buf, int64_t bytes, int root, MPI_Comm comm) {
  count_call(comm, bytes);
  for (int64_t off = 0; off < bytes; off += PIECE) {
    int64_t n = bytes - off < PIECE ? bytes - off : PIECE;
    int rc = MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, comm);
    if (rc != MPI_SUCCESS)
      return mpi_failed(rc, "MPI_Bcast");
  }
  return ALQ_OK;
}

alq_err alq_allreduce(const void *send, void *recv, int count, MPI_Datatype type, MPI_Op op,
                      MPI_Comm comm) {
  int size = 0;
  MPI_Type_size(type, &size);
  count_call(comm, (int64_t)count * size);
  int rc = MPI_Allreduce(send, recv, count, type, op, comm);
  return rc == MPI_SUCCESS ? ALQ_OK : mpi_failed(rc, "MPI_Allreduce");
}

alq_err alq_allgather_bytes(const void *send, int64_t bytes, void *recv, MPI_Comm comm) {
  if (bytes > INT_MAX)
    return alq_error_set(ALQ_ERR_INTERNAL, "allgather block of %lld bytes is too large", (long long)bytes);
  count_call(comm, bytes);
  int rc = MPI_Allgather(send, (int)bytes, MPI_BYTE, recv, (int)bytes, MPI_BYTE, comm);
  return rc == MPI_SUCCESS ? ALQ_OK : mpi_failed(rc, "MPI_Allgather");
}

alq_err alq_gatherv_bytes(const void *send, int bytes, int root, MPI_Comm comm, unsigned char **recv,
                          int **counts, int **displs) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  *recv = NULL;
  *counts = NULL;
  *displs = NULL;
  int *c = NULL, *d = NULL;
  alq_err err = ALQ_OK;
  if (rank == root) {
    err = alq_calloc(&c, size, sizeof *c, "gather counts");
    if (!err)
      err = alq_calloc(&d, size, sizeof *d, "gather offsets");
  }
  /* Every rank must enter the collectives below even if root failed to allocate. */
  err = alq_agree(comm, err);
  if (err) {
    free(c);
    free(d);
    return err;
  }
  count_call(comm, sizeof bytes);
  int rc = MPI_Gather(&bytes, 1, MPI_INT, c, 1, MPI_INT, root, comm);
  if (rc != MPI_SUCCESS)
    return mpi_failed(rc, "MPI_Gather");
  unsigned char *r = NULL;
  if (rank == root) {
    int64_t total = 0;
    for (int i = 0; i < size; i++) {
      d[i] = (int)total;
      total += c[i];
    }
    if (total > INT_MAX)
      err = alq_error_set(ALQ_ERR_INTERNAL, "gathered reports exceed 2 GiB");
    else
      err = alq_malloc(&r, total, "gathered reports");
  }
  err = alq_agree(comm, err);
  if (err) {
    free(c);
    free(d);
    free(r);
    return err;
  }
  count_call(comm, bytes);
  rc = MPI_Gatherv(send, bytes, MPI_BYTE, r, c, d, MPI_BYTE, root, comm);
  if (rc != MPI_SUCCESS) {
    free(c);
    free(d);
    free(r);
    return mpi_failed(rc, "MPI_Gatherv");
  }
  *recv = r;
  *counts = c;
  *displs = d;
  return ALQ_OK;
}

alq_err alq_allgatherv_bytes(const void *send, int64_t bytes, MPI_Comm comm, unsigned char **recv,
                             int64_t *total) {
  int size;
  MPI_Comm_size(comm, &size);
  int64_t *all = NULL;
  int *counts = NULL, *displs = NULL;
  unsigned char *r = NULL;
  alq_err err = alq_calloc(&all, size, sizeof *all, "allgather sizes");
  if (!err)
    err = alq_calloc(&counts, size, sizeof *counts, "allgather counts");
  if (!err)
    err = alq_calloc(&displs, size, sizeof *displs, "allgather offsets");
  err = alq_agree(comm, err);
  if (!err) {
    count_call(comm, sizeof bytes);
    int rc = MPI_Allgather(&bytes, 1, MPI_INT64_T, all, 1, MPI_INT64_T, comm);
    if (rc != MPI_SUCCESS)
      err = mpi_failed(rc, "MPI_Allgather");
  }
  int64_t sum = 0;
  if (!err) {
    for (int i = 0; i < size; i++) {
      displs[i] = (int)sum;
      counts[i] = (int)all[i];
      sum += all[i];
    }
    if (sum > INT_MAX)
      err = alq_error_set(ALQ_ERR_INTERNAL, "allgatherv of %lld bytes exceeds 2 GiB", (long long)sum);
    else
      err = alq_malloc(&r, sum, "allgathered blocks");
  }
  err = alq_agree(comm, err);
  if (!err) {
    count_call(comm, bytes);
    int rc = MPI_Allgatherv(send, (int)bytes, MPI_BYTE, r, counts, displs, MPI_BYTE, comm);
    if (rc != MPI_SUCCESS)
      err = mpi_failed(rc, "MPI_Allgatherv");
  }
  free(all);
  free(counts);
  free(displs);
  if (err) {
    free(r);
    return err;
  }
  *recv = r;
  *total = sum;
  return ALQ_OK;
}
