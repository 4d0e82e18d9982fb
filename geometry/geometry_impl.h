/* geometry/geometry_impl.h: process grids, distributed matrices and the
 * covariance pass shared by the geometry module (internal). */
#ifndef ALQ_GEOMETRY_IMPL_H
#define ALQ_GEOMETRY_IMPL_H
#include <mpi.h>
#include <stdint.h>

#include "alq/error.h"
#include "alq/geometry.h"
#include "alq/pool.h"
#include "alq/source.h"

/* ScaLAPACK's block size for every distributed matrix of alq: fixed, so that a
 * matrix's distribution (and the eigensolver's arithmetic) depends on the grid
 * shape alone. */
enum { GEO_NB = 64 };

/* A BLACS grid over the first nprow * npcol ranks of a communicator.  On a rank
 * outside the grid, context is -1 and myrow = mycol = -1. */
typedef struct {
  int handle; /* the BLACS system handle of the communicator */
  int context;
  int nprow, npcol, myrow, mycol;
} geo_grid;

/* Collective over comm: needs nprow * npcol <= the communicator's size. */
alq_err geo_grid_init(MPI_Comm comm, int nprow, int npcol, geo_grid *g);
void geo_grid_free(geo_grid *g);
/* The squarest grid over all `size` ranks (rows <= columns): 1x1, 1x2, 1x3, 2x2, ... */
void geo_grid_shape_for(int size, int *nprow, int *npcol);
static inline int geo_grid_member(const geo_grid *g) { return g->context >= 0; }

/* An m x n double matrix, GEO_NB x GEO_NB block-cyclic over a grid; `local` is
 * this rank's column-major piece (lrows x lcols, leading dimension desc[8]).
 * On a rank outside the grid, desc[1] = -1 and local is NULL. */
typedef struct {
  int desc[9];
  int64_t m, n, lrows, lcols;
  double *local;
} geo_matrix;

alq_err geo_matrix_alloc(const geo_grid *g, int64_t m, int64_t n, geo_matrix *a);
void geo_matrix_free(geo_matrix *a);
/* The global index of local index l of a block-cyclic dimension over nprocs
 * processes, on process coordinate p. */
static inline int64_t geo_global_index(int64_t l, int p, int nprocs) {
  return (l / GEO_NB) * GEO_NB * nprocs + (int64_t)p * GEO_NB + l % GEO_NB;
}
/* Copies a(ia.., ja..) (m x n) into b(ib.., jb..) with PDGEMR2D (exact: a copy).
 * Collective over every rank of `all`, whose grid holds both. */
void geo_matrix_copy(const geo_grid *all, int64_t m, int64_t n, const geo_matrix *a, int64_t ia, int64_t ja,
                     geo_matrix *b, int64_t ib, int64_t jb);
/* Rank 0 gets the whole matrix, column-major m x n (allocated; others NULL). */
alq_err geo_matrix_gather(MPI_Comm comm, const geo_grid *all, const geo_matrix *a, double **out);

/* Rows per block of the covariance pass: fixed, so the sums do not depend on
 * the number of ranks (docs/design.md, "Embedding geometry"). */
enum { GEO_BLOCK_ROWS = 2048 };

/* Mean and covariance of a pool's embeddings (every row, or the sample),
 * the covariance distributed over `grid` (all ranks). */
typedef struct {
  int64_t n;      /* rows in the fit */
  int64_t dim;
  double *mean;   /* dim, on every rank */
  geo_matrix cov; /* dim x dim, divided by n - 1 */
  uint64_t ids_checksum; /* of the whole pool, from the streaming pass */
} geo_covariance;

/* Collective: one streaming pass over the source (its meta->dim columns). */
alq_err geo_covariance_pass(MPI_Comm comm, const geo_grid *grid, alq_source *src, const alq_fit_options *opt,
                            geo_covariance *out);
void geo_covariance_free(geo_covariance *c);

/* Collective: the covariance pass and PDSYEVD on the solver grid
 * (opt->grid_rows x grid_cols).  *w: every eigenvalue, ascending, on every
 * rank; *top: on rank 0, the eigenvectors of the k largest (d x k,
 * column-major, ascending order), NULL elsewhere; cov: as computed. */
alq_err geo_pca_solve(MPI_Comm comm, alq_source *src, const alq_fit_options *opt, int64_t k, geo_covariance *cov,
                      double **w, double **top);

/* Collective: after rank 0 checked its options and described the pool
 * (`prepared`, rank 0's status, agreed here), its options (`size` bytes at
 * `opts`) and pool shape `meta` on every rank: the start of alq project and
 * alq score (geometry/project_run.c, score_run.c). */
alq_err geo_share_options(MPI_Comm comm, alq_err prepared, void *opts, size_t size, alq_pool_meta *meta);

#endif
