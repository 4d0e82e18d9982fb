/* pool/pool_hdf5.h: HDF5 helpers shared by the pool readers and writers (internal). */
#ifndef ALQ_POOL_HDF5_H
#define ALQ_POOL_HDF5_H
#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"

/* "float32", "int64", ... for messages. */
const char *alq_h5_type_name(hid_t type);
/* 1 when `type` is little-endian IEEE binary16 (numpy's float16 as h5py
 * writes it), which alq widens itself (alq/half.h). */
int alq_h5_is_ieee_half(hid_t type);
/* Opens read-only with `fapl`, with an error naming the path and the reason. */
alq_err alq_h5_open_readonly(const char *path, hid_t fapl, hid_t *file);
/* 1 when every link along `name` exists. */
int alq_h5_exists(hid_t file, const char *name);
/* Checks rank and dtype (class, size, signedness for integers); fills dims. */
alq_err alq_h5_check_dataset(hid_t file, const char *path, const char *name, int rank, H5T_class_t cls,
                             size_t size, int want_signed, hsize_t dims[2]);

/* Stored types a dataset may have (alq converts them on read). */
enum {
  ALQ_H5_FLOATS = 1u << 0, /* float16, float32, float64 */
  ALQ_H5_INT32 = 1u << 1,
  ALQ_H5_INT64 = 1u << 2,
  ALQ_H5_UINT64 = 1u << 3,
};
/* Checks rank and that the dtype is one of `accept`; fills dims (rank
 * entries), the element width in bytes and whether it is unsigned. */
alq_err alq_h5_check_stored(hid_t file, const char *path, const char *name, int rank, unsigned accept, hsize_t *dims,
                            int *width, int *is_unsigned);
/* "; the file holds /emb [300000 x 384] float32, /idx [300000] int64" (or
 * "; the file holds no datasets"): what a missing-dataset error appends. */
void alq_h5_contents(hid_t file, char *out, size_t size);
/* The error for a dataset `name` missing from `path`, listing the contents. */
alq_err alq_h5_missing(hid_t file, const char *path, const char *name, const char *why);
/* A read-only mapping of part of a file (pool/h5_map.c). */
typedef struct {
  void *base; /* NULL: nothing mapped */
  size_t length;
} alq_file_map;
/* Maps rows [lo, lo+count) of the 2-D dataset `ds` of `file` (opened from
 * `path`), `row_bytes` stored bytes each, read-only from the file itself:
 * *rows points at row lo as stored, valid until alq_file_unmap.  Returns NULL
 * on success (count 0 maps nothing and leaves *rows NULL), else why the rows
 * cannot be mapped (a chunked, filtered or unallocated dataset, ...): the
 * caller then reads them.  The caller checks the stored type. */
const char *alq_h5_map_rows(const char *path, hid_t file, hid_t ds, int64_t row_bytes, int64_t lo, int64_t count,
                            alq_file_map *map, const void **rows);
void alq_file_unmap(alq_file_map *map);
#endif
