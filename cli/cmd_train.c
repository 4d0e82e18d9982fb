/* cli/cmd_train.c: `alq train`: a classifier head on a pool's labeled items. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/model.h"
#include "alq/paths.h"
#include "args.h"
#include "head_options.h"
#include "commands.h"

static void usage(void) {
  printf("usage: mpiexec -n P alq train --pool POOL.h5 --model logreg|mlp --out MODEL.h5 [options]\n\n"
         "Trains a classifier head on the pool's /embeddings (features) of the labeled items, data-parallel\n"
         "over the ranks (full-batch Adam, gradients summed with MPI_Allreduce), and writes it for\n"
         "alq select --model.  Features are standardised with the mean and std of the whole pool.\n\n"
         "required:\n"
         "  --pool FILE         pool (docs/format.md) with /embeddings and a labeled set\n"
         "  --model KIND        logreg (multinomial logistic regression, L2) or mlp (one hidden\n"
         "                      layer, ReLU, dropout)\n"
         "  --out FILE          model file (docs/models.md), written atomically\n"
         "options:\n"
         "  --labeled FILE      labeled set (/labeled/ids, /labeled/labels) instead of the pool's own\n"
         "  --hidden H          mlp hidden units (default 128)\n"
         "  --dropout P         mlp dropout rate while training (default 0.2)\n"
         "  --l2 L              L2 penalty on weights (default 1e-3 logreg, 1e-4 mlp)\n"
         "  --lr R              Adam step size (default 0.05 logreg, 0.01 mlp)\n"
         "  --epochs E          full-batch Adam steps (default 300)\n"
         "  --class-weights     weight classes by n / (K n_c) (for imbalanced labeled sets)\n"
         "  --seed S            initial weights and dropout masks (default 0)\n"
         "  --quiet             no summary on stderr\n"
         "  --help              this text\n\n"
         "The model is the same for a seed whatever the rank count, up to float summation order\n"
         "(docs/models.md gives the tolerance).\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err.  Options not given keep the kind's defaults. */
static int parse(int argc, char **argv, void *out) {
  alq_train_run_options *o = out;
  static const struct option longopts[] = {
      ALQ_HEAD_LONGOPTS,
      {"pool", required_argument, 0, 'p'},   {"out", required_argument, 0, 'o'},
      {"labeled", required_argument, 0, 'l'}, {"seed", required_argument, 0, 'S'},
      {"quiet", no_argument, 0, 'q'},        {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  alq_model_kind kind;
  int first = alq_head_kind_pass(argc, argv, longopts, &kind);
  if (first)
    return first;
  if (!kind)
    return alq_error_set(ALQ_ERR_USAGE, "alq train needs --model logreg|mlp");
  alq_train_options_default(kind, &o->train);
  int c;
  alq_err err;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (alq_head_option(c, optarg, &o->train, &err)) {
      ALQ_CHECK(err);
      continue;
    }
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labeled", optarg, o->labeled, sizeof o->labeled)); break;
    case 'S': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->train.seed)); break;
    case 'q': o->quiet = 1; break;
    default: return alq_arg_unknown("train", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq train: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0] || !o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq train needs --pool FILE and --out FILE");
  const alq_path_use paths[] = {{"--pool", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT},
                                {"--labeled", o->labeled, ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_train(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_train_run_options opt;
  int code;
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = alq_train_run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
