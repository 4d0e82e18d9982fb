/* cli/cmd_project.c: `alq project`: the arguments of alq_project_run
 * (alq/geometry.h), which fits a PCA projection of a pool's embeddings across
 * ranks and writes it, for `alq select --projection` in every later round
 * (AnchorAL and k-center need one fixed embedding space across rounds). */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/geometry.h"
#include "alq/paths.h"
#include "args.h"
#include "commands.h"

static void usage(void) {
  printf("usage: mpiexec -n P alq project --pool POOL.h5 --project pca:K --out PROJ.h5 [options]\n\n"
         "Fits a PCA projection of the pool's embeddings on all ranks: the mean and covariance in one\n"
         "streaming pass, the top K eigenvectors by ScaLAPACK's PDSYEVD, written for\n"
         "`alq select --projection PROJ.h5` (docs/geometry.md).  The file is the same, bit for bit,\n"
         "whatever the number of ranks (for one --grid).\n\n"
         "required:\n"
         "  --pool FILE|gen:...  pool (docs/format.md): /embeddings\n"
         "  --project SPEC     pca:K (top K principal axes) or pca-whiten:K (each scaled to unit variance)\n"
         "  --out FILE         HDF5: /projection/matrix float32 [K][d], /projection/mean float32 [d],\n"
         "                     /projection/eigenvalues float64 [d] (descending), fit options, pool identity\n"
         "options:\n"
         "  --fit-sample S     fit on about S rows (each row kept by hash(seed, id)), default every row\n"
         "  --seed S           seed of the sample (default 0)\n"
         "  --grid RxC         process grid of the eigensolver, fixed whatever the rank count\n"
         "                     (default 1x1; needs R x C <= ranks; a larger grid is faster at large d)\n"
         "  --chunk-rows R     rows per worker read (default: about 8 MiB)\n"
         "  --quiet            no summary on stderr\n"
         "  --help             this text\n\n"
         "exit codes: 0 success, 1 internal (eigensolver failure), 2 usage, 3 bad input, 4 cannot write\n"
         "output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  alq_project_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},       {"project", required_argument, 0, 'j'},
      {"out", required_argument, 0, 'o'},        {"fit-sample", required_argument, 0, 'f'},
      {"seed", required_argument, 0, 'S'},       {"grid", required_argument, 0, 'g'},
      {"chunk-rows", required_argument, 0, 'r'}, {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c, whiten;
  int64_t k;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'j':
      ALQ_CHECK(alq_projection_parse(optarg, &whiten, &k));
      snprintf(o->project, sizeof o->project, "%s", optarg);
      break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'f': ALQ_CHECK(alq_arg_int("--fit-sample", optarg, 2, INT64_MAX, &o->fit.sample)); break;
    case 'S': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->fit.seed)); break;
    case 'g': ALQ_CHECK(alq_fit_grid_parse("--grid", optarg, &o->fit.grid_rows, &o->fit.grid_cols)); break;
    case 'r': ALQ_CHECK(alq_arg_int("--chunk-rows", optarg, 1, INT32_MAX, &o->fit.chunk_rows)); break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("project", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq project: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq project needs --pool FILE");
  if (!o->project[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq project needs --project pca:K");
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq project needs --out FILE");
  const alq_path_use paths[] = {{"--pool", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_project(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_project_options opt;
  int code;
  memset(&opt, 0, sizeof opt);
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = alq_project_run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
