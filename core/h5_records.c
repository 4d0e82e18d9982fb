/* core/h5_records.c: small HDF5 records (alq/h5_records.h). */
#include "alq/h5_records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

herr_t alq_h5w_1d(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int64_t n, const void *data) {
  hsize_t dims[1] = {(hsize_t)n};
  hid_t space = H5Screate_simple(1, dims, NULL);
  hid_t ds = space < 0 ? H5I_INVALID_HID : H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = ds < 0 ? -1 : (n ? H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) : 0);
  if (ds >= 0 && H5Dclose(ds) < 0)
    rc = -1;
  if (space >= 0)
    H5Sclose(space);
  return rc;
}

herr_t alq_h5w_2d(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int64_t rows, int64_t cols,
                  const void *data) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t space = H5Screate_simple(2, dims, NULL);
  hid_t ds = H5Dcreate2(loc, name, file_type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  if (ds >= 0)
    H5Dclose(ds);
  H5Sclose(space);
  return rc;
}

herr_t alq_h5w_strings(hid_t loc, const char *name, int64_t n, size_t width, const char *data) {
  hid_t type = H5Tcopy(H5T_C_S1);
  herr_t rc = type < 0 ? -1 : H5Tset_size(type, width);
  if (rc >= 0)
    rc = H5Tset_strpad(type, H5T_STR_NULLPAD);
  if (rc >= 0)
    rc = alq_h5w_1d(loc, name, type, type, n, data);
  if (type >= 0)
    H5Tclose(type);
  return rc;
}

static herr_t write_attr(hid_t loc, const char *name, hid_t type, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = space < 0 ? H5I_INVALID_HID : H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, value);
  if (attr >= 0 && H5Aclose(attr) < 0)
    rc = -1;
  if (space >= 0)
    H5Sclose(space);
  return rc;
}

herr_t alq_h5w_attr_string(hid_t loc, const char *name, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  herr_t rc = type < 0 ? -1 : H5Tset_size(type, strlen(value) + 1);
  if (rc >= 0)
    rc = write_attr(loc, name, type, value);
  if (type >= 0)
    H5Tclose(type);
  return rc;
}

herr_t alq_h5w_attr_int64(hid_t loc, const char *name, int64_t value) {
  return write_attr(loc, name, H5T_STD_I64LE, &value);
}

herr_t alq_h5w_attr_uint64(hid_t loc, const char *name, uint64_t value) {
  return write_attr(loc, name, H5T_STD_U64LE, &value);
}

alq_err alq_h5r_1d(hid_t loc, const char *file, const char *name, hid_t mem_type, size_t elem_size, void *pdata,
                   int64_t *n) {
  hid_t ds = H5Dopen2(loc, name, H5P_DEFAULT);
  if (ds < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s is missing", file, name);
  hid_t space = H5Dget_space(ds);
  hsize_t dims[1] = {0};
  int rank = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
  if (rank == 1)
    H5Sget_simple_extent_dims(space, dims, NULL);
  if (space >= 0)
    H5Sclose(space);
  alq_err err = ALQ_OK;
  if (rank != 1)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s is not one-dimensional", file, name);
  void *data = NULL;
  if (!err)
    err = alq_malloc(&data, elem_size * (dims[0] ? dims[0] : 1), name);
  if (!err && dims[0] && H5Dread(ds, mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read dataset %s (wrong type?)", file, name);
  H5Dclose(ds);
  if (err) {
    free(data);
    return err;
  }
  *(void **)pdata = data;
  *n = (int64_t)dims[0];
  return ALQ_OK;
}

alq_err alq_h5r_strings(hid_t loc, const char *file, const char *name, size_t width, void *pdata, int64_t *n) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, width);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  alq_err err = alq_h5r_1d(loc, file, name, type, width, pdata, n);
  H5Tclose(type);
  return err;
}

static alq_err read_attr(hid_t loc, const char *file, const char *name, hid_t type, void *value) {
  hid_t attr = H5Aexists(loc, name) > 0 ? H5Aopen(loc, name, H5P_DEFAULT) : H5I_INVALID_HID;
  if (attr < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: attribute %s is missing", file, name);
  herr_t rc = H5Aread(attr, type, value);
  H5Aclose(attr);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read attribute %s (wrong type?)", file, name);
  return ALQ_OK;
}

alq_err alq_h5r_attr_string(hid_t loc, const char *file, const char *name, char *value, size_t size) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, size);
  H5Tset_strpad(type, H5T_STR_NULLTERM);
  alq_err err = read_attr(loc, file, name, type, value);
  H5Tclose(type);
  value[size - 1] = '\0';
  return err;
}

alq_err alq_h5r_attr_int64(hid_t loc, const char *file, const char *name, int64_t *value) {
  return read_attr(loc, file, name, H5T_NATIVE_INT64, value);
}

alq_err alq_h5r_attr_uint64(hid_t loc, const char *file, const char *name, uint64_t *value) {
  return read_attr(loc, file, name, H5T_NATIVE_UINT64, value);
}

alq_err alq_h5_write_atomic(const char *path, alq_err (*write)(hid_t file, const char *path, const void *ctx),
                            const void *ctx) {
  char tmp[4096 + 32];
  if (snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof tmp)
    return alq_error_set(ALQ_ERR_OUTPUT, "output path too long: %s", path);
  H5E_auto2_t print_errors;
  void *print_data;
  H5Eget_auto2(H5E_DEFAULT, &print_errors, &print_data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  alq_err err = ALQ_OK;
  hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0) {
    err = alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s (temporary file for %s)", tmp, path);
  } else {
    err = write(file, path, ctx);
    if (H5Fclose(file) < 0 && !err)
      err = alq_error_set(ALQ_ERR_OUTPUT, "cannot close %s (temporary file for %s)", tmp, path);
  }
  if (!err && rename(tmp, path) != 0)
    err = alq_error_set(ALQ_ERR_OUTPUT, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
  if (err)
    remove(tmp);
  H5Eset_auto2(H5E_DEFAULT, print_errors, print_data);
  return err;
}
