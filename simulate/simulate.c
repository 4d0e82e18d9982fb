/* simulate/simulate.c: alq_simulate, the loop over seeds, strategies and rounds. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/select.h"
#include "sim.h"

void alq_simulate_options_default(alq_model_kind kind, alq_simulate_options *o) {
  memset(o, 0, sizeof *o);
  o->initial = 20;
  o->seeds = 5;
  o->test_fraction = 0.2;
  alq_train_options_default(kind, &o->train);
}

alq_err alq_simulate_check(const alq_simulate_options *o) {
  if (o->n_strategies < 1 || o->n_strategies > ALQ_SIMULATE_MAX_STRATEGIES)
    return alq_error_set(ALQ_ERR_USAGE, "simulate needs 1 to %d strategies, got %d", ALQ_SIMULATE_MAX_STRATEGIES,
                         o->n_strategies);
  for (int k = 0; k < o->n_strategies; k++)
    if (!alq_strategy_find(o->strategies[k]))
      return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", o->strategies[k]);
  if (o->batch < 1 || o->rounds < 0 || o->initial < 1 || o->seeds < 1)
    return alq_error_set(ALQ_ERR_USAGE, "simulate needs batch >= 1, rounds >= 0, initial >= 1 and seeds >= 1");
  if (!(o->test_fraction >= 0.01 && o->test_fraction <= 0.9))
    return alq_error_set(ALQ_ERR_USAGE, "test fraction %g is outside [0.01, 0.9]", o->test_fraction);
  if (o->mc_samples > 0 && o->train.kind != ALQ_MODEL_MLP)
    return alq_error_set(ALQ_ERR_USAGE, "--mc-samples needs --model mlp (dropout)");
  if (o->annotators < 0 || o->annotators > INT32_MAX || !(o->annotator_noise >= 0 && o->annotator_noise <= 1))
    return alq_error_set(ALQ_ERR_USAGE, "annotators must be >= 0 and the annotator noise in [0, 1], got %lld and %g",
                         (long long)o->annotators, o->annotator_noise);
  if (o->annotators == 0 && (o->annotator_noise > 0 || o->confusion[0]))
    return alq_error_set(ALQ_ERR_USAGE, "--annotator-noise and --confusion need --annotators A");
  return ALQ_OK;
}

void alq_curve_free(alq_curve *c) {
  free(c->points);
  memset(c, 0, sizeof *c);
}

static alq_err copy_labeled(const alq_labeled *src, alq_labeled *dst) {
  dst->n = src->n;
  ALQ_CHECK(alq_malloc(&dst->ids, sizeof(int64_t) * (src->n ? src->n : 1), "labeled ids"));
  ALQ_CHECK(alq_malloc(&dst->labels, sizeof(int32_t) * (src->n ? src->n : 1), "labeled labels"));
  memcpy(dst->ids, src->ids, sizeof(int64_t) * src->n);
  memcpy(dst->labels, src->labels, sizeof(int32_t) * src->n);
  return ALQ_OK;
}

/* Rank 0's record of every round, and the progress line. */
typedef struct {
  alq_curve_point *points;
  int64_t n, cap, total;
  double started, last_note;
  int quiet;
} recorder;

static alq_err record(recorder *rec, const alq_curve_point *p) {
  if (rec->n == rec->cap) {
    int64_t cap = rec->cap ? 2 * rec->cap : 256;
    alq_curve_point *np = realloc(rec->points, sizeof *np * cap);
    if (!np)
      return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the curve to %lld points", (long long)cap);
    rec->points = np;
    rec->cap = cap;
  }
  rec->points[rec->n++] = *p;
  double now = MPI_Wtime();
  if (!rec->quiet && (now - rec->last_note >= 5 || rec->n == rec->total)) {
    double elapsed = now - rec->started, eta = elapsed / (double)rec->n * (double)(rec->total - rec->n);
    fprintf(stderr, "alq simulate: %lld/%lld rounds (%s seed %llu round %lld: accuracy %.4f), %.0f s elapsed, ETA %.0f s\n",
            (long long)rec->n, (long long)rec->total, p->strategy, (unsigned long long)p->seed, (long long)p->round,
            p->accuracy, elapsed, eta);
    rec->last_note = now;
  }
  return ALQ_OK;
}

static alq_err run_strategy(MPI_Comm comm, const alq_simulate_options *o, const sim_dataset *d, const sim_split *s,
                            int which, uint64_t seed, recorder *rec) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_labeled labeled = {0};
  alq_answer_table answers = {0}, *noisy = o->annotators > 0 ? &answers : NULL;
  alq_err err = alq_agree(comm, copy_labeled(&s->initial, &labeled));
  if (!err && noisy) /* the initial items are answered by the annotators too */
    err = alq_agree(comm, sim_annotate(o, d, seed, labeled.ids, labeled.n, noisy));
  for (int64_t i = 0; !err && noisy && i < labeled.n; i++)
    labeled.labels[i] = answers.labels[answers.offsets[i]];
  int64_t spent = labeled.n;
  /* A strategy that scores labeled items (activelab) scores them, and takes
   * their consensus, by out-of-sample probabilities (oos.c); for the others
   * every item has one answer and the consensus is that answer. */
  const int oos_needed = noisy && (alq_strategy_find(o->strategies[which])->needs & ALQ_NEEDS_ANSWERS) &&
                         o->subpools[which] != ALQ_SUBPOOL_ANCHORAL;
  for (int64_t round = 0; !err && round <= o->rounds; round++) {
    alq_curve_point p = {.seed = seed, .round = round, .labeled = spent, .items = labeled.n};
    snprintf(p.strategy, sizeof p.strategy, "%s%s", o->subpools[which] == ALQ_SUBPOOL_ANCHORAL ? "anchoral+" : "",
             o->strategies[which]);
    alq_model model = {0};
    double t0 = MPI_Wtime();
    err = sim_train(comm, o, d, s, &labeled, &model);
    p.train_seconds = MPI_Wtime() - t0;
    alq_metrics m;
    if (!err)
      err = sim_evaluate(comm, o, d, s, &model, seed, &m);
    if (!err && round < o->rounds) {
      alq_batch batch = {0};
      sim_oos oos = {0};
      t0 = MPI_Wtime();
      if (oos_needed) /* training time: five more models */
        err = sim_oos_probs(comm, o, d, s, seed, &labeled, &model, &oos);
      p.train_seconds += MPI_Wtime() - t0;
      t0 = MPI_Wtime();
      if (!err)
        err = sim_select(comm, o, d, s, which, &model, seed, &labeled, noisy, oos_needed ? &oos : NULL, &batch);
      p.select_seconds = MPI_Wtime() - t0;
      spent += batch.n;
      if (!err && !noisy)
        err = alq_agree(comm, sim_reveal(d, &batch, &labeled));
      if (!err && noisy)
        err = alq_agree(comm, sim_annotate(o, d, seed, batch.ids, batch.n, noisy));
      if (!err && noisy)
        err = alq_agree(comm, sim_consensus_labels(o, d, &model, seed, noisy, oos_needed ? &oos : NULL, &labeled));
      alq_batch_free(&batch);
      sim_oos_free(&oos);
    }
    alq_model_free(&model);
    if (!err) {
      p.accuracy = m.accuracy, p.macro_f1 = m.macro_f1, p.rare_recall = m.rare_recall;
      err = alq_agree(comm, rank == 0 ? record(rec, &p) : ALQ_OK);
    }
  }
  alq_labeled_free(&labeled);
  alq_answer_table_free(&answers);
  return err;
}

alq_err alq_simulate(MPI_Comm comm, const alq_simulate_options *o, alq_curve *curve) {
  memset(curve, 0, sizeof *curve);
  ALQ_CHECK(alq_agree(comm, alq_simulate_check(o)));
  sim_dataset d;
  ALQ_CHECK(sim_dataset_load(comm, o, &d));
  recorder rec = {.total = o->seeds * o->n_strategies * (o->rounds + 1), .started = MPI_Wtime(), .quiet = o->quiet};
  rec.last_note = rec.started;
  alq_err err = ALQ_OK;
  for (int64_t k = 0; !err && k < o->seeds; k++) {
    sim_split s;
    uint64_t seed = o->seed + (uint64_t)k;
    err = alq_agree(comm, sim_split_make(comm, o, &d, seed, &s));
    for (int which = 0; !err && which < o->n_strategies; which++)
      err = run_strategy(comm, o, &d, &s, which, seed, &rec);
    sim_split_free(&s);
  }
  sim_dataset_free(&d);
  if (err) {
    free(rec.points);
    return err;
  }
  curve->n = rec.n;
  curve->points = rec.points;
  return ALQ_OK;
}

alq_err alq_simulate_parse_strategies(const char *text, alq_simulate_options *o) {
  char buf[1024];
  if (strlen(text) >= sizeof buf)
    return alq_error_set(ALQ_ERR_USAGE, "--strategy list is too long");
  strcpy(buf, text);
  o->n_strategies = 0;
  for (char *save = NULL, *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    if (o->n_strategies == ALQ_SIMULATE_MAX_STRATEGIES)
      return alq_error_set(ALQ_ERR_USAGE, "--strategy lists more than %d strategies", ALQ_SIMULATE_MAX_STRATEGIES);
    int anchoral = strncmp(name, "anchoral+", 9) == 0;
    const char *base = anchoral ? name + 9 : name;
    if (!alq_strategy_find(base))
      return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", base);
    o->subpools[o->n_strategies] = anchoral ? ALQ_SUBPOOL_ANCHORAL : ALQ_SUBPOOL_ALL;
    snprintf(o->strategies[o->n_strategies++], sizeof o->strategies[0], "%s", base);
  }
  if (o->n_strategies == 0)
    return alq_error_set(ALQ_ERR_USAGE, "--strategy needs at least one name");
  return ALQ_OK;
}
