/* model/model_source.c: a pool source that serves a model's outputs.
 *
 * The workers ask it for /probs and /embeddings as from any pool; it reads
 * the features of the same rows from the inner source (which charges the bytes
 * it reads), checks them, and computes the outputs (charged to the score
 * phase with their flops). */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/logview.h"
#include "alq/model.h"
#include "model_impl.h"

typedef struct {
  alq_source *inner;
  const alq_model *model;
  alq_apply_options apply;
  alq_model *owned; /* the model when the source loaded it itself, else NULL */
  int serves_features; /* 1: /embeddings are the standardised features z, nothing else is computed */
  int borrows_inner;   /* 1: closing does not close inner (alq_source_model_features) */
  int64_t cap; /* rows the buffers hold */
  float *features;
  int64_t *ids;
} model_source;

static alq_err reserve(model_source *ms, int64_t rows) {
  if (rows <= ms->cap)
    return ALQ_OK;
  free(ms->features);
  free(ms->ids);
  ms->features = NULL;
  ms->ids = NULL;
  ms->cap = 0;
  ALQ_CHECK(alq_malloc_aligned(&ms->features, sizeof(float) * rows * ms->model->dim, "model input features"));
  ALQ_CHECK(alq_malloc(&ms->ids, sizeof(int64_t) * rows, "model input ids"));
  ms->cap = rows;
  return ALQ_OK;
}

/* What the model computes: probabilities, embeddings and, for BALD, the mean
 * of the MC passes' entropies (alq_model_apply). */
#define MODEL_OUTPUTS (ALQ_FIELD_EMBEDDINGS | ALQ_FIELD_PROBS | ALQ_FIELD_EXPECTED_ENTROPY)

/* What to ask the inner source for: the features whenever an output is
 * wanted, and always the ids (dropout masks are hashed from them). */
static unsigned inner_fields(unsigned fields) {
  unsigned f = ALQ_FIELD_IDS | (fields & ALQ_FIELD_LABELS);
  if (fields & MODEL_OUTPUTS)
    f |= ALQ_FIELD_EMBEDDINGS;
  return f;
}

static alq_err compute(model_source *ms, int64_t count, unsigned fields, alq_rows *dst) {
  if (count == 0 || !(fields & MODEL_OUTPUTS))
    return ALQ_OK;
  if (ms->serves_features) {
    if (fields & ALQ_FIELD_EMBEDDINGS)
      alq_model_standardize(ms->model, count, ms->features, dst->embeddings);
    return ALQ_OK;
  }
  alq_phase_begin(ALQ_PHASE_SCORE);
  alq_err err = alq_model_apply(ms->model, &ms->apply, count, ms->features, ms->ids,
                                (fields & ALQ_FIELD_PROBS) ? dst->probs : NULL,
                                (fields & ALQ_FIELD_EMBEDDINGS) ? dst->embeddings : NULL,
                                (fields & ALQ_FIELD_EXPECTED_ENTROPY) ? dst->expected_entropy : NULL);
  alq_phase_end(ALQ_PHASE_SCORE);
  return err;
}

static alq_err model_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  model_source *ms = s->impl;
  /* A collective inner source must be called even by a rank that failed here. */
  alq_err err = reserve(ms, count > 0 ? count : 1);
  int64_t n = err ? 0 : count;
  alq_rows in = {ms->ids, ms->features, NULL, dst->labels, NULL, NULL, 0};
  alq_err e = alq_source_read(ms->inner, lo, n, inner_fields(fields), &in);
  err = err ? err : e;
  if (!err && (fields & MODEL_OUTPUTS))
    err = alq_rows_validate(&ms->inner->meta, &in, lo, n, ALQ_FIELD_EMBEDDINGS);
  if (!err)
    err = compute(ms, n, fields, dst);
  if (!err && (fields & ALQ_FIELD_IDS))
    memcpy(dst->ids, ms->ids, sizeof(int64_t) * n);
  return err;
}

/* Rows fetched by id were also streamed (and validated) by the workers. */
static alq_err model_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  model_source *ms = s->impl;
  /* The inner fetch is collective: a rank that failed here still joins it. */
  alq_err err = reserve(ms, n > 0 ? n : 1);
  alq_rows in = {ms->ids, ms->features, NULL, dst->labels, NULL, NULL, 0};
  alq_err e = alq_source_fetch(ms->inner, ids, err ? 0 : n, inner_fields(fields), &in);
  ALQ_CHECK(err ? err : e);
  ALQ_CHECK(compute(ms, n, fields, dst));
  if (fields & ALQ_FIELD_IDS)
    memcpy(dst->ids, ms->ids, sizeof(int64_t) * n);
  return ALQ_OK;
}

static void model_close(alq_source *s) {
  model_source *ms = s->impl;
  if (!ms->borrows_inner)
    alq_source_close(ms->inner);
  if (ms->owned) {
    alq_model_free(ms->owned);
    free(ms->owned);
  }
  free(ms->features);
  free(ms->ids);
  free(ms);
  free(s);
}

static const alq_source_ops model_ops = {.kind = "model", .read = model_read, .fetch = model_fetch, .close = model_close};

/* A source of model_ops over a copy of `init`, serving rows that `meta` describes. */
static alq_err make_source(const model_source *init, const alq_pool_meta *meta, alq_source **out) {
  alq_source *s = NULL;
  model_source *ms = NULL;
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "model source"));
  alq_err err = alq_calloc(&ms, 1, sizeof *ms, "model source");
  if (err) {
    free(s);
    return err;
  }
  *ms = *init;
  s->ops = &model_ops;
  s->meta = *meta;
  s->impl = ms;
  s->inner = init->inner;
  *out = s;
  return ALQ_OK;
}

alq_err alq_source_with_model(alq_source *inner, const alq_model *model, const alq_apply_options *ap,
                              alq_source **out) {
  if (inner->meta.dim != model->dim)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /embeddings has %lld columns, but the model expects %lld features",
                         inner->meta.path, (long long)inner->meta.dim, (long long)model->dim);
  if (ap->mc_samples > 0 && model->hidden == 0)
    return alq_error_set(ALQ_ERR_USAGE, "--mc-samples needs a model with dropout (an mlp), not logreg");
  alq_pool_meta meta = inner->meta;
  meta.dim = alq_model_embedding_dim(model);
  meta.n_classes = model->n_classes;
  meta.has_probs = 1;
  meta.mc_passes = ap->mc_samples; /* the passes behind its expected entropies */
  return make_source(&(model_source){.inner = inner, .model = model, .apply = *ap}, &meta, out);
}

alq_err alq_source_model_features(alq_source *src, alq_source **out) {
  *out = NULL;
  alq_source *found = src;
  while (found && found->ops != &model_ops)
    found = found->inner;
  if (!found)
    return ALQ_OK;
  const model_source *of = found->impl;
  alq_pool_meta meta = of->inner->meta;
  meta.dim = of->model->dim;
  meta.has_probs = 0;
  return make_source(&(model_source){.inner = of->inner, .model = of->model, .apply = of->apply,
                                     .serves_features = 1, .borrows_inner = 1},
                     &meta, out);
}

alq_err alq_model_serves(const char *model_path, int64_t mc_samples, alq_pool_meta *meta) {
  alq_model m;
  ALQ_CHECK(alq_model_load(model_path, &m));
  alq_err err = ALQ_OK;
  if (meta->dim != m.dim)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: /embeddings has %lld columns, but model %s expects %lld features",
                        meta->path, (long long)meta->dim, model_path, (long long)m.dim);
  else if (mc_samples > 0 && m.hidden == 0)
    err = alq_error_set(ALQ_ERR_USAGE, "--mc-samples needs a model with dropout (an mlp); %s is logreg", model_path);
  if (!err) {
    meta->dim = alq_model_embedding_dim(&m);
    meta->n_classes = m.n_classes;
    meta->has_probs = 1;
    meta->mc_passes = mc_samples;
  }
  alq_model_free(&m);
  return err;
}

alq_err alq_source_open_model(MPI_Comm comm, const alq_pool_meta *served, const char *model_path, int64_t mc_samples,
                              uint64_t seed, alq_source **out) {
  *out = NULL;
  alq_model *model = NULL;
  alq_err err = alq_calloc(&model, 1, sizeof *model, "model");
  if (!err)
    err = alq_model_load(model_path, model);
  err = alq_agree(comm, err);
  /* The pool as stored: the model's input features; /probs is not read. */
  alq_pool_meta input = *served;
  if (!err) {
    input.dim = model->dim;
    input.has_probs = 0;
    input.mc_passes = 0; /* nor /mc_probs: the model's own passes replace them */
  }
  alq_source *inner = NULL;
  if (!err)
    err = alq_agree(comm, alq_source_open(comm, &input, &inner));
  alq_apply_options ap = {seed, mc_samples};
  if (!err)
    err = alq_agree(comm, alq_source_with_model(inner, model, &ap, out));
  if (err) {
    alq_source_close(inner);
    if (model)
      alq_model_free(model);
    free(model);
    return err;
  }
  ((model_source *)(*out)->impl)->owned = model;
  return ALQ_OK;
}
