/* pool/pool_write.c: alq_pool_write, the serial writer behind alq gen and import.
 *
 * The file appears complete or not at all: everything is written to
 * "<path>.tmp.<pid>" in the same folder (so the rename stays on one file
 * system) and renamed over `path` only after HDF5 has closed it cleanly.
 */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/half.h"
#include "alq/h5_records.h"

#include "alq/pool.h"
#include "alq/version.h"

/* A chunk of /embeddings is about this many bytes: big enough for efficient
 * I/O, small enough that a reader's block never needs much more memory. */
#define CHUNK_BYTES (1 << 20)

/* Rows per chunk, shared by every [N]-row dataset so that a block of rows maps
 * onto whole chunks of each. */
static hsize_t chunk_rows(int64_t n_items, int64_t dim) {
  int64_t rows = CHUNK_BYTES / (dim * (int64_t)sizeof(float));
  if (rows < 1)
    rows = 1;
  return (hsize_t)(rows < n_items ? rows : n_items); /* a chunk may not exceed a fixed extent */
}

/* Creates dataset `name` under `loc` and writes all of `buf`; `chunk` NULL
 * means contiguous storage.  Errors name the dataset and the pool. */
static alq_err write_dataset(hid_t loc, const char *pool, const char *name, hid_t file_type,
                             hid_t mem_type, int rank, const hsize_t *dims, const hsize_t *chunk,
                             const void *buf) {
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
  hid_t dset = H5I_INVALID_HID;
  herr_t status = (space < 0 || dcpl < 0) ? -1 : 0;
  if (status >= 0 && chunk)
    status = H5Pset_chunk(dcpl, rank, chunk);
  if (status >= 0) {
    dset = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    status = dset < 0 ? -1 : H5Dwrite(dset, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
  }
  if (dset >= 0 && H5Dclose(dset) < 0)
    status = -1;
  if (dcpl >= 0)
    H5Pclose(dcpl);
  if (space >= 0)
    H5Sclose(space);
  if (status < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write dataset %s of %s", name, pool);
  return ALQ_OK;
}

static alq_err write_attribute(hid_t file, const char *pool, const char *name, hid_t type,
                               const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = space < 0 ? H5I_INVALID_HID
                         : H5Acreate2(file, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t status = attr < 0 ? -1 : H5Awrite(attr, type, value);
  if (attr >= 0 && H5Aclose(attr) < 0)
    status = -1;
  if (space >= 0)
    H5Sclose(space);
  if (status < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write attribute %s of %s", name, pool);
  return ALQ_OK;
}

static alq_err write_labeled(hid_t file, const char *pool, const alq_labeled *set) {
  hid_t group = H5Gcreate2(file, "labeled", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (group < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create group /labeled in %s", pool);
  hsize_t dims[1] = {(hsize_t)set->n};
  alq_err err = write_dataset(group, pool, "/labeled/ids", H5T_STD_I64LE, H5T_NATIVE_INT64, 1,
                              dims, NULL, set->ids);
  if (!err)
    err = write_dataset(group, pool, "/labeled/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, dims,
                        NULL, set->labels);
  if (H5Gclose(group) < 0 && !err)
    err = alq_error_set(ALQ_ERR_OUTPUT, "cannot close group /labeled in %s", pool);
  return err;
}

/* IEEE 754 binary16, little-endian, as numpy's float16 (HDF5 1.10 has no
 * predefined one): 1 sign, 5 exponent (bias 15), 10 mantissa bits. */
static hid_t half_type(void) {
  hid_t t = H5Tcopy(H5T_IEEE_F32LE);
  if (t < 0 || H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 || H5Tset_ebias(t, 15) < 0 ||
      H5Tset_precision(t, 16) < 0) {
    if (t >= 0)
      H5Tclose(t);
    return -1;
  }
  return t;
}

typedef struct {
  const alq_pool_data *data;
  int float_bytes; /* 4: float32; 2: float16 */
} write_job;

/* One float dataset: float32 as it is, or float16 rounded by alq_float_to_half
 * (nearest even, as numpy's astype; not HDF5's conversion, which in 1.10
 * truncates results below 2^-14, half's subnormals).  |x| < 65520
 * (check_half_range). */
static alq_err write_float_dataset(hid_t file, const char *pool, const char *name, int float_bytes,
                                   const hsize_t *dims, const hsize_t *chunk, const float *x) {
  if (float_bytes == 4)
    return write_dataset(file, pool, name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, dims, chunk, x);
  int64_t n = (int64_t)(dims[0] * dims[1]);
  uint16_t *bits = NULL;
  ALQ_CHECK(alq_malloc(&bits, sizeof *bits * (n ? n : 1), "float16 rows"));
  alq_float_to_half(x, bits, n);
  hid_t half = half_type();
  alq_err err = half < 0 ? alq_error_set(ALQ_ERR_OUTPUT, "cannot make the float16 type for %s", pool)
                         : write_dataset(file, pool, name, half, half, 2, dims, chunk, bits);
  if (half >= 0)
    H5Tclose(half);
  free(bits);
  return err;
}

/* /embeddings and /probs in the stored float type. */
static alq_err write_floats(hid_t file, const char *pool, const write_job *job, hsize_t rows) {
  const alq_pool_data *data = job->data;
  hsize_t dims[2] = {(hsize_t)data->n_items, (hsize_t)data->dim}, chunk[2] = {rows, (hsize_t)data->dim};
  ALQ_CHECK(write_float_dataset(file, pool, "/embeddings", job->float_bytes, dims, chunk, data->embeddings));
  if (!data->probs)
    return ALQ_OK;
  dims[1] = chunk[1] = (hsize_t)data->n_classes;
  return write_float_dataset(file, pool, "/probs", job->float_bytes, dims, chunk, data->probs);
}

static alq_err write_contents(hid_t file, const char *pool, const void *ctx) {
  const write_job *job = ctx;
  const alq_pool_data *data = job->data;
  hsize_t rows = chunk_rows(data->n_items, data->dim), n = (hsize_t)data->n_items;
  ALQ_CHECK(write_floats(file, pool, job, rows));
  if (data->ids)
    ALQ_CHECK(write_dataset(file, pool, "/ids", H5T_STD_I64LE, H5T_NATIVE_INT64, 1, &n, &rows,
                            data->ids));
  if (data->labels)
    ALQ_CHECK(write_dataset(file, pool, "/labels", H5T_STD_I32LE, H5T_NATIVE_INT32, 1, &n, &rows,
                            data->labels));
  if (data->labeled.n > 0)
    ALQ_CHECK(write_labeled(file, pool, &data->labeled));
  if (data->n_classes > 0)
    ALQ_CHECK(write_attribute(file, pool, "classes", H5T_NATIVE_INT64, &data->n_classes));

  /* A variable-length string: h5py reads it as str, not bytes. */
  hid_t string_type = H5Tcopy(H5T_C_S1);
  if (string_type < 0 || H5Tset_size(string_type, H5T_VARIABLE) < 0) {
    if (string_type >= 0)
      H5Tclose(string_type);
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot make the alq_version string type for %s", pool);
  }
  const char *version = ALQ_VERSION;
  alq_err err = write_attribute(file, pool, "alq_version", string_type, &version);
  H5Tclose(string_type);
  return err;
}

/* What the format requires of the data itself; a violation is a caller bug. */
static alq_err check_data(const char *path, const alq_pool_data *data) {
  if (data->n_items < 1 || data->dim < 1 || !data->embeddings)
    return alq_error_set(ALQ_ERR_INTERNAL, "pool %s: no embeddings to write (%lld x %lld)", path,
                         (long long)data->n_items, (long long)data->dim);
  if (data->probs && data->n_classes < 1)
    return alq_error_set(ALQ_ERR_INTERNAL, "pool %s: /probs given with %lld classes", path,
                         (long long)data->n_classes);
  if (data->labeled.n > 0 && (!data->labeled.ids || !data->labeled.labels))
    return alq_error_set(ALQ_ERR_INTERNAL, "pool %s: labeled set without ids or labels", path);
  return ALQ_OK;
}

/* float16 rounds anything of magnitude 65520 or more to infinity. */
static alq_err check_half_range(const char *path, const char *name, const float *x, int64_t rows, int64_t cols) {
  for (int64_t i = 0; x && i < rows * cols; i++)
    if (!(fabsf(x[i]) < 65520.0f))
      return alq_error_set(ALQ_ERR_INPUT, "%s: %s row %lld column %lld is %g, beyond float16's range (largest "
                           "65504): store float32, or standardize", path, name, (long long)(i / cols),
                           (long long)(i % cols), x[i]);
  return ALQ_OK;
}

alq_err alq_pool_write_stored(const char *path, const alq_pool_data *data, int float_bytes) {
  ALQ_CHECK(check_data(path, data));
  if (float_bytes != 4 && float_bytes != 2)
    return alq_error_set(ALQ_ERR_INTERNAL, "pool %s: floats of %d bytes", path, float_bytes);
  if (float_bytes == 2) {
    ALQ_CHECK(check_half_range(path, "/embeddings", data->embeddings, data->n_items, data->dim));
    ALQ_CHECK(check_half_range(path, "/probs", data->probs, data->n_items, data->n_classes));
  }
  write_job job = {data, float_bytes};
  return alq_h5_write_atomic(path, write_contents, &job);
}

alq_err alq_pool_write(const char *path, const alq_pool_data *data) { return alq_pool_write_stored(path, data, 4); }
