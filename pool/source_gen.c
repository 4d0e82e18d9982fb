/* pool/source_gen.c: the `gen:` source: a synthetic pool computed row by row
 * (alq/gen.h), so any rank produces any row range and a pool of 10^9 items
 * needs no disk.  Rows equal those `alq gen` writes for the same parameters.
 * The source keeps one alq_gen_model, so a single-row fetch costs one row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/gen.h"
#include "alq/source.h"
#include "source_impl.h"

static alq_err parse_spec(const char *spec, alq_gen_params *p) {
  memset(p, 0, sizeof *p);
  p->dim = 64;
  p->n_classes = 10;
  p->imbalance = 1.0;
  int have_items = 0;
  char buf[1024];
  if (strlen(spec) >= sizeof buf)
    return alq_error_set(ALQ_ERR_USAGE, "pool spec '%.40s...' is too long", spec);
  strcpy(buf, spec + 4);
  for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(kv, '=');
    if (!eq)
      return alq_error_set(ALQ_ERR_USAGE, "pool spec %s: '%s' is not key=value", spec, kv);
    *eq = '\0';
    const char *key = kv, *val = eq + 1;
    char *end = NULL;
    if (strcmp(key, "imbalance") == 0) {
      p->imbalance = strtod(val, &end);
    } else {
      long long v = strtoll(val, &end, 10);
      if (strcmp(key, "items") == 0)
        p->n_items = v, have_items = 1;
      else if (strcmp(key, "dim") == 0)
        p->dim = v;
      else if (strcmp(key, "classes") == 0)
        p->n_classes = v;
      else if (strcmp(key, "seed") == 0)
        p->seed = (uint64_t)v;
      else
        return alq_error_set(ALQ_ERR_USAGE, "pool spec %s: unknown key '%s' (items, dim, classes, imbalance, seed)",
                             spec, key);
    }
    if (!end || end == val || *end != '\0')
      return alq_error_set(ALQ_ERR_USAGE, "pool spec %s: %s=%s is not a number", spec, key, val);
  }
  if (!have_items)
    return alq_error_set(ALQ_ERR_USAGE, "pool spec %s needs items=N", spec);
  return alq_gen_params_check(p);
}

alq_err alq_gen_source_describe(const char *spec, alq_pool_meta *meta) {
  memset(meta, 0, sizeof *meta);
  if (strlen(spec) >= sizeof meta->path)
    return alq_error_set(ALQ_ERR_USAGE, "pool spec is longer than %d bytes", ALQ_PATH_MAX - 1);
  alq_gen_params p;
  ALQ_CHECK(parse_spec(spec, &p));
  strcpy(meta->path, spec);
  meta->n_items = p.n_items;
  meta->dim = p.dim;
  meta->n_classes = p.n_classes;
  meta->has_probs = 1;
  meta->has_labels = 1;
  meta->chunk_rows = 1;
  return ALQ_OK;
}

static alq_err gen_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  alq_gen_model *model = s->impl;
  for (int64_t i = 0; i < count && (fields & ALQ_FIELD_IDS); i++)
    dst->ids[i] = lo + i;
  if (count == 0)
    return ALQ_OK;
  return alq_gen_model_rows(model, lo, count, (fields & ALQ_FIELD_EMBEDDINGS) ? dst->embeddings : NULL,
                      (fields & ALQ_FIELD_PROBS) ? dst->probs : NULL, (fields & ALQ_FIELD_LABELS) ? dst->labels : NULL);
}

static alq_err gen_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  const alq_pool_meta *m = &s->meta;
  for (int64_t i = 0; i < n; i++) {
    if (ids[i] < 0 || ids[i] >= m->n_items)
      return alq_error_set(ALQ_ERR_INPUT, "id %lld is not an item of pool %s (ids are 0..%lld)", (long long)ids[i],
                           m->path, (long long)m->n_items - 1);
    alq_rows one = {dst->ids ? dst->ids + i : NULL, dst->embeddings ? dst->embeddings + i * m->dim : NULL,
                    dst->probs ? dst->probs + i * m->n_classes : NULL, dst->labels ? dst->labels + i : NULL, NULL, NULL, 0};
    ALQ_CHECK(gen_read(s, ids[i], 1, fields, &one));
  }
  return ALQ_OK;
}

static void gen_close(alq_source *s) {
  alq_gen_model_free(s->impl);
  free(s);
}

static const alq_source_ops gen_ops = {
    .kind = "gen", .read = gen_read, .fetch = gen_fetch, .close = gen_close, .fetch_is_cheap = 1};

alq_err alq_gen_source_open(const alq_pool_meta *meta, alq_source **out) {
  alq_source *s = NULL;
  alq_gen_params p;
  ALQ_CHECK(parse_spec(meta->path, &p));
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "gen source"));
  /* One model for the source's life: the class means once, not per read. */
  alq_gen_model *model = NULL;
  alq_err err = alq_gen_model_create(&p, &model);
  if (err) {
    free(s);
    return err;
  }
  s->ops = &gen_ops;
  s->meta = *meta;
  s->impl = model;
  *out = s;
  return ALQ_OK;
}
