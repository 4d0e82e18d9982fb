/* cli/cmd_project.c: `alq project`: fits a PCA projection of a pool's
 * embeddings across ranks (covariance pass, PDSYEVD) and writes it, for
 * `alq select --projection` in every later round (AnchorAL and k-center need
 * one fixed embedding space across rounds). */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "alq/logview.h"
#include "alq/paths.h"
#include "alq/source.h"
#include "args.h"
#include "commands.h"

typedef struct {
  char pool[ALQ_PATH_MAX];
  char project[64];
  char out[ALQ_PATH_MAX];
  alq_fit_options fit;
  int quiet;
} project_options;

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
  project_options *o = out;
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

static alq_err run(MPI_Comm comm, project_options *o) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_pool_meta meta;
  memset(&meta, 0, sizeof meta);
  ALQ_CHECK(alq_agree(comm, rank == 0 ? alq_source_describe(o->pool, &meta) : ALQ_OK));
  ALQ_CHECK(alq_bcast(o, sizeof *o, 0, comm));
  ALQ_CHECK(alq_bcast(&meta, sizeof meta, 0, comm));
  int whiten = 0;
  int64_t k = 0;
  ALQ_CHECK(alq_projection_parse(o->project, &whiten, &k));
  alq_log_reset();
  double t0 = MPI_Wtime();
  alq_projection p;
  ALQ_CHECK(alq_projection_fit(comm, &meta, &o->fit, whiten, k, &p));
  double seconds = MPI_Wtime() - t0;
  alq_err err = alq_agree(comm, rank == 0 ? alq_projection_write(o->out, &p) : ALQ_OK);
  if (!err && rank == 0 && !o->quiet) {
    double top = 0, all = 0;
    for (int64_t i = 0; i < p.dim; i++)
      all += p.eigenvalues[i] > 0 ? p.eigenvalues[i] : 0, top += i < k && p.eigenvalues[i] > 0 ? p.eigenvalues[i] : 0;
    /* rank 0 is in every step: its eigensolver phase is the decomposition's time */
    double eigen = alq_log_stats()[ALQ_PHASE_SELECT].seconds;
    fprintf(stderr, "alq: projected %lld -> %lld columns (%.1f%% of the variance) from %lld rows on %d rank(s), "
            "grid %dx%d, in %.2f s (covariance pass %.2f s, PDSYEVD %.2f s): %s\n", (long long)p.dim, (long long)k,
            all > 0 ? 100 * top / all : 0.0, (long long)p.fit_rows, size, p.grid_rows, p.grid_cols, seconds,
            seconds - eigen, eigen, o->out);
  }
  alq_projection_free(&p);
  return err;
}

int alq_cmd_project(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  project_options opt;
  int code;
  memset(&opt, 0, sizeof opt);
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
