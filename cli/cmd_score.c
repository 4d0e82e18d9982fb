/* cli/cmd_score.c: `alq score --mahalanobis`: every pool item's Mahalanobis
 * distance to the labeled classes (a class-conditional Gaussian with one
 * shared, Ledoit-Wolf shrunk covariance; Lee et al. 2018), across ranks.
 *
 * Rank 0 reads the labeled set and broadcasts it; the fit is collective
 * (PDPOTRF on --grid); every rank streams its shard and scores each row; rank
 * 0 gathers the scores and writes /scores/ids int64 [N] and
 * /scores/mahalanobis float64 [N] (row order) atomically. */
#include <getopt.h>
#include <hdf5.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "alq/h5_records.h"
#include "alq/partition.h"
#include "alq/paths.h"
#include "alq/version.h"
#include "alq/worker.h"
#include "args.h"
#include "commands.h"

typedef struct {
  char pool[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group */
  char out[ALQ_PATH_MAX];
  int mahalanobis;
  alq_fit_options fit;
  int quiet;
} score_options;

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
  score_options *o = out;
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

/* Rank 0: the pool's shape and the labeled set (required). */
static alq_err prepare(const score_options *o, alq_pool_meta *meta, alq_labeled *labeled) {
  ALQ_CHECK(alq_source_describe(o->pool, meta));
  if (!o->labeled[0] && strncmp(o->pool, "gen:", 4) == 0)
    return alq_error_set(ALQ_ERR_USAGE, "a generated pool has no labeled set: give --labeled FILE");
  return alq_labeled_read(o->labeled[0] ? o->labeled : o->pool, meta->n_classes, 1, labeled);
}

/* One scored row: id and distance, gathered as plain bytes. */
typedef struct {
  int64_t id;
  double dist;
} scored_row;

typedef struct {
  const alq_mahalanobis *m;
  double *work;
  scored_row *rows;
  int64_t n;
} score_ctx;

static alq_err score_chunk(void *p, const alq_chunk_view *c) {
  score_ctx *s = p;
  for (int64_t i = 0; i < c->count; i++) {
    s->rows[s->n].id = c->rows->ids[i];
    s->rows[s->n++].dist = alq_mahalanobis_distance(s->m, c->rows->embeddings + i * s->m->dim, s->work);
  }
  return ALQ_OK;
}

typedef struct {
  const score_options *o;
  const alq_mahalanobis *m;
  const scored_row *rows;
  int64_t n;
} output;

static herr_t attr_double(hid_t loc, const char *name, double value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 ? -1 : H5Awrite(a, H5T_NATIVE_DOUBLE, &value);
  if (a >= 0)
    H5Aclose(a);
  H5Sclose(space);
  return rc;
}

static alq_err write_contents(hid_t file, const char *path, const void *ctx) {
  const output *w = ctx;
  int64_t *ids = NULL;
  double *dist = NULL;
  alq_err err = alq_malloc(&ids, sizeof *ids * (w->n ? w->n : 1), "score ids");
  if (!err)
    err = alq_malloc(&dist, sizeof *dist * (w->n ? w->n : 1), "scores");
  for (int64_t i = 0; !err && i < w->n; i++) {
    ids[i] = w->rows[i].id;
    dist[i] = w->rows[i].dist;
  }
  if (!err) {
    hid_t g = H5Gcreate2(file, "/scores", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    herr_t rc = g < 0 ? -1 : 0;
    if (g >= 0) {
      rc |= alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, w->n, ids);
      rc |= alq_h5w_1d(g, "mahalanobis", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, w->n, dist);
      rc |= alq_h5w_attr_string(g, "pool", w->o->pool);
      rc |= alq_h5w_attr_string(g, "labeled", w->o->labeled[0] ? w->o->labeled : w->o->pool);
      rc |= alq_h5w_attr_int64(g, "fit_rows", w->m->fit_rows);
      rc |= alq_h5w_attr_int64(g, "classes", w->m->n_classes);
      rc |= attr_double(g, "shrinkage", w->m->shrinkage);
      rc |= alq_h5w_attr_string(g, "alq_version", ALQ_VERSION);
      H5Gclose(g);
    }
    if (rc < 0)
      err = alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", path);
  }
  free(ids);
  free(dist);
  return err;
}

/* Every rank's scores to rank 0 (row order = rank order), then written there. */
static alq_err gather_and_write(MPI_Comm comm, const score_options *o, const alq_mahalanobis *m,
                                const score_ctx *s, int64_t n_items) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (n_items * (int64_t)sizeof(scored_row) >= ((int64_t)1 << 31))
    return alq_error_set(ALQ_ERR_MEMORY, "alq score gathers every score on rank 0 in one message: %lld items is "
                         "more than it can (2 GiB, about 134 million items)", (long long)n_items);
  unsigned char *all = NULL;
  int *counts = NULL, *displs = NULL;
  ALQ_CHECK(alq_gatherv_bytes(s->rows, (int)(s->n * (int64_t)sizeof(scored_row)), 0, comm, &all, &counts, &displs));
  alq_err err = ALQ_OK;
  if (rank == 0) {
    output w = {o, m, (const scored_row *)all, n_items};
    err = alq_h5_write_atomic(o->out, write_contents, &w);
  }
  free(all);
  free(counts);
  free(displs);
  return alq_agree(comm, err);
}

static alq_err run(MPI_Comm comm, score_options *o) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_pool_meta meta;
  memset(&meta, 0, sizeof meta);
  alq_labeled labeled = {0};
  alq_err err = alq_agree(comm, rank == 0 ? prepare(o, &meta, &labeled) : ALQ_OK);
  if (!err)
    err = alq_bcast(o, sizeof *o, 0, comm);
  if (!err)
    err = alq_bcast(&meta, sizeof meta, 0, comm);
  if (!err)
    err = alq_labeled_share(comm, &labeled);
  meta.has_probs = 0; /* embeddings only */
  alq_source *src = NULL;
  if (!err)
    err = alq_agree(comm, alq_source_open(comm, &meta, &src));
  double t0 = MPI_Wtime();
  alq_mahalanobis m;
  memset(&m, 0, sizeof m);
  if (!err)
    err = alq_mahalanobis_fit_labeled(comm, src, &labeled, &o->fit, &m);
  int64_t align = alq_partition_align(meta.n_items, meta.chunk_rows, size);
  alq_range shard = alq_partition_rows(meta.n_items, align, size, rank);
  score_ctx sc = {&m, NULL, NULL, 0};
  if (!err) {
    err = alq_malloc(&sc.work, sizeof(double) * 2 * meta.dim, "score row");
    if (!err)
      err = alq_malloc(&sc.rows, sizeof(scored_row) * (shard.hi > shard.lo ? shard.hi - shard.lo : 1), "scores");
    err = alq_agree(comm, err);
  }
  if (!err) {
    int64_t chunk = o->fit.chunk_rows > 0 ? o->fit.chunk_rows : alq_default_chunk_rows(&meta);
    alq_stream_request req = {comm, &meta, src, shard, align, chunk, ALQ_FIELD_EMBEDDINGS, labeled.ids, labeled.n,
                              !o->quiet};
    alq_stream_result res;
    err = alq_worker_stream(&req, score_chunk, &sc, &res);
    if (!err)
      free(res.labeled_found);
  }
  alq_source_close(src);
  if (!err)
    err = gather_and_write(comm, o, &m, &sc, meta.n_items);
  if (!err && rank == 0 && !o->quiet)
    fprintf(stderr, "alq: scored %lld item(s) by Mahalanobis distance to %lld class(es) (%lld labeled, shrinkage "
            "%.4f) on %d rank(s) in %.2f s: %s\n", (long long)meta.n_items, (long long)m.n_classes,
            (long long)m.fit_rows, m.shrinkage, size, MPI_Wtime() - t0, o->out);
  free(sc.work);
  free(sc.rows);
  alq_mahalanobis_free(&m);
  alq_labeled_free(&labeled);
  return err;
}

int alq_cmd_score(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  score_options opt;
  int code;
  memset(&opt, 0, sizeof opt);
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
