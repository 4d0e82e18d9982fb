/* alq/ood.h: the out-of-distribution stage (docs/ood.md).
 *
 * Uncertainty sampling on a web-scale pool is drawn to junk: an item unlike
 * anything the model was trained on is the one it is least sure about.  The
 * stage runs before any strategy scores: every item gets an OOD score (higher
 * = further from the labeled data), a threshold is calibrated on the labeled
 * set, and unlabeled items past it are excluded from the selection, whatever
 * the strategy, subpool or diversity stage.
 *
 * Scores, per item (each a function of the item's own row and the labeled
 * set, so the same at any rank count):
 *   maxprob      1 - max_c p_c (Hendrycks and Gimpel 2017)
 *   energy       -T log sum_c exp(z_c / T) with z_c = log p_c (Liu et al.
 *                2020 use logits; from probabilities, T = 1 gives -log 1 = 0
 *                for every item, so T != 1 is required)
 *   knn          the Euclidean distance from the item's L2-normalised
 *                embedding to its k-th nearest normalised labeled embedding
 *                (Sun et al. 2022); exact: SGEMM only bounds which labeled
 *                items can be among the k nearest, alq_dot decides
 *   mahalanobis  min over classes of the Mahalanobis distance under a shared,
 *                shrunk covariance (alq/geometry.h, Lee et al. 2018)
 *
 * Calibration: s_1 <= ... <= s_n are the scores of the n labeled items with
 * a label >= 0 (kNN: leave-one-out, each item's k-th nearest among the
 * others).  With r = floor(q n + 1e-9) and m = n - r, the threshold is s_m
 * (1-based; q = 0 gives the largest score): items with score > s_m are
 * rejected, so at most r labeled items (fewer with ties) fall past it.
 */
#ifndef ALQ_OOD_H
#define ALQ_OOD_H
#include <mpi.h>
#include <stdint.h>

#include "alq/error.h"
#include "alq/pool.h"
#include "alq/source.h"
#include "alq/worker.h"

typedef enum { ALQ_OOD_NONE = 0, ALQ_OOD_MAXPROB, ALQ_OOD_ENERGY, ALQ_OOD_KNN, ALQ_OOD_MAHALANOBIS } alq_ood_kind;

/* Which embeddings knn and mahalanobis measure distances in (--ood-space).
 * SELECTION: the rows the selection sees (a model's or a projection's
 * embeddings when one is given).  POOL: the pool's own stored /embeddings,
 * read past any model or projection: a head trained on a few labels may map
 * junk close to the labeled items in its hidden layer (docs/ood.md).
 * FEATURES: the model's standardised input z = (x - mean) / std (logreg's
 * embeddings, the MLP's input); without a model, as POOL. */
typedef enum { ALQ_OOD_SPACE_SELECTION = 0, ALQ_OOD_SPACE_POOL, ALQ_OOD_SPACE_FEATURES } alq_ood_space;

/* What the user asked for (--ood, --ood-reject, --ood-temperature, --ood-k,
 * --ood-space). */
typedef struct {
  int kind;           /* alq_ood_kind; NONE = no stage */
  double reject;      /* q in [0, 1) */
  double temperature; /* energy: T > 0; 0 = 1 */
  int64_t k;          /* knn: neighbour rank; 0 = 50 */
  int space;          /* alq_ood_space */
} alq_ood_options;

/* The options a command line gave (alq_ood_check_options's `given`). */
enum { ALQ_OOD_GIVEN_REJECT = 1, ALQ_OOD_GIVEN_TEMPERATURE = 2, ALQ_OOD_GIVEN_K = 4, ALQ_OOD_GIVEN_SPACE = 8 };

/* "maxprob", "energy", "knn", "mahalanobis" (NULL for NONE). */
const char *alq_ood_kind_name(int kind);
/* Usage error naming the text when it is not one of the kinds. */
alq_err alq_ood_parse_kind(const char *text, int *kind);
/* "selection", "pool", "features". */
const char *alq_ood_space_name(int space);
/* Usage error naming the text when it is not one of the spaces. */
alq_err alq_ood_parse_space(const char *text, int *space);

/* Usage error (one line) when options that need --ood are given without it,
 * apply to another kind, or a value is out of range.  `given`: ALQ_OOD_GIVEN_*
 * of the options on the command line. */
alq_err alq_ood_check_options(const alq_ood_options *o, unsigned given);

/* The stage fitted on a labeled set, identical on every rank. */
typedef struct {
  alq_ood_options opt; /* resolved: temperature and k filled in */
  int64_t dim, n_classes;
  int64_t n_ref;       /* labeled items with a label >= 0 (the in-distribution reference) */
  int64_t *ref_ids;    /* n_ref, sorted */
  float *ref;          /* knn: n_ref x dim unit rows (64-byte aligned) */
  void *mahalanobis;   /* mahalanobis: the fitted alq_mahalanobis */
  double *calibration; /* n_ref: the reference items' scores (knn: leave-one-out) */
  double threshold;    /* items with a score > threshold are out of distribution */
  alq_source *source;  /* what the stage reads (--ood-space): the fit's source, one under it, or owned */
  alq_source *owned;   /* FEATURES: the model-features source, closed by alq_ood_model_free */
} alq_ood_model;

/* Collective: fits the stage on `labeled` (sorted by id, identical on every
 * rank) with rows fetched by rank 0 from `src` or the source under it that
 * opt->space names (out->source, which the rejection pass and alq ood read;
 * `src` must stay open while they do).  Usage or input error, the
 * same on every rank, when the kind needs what the source lacks (probabilities
 * for maxprob and energy), energy has T = 1, or fewer than 2 labeled items
 * with a label >= 0 (knn, mahalanobis) or none (maxprob, energy). */
alq_err alq_ood_fit(MPI_Comm comm, const alq_ood_options *opt, alq_source *src, const alq_labeled *labeled,
                    alq_ood_model *out);
void alq_ood_model_free(alq_ood_model *m);

/* The fields of a row the score reads (ALQ_FIELD_PROBS or _EMBEDDINGS). */
unsigned alq_ood_fields(const alq_ood_model *m);

/* Scratch space for scoring rows (knn: a similarity block). */
typedef struct {
  int64_t block_rows;
  float *unit, *sim, *pick; /* block_rows x dim, block_rows x n_ref, n_ref */
  double *work;             /* mahalanobis: 2 dim */
} alq_ood_work;

alq_err alq_ood_work_init(const alq_ood_model *m, alq_ood_work *w);
void alq_ood_work_free(alq_ood_work *w);

/* scores[0..n) of rows 0..n of `rows` (the fields alq_ood_fields names).
 * exclude: NULL, or per row the index into the reference to leave out
 * (-1 none): the calibration's leave-one-out.  Counts SGEMM flops. */
void alq_ood_score_rows(const alq_ood_model *m, alq_ood_work *w, const alq_rows *rows, int64_t n,
                        const int64_t *exclude, double *scores);

/* The calibrated threshold of n scores (sorted ascending) at reject share q,
 * as defined above; n >= 1. */
double alq_ood_threshold(const double *sorted, int64_t n, double q);

/* The rejection pass over a pool: which unlabeled items are out of
 * distribution, and the list a selection then excludes. */
typedef struct {
  int64_t rejected;          /* unlabeled items past the threshold, all ranks */
  int64_t *rejected_per_rank; /* one per rank of the communicator */
  int n_ranks;
  int64_t n_excluded;        /* labeled ids and rejected ids, merged */
  int64_t *excluded;         /* sorted: the stream's labeled_ids for the selection */
} alq_ood_rejection;

/* Collective: streams `stream` (its labeled_ids are the labeled set) and
 * rejects unlabeled items with score > m->threshold. */
alq_err alq_ood_reject(const alq_stream_request *stream, const alq_ood_model *m, alq_ood_rejection *out);
void alq_ood_rejection_free(alq_ood_rejection *r);

/* `alq ood`: per-item scores and reject flags of a pool, to a file. */
typedef struct {
  char pool[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled */
  char model[ALQ_PATH_MAX];   /* "" = the pool's /probs and /embeddings */
  char out[ALQ_PATH_MAX];     /* HDF5: /ood/{ids, scores, rejected, labeled}, /calibration/{ids, scores} */
  char csv[ALQ_PATH_MAX];     /* "" = none; else id,score,rejected,labeled */
  alq_ood_options ood;
  int64_t chunk_rows;         /* 0 = default */
  int quiet;
} alq_ood_run_options;

/* Collective; only rank 0's `opt` is read. */
alq_err alq_ood_run(MPI_Comm comm, const alq_ood_run_options *opt);

#endif
