/* pool/pool_inspect.c: serial checks of a pool's structure, and the labeled set. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <errno.h>

#include "alq/labels.h"
#include "alq/pool.h"
#include "alq/pool_list.h"
#include "pool_hdf5.h"

/* binary16 as h5py writes numpy's float16: sign bit 15, 5 exponent bits at
 * 10 biased by 15, 10 fraction bits with the leading 1 implied. */
int alq_h5_is_ieee_half(hid_t type) {
  size_t spos, epos, esize, mpos, msize;
  return H5Tget_class(type) == H5T_FLOAT && H5Tget_size(type) == 2 && H5Tget_order(type) == H5T_ORDER_LE &&
         H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize) >= 0 && spos == 15 && epos == 10 &&
         esize == 5 && mpos == 0 && msize == 10 && H5Tget_ebias(type) == 15 && H5Tget_norm(type) == H5T_NORM_IMPLIED;
}

const char *alq_h5_type_name(hid_t type) {
  size_t size = H5Tget_size(type);
  switch (H5Tget_class(type)) {
  case H5T_FLOAT:
    return size == 4 ? "float32" : size == 8 ? "float64" : size == 2 ? "float16" : "float";
  case H5T_INTEGER: {
    int is_signed = H5Tget_sign(type) == H5T_SGN_2;
    switch (size) {
    case 1: return is_signed ? "int8" : "uint8";
    case 2: return is_signed ? "int16" : "uint16";
    case 4: return is_signed ? "int32" : "uint32";
    case 8: return is_signed ? "int64" : "uint64";
    default: return "integer";
    }
  }
  case H5T_STRING: return "string";
  case H5T_COMPOUND: return "compound";
  default: return "non-numeric";
  }
}

alq_err alq_h5_open_readonly(const char *path, hid_t fapl, hid_t *file) {
  if (access(path, R_OK) != 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
  htri_t is_h5 = H5Fis_hdf5(path);
  if (is_h5 <= 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s is not an HDF5 file", path);
  *file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
  if (*file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open HDF5 file %s", path);
  return ALQ_OK;
}

int alq_h5_exists(hid_t file, const char *name) {
  /* H5Lexists needs each parent to exist: check "/labeled" before "/labeled/ids". */
  char prefix[256];
  for (const char *p = strchr(name + 1, '/'); p; p = strchr(p + 1, '/')) {
    snprintf(prefix, sizeof prefix, "%.*s", (int)(p - name), name);
    if (H5Lexists(file, prefix, H5P_DEFAULT) <= 0)
      return 0;
  }
  return H5Lexists(file, name, H5P_DEFAULT) > 0;
}

alq_err alq_h5_check_dataset(hid_t file, const char *path, const char *name, int rank,
                             H5T_class_t cls, size_t size, int want_signed, hsize_t dims[2]) {
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  if (ds < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open dataset %s", path, name);
  hid_t type = H5Dget_type(ds), space = H5Dget_space(ds);
  int got_rank = H5Sget_simple_extent_ndims(space);
  alq_err err = ALQ_OK;
  int type_ok = H5Tget_class(type) == cls && H5Tget_size(type) == size &&
                (cls != H5T_INTEGER || (H5Tget_sign(type) == H5T_SGN_2) == want_signed);
  if (!type_ok) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has dtype %s, expected %s", path, name,
                        alq_h5_type_name(type),
                        cls == H5T_FLOAT ? "float32" : size == 8 ? "int64" : "int32");
  } else if (got_rank != rank) {
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has %d dimension(s), expected %d", path, name,
                        got_rank, rank);
  } else {
    H5Sget_simple_extent_dims(space, dims, NULL);
  }
  H5Tclose(type);
  H5Sclose(space);
  H5Dclose(ds);
  return err;
}

static alq_err check_rows(const char *path, const char *name, hsize_t rows, int64_t n) {
  if ((int64_t)rows != n)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has %llu rows, expected %lld (the rows of /embeddings)",
                         path, name, (unsigned long long)rows, (long long)n);
  return ALQ_OK;
}

/* /mc_probs [T][N][C]: T passes over the pool's N rows; C must agree with
 * /probs or the "classes" attribute when either is present. */
static alq_err inspect_mc_probs(hid_t file, const char *path, alq_pool_meta *meta) {
  meta->mc_passes = 0;
  if (!alq_h5_exists(file, "/mc_probs"))
    return ALQ_OK;
  hsize_t dims[3] = {0, 0, 0};
  /* dims has room for the 3 extents the rank check admits. */
  ALQ_CHECK(alq_h5_check_dataset(file, path, "/mc_probs", 3, H5T_FLOAT, 4, 1, dims));
  if (dims[0] < 1)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /mc_probs has 0 passes", path);
  ALQ_CHECK(check_rows(path, "/mc_probs (its second dimension)", dims[1], meta->n_items));
  if (dims[2] < 2)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /mc_probs has %llu class column(s), need at least 2", path,
                         (unsigned long long)dims[2]);
  if (meta->n_classes > 0 && (int64_t)dims[2] != meta->n_classes)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /mc_probs has %llu classes but the pool has %lld", path,
                         (unsigned long long)dims[2], (long long)meta->n_classes);
  meta->n_classes = (int64_t)dims[2];
  meta->mc_passes = (int64_t)dims[0];
  return ALQ_OK;
}

/* The stored width of a float dataset, as alq_pool_meta records it: 0 for
 * float32 (read as is), else 2 or 8. */
static int float_width(int width) { return width == 4 ? 0 : width; }

static alq_err inspect_embeddings(hid_t file, const char *path, alq_pool_meta *meta) {
  const char *name = alq_layout_name(&meta->layout, ALQ_FIELD_EMBEDDINGS);
  hsize_t dims[2] = {0, 0};
  int width = 4;
  if (!alq_h5_exists(file, name))
    return alq_h5_missing(file, path, name, meta->layout.embeddings[0] ? NULL : " (name it with --embeddings)");
  ALQ_CHECK(alq_h5_check_stored(file, path, name, 2, ALQ_H5_FLOATS, dims, &width, NULL));
  meta->embeddings_width = float_width(width);
  meta->n_items = (int64_t)dims[0];
  meta->dim = (int64_t)dims[1];
  if (meta->dim < 1)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has 0 columns", path, name);
  meta->chunk_rows = 1;
  hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
  hid_t dcpl = H5Dget_create_plist(ds);
  if (H5Pget_layout(dcpl) == H5D_CHUNKED) {
    hsize_t chunk[2];
    H5Pget_chunk(dcpl, 2, chunk);
    meta->chunk_rows = (int64_t)chunk[0];
  }
  H5Pclose(dcpl);
  H5Dclose(ds);
  return ALQ_OK;
}

/* A dataset the layout names explicitly must exist; a standard name is optional. */
static alq_err optional_present(hid_t file, const char *path, const alq_pool_meta *meta, unsigned field,
                                const char *given, int *present) {
  const char *name = alq_layout_name(&meta->layout, field);
  *present = alq_h5_exists(file, name);
  if (!*present && given[0])
    return alq_h5_missing(file, path, name, NULL);
  return ALQ_OK;
}

static alq_err inspect_probs(hid_t file, const char *path, alq_pool_meta *meta) {
  const char *name = alq_layout_name(&meta->layout, ALQ_FIELD_PROBS);
  hsize_t dims[2] = {0, 0};
  int width = 4;
  ALQ_CHECK(optional_present(file, path, meta, ALQ_FIELD_PROBS, meta->layout.probs, &meta->has_probs));
  if (meta->has_probs) {
    ALQ_CHECK(alq_h5_check_stored(file, path, name, 2, ALQ_H5_FLOATS, dims, &width, NULL));
    meta->probs_width = float_width(width);
    ALQ_CHECK(check_rows(path, name, dims[0], meta->n_items));
    if (dims[1] < 2)
      return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has %llu column(s), need at least 2 classes", path, name,
                           (unsigned long long)dims[1]);
    meta->n_classes = (int64_t)dims[1];
  }
  if (H5Aexists(file, "classes") > 0) {
    int64_t classes = 0;
    hid_t attr = H5Aopen(file, "classes", H5P_DEFAULT);
    herr_t rc = H5Aread(attr, H5T_NATIVE_INT64, &classes);
    H5Aclose(attr);
    if (rc < 0 || classes < 1)
      return alq_error_set(ALQ_ERR_INPUT, "%s: attribute classes is not a positive integer", path);
    if (meta->has_probs && classes != meta->n_classes)
      return alq_error_set(ALQ_ERR_INPUT, "%s: attribute classes = %lld but %s has %lld columns", path,
                           (long long)classes, name, (long long)meta->n_classes);
    meta->n_classes = classes;
  }
  return ALQ_OK;
}

static alq_err inspect_ids_labels(hid_t file, const char *path, alq_pool_meta *meta) {
  hsize_t dims[2] = {0, 0};
  const char *ids = alq_layout_name(&meta->layout, ALQ_FIELD_IDS);
  ALQ_CHECK(optional_present(file, path, meta, ALQ_FIELD_IDS, meta->layout.ids, &meta->has_ids));
  if (meta->has_ids) {
    ALQ_CHECK(alq_h5_check_stored(file, path, ids, 1, ALQ_H5_INT32 | ALQ_H5_INT64 | ALQ_H5_UINT64, dims, NULL,
                                  &meta->ids_unsigned));
    ALQ_CHECK(check_rows(path, ids, dims[0], meta->n_items));
  }
  const char *labels = alq_layout_name(&meta->layout, ALQ_FIELD_LABELS);
  ALQ_CHECK(optional_present(file, path, meta, ALQ_FIELD_LABELS, meta->layout.labels, &meta->has_labels));
  if (meta->has_labels) {
    ALQ_CHECK(alq_h5_check_stored(file, path, labels, 1, ALQ_H5_INT32 | ALQ_H5_INT64, dims, NULL, NULL));
    ALQ_CHECK(check_rows(path, labels, dims[0], meta->n_items));
  }
  return ALQ_OK;
}

static alq_err inspect_open(hid_t file, const char *path, alq_pool_meta *meta) {
  hsize_t dims[2] = {0, 0};
  ALQ_CHECK(inspect_embeddings(file, path, meta));
  ALQ_CHECK(inspect_probs(file, path, meta));
  ALQ_CHECK(inspect_ids_labels(file, path, meta));
  ALQ_CHECK(inspect_mc_probs(file, path, meta));
  meta->n_labeled = 0;
  if (alq_h5_exists(file, "/labeled/ids")) {
    ALQ_CHECK(alq_h5_check_stored(file, path, "/labeled/ids", 1, ALQ_H5_INT32 | ALQ_H5_INT64 | ALQ_H5_UINT64, dims,
                                  NULL, NULL));
    meta->n_labeled = (int64_t)dims[0];
  }
  return ALQ_OK;
}

alq_err alq_pool_inspect_layout(const char *path, const alq_layout *layout, alq_pool_meta *meta) {
  memset(meta, 0, sizeof *meta);
  if (strlen(path) >= sizeof meta->path)
    return alq_error_set(ALQ_ERR_USAGE, "pool path is longer than %d bytes", ALQ_PATH_MAX - 1);
  strcpy(meta->path, path);
  meta->layout = *layout;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL); /* alq reports its own one-line errors */
  hid_t file;
  ALQ_CHECK(alq_h5_open_readonly(path, H5P_DEFAULT, &file));
  alq_err err = inspect_open(file, path, meta);
  H5Fclose(file);
  return err;
}

alq_err alq_pool_inspect(const char *path, alq_pool_meta *meta) {
  return alq_pool_inspect_layout(path, alq_layout_in_use(), meta);
}

typedef struct {
  int64_t id;
  int32_t label;
  int64_t row;
} labeled_row;

static int cmp_labeled_row(const void *pa, const void *pb) {
  const labeled_row *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->row < b->row ? -1 : a->row > b->row;
}

static alq_err read_labeled(hid_t file, const char *path, int64_t n_classes, alq_labeled *out) {
  hsize_t dims[2] = {0, 0}, ldims[2] = {0, 0};
  int ids_unsigned = 0;
  ALQ_CHECK(alq_h5_check_stored(file, path, "/labeled/ids", 1, ALQ_H5_INT32 | ALQ_H5_INT64 | ALQ_H5_UINT64, dims,
                                NULL, &ids_unsigned));
  if (!alq_h5_exists(file, "/labeled/labels"))
    return alq_h5_missing(file, path, "/labeled/labels", " (it must accompany /labeled/ids)");
  ALQ_CHECK(alq_h5_check_stored(file, path, "/labeled/labels", 1, ALQ_H5_INT32 | ALQ_H5_INT64, ldims, NULL, NULL));
  if (ldims[0] != dims[0])
    return alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/labels has %llu rows but /labeled/ids has %llu", path,
                         (unsigned long long)ldims[0], (unsigned long long)dims[0]);
  int64_t n = (int64_t)dims[0];
  labeled_row *rows = NULL;
  ALQ_CHECK(alq_malloc(&out->ids, sizeof *out->ids * (n ? n : 1), "labeled ids"));
  ALQ_CHECK(alq_malloc(&out->labels, sizeof *out->labels * (n ? n : 1), "labeled labels"));
  ALQ_CHECK(alq_malloc(&rows, sizeof *rows * (n ? n : 1), "labeled rows"));
  out->n = n;
  alq_err err = ALQ_OK;
  hid_t ds = H5Dopen2(file, "/labeled/ids", H5P_DEFAULT);
  if (n && H5Dread(ds, ids_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT,
                   out->ids) < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /labeled/ids", path);
  H5Dclose(ds);
  for (int64_t i = 0; !err && ids_unsigned && i < n; i++)
    if (out->ids[i] < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids row %lld is %llu, above 2^63 - 1 (alq ids are int64)", path,
                          (long long)i, (unsigned long long)out->ids[i]);
  ds = H5Dopen2(file, "/labeled/labels", H5P_DEFAULT);
  if (!err && n && H5Dread(ds, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, out->labels) < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /labeled/labels", path);
  H5Dclose(ds);
  for (int64_t i = 0; !err && i < n; i++) {
    if (out->labels[i] < 0 || (n_classes > 0 && out->labels[i] >= n_classes))
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/labels row %lld (id %lld) is %d, outside [0, %lld)", path,
                          (long long)i, (long long)out->ids[i], out->labels[i], (long long)n_classes);
    rows[i] = (labeled_row){out->ids[i], out->labels[i], i};
  }
  if (!err) {
    qsort(rows, n, sizeof *rows, cmp_labeled_row);
    for (int64_t i = 0; i < n; i++) {
      if (i > 0 && rows[i].id == rows[i - 1].id) {
        err = alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld twice (rows %lld and %lld)", path,
                            (long long)rows[i].id, (long long)rows[i - 1].row, (long long)rows[i].row);
        break;
      }
      out->ids[i] = rows[i].id;
      out->labels[i] = rows[i].label;
    }
  }
  free(rows);
  return err;
}

alq_err alq_labeled_read(const char *path, int64_t n_classes, int required, alq_labeled *out) {
  memset(out, 0, sizeof *out);
  /* A pool list holds no labeled set of its own: --labeled gives one. */
  if (alq_pool_list_is(path))
    return required ? alq_error_set(ALQ_ERR_INPUT, "%s is a pool list, which holds no labeled set: give one with "
                                    "--labeled", path) : ALQ_OK;
  /* A labeled set written as CSV/TSV or JSON Lines (alq/labels.h), told by content. */
  if (alq_labeled_file_is_text(path))
    return alq_labeled_text_read(path, n_classes, NULL, out);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file;
  ALQ_CHECK(alq_h5_open_readonly(path, H5P_DEFAULT, &file));
  alq_err err = ALQ_OK;
  if (!alq_h5_exists(file, "/labeled/ids")) {
    if (required)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /labeled/ids is missing", path);
  } else {
    err = read_labeled(file, path, n_classes, out);
  }
  H5Fclose(file);
  if (err)
    alq_labeled_free(out);
  return err;
}

void alq_labeled_free(alq_labeled *set) {
  free(set->ids);
  free(set->labels);
  memset(set, 0, sizeof *set);
}
