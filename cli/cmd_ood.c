/* cli/cmd_ood.c: `alq ood`: rank 0 parses, every rank scores its shard. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/ood.h"
#include "alq/paths.h"
#include "args.h"
#include "commands.h"
#include "ood_options.h"

static void usage(void) {
  printf("usage: mpiexec -n P alq ood POOL.h5 --ood KIND --ood-reject Q --out SCORES.h5 [options]\n\n"
         "Scores every item of POOL for being out of distribution, calibrates the threshold on the\n"
         "labeled set, and writes each item's score and reject flag (the stage alq select --ood runs\n"
         "before any strategy; docs/ood.md).\n\n"
         "required:\n"
         "  POOL               pool (docs/format.md) with /probs (maxprob, energy) or /embeddings\n"
         "  --ood KIND         maxprob (1 - max p), energy (-T log sum p^(1/T)), knn (distance to the\n"
         "                     k-th nearest labeled embedding, both normalised), mahalanobis (to the\n"
         "                     nearest class mean under a shared covariance)\n"
         "  --ood-reject Q     threshold: the score that keeps a share 1 - Q of the labeled items\n"
         "  --out FILE         HDF5: /ood/ids (int64), /ood/scores (float64), /ood/rejected and\n"
         "                     /ood/labeled (uint8), /calibration/{ids, scores}; attributes ood,\n"
         "                     space, reject, threshold, temperature, k, calibration_items, rejected\n"
         "options:\n"
         "  --labeled FILE     labeled set (/labeled/ids, /labeled/labels) instead of the pool's own\n"
         "  --model FILE       probabilities and embeddings from a model of alq train\n"
         ALQ_OOD_SETTINGS_HELP
         "  --csv FILE         also write id,score,rejected,labeled as CSV\n"
         "  --chunk-rows R     rows per worker read (default: about 8 MiB)\n"
         "  --quiet            no progress or summary on stderr\n"
         "  --help             this text\n\n"
         "Scores and flags are the same whatever the number of ranks.\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  alq_ood_run_options *o = out;
  static const struct option longopts[] = {
      ALQ_OOD_LONGOPTS,
      {"out", required_argument, 0, 'o'},        {"csv", required_argument, 0, 'c'},
      {"labeled", required_argument, 0, 'l'},    {"model", required_argument, 0, 'm'},
      {"chunk-rows", required_argument, 0, 'r'}, {"quiet", no_argument, 0, 'Q'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  unsigned given = 0;
  alq_err err;
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (alq_ood_option(c, optarg, &o->ood, &given, &err)) {
      ALQ_CHECK(err);
      continue;
    }
    switch (c) {
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'c': ALQ_CHECK(alq_arg_path("--csv", optarg, o->csv, sizeof o->csv)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labeled", optarg, o->labeled, sizeof o->labeled)); break;
    case 'm': ALQ_CHECK(alq_arg_path("--model", optarg, o->model, sizeof o->model)); break;
    case 'r': ALQ_CHECK(alq_arg_int("--chunk-rows", optarg, 1, INT32_MAX, &o->chunk_rows)); break;
    case 'Q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("ood", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    ALQ_CHECK(alq_arg_path("POOL", argv[optind++], o->pool, sizeof o->pool));
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq ood: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq ood needs a POOL");
  if (o->ood.kind == ALQ_OOD_NONE)
    return alq_error_set(ALQ_ERR_USAGE, "alq ood needs --ood KIND (maxprob, energy, knn, mahalanobis)");
  ALQ_CHECK(alq_ood_check_options(&o->ood, given));
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq ood needs --out FILE");
  const alq_path_use paths[] = {{"POOL", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT},
                                {"--labeled", o->labeled, ALQ_PATH_INPUT},
                                {"--model", o->model, ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT},
                                {"--csv", o->csv, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_ood(int argc, char **argv) {
  alq_ood_run_options opt;
  int code;
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = alq_ood_run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
