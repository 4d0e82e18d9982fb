/* api/simulate.c: alq_api_simulate, `alq simulate` from a binding: the same
 * options (alq/simulate.h), parsed on rank 0 and broadcast as the command
 * does, and the curve returned in flat arrays besides the optional files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/paths.h"
#include "alq/select.h"
#include "alq/simulate.h"
#include "alq/strategy.h"
#include "api_impl.h"

static alq_err path_option(const char *key, const char *value, char *dst, size_t size) {
  if (strlen(value) >= size)
    return alq_error_set(ALQ_ERR_USAGE, "--%s path is longer than %zu bytes", key, size - 1);
  if (!value[0])
    return alq_error_set(ALQ_ERR_USAGE, "--%s needs a non-empty path", key);
  strcpy(dst, value);
  return ALQ_OK;
}

typedef struct {
  alq_simulate_options *o;
  int subpool, have_batch, have_rounds;
  unsigned ood_given;
} simulate_parse;

/* First pass: the head's kind, whose defaults the other options override. */
static alq_err kind_option(void *ctx, const char *key, const char *value) {
  alq_model_kind *kind = ctx;
  if (strcmp(key, "model") == 0 && !(value && (*kind = alq_model_kind_parse(value))))
    return alq_error_set(ALQ_ERR_USAGE, "--model must be logreg or mlp, got '%s'", value ? value : "");
  return ALQ_OK;
}

static alq_err head_option(const char *key, const char *v, alq_train_options *t, int *taken) {
  *taken = 1;
  if (strcmp(key, "model") == 0)
    return ALQ_OK; /* the first pass took it */
  if (strcmp(key, "class-weights") == 0)
    return alq_api_option_flag(key, v, &t->class_weights);
  if (!v && (!strcmp(key, "hidden") || !strcmp(key, "dropout") || !strcmp(key, "l2") || !strcmp(key, "lr") ||
             !strcmp(key, "epochs")))
    return alq_error_set(ALQ_ERR_USAGE, "option '%s' needs a value (%s=...)", key, key);
  if (strcmp(key, "hidden") == 0)
    return alq_api_option_int(key, v, 1, 100000, &t->hidden);
  if (strcmp(key, "dropout") == 0)
    return alq_api_option_double(key, v, 0, 0.95, &t->dropout);
  if (strcmp(key, "l2") == 0)
    return alq_api_option_double(key, v, 0, 1e6, &t->l2);
  if (strcmp(key, "lr") == 0)
    return alq_api_option_double(key, v, 1e-9, 10, &t->lr);
  if (strcmp(key, "epochs") == 0)
    return alq_api_option_int(key, v, 1, 10000000, &t->epochs);
  *taken = 0;
  return ALQ_OK;
}

static alq_err simulate_option(void *ctx, const char *key, const char *v) {
  simulate_parse *sp = ctx;
  alq_simulate_options *o = sp->o;
  static const char *const subpools[] = {"all", "anchoral"};
  int taken = 0;
  ALQ_CHECK(head_option(key, v, &o->train, &taken));
  if (!taken)
    ALQ_CHECK(alq_api_ood_option(key, v, &o->ood, &sp->ood_given, &taken));
  if (taken)
    return ALQ_OK;
  if (strcmp(key, "quiet") == 0)
    return alq_api_option_flag(key, v, &o->quiet);
  if (!v)
    return alq_error_set(ALQ_ERR_USAGE, "option '%s' needs a value (%s=...)", key, key);
  if (strcmp(key, "pool") == 0)
    return path_option(key, v, o->pool, sizeof o->pool);
  if (strcmp(key, "out") == 0)
    return path_option(key, v, o->out, sizeof o->out);
  if (strcmp(key, "plot") == 0)
    return path_option(key, v, o->plot, sizeof o->plot);
  if (strcmp(key, "confusion") == 0)
    return path_option(key, v, o->confusion, sizeof o->confusion);
  if (strcmp(key, "strategy") == 0)
    return alq_simulate_parse_strategies(v, o);
  if (strcmp(key, "batch") == 0) {
    sp->have_batch = 1;
    return alq_api_option_int(key, v, 1, INT32_MAX, &o->batch);
  }
  if (strcmp(key, "rounds") == 0) {
    sp->have_rounds = 1;
    return alq_api_option_int(key, v, 0, 100000, &o->rounds);
  }
  if (strcmp(key, "initial") == 0)
    return alq_api_option_int(key, v, 1, INT32_MAX, &o->initial);
  if (strcmp(key, "seeds") == 0)
    return alq_api_option_int(key, v, 1, 100000, &o->seeds);
  if (strcmp(key, "seed") == 0)
    return alq_api_option_seed(v, &o->seed);
  if (strcmp(key, "test-fraction") == 0)
    return alq_api_option_double(key, v, 0.01, 0.9, &o->test_fraction);
  if (strcmp(key, "subpool") == 0)
    return alq_api_option_choice(key, v, subpools, 2, &sp->subpool);
  if (strcmp(key, "mc-samples") == 0)
    return alq_api_option_int(key, v, 0, 10000, &o->mc_samples);
  if (strcmp(key, "annotators") == 0)
    return alq_api_option_int(key, v, 1, 1000000, &o->annotators);
  if (strcmp(key, "annotator-noise") == 0)
    return alq_api_option_double(key, v, 0, 1, &o->annotator_noise);
  return alq_error_set(ALQ_ERR_USAGE, "option '%s' is unknown (alq simulate --help lists the options)", key);
}

/* Rank 0: the options as `alq simulate` parses and checks them, except that
 * out= is optional (the curve is returned). */
static alq_err parse(const char *text, alq_simulate_options *o) {
  alq_model_kind kind = 0;
  ALQ_CHECK(alq_api_options_each(text, kind_option, &kind));
  alq_simulate_options_default(kind ? kind : ALQ_MODEL_LOGREG, o);
  simulate_parse sp = {o, ALQ_SUBPOOL_ALL, 0, 0, 0};
  ALQ_CHECK(alq_api_options_each(text, simulate_option, &sp));
  ALQ_CHECK(alq_ood_check_options(&o->ood, sp.ood_given));
  if (!o->pool[0] || !o->n_strategies || !sp.have_batch || !sp.have_rounds)
    return alq_error_set(ALQ_ERR_USAGE, "the simulation needs pool=, strategy=, batch= and rounds=");
  for (int k = 0; k < o->n_strategies && sp.subpool == ALQ_SUBPOOL_ANCHORAL; k++)
    o->subpools[k] = ALQ_SUBPOOL_ANCHORAL;
  ALQ_CHECK(alq_simulate_check(o));
  const alq_path_use paths[] = {{"--pool", strncmp(o->pool, "gen:", 4) ? o->pool : NULL, ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT},
                                {"--plot", o->plot, ALQ_PATH_OUTPUT},
                                {"--confusion", o->confusion, ALQ_PATH_INPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

static alq_err curve_copy(const alq_curve *c, alq_api_curve *out) {
  int64_t n = c->n ? c->n : 1;
  memset(out, 0, sizeof *out);
  ALQ_CHECK(alq_calloc(&out->strategy, n, ALQ_API_NAME_MAX, "curve"));
  ALQ_CHECK(alq_malloc(&out->seed, sizeof(uint64_t) * n, "curve"));
  ALQ_CHECK(alq_malloc(&out->round, sizeof(int64_t) * n * 3, "curve"));
  ALQ_CHECK(alq_malloc(&out->accuracy, sizeof(double) * n * 5, "curve"));
  out->labeled = out->round + n;
  out->items = out->round + 2 * n;
  out->macro_f1 = out->accuracy + n;
  out->rare_recall = out->accuracy + 2 * n;
  out->train_seconds = out->accuracy + 3 * n;
  out->select_seconds = out->accuracy + 4 * n;
  for (int64_t i = 0; i < c->n; i++) {
    const alq_curve_point *p = &c->points[i];
    snprintf(out->strategy + i * ALQ_API_NAME_MAX, ALQ_API_NAME_MAX, "%s", p->strategy);
    out->seed[i] = p->seed;
    out->round[i] = p->round;
    out->labeled[i] = p->labeled;
    out->items[i] = p->items;
    out->accuracy[i] = p->accuracy;
    out->macro_f1[i] = p->macro_f1;
    out->rare_recall[i] = p->rare_recall;
    out->train_seconds[i] = p->train_seconds;
    out->select_seconds[i] = p->select_seconds;
  }
  out->n = c->n;
  return ALQ_OK;
}

static alq_err simulate(MPI_Comm comm, const char *options, alq_api_curve *out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_simulate_options o;
  memset(&o, 0, sizeof o);
  ALQ_CHECK(alq_agree(comm, rank == 0 ? parse(options, &o) : ALQ_OK));
  /* The options are plain data, the same library on every rank. */
  ALQ_CHECK(alq_bcast(&o, sizeof o, 0, comm));
  alq_curve curve = {0};
  ALQ_CHECK(alq_simulate(comm, &o, &curve));
  alq_err err = alq_agree(comm, rank == 0 ? alq_simulate_write(&o, &curve) : ALQ_OK);
  if (!err)
    err = alq_agree(comm, rank == 0 ? curve_copy(&curve, out) : ALQ_OK);
  alq_curve_free(&curve);
  if (err)
    alq_api_curve_free(out);
  return err;
}

int alq_api_simulate(MPI_Fint comm, const char *options, alq_api_curve *out, char *err, size_t errlen) {
  alq_error_clear();
  memset(out, 0, sizeof *out);
  int ready = 0;
  MPI_Initialized(&ready);
  alq_err e = ready ? simulate(MPI_Comm_f2c(comm), options, out)
                    : alq_error_set(ALQ_ERR_USAGE, "MPI is not initialised: call alq_api_init (or MPI_Init) first");
  if (err && errlen)
    snprintf(err, errlen, "%s", e ? alq_error_message() : "");
  return (int)e;
}

void alq_api_curve_free(alq_api_curve *curve) {
  if (!curve)
    return;
  free(curve->strategy);
  free(curve->seed);
  free(curve->round);
  free(curve->accuracy);
  memset(curve, 0, sizeof *curve);
}
