/* cli/cmd_simulate.c: `alq simulate`: the labeling loop replayed with the
 * pool's ground truth (/labels) as the annotator.
 *
 * For each seed: a stratified test split is held out and a stratified initial
 * labeled set drawn from the rest (the same for every strategy).  Each round
 * trains the model on the labeled items (data-parallel over the ranks),
 * evaluates it on the test split, and selects the next batch through the real
 * pipeline: alq_select_pool on an in-memory pool whose probabilities and
 * embeddings the model computes (alq_source_with_model over alq_source_memory).
 * Every rank holds the whole pool in memory. */
#include <getopt.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/hash.h"
#include "alq/model.h"
#include "alq/partition.h"
#include "alq/paths.h"
#include "alq/select.h"
#include "alq/worker.h"
#include "args.h"
#include "head_options.h"
#include "commands.h"
#include "simulate.h"

#define MAX_STRATEGIES 16

typedef struct {
  char pool[ALQ_PATH_MAX], out[ALQ_PATH_MAX], plot[ALQ_PATH_MAX];
  char strategies[MAX_STRATEGIES][64];
  int subpools[MAX_STRATEGIES]; /* ALQ_SUBPOOL_* of each strategy */
  int n_strategies;
  int subpool; /* --subpool: applies to every strategy */
  int64_t initial, batch, rounds, seeds;
  uint64_t seed;
  double test_fraction;
  alq_train_options train;
  int64_t mc_samples;
  int quiet;
} sim_options;

static void usage(void) {
  printf("usage: mpiexec -n P alq simulate --pool POOL.h5 --strategy S[,S...] --batch B --rounds R\n"
         "                                --out CURVE.csv [options]\n\n"
         "Replays active learning on a pool with known labels (/labels): per seed, holds out a\n"
         "stratified test split, draws a stratified initial labeled set from the rest, then each\n"
         "round trains the model, evaluates it on the test split, selects B items with the\n"
         "strategy (the same pipeline as alq select) and reveals their labels.  Strategies in one\n"
         "call share the seeds, test splits and initial sets.\n\n"
         "required:\n"
         "  --pool FILE           pool with /embeddings (features) and /labels\n"
         "  --strategy LIST       comma-separated strategies (alq strategies lists them); anchoral+NAME\n"
         "                        runs NAME on the AnchorAL subpool (alq select --subpool anchoral)\n"
         "  --batch B             items labeled per round\n"
         "  --rounds R            selection rounds (R + 1 evaluations per seed)\n"
         "  --out FILE            CSV: strategy,seed,round,labeled,accuracy,macro_f1,rare_recall,\n"
         "                        train_seconds,select_seconds (one row per strategy, seed, round)\n"
         "options:\n"
         "  --initial L           initial labeled items, stratified (default 20)\n"
         "  --seeds K             repetitions with seeds S, S+1, ..., S+K-1 (default 5)\n"
         "  --seed S              first seed (default 0)\n"
         "  --test-fraction F     share of the pool held out for evaluation (default 0.2)\n"
         "  --subpool all|anchoral  run every strategy on the AnchorAL subpool (names get 'anchoral+')\n"
         "  --model logreg|mlp    the head retrained each round (default logreg); --hidden H,\n"
         "                        --dropout P, --l2 L, --lr R, --epochs E, --class-weights as alq train\n"
         "  --mc-samples T        mlp: average T dropout passes for the probabilities\n"
         "  --plot FILE           SVG of accuracy and macro-F1 against labels (mean, +-1 sd)\n"
         "  --quiet               no progress on stderr\n"
         "  --help                this text\n\n"
         "Metrics: accuracy; macro-F1 over the classes present in the test split; rare_recall, the\n"
         "mean recall of the 3 rarest classes of the test split.  Results are the same for a seed\n"
         "and a rank count (docs/models.md).\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

static alq_err parse_strategies(const char *text, sim_options *o) {
  char buf[1024];
  if (strlen(text) >= sizeof buf)
    return alq_error_set(ALQ_ERR_USAGE, "--strategy list is too long");
  strcpy(buf, text);
  o->n_strategies = 0;
  for (char *save = NULL, *name = strtok_r(buf, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
    if (o->n_strategies == MAX_STRATEGIES)
      return alq_error_set(ALQ_ERR_USAGE, "--strategy lists more than %d strategies", MAX_STRATEGIES);
    /* "anchoral+NAME" runs NAME on the AnchorAL subpool, next to plain strategies. */
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

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  sim_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},          {"strategy", required_argument, 0, 's'},
      {"batch", required_argument, 0, 'b'},         {"rounds", required_argument, 0, 'R'},
      {"out", required_argument, 0, 'o'},           {"initial", required_argument, 0, 'i'},
      {"seeds", required_argument, 0, 'K'},         {"seed", required_argument, 0, 'S'},
      {"test-fraction", required_argument, 0, 'f'}, {"subpool", required_argument, 0, 'a'},
      ALQ_HEAD_LONGOPTS,                            {"mc-samples", required_argument, 0, 'T'},
      {"plot", required_argument, 0, 'P'},          {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
  static const char *const subpools[] = {"all", "anchoral"};
  memset(o, 0, sizeof *o);
  o->initial = 20;
  o->seeds = 5;
  o->test_fraction = 0.2;
  alq_model_kind kind;
  int first = alq_head_kind_pass(argc, argv, longopts, &kind);
  if (first)
    return first;
  alq_train_options_default(kind ? kind : ALQ_MODEL_LOGREG, &o->train);
  int have_batch = 0, have_rounds = 0, c;
  alq_err err;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (alq_head_option(c, optarg, &o->train, &err)) {
      ALQ_CHECK(err);
      continue;
    }
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 's': ALQ_CHECK(parse_strategies(optarg, o)); break;
    case 'b': ALQ_CHECK(alq_arg_int("--batch", optarg, 1, INT32_MAX, &o->batch)); have_batch = 1; break;
    case 'R': ALQ_CHECK(alq_arg_int("--rounds", optarg, 0, 100000, &o->rounds)); have_rounds = 1; break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'i': ALQ_CHECK(alq_arg_int("--initial", optarg, 1, INT32_MAX, &o->initial)); break;
    case 'K': ALQ_CHECK(alq_arg_int("--seeds", optarg, 1, 100000, &o->seeds)); break;
    case 'S': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->seed)); break;
    case 'f': ALQ_CHECK(alq_arg_double("--test-fraction", optarg, 0.01, 0.9, &o->test_fraction)); break;
    case 'a': ALQ_CHECK(alq_arg_choice("--subpool", optarg, subpools, 2, &o->subpool)); break;
    case 'T': ALQ_CHECK(alq_arg_int("--mc-samples", optarg, 0, 10000, &o->mc_samples)); break;
    case 'P': ALQ_CHECK(alq_arg_path("--plot", optarg, o->plot, sizeof o->plot)); break;
    case 'q': o->quiet = 1; break;
    default: return alq_arg_unknown("simulate", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq simulate: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0] || !o->n_strategies || !have_batch || !have_rounds || !o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq simulate needs --pool, --strategy, --batch, --rounds and --out");
  for (int k = 0; k < o->n_strategies && o->subpool == ALQ_SUBPOOL_ANCHORAL; k++)
    o->subpools[k] = ALQ_SUBPOOL_ANCHORAL;
  if (o->mc_samples > 0 && o->train.kind != ALQ_MODEL_MLP)
    return alq_error_set(ALQ_ERR_USAGE, "--mc-samples needs --model mlp (dropout)");
  const alq_path_use paths[] = {{"--pool", alq_arg_pool_file(o->pool), ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT},
                                {"--plot", o->plot, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

/* The whole pool, on every rank. */
typedef struct {
  alq_pool_meta meta;
  float *x;
  int32_t *y;
  int64_t *ids;
} dataset;

static void dataset_free(dataset *d) {
  free(d->x);
  free(d->y);
  free(d->ids);
}

static alq_err load_pool(MPI_Comm comm, const char *path, dataset *d) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  memset(d, 0, sizeof *d);
  alq_err err = rank == 0 ? alq_pool_inspect(path, &d->meta) : ALQ_OK;
  if (!err && rank == 0 && !d->meta.has_labels)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /labels is missing: simulate needs the ground truth", path);
  if (!err && rank == 0 && d->meta.n_classes < 2)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: needs at least 2 classes (root attribute classes), got %lld", path,
                        (long long)d->meta.n_classes);
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_bcast(&d->meta, sizeof d->meta, 0, comm));
  int64_t n = d->meta.n_items;
  err = alq_malloc(&d->x, sizeof(float) * n * d->meta.dim, "pool features");
  if (!err)
    err = alq_malloc(&d->y, sizeof(int32_t) * n, "pool labels");
  if (!err)
    err = alq_malloc(&d->ids, sizeof(int64_t) * n, "pool ids");
  ALQ_CHECK(alq_agree(comm, err));
  alq_source *src = NULL;
  ALQ_CHECK(alq_agree(comm, alq_source_open(comm, &d->meta, &src)));
  unsigned fields = ALQ_FIELD_IDS | ALQ_FIELD_EMBEDDINGS | ALQ_FIELD_LABELS;
  alq_rows rows = {.ids = d->ids, .embeddings = d->x, .labels = d->y};
  err = alq_source_read(src, 0, n, fields, &rows);
  alq_source_close(src);
  if (!err)
    err = alq_rows_validate(&d->meta, &rows, 0, n, fields);
  for (int64_t i = 0; !err && i < n; i++)
    if (d->y[i] < 0 || d->y[i] >= d->meta.n_classes)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /labels row %lld is %d, outside 0..%lld (every item needs its label)",
                          path, (long long)i, d->y[i], (long long)d->meta.n_classes - 1);
  for (int64_t i = 1; !err && i < n; i++)
    if (d->ids[i] <= d->ids[i - 1])
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /ids row %lld is %lld, not greater than the previous id %lld", path,
                          (long long)i, (long long)d->ids[i], (long long)d->ids[i - 1]);
  return alq_agree(comm, err);
}

/* Rows of one seed: the test split and the rest (the pool selections draw from). */
typedef struct {
  int64_t n_test, n_pool;
  int64_t *test_rows, *pool_rows; /* row indices into the dataset */
  float *pool_x;                  /* n_pool x d, for the memory source */
  int64_t *pool_ids;
  int32_t *pool_y;
  alq_labeled initial;            /* drawn from the pool, sorted by id */
  float *mean, *std;              /* feature statistics of the pool */
} split;

static void split_free(split *s) {
  free(s->test_rows);
  free(s->pool_rows);
  free(s->pool_x);
  free(s->pool_ids);
  free(s->pool_y);
  free(s->mean);
  free(s->std);
  alq_labeled_free(&s->initial);
}

/* Row of `id` in the dataset (ids are sorted), or -1. */
static int64_t row_of(const dataset *d, int64_t id) {
  int64_t lo = 0, hi = d->meta.n_items;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (d->ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < d->meta.n_items && d->ids[lo] == id ? lo : -1;
}

/* Every rank computes the same split (pure functions of the seed). */
static alq_err make_split(MPI_Comm comm, const sim_options *o, const dataset *d, uint64_t seed, split *s) {
  memset(s, 0, sizeof *s);
  int64_t n = d->meta.n_items, dim = d->meta.dim;
  alq_labeled test = {0};
  int64_t n_test = (int64_t)llround(o->test_fraction * (double)n);
  ALQ_CHECK(alq_labeled_draw_stratified(d->y, d->ids, n, d->meta.n_classes, n_test,
                                        alq_hash3(seed, 0, ALQ_PURPOSE_TEST_SPLIT), &test));
  s->n_test = test.n;
  s->n_pool = n - test.n;
  alq_err err = alq_malloc(&s->test_rows, sizeof(int64_t) * (s->n_test ? s->n_test : 1), "test rows");
  if (!err)
    err = alq_malloc(&s->pool_rows, sizeof(int64_t) * (s->n_pool ? s->n_pool : 1), "pool rows");
  if (!err)
    err = alq_malloc(&s->pool_x, sizeof(float) * (s->n_pool ? s->n_pool : 1) * dim, "pool features");
  if (!err)
    err = alq_malloc(&s->pool_ids, sizeof(int64_t) * (s->n_pool ? s->n_pool : 1), "pool ids");
  if (!err)
    err = alq_malloc(&s->pool_y, sizeof(int32_t) * (s->n_pool ? s->n_pool : 1), "pool labels");
  if (!err)
    err = alq_malloc(&s->mean, sizeof(float) * dim, "feature means");
  if (!err)
    err = alq_malloc(&s->std, sizeof(float) * dim, "feature scales");
  /* Both lists are sorted by id: one merge walk separates them. */
  int64_t t = 0, p = 0;
  for (int64_t i = 0; !err && i < n; i++) {
    if (t < test.n && test.ids[t] == d->ids[i]) {
      s->test_rows[t++] = i;
    } else {
      s->pool_rows[p] = i;
      s->pool_ids[p] = d->ids[i];
      s->pool_y[p] = d->y[i];
      memcpy(s->pool_x + p * dim, d->x + i * dim, sizeof(float) * dim);
      p++;
    }
  }
  alq_labeled_free(&test);
  if (!err && o->initial > s->n_pool)
    err = alq_error_set(ALQ_ERR_USAGE, "--initial %lld is more than the %lld items left after the test split",
                        (long long)o->initial, (long long)s->n_pool);
  if (!err)
    err = alq_labeled_draw_stratified(s->pool_y, s->pool_ids, s->n_pool, d->meta.n_classes, o->initial, seed,
                                      &s->initial);
  /* Standardisation from the pool's features (unlabeled data is free), each
   * rank summing its share of the rows. */
  double *acc = NULL;
  if (!err)
    err = alq_calloc(&acc, 2 * dim + 1, sizeof *acc, "feature sums");
  err = alq_agree(comm, err);
  if (!err) {
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    alq_range r = alq_partition_rows(s->n_pool, 1, size, rank);
    alq_feature_sums_add(acc, dim, r.hi - r.lo, s->pool_x + r.lo * dim);
    err = alq_feature_stats(comm, dim, acc, s->mean, s->std);
  }
  free(acc);
  return err;
}

/* Trains on the labeled items, each rank taking a contiguous share of them. */
static alq_err train_round(MPI_Comm comm, const sim_options *o, const dataset *d, const split *s,
                           const alq_labeled *labeled, alq_model *model) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_range r = alq_partition_rows(labeled->n, 1, size, rank);
  int64_t n = r.hi - r.lo, dim = d->meta.dim;
  float *x = NULL;
  alq_err err = alq_agree(comm, alq_malloc(&x, sizeof(float) * (n ? n : 1) * dim, "training features"));
  if (err)
    return err;
  for (int64_t i = 0; i < n; i++)
    memcpy(x + i * dim, d->x + row_of(d, labeled->ids[r.lo + i]) * dim, sizeof(float) * dim);
  alq_train_rows rows = {n, x, labeled->labels + r.lo, labeled->ids + r.lo};
  err = alq_model_train(comm, &o->train, dim, d->meta.n_classes, s->mean, s->std, &rows, model);
  free(x);
  return err;
}

/* Test-split metrics: each rank predicts a share, the confusion counts are summed. */
static alq_err evaluate(MPI_Comm comm, const sim_options *o, const dataset *d, const split *s, const alq_model *model,
                        uint64_t seed, alq_metrics *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_range r = alq_partition_rows(s->n_test, 1, size, rank);
  int64_t n = r.hi - r.lo, dim = d->meta.dim, c = d->meta.n_classes;
  float *x = NULL, *probs = NULL;
  int64_t *ids = NULL, *conf = NULL, *sum = NULL;
  alq_err err = alq_malloc(&x, sizeof(float) * (n ? n : 1) * dim, "test features");
  if (!err)
    err = alq_malloc(&probs, sizeof(float) * (n ? n : 1) * c, "test probabilities");
  if (!err)
    err = alq_malloc(&ids, sizeof(int64_t) * (n ? n : 1), "test ids");
  if (!err)
    err = alq_calloc(&conf, c * c, sizeof(int64_t), "confusion matrix");
  if (!err)
    err = alq_calloc(&sum, c * c, sizeof(int64_t), "confusion matrix");
  for (int64_t i = 0; !err && i < n; i++) {
    int64_t row = s->test_rows[r.lo + i];
    memcpy(x + i * dim, d->x + row * dim, sizeof(float) * dim);
    ids[i] = d->ids[row];
  }
  alq_apply_options ap = {seed, o->mc_samples};
  if (!err)
    err = alq_model_apply(model, &ap, n, x, ids, probs, NULL, NULL);
  for (int64_t i = 0; !err && i < n; i++) {
    int64_t best = 0;
    for (int64_t k = 1; k < c; k++)
      if (probs[i * c + k] > probs[i * c + best])
        best = k;
    conf[d->y[s->test_rows[r.lo + i]] * c + best]++;
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_allreduce(conf, sum, (int)(c * c), MPI_INT64_T, MPI_SUM, comm);
  if (!err)
    alq_metrics_from_confusion(sum, c, out);
  free(x);
  free(probs);
  free(ids);
  free(conf);
  free(sum);
  return err;
}

/* One selection through alq_select_pool, with the model serving probabilities
 * and embeddings of the in-memory pool.  The request is filled as alq select
 * resolves its defaults (coordinator/prepare.c). */
static alq_err select_round(MPI_Comm comm, const sim_options *o, const dataset *d, const split *s,
                            const char *strategy, int subpool, const alq_model *model, uint64_t seed, const alq_labeled *labeled,
                            alq_batch *batch) {
  alq_pool_meta meta = d->meta; /* messages name the pool file */
  meta.n_items = s->n_pool;
  meta.has_ids = 1;
  meta.has_probs = 0;
  meta.n_labeled = 0;
  meta.chunk_rows = 1;
  alq_pool_data data = {.n_items = s->n_pool, .dim = d->meta.dim, .n_classes = d->meta.n_classes,
                        .embeddings = s->pool_x, .ids = s->pool_ids, .labels = s->pool_y};
  alq_source *mem = NULL, *src = NULL;
  ALQ_CHECK(alq_agree(comm, alq_source_memory(&meta, &data, &mem)));
  alq_apply_options ap = {seed, o->mc_samples};
  alq_err err = alq_agree(comm, alq_source_with_model(mem, model, &ap, &src));
  if (err) {
    alq_source_close(mem);
    return err;
  }
  const alq_strategy *st = alq_strategy_find(strategy);
  alq_request req;
  memset(&req, 0, sizeof req);
  req.meta = src->meta;
  snprintf(req.strategy, sizeof req.strategy, "%s", strategy);
  req.budget = o->batch;
  req.diversity = st->select ? ALQ_DIVERSITY_DEFAULT : ALQ_DIVERSITY_NONE; /* its own stage */
  req.candidates = req.diversity == ALQ_DIVERSITY_NONE ? o->batch : !st->score ? -1 : 10 * o->batch;
  req.subpool = subpool;
  req.anchors_per_class = 10;
  req.neighbors = 50;
  req.subpool_size = 10000;
  req.fan_in = 8;
  req.n_labeled = labeled->n;
  req.chunk_rows = alq_default_chunk_rows(&req.meta);
  req.seed = seed;
  req.prune = 1;
  req.quiet = 1;
  alq_rank_facts facts;
  err = alq_select_pool(comm, &req, src, labeled, batch, &facts);
  alq_source_close(src);
  return err;
}

/* Adds the batch (with its true labels) to the labeled set, kept sorted by id. */
static alq_err reveal(const dataset *d, const alq_batch *batch, alq_labeled *labeled) {
  int64_t n = labeled->n + batch->n;
  int64_t *ids = realloc(labeled->ids, sizeof(int64_t) * n);
  if (ids)
    labeled->ids = ids;
  int32_t *labels = realloc(labeled->labels, sizeof(int32_t) * n);
  if (labels)
    labeled->labels = labels;
  if (!ids || !labels)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the labeled set to %lld items", (long long)n);
  /* Insertion from the back: the batch is small next to the labeled set. */
  for (int64_t b = 0; b < batch->n; b++) {
    int64_t id = batch->ids[b], j = labeled->n++;
    while (j > 0 && labeled->ids[j - 1] > id) {
      labeled->ids[j] = labeled->ids[j - 1];
      labeled->labels[j] = labeled->labels[j - 1];
      j--;
    }
    labeled->ids[j] = id;
    labeled->labels[j] = d->y[row_of(d, id)];
  }
  return ALQ_OK;
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

static alq_err run_strategy(MPI_Comm comm, const sim_options *o, const dataset *d, const split *s, int which,
                            uint64_t seed, recorder *rec) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_labeled labeled = {0};
  alq_err err = alq_agree(comm, copy_labeled(&s->initial, &labeled));
  for (int64_t round = 0; !err && round <= o->rounds; round++) {
    alq_curve_point p = {.seed = seed, .round = round, .labeled = labeled.n};
    snprintf(p.strategy, sizeof p.strategy, "%s%s", o->subpools[which] == ALQ_SUBPOOL_ANCHORAL ? "anchoral+" : "",
             o->strategies[which]);
    alq_model model = {0};
    double t0 = MPI_Wtime();
    err = train_round(comm, o, d, s, &labeled, &model);
    p.train_seconds = MPI_Wtime() - t0;
    alq_metrics m;
    if (!err)
      err = evaluate(comm, o, d, s, &model, seed, &m);
    if (!err && round < o->rounds) {
      alq_batch batch = {0};
      t0 = MPI_Wtime();
      err = select_round(comm, o, d, s, o->strategies[which], o->subpools[which], &model, seed, &labeled, &batch);
      p.select_seconds = MPI_Wtime() - t0;
      if (!err)
        err = alq_agree(comm, reveal(d, &batch, &labeled));
      alq_batch_free(&batch);
    }
    alq_model_free(&model);
    if (!err) {
      p.accuracy = m.accuracy, p.macro_f1 = m.macro_f1, p.rare_recall = m.rare_recall;
      err = alq_agree(comm, rank == 0 ? record(rec, &p) : ALQ_OK);
    }
  }
  alq_labeled_free(&labeled);
  return err;
}

/* Writes the curve to `tmp`, the temporary name of `path`. */
static alq_err write_csv(const char *tmp, const char *path, const recorder *rec) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s (temporary file for %s)", tmp, path);
  fprintf(f, "strategy,seed,round,labeled,accuracy,macro_f1,rare_recall,train_seconds,select_seconds\n");
  for (int64_t i = 0; i < rec->n; i++) {
    const alq_curve_point *p = &rec->points[i];
    fprintf(f, "%s,%llu,%lld,%lld,%.6f,%.6f,%.6f,%.4f,%.4f\n", p->strategy, (unsigned long long)p->seed,
            (long long)p->round, (long long)p->labeled, p->accuracy, p->macro_f1, p->rare_recall, p->train_seconds,
            p->select_seconds);
  }
  if (fclose(f) != 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s", path);
  return ALQ_OK;
}

/* Rank 0: the CSV and the plot under temporary names, renamed together. */
static alq_err write_outputs(const sim_options *o, const recorder *rec) {
  char tmp_csv[ALQ_PATH_MAX + 32], tmp_plot[ALQ_PATH_MAX + 32] = "";
  ALQ_CHECK(alq_paths_temp(o->out, tmp_csv, sizeof tmp_csv));
  if (o->plot[0])
    ALQ_CHECK(alq_paths_temp(o->plot, tmp_plot, sizeof tmp_plot));
  const char *tmp[2] = {tmp_csv, tmp_plot}, *final_path[2] = {o->out, o->plot};
  int n = o->plot[0] ? 2 : 1;
  alq_err err = write_csv(tmp_csv, o->out, rec);
  if (!err && o->plot[0]) {
    const char *base = strrchr(o->pool, '/');
    err = alq_curve_svg(tmp_plot, base ? base + 1 : o->pool, rec->points, rec->n);
  }
  if (err) {
    alq_paths_discard(tmp, n);
    return err;
  }
  return alq_paths_commit(tmp, final_path, n);
}

static alq_err simulate(MPI_Comm comm, const sim_options *o) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  dataset d;
  ALQ_CHECK(load_pool(comm, o->pool, &d));
  recorder rec = {.total = o->seeds * o->n_strategies * (o->rounds + 1), .started = MPI_Wtime(), .quiet = o->quiet};
  rec.last_note = rec.started;
  alq_err err = ALQ_OK;
  for (int64_t k = 0; !err && k < o->seeds; k++) {
    split s;
    uint64_t seed = o->seed + (uint64_t)k;
    err = alq_agree(comm, make_split(comm, o, &d, seed, &s));
    for (int which = 0; !err && which < o->n_strategies; which++)
      err = run_strategy(comm, o, &d, &s, which, seed, &rec);
    split_free(&s);
  }
  if (!err && rank == 0)
    err = write_outputs(o, &rec);
  err = alq_agree(comm, err);
  if (!err && rank == 0 && !o->quiet)
    fprintf(stderr, "alq: simulated %d strategy(ies) x %lld seed(s) x %lld round(s) in %.1f s: %s%s%s\n",
            o->n_strategies, (long long)o->seeds, (long long)o->rounds, MPI_Wtime() - rec.started, o->out,
            o->plot[0] ? ", " : "", o->plot);
  free(rec.points);
  dataset_free(&d);
  return err;
}

int alq_cmd_simulate(int argc, char **argv) {
  sim_options opt;
  int code;
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  /* Rank 0 parsed; the options are plain data, identical binaries on every rank. */
  alq_err err = alq_bcast(&opt, sizeof opt, 0, MPI_COMM_WORLD);
  if (!err)
    err = simulate(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
