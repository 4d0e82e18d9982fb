/* core/comm.c: counted, checked MPI calls with 64-bit counts, and agreement on failure. */
#include "alq/comm.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "alq/logview.h"

/* --log-view counts messages between ranks, one per MPI call (so a transfer
 * in pieces counts each piece): calls on MPI_COMM_SELF (the hierarchical
 * k-center's per-node greedy) move nothing and are not counted. */
static void count_call(MPI_Comm comm, int64_t bytes) {
  if (comm != MPI_COMM_SELF)
    alq_log_message(bytes);
}

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

/* MPI counts are int; a piece of 1 GiB keeps every call well inside them. */
#define DEFAULT_MAX_MESSAGE ((int64_t)1 << 30)

int64_t alq_comm_max_message_bytes(void) {
  static int64_t limit = -1; /* -1: not read yet; 0: malformed */
  if (limit < 0) {
    const char *s = getenv("ALQ_MPI_MAX_MESSAGE_BYTES");
    limit = DEFAULT_MAX_MESSAGE;
    if (s && *s) {
      char *end = NULL;
      errno = 0;
      long long v = strtoll(s, &end, 10);
      limit = errno || *end || v < 1 || v > INT_MAX ? 0 : v;
    }
  }
  if (limit == 0)
    alq_error_set(ALQ_ERR_USAGE, "ALQ_MPI_MAX_MESSAGE_BYTES must be a byte count in 1..%d, got '%s'", INT_MAX,
                  getenv("ALQ_MPI_MAX_MESSAGE_BYTES"));
  return limit;
}

/* Elements of `type` per piece (at least one), and the type's extent. */
static alq_err piece_elements(MPI_Datatype type, int64_t *per_piece, MPI_Aint *extent, int64_t *elem_bytes) {
  int64_t limit = alq_comm_max_message_bytes();
  if (limit == 0)
    return ALQ_ERR_USAGE;
  MPI_Count size = 0, lb = 0, ext = 0;
  int rc = MPI_Type_size_x(type, &size);
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_get_extent_x(type, &lb, &ext);
  if (rc != MPI_SUCCESS)
    return mpi_failed(rc, "MPI_Type_size_x");
  int64_t per = size > 0 ? limit / (int64_t)size : limit;
  *per_piece = per < 1 ? 1 : per;
  *extent = (MPI_Aint)ext;
  *elem_bytes = (int64_t)size;
  return ALQ_OK;
}

alq_err alq_bcast(void *buf, int64_t bytes, int root, MPI_Comm comm) {
  int64_t limit = alq_comm_max_message_bytes();
  if (limit == 0)
    return ALQ_ERR_USAGE;
  for (int64_t off = 0; off < bytes; off += limit) {
    int64_t n = bytes - off < limit ? bytes - off : limit;
    count_call(comm, n);
    int rc = MPI_Bcast((char *)buf + off, (int)n, MPI_BYTE, root, comm);
    if (rc != MPI_SUCCESS)
      return mpi_failed(rc, "MPI_Bcast");
  }
  return ALQ_OK;
}

alq_err alq_allreduce(const void *send, void *recv, int64_t count, MPI_Datatype type, MPI_Op op,
                      MPI_Comm comm) {
  int64_t per = 0, elem = 0;
  MPI_Aint extent = 0;
  ALQ_CHECK(piece_elements(type, &per, &extent, &elem));
  for (int64_t at = 0; at < count; at += per) {
    int n = (int)(count - at < per ? count - at : per);
    count_call(comm, n * elem);
    const void *s = send == MPI_IN_PLACE ? MPI_IN_PLACE : (const char *)send + at * extent;
    int rc = MPI_Allreduce(s, (char *)recv + at * extent, n, type, op, comm);
    if (rc != MPI_SUCCESS)
      return mpi_failed(rc, "MPI_Allreduce");
  }
  return ALQ_OK;
}

alq_err alq_reduce(const void *send, void *recv, int64_t count, MPI_Datatype type, MPI_Op op, int root,
                   MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t per = 0, elem = 0;
  MPI_Aint extent = 0;
  ALQ_CHECK(piece_elements(type, &per, &extent, &elem));
  for (int64_t at = 0; at < count; at += per) {
    int n = (int)(count - at < per ? count - at : per);
    count_call(comm, n * elem);
    void *r = rank == root ? (char *)recv + at * extent : NULL;
    int rc = MPI_Reduce((const char *)send + at * extent, r, n, type, op, root, comm);
    if (rc != MPI_SUCCESS)
      return mpi_failed(rc, "MPI_Reduce");
  }
  return ALQ_OK;
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

alq_err alq_alltoall_int64(const int64_t *send, int64_t *recv, MPI_Comm comm) {
  int size;
  MPI_Comm_size(comm, &size);
  count_call(comm, (int64_t)sizeof *send * size);
  int rc = MPI_Alltoall(send, 1, MPI_INT64_T, recv, 1, MPI_INT64_T, comm);
  return rc == MPI_SUCCESS ? ALQ_OK : mpi_failed(rc, "MPI_Alltoall");
}

alq_err alq_alltoallv_bytes(const void *send, const int64_t *scount, const int64_t *sdispl, void *recv,
                            const int64_t *rcount, const int64_t *rdispl, MPI_Comm comm) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t pieces = 0;
  for (int q = 0; q < size; q++)
    if (q != rank)
      pieces += alq_message_pieces(scount[q]) + alq_message_pieces(rcount[q]);
  alq_requests reqs = {0};
  /* Every rank reserves its requests before any message is posted. */
  alq_err err = alq_agree(comm, alq_requests_init(&reqs, pieces));
  for (int q = 0; !err && q < size; q++)
    if (q != rank)
      err = alq_irecv_bytes((char *)recv + rdispl[q], rcount[q], q, ALQ_TAG_ALLTOALLV, comm, &reqs);
  for (int q = 0; !err && q < size; q++)
    if (q != rank)
      err = alq_isend_bytes((const char *)send + sdispl[q], scount[q], q, ALQ_TAG_ALLTOALLV, comm, &reqs);
  if (!err && scount[rank] > 0)
    memcpy((char *)recv + rdispl[rank], (const char *)send + sdispl[rank], (size_t)scount[rank]);
  alq_err werr = alq_waitall(&reqs);
  return err ? err : werr;
}

int64_t alq_message_pieces(int64_t bytes) {
  int64_t limit = alq_comm_max_message_bytes();
  if (limit == 0)
    return 0;
  return (bytes + limit - 1) / limit;
}

alq_err alq_requests_init(alq_requests *r, int64_t capacity) {
  memset(r, 0, sizeof *r);
  if (alq_comm_max_message_bytes() == 0)
    return ALQ_ERR_USAGE;
  ALQ_CHECK(alq_malloc(&r->req, sizeof *r->req * (capacity > 0 ? capacity : 1), "MPI requests"));
  r->cap = capacity;
  return ALQ_OK;
}

/* Posts one message in pieces; `send` chooses the direction. */
static alq_err post_pieces(void *buf, int64_t bytes, int peer, int tag, MPI_Comm comm, alq_requests *r, int send) {
  int64_t limit = alq_comm_max_message_bytes();
  if (limit == 0)
    return ALQ_ERR_USAGE;
  if (r->n + alq_message_pieces(bytes) > r->cap)
    return alq_error_set(ALQ_ERR_INTERNAL, "more MPI requests than reserved (%lld)", (long long)r->cap);
  for (int64_t off = 0; off < bytes; off += limit) {
    int n = (int)(bytes - off < limit ? bytes - off : limit);
    if (send)
      count_call(comm, n);
    char *p = (char *)buf + off;
    int rc = send ? MPI_Isend(p, n, MPI_BYTE, peer, tag, comm, &r->req[r->n])
                  : MPI_Irecv(p, n, MPI_BYTE, peer, tag, comm, &r->req[r->n]);
    if (rc != MPI_SUCCESS)
      return mpi_failed(rc, send ? "MPI_Isend" : "MPI_Irecv");
    r->n++;
  }
  return ALQ_OK;
}

alq_err alq_isend_bytes(const void *buf, int64_t bytes, int dest, int tag, MPI_Comm comm, alq_requests *r) {
  return post_pieces((void *)buf, bytes, dest, tag, comm, r, 1);
}

alq_err alq_irecv_bytes(void *buf, int64_t bytes, int src, int tag, MPI_Comm comm, alq_requests *r) {
  return post_pieces(buf, bytes, src, tag, comm, r, 0);
}

alq_err alq_waitall(alq_requests *r) {
  int rc = MPI_SUCCESS;
  /* MPI_Waitall takes an int count: complete the requests in int-sized runs. */
  for (int64_t at = 0; at < r->n; at += INT_MAX) {
    int n = (int)(r->n - at < INT_MAX ? r->n - at : INT_MAX);
    int e = MPI_Waitall(n, r->req + at, MPI_STATUSES_IGNORE);
    rc = rc == MPI_SUCCESS ? e : rc;
  }
  free(r->req);
  memset(r, 0, sizeof *r);
  return rc == MPI_SUCCESS ? ALQ_OK : mpi_failed(rc, "MPI_Waitall");
}
