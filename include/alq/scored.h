/* alq/scored.h: (score, id) records and the exact global top-k across ranks.
 *
 * The order used everywhere: higher score first; equal scores, lower id first.
 * Records travel as plain MPI buffers of fixed size.
 */
#ifndef ALQ_SCORED_H
#define ALQ_SCORED_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"

typedef struct {
  double score;
  int64_t id;
} alq_scored;

/* 1 when a ranks before b in alq's order. */
static inline int alq_scored_before(const alq_scored *a, const alq_scored *b) {
  return a->score > b->score || (a->score == b->score && a->id < b->id);
}

/* Padding for fixed-size blocks: sorts after every real record (scores are finite). */
static inline alq_scored alq_scored_none(void) { return (alq_scored){-1.0 / 0.0, INT64_MAX}; }
static inline int alq_scored_is_none(const alq_scored *r) { return r->id == INT64_MAX && r->score == -1.0 / 0.0; }

/* Sorts records into alq's order. */
void alq_scored_sort(alq_scored *records, int64_t n);

/* A bounded keeper of the k best records seen (a heap on the worst kept).
 * `payload` optionally keeps `payload_bytes` per record (e.g. an embedding row)
 * that moves with its record. */
typedef struct {
  int64_t k, n;
  alq_scored *heap;       /* n records; after alq_topk_sort, in alq's order */
  int64_t *slot;          /* heap[i]'s payload is payload + slot[i] * payload_bytes */
  unsigned char *payload; /* k slots, or NULL when payload_bytes is 0 */
  int64_t payload_bytes;
  int heaped;             /* heap[] is a heap on the worst; 0 while records sit in arrival order */
} alq_topk;

alq_err alq_topk_init(alq_topk *t, int64_t k, int64_t payload_bytes);
/* Offers one record; `payload` may be NULL when payload_bytes is 0. */
void alq_topk_push(alq_topk *t, alq_scored rec, const void *payload);
/* Sorts the kept records into alq's order and moves payloads so that slot[i] == i. */
alq_err alq_topk_sort(alq_topk *t);
void alq_topk_free(alq_topk *t);

/* Collective: each rank holds up to k sorted records; on return *out (on every
 * rank, allocated, caller frees) holds the global first min(k, total) records
 * in alq's order and *n_out their count.  Tree reduction with a custom MPI_Op:
 * never gathers everything in one place. */
alq_err alq_scored_global_topk(MPI_Comm comm, const alq_scored *local, int64_t n_local, int64_t k,
                               alq_scored **out, int64_t *n_out);

/* Collective: `blocks` holds n_blocks blocks of k records, each sorted in alq's
 * order and padded with alq_scored_none(); on return (every rank) each block
 * holds the global first k records of that block across ranks.  One
 * MPI_Allreduce with a merging MPI_Op: a tree reduction, O(n_blocks k log P)
 * traffic per rank.  A block travels as one derived datatype of k records, so
 * k may reach 2^31-1 (32 GiB blocks); the blocks go in pieces of whole blocks
 * within the message limit (alq/comm.h). */
alq_err alq_scored_global_topk_blocks(MPI_Comm comm, alq_scored *blocks, int64_t n_blocks, int64_t k);

#endif
