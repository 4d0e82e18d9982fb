/* ood/run.c: `alq ood`: every item's OOD score and reject flag, written for
 * inspection (HDF5 for programs, CSV for people). */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/h5_records.h"
#include "alq/model.h"
#include "alq/partition.h"
#include "alq/paths.h"
#include "alq/select.h"
#include "ood_impl.h"

/* One rank's rows: id, score, labeled flag. */
typedef struct {
  const alq_ood_model *m;
  alq_ood_work work;
  int64_t n, *ids;
  double *scores;
  unsigned char *labeled;
} shard_scores;

static alq_err keep_chunk(void *ctx, const alq_chunk_view *v) {
  shard_scores *st = ctx;
  alq_ood_score_rows(st->m, &st->work, v->rows, v->count, NULL, st->scores + st->n);
  memcpy(st->ids + st->n, v->rows->ids, sizeof(int64_t) * v->count);
  memcpy(st->labeled + st->n, v->is_labeled, v->count);
  st->n += v->count;
  return ALQ_OK;
}

/* Rank 0: the pool's shape (as the model serves it) and the labeled set. */
static alq_err prepare(const alq_ood_run_options *o, alq_pool_meta *meta, alq_labeled *labeled) {
  ALQ_CHECK(alq_source_describe(o->pool, meta));
  if (o->model[0])
    ALQ_CHECK(alq_model_serves(o->model, 0, meta));
  const char *lpath = o->labeled[0] ? o->labeled : o->pool;
  if (!o->labeled[0] && strncmp(o->pool, "gen:", 4) == 0)
    return alq_error_set(ALQ_ERR_USAGE, "a gen: pool has no labeled set: give --labeled FILE");
  return alq_labeled_read(lpath, meta->n_classes, 1, labeled);
}

static herr_t attr_double(hid_t loc, const char *name, double v) {
  hid_t sp = H5Screate(H5S_SCALAR);
  hid_t a = H5Acreate2(loc, name, H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &v) < 0 ? -1 : 0;
  H5Aclose(a);
  H5Sclose(sp);
  return rc;
}

typedef struct {
  int64_t n, *ids;
  double *scores;
  unsigned char *rejected, *labeled;
} all_scores;

static alq_err write_h5(const char *tmp, const alq_ood_run_options *o, const alq_ood_model *m, const all_scores *a,
                        int64_t rejected) {
  hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s", o->out);
  herr_t rc = 0;
  hid_t g = H5Gcreate2(file, "/ood", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  rc |= g < 0 ? -1 : 0;
  if (g >= 0) {
    rc |= alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, a->n, a->ids);
    rc |= alq_h5w_1d(g, "scores", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, a->n, a->scores);
    rc |= alq_h5w_1d(g, "rejected", H5T_STD_U8LE, H5T_NATIVE_UINT8, a->n, a->rejected);
    rc |= alq_h5w_1d(g, "labeled", H5T_STD_U8LE, H5T_NATIVE_UINT8, a->n, a->labeled);
    H5Gclose(g);
  }
  g = H5Gcreate2(file, "/calibration", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  rc |= g < 0 ? -1 : 0;
  if (g >= 0) {
    rc |= alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, m->n_ref, m->ref_ids);
    rc |= alq_h5w_1d(g, "scores", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, m->n_ref, m->calibration);
    H5Gclose(g);
  }
  rc |= alq_h5w_attr_string(file, "ood", alq_ood_kind_name(m->opt.kind));
  rc |= alq_h5w_attr_string(file, "pool", o->pool);
  rc |= alq_h5w_attr_string(file, "space", alq_ood_space_name(m->opt.space));
  rc |= attr_double(file, "reject", m->opt.reject);
  rc |= attr_double(file, "threshold", m->threshold);
  rc |= attr_double(file, "temperature", m->opt.temperature);
  rc |= alq_h5w_attr_int64(file, "k", m->opt.k);
  rc |= alq_h5w_attr_int64(file, "calibration_items", m->n_ref);
  rc |= alq_h5w_attr_int64(file, "rejected", rejected);
  if (H5Fclose(file) < 0 || rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", o->out);
  return ALQ_OK;
}

static alq_err write_csv(const char *tmp, const char *path, const all_scores *a) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", path, strerror(errno));
  int bad = fprintf(f, "id,score,rejected,labeled\n") < 0;
  for (int64_t i = 0; i < a->n && !bad; i++)
    bad = fprintf(f, "%lld,%.17g,%d,%d\n", (long long)a->ids[i], a->scores[i], a->rejected[i], a->labeled[i]) < 0;
  if (fclose(f) != 0 || bad)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s: %s", path, strerror(errno));
  return ALQ_OK;
}

/* Rank 0: both outputs under temporary names, renamed together. */
static alq_err write_outputs(const alq_ood_run_options *o, const alq_ood_model *m, const all_scores *a) {
  char tmp_h5[ALQ_PATH_MAX + 32], tmp_csv[ALQ_PATH_MAX + 32] = "";
  ALQ_CHECK(alq_paths_temp(o->out, tmp_h5, sizeof tmp_h5));
  if (o->csv[0])
    ALQ_CHECK(alq_paths_temp(o->csv, tmp_csv, sizeof tmp_csv));
  int64_t rejected = 0;
  for (int64_t i = 0; i < a->n; i++)
    rejected += a->rejected[i] && !a->labeled[i];
  const char *tmp[2] = {tmp_h5, tmp_csv}, *final_path[2] = {o->out, o->csv};
  int n = o->csv[0] ? 2 : 1;
  alq_err err = write_h5(tmp_h5, o, m, a, rejected);
  if (!err && o->csv[0])
    err = write_csv(tmp_csv, o->csv, a);
  if (err) {
    alq_paths_discard(tmp, n);
    return err;
  }
  ALQ_CHECK(alq_paths_commit(tmp, final_path, n));
  if (!o->quiet)
    fprintf(stderr, "alq: ood %s: %lld of %lld unlabeled item(s) above threshold %.6g (calibrated on %lld labeled): "
            "%s%s%s\n", alq_ood_kind_name(m->opt.kind), (long long)rejected, (long long)(a->n - m->n_ref), m->threshold,
            (long long)m->n_ref, o->out, o->csv[0] ? ", " : "", o->csv);
  return ALQ_OK;
}

/* Every rank's rows on rank 0, in rank (= row) order. */
static alq_err gather(MPI_Comm comm, const shard_scores *st, all_scores *a) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(a, 0, sizeof *a);
  unsigned char *ids = NULL, *scores = NULL, *flags = NULL;
  int *counts = NULL, *displs = NULL;
  alq_err err = alq_gatherv_bytes(st->ids, (int)(sizeof(int64_t) * st->n), 0, comm, &ids, &counts, &displs);
  free(counts), free(displs), counts = NULL, displs = NULL;
  if (!err)
    err = alq_gatherv_bytes(st->scores, (int)(sizeof(double) * st->n), 0, comm, &scores, &counts, &displs);
  free(counts), free(displs), counts = NULL, displs = NULL;
  if (!err)
    err = alq_gatherv_bytes(st->labeled, (int)st->n, 0, comm, &flags, &counts, &displs);
  for (int r = 0; !err && rank == 0 && r < size; r++)
    a->n += counts[r];
  free(counts), free(displs);
  a->ids = (int64_t *)ids;
  a->scores = (double *)scores;
  a->labeled = flags;
  return err;
}

/* Every item's score, streamed from the source the fitted stage reads (m->source). */
static alq_err score_pool(MPI_Comm comm, const alq_ood_run_options *o, const alq_pool_meta *meta,
                          const alq_labeled *labeled, const alq_ood_model *m, all_scores *a) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  int64_t align = alq_partition_align(meta->n_items, meta->chunk_rows, size);
  alq_range shard = alq_partition_rows(meta->n_items, align, size, rank);
  int64_t rows = shard.hi - shard.lo, chunk = o->chunk_rows > 0 ? o->chunk_rows : alq_default_chunk_rows(meta);
  alq_stream_request sr = {comm,       &m->source->meta, m->source, shard, align, chunk, alq_ood_fields(m),
                           labeled->ids, labeled->n, !o->quiet, NULL};
  shard_scores st = {.m = m};
  alq_err err = alq_ood_work_init(m, &st.work);
  if (!err)
    err = alq_malloc(&st.ids, sizeof(int64_t) * (rows ? rows : 1), "shard ids");
  if (!err)
    err = alq_malloc(&st.scores, sizeof(double) * (rows ? rows : 1), "shard OOD scores");
  if (!err)
    err = alq_malloc(&st.labeled, rows ? rows : 1, "shard labeled flags");
  err = alq_agree(comm, err);
  alq_stream_result res = {0};
  if (!err)
    err = alq_worker_stream(&sr, keep_chunk, &st, &res);
  for (int64_t j = 0; !err && j < labeled->n; j++)
    if (!res.labeled_found[j])
      err = alq_error_set(ALQ_ERR_INPUT, "labeled id %lld is not an id of pool %s", (long long)labeled->ids[j],
                          meta->path);
  free(res.labeled_found);
  if (!err)
    err = gather(comm, &st, a);
  if (!err && rank == 0) {
    err = alq_malloc(&a->rejected, a->n ? a->n : 1, "reject flags");
    for (int64_t i = 0; !err && i < a->n; i++)
      a->rejected[i] = a->scores[i] > m->threshold;
  }
  alq_ood_work_free(&st.work);
  free(st.ids);
  free(st.scores);
  free(st.labeled);
  return alq_agree(comm, err);
}

alq_err alq_ood_run(MPI_Comm comm, const alq_ood_run_options *opt_root) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_ood_run_options o = *opt_root; /* plain data; rank 0's is the one that counts */
  ALQ_CHECK(alq_bcast(&o, sizeof o, 0, comm));
  alq_pool_meta meta;
  alq_labeled labeled = {0};
  memset(&meta, 0, sizeof meta);
  alq_err err = rank == 0 ? prepare(&o, &meta, &labeled) : ALQ_OK;
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(&meta, sizeof meta, 0, comm);
  if (!err)
    err = alq_labeled_share(comm, &labeled);
  alq_source *src = NULL;
  if (!err)
    err = o.model[0] ? alq_source_open_model(comm, &meta, o.model, 0, 0, &src)
                     : alq_agree(comm, alq_source_open(comm, &meta, &src));
  alq_ood_model m = {0};
  if (!err)
    err = alq_ood_fit(comm, &o.ood, src, &labeled, &m);
  all_scores a = {0};
  if (!err)
    err = score_pool(comm, &o, &meta, &labeled, &m, &a);
  alq_source_close(src);
  if (!err)
    err = alq_agree(comm, rank == 0 ? write_outputs(&o, &m, &a) : ALQ_OK);
  free(a.ids);
  free(a.scores);
  free(a.rejected);
  free(a.labeled);
  alq_ood_model_free(&m);
  alq_labeled_free(&labeled);
  return err;
}
