/* alq/geometry.h: the embedding space's geometry across ranks (ScaLAPACK).
 *
 * Two things are fitted on a pool's embeddings, both collectively:
 *  - a PCA projection (alq project, select --project / --projection): the
 *    pool's mean and covariance in one streaming pass, the top K eigenvectors
 *    by PDSYEVD, and a source wrapper that serves the projected K-column
 *    embeddings (probabilities untouched) to AnchorAL and k-center;
 *  - a class-conditional Gaussian with a shared, shrunk covariance on the
 *    labeled set (Lee et al. 2018), Cholesky by PDPOTRF: an item's
 *    Mahalanobis distance is min over classes c of (x - mu_c)^T Sigma^-1
 *    (x - mu_c), a Euclidean distance in the whitened space (alq score).
 *
 * Determinism: the fitted projection is bit-identical at any number of ranks
 * for a given eigensolver grid (default 1x1) and BLAS kernel, and applying it
 * is per-row alq_dot arithmetic (docs/design.md, "Embedding geometry").
 */
#ifndef ALQ_GEOMETRY_H
#define ALQ_GEOMETRY_H
#include <mpi.h>
#include <stdint.h>

#include "alq/error.h"
#include "alq/pool.h"
#include "alq/select.h"
#include "alq/source.h"

/* How a fit reads the pool and where it solves. */
typedef struct {
  int64_t sample;        /* 0: every row; else about `sample` rows: row with id i is kept when
                            alq_hash_unit(seed, i, ALQ_PURPOSE_FIT_SAMPLE) < sample / N */
  uint64_t seed;
  int grid_rows, grid_cols; /* eigensolver / Cholesky grid, a fixed shape (0 x 0 = 1x1); needs rows * cols <= ranks */
  int64_t chunk_rows;    /* rows per read, 0 = default */
} alq_fit_options;

/* "pca:K" or "pca-whiten:K" (1 <= K): usage error naming the text otherwise. */
alq_err alq_projection_parse(const char *spec, int *whiten, int64_t *k);
/* "RxC" (R, C >= 1) for a grid option; usage error naming the option otherwise. */
alq_err alq_fit_grid_parse(const char *option, const char *text, int *rows, int *cols);

/* A fitted projection y = matrix (x - mean), K x d, with what it was fitted on. */
typedef struct {
  int64_t k, dim;
  int whiten;           /* rows scaled by 1 / sqrt(eigenvalue) (floored, docs/geometry.md) */
  float *matrix;        /* k x dim, row-major: eigenvectors by descending eigenvalue, sign fixed */
  float *mean;          /* dim */
  double *eigenvalues;  /* dim, descending: every eigenvalue of the covariance */
  int64_t fit_rows;     /* rows the covariance was computed from */
  int64_t sample;       /* alq_fit_options.sample of the fit */
  uint64_t seed;
  int grid_rows, grid_cols;
  /* pool identity, as a round state records it */
  char pool[ALQ_PATH_MAX];
  int64_t n_items;
  uint64_t ids_checksum;
} alq_projection;

/* Collective: fits the projection on the pool `meta` describes (opened here).
 * Complete on every rank.  Errors agreed (an eigensolver failure is internal,
 * K > d a usage error). */
alq_err alq_projection_fit(MPI_Comm comm, const alq_pool_meta *meta, const alq_fit_options *opt, int whiten,
                           int64_t k, alq_projection *out);

/* Serial: writes /projection/{matrix, mean, eigenvalues} and attributes
 * (k, dim, whiten, fit_rows, sample, seed, grid, pool, n_items,
 * ids_checksum) atomically; output error naming the file. */
alq_err alq_projection_write(const char *path, const alq_projection *p);
/* Serial: reads and checks a projection file; input error naming it. */
alq_err alq_projection_read(const char *path, alq_projection *p);
/* Collective: rank 0's projection on every rank. */
alq_err alq_projection_bcast(MPI_Comm comm, alq_projection *p);
void alq_projection_free(alq_projection *p);

/* y[0..k) = the projection of one row x[0..dim); tmp holds dim floats.
 * y_j = alq_dot(matrix_j, fl(x - mean)): a function of the row alone. */
void alq_projection_apply(const alq_projection *p, const float *x, float *tmp, float *y);

/* A source serving projected embeddings (meta.dim = k) and the inner source's
 * probabilities, ids and labels.  Takes ownership of inner and of p (freed on
 * close).  Input error when the inner dimension is not p->dim. */
alq_err alq_source_with_projection(alq_source *inner, alq_projection *p, alq_source **out);

/* Collective: opens the pool `pool_meta` describes (its own dimension) and
 * wraps it in the projection (moved into the source; *p is zeroed). */
alq_err alq_source_open_projected(MPI_Comm comm, const alq_pool_meta *pool_meta, alq_projection *p,
                                  alq_source **out);

/* The projection stage of alq select (--project SPEC, --projection FILE).
 * Rank 0, from alq_coordinator_prepare: checks the options against the pool
 * (a projection file must match its dimension and item count; not with
 * --model) and sets req->meta.dim to the projected K, req->pool_dim to the
 * pool's own.  Without either option only sets pool_dim. */
alq_err alq_projection_prepare(const alq_select_options *opt, alq_request *req);
/* Collective: the source the selection streams: the pool through the
 * projection read from req->projection, or fitted now (req->project, on
 * req->fit_sample rows with req->seed, grid 1x1). */
alq_err alq_projection_source_open(MPI_Comm comm, const alq_request *req, alq_source **out);
/* After the streaming pass: the pool's ids checksum must be the one the
 * projection file records (input error naming both files otherwise). */
alq_err alq_projection_check_pool(const alq_request *req, uint64_t ids_checksum);

/* Mahalanobis distances to the labeled classes. */
typedef struct {
  int64_t dim, n_classes; /* classes with at least one labeled item */
  int32_t *classes;       /* n_classes labels */
  double *center;         /* dim: the labeled mean, subtracted first (keeps whitened values small) */
  double *whitener;       /* dim x dim row-major, lower triangular: L^-1, Sigma = L L^T */
  double *white_means;    /* n_classes x dim: L^-1 (mu_c - center) */
  double shrinkage;       /* Ledoit-Wolf weight of the scaled identity, in [0, 1] */
  double trace_scale;     /* tr(S) / d, the identity's scale */
  int64_t fit_rows;       /* labeled items used */
} alq_mahalanobis;

/* Collective: fits on the labeled items' embeddings x (n x dim, row-major,
 * identical on every rank) with labels: class means, the pooled within-class
 * covariance S, Ledoit-Wolf shrinkage Sigma = (1 - a) S + a (tr S / d) I,
 * Cholesky by PDPOTRF and L^-1 by PDTRTRI on the fit grid.  Input error when
 * n < 2 or fewer items than classes. */
alq_err alq_mahalanobis_fit(MPI_Comm comm, const float *x, const int32_t *labels, int64_t n, int64_t dim,
                            const alq_fit_options *opt, alq_mahalanobis *out);

/* Collective: the same, fetching the labeled items' embeddings from src on
 * rank 0 (the out-of-distribution stage's entry point). */
alq_err alq_mahalanobis_fit_labeled(MPI_Comm comm, alq_source *src, const alq_labeled *labeled,
                                    const alq_fit_options *opt, alq_mahalanobis *out);

/* min_c ||L^-1 (x - center) - L^-1 (mu_c - center)||^2 for one row, in
 * float64 with one fixed summation order (a function of the row alone); work
 * holds 2 dim doubles. */
double alq_mahalanobis_distance(const alq_mahalanobis *m, const float *x, double *work);
void alq_mahalanobis_free(alq_mahalanobis *m);

/* `alq project` (geometry/project_run.c). */
typedef struct {
  char pool[ALQ_PATH_MAX];
  char project[64];       /* pca:K or pca-whiten:K (alq_projection_parse) */
  char out[ALQ_PATH_MAX]; /* the projection file (alq_projection_write) */
  alq_fit_options fit;    /* sample, seed, eigensolver grid, rows per read */
  int quiet;              /* no summary on stderr */
} alq_project_options;

/* Collective over `comm`: fits the projection (alq_projection_fit; the
 * phase log is reset first) and rank 0 writes it.  Only rank 0's `o` is
 * read; it is broadcast over every rank's `o`. */
alq_err alq_project_run(MPI_Comm comm, alq_project_options *o);

/* `alq score` (geometry/score_run.c). */
typedef struct {
  char pool[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group (required for a gen: pool) */
  char out[ALQ_PATH_MAX];     /* HDF5: /scores/ids int64 [N], /scores/mahalanobis float64 [N], row order */
  int mahalanobis;            /* the score to compute (the only one so far) */
  alq_fit_options fit;        /* the Cholesky's grid and the rows per read */
  int quiet;                  /* no summary on stderr */
} alq_score_options;

/* Collective over `comm`: fits alq_mahalanobis on the labeled set, streams
 * every rank's shard, and rank 0 writes every item's distance atomically
 * (the same, bit for bit, at any rank count for one grid).  Only rank 0's
 * `o` is read; it is broadcast over every rank's `o`. */
alq_err alq_score_run(MPI_Comm comm, alq_score_options *o);

#endif
