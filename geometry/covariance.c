/* geometry/covariance.c: the mean and covariance of a pool's embeddings in one
 * streaming pass, the same to the last bit at any number of ranks.
 *
 * The rows are cut into fixed global blocks of GEO_BLOCK_ROWS.  Blocks are
 * dealt cyclically: in round t rank r streams block t P + r, so a round's
 * blocks are consecutive.  A block's Gram matrix (rows shifted by a fixed
 * reference point, float64) is one DSYRK call, the same call whoever makes it;
 * its tiles go to their owners on the 2-D block-cyclic grid of all ranks, and
 * each owner adds the round's blocks in block order.  The sum is therefore the
 * left fold B_0 + B_1 + ... in block order at any P, and no rank ever holds
 * the sum whole.  The shift (block 0's mean) keeps the one-pass formula
 * S - s s^T / n from cancelling when the data sit far from the origin. */
#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/hash.h"
#include "alq/worker.h"
#include "geometry_impl.h"
#include "scalapack.h"

typedef struct {
  int64_t dim;
  const double *shift; /* NULL: the shift pre-pass, which only sums */
  double threshold;    /* rows with alq_hash_unit < threshold enter (>= 1: every row) */
  uint64_t seed;
  double *rows;        /* the block's entering rows minus the shift, GEO_BLOCK_ROWS x dim */
  int64_t count;
  double *sum;         /* dim: sum of the entering rows minus the shift, in row order */
} block_ctx;

static alq_err take_rows(void *p, const alq_chunk_view *chunk) {
  block_ctx *b = p;
  const float *x = chunk->rows->embeddings;
  for (int64_t i = 0; i < chunk->count; i++, x += b->dim) {
    if (b->threshold < 1.0 && !(alq_hash_unit(b->seed, (uint64_t)chunk->rows->ids[i], ALQ_PURPOSE_FIT_SAMPLE) < b->threshold))
      continue;
    double *row = b->rows ? b->rows + b->count * b->dim : NULL;
    for (int64_t k = 0; k < b->dim; k++) {
      double v = (double)x[k] - (b->shift ? b->shift[k] : 0.0);
      b->sum[k] += v;
      if (row)
        row[k] = v;
    }
    b->count++;
  }
  return ALQ_OK;
}

static alq_err stream_range(MPI_Comm comm, alq_source *src, int64_t chunk_rows, alq_range shard, block_ctx *b,
                            uint64_t *checksum) {
  alq_stream_request req = {comm, &src->meta, src, shard, 1, chunk_rows, ALQ_FIELD_EMBEDDINGS, NULL, 0, 0, NULL};
  alq_stream_result res;
  ALQ_CHECK(alq_worker_stream(&req, take_rows, b, &res));
  free(res.labeled_found);
  if (checksum)
    *checksum += res.ids_checksum;
  return ALQ_OK;
}

/* The reference point: the mean of block 0's rows (all of them), on every rank. */
static alq_err shift_point(MPI_Comm comm, alq_source *src, int64_t chunk_rows, double *shift) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t n0 = src->meta.n_items < GEO_BLOCK_ROWS ? src->meta.n_items : GEO_BLOCK_ROWS;
  block_ctx b = {src->meta.dim, NULL, 2.0, 0, NULL, 0, shift};
  memset(shift, 0, sizeof(double) * src->meta.dim);
  alq_range shard = rank == 0 ? (alq_range){0, n0} : (alq_range){n0, n0};
  ALQ_CHECK(stream_range(comm, src, chunk_rows, shard, &b, NULL));
  for (int64_t k = 0; rank == 0 && k < src->meta.dim; k++)
    shift[k] /= (double)b.count;
  return alq_bcast(shift, sizeof(double) * src->meta.dim, 0, comm);
}

/* Packs the symmetric block Gram g (d x d, column-major) for grid process
 * (pr, pc) in its local column-major layout. */
static void pack_tiles(const double *g, int64_t d, const geo_grid *grid, int pr, int pc, int64_t mr, int64_t mc,
                       double *out) {
  for (int64_t lj = 0; lj < mc; lj++) {
    int64_t gj = geo_global_index(lj, pc, grid->npcol);
    for (int64_t li = 0; li < mr; li++)
      out[li + lj * mr] = g[geo_global_index(li, pr, grid->nprow) + gj * d];
  }
}

typedef struct {
  double *gram;           /* d x d */
  double *send, *recv;
  int64_t *scount, *sdispl, *rcount, *rdispl; /* bytes, per rank */
  int64_t *mr, *mc;       /* each grid process's local rows and columns */
  double *mine, *sums;    /* this rank's block sum and row count (d + 1); every rank's (P x (d + 1)) */
} round_buffers;

static alq_err buffers_alloc(const geo_grid *grid, int size, int64_t d, const geo_matrix *cov, round_buffers *rb) {
  memset(rb, 0, sizeof *rb);
  ALQ_CHECK(alq_malloc_aligned(&rb->gram, sizeof(double) * d * d, "block Gram matrix"));
  ALQ_CHECK(alq_malloc(&rb->send, sizeof(double) * d * d, "Gram tiles to send"));
  ALQ_CHECK(alq_malloc(&rb->recv, sizeof(double) * (size_t)size * (cov->lrows * cov->lcols + 1), "Gram tiles received"));
  ALQ_CHECK(alq_calloc(&rb->scount, 6 * (size_t)size, sizeof(int64_t), "tile counts"));
  rb->sdispl = rb->scount + size;
  rb->rcount = rb->scount + 2 * size;
  rb->rdispl = rb->scount + 3 * size;
  rb->mr = rb->scount + 4 * size;
  rb->mc = rb->scount + 5 * size;
  ALQ_CHECK(alq_malloc(&rb->mine, sizeof(double) * (size + 1) * (d + 1), "block sums"));
  rb->sums = rb->mine + d + 1;
  int zero = 0, n = (int)d, nb = GEO_NB;
  for (int q = 0; q < size; q++) {
    int pr = q / grid->npcol, pc = q % grid->npcol;
    rb->mr[q] = numroc_(&n, &nb, &pr, &zero, &grid->nprow);
    rb->mc[q] = numroc_(&n, &nb, &pc, &zero, &grid->npcol);
  }
  return ALQ_OK;
}

static void buffers_free(round_buffers *rb) {
  free(rb->gram);
  free(rb->send);
  free(rb->recv);
  free(rb->scount);
  free(rb->mine);
}

/* This rank's block: DSYRK of its rows into gram, mirrored to both triangles. */
static void block_gram(const block_ctx *b, double *gram) {
  int64_t d = b->dim;
  cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, (int)d, (int)b->count, 1.0, b->rows, (int)d, 0.0, gram, (int)d);
  for (int64_t j = 0; j < d; j++)
    for (int64_t i = j + 1; i < d; i++)
      gram[i + j * d] = gram[j + i * d];
}

/* One round: rank r streamed block t P + r (b->count rows, maybe none); every
 * owner adds the blocks' tiles in rank (= block) order, and every rank adds
 * the blocks' sums in the same order. */
static alq_err exchange_round(MPI_Comm comm, const geo_grid *grid, int size, const block_ctx *b, round_buffers *rb,
                              geo_covariance *out, double *sum) {
  int64_t d = b->dim;
  int have = b->count > 0;
  memcpy(rb->mine, b->sum, sizeof(double) * d);
  rb->mine[d] = (double)b->count;
  ALQ_CHECK(alq_allgather_bytes(rb->mine, sizeof(double) * (d + 1), rb->sums, comm));
  int64_t off = 0;
  for (int q = 0; q < size; q++) {
    rb->sdispl[q] = off * (int64_t)sizeof(double);
    rb->scount[q] = have ? rb->mr[q] * rb->mc[q] * (int64_t)sizeof(double) : 0;
    if (have)
      pack_tiles(rb->gram, d, grid, q / grid->npcol, q % grid->npcol, rb->mr[q], rb->mc[q], rb->send + off);
    off += have ? rb->mr[q] * rb->mc[q] : 0;
  }
  int64_t mysize = out->cov.lrows * out->cov.lcols;
  for (int r = 0; r < size; r++) {
    rb->rcount[r] = rb->sums[(size_t)r * (d + 1) + d] > 0 ? mysize * (int64_t)sizeof(double) : 0;
    rb->rdispl[r] = (int64_t)r * mysize * (int64_t)sizeof(double);
  }
  ALQ_CHECK(alq_alltoallv_bytes(rb->send, rb->scount, rb->sdispl, rb->recv, rb->rcount, rb->rdispl, comm));
  for (int r = 0; r < size; r++) {
    const double *s = rb->sums + (size_t)r * (d + 1);
    if (s[d] == 0)
      continue; /* a block without rows adds nothing, at any P */
    for (int64_t k = 0; k < d; k++)
      sum[k] += s[k];
    out->n += (int64_t)s[d];
    const double *tiles = rb->recv + (size_t)r * mysize;
    for (int64_t i = 0; i < mysize; i++)
      out->cov.local[i] += tiles[i];
  }
  return ALQ_OK;
}

/* cov = (S - s s^T / n) / (n - 1) on the local tiles; mean = shift + s / n. */
static void finish(const geo_grid *grid, const double *shift, const double *sum, geo_covariance *out) {
  double n = (double)out->n;
  for (int64_t lj = 0; lj < out->cov.lcols; lj++) {
    int64_t gj = geo_global_index(lj, grid->mycol, grid->npcol);
    for (int64_t li = 0; li < out->cov.lrows; li++) {
      int64_t gi = geo_global_index(li, grid->myrow, grid->nprow);
      double *c = &out->cov.local[li + lj * out->cov.lrows];
      *c = (*c - sum[gi] * sum[gj] / n) / (n - 1.0);
    }
  }
  for (int64_t k = 0; k < out->dim; k++)
    out->mean[k] = shift[k] + sum[k] / n;
}

alq_err geo_covariance_pass(MPI_Comm comm, const geo_grid *grid, alq_source *src, const alq_fit_options *opt,
                            geo_covariance *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(out, 0, sizeof *out);
  int64_t N = src->meta.n_items, d = src->meta.dim;
  out->dim = d;
  int64_t chunk = opt->chunk_rows > 0 ? opt->chunk_rows : alq_default_chunk_rows(&src->meta);
  double *shift = NULL, *sum = NULL;
  block_ctx b = {d, NULL, opt->sample > 0 ? (double)opt->sample / (double)N : 2.0, opt->seed, NULL, 0, NULL};
  round_buffers rb;
  memset(&rb, 0, sizeof rb);
  alq_err err = alq_malloc(&out->mean, sizeof(double) * d, "mean");
  if (!err)
    err = alq_calloc(&shift, 2 * (size_t)d, sizeof(double), "shift and sums");
  if (!err)
    err = alq_calloc(&b.sum, (size_t)d, sizeof(double), "block sum");
  if (!err)
    err = alq_malloc_aligned(&b.rows, sizeof(double) * GEO_BLOCK_ROWS * d, "covariance block rows");
  if (!err)
    err = geo_matrix_alloc(grid, d, d, &out->cov);
  if (!err)
    err = buffers_alloc(grid, size, d, &out->cov, &rb);
  err = alq_agree(comm, err);
  if (!err) {
    sum = shift + d;
    err = shift_point(comm, src, chunk, shift);
  }
  b.shift = shift;
  int64_t blocks = (N + GEO_BLOCK_ROWS - 1) / GEO_BLOCK_ROWS, rounds = (blocks + size - 1) / size;
  for (int64_t t = 0; !err && t < rounds; t++) {
    int64_t j = t * size + rank, lo = j * GEO_BLOCK_ROWS, hi = lo + GEO_BLOCK_ROWS;
    alq_range shard = j < blocks ? (alq_range){lo, hi < N ? hi : N} : (alq_range){N, N};
    b.count = 0;
    memset(b.sum, 0, sizeof(double) * d);
    err = stream_range(comm, src, chunk, shard, &b, &out->ids_checksum);
    if (!err && b.count > 0)
      block_gram(&b, rb.gram);
    if (!err)
      err = exchange_round(comm, grid, size, &b, &rb, out, sum);
  }
  if (!err && out->n < 2)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: the covariance needs at least 2 rows, the fit read %lld%s",
                        src->meta.path, (long long)out->n, opt->sample > 0 ? " (raise --fit-sample)" : "");
  err = alq_agree(comm, err);
  if (!err)
    finish(grid, shift, sum, out);
  buffers_free(&rb);
  free(b.rows);
  free(b.sum);
  free(shift);
  if (err)
    geo_covariance_free(out);
  return err;
}

void geo_covariance_free(geo_covariance *c) {
  free(c->mean);
  geo_matrix_free(&c->cov);
  memset(c, 0, sizeof *c);
}
