/* pool/payload.c: ids to rows, and payload columns at given rows (alq/payload.h). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/payload.h"
#include "alq/pool_list.h"
#include "pool_hdf5.h"
#include "source_impl.h"

/* Rows of /ids read at a time while matching ids to rows: 8 MiB. */
#define IDS_BLOCK (1 << 20)

typedef struct {
  int64_t id, pos;
} wanted_id;

static int cmp_wanted(const void *pa, const void *pb) {
  const wanted_id *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The first wanted entry with `id`, or n. */
static int64_t first_wanted(const wanted_id *w, int64_t n, int64_t id) {
  int64_t lo = 0, hi = n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (w[mid].id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* Ids may come in any order (docs/format.md), so each block of /ids is
 * matched against the sorted wanted ids by binary search; one pass. */
static alq_err match_ids(hid_t ds, const alq_pool_meta *meta, const wanted_id *w, int64_t n, int64_t *rows) {
  const char *name = alq_layout_name(&meta->layout, ALQ_FIELD_IDS);
  int64_t *block = NULL;
  ALQ_CHECK(alq_malloc(&block, sizeof *block * IDS_BLOCK, "an /ids block"));
  for (int64_t k = 0; k < n; k++)
    rows[w[k].pos] = -1;
  hid_t space = H5Dget_space(ds);
  alq_err err = ALQ_OK;
  for (int64_t lo = 0; !err && n > 0 && lo < meta->n_items; lo += IDS_BLOCK) {
    hsize_t start[1] = {(hsize_t)lo}, count[1] = {(hsize_t)(meta->n_items - lo < IDS_BLOCK ? meta->n_items - lo : IDS_BLOCK)};
    hid_t mem = H5Screate_simple(1, count, NULL);
    herr_t rc = H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    if (rc >= 0)
      rc = H5Dread(ds, meta->ids_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, mem, space, H5P_DEFAULT, block);
    H5Sclose(mem);
    if (rc < 0) {
      err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %s from row %lld", meta->path, name, (long long)lo);
      break;
    }
    for (int64_t i = 0; i < (int64_t)count[0]; i++)
      for (int64_t k = first_wanted(w, n, block[i]); k < n && w[k].id == block[i]; k++)
        rows[w[k].pos] = lo + i;
  }
  for (int64_t k = 0; !err && k < n; k++)
    if (rows[w[k].pos] < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "id %lld is not an id of pool %s", (long long)w[k].id, meta->path);
  H5Sclose(space);
  free(block);
  return err;
}

alq_err alq_pool_rows_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int64_t *rows) {
  if (!meta->has_ids) {
    for (int64_t i = 0; i < n; i++) {
      if (ids[i] < 0 || ids[i] >= meta->n_items)
        return alq_error_set(ALQ_ERR_INPUT, "id %lld is not an id of pool %s (ids are rows 0..%lld)",
                             (long long)ids[i], meta->path, (long long)meta->n_items - 1);
      rows[i] = ids[i];
    }
    return ALQ_OK;
  }
  if (alq_pool_list_is(meta->path))
    return alq_multi_rows_of_ids(meta, ids, n, rows);
  wanted_id *w = NULL;
  ALQ_CHECK(alq_malloc(&w, sizeof *w * (n ? n : 1), "batch ids"));
  for (int64_t i = 0; i < n; i++)
    w[i] = (wanted_id){ids[i], i};
  qsort(w, (size_t)n, sizeof *w, cmp_wanted);
  hid_t file;
  alq_err err = alq_h5_open_readonly(meta->path, H5P_DEFAULT, &file);
  if (!err) {
    const char *name = alq_layout_name(&meta->layout, ALQ_FIELD_IDS);
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT);
    err = ds < 0 ? alq_error_set(ALQ_ERR_INPUT, "%s: cannot open %s", meta->path, name) : match_ids(ds, meta, w, n, rows);
    if (ds >= 0)
      H5Dclose(ds);
    H5Fclose(file);
  }
  free(w);
  return err;
}

static herr_t collect_name(hid_t group, const char *name, const H5L_info_t *info, void *data) {
  char (**names)[ALQ_PAYLOAD_NAME_MAX] = ((void **)data)[0];
  int64_t *n = ((void **)data)[1];
  void *bigger = realloc(*names, (size_t)(*n + 1) * ALQ_PAYLOAD_NAME_MAX);
  if (!bigger)
    return -1;
  *names = bigger;
  snprintf((*names)[*n], ALQ_PAYLOAD_NAME_MAX, "%s", name);
  (*n)++;
  return 0;
}

alq_err alq_payload_names(const char *pool, char (**names)[ALQ_PAYLOAD_NAME_MAX], int64_t *n) {
  *names = NULL;
  *n = 0;
  hid_t file;
  ALQ_CHECK(alq_h5_open_readonly(pool, H5P_DEFAULT, &file));
  alq_err err = ALQ_OK;
  if (alq_h5_exists(file, "/payload")) {
    void *data[2] = {names, n};
    /* By name, so the columns come out in the same order everywhere. */
    if (H5Literate_by_name(file, "/payload", H5_INDEX_NAME, H5_ITER_INC, NULL, collect_name, data, H5P_DEFAULT) <
        0)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot list the group /payload", pool);
  }
  H5Fclose(file);
  if (err) {
    free(*names);
    *names = NULL;
    *n = 0;
  }
  return err;
}

void alq_payload_column_free(alq_payload_column *c) {
  if (c->texts)
    for (int64_t i = 0; i < c->n; i++)
      free(c->texts[i]);
  free(c->texts);
  free(c->ints);
  free(c->floats);
  memset(c, 0, sizeof *c);
}

/* Reads strings (fixed or variable length) at the selected points into owned copies. */
static alq_err read_texts(hid_t ds, hid_t ftype, hid_t fspace, hid_t mspace, const char *what, alq_payload_column *c) {
  ALQ_CHECK(alq_calloc(&c->texts, (size_t)(c->n ? c->n : 1), sizeof *c->texts, what));
  hid_t mtype = H5Tcopy(H5T_C_S1);
  H5Tset_cset(mtype, H5Tget_cset(ftype)); /* HDF5 does not convert between ASCII and UTF-8 */
  alq_err err = ALQ_OK;
  if (H5Tis_variable_str(ftype) > 0) {
    char **v = NULL;
    H5Tset_size(mtype, H5T_VARIABLE);
    err = alq_calloc(&v, (size_t)(c->n ? c->n : 1), sizeof *v, what);
    if (!err && H5Dread(ds, mtype, mspace, fspace, H5P_DEFAULT, v) < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "cannot read %s", what);
    for (int64_t i = 0; !err && i < c->n; i++)
      if (!(c->texts[i] = strdup(v[i] ? v[i] : "")))
        err = alq_error_set(ALQ_ERR_MEMORY, "out of memory for %s", what);
    if (v)
      H5Dvlen_reclaim(mtype, mspace, H5P_DEFAULT, v);
    free(v);
  } else {
    size_t width = H5Tget_size(ftype);
    char *buf = NULL;
    H5Tset_size(mtype, width + 1);
    H5Tset_strpad(mtype, H5T_STR_NULLTERM);
    err = alq_malloc(&buf, (width + 1) * (size_t)(c->n ? c->n : 1), what);
    if (!err && H5Dread(ds, mtype, mspace, fspace, H5P_DEFAULT, buf) < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "cannot read %s", what);
    for (int64_t i = 0; !err && i < c->n; i++)
      if (!(c->texts[i] = strndup(buf + i * (width + 1), width)))
        err = alq_error_set(ALQ_ERR_MEMORY, "out of memory for %s", what);
    free(buf);
  }
  H5Tclose(mtype);
  return err;
}

static alq_err read_points(hid_t ds, const alq_pool_meta *meta, const char *what, const int64_t *rows,
                           alq_payload_column *c) {
  hid_t ftype = H5Dget_type(ds), fspace = H5Dget_space(ds);
  hsize_t dims[1] = {0}, count[1] = {(hsize_t)c->n};
  int rank = H5Sget_simple_extent_ndims(fspace);
  if (rank == 1)
    H5Sget_simple_extent_dims(fspace, dims, NULL);
  H5T_class_t cls = H5Tget_class(ftype);
  alq_err err = ALQ_OK;
  if (rank != 1 || (int64_t)dims[0] != meta->n_items)
    err = alq_error_set(ALQ_ERR_INPUT, "%s must be one-dimensional with %lld values (one per item)", what,
                        (long long)meta->n_items);
  else if (cls != H5T_INTEGER && cls != H5T_FLOAT && cls != H5T_STRING)
    err = alq_error_set(ALQ_ERR_INPUT, "%s has type %s; payload columns hold integers, floats or strings", what,
                        alq_h5_type_name(ftype));
  hsize_t *coords = NULL;
  if (!err)
    err = alq_malloc(&coords, sizeof *coords * (size_t)(c->n ? c->n : 1), what);
  for (int64_t i = 0; !err && i < c->n; i++)
    coords[i] = (hsize_t)rows[i];
  hid_t mspace = H5Screate_simple(1, count, NULL);
  /* A point selection returns values in the order the points are listed. */
  if (!err && c->n && H5Sselect_elements(fspace, H5S_SELECT_SET, (size_t)c->n, coords) < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "cannot select rows of %s", what);
  if (!err && c->n == 0)
    H5Sselect_none(fspace);
  if (!err && cls == H5T_INTEGER) {
    c->kind = ALQ_PAYLOAD_INT;
    err = alq_malloc(&c->ints, sizeof *c->ints * (size_t)(c->n ? c->n : 1), what);
    if (!err && c->n && H5Dread(ds, H5T_NATIVE_INT64, mspace, fspace, H5P_DEFAULT, c->ints) < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "cannot read %s", what);
  } else if (!err && cls == H5T_FLOAT) {
    c->kind = ALQ_PAYLOAD_FLOAT;
    err = alq_malloc(&c->floats, sizeof *c->floats * (size_t)(c->n ? c->n : 1), what);
    if (!err && c->n && H5Dread(ds, H5T_NATIVE_DOUBLE, mspace, fspace, H5P_DEFAULT, c->floats) < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "cannot read %s", what);
  } else if (!err) {
    c->kind = ALQ_PAYLOAD_TEXT;
    err = c->n ? read_texts(ds, ftype, fspace, mspace, what, c)
               : alq_calloc(&c->texts, 1, sizeof *c->texts, what);
  }
  free(coords);
  H5Sclose(mspace);
  H5Sclose(fspace);
  H5Tclose(ftype);
  return err;
}

alq_err alq_payload_read(const alq_pool_meta *meta, const char *name, const int64_t *rows, int64_t n,
                         alq_payload_column *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->name, sizeof out->name, "%s", name);
  out->n = n;
  char what[ALQ_PATH_MAX + ALQ_PAYLOAD_NAME_MAX + 32];
  snprintf(what, sizeof what, "%s: payload column /payload/%s", meta->path, name);
  char link[ALQ_PAYLOAD_NAME_MAX + 16];
  snprintf(link, sizeof link, "/payload/%s", name);
  hid_t file;
  ALQ_CHECK(alq_h5_open_readonly(meta->path, H5P_DEFAULT, &file));
  alq_err err = ALQ_OK;
  hid_t ds = alq_h5_exists(file, link) ? H5Dopen2(file, link, H5P_DEFAULT) : H5I_INVALID_HID;
  if (ds < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s is missing", what);
  else
    err = read_points(ds, meta, what, rows, out);
  if (ds >= 0)
    H5Dclose(ds);
  H5Fclose(file);
  if (err)
    alq_payload_column_free(out);
  return err;
}
