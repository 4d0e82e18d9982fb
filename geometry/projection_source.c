/* geometry/projection_source.c: a pool source that serves projected
 * embeddings.
 *
 * The workers ask it for /embeddings as from any pool and get K columns: it
 * reads the d-column rows of the same ids from the inner source (which charges
 * the bytes), checks them and projects each row on its own with alq_dot, so a
 * projected row is a function of the row alone (not of the shard, the chunk
 * or the BLAS kernel).  Probabilities, ids and labels pass through untouched. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/logview.h"
#include "geometry_impl.h"

typedef struct {
  alq_source *inner;
  alq_projection proj;
  int64_t cap; /* rows the buffer holds */
  float *rows; /* cap x dim: the inner rows */
  float *tmp;  /* dim: a centred row */
} projection_source;

void alq_projection_apply(const alq_projection *p, const float *x, float *tmp, float *y) {
  for (int64_t i = 0; i < p->dim; i++)
    tmp[i] = x[i] - p->mean[i];
  alq_dot_rows(tmp, p->matrix, p->k, p->dim, y);
}

static alq_err reserve(projection_source *ps, int64_t rows) {
  if (rows <= ps->cap)
    return ALQ_OK;
  free(ps->rows);
  ps->rows = NULL;
  ps->cap = 0;
  ALQ_CHECK(alq_malloc_aligned(&ps->rows, sizeof(float) * rows * ps->proj.dim, "rows to project"));
  ps->cap = rows;
  return ALQ_OK;
}

static void project(projection_source *ps, int64_t count, float *out) {
  alq_phase_begin(ALQ_PHASE_SCORE);
  for (int64_t i = 0; i < count; i++)
    alq_projection_apply(&ps->proj, ps->rows + i * ps->proj.dim, ps->tmp, out + i * ps->proj.k);
  alq_log_flops(2 * count * ps->proj.k * ps->proj.dim);
  alq_phase_end(ALQ_PHASE_SCORE);
}

static alq_err projection_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  projection_source *ps = s->impl;
  /* A collective inner source must be called even by a rank that failed here. */
  alq_err err = reserve(ps, count > 0 ? count : 1);
  int64_t n = err ? 0 : count;
  int emb = (fields & ALQ_FIELD_EMBEDDINGS) != 0;
  alq_rows in = *dst; /* everything but the embeddings passes through */
  in.embeddings = emb ? ps->rows : NULL;
  alq_err e = alq_source_read(ps->inner, lo, n, fields, &in);
  err = err ? err : e;
  if (!err && emb)
    err = alq_rows_validate(&ps->inner->meta, &in, lo, n, ALQ_FIELD_EMBEDDINGS);
  if (!err && emb)
    project(ps, n, dst->embeddings);
  return err;
}

/* Rows fetched by id were also streamed (and validated) by the workers. */
static alq_err projection_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  projection_source *ps = s->impl;
  /* The inner fetch is collective: a rank that failed here still joins it. */
  alq_err err = reserve(ps, n > 0 ? n : 1);
  int emb = (fields & ALQ_FIELD_EMBEDDINGS) != 0;
  alq_rows in = *dst; /* everything but the embeddings passes through */
  in.embeddings = emb ? ps->rows : NULL;
  alq_err e = alq_source_fetch(ps->inner, ids, err ? 0 : n, fields, &in);
  ALQ_CHECK(err ? err : e);
  if (emb)
    project(ps, n, dst->embeddings);
  return ALQ_OK;
}

static void projection_close(alq_source *s) {
  projection_source *ps = s->impl;
  alq_source_close(ps->inner);
  alq_projection_free(&ps->proj);
  free(ps->rows);
  free(ps->tmp);
  free(ps);
  free(s);
}

static const alq_source_ops projection_ops = {
    .kind = "projection", .read = projection_read, .fetch = projection_fetch, .close = projection_close};

alq_err alq_source_with_projection(alq_source *inner, alq_projection *p, alq_source **out) {
  if (inner->meta.dim != p->dim)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /embeddings has %lld columns, but the projection expects %lld",
                         inner->meta.path, (long long)inner->meta.dim, (long long)p->dim);
  alq_source *s = NULL;
  projection_source *ps = NULL;
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "projection source"));
  alq_err err = alq_calloc(&ps, 1, sizeof *ps, "projection source");
  if (!err)
    err = alq_malloc_aligned(&ps->tmp, sizeof(float) * p->dim, "projection row");
  if (err) {
    free(ps);
    free(s);
    return err;
  }
  ps->inner = inner;
  ps->proj = *p;
  memset(p, 0, sizeof *p);
  s->ops = &projection_ops;
  s->meta = inner->meta;
  s->meta.dim = ps->proj.k;
  s->impl = ps;
  s->inner = inner;
  *out = s;
  return ALQ_OK;
}

alq_err alq_source_open_projected(MPI_Comm comm, const alq_pool_meta *pool_meta, alq_projection *p,
                                  alq_source **out) {
  *out = NULL;
  alq_source *inner = NULL;
  ALQ_CHECK(alq_agree(comm, alq_source_open(comm, pool_meta, &inner)));
  alq_err err = alq_agree(comm, alq_source_with_projection(inner, p, out));
  if (err)
    alq_source_close(inner);
  return err;
}
