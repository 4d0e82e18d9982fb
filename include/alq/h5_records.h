/* alq/h5_records.h: whole small HDF5 records (1-D datasets, scalar
 * attributes, 2-D datasets) for the batch, state, manifest, projection and
 * neighbor-list files.
 *
 * Writers return negative on failure (callers name the file in their error);
 * readers record an input error naming the file and the object.
 */
#ifndef ALQ_H5_RECORDS_H
#define ALQ_H5_RECORDS_H
#include <hdf5.h>
#include <stdint.h>
#include "alq/error.h"

herr_t alq_h5w_1d(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int64_t n, const void *data);
/* A rows x cols dataset, written whole. */
herr_t alq_h5w_2d(hid_t loc, const char *name, hid_t file_type, hid_t mem_type, int64_t rows, int64_t cols,
                  const void *data);
/* n strings of `width` bytes each (each NUL-padded), stored as fixed-length strings. */
herr_t alq_h5w_strings(hid_t loc, const char *name, int64_t n, size_t width, const char *data);
herr_t alq_h5w_attr_string(hid_t loc, const char *name, const char *value);
herr_t alq_h5w_attr_int64(hid_t loc, const char *name, int64_t value);
herr_t alq_h5w_attr_uint64(hid_t loc, const char *name, uint64_t value);

/* Reads the whole 1-D dataset `name` (converted to mem_type of elem_size bytes)
 * into a new buffer (*n elements; at least one byte is allocated). */
alq_err alq_h5r_1d(hid_t loc, const char *file, const char *name, hid_t mem_type, size_t elem_size, void *pdata,
                   int64_t *n);
/* Reads fixed-length strings into n * width bytes, NUL-terminated, truncating longer ones. */
alq_err alq_h5r_strings(hid_t loc, const char *file, const char *name, size_t width, void *pdata, int64_t *n);
alq_err alq_h5r_attr_string(hid_t loc, const char *file, const char *name, char *value, size_t size);
alq_err alq_h5r_attr_int64(hid_t loc, const char *file, const char *name, int64_t *value);
alq_err alq_h5r_attr_uint64(hid_t loc, const char *file, const char *name, uint64_t *value);

/* Creates `path` atomically: write(file, path, ctx) fills a temporary file in
 * the same folder, which is closed and renamed over `path`; on any failure it
 * is removed and the first error is returned.  HDF5's own error printing is
 * off meanwhile: alq reports one line. */
alq_err alq_h5_write_atomic(const char *path, alq_err (*write)(hid_t file, const char *path, const void *ctx),
                            const void *ctx);

#endif
