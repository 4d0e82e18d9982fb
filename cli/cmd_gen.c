/* cli/cmd_gen.c: `alq gen`, a synthetic pool file from the model in alq/gen.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/gen.h"
#include "alq/pool.h"
#include "commands.h"

static const char usage[] =
    "usage: alq gen --out POOL.h5 [--items N] [--dim D] [--classes C] [--imbalance R]\n"
    "               [--labeled L] [--seed S] [--no-probs]\n"
    "\n"
    "Writes a synthetic pool (docs/format.md): /embeddings float32 [N][D], /probs\n"
    "float32 [N][C] (class probabilities of an imperfect model), /labels int32 [N]\n"
    "(ground truth) and, with --labeled, a stratified initial labeled set in\n"
    "/labeled/ids and /labeled/labels.  Row i is item id i; every value is a pure\n"
    "function of (options, id), so the same options give the same file.\n"
    "\n"
    "  --out PATH       output file, written atomically (required)\n"
    "  --items N        number of items (default 10000)\n"
    "  --dim D          embedding dimension (default 32)\n"
    "  --classes C      number of classes, >= 2 (default 10)\n"
    "  --imbalance R    largest / smallest class share, >= 1 (default 1)\n"
    "  --labeled L      initial labeled set size, stratified by class (default 0)\n"
    "  --seed S         seed of every random draw (default 0)\n"
    "  --no-probs       omit /probs\n"
    "  --help           this text\n"
    "\n"
    "Memory: the whole pool is built in memory before it is written, about\n"
    "N * (4 D + 4 C + 4) bytes (5.5 GB for N = 10^7, D = 128, C = 10).\n";

/* Rows generated per alq_gen_rows call: amortises the class means per call. */
#define GEN_BLOCK_ROWS 65536

typedef struct {
  const char *out;
  alq_gen_params params;
  int64_t n_labeled;
  int probs;
} gen_options;

/* Counts and seeds are non-negative; range checks beyond that belong to
 * alq_gen_params_check, which knows the limits. */
static alq_err parse_int64(const char *option, const char *text, int64_t *value) {
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end != '\0' || v < 0)
    return alq_error_set(ALQ_ERR_USAGE, "alq gen: %s expects a non-negative integer, got '%s'",
                         option, text);
  *value = v;
  return ALQ_OK;
}

static alq_err parse_options(int argc, char **argv, gen_options *o, int *help) {
  *o = (gen_options){NULL, {10000, 32, 10, 1.0, 0}, 0, 1};
  *help = 0;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (strcmp(arg, "--help") == 0) {
      *help = 1;
      return ALQ_OK;
    }
    if (strcmp(arg, "--no-probs") == 0) {
      o->probs = 0;
      continue;
    }
    if (i + 1 >= argc)
      return alq_error_set(ALQ_ERR_USAGE, "alq gen: unknown option or missing value: '%s' (see alq gen --help)",
                           arg);
    const char *value = argv[++i];
    if (strcmp(arg, "--out") == 0) {
      o->out = value;
    } else if (strcmp(arg, "--items") == 0) {
      ALQ_CHECK(parse_int64(arg, value, &o->params.n_items));
    } else if (strcmp(arg, "--dim") == 0) {
      ALQ_CHECK(parse_int64(arg, value, &o->params.dim));
    } else if (strcmp(arg, "--classes") == 0) {
      ALQ_CHECK(parse_int64(arg, value, &o->params.n_classes));
    } else if (strcmp(arg, "--labeled") == 0) {
      ALQ_CHECK(parse_int64(arg, value, &o->n_labeled));
    } else if (strcmp(arg, "--seed") == 0) {
      int64_t seed;
      ALQ_CHECK(parse_int64(arg, value, &seed));
      o->params.seed = (uint64_t)seed;
    } else if (strcmp(arg, "--imbalance") == 0) {
      char *end;
      o->params.imbalance = strtod(value, &end);
      if (end == value || *end != '\0')
        return alq_error_set(ALQ_ERR_USAGE, "alq gen: --imbalance expects a number, got '%s'", value);
    } else {
      return alq_error_set(ALQ_ERR_USAGE, "alq gen: unknown option '%s' (see alq gen --help)", arg);
    }
  }
  if (!o->out)
    return alq_error_set(ALQ_ERR_USAGE, "alq gen: --out is required (see alq gen --help)");
  if (o->n_labeled < 0 || o->n_labeled > o->params.n_items)
    return alq_error_set(ALQ_ERR_USAGE, "alq gen: --labeled must be in [0, --items] (got %lld)",
                         (long long)o->n_labeled);
  return alq_gen_params_check(&o->params);
}

static alq_err build_pool(const gen_options *o, alq_pool_data *pool) {
  const alq_gen_params *p = &o->params;
  int64_t N = p->n_items, d = p->dim, C = p->n_classes;
  if ((uint64_t)N > SIZE_MAX / sizeof(float) / (uint64_t)(d + C + 1))
    return alq_error_set(ALQ_ERR_MEMORY, "alq gen: a pool of %lld x %lld does not fit in memory",
                         (long long)N, (long long)d);
  *pool = (alq_pool_data){.n_items = N, .dim = d, .n_classes = C};
  ALQ_CHECK(alq_malloc(&pool->embeddings, sizeof(float) * (size_t)(N * d), "/embeddings"));
  ALQ_CHECK(alq_malloc(&pool->labels, sizeof(int32_t) * (size_t)N, "/labels"));
  if (o->probs)
    ALQ_CHECK(alq_malloc(&pool->probs, sizeof(float) * (size_t)(N * C), "/probs"));
  for (int64_t lo = 0; lo < N; lo += GEN_BLOCK_ROWS) {
    int64_t count = N - lo < GEN_BLOCK_ROWS ? N - lo : GEN_BLOCK_ROWS;
    ALQ_CHECK(alq_gen_rows(p, lo, count, pool->embeddings + lo * d,
                           pool->probs ? pool->probs + lo * C : NULL, pool->labels + lo));
  }
  if (o->n_labeled > 0)
    ALQ_CHECK(alq_labeled_draw_stratified(pool->labels, NULL, N, C, o->n_labeled, p->seed,
                                          &pool->labeled));
  return ALQ_OK;
}

int alq_cmd_gen(int argc, char **argv) {
  gen_options o;
  int help;
  alq_err err = parse_options(argc, argv, &o, &help);
  if (err)
    return alq_cli_fail(err);
  if (help) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  alq_pool_data pool = {0};
  err = build_pool(&o, &pool);
  if (!err)
    err = alq_pool_write(o.out, &pool);
  free(pool.embeddings);
  free(pool.probs);
  free(pool.labels);
  alq_labeled_free(&pool.labeled);
  if (err)
    return alq_cli_fail(err);
  printf("wrote %s: %lld items, dim %lld, %lld classes, %lld labeled%s\n", o.out,
         (long long)o.params.n_items, (long long)o.params.dim, (long long)o.params.n_classes,
         (long long)o.n_labeled, o.probs ? "" : ", no /probs");
  return ALQ_OK;
}
