/* cluster/id_order.c: candidates moved so that ids ascend across ranks.
 *
 * The D^2 draws and VeSSAL's stream visit points in one fixed order, the
 * global id order, and find a point's place in it from its rank (alq/cluster.h).
 * Contiguous shards of a pool whose ids increase down the rows, and AnchorAL's
 * subpool, already hold increasing id ranges.  A pool with ids in any order
 * does not, so its candidates are re-dealt by a sample sort: every rank
 * contributes P regular samples of its (sorted) ids, the sorted samples give
 * P - 1 splitters, and one all-to-all moves each candidate (id, score, row,
 * and the caller's extra bytes) to the rank of its id range.  Where the
 * splitters fall does not matter to a result: only the order of ids does. */
#include <stdlib.h>
#include <string.h>

#include "alq/cluster.h"
#include "alq/comm.h"

static int cmp_int64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* 1 on every rank when every rank's ids lie below the next non-empty rank's. */
static alq_err ranks_in_id_order(MPI_Comm comm, const alq_candidates *in, int *ordered) {
  int size;
  MPI_Comm_size(comm, &size);
  int64_t mine[3] = {in->n, in->n ? in->ids[0] : 0, in->n ? in->ids[in->n - 1] : 0}, *all = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&all, sizeof *all * 3 * size, "candidate id ranges")));
  alq_err err = alq_allgather_bytes(mine, sizeof mine, all, comm);
  int64_t last = INT64_MIN;
  *ordered = 1;
  for (int r = 0; !err && r < size; r++) {
    if (all[3 * r] == 0)
      continue;
    *ordered &= all[3 * r + 1] > last;
    last = all[3 * r + 2];
  }
  free(all);
  return err;
}

/* P - 1 splitters from P regular samples of every rank's ids (INT64_MAX pads
 * a rank with fewer ids than ranks). */
static alq_err splitters(MPI_Comm comm, const alq_candidates *in, int size, int64_t *split) {
  int64_t *mine = NULL, *all = NULL;
  alq_err err = alq_malloc(&mine, sizeof *mine * size, "id samples");
  if (!err)
    err = alq_malloc(&all, sizeof *all * size * size, "all id samples");
  err = alq_agree(comm, err);
  for (int s = 0; !err && s < size; s++)
    mine[s] = s < in->n ? in->ids[(int64_t)s * in->n / size] : INT64_MAX;
  if (!err)
    err = alq_allgather_bytes(mine, sizeof *mine * size, all, comm);
  int64_t m = 0;
  if (!err) {
    qsort(all, (size_t)size * size, sizeof *all, cmp_int64);
    while (m < (int64_t)size * size && all[m] != INT64_MAX)
      m++;
    for (int r = 1; r < size; r++)
      split[r - 1] = m ? all[(int64_t)r * m / size] : INT64_MAX;
  }
  free(mine);
  free(all);
  return err;
}

/* Records (id, score, row, extra) for each destination, in id order. */
static alq_err pack(const alq_candidates *in, const unsigned char *extra, int64_t extra_bytes, const int64_t *split,
                    int size, int64_t rec, unsigned char **send, int64_t *scount, int64_t *sdispl) {
  ALQ_CHECK(alq_malloc(send, (size_t)(rec * (in->n ? in->n : 1)), "candidates to re-deal"));
  int dest = 0;
  memset(scount, 0, sizeof *scount * size);
  for (int64_t i = 0; i < in->n; i++) {
    while (dest < size - 1 && in->ids[i] >= split[dest])
      dest++;
    unsigned char *p = *send + i * rec;
    memcpy(p, &in->ids[i], 8);
    memcpy(p + 8, &in->scores[i], 8);
    memcpy(p + 16, in->embeddings + i * in->dim, sizeof(float) * in->dim);
    if (extra_bytes)
      memcpy(p + 16 + 4 * in->dim, extra + i * extra_bytes, (size_t)extra_bytes);
    scount[dest] += rec;
  }
  sdispl[0] = 0;
  for (int r = 1; r < size; r++)
    sdispl[r] = sdispl[r - 1] + scount[r - 1];
  return ALQ_OK;
}

/* A record starts with its id (records need not be 8-byte aligned). */
static int cmp_record_id(const void *a, const void *b) {
  int64_t x, y;
  memcpy(&x, a, sizeof x);
  memcpy(&y, b, sizeof y);
  return (x > y) - (x < y);
}

/* The received records, sorted by id, into out. */
static alq_err unpack(unsigned char *recv, int64_t n, int64_t dim, int64_t extra_bytes, int64_t rec,
                      alq_ordered_candidates *out) {
  qsort(recv, (size_t)n, (size_t)rec, cmp_record_id);
  alq_candidates *c = &out->c;
  int64_t n1 = n ? n : 1;
  c->n = n;
  c->dim = dim;
  ALQ_CHECK(alq_malloc(&c->ids, sizeof(int64_t) * n1, "re-dealt candidate ids"));
  ALQ_CHECK(alq_malloc(&c->scores, sizeof(double) * n1, "re-dealt candidate scores"));
  ALQ_CHECK(alq_malloc_aligned(&c->embeddings, sizeof(float) * n1 * (dim ? dim : 1), "re-dealt candidate rows"));
  if (extra_bytes)
    ALQ_CHECK(alq_malloc(&out->extra, (size_t)(extra_bytes * n1), "re-dealt candidate payload"));
  for (int64_t i = 0; i < n; i++) {
    const unsigned char *p = recv + i * rec;
    memcpy(&c->ids[i], p, 8);
    memcpy(&c->scores[i], p + 8, 8);
    memcpy(c->embeddings + i * dim, p + 16, sizeof(float) * dim);
    if (extra_bytes)
      memcpy(out->extra + i * extra_bytes, p + 16 + 4 * dim, (size_t)extra_bytes);
  }
  return ALQ_OK;
}

/* The all-to-all of the packed records, then unpack. */
static alq_err redeal(MPI_Comm comm, const alq_candidates *in, const void *extra, int64_t extra_bytes,
                      alq_ordered_candidates *out) {
  int size;
  MPI_Comm_size(comm, &size);
  const int64_t rec = 16 + 4 * in->dim + extra_bytes;
  int64_t *split = NULL, *counts = NULL;
  unsigned char *send = NULL, *recv = NULL;
  alq_err err = alq_malloc(&split, sizeof *split * size, "id splitters");
  if (!err)
    err = alq_malloc(&counts, sizeof *counts * 4 * size, "re-deal counts");
  err = alq_agree(comm, err);
  if (!err)
    err = splitters(comm, in, size, split);
  int64_t *scount = counts, *sdispl = counts + size, *rcount = counts + 2 * size, *rdispl = counts + 3 * size;
  if (!err)
    err = alq_agree(comm, pack(in, extra, extra_bytes, split, size, rec, &send, scount, sdispl));
  if (!err)
    err = alq_alltoall_int64(scount, rcount, comm);
  int64_t total = 0;
  for (int r = 0; !err && r < size; r++) {
    rdispl[r] = total;
    total += rcount[r];
  }
  if (!err)
    err = alq_agree(comm, alq_malloc(&recv, (size_t)(total ? total : 1), "re-dealt candidates"));
  if (!err)
    err = alq_alltoallv_bytes(send, scount, sdispl, recv, rcount, rdispl, comm);
  free(send);
  if (!err)
    err = alq_agree(comm, unpack(recv, total / rec, in->dim, extra_bytes, rec, out));
  free(recv);
  free(split);
  free(counts);
  return err;
}

alq_err alq_candidates_id_order(MPI_Comm comm, const alq_candidates *in, const void *extra, int64_t extra_bytes,
                                alq_ordered_candidates *out) {
  memset(out, 0, sizeof *out);
  int ordered = 0;
  ALQ_CHECK(ranks_in_id_order(comm, in, &ordered));
  if (ordered) {
    out->c = *in;
    out->extra = (unsigned char *)extra;
    return ALQ_OK;
  }
  out->owned = 1;
  alq_err err = redeal(comm, in, extra, extra_bytes, out);
  if (err)
    alq_ordered_candidates_free(out);
  return err;
}

void alq_ordered_candidates_free(alq_ordered_candidates *o) {
  if (o->owned) {
    free(o->c.ids);
    free(o->c.scores);
    free(o->c.embeddings);
    free(o->extra);
  }
  memset(o, 0, sizeof *o);
}
