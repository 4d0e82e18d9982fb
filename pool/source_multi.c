/* pool/source_multi.c: the `list` pool source: one pool made of the HDF5
 * shards a pool list names (alq/pool_list.h, docs/format.md "Pools in
 * several files").
 *
 * Shard i holds global rows [first[i], first[i+1]).  Each rank opens only
 * the shard files its reads touch, with the serial driver, and reads them
 * with independent transfers: a rank's rows [lo, hi) never make another rank
 * open a file, and no read is collective (the MPI-IO driver's collective
 * reads need every rank in every file).  A read that crosses a shard boundary
 * is split.  Stored types are converted by H5Dread (float64 to float32,
 * int32/uint64 ids to int64, int64 labels to int32), which the serial driver
 * does without giving up anything, except IEEE halves: read as stored and
 * widened by alq_half_to_float, several times faster than HDF5's loop.  Fetching by id goes
 * through the distributed id index over global rows (alq/id_index.h), built
 * on the first fetch. */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/half.h"
#include "alq/id_index.h"
#include "alq/partition.h"
#include "alq/pool_list.h"
#include "alq/source.h"
#include "pool_hdf5.h"
#include "source_impl.h"

static const unsigned slot_field[ALQ_SHARD_FIELDS] = {ALQ_FIELD_EMBEDDINGS, ALQ_FIELD_PROBS, ALQ_FIELD_IDS,
                                                       ALQ_FIELD_LABELS};

/* ---- describing: every shard's structure, checked against the first ---- */

/* What one shard holds, as the pool's meta records it. */
typedef struct {
  int64_t rows, dim, n_classes, chunk_rows;
  int has[ALQ_SHARD_FIELDS];
  int width[ALQ_SHARD_FIELDS]; /* stored element bytes */
  int ids_unsigned;
} shard_shape;

static alq_err open_serial(const char *path, hid_t *file) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  return alq_h5_open_readonly(path, H5P_DEFAULT, file);
}

/* Field `slot` of shard `sh`: present or not, its dims, width and sign.  A
 * field is required when the layout or the shard line names it. */
static alq_err inspect_field(const alq_pool_shard *sh, const alq_layout *layout, int slot, shard_shape *out) {
  static const unsigned accept[ALQ_SHARD_FIELDS] = {ALQ_H5_FLOATS, ALQ_H5_FLOATS,
                                                    ALQ_H5_INT32 | ALQ_H5_INT64 | ALQ_H5_UINT64,
                                                    ALQ_H5_INT32 | ALQ_H5_INT64};
  const char *name = alq_layout_name(layout, slot_field[slot]), *path = sh->file[slot];
  const char *given[ALQ_SHARD_FIELDS] = {layout->embeddings, layout->probs, layout->ids, layout->labels};
  int required = slot == ALQ_SHARD_EMBEDDINGS || given[slot][0] || (sh->named >> slot & 1);
  hid_t file;
  ALQ_CHECK(open_serial(path, &file));
  alq_err err = ALQ_OK;
  int rank = slot == ALQ_SHARD_EMBEDDINGS || slot == ALQ_SHARD_PROBS ? 2 : 1;
  hsize_t dims[2] = {0, 0};
  out->has[slot] = alq_h5_exists(file, name);
  if (!out->has[slot] && required)
    err = alq_h5_missing(file, path, name, NULL);
  if (!err && out->has[slot])
    err = alq_h5_check_stored(file, path, name, rank, accept[slot], dims, &out->width[slot],
                              slot == ALQ_SHARD_IDS ? &out->ids_unsigned : NULL);
  if (!err && out->has[slot] && slot == ALQ_SHARD_EMBEDDINGS) {
    out->rows = (int64_t)dims[0];
    out->dim = (int64_t)dims[1];
    out->chunk_rows = 1;
    hid_t ds = H5Dopen2(file, name, H5P_DEFAULT), dcpl = H5Dget_create_plist(ds);
    hsize_t chunk[2];
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, 2, chunk) == 2)
      out->chunk_rows = (int64_t)chunk[0];
    H5Pclose(dcpl);
    H5Dclose(ds);
    if (out->dim < 1)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has 0 columns", path, name);
    if (!err && alq_h5_exists(file, "/mc_probs"))
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /mc_probs is not read from a pool list (shard line %d); give BALD "
                          "a single pool file", path, sh->line);
    if (!err && H5Aexists(file, "classes") > 0) {
      hid_t attr = H5Aopen(file, "classes", H5P_DEFAULT);
      if (H5Aread(attr, H5T_NATIVE_INT64, &out->n_classes) < 0 || out->n_classes < 1)
        err = alq_error_set(ALQ_ERR_INPUT, "%s: attribute classes is not a positive integer", path);
      H5Aclose(attr);
    }
  } else if (!err && out->has[slot]) {
    if ((int64_t)dims[0] != out->rows)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has %llu rows, expected %lld (the rows of %s in %s)", path,
                          name, (unsigned long long)dims[0], (long long)out->rows,
                          alq_layout_name(layout, ALQ_FIELD_EMBEDDINGS), sh->file[ALQ_SHARD_EMBEDDINGS]);
    if (!err && slot == ALQ_SHARD_PROBS) {
      if (dims[1] < 2)
        err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s has %llu column(s), need at least 2 classes", path, name,
                            (unsigned long long)dims[1]);
      else if (out->n_classes > 0 && out->n_classes != (int64_t)dims[1])
        err = alq_error_set(ALQ_ERR_INPUT, "%s: attribute classes = %lld but %s has %llu columns", path,
                            (long long)out->n_classes, name, (unsigned long long)dims[1]);
      out->n_classes = (int64_t)dims[1];
    }
  }
  H5Fclose(file);
  return err;
}

static alq_err inspect_shard(const alq_pool_shard *sh, const alq_layout *layout, shard_shape *out) {
  memset(out, 0, sizeof *out);
  for (int slot = 0; slot < ALQ_SHARD_FIELDS; slot++)
    ALQ_CHECK(inspect_field(sh, layout, slot, out));
  return ALQ_OK;
}

/* The value of one property in shard `b` differs from the first shard's. */
static alq_err mismatch(const char *list, const alq_pool_shard *a, const alq_pool_shard *b, int slot,
                        const alq_layout *layout, const char *what, const char *va, const char *vb) {
  return alq_error_set(ALQ_ERR_INPUT, "%s: shard line %d %s dataset %s has %s %s, but shard line %d %s has %s (%s)",
                       list, b->line, b->file[slot], alq_layout_name(layout, slot_field[slot]), what, vb, a->line,
                       a->file[slot], va, "every shard of a pool list must have the same columns and dtypes");
}

static const char *width_name(int slot, int width, int is_unsigned) {
  if (slot <= ALQ_SHARD_PROBS)
    return width == 2 ? "float16" : width == 8 ? "float64" : "float32";
  return width == 4 ? "int32" : is_unsigned ? "uint64" : "int64";
}

static alq_err same_shape(const char *list, const alq_pool_list *l, const alq_layout *layout, const shard_shape *s0,
                          int64_t i, const shard_shape *si) {
  const alq_pool_shard *a = &l->shards[0], *b = &l->shards[i];
  char va[64], vb[64];
  if (si->dim != s0->dim) {
    snprintf(va, sizeof va, "%lld", (long long)s0->dim);
    snprintf(vb, sizeof vb, "%lld", (long long)si->dim);
    return mismatch(list, a, b, ALQ_SHARD_EMBEDDINGS, layout, "dim", va, vb);
  }
  if (si->n_classes != s0->n_classes) {
    snprintf(va, sizeof va, "%lld", (long long)s0->n_classes);
    snprintf(vb, sizeof vb, "%lld", (long long)si->n_classes);
    return mismatch(list, a, b, ALQ_SHARD_PROBS, layout, "classes", va, vb);
  }
  for (int slot = 0; slot < ALQ_SHARD_FIELDS; slot++) {
    if (si->has[slot] != s0->has[slot])
      return mismatch(list, a, b, slot, layout, "presence", s0->has[slot] ? "present" : "absent",
                      si->has[slot] ? "present" : "absent");
    int u0 = slot == ALQ_SHARD_IDS && s0->ids_unsigned, ui = slot == ALQ_SHARD_IDS && si->ids_unsigned;
    if (si->has[slot] && (si->width[slot] != s0->width[slot] || ui != u0))
      return mismatch(list, a, b, slot, layout, "dtype", width_name(slot, s0->width[slot], u0),
                      width_name(slot, si->width[slot], ui));
  }
  return ALQ_OK;
}

/* Serial: checks every shard of `l` and fills `meta` and rows[i] (shard i's rows). */
static alq_err describe_list(const char *path, const alq_pool_list *l, const alq_layout *layout, alq_pool_meta *meta,
                             int64_t *rows) {
  shard_shape s0, si;
  memset(meta, 0, sizeof *meta);
  if (strlen(path) >= sizeof meta->path)
    return alq_error_set(ALQ_ERR_USAGE, "pool path is longer than %d bytes", ALQ_PATH_MAX - 1);
  strcpy(meta->path, path);
  meta->layout = *layout;
  for (int64_t i = 0; i < l->n; i++) {
    shard_shape *s = i == 0 ? &s0 : &si;
    ALQ_CHECK(inspect_shard(&l->shards[i], layout, s));
    if (i > 0)
      ALQ_CHECK(same_shape(path, l, layout, &s0, i, &si));
    rows[i] = s->rows;
    meta->n_items += s->rows;
  }
  meta->dim = s0.dim;
  meta->n_classes = s0.n_classes;
  meta->has_probs = s0.has[ALQ_SHARD_PROBS];
  meta->has_ids = s0.has[ALQ_SHARD_IDS];
  meta->has_labels = s0.has[ALQ_SHARD_LABELS];
  meta->chunk_rows = s0.chunk_rows;
  meta->embeddings_width = s0.width[ALQ_SHARD_EMBEDDINGS] == 4 ? 0 : s0.width[ALQ_SHARD_EMBEDDINGS];
  meta->probs_width = s0.width[ALQ_SHARD_PROBS] == 4 ? 0 : s0.width[ALQ_SHARD_PROBS];
  meta->ids_unsigned = s0.ids_unsigned;
  return ALQ_OK;
}

alq_err alq_multi_source_describe(const char *path, alq_pool_meta *meta) {
  alq_pool_list l;
  ALQ_CHECK(alq_pool_list_read(path, &l));
  int64_t *rows = NULL;
  alq_err err = alq_malloc(&rows, sizeof *rows * (size_t)l.n, "shard rows");
  if (!err)
    err = describe_list(path, &l, alq_layout_in_use(), meta, rows);
  free(rows);
  alq_pool_list_free(&l);
  return err;
}

/* ---- reading ---- */

typedef struct {
  hid_t file[ALQ_SHARD_FIELDS], ds[ALQ_SHARD_FIELDS]; /* -1 until a read needs them */
} shard_files;

typedef struct {
  alq_pool_meta meta;
  MPI_Comm comm;
  alq_pool_list list;
  int64_t *first; /* list.n + 1 global row offsets */
  shard_files *open;
  int index_built;
  alq_id_index index;
} multi_reader;

/* The dataset of field `slot` in shard `i`, opened on first use. */
static alq_err shard_set(multi_reader *r, int64_t i, int slot, hid_t *ds) {
  shard_files *f = &r->open[i];
  if (f->ds[slot] < 0) {
    const char *path = r->list.shards[i].file[slot], *name = alq_layout_name(&r->meta.layout, slot_field[slot]);
    if (f->file[slot] < 0)
      ALQ_CHECK(open_serial(path, &f->file[slot]));
    f->ds[slot] = H5Dopen2(f->file[slot], name, H5P_DEFAULT);
    if (f->ds[slot] < 0)
      return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open dataset %s (shard line %d of %s)", path, name,
                           r->list.shards[i].line, r->meta.path);
  }
  *ds = f->ds[slot];
  return ALQ_OK;
}

/* Rows [lo, lo+count) of shard i's field `slot` (cols wide) into dst as
 * `mem`; IEEE halves land in `half` first when it is given (and stay there,
 * not widened into dst when halves_only), and *half_read says whether they did. */
static alq_err read_piece(multi_reader *r, int64_t i, int slot, hid_t mem, int64_t cols, int64_t lo, int64_t count,
                          void *dst, uint16_t *half, int halves_only, int *half_read) {
  hid_t ds = -1;
  ALQ_CHECK(shard_set(r, i, slot, &ds));
  int rank = cols > 1 || slot <= ALQ_SHARD_PROBS ? 2 : 1;
  hsize_t start[2] = {(hsize_t)lo, 0}, dims[2] = {(hsize_t)count, (hsize_t)cols};
  hid_t fspace = H5Dget_space(ds), mspace = H5Screate_simple(rank, dims, NULL);
  herr_t rc = H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL);
  hid_t stored = H5Dget_type(ds);
  int is_half = H5Tequal(mem, H5T_NATIVE_FLOAT) > 0 && alq_h5_is_ieee_half(stored);
  void *into = is_half && half ? (void *)half : dst;
  if (rc >= 0)
    rc = H5Dread(ds, is_half ? stored : mem, mspace, fspace, H5P_DEFAULT, into);
  /* widened by alq, as the hdf5 source does (in place without `half`) */
  if (rc >= 0 && is_half && !(half && halves_only))
    alq_half_to_float(into, dst, count * cols);
  if (half_read)
    *half_read = is_half && half;
  H5Tclose(stored);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %s rows %lld..%lld (shard line %d of %s)",
                         r->list.shards[i].file[slot], alq_layout_name(&r->meta.layout, slot_field[slot]),
                         (long long)lo, (long long)(lo + count - 1), r->list.shards[i].line, r->meta.path);
  return ALQ_OK;
}

static alq_err read_shard_rows(multi_reader *r, int64_t i, int64_t lo, int64_t count, unsigned fields,
                               alq_rows *dst, int64_t at) {
  const alq_pool_meta *m = &r->meta;
  if (fields & ALQ_FIELD_EMBEDDINGS) {
    uint16_t *half = (fields & ALQ_FIELD_HALF_EMBEDDINGS) && dst->half ? dst->half + at * m->dim : NULL;
    int half_read = 0;
    ALQ_CHECK(read_piece(r, i, ALQ_SHARD_EMBEDDINGS, H5T_NATIVE_FLOAT, m->dim, lo, count,
                         dst->embeddings + at * m->dim, half, (fields & ALQ_FIELD_HALVES_ONLY) != 0, &half_read));
    /* every shard stores the same type (pool_list.c refuses others) */
    dst->half_filled = half_read;
  }
  if ((fields & ALQ_FIELD_PROBS) && m->has_probs)
    ALQ_CHECK(read_piece(r, i, ALQ_SHARD_PROBS, H5T_NATIVE_FLOAT, m->n_classes, lo, count,
                         dst->probs + at * m->n_classes, NULL, 0, NULL));
  if ((fields & ALQ_FIELD_LABELS) && m->has_labels)
    ALQ_CHECK(read_piece(r, i, ALQ_SHARD_LABELS, H5T_NATIVE_INT32, 1, lo, count, dst->labels + at, NULL, 0, NULL));
  if ((fields & ALQ_FIELD_IDS) && !m->has_ids)
    for (int64_t k = 0; k < count; k++)
      dst->ids[at + k] = r->first[i] + lo + k;
  if ((fields & ALQ_FIELD_IDS) && m->has_ids) {
    ALQ_CHECK(read_piece(r, i, ALQ_SHARD_IDS, m->ids_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, 1, lo, count,
                         dst->ids + at, NULL, 0, NULL));
    for (int64_t k = 0; m->ids_unsigned && k < count; k++)
      if (dst->ids[at + k] < 0)
        return alq_error_set(ALQ_ERR_INPUT, "%s: %s row %lld is %llu, above 2^63 - 1 (alq ids are int64)",
                             r->list.shards[i].file[ALQ_SHARD_IDS], alq_layout_name(&m->layout, ALQ_FIELD_IDS),
                             (long long)(lo + k), (unsigned long long)dst->ids[at + k]);
  }
  return ALQ_OK;
}

/* The shard holding global row `row` (first[i] <= row < first[i+1]). */
static int64_t shard_of(const multi_reader *r, int64_t row) {
  int64_t lo = 0, hi = r->list.n - 1;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    if (r->first[mid] <= row)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

/* Global rows [lo, lo+count) into dst rows [at, at+count), split at shard boundaries. */
static alq_err read_global(multi_reader *r, int64_t lo, int64_t count, unsigned fields, alq_rows *dst,
                           int64_t at) {
  if (fields & ALQ_FIELD_EXPECTED_ENTROPY)
    return alq_error_set(ALQ_ERR_INTERNAL, "%s: expected entropies asked of a pool list", r->meta.path);
  if (count > 0 && (lo < 0 || lo + count > r->meta.n_items))
    return alq_error_set(ALQ_ERR_INTERNAL, "%s: rows %lld..%lld asked of a pool of %lld rows", r->meta.path,
                         (long long)lo, (long long)(lo + count - 1), (long long)r->meta.n_items);
  for (int64_t done = 0; done < count;) {
    int64_t row = lo + done, i = shard_of(r, row);
    int64_t take = r->first[i + 1] - row < count - done ? r->first[i + 1] - row : count - done;
    ALQ_CHECK(read_shard_rows(r, i, row - r->first[i], take, fields, dst, at + done));
    done += take;
  }
  return ALQ_OK;
}

static alq_err multi_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  return read_global(s->impl, lo, count, fields, dst, 0);
}

/* Collective: each rank reads the ids of its even share of the global rows
 * into the id index (a duplicate across shards is refused naming both global rows). */
static alq_err build_index(multi_reader *r) {
  int rank, size;
  MPI_Comm_rank(r->comm, &rank);
  MPI_Comm_size(r->comm, &size);
  alq_range mine = alq_partition_rows(r->meta.n_items, 1, size, rank);
  int64_t n = mine.hi - mine.lo, *ids = NULL;
  alq_err err = alq_malloc(&ids, sizeof *ids * (size_t)(n ? n : 1), "ids for the id index");
  if (!err)
    err = read_global(r, mine.lo, n, ALQ_FIELD_IDS, &(alq_rows){.ids = ids}, 0);
  err = alq_agree(r->comm, err);
  if (!err)
    err = alq_id_index_build(r->comm, r->meta.path, alq_layout_name(&r->meta.layout, ALQ_FIELD_IDS), ids, n,
                             mine.lo, &r->index);
  free(ids);
  r->index_built = !err;
  return err;
}

/* Collective: the global rows of this rank's ids. */
static alq_err rows_of_ids(void *impl, const int64_t *ids, int64_t n, int64_t *rows) {
  multi_reader *r = impl;
  if (r->meta.has_ids) {
    if (!r->index_built)
      ALQ_CHECK(build_index(r));
    ALQ_CHECK(alq_id_index_lookup(r->comm, &r->index, ids, n, rows));
  }
  return alq_rows_of_ids_finish(r->comm, &r->meta, ids, n, rows);
}

/* Independent reads of the given rows: sorted by row, one read per run of
 * consecutive rows into `tmp`, then each row moved to its position. */
static alq_err fetch_rows(void *impl, const int64_t *rows, int64_t n, unsigned fields, alq_rows *dst) {
  multi_reader *r = impl;
  const alq_pool_meta *m = &r->meta;
  unsigned want = fields & (ALQ_FIELD_EMBEDDINGS | (m->has_probs ? ALQ_FIELD_PROBS : 0) |
                            (m->has_labels ? ALQ_FIELD_LABELS : 0));
  alq_row_pos *order = NULL;
  alq_rows tmp = {0};
  alq_err err = alq_row_order(rows, n, &order);
  if (!err && (want & ALQ_FIELD_EMBEDDINGS))
    err = alq_malloc(&tmp.embeddings, sizeof(float) * (size_t)(n * m->dim), "fetched embeddings");
  if (!err && (want & ALQ_FIELD_PROBS))
    err = alq_malloc(&tmp.probs, sizeof(float) * (size_t)(n * m->n_classes), "fetched probabilities");
  if (!err && (want & ALQ_FIELD_LABELS))
    err = alq_malloc(&tmp.labels, sizeof(int32_t) * (size_t)n, "fetched labels");
  for (int64_t i = 0; !err && i < n;) {
    int64_t j = i + 1;
    while (j < n && order[j].row == order[j - 1].row + 1)
      j++;
    err = read_global(r, order[i].row, j - i, want, &tmp, i);
    i = j;
  }
  for (int64_t i = 0; !err && i < n; i++) {
    int64_t p = order[i].pos;
    if (want & ALQ_FIELD_EMBEDDINGS)
      memcpy(dst->embeddings + p * m->dim, tmp.embeddings + i * m->dim, sizeof(float) * (size_t)m->dim);
    if (want & ALQ_FIELD_PROBS)
      memcpy(dst->probs + p * m->n_classes, tmp.probs + i * m->n_classes, sizeof(float) * (size_t)m->n_classes);
    if (want & ALQ_FIELD_LABELS)
      dst->labels[p] = tmp.labels[i];
  }
  free(order);
  free(tmp.embeddings);
  free(tmp.probs);
  free(tmp.labels);
  return err;
}

static alq_err multi_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  static const alq_fetch_steps steps = {rows_of_ids, fetch_rows};
  return alq_fetch_by_rows(((multi_reader *)s->impl)->comm, &steps, s->impl, ids, n, fields, dst);
}

static void reader_free(multi_reader *r) {
  for (int64_t i = 0; r->open && i < r->list.n; i++)
    for (int slot = 0; slot < ALQ_SHARD_FIELDS; slot++) {
      if (r->open[i].ds[slot] >= 0)
        H5Dclose(r->open[i].ds[slot]);
      if (r->open[i].file[slot] >= 0)
        H5Fclose(r->open[i].file[slot]);
    }
  alq_id_index_free(&r->index);
  alq_pool_list_free(&r->list);
  free(r->open);
  free(r->first);
  free(r);
}

static void multi_close(alq_source *s) {
  reader_free(s->impl);
  free(s);
}

static const alq_source_ops multi_ops = {
    .kind = "list", .read = multi_read, .fetch = multi_fetch, .close = multi_close};

/* Every rank parses the list; rank 0 checks the shards again (they may have
 * changed since the describe) and gives every rank their row counts. */
static alq_err reader_open(MPI_Comm comm, const alq_pool_meta *meta, multi_reader *r) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_err err = alq_agree(comm, alq_pool_list_read(meta->path, &r->list));
  if (err)
    return err;
  int64_t n = r->list.n;
  err = alq_malloc(&r->first, sizeof *r->first * (size_t)(n + 1), "shard offsets");
  if (!err)
    err = alq_malloc(&r->open, sizeof *r->open * (size_t)n, "shard files");
  for (int64_t i = 0; !err && i < n; i++)
    for (int slot = 0; slot < ALQ_SHARD_FIELDS; slot++)
      r->open[i].file[slot] = r->open[i].ds[slot] = -1;
  alq_pool_meta now;
  if (!err && rank == 0)
    err = describe_list(meta->path, &r->list, &meta->layout, &now, r->first + 1);
  if (!err && rank == 0 && (now.n_items != meta->n_items || now.dim != meta->dim))
    err = alq_error_set(ALQ_ERR_INPUT, "%s: the pool list changed while alq ran (%lld items of dim %lld, was %lld "
                        "of dim %lld)", meta->path, (long long)now.n_items, (long long)now.dim,
                        (long long)meta->n_items, (long long)meta->dim);
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(r->first + 1, (int64_t)(sizeof *r->first * (size_t)n), 0, comm);
  if (err)
    return err;
  r->first[0] = 0;
  for (int64_t i = 0; i < n; i++)
    r->first[i + 1] += r->first[i];
  return ALQ_OK;
}

alq_err alq_multi_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out) {
  alq_source *s = NULL;
  multi_reader *r = NULL;
  alq_err err = alq_calloc(&s, 1, sizeof *s, "pool source");
  if (!err)
    err = alq_calloc(&r, 1, sizeof *r, "pool list reader");
  err = alq_agree(comm, err);
  if (!err) {
    r->meta = *meta;
    r->comm = comm;
    err = reader_open(comm, meta, r);
  }
  if (err) {
    if (r)
      reader_free(r);
    free(s);
    return err;
  }
  s->ops = &multi_ops;
  s->meta = *meta;
  s->impl = r;
  *out = s;
  return ALQ_OK;
}

/* Serial (alq/payload.h's alq_pool_rows_of_ids for a list): one pass over the
 * ids, shard by shard, matched against the sorted wanted ids. */
alq_err alq_multi_rows_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int64_t *rows) {
  alq_source *src = NULL;
  ALQ_CHECK(alq_multi_source_open(MPI_COMM_SELF, meta, &src));
  alq_row_pos *want = NULL; /* by id: .row holds the id here */
  int64_t *block = NULL;
  enum { BLOCK = 1 << 16 };
  alq_err err = alq_row_order(ids, n, &want);
  if (!err)
    err = alq_malloc(&block, sizeof *block * BLOCK, "an ids block");
  for (int64_t i = 0; !err && i < n; i++)
    rows[i] = -1;
  for (int64_t lo = 0; !err && n > 0 && lo < meta->n_items; lo += BLOCK) {
    int64_t count = meta->n_items - lo < BLOCK ? meta->n_items - lo : BLOCK;
    err = multi_read(src, lo, count, ALQ_FIELD_IDS, &(alq_rows){.ids = block});
    for (int64_t k = 0; !err && k < count; k++) {
      int64_t a = 0, b = n;
      while (a < b) {
        int64_t mid = a + (b - a) / 2;
        if (want[mid].row < block[k])
          a = mid + 1;
        else
          b = mid;
      }
      for (; a < n && want[a].row == block[k]; a++)
        rows[want[a].pos] = lo + k;
    }
  }
  for (int64_t i = 0; !err && i < n; i++)
    if (rows[i] < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "id %lld is not an id of pool %s", (long long)ids[i], meta->path);
  free(block);
  free(want);
  alq_source_close(src);
  return err;
}
