/* cli/cmd_score.c: `alq score --mahalanobis`: the arguments of alq_score_run
 * (alq/geometry.h), every pool item's Mahalanobis distance to the labeled
 * classes (a class-conditional Gaussian with one shared, Ledoit-Wolf shrunk
 * covariance; Lee et al. 2018), across ranks. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/geometry.h"
#include "alq/paths.h"
#include "args.h"
#include "commands.h"

static void usage(void) {
  printf("usage: mpiexec -n P alq score --pool POOL.h5 --mahalanobis --out SCORES.h5 [options]\n\n"
         "Scores every pool item by its Mahalanobis distance to the labeled classes,\n"
         "min_c (x - mu_c)^T Sigma^-1 (x - mu_c): class means and one shared covariance fitted on the\n"
         "labeled set, shrunk towards a scaled identity by Ledoit-Wolf (|L| is often below d), Cholesky\n"
         "by ScaLAPACK's PDPOTRF (docs/geometry.md).  Large = far from every labeled class.\n\n"
         "required:\n"
         "  --pool FILE|gen:...  pool (docs/format.md): /embeddings, /labeled (or --labeled)\n"
         "  --mahalanobis      the score to compute (the only one so far)\n"
         "  --out FILE         HDF5: /scores/ids int64 [N], /scores/mahalanobis float64 [N], row order\n"
         "options:\n"
         "  --labeled FILE     labeled set (/labeled/ids, /labeled/labels) instead of the pool's own\n"
         "  --grid RxC         process grid of the Cholesky factorisation (default 1x1; R x C <= ranks)\n"
         "  --chunk-rows R     rows per worker read (default: about 8 MiB)\n"
         "  --quiet            no summary on stderr\n"
         "  --help             this text\n\n"
         "The scores are the same, bit for bit, whatever the number of ranks (for one --grid).\n"
         "exit codes: 0 success, 2 usage, 3 bad input (e.g. no more labeled items than classes),\n"
         "4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  alq_score_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},       {"labeled", required_argument, 0, 'l'},
      {"out", required_argument, 0, 'o'},        {"mahalanobis", no_argument, 0, 'm'},
      {"grid", required_argument, 0, 'g'},       {"chunk-rows", required_argument, 0, 'r'},
      {"quiet", no_argument, 0, 'q'},            {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labeled", optarg, o->labeled, sizeof o->labeled)); break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'm': o->mahalanobis = 1; break;
    case 'g': ALQ_CHECK(alq_fit_grid_parse("--grid", optarg, &o->fit.grid_rows, &o->fit.grid_cols)); break;
    case 'r': ALQ_CHECK(alq_arg_int("--chunk-rows", optarg, 1, INT32_MAX, &o->fit.chunk_rows)); break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("score", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq score: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq score needs --pool FILE");
  if (!o->mahalanobis)
    return alq_error_set(ALQ_ERR_USAGE, "alq score needs a score to compute: --mahalanobis");
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq score needs --out FILE");
  const alq_path_use paths[] = {{"--pool", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT},
                                {"--labeled", o->labeled, ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_score(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_score_options opt;
  int code;
  memset(&opt, 0, sizeof opt);
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = alq_score_run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
