/* alq/memory_plan.h: what one rank allocates for a selection, before it starts.
 *
 * --memory-per-rank is checked against this plan before any pool row is read:
 * every rank computes the plan of every rank (a pure function of the request,
 * the rank count and the shard a rank owns), so all ranks reach the same
 * verdict, and a selection that cannot fit fails with exit 5 and one line
 * naming the parts and what to change, instead of being killed halfway.
 *
 * A selection runs in phases (the AnchorAL retrieval, its merge, the scan,
 * ...); in each, a part (the chunk buffers, the anchor heaps, ...) holds some
 * bytes, counted from its allocation sites (memory_plan.c names them).  A
 * phase's figure is the sum of the parts live in it, and the plan's total is
 * the largest phase: the rank's peak.  Where a size depends on the data (the
 * subpool share after grouping, the items a k-center tree node receives) the
 * bound is used, so the total bounds the peak.  Not counted: what MPI, HDF5,
 * OpenBLAS and the C runtime hold on their own (the baseline of a trivial
 * run, about 20-25 MB a rank with Open MPI).
 */
#ifndef ALQ_MEMORY_PLAN_H
#define ALQ_MEMORY_PLAN_H
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/select.h"

typedef enum {
  ALQ_MEM_CHUNK = 0,    /* stream chunk buffers (ids, flags, rows, scores) and the pool source's scratch */
  ALQ_MEM_MODEL,        /* --model: parameters, input-feature buffers, apply scratch */
  ALQ_MEM_LABELED,      /* labeled ids, labels, found flags, and their embeddings */
  ALQ_MEM_ANCHOR_HEAPS, /* AnchorAL: per-anchor heaps of K records with their rows, anchors, SGEMM scratch */
  ALQ_MEM_ANCHOR_LISTS, /* AnchorAL: the merged per-anchor lists, the grouping, the heaps' sorted copies */
  ALQ_MEM_SUBPOOL,      /* AnchorAL: this rank's share of the subpool's rows */
  ALQ_MEM_CANDIDATES,   /* the kept candidates (records, rows) and their sort */
  ALQ_MEM_REDUCTIONS,   /* global top-k merges and the batch */
  ALQ_MEM_KCENTER,      /* k-center per-candidate state (norms, distances, bounds, heap) */
  ALQ_MEM_CENTERS,      /* k-center centers (labeled + batch: a second copy of the labeled rows) and scratch */
  ALQ_MEM_HIER_LEAVES,  /* --diversity hier: redistribution to leaf owners, leaf items and results */
  ALQ_MEM_HIER_TREE,    /* --diversity hier: a tree node's F children, their union and sorted copy */
  ALQ_MEM_STRATEGY,     /* a strategy's own select stage (BADGE, TypiClust, ...): its select_bytes */
  ALQ_MEM_PARTS
} alq_memory_part;

typedef enum {
  ALQ_MEM_RETRIEVE = 0, /* AnchorAL: streaming the shard into the per-anchor heaps */
  ALQ_MEM_MERGE,        /* AnchorAL: merging the heaps, grouping, taking this rank's subpool rows */
  ALQ_MEM_SCAN,         /* streaming (the shard or the subpool share) into the candidate keeper */
  ALQ_MEM_SORT,         /* sorting the kept candidates */
  ALQ_MEM_REDUCE,       /* the global top-B (or top-M) merge */
  ALQ_MEM_REDISTRIBUTE, /* --diversity hier: candidates moved to their leaves' owners */
  ALQ_MEM_SELECT,       /* the exact k-center, or the hierarchical leaves' greedy */
  ALQ_MEM_TREE,         /* --diversity hier: the tree nodes above the leaves */
  ALQ_MEM_PHASES
} alq_memory_phase;

/* --model: the shape the plan needs that the request does not carry. */
typedef struct {
  int64_t dim;    /* d: the model's input features */
  int64_t hidden; /* H: hidden units, 0 for logreg */
} alq_memory_model;

typedef struct {
  int rank;
  int64_t bytes[ALQ_MEM_PHASES][ALQ_MEM_PARTS]; /* what each part holds in each phase (0: not live) */
  int64_t phase_total[ALQ_MEM_PHASES];
  alq_memory_phase peak; /* the phase with the largest total */
  int64_t total;         /* phase_total[peak] */
  /* Bit p set: part p is bounded by this rank's shard, so more ranks shrink it.
   * Anchor heaps, the labeled set, centers and tree nodes never shrink with P. */
  unsigned shrinks_with_ranks;
  const char *advice[ALQ_MEM_PARTS]; /* what lowers part p, e.g. "lower --neighbors or --anchors-per-class" */
} alq_memory_plan;

/* Short names: "anchor heaps", "anchor merge". */
const char *alq_memory_part_name(alq_memory_part p);
const char *alq_memory_phase_name(alq_memory_phase p);

/* The plan of `rank` (of `ranks`) owning `shard_rows` rows of req->meta's pool.
 * `model` is read only when req->model is set.  Pure arithmetic. */
void alq_memory_plan_compute(const alq_request *req, int ranks, int rank, int64_t shard_rows,
                             const alq_memory_model *model, alq_memory_plan *plan);

/* "1.2 GiB (in anchor merge: anchor heaps 1.1 GiB, chunk buffers 16.0 MiB, ...)":
 * the total and the peak phase's non-zero parts, largest first.  Returns
 * snprintf's count. */
int alq_memory_plan_format(const alq_memory_plan *plan, char *buf, size_t len);

/* "retrieve 80.1 MiB, anchor merge 1.2 GiB, ...": every phase that runs. */
int alq_memory_plan_format_phases(const alq_memory_plan *plan, char *buf, size_t len);

/* ALQ_OK when the plan fits `limit` bytes (<= 0: no limit); else ALQ_ERR_MEMORY
 * with the one line "rank R needs <format> > --memory-per-rank L: <advice>",
 * the advice for the peak phase's largest part, with "or add ranks" only when
 * that part shrinks with P. */
alq_err alq_memory_plan_check(const alq_memory_plan *plan, int64_t limit);

#endif
