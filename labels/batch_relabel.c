/* labels/batch_relabel.c: the re-label flags of a batch file
 * (alq_batch_relabel_read in alq/labels.h). */
#include <hdf5.h>
#include <stdlib.h>

#include "alq/h5_records.h"
#include "alq/labels.h"

alq_err alq_batch_relabel_read(const char *path, int64_t n, int8_t **flags) {
  *flags = NULL;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open batch file %s", path);
  alq_err err = ALQ_OK;
  if (H5Lexists(f, "/selected", H5P_DEFAULT) > 0 && H5Lexists(f, "/selected/relabel", H5P_DEFAULT) > 0) {
    int64_t rows = 0;
    err = alq_h5r_1d(f, path, "/selected/relabel", H5T_NATIVE_INT8, 1, flags, &rows);
    if (!err && rows != n) {
      free(*flags);
      *flags = NULL;
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /selected/relabel has %lld rows, /selected/ids %lld", path,
                          (long long)rows, (long long)n);
    }
  }
  H5Fclose(f);
  return err;
}
