/* pool/source_hdf5.c: the `hdf5` pool source: collective parallel reads of
 * row ranges with the MPI-IO driver. */
#include <hdf5.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/source.h"
#include "pool_hdf5.h"
#include "source_impl.h"

typedef struct {
  alq_pool_meta meta;
  hid_t file, dxpl;
  hid_t embeddings, probs, ids, labels, mc_probs; /* -1 when absent */
  /* /mc_probs reduction, reused across reads: one pass's rows, and the sum of
   * the passes' probabilities per row (memory independent of T). */
  int64_t mc_cap;
  float *mc_pass;
  double *mc_sum;
} hdf5_reader;

static alq_err reader_open(MPI_Comm comm, const alq_pool_meta *meta, hdf5_reader **out) {
  hdf5_reader *r = NULL;
  ALQ_CHECK(alq_calloc(&r, 1, sizeof *r, "pool reader"));
  r->meta = *meta;
  r->embeddings = r->probs = r->ids = r->labels = r->mc_probs = -1;
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
  if (meta->mc_passes > 0)
    r->mc_probs = H5Dopen2(r->file, "/mc_probs", H5P_DEFAULT);
  *out = r;
  return ALQ_OK;
}

/* One hyperslab read of rows [lo, lo+count) x cols; count may be 0. */
static alq_err read_rows(hdf5_reader *r, hid_t dxpl, hid_t ds, const char *name, hid_t memtype, int rank,
                         int64_t cols, int64_t lo, int64_t count, void *dst) {
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
  herr_t rc = H5Dread(ds, memtype, mspace, fspace, dxpl, count ? dst : (void *)dummy);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %s rows %lld..%lld", r->meta.path, name, (long long)lo,
                         (long long)(lo + count - 1));
  return ALQ_OK;
}

/* Pass t of /mc_probs, rows [lo, lo+count), into r->mc_pass (collective). */
static alq_err read_pass(hdf5_reader *r, int64_t t, int64_t lo, int64_t count) {
  const int64_t c = r->meta.n_classes;
  hsize_t start[3] = {(hsize_t)t, (hsize_t)lo, 0}, slab[3] = {1, (hsize_t)count, (hsize_t)c};
  hsize_t mdims[2] = {(hsize_t)(count ? count : 1), (hsize_t)c};
  hid_t fspace = H5Dget_space(r->mc_probs);
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  if (count) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, slab, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t rc = H5Dread(r->mc_probs, H5T_NATIVE_FLOAT, mspace, fspace, r->dxpl, r->mc_pass);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /mc_probs pass %lld rows %lld..%lld", r->meta.path,
                         (long long)t, (long long)lo, (long long)(lo + count - 1));
  return ALQ_OK;
}

static alq_err mc_reserve(hdf5_reader *r, int64_t rows) {
  if (rows <= r->mc_cap)
    return ALQ_OK;
  free(r->mc_pass);
  free(r->mc_sum);
  r->mc_pass = NULL;
  r->mc_sum = NULL;
  r->mc_cap = 0;
  ALQ_CHECK(alq_malloc(&r->mc_pass, sizeof(float) * rows * r->meta.n_classes, "/mc_probs pass rows"));
  ALQ_CHECK(alq_malloc(&r->mc_sum, sizeof(double) * rows * r->meta.n_classes, "/mc_probs sums"));
  r->mc_cap = rows;
  return ALQ_OK;
}

/* Adds one pass to the probability sums and its entropies to `entropy`;
 * checks the pass's distributions as /probs is checked. */
static alq_err add_pass(hdf5_reader *r, int64_t t, int64_t lo, int64_t count, double *entropy) {
  const int64_t c = r->meta.n_classes;
  for (int64_t i = 0; i < count; i++) {
    const float *p = r->mc_pass + i * c;
    double sum = 0, h = 0;
    for (int64_t k = 0; k < c; k++) {
      if (!isfinite(p[k]) || p[k] < 0)
        return alq_error_set(ALQ_ERR_INPUT, "%s: /mc_probs pass %lld row %lld column %lld is %g (need a finite "
                             "value >= 0)", r->meta.path, (long long)t, (long long)(lo + i), (long long)k, p[k]);
      sum += p[k];
      h -= p[k] > 0 ? (double)p[k] * log((double)p[k]) : 0;
      r->mc_sum[i * c + k] += p[k];
    }
    if (fabs(sum - 1) > 1e-3)
      return alq_error_set(ALQ_ERR_INPUT, "%s: /mc_probs pass %lld row %lld sums to %.6f, not 1", r->meta.path,
                           (long long)t, (long long)(lo + i), sum);
    entropy[i] += h;
  }
  return ALQ_OK;
}

/* BALD's inputs from /mc_probs, pass by pass: dst->probs gets the mean of the
 * T passes and dst->expected_entropy the mean of their entropies, summed in
 * pass order (a function of the row alone).  Every rank makes the T
 * collective reads, with nothing to read once it has failed. */
static alq_err read_mc(hdf5_reader *r, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  const int64_t c = r->meta.n_classes, T = r->meta.mc_passes;
  double *entropy = NULL;
  alq_err err = mc_reserve(r, count > 0 ? count : 1);
  if (!err)
    err = alq_calloc(&entropy, count > 0 ? count : 1, sizeof *entropy, "/mc_probs entropies");
  if (!err)
    memset(r->mc_sum, 0, sizeof(double) * count * c);
  for (int64_t t = 0; t < T; t++) {
    alq_err e = read_pass(r, t, lo, err ? 0 : count);
    err = err ? err : e;
    if (!err)
      err = add_pass(r, t, lo, count, entropy);
  }
  for (int64_t i = 0; !err && i < count; i++) {
    dst->expected_entropy[i] = (float)(entropy[i] / (double)T);
    for (int64_t k = 0; (fields & ALQ_FIELD_PROBS) && k < c; k++)
      dst->probs[i * c + k] = (float)(r->mc_sum[i * c + k] / (double)T);
  }
  free(entropy);
  return err;
}

static alq_err hdf5_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  hdf5_reader *r = s->impl;
  const alq_pool_meta *m = &r->meta;
  alq_err err = ALQ_OK;
  /* Every rank reaches every H5Dread below (collective), whatever happened before. */
  if (fields & ALQ_FIELD_EMBEDDINGS) {
    alq_err e = read_rows(r, r->dxpl, r->embeddings, "/embeddings", H5T_NATIVE_FLOAT, 2, m->dim, lo, count, dst->embeddings);
    err = err ? err : e;
  }
  if (fields & ALQ_FIELD_EXPECTED_ENTROPY) {
    if (m->mc_passes < 1)
      return alq_error_set(ALQ_ERR_INTERNAL, "%s: expected entropies asked of a pool without /mc_probs", m->path);
    alq_err e = read_mc(r, lo, count, fields, dst);
    err = err ? err : e;
  } else if ((fields & ALQ_FIELD_PROBS) && m->has_probs) {
    alq_err e = read_rows(r, r->dxpl, r->probs, "/probs", H5T_NATIVE_FLOAT, 2, m->n_classes, lo, count, dst->probs);
    err = err ? err : e;
  }
  if (fields & ALQ_FIELD_IDS) {
    if (m->has_ids) {
      alq_err e = read_rows(r, r->dxpl, r->ids, "/ids", H5T_NATIVE_INT64, 1, 1, lo, count, dst->ids);
      err = err ? err : e;
    } else {
      for (int64_t i = 0; i < count; i++)
        dst->ids[i] = lo + i;
    }
  }
  if ((fields & ALQ_FIELD_LABELS) && m->has_labels) {
    alq_err e = read_rows(r, r->dxpl, r->labels, "/labels", H5T_NATIVE_INT32, 1, 1, lo, count, dst->labels);
    err = err ? err : e;
  }
  return err;
}

/* The row of `id` by binary search over /ids (strictly increasing), one
 * independent single-element read per probe. */
static alq_err find_row(hdf5_reader *r, int64_t id, int64_t *row) {
  int64_t lo = 0, hi = r->meta.n_items, v = 0;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    ALQ_CHECK(read_rows(r, H5P_DEFAULT, r->ids, "/ids", H5T_NATIVE_INT64, 1, 1, mid, 1, &v));
    if (v < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (lo < r->meta.n_items)
    ALQ_CHECK(read_rows(r, H5P_DEFAULT, r->ids, "/ids", H5T_NATIVE_INT64, 1, 1, lo, 1, &v));
  *row = lo < r->meta.n_items && v == id ? lo : -1;
  return ALQ_OK;
}

static alq_err hdf5_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  hdf5_reader *r = s->impl;
  const alq_pool_meta *m = &r->meta;
  for (int64_t i = 0; i < n; i++) {
    int64_t row = ids[i] >= 0 && ids[i] < m->n_items ? ids[i] : -1;
    if (m->has_ids)
      ALQ_CHECK(find_row(r, ids[i], &row));
    if (row < 0)
      return alq_error_set(ALQ_ERR_INPUT, "id %lld is not an item of pool %s", (long long)ids[i], m->path);
    if (dst->ids)
      dst->ids[i] = ids[i];
    /* H5P_DEFAULT transfers are independent: only this rank takes part. */
    if (fields & ALQ_FIELD_EMBEDDINGS)
      ALQ_CHECK(read_rows(r, H5P_DEFAULT, r->embeddings, "/embeddings", H5T_NATIVE_FLOAT, 2, m->dim, row, 1,
                          dst->embeddings + i * m->dim));
    if ((fields & ALQ_FIELD_PROBS) && m->has_probs)
      ALQ_CHECK(read_rows(r, H5P_DEFAULT, r->probs, "/probs", H5T_NATIVE_FLOAT, 2, m->n_classes, row, 1,
                          dst->probs + i * m->n_classes));
    if ((fields & ALQ_FIELD_LABELS) && m->has_labels)
      ALQ_CHECK(read_rows(r, H5P_DEFAULT, r->labels, "/labels", H5T_NATIVE_INT32, 1, 1, row, 1, dst->labels + i));
  }
  return ALQ_OK;
}

static void hdf5_close(alq_source *s) {
  hdf5_reader *r = s->impl;
  hid_t sets[] = {r->embeddings, r->probs, r->ids, r->labels, r->mc_probs};
  for (int i = 0; i < 5; i++)
    if (sets[i] >= 0)
      H5Dclose(sets[i]);
  free(r->mc_pass);
  free(r->mc_sum);
  H5Pclose(r->dxpl);
  H5Fclose(r->file);
  free(r);
  free(s);
}

static const alq_source_ops hdf5_ops = {"hdf5", hdf5_read, hdf5_fetch, hdf5_close};

alq_err alq_hdf5_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out) {
  alq_source *s = NULL;
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "pool source"));
  hdf5_reader *r = NULL;
  alq_err err = reader_open(comm, meta, &r);
  if (err) {
    free(s);
    return err;
  }
  s->ops = &hdf5_ops;
  s->meta = *meta;
  s->impl = r;
  *out = s;
  return ALQ_OK;
}
