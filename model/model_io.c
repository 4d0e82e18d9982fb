/* model/model_io.c: the model file (docs/models.md, "File"), serial HDF5.
 *
 * Written to "<path>.tmp.<pid>" and renamed when complete, like pools, so a
 * failed save leaves nothing behind. */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alq/h5_records.h"
#include "../pool/pool_hdf5.h"
#include "alq/version.h"
#include "model_impl.h"

#define MODEL_FORMAT "alq-model-1"

static alq_err put_attr(hid_t loc, const char *path, const char *name, hid_t type, const void *value) {
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = attr < 0 ? -1 : H5Awrite(attr, type, value);
  if (attr >= 0)
    H5Aclose(attr);
  H5Sclose(space);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write attribute %s of %s", name, path);
  return ALQ_OK;
}

static alq_err put_string(hid_t loc, const char *path, const char *name, const char *value) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  alq_err err = put_attr(loc, path, name, type, &value);
  H5Tclose(type);
  return err;
}

static alq_err put_floats(hid_t file, const char *path, const char *name, int rank, int64_t rows, int64_t cols,
                          const float *data) {
  hsize_t dims[2] = {(hsize_t)rows, (hsize_t)cols};
  hid_t space = H5Screate_simple(rank, dims, NULL);
  hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
  H5Pset_create_intermediate_group(lcpl, 1);
  hid_t ds = H5Dcreate2(file, name, H5T_IEEE_F32LE, space, lcpl, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = ds < 0 ? -1 : H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
  if (ds >= 0)
    H5Dclose(ds);
  H5Pclose(lcpl);
  H5Sclose(space);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write dataset %s of %s", name, path);
  return ALQ_OK;
}

static alq_err write_contents(hid_t f, const char *path, const void *ctx) {
  const alq_model *m = ctx;
  const alq_train_options *o = &m->opt;
  int64_t e = alq_model_embedding_dim(m), class_weights = o->class_weights;
  ALQ_CHECK(put_string(f, path, "format", MODEL_FORMAT));
  ALQ_CHECK(put_string(f, path, "alq_version", ALQ_VERSION));
  ALQ_CHECK(put_string(f, path, "kind", alq_model_kind_name(o->kind)));
  ALQ_CHECK(put_attr(f, path, "dim", H5T_NATIVE_INT64, &m->dim));
  ALQ_CHECK(put_attr(f, path, "hidden", H5T_NATIVE_INT64, &m->hidden));
  ALQ_CHECK(put_attr(f, path, "classes", H5T_NATIVE_INT64, &m->n_classes));
  ALQ_CHECK(put_attr(f, path, "n_train", H5T_NATIVE_INT64, &m->n_train));
  ALQ_CHECK(put_attr(f, path, "seed", H5T_NATIVE_UINT64, &o->seed));
  ALQ_CHECK(put_attr(f, path, "epochs", H5T_NATIVE_INT64, &o->epochs));
  ALQ_CHECK(put_attr(f, path, "lr", H5T_NATIVE_DOUBLE, &o->lr));
  ALQ_CHECK(put_attr(f, path, "l2", H5T_NATIVE_DOUBLE, &o->l2));
  ALQ_CHECK(put_attr(f, path, "dropout", H5T_NATIVE_DOUBLE, &o->dropout));
  ALQ_CHECK(put_attr(f, path, "class_weights", H5T_NATIVE_INT64, &class_weights));
  ALQ_CHECK(put_floats(f, path, "/standardize/mean", 1, m->dim, 1, m->mean));
  ALQ_CHECK(put_floats(f, path, "/standardize/std", 1, m->dim, 1, m->std));
  if (m->hidden > 0) {
    ALQ_CHECK(put_floats(f, path, "/hidden/weights", 2, m->hidden, m->dim, m->w1));
    ALQ_CHECK(put_floats(f, path, "/hidden/bias", 1, m->hidden, 1, m->b1));
  }
  ALQ_CHECK(put_floats(f, path, "/output/weights", 2, m->n_classes, e, m->w2));
  ALQ_CHECK(put_floats(f, path, "/output/bias", 1, m->n_classes, 1, m->b2));
  ALQ_CHECK(put_floats(f, path, "/class_weight", 1, m->n_classes, 1, m->class_weight));
  return ALQ_OK;
}

alq_err alq_model_save(const char *path, const alq_model *m) {
  return alq_h5_write_atomic(path, write_contents, m);
}

static alq_err get_attr(hid_t f, const char *path, const char *name, hid_t type, void *value) {
  if (H5Aexists(f, name) <= 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: model attribute %s is missing", path, name);
  hid_t attr = H5Aopen(f, name, H5P_DEFAULT);
  herr_t rc = attr < 0 ? -1 : H5Aread(attr, type, value);
  if (attr >= 0)
    H5Aclose(attr);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read model attribute %s", path, name);
  return ALQ_OK;
}

static alq_err get_string(hid_t f, const char *path, const char *name, char *out, size_t size) {
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  char *value = NULL;
  alq_err err = get_attr(f, path, name, type, &value);
  H5Tclose(type);
  if (!err)
    snprintf(out, size, "%s", value ? value : "");
  if (value)
    H5free_memory(value);
  return err;
}

/* Reads float dataset `name`, which must be [rows] (cols 0) or [rows][cols]. */
static alq_err get_floats(hid_t f, const char *path, const char *name, int64_t rows, int64_t cols, float *out) {
  hsize_t dims[2] = {0, 0};
  ALQ_CHECK(alq_h5_check_dataset(f, path, name, cols ? 2 : 1, H5T_FLOAT, 4, 1, dims));
  if ((int64_t)dims[0] != rows || (cols && (int64_t)dims[1] != cols))
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s is %llu x %llu, expected %lld x %lld", path, name,
                         (unsigned long long)dims[0], (unsigned long long)dims[1], (long long)rows,
                         (long long)(cols ? cols : 1));
  hid_t ds = H5Dopen2(f, name, H5P_DEFAULT);
  herr_t rc = H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
  H5Dclose(ds);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read dataset %s", path, name);
  int64_t n = rows * (cols ? cols : 1);
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(out[i]))
      return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s entry %lld is %g", path, name, (long long)i, out[i]);
  return ALQ_OK;
}

static alq_err read_contents(hid_t f, const char *path, alq_model *m) {
  char text[64];
  ALQ_CHECK(get_string(f, path, "format", text, sizeof text));
  if (strcmp(text, MODEL_FORMAT) != 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: attribute format is '%s', expected '%s' (not an alq model file?)", path,
                         text, MODEL_FORMAT);
  ALQ_CHECK(get_string(f, path, "kind", text, sizeof text));
  m->opt.kind = alq_model_kind_parse(text);
  if (!m->opt.kind)
    return alq_error_set(ALQ_ERR_INPUT, "%s: attribute kind is '%s', expected logreg or mlp", path, text);
  int64_t class_weights = 0;
  ALQ_CHECK(get_attr(f, path, "dim", H5T_NATIVE_INT64, &m->dim));
  ALQ_CHECK(get_attr(f, path, "hidden", H5T_NATIVE_INT64, &m->hidden));
  ALQ_CHECK(get_attr(f, path, "classes", H5T_NATIVE_INT64, &m->n_classes));
  ALQ_CHECK(get_attr(f, path, "n_train", H5T_NATIVE_INT64, &m->n_train));
  ALQ_CHECK(get_attr(f, path, "seed", H5T_NATIVE_UINT64, &m->opt.seed));
  ALQ_CHECK(get_attr(f, path, "epochs", H5T_NATIVE_INT64, &m->opt.epochs));
  ALQ_CHECK(get_attr(f, path, "lr", H5T_NATIVE_DOUBLE, &m->opt.lr));
  ALQ_CHECK(get_attr(f, path, "l2", H5T_NATIVE_DOUBLE, &m->opt.l2));
  ALQ_CHECK(get_attr(f, path, "dropout", H5T_NATIVE_DOUBLE, &m->opt.dropout));
  ALQ_CHECK(get_attr(f, path, "class_weights", H5T_NATIVE_INT64, &class_weights));
  m->opt.class_weights = (int)class_weights;
  m->opt.hidden = m->hidden;
  int mlp = m->opt.kind == ALQ_MODEL_MLP;
  if (m->dim < 1 || m->n_classes < 2 || (mlp ? m->hidden < 1 : m->hidden != 0) ||
      !(m->opt.dropout >= 0 && m->opt.dropout < 1))
    return alq_error_set(ALQ_ERR_INPUT, "%s: inconsistent model shape: kind %s, dim %lld, hidden %lld, classes %lld, dropout %g",
                         path, text, (long long)m->dim, (long long)m->hidden, (long long)m->n_classes, m->opt.dropout);
  int64_t e = alq_model_embedding_dim(m);
  ALQ_CHECK(alq_calloc(&m->mean, m->dim, sizeof(float), "model means"));
  ALQ_CHECK(alq_calloc(&m->std, m->dim, sizeof(float), "model scales"));
  ALQ_CHECK(alq_calloc(&m->w2, m->n_classes * e, sizeof(float), "output weights"));
  ALQ_CHECK(alq_calloc(&m->b2, m->n_classes, sizeof(float), "output biases"));
  ALQ_CHECK(alq_calloc(&m->class_weight, m->n_classes, sizeof(float), "class weights"));
  ALQ_CHECK(get_floats(f, path, "/standardize/mean", m->dim, 0, m->mean));
  ALQ_CHECK(get_floats(f, path, "/standardize/std", m->dim, 0, m->std));
  for (int64_t j = 0; j < m->dim; j++)
    if (!(m->std[j] > 0))
      return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /standardize/std entry %lld is %g, expected > 0", path,
                           (long long)j, m->std[j]);
  if (mlp) {
    ALQ_CHECK(alq_calloc(&m->w1, m->hidden * m->dim, sizeof(float), "hidden weights"));
    ALQ_CHECK(alq_calloc(&m->b1, m->hidden, sizeof(float), "hidden biases"));
    ALQ_CHECK(get_floats(f, path, "/hidden/weights", m->hidden, m->dim, m->w1));
    ALQ_CHECK(get_floats(f, path, "/hidden/bias", m->hidden, 0, m->b1));
  }
  ALQ_CHECK(get_floats(f, path, "/output/weights", m->n_classes, e, m->w2));
  ALQ_CHECK(get_floats(f, path, "/output/bias", m->n_classes, 0, m->b2));
  ALQ_CHECK(get_floats(f, path, "/class_weight", m->n_classes, 0, m->class_weight));
  return ALQ_OK;
}

alq_err alq_model_load(const char *path, alq_model *m) {
  memset(m, 0, sizeof *m);
  H5E_auto2_t print_errors;
  void *print_data;
  H5Eget_auto2(H5E_DEFAULT, &print_errors, &print_data);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file;
  alq_err err = alq_h5_open_readonly(path, H5P_DEFAULT, &file);
  if (!err) {
    err = read_contents(file, path, m);
    H5Fclose(file);
  }
  H5Eset_auto2(H5E_DEFAULT, print_errors, print_data);
  if (err)
    alq_model_free(m);
  return err;
}
