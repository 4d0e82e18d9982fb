/* coordinator/batch_read.c: a batch file read back, for alq export and alq manifest. */
#include <errno.h>
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alq/batch.h"
#include "alq/h5_records.h"

alq_err alq_batch_file_read(const char *path, alq_batch_file *out) {
  memset(out, 0, sizeof *out);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open batch file %s: %s", path,
                         access(path, R_OK) == 0 ? "not an HDF5 file" : strerror(errno));
  alq_err err = alq_h5r_1d(file, path, "/selected/ids", H5T_NATIVE_INT64, sizeof(int64_t), &out->ids, &out->n);
  if (!err)
    err = alq_h5r_attr_string(file, path, "pool", out->pool, sizeof out->pool);
  if (!err && H5Lexists(file, "manifest", H5P_DEFAULT) > 0)
    err = alq_h5r_1d(file, path, "manifest", H5T_NATIVE_UINT8, 1, &out->manifest.data, &out->manifest.len);
  H5Fclose(file);
  if (err)
    alq_batch_file_free(out);
  return err;
}

void alq_batch_file_free(alq_batch_file *b) {
  free(b->ids);
  alq_manifest_bytes_free(&b->manifest);
  memset(b, 0, sizeof *b);
}
