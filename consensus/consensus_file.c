/* consensus/consensus_file.c: alq_consensus_write, the consensus labels of a
 * round state with their quality, for the final dataset. */
#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/consensus.h"
#include "alq/model.h"
#include "alq/paths.h"
#include "alq/source.h"

/* The model's probabilities of the answered items, from the pool's /probs or a head. */
static alq_err probabilities(const alq_consensus_options *o, const char *pool, const alq_answer_table *t,
                             int64_t *n_classes, float **probs) {
  alq_pool_meta meta;
  ALQ_CHECK(alq_pool_inspect(pool, &meta));
  if (o->model[0])
    ALQ_CHECK(alq_model_serves(o->model, o->mc_samples, &meta));
  else if (!meta.has_probs)
    return alq_error_set(ALQ_ERR_INPUT, "%s has no /probs: give --model (a head from alq train) to compute them",
                         pool);
  if (meta.n_classes < 2)
    return alq_error_set(ALQ_ERR_INPUT, "%s: needs at least 2 classes, got %lld", pool, (long long)meta.n_classes);
  alq_source *src = NULL;
  ALQ_CHECK(o->model[0] ? alq_source_open_model(MPI_COMM_SELF, &meta, o->model, o->mc_samples, 0, &src)
                        : alq_source_open(MPI_COMM_SELF, &meta, &src));
  alq_err err = alq_malloc(probs, sizeof(float) * meta.n_classes * (t->n_items ? t->n_items : 1), "probabilities");
  if (!err && t->n_items > 0) {
    alq_rows rows = {.probs = *probs};
    err = alq_source_fetch(src, t->ids, t->n_items, ALQ_FIELD_PROBS, &rows);
  }
  alq_source_close(src);
  *n_classes = meta.n_classes;
  return err;
}

static alq_err write_csv(const char *tmp, const char *path, const alq_answer_table *t, const alq_consensus *c) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", path, strerror(errno));
  int bad = fprintf(f, "id,label,quality,answers,agreement\n") < 0;
  for (int64_t i = 0; i < t->n_items && !bad; i++)
    bad = fprintf(f, "%lld,%d,%.9g,%d,%.9g\n", (long long)t->ids[i], c->label[i], c->quality[i], c->n_answers[i],
                  c->agreement[i]) < 0;
  if (fclose(f) != 0 || bad)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s: %s", path, strerror(errno));
  return ALQ_OK;
}

static void report(const alq_state *st, const int32_t *names, const alq_consensus *c) {
  fprintf(stderr, "alq consensus: %lld item(s), model weight %.4g%s\n", (long long)c->n_items, c->model_weight,
          c->weighed ? "" : " (no item has two answers: every weight 1)");
  for (int64_t a = 0; a < c->n_annotators; a++)
    fprintf(stderr, "  annotator %s: weight %.4g\n", st->annotators[names[a]], c->annotator_weight[a]);
}

alq_err alq_consensus_write(const alq_consensus_options *o) {
  alq_state st;
  ALQ_CHECK(alq_state_read(o->state, &st));
  alq_answer_table t = {0};
  int32_t *names = NULL;
  float *probs = NULL;
  int64_t K = 0;
  alq_consensus c = {0};
  alq_err err = alq_answer_table_from_state(&st, &t, &names);
  if (!err)
    err = probabilities(o, o->pool[0] ? o->pool : st.pool.path, &t, &K, &probs);
  if (!err && t.n_items == 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s has no answers yet: nothing to take a consensus of", o->state);
  if (!err)
    err = alq_consensus_compute(&t, probs, K, &c);
  char tmp[ALQ_PATH_MAX + 32];
  if (!err)
    err = alq_paths_temp(o->out, tmp, sizeof tmp);
  if (!err) {
    err = write_csv(tmp, o->out, &t, &c);
    const char *tmps[1] = {tmp}, *finals[1] = {o->out};
    if (err)
      alq_paths_discard(tmps, 1);
    else
      err = alq_paths_commit(tmps, finals, 1);
  }
  if (!err && !o->quiet)
    report(&st, names, &c);
  alq_consensus_free(&c);
  free(probs);
  free(names);
  alq_answer_table_free(&t);
  alq_state_free(&st);
  return err;
}
