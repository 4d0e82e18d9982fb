/* alq/select.h: one selection, end to end, as a collective call.
 *
 * Rank 0 (the coordinator) validates the options and the pool, broadcasts a
 * request (proto/alq.proto SelectRequest), every rank scans its shard, the
 * strategy selects, and rank 0 writes the batch.  Every rank returns the same
 * status; on failure rank 0's error buffer holds the one-line reason and no
 * output file exists.
 */
#ifndef ALQ_SELECT_H
#define ALQ_SELECT_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h"
#include "alq/source.h"
#include "alq/strategy.h"
#include "alq/ood.h"

typedef struct {
  char pool[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group */
  char state[ALQ_PATH_MAX];   /* "" = no round state (alq/state.h) */
  char out[ALQ_PATH_MAX];
  char csv[ALQ_PATH_MAX];     /* "" = no CSV */
  char strategy[64];
  int64_t budget;
  int64_t candidates; /* 0 = the strategy's default */
  int64_t chunk_rows; /* 0 = default */
  uint64_t seed;
  int prune;          /* 1 = k-center lazy evaluation (default); 0 = every candidate, every step */
  int log_view;
  int quiet;
  /* subpool stage (docs/strategies.md, AnchorAL) */
  int subpool;                /* ALQ_SUBPOOL_* */
  int64_t anchors_per_class;  /* 0 = 10 */
  int64_t neighbors;          /* 0 = 50 per anchor */
  int64_t subpool_size;       /* 0 = 10,000 */
  int anchor_random;          /* 1 = random anchors instead of k-means++ */
  /* diversity stage */
  int diversity;              /* ALQ_DIVERSITY_* */
  int64_t fan_in;             /* hierarchical reduction tree fan-in, 0 = 8 */
  int64_t memory_per_rank;    /* bytes for the candidate set, 0 = no limit */
  /* model stage (alq/model.h): probabilities and embeddings from a trained head */
  char model[ALQ_PATH_MAX];   /* "" = the pool's own /probs and /embeddings */
  int64_t mc_samples;         /* MLP dropout passes averaged; 0 = one deterministic pass */
  /* projection stage (alq/geometry.h): AnchorAL and k-center see projected embeddings */
  char project[64];           /* "" or pca:K / pca-whiten:K, fitted in this run */
  char projection[ALQ_PATH_MAX]; /* "" or a file from alq project */
  int64_t fit_sample;         /* --project: fit on about this many rows; 0 = every row */
  double delta;               /* probcover: ball radius; 0 = the largest with purity >= 0.95 */
  alq_ood_options ood;        /* out-of-distribution stage (alq/ood.h); kind 0 = none */
} alq_select_options;

enum { ALQ_SUBPOOL_ALL = 0, ALQ_SUBPOOL_ANCHORAL = 1 };
/* DEFAULT: the strategy's own select stage; NONE: top-B by score; EXACT: the
 * MAXLOC k-center; HIER: the hierarchical k-center reduction. */
enum { ALQ_DIVERSITY_DEFAULT = 0, ALQ_DIVERSITY_NONE, ALQ_DIVERSITY_EXACT, ALQ_DIVERSITY_HIER };

/* What every rank knows about a selection (rank 0 broadcasts it). */
typedef struct {
  alq_pool_meta meta;
  char strategy[64];
  char labeled_path[ALQ_PATH_MAX];
  int64_t budget;
  int64_t candidates; /* kept for the select stage; < 0 = every unlabeled item */
  int64_t n_labeled;
  int64_t chunk_rows;
  uint64_t seed;
  int prune, log_view, quiet;
  uint64_t ids_checksum; /* the pool's ids checksum, set from the streaming pass (alq_rank_facts) */
  int subpool;
  int64_t anchors_per_class, neighbors, subpool_size;
  int anchor_random;
  int diversity; /* resolved: NONE, EXACT, HIER or DEFAULT (the strategy's own select stage) */
  int64_t fan_in;
  int64_t memory_per_rank;
  char model[ALQ_PATH_MAX]; /* "" = none; else meta describes what the model serves */
  int64_t mc_samples;
  char project[64], projection[ALQ_PATH_MAX]; /* as in the options; meta.dim is then the projected K */
  int64_t fit_sample;
  int64_t pool_dim;                   /* the pool's own /embeddings columns */
  uint64_t projection_ids_checksum;   /* the pool identity the projection file records */
  double delta;                       /* probcover's --delta; 0 = chosen by purity */
  /* --state: the state's clusters, set on every rank after the broadcast
   * (select_run.c; not in the protobuf); NULL otherwise. */
  const alq_saved_clusters *saved_clusters;
  /* ALQ_NEEDS_ANSWERS: rank 0's answers of the labeled items (alq/consensus.h),
   * set after the broadcast; NULL = one answer per labeled item, its label. */
  const struct alq_answer_table *answers;
  alq_ood_options ood;                /* as in the options (fitted and checked in alq_select_pool) */
  /* --ood outcome, set on every rank after alq_select_pool from alq_rank_facts
   * (not in the protobuf), for the manifest and the batch file. */
  double ood_threshold;
  int64_t ood_calibration, ood_rejected;
  const int64_t *ood_rejected_per_rank; /* one per rank */
} alq_request;

/* 1 when the candidates of the select stage are kept as IEEE binary16 rows
 * (alq_candidates.half): the pool stores /embeddings as float16 and the rows
 * reach the exact k-center stage unchanged (no AnchorAL subpool, projection
 * or model in between; `anchoral`: the subpool runs).  Half the candidates'
 * memory and half the bytes of every k-center pass over them, the same batch:
 * widening a half is exact (alq/half.h). */
int alq_request_half_candidates(const alq_request *req, int anchoral);

/* What one rank did, for its report. */
typedef struct {
  int64_t row_lo, row_hi, unlabeled, candidates;
  uint64_t ids_checksum; /* of the whole pool (every rank), from the streaming pass */
  /* --ood (alq/ood.h): this rank's rejected items and the stage's outcome,
   * the same on every rank; ood_rejected_per_rank (one per rank, NULL without
   * --ood) is the caller's to free(). */
  int64_t ood_rejected, ood_rejected_total, ood_calibration;
  double ood_threshold;
  int64_t *ood_rejected_per_rank;
} alq_rank_facts;

/* Collective: the selection itself, from an open source to the batch (complete
 * on every rank).  `labeled` (req->n_labeled items, sorted by id, with labels)
 * must be identical on every rank; these items are never selected and are the
 * initial k-center centers and the AnchorAL anchors' pool.  Used by
 * alq_select_run and by programs that hold the pool in memory
 * (alq_source_memory). */
alq_err alq_select_pool(MPI_Comm comm, const alq_request *req, alq_source *src, const alq_labeled *labeled,
                        alq_batch *batch, alq_rank_facts *facts);

/* Serial: the request `alq select` builds from its options for a pool of
 * shape `meta` (what alq_source_describe gives, or arrays in memory), after
 * every check of the options against that shape.  The labeled set is not
 * read: req->n_labeled and req->labeled_path are left 0 and "" for the caller
 * (alq_coordinator_prepare, the C API of alq/api.h). */
alq_err alq_request_build(const alq_select_options *opt, const alq_pool_meta *meta, alq_request *req);

/* Collective over `comm`.  Only rank 0's `opt` is read. */
alq_err alq_select_run(MPI_Comm comm, const alq_select_options *opt);

/* Collective: the labeled set rank 0 holds (its size included), on every
 * rank; the other ranks' *labeled is allocated here (alq_labeled_free). */
alq_err alq_labeled_share(MPI_Comm comm, alq_labeled *labeled);

#endif
