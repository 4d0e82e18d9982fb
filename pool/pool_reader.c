/* pool/pool_reader.c: collective parallel reads of row ranges (MPI-IO driver),
 * and the checks every row read from a pool must pass. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/logview.h"
#include "alq/pool.h"
#include "pool_hdf5.h"

struct alq_pool_reader {
  alq_pool_meta meta;
  hid_t file, dxpl;
  hid_t embeddings, probs, ids, labels; /* -1 when absent */
};

alq_err alq_pool_reader_open(MPI_Comm comm, const alq_pool_meta *meta, alq_pool_reader **out) {
  alq_pool_reader *r = NULL;
  ALQ_CHECK(alq_calloc(&r, 1, sizeof *r, "pool reader"));
  r->meta = *meta;
  r->embeddings = r->probs = r->ids = r->labels = -1;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  alq_err err = alq_h5_open_readonly(meta->path, fapl, &r->file);
  H5Pclose(fapl);
  if (err) {
    free(r);
    return err;
  }
  r->dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(r->dxpl, H5FD_MPIO_COLLECTIVE);
  r->embeddings = H5Dopen2(r->file, "/embeddings", H5P_DEFAULT);
  if (meta->has_probs)
    r->probs = H5Dopen2(r->file, "/probs", H5P_DEFAULT);
  if (meta->has_ids)
    r->ids = H5Dopen2(r->file, "/ids", H5P_DEFAULT);
  if (meta->has_labels)
    r->labels = H5Dopen2(r->file, "/labels", H5P_DEFAULT);
  *out = r;
  return ALQ_OK;
}

/* One collective hyperslab read of rows [lo, lo+count) x cols; count may be 0. */
static alq_err read_rows(alq_pool_reader *r, hid_t ds, const char *name, hid_t memtype, int rank, int64_t cols,
                         int64_t lo, int64_t count, void *dst) {
  hsize_t start[2] = {(hsize_t)lo, 0}, dims[2] = {(hsize_t)count, (hsize_t)cols};
  hsize_t one[2] = {1, (hsize_t)cols};
  hid_t fspace = H5Dget_space(ds);
  hid_t mspace = H5Screate_simple(rank, count ? dims : one, NULL);
  static double dummy[8]; /* HDF5 wants a buffer even for an empty selection */
  if (count) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t rc = H5Dread(ds, memtype, mspace, fspace, r->dxpl, count ? dst : (void *)dummy);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %s rows %lld..%lld", r->meta.path, name, (long long)lo,
                         (long long)(lo + count - 1));
  return ALQ_OK;
}

alq_err alq_pool_reader_read(alq_pool_reader *r, int64_t lo, int64_t count, unsigned fields, alq_rows *dst,
                             int64_t *bytes) {
  const alq_pool_meta *m = &r->meta;
  int64_t nbytes = 0;
  alq_phase_begin(ALQ_PHASE_READ);
  alq_err err = ALQ_OK;
  /* Every rank reaches every H5Dread below (collective), whatever happened before. */
  if (fields & ALQ_FIELD_EMBEDDINGS) {
    alq_err e = read_rows(r, r->embeddings, "/embeddings", H5T_NATIVE_FLOAT, 2, m->dim, lo, count, dst->embeddings);
    err = err ? err : e;
    nbytes += count * m->dim * 4;
  }
  if ((fields & ALQ_FIELD_PROBS) && m->has_probs) {
    alq_err e = read_rows(r, r->probs, "/probs", H5T_NATIVE_FLOAT, 2, m->n_classes, lo, count, dst->probs);
    err = err ? err : e;
    nbytes += count * m->n_classes * 4;
  }
  if (fields & ALQ_FIELD_IDS) {
    if (m->has_ids) {
      alq_err e = read_rows(r, r->ids, "/ids", H5T_NATIVE_INT64, 1, 1, lo, count, dst->ids);
      err = err ? err : e;
      nbytes += count * 8;
    } else {
      for (int64_t i = 0; i < count; i++)
        dst->ids[i] = lo + i;
    }
  }
  if ((fields & ALQ_FIELD_LABELS) && m->has_labels) {
    alq_err e = read_rows(r, r->labels, "/labels", H5T_NATIVE_INT32, 1, 1, lo, count, dst->labels);
    err = err ? err : e;
    nbytes += count * 4;
  }
  alq_log_bytes_read(nbytes);
  alq_phase_end(ALQ_PHASE_READ);
  if (bytes)
    *bytes = nbytes;
  return err;
}

void alq_pool_reader_close(alq_pool_reader *r) {
  if (!r)
    return;
  hid_t sets[] = {r->embeddings, r->probs, r->ids, r->labels};
  for (int i = 0; i < 4; i++)
    if (sets[i] >= 0)
      H5Dclose(sets[i]);
  H5Pclose(r->dxpl);
  H5Fclose(r->file);
  free(r);
}

alq_err alq_rows_validate(const alq_pool_meta *meta, const alq_rows *rows, int64_t first_row, int64_t count,
                          unsigned fields) {
  if (fields & ALQ_FIELD_EMBEDDINGS) {
    const float *e = rows->embeddings;
    for (int64_t i = 0; i < count; i++)
      for (int64_t j = 0; j < meta->dim; j++)
        if (!isfinite(e[i * meta->dim + j]))
          return alq_error_set(ALQ_ERR_INPUT, "%s: /embeddings row %lld (id %lld) column %lld is %g", meta->path,
                               (long long)(first_row + i), (long long)rows->ids[i], (long long)j,
                               (double)e[i * meta->dim + j]);
  }
  if ((fields & ALQ_FIELD_PROBS) && meta->has_probs) {
    const int64_t C = meta->n_classes;
    for (int64_t i = 0; i < count; i++) {
      const float *p = rows->probs + i * C;
      double sum = 0;
      for (int64_t c = 0; c < C; c++) {
        if (!isfinite(p[c]) || p[c] < 0)
          return alq_error_set(ALQ_ERR_INPUT, "%s: /probs row %lld (id %lld) column %lld is %g%s", meta->path,
                               (long long)(first_row + i), (long long)rows->ids[i], (long long)c, (double)p[c],
                               isfinite(p[c]) ? " (probabilities must be >= 0)" : "");
        sum += p[c];
      }
      if (fabs(sum - 1.0) > 1e-3)
        return alq_error_set(ALQ_ERR_INPUT, "%s: /probs row %lld (id %lld) sums to %.6g (must be 1 within 1e-3)",
                             meta->path, (long long)(first_row + i), (long long)rows->ids[i], sum);
    }
  }
  return ALQ_OK;
}
