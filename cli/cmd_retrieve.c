/* cli/cmd_retrieve.c: `alq retrieve`: AnchorAL's exact retrieval alone.
 *
 * For given anchors (an HDF5 file with /anchors float32 [A][d]) every rank
 * streams its shard of the pool, and the ranks merge each anchor's K most
 * similar unlabeled items by cosine similarity (alq_anchoral_retrieve).  Rank 0
 * writes /neighbors/ids int64 [A][K] and /neighbors/similarities float64 [A][K]
 * (padded with -1 / -inf when the pool has fewer than K unlabeled items) under
 * a temporary name and renames it when complete. */
#include <errno.h>
#include <getopt.h>
#include <hdf5.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alq/anchoral.h"
#include "alq/comm.h"
#include "alq/h5_records.h"
#include "alq/partition.h"
#include "alq/paths.h"
#include "alq/source.h"
#include "alq/version.h"
#include "alq/worker.h"
#include "args.h"
#include "commands.h"

typedef struct {
  char pool[ALQ_PATH_MAX];
  char anchors[ALQ_PATH_MAX];
  char out[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group */
  int64_t neighbors;
  int64_t chunk_rows; /* 0 = default */
  int quiet;
} retrieve_options;

/* What every rank needs, broadcast by rank 0 as one plain buffer. */
typedef struct {
  alq_pool_meta meta;
  int64_t n_anchors, k, chunk_rows, n_labeled;
  int quiet;
} retrieve_plan;

static void usage(void) {
  printf("usage: mpiexec -n P alq retrieve --pool POOL.h5 --anchors FILE --neighbors K --out LISTS.h5 [options]\n\n"
         "AnchorAL's retrieval alone: for each anchor, the K unlabeled items of POOL most similar to\n"
         "it by cosine similarity (exact; ties: lower id), the same whatever the number of ranks.\n\n"
         "required:\n"
         "  --pool FILE        pool (docs/format.md): /embeddings, optional /ids, /labeled\n"
         "  --anchors FILE     HDF5 file with /anchors float32 [A][d] (d = the pool's dimension)\n"
         "  --neighbors K      items kept per anchor\n"
         "  --out FILE         HDF5: /neighbors/ids int64 [A][K] and /neighbors/similarities\n"
         "                     float64 [A][K], most similar first; padded with -1 / -inf when the\n"
         "                     pool has fewer than K unlabeled items\n"
         "options:\n"
         "  --labeled FILE     labeled set to exclude (/labeled/ids) instead of the pool's own\n"
         "  --chunk-rows R     rows per worker read (default: about 8 MiB, whole HDF5 chunks)\n"
         "  --quiet            no progress or summary on stderr\n"
         "  --help             this text\n\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  retrieve_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},      {"anchors", required_argument, 0, 'a'},
      {"neighbors", required_argument, 0, 'k'}, {"out", required_argument, 0, 'o'},
      {"labeled", required_argument, 0, 'l'},   {"chunk-rows", required_argument, 0, 'r'},
      {"quiet", no_argument, 0, 'q'},           {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'a': ALQ_CHECK(alq_arg_path("--anchors", optarg, o->anchors, sizeof o->anchors)); break;
    case 'k': ALQ_CHECK(alq_arg_int("--neighbors", optarg, 1, 100000000, &o->neighbors)); break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labeled", optarg, o->labeled, sizeof o->labeled)); break;
    case 'r': ALQ_CHECK(alq_arg_int("--chunk-rows", optarg, 1, INT32_MAX, &o->chunk_rows)); break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("retrieve", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --pool FILE");
  if (!o->anchors[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --anchors FILE");
  if (!o->neighbors)
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --neighbors K");
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --out FILE");
  const alq_path_use paths[] = {
      {"--pool", alq_arg_pool_file(o->pool), ALQ_PATH_INPUT}, {"--anchors", o->anchors, ALQ_PATH_INPUT},
      {"--labeled", o->labeled, ALQ_PATH_INPUT},              {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

/* Rank 0: /anchors as n x dim float32 rows, checked (shape, dtype, finite). */
static alq_err read_anchors(const char *path, int64_t dim, float **out, int64_t *n_out) {
  *out = NULL;
  *n_out = 0;
  if (access(path, R_OK) != 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open anchors file %s: %s", path, strerror(errno));
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s is not an HDF5 file", path);
  alq_err err = ALQ_OK;
  hid_t ds = -1, space = -1, type = -1;
  if (H5Lexists(file, "anchors", H5P_DEFAULT) <= 0 || (ds = H5Dopen2(file, "anchors", H5P_DEFAULT)) < 0) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors is missing", path);
    goto done;
  }
  space = H5Dget_space(ds);
  type = H5Dget_type(ds);
  hsize_t dims[2] = {0, 0};
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank != 2) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors has rank %d, expected 2 ([A][d] float32)", path, rank);
    goto done;
  }
  H5Sget_simple_extent_dims(space, dims, NULL);
  if (H5Tget_class(type) != H5T_FLOAT) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors is not floating point (expected float32)", path);
    goto done;
  }
  if ((int64_t)dims[1] != dim) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors has %lld columns, the pool's /embeddings has %lld", path,
                        (long long)dims[1], (long long)dim);
    goto done;
  }
  if (dims[0] == 0) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors has no rows", path);
    goto done;
  }
  float *rows = NULL;
  err = alq_malloc_aligned(&rows, sizeof(float) * dims[0] * dims[1], "anchors");
  if (err)
    goto done;
  if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, rows) < 0) {
    free(rows);
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read dataset /anchors", path);
    goto done;
  }
  for (int64_t i = 0; i < (int64_t)(dims[0] * dims[1]); i++)
    if (!isfinite(rows[i])) {
      err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /anchors row %lld column %lld is %g (not finite)", path,
                          (long long)(i / dim), (long long)(i % dim), (double)rows[i]);
      free(rows);
      goto done;
    }
  *out = rows;
  *n_out = (int64_t)dims[0];
done:
  if (type >= 0)
    H5Tclose(type);
  if (space >= 0)
    H5Sclose(space);
  if (ds >= 0)
    H5Dclose(ds);
  H5Fclose(file);
  return err;
}

/* Rank 0: validates the pool, the labeled set and the anchors. */
static alq_err prepare(const retrieve_options *o, retrieve_plan *plan, alq_labeled *labeled, float **anchors) {
  memset(plan, 0, sizeof *plan);
  ALQ_CHECK(alq_source_describe(o->pool, &plan->meta));
  /* A generated pool has no file to hold a labeled set: only --labeled gives one. */
  int pool_is_file = strncmp(o->pool, "gen:", 4) != 0;
  if (o->labeled[0] || pool_is_file)
    ALQ_CHECK(alq_labeled_read(o->labeled[0] ? o->labeled : o->pool, plan->meta.n_classes, o->labeled[0] != 0,
                               labeled));
  ALQ_CHECK(read_anchors(o->anchors, plan->meta.dim, anchors, &plan->n_anchors));
  plan->k = o->neighbors;
  plan->n_labeled = labeled->n;
  plan->chunk_rows = o->chunk_rows > 0 ? o->chunk_rows : alq_default_chunk_rows(&plan->meta);
  plan->quiet = o->quiet;
  return ALQ_OK;
}

static herr_t write_2d(hid_t group, const char *name, hid_t file_type, hid_t mem_type, int64_t rows, int64_t cols,
                       const void *data) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t ds = H5Dcreate2(group, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  if (ds >= 0)
    H5Dclose(ds);
  H5Sclose(space);
  return rc;
}

/* Rank 0: the lists, written under a temporary name and renamed when complete. */
static alq_err write_lists(const retrieve_options *o, const retrieve_plan *plan, int nranks, const alq_scored *lists) {
  int64_t total = plan->n_anchors * plan->k;
  int64_t *ids = NULL;
  double *sims = NULL;
  alq_err err = alq_malloc(&ids, sizeof *ids * total, "neighbor ids");
  if (!err)
    err = alq_malloc(&sims, sizeof *sims * total, "neighbor similarities");
  for (int64_t i = 0; !err && i < total; i++) {
    int none = alq_scored_is_none(&lists[i]);
    ids[i] = none ? -1 : lists[i].id;
    sims[i] = none ? -INFINITY : lists[i].score;
  }
  char tmp[ALQ_PATH_MAX + 32];
  snprintf(tmp, sizeof tmp, "%s.tmp.%ld", o->out, (long)getpid());
  if (!err) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
      err = alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", o->out,
                          access(tmp, F_OK) == 0 ? "HDF5 error" : strerror(errno));
    } else {
      herr_t rc = 0;
      hid_t g = H5Gcreate2(file, "/neighbors", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
      rc |= g < 0 ? -1 : 0;
      if (g >= 0) {
        rc |= write_2d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, plan->n_anchors, plan->k, ids);
        rc |= write_2d(g, "similarities", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, plan->n_anchors, plan->k, sims);
        H5Gclose(g);
      }
      rc |= alq_h5w_attr_string(file, "pool", o->pool);
      rc |= alq_h5w_attr_string(file, "anchors", o->anchors);
      rc |= alq_h5w_attr_string(file, "labeled", plan->n_labeled ? (o->labeled[0] ? o->labeled : o->pool) : "");
      rc |= alq_h5w_attr_int64(file, "neighbors", plan->k);
      rc |= alq_h5w_attr_int64(file, "ranks", nranks);
      rc |= alq_h5w_attr_string(file, "alq_version", ALQ_VERSION);
      if (H5Fclose(file) < 0 || rc < 0)
        err = alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", o->out);
      if (!err && rename(tmp, o->out) != 0)
        err = alq_error_set(ALQ_ERR_OUTPUT, "cannot rename %s to %s: %s", tmp, o->out, strerror(errno));
      if (err)
        unlink(tmp);
    }
  }
  free(ids);
  free(sims);
  return err;
}

static alq_err run(MPI_Comm comm, const retrieve_options *o) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  retrieve_plan plan;
  memset(&plan, 0, sizeof plan);
  alq_labeled labeled = {0};
  float *anchors = NULL;
  alq_err err = alq_agree(comm, rank == 0 ? prepare(o, &plan, &labeled, &anchors) : ALQ_OK);
  if (!err)
    err = alq_bcast(&plan, sizeof plan, 0, comm);
  if (!err && rank != 0) {
    err = alq_malloc(&labeled.ids, sizeof(int64_t) * (plan.n_labeled ? plan.n_labeled : 1), "labeled ids");
    if (!err)
      err = alq_malloc_aligned(&anchors, sizeof(float) * plan.n_anchors * plan.meta.dim, "anchors");
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(labeled.ids, sizeof(int64_t) * plan.n_labeled, 0, comm);
  if (!err)
    err = alq_bcast(anchors, sizeof(float) * plan.n_anchors * plan.meta.dim, 0, comm);
  labeled.n = plan.n_labeled;

  alq_source *src = NULL;
  if (!err)
    err = alq_agree(comm, alq_source_open(comm, &plan.meta, &src));
  alq_scored *lists = NULL;
  double sgemm_s = 0, t0 = MPI_Wtime();
  if (!err) {
    int64_t align = alq_partition_align(plan.meta.n_items, plan.meta.chunk_rows, size);
    alq_range shard = alq_partition_rows(plan.meta.n_items, align, size, rank);
    alq_stream_request stream = {comm,        &plan.meta, src, shard, align, plan.chunk_rows, 0, labeled.ids,
                                 labeled.n,   !plan.quiet, NULL};
    err = alq_anchoral_retrieve(&stream, anchors, plan.n_anchors, plan.k, &lists, &sgemm_s);
  }
  double seconds = MPI_Wtime() - t0;
  alq_source_close(src);
  if (!err)
    err = alq_agree(comm, rank == 0 ? write_lists(o, &plan, size, lists) : ALQ_OK);
  if (!err && rank == 0 && !plan.quiet) {
    double flops = 2.0 * (double)plan.meta.n_items * (double)plan.n_anchors * (double)plan.meta.dim;
    fprintf(stderr,
            "alq: retrieved %lld neighbor(s) for each of %lld anchor(s) on %d rank(s) in %.3f s "
            "(slowest rank's bound GEMM %.3f s, %.2f GFLOP/s over all ranks): %s\n",
            (long long)plan.k, (long long)plan.n_anchors, size, seconds, sgemm_s,
            sgemm_s > 0 ? flops / sgemm_s / 1e9 : 0.0, o->out);
  }
  free(lists);
  free(anchors);
  alq_labeled_free(&labeled);
  return err;
}

int alq_cmd_retrieve(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  retrieve_options opt;
  int code;
  /* Only rank 0 parses: the others start from zeroed options, which run() expects. */
  memset(&opt, 0, sizeof opt);
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
