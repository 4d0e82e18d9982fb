/* alq/simulate.h: active learning replayed on a pool with known labels.
 *
 * For each seed a stratified test split is held out and a stratified initial
 * labeled set drawn from the rest (the same for every strategy of the call).
 * Each round trains the model on the labeled items (data-parallel over the
 * ranks), evaluates it on the test split, and selects the next batch through
 * the real pipeline: alq_select_pool on an in-memory pool whose probabilities
 * and embeddings the model computes.  The pool's /labels answer every request,
 * or, with annotators > 0, simulated annotators who answer wrongly with
 * probability annotator_noise (a wrong answer uniform over the other classes)
 * or by a confusion matrix: one answer per request, the model trained on the
 * CROWDLAB consensus of the answers (alq/consensus.h), accuracy measured
 * against /labels, and every answer counted as a label spent.
 * Every rank holds the whole pool in memory.  `alq simulate` is a thin CLI over
 * this module; docs/models.md describes the metrics.
 */
#ifndef ALQ_SIMULATE_H
#define ALQ_SIMULATE_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/model.h"
#include "alq/ood.h"
#include "alq/pool.h"

#define ALQ_SIMULATE_MAX_STRATEGIES 16

typedef struct {
  char pool[ALQ_PATH_MAX];  /* HDF5 pool with /embeddings (features) and /labels */
  char out[ALQ_PATH_MAX];   /* CSV of the curve; "" = none (alq_simulate_write skips it) */
  char plot[ALQ_PATH_MAX];  /* SVG of the curve; "" = none */
  char strategies[ALQ_SIMULATE_MAX_STRATEGIES][64]; /* registered names (alq/strategy.h) */
  int subpools[ALQ_SIMULATE_MAX_STRATEGIES];        /* ALQ_SUBPOOL_* of each strategy */
  int n_strategies;
  int64_t initial; /* initial labeled items, stratified */
  int64_t batch;   /* items selected per round */
  int64_t rounds;  /* selection rounds: rounds + 1 evaluations per seed */
  int64_t seeds;   /* seeds seed, seed + 1, ..., seed + seeds - 1 */
  uint64_t seed;
  double test_fraction; /* share of the pool held out for evaluation */
  alq_train_options train;
  int64_t mc_samples; /* mlp: dropout passes averaged for the probabilities */
  int quiet;          /* no progress lines on stderr */
  /* Noisy annotators (0 = the pool's /labels answer, the default).  Answer #k
   * to item `id` comes from annotator (hash(seed, id) + k) mod annotators, so
   * an item goes to each annotator at most once (a request past that is spent
   * and answered by nobody); it is wrong with probability annotator_noise
   * (uniform over the other classes), or, with a confusion file, drawn from the
   * true class's row.  Every draw is a function of (seed, id, k). */
  int64_t annotators;
  double annotator_noise;
  char confusion[ALQ_PATH_MAX]; /* "" or K rows of K probabilities (row = true class), CSV or spaces */
  /* The out-of-distribution stage before every strategy (alq/ood.h; kind 0 =
   * none).  Items whose /labels is -1 are of no class (junk): never in the
   * test split or the initial set; selecting one costs a label and teaches
   * nothing (it is excluded from later rounds, not trained on, and not an
   * OOD reference).  Junk needs annotators = 0. */
  alq_ood_options ood;
} alq_simulate_options;

/* The defaults of `alq simulate`: 20 initial items, 5 seeds from 0, a test
 * fraction of 0.2, the default head of `kind`; no strategies, batch, rounds or
 * files. */
void alq_simulate_options_default(alq_model_kind kind, alq_simulate_options *o);

/* Usage error (one line) for options alq_simulate cannot run: no or unknown
 * strategies, batch < 1, rounds < 0, initial < 1, seeds < 1, a test fraction
 * outside [0.01, 0.9], --mc-samples without the mlp head, a noise outside
 * [0, 1] or a confusion file without annotators. */
alq_err alq_simulate_check(const alq_simulate_options *o);

/* o->strategies and o->subpools from a list "a,anchoral+b,...": anchoral+NAME
 * runs NAME on the AnchorAL subpool, next to plain strategies.  Usage errors
 * name the unknown strategy (the CLI's --strategy and the C API's). */
alq_err alq_simulate_parse_strategies(const char *text, alq_simulate_options *o);

/* One (strategy, seed, round) of a simulation: the model trained on `labeled`
 * items, evaluated on the seed's test split. */
typedef struct {
  char strategy[96]; /* "anchoral+" prefixed on the AnchorAL subpool */
  uint64_t seed;
  int64_t round;
  int64_t labeled; /* labels spent: every answer (= items without annotators) */
  int64_t items;   /* distinct items with an answer */
  double accuracy, macro_f1, rare_recall;
  double train_seconds, select_seconds;
} alq_curve_point;

typedef struct {
  int64_t n;
  alq_curve_point *points; /* strategy-major per seed: seeds, then strategies, then rounds */
} alq_curve;

void alq_curve_free(alq_curve *c);

/* Collective: runs every strategy for every seed.  Every rank passes the same
 * options; rank 0 receives the curve (other ranks an empty one).  Results are
 * a function of the options and the rank count only (docs/models.md). */
alq_err alq_simulate(MPI_Comm comm, const alq_simulate_options *o, alq_curve *curve);

/* Rank 0: writes o->out (CSV: strategy,seed,round,labeled,accuracy,macro_f1,
 * rare_recall,train_seconds,select_seconds,items) and o->plot (SVG) when named,
 * staged under temporary names and committed together (alq/paths.h). */
alq_err alq_simulate_write(const alq_simulate_options *o, const alq_curve *curve);

/* An SVG (two panels: accuracy and macro-F1 against labels) with the mean over
 * seeds per strategy and a band of +-1 standard deviation. */
alq_err alq_curve_svg(const char *path, const char *title, const alq_curve_point *points, int64_t n);

#endif
