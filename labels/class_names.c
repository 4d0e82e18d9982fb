/* labels/class_names.c: a pool's /classes, the names of its classes
 * (alq/labels.h). */
#include <hdf5.h>
#include <stdlib.h>
#include <string.h>

#include "alq/integer_text.h"
#include "alq/labels.h"

void alq_class_names_free(alq_class_names *c) {
  for (int64_t i = 0; i < c->n; i++)
    free(c->names[i]);
  free(c->names);
  memset(c, 0, sizeof *c);
}

/* Variable-length strings, as h5py writes a list of str. */
static alq_err read_variable(const char *path, hid_t d, hid_t space, int64_t n, alq_class_names *c) {
  char **raw = NULL;
  ALQ_CHECK(alq_calloc(&raw, (size_t)(n ? n : 1), sizeof *raw, "class names"));
  hid_t mem = H5Tcopy(H5T_C_S1);
  H5Tset_size(mem, H5T_VARIABLE);
  H5Tset_cset(mem, H5T_CSET_UTF8);
  alq_err err = H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0
                    ? alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /classes as strings", path)
                    : ALQ_OK;
  for (int64_t i = 0; !err && i < n; i++)
    if (!(c->names[i] = strdup(raw[i] ? raw[i] : "")))
      err = alq_error_set(ALQ_ERR_MEMORY, "out of memory for class names");
  H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw);
  H5Tclose(mem);
  free(raw);
  return err;
}

/* Fixed-width strings (numpy 'S' arrays), NUL- or space-padded. */
static alq_err read_fixed(const char *path, hid_t d, hid_t file_type, int64_t n, alq_class_names *c) {
  size_t width = H5Tget_size(file_type);
  char *raw = NULL;
  ALQ_CHECK(alq_malloc(&raw, width * (size_t)(n ? n : 1), "class names"));
  hid_t mem = H5Tcopy(H5T_C_S1);
  H5Tset_size(mem, width);
  H5Tset_strpad(mem, H5T_STR_NULLPAD);
  H5Tset_cset(mem, H5Tget_cset(file_type));
  alq_err err = H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0
                    ? alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /classes as strings", path)
                    : ALQ_OK;
  for (int64_t i = 0; !err && i < n; i++) {
    const char *s = raw + (size_t)i * width;
    size_t len = strnlen(s, width);
    while (len > 0 && s[len - 1] == ' ')
      len--;
    if (!(c->names[i] = strndup(s, len)))
      err = alq_error_set(ALQ_ERR_MEMORY, "out of memory for class names");
  }
  H5Tclose(mem);
  free(raw);
  return err;
}

/* Every name non-empty and used once. */
static alq_err check_names(const char *path, const alq_class_names *c) {
  for (int64_t i = 0; i < c->n; i++) {
    if (!c->names[i][0])
      return alq_error_set(ALQ_ERR_INPUT, "%s: /classes row %lld is an empty name", path, (long long)i);
    for (int64_t j = 0; j < i; j++)
      if (strcmp(c->names[i], c->names[j]) == 0)
        return alq_error_set(ALQ_ERR_INPUT, "%s: /classes rows %lld and %lld are both '%s'", path, (long long)j,
                             (long long)i, c->names[i]);
  }
  return ALQ_OK;
}

static alq_err read_dataset(const char *path, hid_t d, alq_class_names *c) {
  hid_t type = H5Dget_type(d), space = H5Dget_space(d);
  hsize_t dims[1] = {0};
  alq_err err = ALQ_OK;
  if (H5Tget_class(type) != H5T_STRING || H5Sget_simple_extent_ndims(space) != 1)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: /classes must be a 1-D dataset of strings (the class names)", path);
  if (!err) {
    H5Sget_simple_extent_dims(space, dims, NULL);
    err = alq_calloc(&c->names, (size_t)(dims[0] ? dims[0] : 1), sizeof *c->names, "class names");
  }
  if (!err) {
    c->n = (int64_t)dims[0];
    err = H5Tis_variable_str(type) > 0 ? read_variable(path, d, space, c->n, c) : read_fixed(path, d, type, c->n, c);
  }
  if (!err)
    err = check_names(path, c);
  H5Sclose(space);
  H5Tclose(type);
  return err;
}

alq_err alq_class_names_read(const char *path, int64_t n_classes, alq_class_names *out) {
  memset(out, 0, sizeof *out);
  hid_t f = -1;
  H5E_BEGIN_TRY { f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT); }
  H5E_END_TRY;
  if (f < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open %s as HDF5 to look for its class names", path);
  alq_err err = ALQ_OK;
  if (H5Lexists(f, "classes", H5P_DEFAULT) > 0) {
    hid_t d = -1;
    H5E_BEGIN_TRY { d = H5Dopen2(f, "classes", H5P_DEFAULT); }
    H5E_END_TRY;
    err = d < 0 ? alq_error_set(ALQ_ERR_INPUT, "%s: /classes is not a dataset", path) : read_dataset(path, d, out);
    if (d >= 0)
      H5Dclose(d);
  }
  if (!err && out->n > 0 && n_classes > 0 && out->n != n_classes)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: /classes names %lld classes, but the pool has %lld", path,
                        (long long)out->n, (long long)n_classes);
  H5Fclose(f);
  if (err)
    alq_class_names_free(out);
  return err;
}

int alq_class_of_text(const alq_class_names *c, const char *text, int64_t *label) {
  const char *t = text + strspn(text, " \t");
  size_t len = strlen(t);
  while (len > 0 && (t[len - 1] == ' ' || t[len - 1] == '\t'))
    len--;
  for (int64_t i = 0; c && i < c->n; i++)
    if (strlen(c->names[i]) == len && strncmp(c->names[i], t, len) == 0) {
      *label = i;
      return 1;
    }
  return alq_integer_text(text, INT32_MIN, INT32_MAX, label);
}
