/* coordinator/pool_identity.c: the checksum of id lists and the pool identity
 * that ties a state file and a batch to their pool. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/manifest.h"

/* Rows of /ids read at a time: 8 MiB. */
#define IDS_BLOCK (1 << 20)

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t alq_ids_checksum(const int64_t *ids, int64_t n, int64_t first) {
  uint64_t sum = 0;
  for (int64_t i = 0; i < n; i++)
    sum += mix64((uint64_t)ids[i] + (uint64_t)(first + i) * 0x9e3779b97f4a7c15ULL);
  return sum;
}

static alq_err checksum_row_ids(int64_t n_items, uint64_t *sum) {
  *sum = 0;
  for (int64_t i = 0; i < n_items; i++) {
    int64_t id = i;
    *sum += alq_ids_checksum(&id, 1, i);
  }
  return ALQ_OK;
}

static alq_err checksum_ids_dataset(const char *path, int64_t n_items, uint64_t *sum) {
  *sum = 0;
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open HDF5 file %s", path);
  hid_t ds = H5Dopen2(file, "/ids", H5P_DEFAULT);
  hid_t space = ds < 0 ? H5I_INVALID_HID : H5Dget_space(ds);
  int64_t *block = NULL;
  alq_err err = space < 0 ? alq_error_set(ALQ_ERR_INPUT, "%s: cannot open dataset /ids", path)
                          : alq_malloc(&block, sizeof(int64_t) * IDS_BLOCK, "an /ids block");
  for (int64_t lo = 0; !err && lo < n_items; lo += IDS_BLOCK) {
    hsize_t start[1] = {(hsize_t)lo}, count[1] = {(hsize_t)(n_items - lo < IDS_BLOCK ? n_items - lo : IDS_BLOCK)};
    hid_t mem = H5Screate_simple(1, count, NULL);
    herr_t rc = H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0)
      rc = H5Dread(ds, H5T_NATIVE_INT64, mem, space, H5P_DEFAULT, block);
    H5Sclose(mem);
    if (rc < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /ids rows %lld..%lld", path, (long long)lo,
                          (long long)(lo + (int64_t)count[0] - 1));
    else
      *sum += alq_ids_checksum(block, (int64_t)count[0], lo);
  }
  free(block);
  if (space >= 0)
    H5Sclose(space);
  if (ds >= 0)
    H5Dclose(ds);
  H5Fclose(file);
  return err;
}

alq_err alq_pool_identity_compute(const alq_pool_meta *meta, alq_pool_identity *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->path, sizeof out->path, "%s", meta->path);
  out->n_items = meta->n_items;
  out->dim = meta->dim;
  out->n_classes = meta->n_classes;
  if (meta->has_ids)
    return checksum_ids_dataset(meta->path, meta->n_items, &out->ids_checksum);
  return checksum_row_ids(meta->n_items, &out->ids_checksum);
}
