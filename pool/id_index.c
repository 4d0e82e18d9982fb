/* pool/id_index.c: the distributed id -> row index (alq/id_index.h). */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/id_index.h"

/* The rank that owns `id`: a splitmix64 mix, so that ids in any order (and
 * ranges of consecutive ids) spread evenly. */
static int owner_of(int64_t id, int P) {
  uint64_t x = (uint64_t)id + 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  x ^= x >> 31;
  return (int)(x % (uint64_t)P);
}

static int cmp_pair(const void *pa, const void *pb) {
  const alq_id_row *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

/* Byte counts and displacements of one all-to-all: [0,P) send counts,
 * [P,2P) send displacements, [2P,3P) receive counts, [3P,4P) receive
 * displacements. */
typedef struct {
  int64_t *c;
  int64_t recv_bytes;
} plan;

static alq_err plan_exchange(MPI_Comm comm, int P, plan *p) {
  ALQ_CHECK(alq_alltoall_int64(p->c, p->c + 2 * P, comm));
  int64_t s = 0, r = 0;
  for (int q = 0; q < P; q++) {
    p->c[P + q] = s;
    s += p->c[q];
    p->c[3 * P + q] = r;
    r += p->c[2 * P + q];
  }
  p->recv_bytes = r;
  return ALQ_OK;
}

/* Groups `n` items of `size` bytes by destination (dest[i]) into *send and
 * fills the send counts; order[k] is the input position of the k-th packed item. */
static alq_err pack_by_dest(const void *items, size_t size, int64_t n, const int *dest, int P, int64_t *counts,
                            unsigned char **send, int64_t **order) {
  int64_t *next = NULL;
  ALQ_CHECK(alq_calloc(&next, (size_t)P, sizeof *next, "index routing offsets"));
  alq_err err = alq_malloc(send, size * (size_t)(n ? n : 1), "index routing buffer");
  if (!err)
    err = alq_malloc(order, sizeof **order * (size_t)(n ? n : 1), "index routing order");
  if (err) {
    free(next);
    return err;
  }
  memset(counts, 0, sizeof *counts * (size_t)P);
  for (int64_t i = 0; i < n; i++)
    counts[dest[i]]++;
  for (int q = 1; q < P; q++)
    next[q] = next[q - 1] + counts[q - 1];
  for (int64_t i = 0; i < n; i++) {
    int64_t k = next[dest[i]]++;
    memcpy(*send + (size_t)k * size, (const unsigned char *)items + (size_t)i * size, size);
    (*order)[k] = i;
  }
  for (int q = 0; q < P; q++)
    counts[q] *= (int64_t)size;
  free(next);
  return ALQ_OK;
}

/* Sends each item to its destination; every rank gets *recv (allocated) with
 * what the others sent it, in rank order.  p->c keeps the counts for a reply. */
static alq_err route(MPI_Comm comm, int P, const void *items, size_t size, int64_t n, const int *dest, plan *p,
                     unsigned char **recv, int64_t **order) {
  unsigned char *send = NULL;
  alq_err err = alq_agree(comm, pack_by_dest(items, size, n, dest, P, p->c, &send, order));
  if (!err)
    err = plan_exchange(comm, P, p);
  if (!err)
    err = alq_agree(comm, alq_malloc(recv, (size_t)(p->recv_bytes ? p->recv_bytes : 1), "index routing receive"));
  if (!err)
    err = alq_alltoallv_bytes(send, p->c, p->c + P, *recv, p->c + 2 * P, p->c + 3 * P, comm);
  free(send);
  return err;
}

/* The smallest duplicated id over all ranks is the one reported, so that the
 * message is the same at any rank count. */
static alq_err duplicates(MPI_Comm comm, const char *pool, const char *dataset, const alq_id_index *ix) {
  int64_t mine = INT64_MAX, first = INT64_MAX, at = -1;
  for (int64_t i = 1; i < ix->n && at < 0; i++)
    if (ix->pairs[i].id == ix->pairs[i - 1].id) {
      mine = ix->pairs[i].id;
      at = i;
    }
  int any = at >= 0, some = 0;
  ALQ_CHECK(alq_allreduce(&any, &some, 1, MPI_INT, MPI_MAX, comm));
  if (!some)
    return ALQ_OK;
  ALQ_CHECK(alq_allreduce(&mine, &first, 1, MPI_INT64_T, MPI_MIN, comm));
  alq_err err = ALQ_OK;
  if (at >= 0 && mine == first)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: %s holds id %lld twice (rows %lld and %lld); ids must be unique", pool,
                        dataset, (long long)first, (long long)ix->pairs[at - 1].row, (long long)ix->pairs[at].row);
  return alq_agree(comm, err);
}

alq_err alq_id_index_build(MPI_Comm comm, const char *pool, const char *dataset, const int64_t *ids, int64_t n,
                           int64_t first_row, alq_id_index *out) {
  memset(out, 0, sizeof *out);
  int P;
  MPI_Comm_size(comm, &P);
  alq_id_row *pairs = NULL;
  int *dest = NULL;
  int64_t *order = NULL;
  unsigned char *recv = NULL;
  plan p = {NULL, 0};
  alq_err err = alq_malloc(&pairs, sizeof *pairs * (size_t)(n ? n : 1), "id index pairs");
  if (!err)
    err = alq_malloc(&dest, sizeof *dest * (size_t)(n ? n : 1), "id index owners");
  if (!err)
    err = alq_calloc(&p.c, 4 * (size_t)P, sizeof *p.c, "id index counts");
  for (int64_t i = 0; !err && i < n; i++) {
    pairs[i] = (alq_id_row){ids[i], first_row + i};
    dest[i] = owner_of(ids[i], P);
  }
  err = alq_agree(comm, err);
  if (!err)
    err = route(comm, P, pairs, sizeof *pairs, n, dest, &p, &recv, &order);
  free(pairs);
  free(dest);
  free(order);
  free(p.c);
  if (err) {
    free(recv);
    return err;
  }
  out->n = p.recv_bytes / (int64_t)sizeof(alq_id_row);
  out->pairs = (alq_id_row *)recv;
  qsort(out->pairs, (size_t)out->n, sizeof *out->pairs, cmp_pair);
  err = duplicates(comm, pool, dataset, out);
  if (err)
    alq_id_index_free(out);
  return err;
}

static int64_t find(const alq_id_index *ix, int64_t id) {
  int64_t lo = 0, hi = ix->n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (ix->pairs[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < ix->n && ix->pairs[lo].id == id ? ix->pairs[lo].row : -1;
}

/* The owners' answers travel back along the same counts, reversed. */
static void reverse(plan *p, int P) {
  for (int q = 0; q < P; q++) {
    int64_t c = p->c[q], d = p->c[P + q];
    p->c[q] = p->c[2 * P + q];
    p->c[P + q] = p->c[3 * P + q];
    p->c[2 * P + q] = c;
    p->c[3 * P + q] = d;
  }
}

alq_err alq_id_index_lookup(MPI_Comm comm, const alq_id_index *ix, const int64_t *ids, int64_t n, int64_t *rows) {
  int P;
  MPI_Comm_size(comm, &P);
  int *dest = NULL;
  int64_t *order = NULL, *answers = NULL, *back = NULL;
  unsigned char *asked = NULL;
  plan p = {NULL, 0};
  alq_err err = alq_malloc(&dest, sizeof *dest * (size_t)(n ? n : 1), "id lookup owners");
  if (!err)
    err = alq_calloc(&p.c, 4 * (size_t)P, sizeof *p.c, "id lookup counts");
  for (int64_t i = 0; !err && i < n; i++)
    dest[i] = owner_of(ids[i], P);
  err = alq_agree(comm, err);
  if (!err)
    err = route(comm, P, ids, sizeof *ids, n, dest, &p, &asked, &order);
  int64_t n_asked = p.recv_bytes / (int64_t)sizeof(int64_t);
  if (!err)
    err = alq_agree(comm, alq_malloc(&answers, sizeof *answers * (size_t)(n_asked ? n_asked : 1), "id lookup answers"));
  for (int64_t i = 0; !err && i < n_asked; i++) {
    int64_t id;
    memcpy(&id, asked + (size_t)i * sizeof id, sizeof id);
    answers[i] = find(ix, id);
  }
  if (!err)
    err = alq_agree(comm, alq_malloc(&back, sizeof *back * (size_t)(n ? n : 1), "id lookup replies"));
  if (!err) {
    reverse(&p, P);
    err = alq_alltoallv_bytes(answers, p.c, p.c + P, back, p.c + 2 * P, p.c + 3 * P, comm);
  }
  for (int64_t k = 0; !err && k < n; k++)
    rows[order[k]] = back[k];
  free(dest);
  free(order);
  free(answers);
  free(back);
  free(asked);
  free(p.c);
  return err;
}

void alq_id_index_free(alq_id_index *ix) {
  free(ix->pairs);
  memset(ix, 0, sizeof *ix);
}
