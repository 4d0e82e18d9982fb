/* pool/pool_hdf5.h: HDF5 helpers shared by the pool readers and writers (internal). */
#ifndef ALQ_POOL_HDF5_H
#define ALQ_POOL_HDF5_H
#include <hdf5.h>
#include "alq/error.h"

/* "float32", "int64", ... for messages. */
const char *alq_h5_type_name(hid_t type);
/* Opens read-only with `fapl`, with an error naming the path and the reason. */
alq_err alq_h5_open_readonly(const char *path, hid_t fapl, hid_t *file);
/* 1 when every link along `name` exists. */
int alq_h5_exists(hid_t file, const char *name);
/* Checks rank and dtype (class, size, signedness for integers); fills dims. */
alq_err alq_h5_check_dataset(hid_t file, const char *path, const char *name, int rank, H5T_class_t cls,
                             size_t size, int want_signed, hsize_t dims[2]);
#endif
