/* alq/strategy.h: the strategy object (an ops table) and its registry.
 *
 * A selection runs in two stages, each optional:
 *   score   per item, on each worker's shard, chunk by chunk: an uncertainty
 *           score (higher = more informative).  Each rank keeps its best M
 *           unlabeled items (--candidates, default 10 x B; every unlabeled item
 *           for a strategy without a score); the global best M are the
 *           candidates of the next stage.
 *   select  over the candidates that live on all ranks (a diversity stage such
 *           as k-center).  Without it the batch is the global top-B by score.
 * A composite strategy (margin-kcenter) takes one stage from each of two
 * strategies instead of re-implementing them.  strategies/README.md says how to
 * add one.
 */
#ifndef ALQ_STRATEGY_H
#define ALQ_STRATEGY_H
#include <mpi.h>
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"

/* What a strategy reads from the pool. */
enum {
  ALQ_NEEDS_PROBS = 1u << 0,
  ALQ_NEEDS_EMBEDDINGS = 1u << 1,
  /* The mean over T stochastic passes of each pass's entropy (BALD), with
   * probs then the mean of the same passes: /mc_probs or --mc-samples. */
  ALQ_NEEDS_EXPECTED_ENTROPY = 1u << 2,
  /* The labeled items' answers (alq_request.answers): the strategy scores
   * labeled items too, so a batch may send items out again (activelab). */
  ALQ_NEEDS_ANSWERS = 1u << 3,
};

/* One chunk of a worker's shard.  Labeled rows are included (their scores are
 * ignored): skipping them would cost a copy for nothing. */
typedef struct {
  int64_t n;
  const int64_t *ids;
  const float *probs;      /* n * n_classes, or NULL */
  const float *embeddings; /* n * dim, or NULL */
  int64_t n_classes;
  int64_t dim;
  uint64_t seed;
  const float *expected_entropy; /* n (ALQ_NEEDS_EXPECTED_ENTROPY), or NULL */
} alq_chunk;

/* This rank's candidates for the select stage. */
typedef struct {
  int64_t n;
  int64_t dim;
  int64_t *ids;
  double *scores;     /* the score stage's value (0 without one) */
  float *embeddings;  /* n * dim, 64-byte aligned; NULL if not needed or kept as half */
  /* n * dim IEEE binary16 rows instead of embeddings (alq/half.h), when the
   * pool stores them so and the stage is the exact k-center (the only one
   * that reads them: alq_request_half_candidates); NULL otherwise. */
  const uint16_t *half;
  /* 1 when half points at the pool file's own rows (alq_source_ops.map_halves),
   * which the candidates do not own; 0 when it is theirs to free. */
  int half_mapped;
  /* n flags, or NULL (none set): 1 for a row the arrays hold that is no
   * candidate (a labeled row among rows used in place, which cannot be
   * squeezed out without a copy).  A select stage never picks one;
   * n_skipped counts them.  Only the exact k-center gets such rows. */
  unsigned char *skip;
  int64_t n_skipped;
} alq_candidates;

/* The labeled items' embeddings, identical on every rank, sorted by id. */
typedef struct {
  int64_t n;
  int64_t dim;
  int64_t *ids;
  float *embeddings;
} alq_centers;

struct alq_stream_request; /* alq/worker.h */

/* Cluster centroids a strategy keeps across rounds in the round state
 * (Cluster-Margin: the pool is clustered once); k = 0: none. */
typedef struct {
  int64_t k, d;
  float *c; /* k x d */
} alq_saved_clusters;

typedef struct {
  MPI_Comm comm;
  uint64_t seed;
  int64_t budget; /* at most the number of candidates across ranks */
  int prune;      /* k-center: lazy evaluation (bounds decide what to evaluate); 0 = eager */
  int log_view;   /* print the stage's own counters on rank 0 */
  int64_t fan_in; /* hierarchical k-center: children per tree node */
  /* The rows the candidates come from (this rank's shard of the pool, or of
   * the AnchorAL subpool), for a select stage that makes a pass of its own
   * (BADGE reads the candidates' probabilities); NULL inside the
   * hierarchical k-center tree. */
  const struct alq_stream_request *rows;
  double delta;      /* probcover: ball radius; <= 0 = chosen by k-means purity */
  int64_t n_classes; /* the pool's classes (0 when unknown): probcover's k-means k */
  /* The round state's clusters (--state), the same on every rank; NULL or
   * k = 0 when it has none. */
  const alq_saved_clusters *saved;
} alq_select_ctx;

/* The batch in selection order; complete on rank 0 (other ranks may hold a copy). */
typedef struct {
  int64_t n;
  int64_t *ids;
  double *scores;
  alq_saved_clusters clusters; /* new clusters for the round state (k = 0: none) */
  int8_t *relabel; /* n flags, 1 = a labeled item sent out again (ALQ_NEEDS_ANSWERS); NULL = none */
} alq_batch;

void alq_batch_free(alq_batch *b);

/* A select stage's shape on one rank, known before any row is read: what
 * the memory plan (alq/memory_plan.h) sizes the stage's own state from. */
typedef struct {
  int64_t n;          /* this rank's candidates (a bound) */
  int64_t n_global;   /* the candidates of all ranks (a bound) */
  int64_t rows;       /* this rank's rows of the pass the candidates came from */
  int64_t chunk_rows; /* rows per read of a pass the stage makes over them */
  int64_t dim, n_classes, budget, n_labeled;
  int ranks;
} alq_select_shape;

typedef struct alq_strategy {
  const char *name;
  const char *summary; /* one line for `alq strategies` */
  unsigned needs;      /* ALQ_NEEDS_* */
  /* Scores chunk->n items into scores[0..n). Must be a pure function of each
   * item's own row and id (never of its position in the shard). */
  alq_err (*score)(const alq_chunk *chunk, double *scores);
  /* Collective.  Picks ctx->budget items from the candidates of all ranks.
   * It is the strategy's default diversity stage; --diversity picks another. */
  alq_err (*select)(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                    alq_batch *batch);
  /* The bytes this rank's select stage allocates beyond its candidates, a
   * bound for --memory-per-rank; NULL: the k-center state, which the plan
   * counts itself (strategies/kcenter.c). */
  int64_t (*select_bytes)(const alq_select_shape *shape);
} alq_strategy;

/* NULL when `name` is not registered. */
const alq_strategy *alq_strategy_find(const char *name);
/* The registry, in listing order; *count receives its length. */
const alq_strategy *const *alq_strategy_list(size_t *count);

/* Score functions and select stages that composites reuse. */
alq_err alq_margin_score(const alq_chunk *chunk, double *scores);
alq_err alq_least_confidence_score(const alq_chunk *chunk, double *scores);
alq_err alq_entropy_score(const alq_chunk *chunk, double *scores);
alq_err alq_kcenter_select(const alq_select_ctx *ctx, const alq_candidates *cand,
                           const alq_centers *labeled, alq_batch *batch);
/* The hierarchical k-center reduction (strategies/kcenter_hier.c). */
alq_err alq_kcenter_hier_select(const alq_select_ctx *ctx, const alq_candidates *cand,
                                const alq_centers *labeled, alq_batch *batch);

#endif
