/* coordinator/output.c: the batch, as HDF5 for programs and CSV for people.
 * Both are written under temporary names and renamed together only when
 * complete (alq/paths.h), so a failed run leaves no new output, never a
 * half-written one, and every file that existed before as it was. */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "alq/h5_records.h"
#include "alq/paths.h"
#include "alq/version.h"
#include "coordinator.h"

/* --ood: the threshold, the labeled items it was calibrated on, and how many
 * unlabeled items it rejected, in all and per rank (alq/ood.h). */
static herr_t write_ood_attributes(hid_t file, const alq_request *req, int nranks) {
  if (req->ood.kind == ALQ_OOD_NONE)
    return 0;
  herr_t rc = alq_h5w_attr_string(file, "ood", alq_ood_kind_name(req->ood.kind));
  rc |= alq_h5w_attr_string(file, "ood_space", alq_ood_space_name(req->ood.space));
  rc |= alq_h5w_attr_int64(file, "ood_rejected", req->ood_rejected);
  rc |= alq_h5w_attr_int64(file, "ood_calibration_items", req->ood_calibration);
  const double values[2] = {req->ood.reject, req->ood_threshold};
  const char *names[2] = {"ood_reject", "ood_threshold"};
  for (int i = 0; i < 2; i++) {
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(file, names[i], H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    rc |= a < 0 || H5Awrite(a, H5T_NATIVE_DOUBLE, &values[i]) < 0 ? -1 : 0;
    H5Aclose(a);
    H5Sclose(sp);
  }
  hsize_t n = (hsize_t)nranks;
  hid_t sp = H5Screate_simple(1, &n, NULL);
  hid_t a = H5Acreate2(file, "ood_rejected_per_rank", H5T_STD_I64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
  rc |= a < 0 || H5Awrite(a, H5T_NATIVE_INT64, req->ood_rejected_per_rank) < 0 ? -1 : 0;
  H5Aclose(a);
  H5Sclose(sp);
  return rc;
}

/* Why HDF5 could not create `tmp`: its errno is not kept, so a full file
 * system (no block left for this user) is asked of the folder itself. */
static const char *create_failure(const char *tmp) {
  if (access(tmp, F_OK) != 0)
    return strerror(errno);
  char dir[ALQ_PATH_MAX];
  snprintf(dir, sizeof dir, "%s", tmp);
  char *slash = strrchr(dir, '/');
  if (slash)
    *(slash == dir ? slash + 1 : slash) = '\0';
  struct statvfs fs;
  if (statvfs(slash ? dir : ".", &fs) == 0 && fs.f_bavail == 0)
    return strerror(ENOSPC);
  return "HDF5 error";
}

static alq_err write_h5(const char *tmp, const char *final_path, const alq_select_options *opt,
                        const alq_request *req, int nranks, const alq_batch *b, const alq_manifest_bytes *manifest) {
  hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", final_path, create_failure(tmp));
  int64_t ranks = nranks, selected = b->n;
  herr_t rc = 0;
  hid_t g = H5Gcreate2(file, "/selected", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  rc |= g < 0 ? -1 : 0;
  if (g >= 0) {
    rc |= alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, b->n, b->ids);
    rc |= alq_h5w_1d(g, "scores", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, b->n, b->scores);
    if (b->relabel) /* activelab: 1 = labeled before, to be answered again (docs/format.md) */
      rc |= alq_h5w_1d(g, "relabel", H5T_STD_I8LE, H5T_NATIVE_INT8, b->n, b->relabel);
    H5Gclose(g);
  }
  rc |= alq_h5w_attr_string(file, "strategy", req->strategy);
  rc |= alq_h5w_attr_uint64(file, "seed", req->seed);
  rc |= alq_h5w_attr_int64(file, "budget", req->budget);
  rc |= alq_h5w_attr_int64(file, "selected", selected);
  rc |= alq_h5w_attr_int64(file, "ranks", ranks);
  rc |= alq_h5w_attr_string(file, "pool", opt->pool);
  rc |= alq_h5w_attr_string(file, "labeled", req->labeled_path);
  rc |= alq_h5w_attr_string(file, "alq_version", ALQ_VERSION);
  rc |= write_ood_attributes(file, req, nranks);
  rc |= alq_h5w_1d(file, "manifest", H5T_STD_U8LE, H5T_NATIVE_UINT8, manifest->len, manifest->data);
  if (H5Fclose(file) < 0 || rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", final_path);
  return ALQ_OK;
}

static alq_err write_csv(const char *tmp, const char *final_path, const alq_batch *b) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", final_path, strerror(errno));
  int bad = fprintf(f, "rank,id,score\n") < 0;
  for (int64_t i = 0; i < b->n && !bad; i++)
    bad = fprintf(f, "%lld,%lld,%.17g\n", (long long)(i + 1), (long long)b->ids[i], b->scores[i]) < 0;
  if (fclose(f) != 0 || bad)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s: %s", final_path, strerror(errno));
  return ALQ_OK;
}

alq_err alq_staged_add(alq_staged_outputs *st, const char *final_path, const char **tmp) {
  ALQ_CHECK(alq_paths_temp(final_path, st->tmp[st->n], sizeof st->tmp[st->n]));
  st->final_path[st->n] = final_path;
  *tmp = st->tmp[st->n++];
  return ALQ_OK;
}

static const char **tmp_names(alq_staged_outputs *st, const char **names) {
  for (int i = 0; i < st->n; i++)
    names[i] = st->tmp[i];
  return names;
}

alq_err alq_staged_commit(alq_staged_outputs *st) {
  const char *tmp[3];
  alq_err err = alq_paths_commit(tmp_names(st, tmp), st->final_path, st->n);
  st->n = 0; /* alq_paths_commit leaves no temporary file either way */
  return err;
}

void alq_staged_discard(alq_staged_outputs *st) {
  const char *tmp[3];
  alq_paths_discard(tmp_names(st, tmp), st->n);
  st->n = 0;
}

alq_err alq_batch_write(const alq_select_options *opt, const alq_request *req, int nranks, const alq_batch *batch,
                        const alq_manifest_bytes *manifest, alq_staged_outputs *st) {
  memset(st, 0, sizeof *st);
  const char *tmp_h5 = NULL, *tmp_csv = NULL;
  alq_err err = alq_staged_add(st, opt->out, &tmp_h5);
  if (!err && opt->csv[0])
    err = alq_staged_add(st, opt->csv, &tmp_csv);
  if (!err)
    err = write_h5(tmp_h5, opt->out, opt, req, nranks, batch, manifest);
  if (!err && opt->csv[0])
    err = write_csv(tmp_csv, opt->csv, batch);
  if (err)
    alq_staged_discard(st);
  return err;
}
