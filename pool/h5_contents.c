/* pool/h5_contents.c: what a pool file holds, for the errors that say what
 * is missing, and the stored types alq converts on read. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>

#include "pool_hdf5.h"

typedef struct {
  char *out;
  size_t size, used;
  int count;
} contents;

static void append(contents *c, const char *text) {
  if (c->used + 1 >= c->size)
    return;
  int n = snprintf(c->out + c->used, c->size - c->used, "%s", text);
  c->used += n > 0 ? (size_t)n : 0;
  if (c->used >= c->size)
    c->used = c->size - 1;
}

static herr_t visit(hid_t obj, const char *name, const H5O_info_t *info, void *data) {
  contents *c = data;
  if (info->type != H5O_TYPE_DATASET)
    return 0;
  hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
  if (ds < 0)
    return 0;
  hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
  hsize_t dims[8] = {0};
  int rank = H5Sget_simple_extent_ndims(space);
  if (rank > 8)
    rank = 8;
  H5Sget_simple_extent_dims(space, dims, NULL);
  char shape[160] = "", item[512];
  for (int i = 0; i < rank; i++)
    snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%llu", i ? " x " : "",
             (unsigned long long)dims[i]);
  snprintf(item, sizeof item, "%s/%s [%s] %s", c->count ? ", " : "", name, shape, alq_h5_type_name(type));
  append(c, item);
  c->count++;
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(ds);
  return 0;
}

void alq_h5_contents(hid_t file, char *out, size_t size) {
  contents c = {out, size, 0, 0};
  out[0] = '\0';
  append(&c, "; the file holds ");
  H5Ovisit(file, H5_INDEX_NAME, H5_ITER_INC, visit, &c);
  if (!c.count)
    append(&c, "no datasets");
}

alq_err alq_h5_missing(hid_t file, const char *path, const char *name, const char *why) {
  char list[1536];
  alq_h5_contents(file, list, sizeof list);
  return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s is missing%s%s", path, name, why ? why : "", list);
}

static void expected_types(unsigned accept, char *out, size_t size) {
  const char *names[4] = {"float16, float32 or float64", "int32", "int64", "uint64"};
  out[0] = '\0';
  for (int i = 0; i < 4; i++)
    if (accept & (1u << i))
      snprintf(out + strlen(out), size - strlen(out), "%s%s", out[0] ? " or " : "", names[i]);
}

static int type_accepted(hid_t type, unsigned accept) {
  size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
  case H5T_FLOAT:
    return (accept & ALQ_H5_FLOATS) && (size == 2 || size == 4 || size == 8);
  case H5T_INTEGER: {
    int is_signed = H5Tget_sign(type) == H5T_SGN_2;
    return (is_signed && size == 4 && (accept & ALQ_H5_INT32)) || (is_signed && size == 8 && (accept & ALQ_H5_INT64)) ||
           (!is_signed && size == 8 && (accept & ALQ_H5_UINT64));
  }
  default:
    return 0;
  }
}

alq_err alq_h5_check_stored(hid_t file, const char *path, const char *name, int rank, unsigned accept, hsize_t *dims,
                            int *width, int *is_unsigned) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open dataset %s", path, name);
  hid_t type = H5Dget_type(ds), space = H5Dget_space(ds), dcpl = H5Dget_create_plist(ds);
  int got_rank = H5Sget_simple_extent_ndims(space);
  alq_err err = ALQ_OK;
  if (H5Pget_layout(dcpl) == H5D_VIRTUAL) {
    /* Parallel HDF5 1.10 (the MPI-IO driver) cannot read a virtual dataset:
     * every read would fail later with no reason given. */
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s is an HDF5 virtual dataset, which parallel HDF5 %d.%d cannot "
                        "read; copy it into one file (h5py: f2['%s'] = f1['%s'][:])", path, name, H5_VERS_MAJOR,
                        H5_VERS_MINOR, name + (name[0] == '/'), name + (name[0] == '/'));
  } else if (!type_accepted(type, accept)) {
    char expected[96];
    expected_types(accept, expected, sizeof expected);
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has dtype %s, expected %s", path, name, alq_h5_type_name(type),
                        expected);
  } else if (got_rank != rank) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has %d dimension(s), expected %d", path, name, got_rank, rank);
  } else {
    H5Sget_simple_extent_dims(space, dims, NULL);
    if (width)
      *width = (int)H5Tget_size(type);
    if (is_unsigned)
      *is_unsigned = H5Tget_class(type) == H5T_INTEGER && H5Tget_sign(type) != H5T_SGN_2;
  }
  H5Pclose(dcpl);
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(ds);
  return err;
}
