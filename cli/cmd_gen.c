/* cli/cmd_gen.c: `alq gen`: the arguments of alq_gen_write (alq/gen.h), a
 * synthetic pool file. */
#include <float.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/gen.h"
#include "alq/pool.h"
#include "args.h"
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

typedef struct {
  char out[ALQ_PATH_MAX];
  alq_gen_params params;
  int64_t n_labeled;
  int probs;
} gen_options;

/* Returns -1 for --help, else an alq_err. */
static int parse_options(int argc, char **argv, gen_options *o) {
  static const struct option longopts[] = {
      {"out", required_argument, 0, 'o'},       {"items", required_argument, 0, 'n'},
      {"dim", required_argument, 0, 'd'},       {"classes", required_argument, 0, 'c'},
      {"imbalance", required_argument, 0, 'r'}, {"labeled", required_argument, 0, 'l'},
      {"seed", required_argument, 0, 's'},      {"no-probs", no_argument, 0, 'P'},
      {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  *o = (gen_options){.params = {10000, 32, 10, 1.0, 0}, .probs = 1};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'n': ALQ_CHECK(alq_arg_int("--items", optarg, 1, INT64_MAX, &o->params.n_items)); break;
    case 'd': ALQ_CHECK(alq_arg_int("--dim", optarg, 1, ALQ_GEN_MAX_DIM, &o->params.dim)); break;
    case 'c':
      ALQ_CHECK(alq_arg_int("--classes", optarg, 2, ALQ_GEN_MAX_CLASSES, &o->params.n_classes));
      break;
    case 'r':
      ALQ_CHECK(alq_arg_double("--imbalance", optarg, 1.0, DBL_MAX, &o->params.imbalance));
      break;
    case 'l': ALQ_CHECK(alq_arg_int("--labeled", optarg, 0, INT64_MAX, &o->n_labeled)); break;
    case 's': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->params.seed)); break;
    case 'P': o->probs = 0; break;
    case 'h': return -1;
    default: return alq_arg_unknown("gen", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq gen: unexpected argument '%s' (see alq gen --help)",
                         argv[optind]);
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq gen: --out is required (see alq gen --help)");
  if (o->n_labeled > o->params.n_items)
    return alq_error_set(ALQ_ERR_USAGE, "alq gen: --labeled %lld exceeds --items %lld",
                         (long long)o->n_labeled, (long long)o->params.n_items);
  return alq_gen_params_check(&o->params);
}

int alq_cmd_gen(int argc, char **argv) {
  gen_options o;
  int status = parse_options(argc, argv, &o);
  if (status < 0) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (status)
    return alq_cli_fail(status);
  alq_err err = alq_gen_write(o.out, &o.params, o.probs, o.n_labeled);
  if (err)
    return alq_cli_fail(err);
  printf("wrote %s: %lld items, dim %lld, %lld classes, %lld labeled%s\n", o.out,
         (long long)o.params.n_items, (long long)o.params.dim, (long long)o.params.n_classes,
         (long long)o.n_labeled, o.probs ? "" : ", no /probs");
  return ALQ_OK;
}
