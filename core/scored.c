/* core/scored.c: ordering, bounded top-k, and the exact global top-k reduction. */
#include "alq/scored.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/fault.h"

static int cmp_scored(const void *pa, const void *pb) {
  const alq_scored *a = pa, *b = pb;
  if (alq_scored_before(a, b))
    return -1;
  if (alq_scored_before(b, a))
    return 1;
  return 0;
}

void alq_scored_sort(alq_scored *records, int64_t n) { qsort(records, n, sizeof *records, cmp_scored); }

alq_err alq_topk_init(alq_topk *t, int64_t k, int64_t payload_bytes) {
  memset(t, 0, sizeof *t);
  t->k = k;
  t->payload_bytes = payload_bytes;
  ALQ_CHECK(alq_malloc(&t->heap, sizeof *t->heap * (k ? k : 1), "candidate heap"));
  ALQ_CHECK(alq_malloc(&t->slot, sizeof *t->slot * (k ? k : 1), "candidate heap slots"));
  if (payload_bytes)
    ALQ_CHECK(alq_malloc_aligned(&t->payload, (size_t)payload_bytes * (k ? k : 1), "candidate embeddings"));
  return ALQ_OK;
}

/* The heap keeps its worst record (last in alq's order) at the root. */
static int worse(const alq_scored *a, const alq_scored *b) { return alq_scored_before(b, a); }

static void heap_swap(alq_topk *t, int64_t i, int64_t j) {
  alq_scored r = t->heap[i];
  t->heap[i] = t->heap[j];
  t->heap[j] = r;
  int64_t s = t->slot[i];
  t->slot[i] = t->slot[j];
  t->slot[j] = s;
}

static void sift_down(alq_topk *t, int64_t i) {
  for (;;) {
    int64_t l = 2 * i + 1, r = l + 1, w = i;
    if (l < t->n && worse(&t->heap[l], &t->heap[w]))
      w = l;
    if (r < t->n && worse(&t->heap[r], &t->heap[w]))
      w = r;
    if (w == i)
      return;
    heap_swap(t, i, w);
    i = w;
  }
}

/* Floyd's bottom-up heap construction: O(n), once, at the first eviction. */
static void heapify(alq_topk *t) {
  for (int64_t i = t->n / 2 - 1; i >= 0; i--)
    sift_down(t, i);
  t->heaped = 1;
}

/* Until the keeper is full nothing is evicted, so records are appended in
 * arrival order and the heap is built only when one must go: a keeper that
 * holds every record it is offered (the k-center's candidates) never builds
 * one, and a pass in alq's order leaves it sorted already. */
void alq_topk_push(alq_topk *t, alq_scored rec, const void *payload) {
  int64_t slot;
  if (t->n < t->k) {
    t->heap[t->n] = rec;
    t->slot[t->n] = slot = t->n;
    t->n++;
  } else if (t->k > 0) {
    if (!t->heaped)
      heapify(t);
    if (!alq_scored_before(&rec, &t->heap[0]))
      return;
    t->heap[0] = rec;
    slot = t->slot[0]; /* reuse the evicted record's payload slot */
    sift_down(t, 0);
  } else {
    return;
  }
  if (t->payload_bytes)
    memcpy(t->payload + slot * t->payload_bytes, payload, t->payload_bytes);
}

typedef struct {
  alq_scored rec;
  int64_t slot;
} slotted;

static int cmp_slotted(const void *pa, const void *pb) { return cmp_scored(pa, pb); }

/* 1 when the records are in alq's order and every payload sits in its
 * record's place already: nothing for alq_topk_sort to do. */
static int in_order(const alq_topk *t) {
  for (int64_t i = 0; i < t->n; i++)
    if (t->slot[i] != i || (i > 0 && !alq_scored_before(&t->heap[i - 1], &t->heap[i])))
      return 0;
  return 1;
}

alq_err alq_topk_sort(alq_topk *t) {
  if (in_order(t))
    return ALQ_OK;
  slotted *s = NULL;
  unsigned char *moved = NULL;
  ALQ_CHECK(alq_malloc(&s, sizeof *s * (t->n ? t->n : 1), "candidate sort"));
  if (t->payload_bytes && alq_malloc_aligned(&moved, (size_t)t->payload_bytes * (t->n ? t->n : 1),
                                             "candidate sort")) {
    free(s);
    return ALQ_ERR_MEMORY;
  }
  for (int64_t i = 0; i < t->n; i++) {
    s[i].rec = t->heap[i];
    s[i].slot = t->slot[i];
  }
  qsort(s, t->n, sizeof *s, cmp_slotted);
  for (int64_t i = 0; i < t->n; i++) {
    t->heap[i] = s[i].rec;
    if (moved)
      memcpy(moved + i * t->payload_bytes, t->payload + s[i].slot * t->payload_bytes, t->payload_bytes);
    t->slot[i] = i;
  }
  if (moved) {
    free(t->payload);
    t->payload = moved;
  }
  free(s);
  return ALQ_OK;
}

void alq_topk_free(alq_topk *t) {
  free(t->heap);
  free(t->slot);
  free(t->payload);
  memset(t, 0, sizeof *t);
}

/* The custom MPI_Op merges blocks of merge_k sorted records.  MPI ops carry no
 * context, so the block length lives here for the duration of one reduction. */
static int64_t merge_k;
static alq_scored *merge_tmp;

static void merge_blocks(void *in, void *inout, int *len, MPI_Datatype *type) {
  alq_scored *a = in, *b = inout;
  for (int blk = 0; blk < *len; blk++, a += merge_k, b += merge_k) {
    int64_t i = 0, j = 0;
    for (int64_t o = 0; o < merge_k; o++)
      merge_tmp[o] = alq_scored_before(&a[i], &b[j]) ? a[i++] : b[j++];
    memcpy(b, merge_tmp, sizeof *b * merge_k);
  }
}

/* A block of k records as one MPI datatype: k records of 16 bytes, so the
 * int count is k itself (up to 2^31-1 records, 32 GiB), never k x 16 bytes. */
static alq_err block_type(int64_t k, MPI_Datatype *block) {
  if (k > INT_MAX)
    return alq_error_set(ALQ_ERR_INTERNAL, "a top-k block of %lld records exceeds MPI's int count", (long long)k);
  MPI_Datatype record;
  int rc = MPI_Type_contiguous((int)sizeof(alq_scored), MPI_BYTE, &record);
  if (rc == MPI_SUCCESS) {
    rc = MPI_Type_contiguous((int)k, record, block);
    MPI_Type_free(&record);
  }
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_commit(block);
  return rc == MPI_SUCCESS ? ALQ_OK : alq_error_set(ALQ_ERR_MPI, "cannot build the top-k block datatype");
}

alq_err alq_scored_global_topk_blocks(MPI_Comm comm, alq_scored *blocks, int64_t n_blocks, int64_t k) {
  if (n_blocks == 0 || k == 0)
    return ALQ_OK;
  MPI_Datatype block = MPI_DATATYPE_NULL;
  MPI_Op op = MPI_OP_NULL;
  alq_err err = alq_malloc(&merge_tmp, sizeof *merge_tmp * k, "top-k merge buffer");
  if (!err)
    err = block_type(k, &block);
  if (!err && MPI_Op_create(merge_blocks, 1, &op) != MPI_SUCCESS)
    err = alq_error_set(ALQ_ERR_MPI, "cannot create the top-k merge operation");
  err = alq_agree(comm, err);
  merge_k = k;
  /* In pieces of whole blocks (alq_allreduce): a block is merged as a unit. */
  if (!err)
    err = alq_allreduce(MPI_IN_PLACE, blocks, n_blocks, block, op, comm);
  if (op != MPI_OP_NULL)
    MPI_Op_free(&op);
  if (block != MPI_DATATYPE_NULL)
    MPI_Type_free(&block);
  free(merge_tmp);
  merge_tmp = NULL;
  return err;
}

alq_err alq_scored_global_topk(MPI_Comm comm, const alq_scored *local, int64_t n_local, int64_t k,
                               alq_scored **out, int64_t *n_out) {
  *out = NULL;
  *n_out = 0;
  int64_t m = k < 1 ? 1 : k;
  alq_scored *all = NULL;
  alq_err err = alq_fault_point("candidates");
  if (!err)
    err = alq_malloc(&all, sizeof *all * m, "top-k buffer");
  err = alq_agree(comm, err);
  if (err) {
    free(all);
    return err;
  }
  int64_t n_copy = n_local < m ? n_local : m;
  memcpy(all, local, sizeof *all * n_copy);
  for (int64_t i = n_copy; i < m; i++)
    all[i] = alq_scored_none();
  err = alq_scored_global_topk_blocks(comm, all, 1, m);
  if (err) {
    free(all);
    return err;
  }
  int64_t n = 0;
  while (n < k && !alq_scored_is_none(&all[n]))
    n++;
  *out = all;
  *n_out = n;
  return ALQ_OK;
}
