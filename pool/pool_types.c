/* pool/pool_types.c: how a pool's fields are stored, for `alq info`
 * (alq/pool_info.h). */
#include <hdf5.h>
#include <string.h>

#include "alq/pool_info.h"

/* The stored dtype of `name` in `file`, as the pool's reader checked it. */
static const char *stored_type(const char *file, const char *name) {
  hid_t f = H5Fopen(file, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = f >= 0 ? H5Dopen2(f, name, H5P_DEFAULT) : -1;
  hid_t type = ds >= 0 ? H5Dget_type(ds) : -1;
  const char *out = "?";
  if (type >= 0) {
    size_t size = H5Tget_size(type);
    int is_float = H5Tget_class(type) == H5T_FLOAT, is_signed = H5Tget_sign(type) == H5T_SGN_2;
    out = is_float ? (size == 2 ? "float16" : size == 8 ? "float64" : "float32")
          : size == 4 ? "int32" : is_signed ? "int64" : "uint64";
    H5Tclose(type);
  }
  if (ds >= 0)
    H5Dclose(ds);
  if (f >= 0)
    H5Fclose(f);
  return out;
}

/* Where each field's stored type is read: the pool file, a pool list's first
 * shard (every shard's types must match it), nowhere for gen:. */
alq_err alq_pool_types_read(const alq_pool_meta *meta, alq_pool_types *out) {
  static const char *const generated[ALQ_SHARD_FIELDS] = {"float32 (generated)", "float32 (generated)",
                                                          "int64 (generated)", "int32 (generated)"};
  static const unsigned fields[ALQ_SHARD_FIELDS] = {ALQ_FIELD_EMBEDDINGS, ALQ_FIELD_PROBS, ALQ_FIELD_IDS,
                                                    ALQ_FIELD_LABELS};
  memset(out, 0, sizeof *out);
  out->generated = strncmp(meta->path, "gen:", 4) == 0;
  alq_pool_list list = {0, NULL};
  if (alq_pool_list_is(meta->path))
    ALQ_CHECK(alq_pool_list_read(meta->path, &list));
  const int present[ALQ_SHARD_FIELDS] = {1, meta->has_probs, meta->has_ids, meta->has_labels};
  for (int f = 0; f < ALQ_SHARD_FIELDS; f++) {
    const char *file = list.n ? list.shards[0].file[f] : meta->path;
    if (present[f])
      out->type[f] = out->generated ? generated[f]
                                    : stored_type(file, alq_layout_name(&meta->layout, fields[f]));
  }
  out->shards = list.n;
  alq_pool_list_free(&list);
  return ALQ_OK;
}
