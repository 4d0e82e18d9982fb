/* pool/source_hdf5.c: the `hdf5` pool source: collective parallel reads of
 * row ranges with the MPI-IO driver.
 *
 * Stored types other than the ones alq computes with (float16/float64 rows,
 * int32 ids, int64 labels) are read as stored, so that the transfer stays
 * collective (HDF5 1.10 turns a converting read into independent I/O), and
 * converted per chunk in memory: IEEE half rows (numpy's float16) by
 * alq_half_to_float (alq/half.h; HDF5's own conversion of halves is a
 * software loop several times slower than the read), the rest by H5Tconvert.  Fetching rows by id uses the distributed id index (alq/id_index.h),
 * built on the first fetch.  Contiguous float16 embeddings can also be
 * mapped from the file in place (map_halves, pool/h5_map.c). */
#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/half.h"
#include "alq/id_index.h"
#include "alq/partition.h"
#include "alq/source.h"
#include "pool_hdf5.h"
#include "source_impl.h"

/* One row dataset and its stored type. */
typedef struct {
  hid_t ds, type; /* -1 when absent */
  int ieee_half;  /* stored as little-endian IEEE binary16 */
  const char *name;
} stored_set;

typedef struct {
  alq_pool_meta meta;
  MPI_Comm comm;
  hid_t file, dxpl;
  stored_set embeddings, probs, ids, labels;
  hid_t mc_probs; /* -1 when absent */
  /* Reads of a type wider than the one alq computes with land here first. */
  size_t stage_bytes;
  void *stage;
  int index_built;
  alq_id_index index;
  /* /mc_probs reduction, reused across reads: one pass's rows, and the sum of
   * the passes' probabilities per row (memory independent of T). */
  int64_t mc_cap;
  float *mc_pass;
  double *mc_sum;
  alq_file_map map; /* rows of /embeddings mapped in place (hdf5_map_halves) */
} hdf5_reader;

static void open_set(hdf5_reader *r, int present, unsigned field, stored_set *set) {
  set->name = alq_layout_name(&r->meta.layout, field);
  set->ds = present ? H5Dopen2(r->file, set->name, H5P_DEFAULT) : -1;
  set->type = set->ds >= 0 ? H5Dget_type(set->ds) : -1;
  set->ieee_half = set->type >= 0 && alq_h5_is_ieee_half(set->type);
}

static alq_err reader_open(MPI_Comm comm, const alq_pool_meta *meta, hdf5_reader **out) {
  hdf5_reader *r = NULL;
  ALQ_CHECK(alq_calloc(&r, 1, sizeof *r, "pool reader"));
  r->meta = *meta;
  r->comm = comm;
  r->mc_probs = -1;
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
  H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL);
  alq_err err = alq_h5_open_readonly(meta->path, fapl, &r->file);
  H5Pclose(fapl);
  if (err) {
    free(r);
    return err;
  }
  r->dxpl = H5Pcreate(H5P_DATASET_XFER);
  H5Pset_dxpl_mpio(r->dxpl, H5FD_MPIO_COLLECTIVE);
  open_set(r, 1, ALQ_FIELD_EMBEDDINGS, &r->embeddings);
  open_set(r, meta->has_probs, ALQ_FIELD_PROBS, &r->probs);
  open_set(r, meta->has_ids, ALQ_FIELD_IDS, &r->ids);
  open_set(r, meta->has_labels, ALQ_FIELD_LABELS, &r->labels);
  if (meta->mc_passes > 0)
    r->mc_probs = H5Dopen2(r->file, "/mc_probs", H5P_DEFAULT);
  *out = r;
  return ALQ_OK;
}

/* The memory type alq computes with for a stored set: float32 rows, int64
 * ids (uint64 read as stored and checked), int32 labels. */
static hid_t memory_type(const hdf5_reader *r, const stored_set *set) {
  if (set == &r->ids)
    return r->meta.ids_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64;
  if (set == &r->labels)
    return H5T_NATIVE_INT32;
  return H5T_NATIVE_FLOAT;
}

static alq_err stage_reserve(hdf5_reader *r, size_t bytes) {
  if (bytes <= r->stage_bytes)
    return ALQ_OK;
  free(r->stage);
  r->stage = NULL;
  r->stage_bytes = 0;
  ALQ_CHECK(alq_malloc(&r->stage, bytes, "stored-type read buffer"));
  r->stage_bytes = bytes;
  return ALQ_OK;
}

/* Reads the selected `n_elems` elements of `set` (fspace, mspace already
 * selected) into dst as memory_type(set), converting after the transfer; IEEE
 * halves land in `half` first when it is given (and stay there), and dst may
 * then be NULL: no floats wanted. */
static alq_err read_selected(hdf5_reader *r, hid_t dxpl, const stored_set *set, hid_t fspace, hid_t mspace,
                             size_t n_elems, void *dst, uint16_t *half, int *failed) {
  hid_t mem = memory_type(r, set);
  static double dummy[8]; /* HDF5 wants a buffer even for an empty selection */
  if (half && set->ieee_half) {
    *failed = H5Dread(set->ds, set->type, mspace, fspace, dxpl, n_elems ? (void *)half : (void *)dummy) < 0;
    if (!*failed && dst)
      alq_half_to_float(half, dst, (int64_t)n_elems);
    return ALQ_OK;
  }
  if (H5Tequal(set->type, mem) > 0) {
    *failed = H5Dread(set->ds, mem, mspace, fspace, dxpl, n_elems ? dst : (void *)dummy) < 0;
    return ALQ_OK;
  }
  size_t stored = H5Tget_size(set->type), wanted = H5Tget_size(mem);
  void *buf = dst;
  if (stored > wanted) {
    /* A failed allocation still joins the (collective) transfer, empty. */
    alq_err err = stage_reserve(r, stored * (n_elems ? n_elems : 1));
    if (err) {
      H5Sselect_none(fspace);
      H5Sselect_none(mspace);
      H5Dread(set->ds, set->type, mspace, fspace, dxpl, dummy);
      return err;
    }
    buf = r->stage;
  }
  *failed = H5Dread(set->ds, set->type, mspace, fspace, dxpl, n_elems ? buf : (void *)dummy) < 0;
  if (!*failed && n_elems && set->ieee_half)
    alq_half_to_float(buf, buf, (int64_t)n_elems); /* in place, as H5Tconvert */
  else if (!*failed && n_elems)
    *failed = H5Tconvert(set->type, mem, n_elems, buf, NULL, H5P_DEFAULT) < 0;
  if (!*failed && buf != dst)
    memcpy(dst, buf, wanted * n_elems);
  return ALQ_OK;
}

/* Ids stored as uint64 must fit in int64: alq's ids are signed. */
static alq_err check_unsigned_ids(const hdf5_reader *r, const int64_t *ids, const int64_t *rows, int64_t lo,
                                  int64_t n) {
  for (int64_t i = 0; r->meta.ids_unsigned && i < n; i++)
    if (ids[i] < 0)
      return alq_error_set(ALQ_ERR_INPUT, "%s: %s row %lld is %llu, above 2^63 - 1 (alq ids are int64)", r->meta.path,
                           r->ids.name, (long long)(rows ? rows[i] : lo + i), (unsigned long long)ids[i]);
  return ALQ_OK;
}

/* One hyperslab read of rows [lo, lo+count) x cols of `set`; count may be 0.
 * half: where IEEE halves are kept as stored too, or NULL (read_selected). */
static alq_err read_rows(hdf5_reader *r, hid_t dxpl, const stored_set *set, int rank, int64_t cols, int64_t lo,
                         int64_t count, void *dst, uint16_t *half) {
  hsize_t start[2] = {(hsize_t)lo, 0}, dims[2] = {(hsize_t)count, (hsize_t)cols};
  hsize_t one[2] = {1, (hsize_t)cols};
  hid_t fspace = H5Dget_space(set->ds);
  hid_t mspace = H5Screate_simple(rank, count ? dims : one, NULL);
  if (count) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, dims, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  int failed = 0;
  alq_err err = read_selected(r, dxpl, set, fspace, mspace, (size_t)(count * cols), dst, half, &failed);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (!err && failed)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %s rows %lld..%lld", r->meta.path, set->name, (long long)lo,
                        (long long)(lo + count - 1));
  if (!err && set == &r->ids)
    err = check_unsigned_ids(r, dst, NULL, lo, count);
  return err;
}

/* Pass t of /mc_probs, rows [lo, lo+count), into r->mc_pass (collective). */
static alq_err read_pass(hdf5_reader *r, int64_t t, int64_t lo, int64_t count) {
  const int64_t c = r->meta.n_classes;
  hsize_t start[3] = {(hsize_t)t, (hsize_t)lo, 0}, slab[3] = {1, (hsize_t)count, (hsize_t)c};
  hsize_t mdims[2] = {(hsize_t)(count ? count : 1), (hsize_t)c};
  hid_t fspace = H5Dget_space(r->mc_probs);
  hid_t mspace = H5Screate_simple(2, mdims, NULL);
  if (count) {
    H5Sselect_hyperslab(fspace, H5S_SELECT_SET, start, NULL, slab, NULL);
  } else {
    H5Sselect_none(fspace);
    H5Sselect_none(mspace);
  }
  herr_t rc = H5Dread(r->mc_probs, H5T_NATIVE_FLOAT, mspace, fspace, r->dxpl, r->mc_pass);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (rc < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read /mc_probs pass %lld rows %lld..%lld", r->meta.path,
                         (long long)t, (long long)lo, (long long)(lo + count - 1));
  return ALQ_OK;
}

static alq_err mc_reserve(hdf5_reader *r, int64_t rows) {
  if (rows <= r->mc_cap)
    return ALQ_OK;
  free(r->mc_pass);
  free(r->mc_sum);
  r->mc_pass = NULL;
  r->mc_sum = NULL;
  r->mc_cap = 0;
  ALQ_CHECK(alq_malloc(&r->mc_pass, sizeof(float) * rows * r->meta.n_classes, "/mc_probs pass rows"));
  ALQ_CHECK(alq_malloc(&r->mc_sum, sizeof(double) * rows * r->meta.n_classes, "/mc_probs sums"));
  r->mc_cap = rows;
  return ALQ_OK;
}

/* Adds one pass to the probability sums and its entropies to `entropy`;
 * checks the pass's distributions as /probs is checked. */
static alq_err add_pass(hdf5_reader *r, int64_t t, int64_t lo, int64_t count, double *entropy) {
  const int64_t c = r->meta.n_classes;
  for (int64_t i = 0; i < count; i++) {
    const float *p = r->mc_pass + i * c;
    double sum = 0, h = 0;
    for (int64_t k = 0; k < c; k++) {
      if (!isfinite(p[k]) || p[k] < 0)
        return alq_error_set(ALQ_ERR_INPUT, "%s: /mc_probs pass %lld row %lld column %lld is %g (need a finite "
                             "value >= 0)", r->meta.path, (long long)t, (long long)(lo + i), (long long)k, p[k]);
      sum += p[k];
      h -= p[k] > 0 ? (double)p[k] * log((double)p[k]) : 0;
      r->mc_sum[i * c + k] += p[k];
    }
    if (fabs(sum - 1) > 1e-3)
      return alq_error_set(ALQ_ERR_INPUT, "%s: /mc_probs pass %lld row %lld sums to %.6f, not 1", r->meta.path,
                           (long long)t, (long long)(lo + i), sum);
    entropy[i] += h;
  }
  return ALQ_OK;
}

/* BALD's inputs from /mc_probs, pass by pass: dst->probs gets the mean of the
 * T passes and dst->expected_entropy the mean of their entropies, summed in
 * pass order (a function of the row alone).  Every rank makes the T
 * collective reads, with nothing to read once it has failed. */
static alq_err read_mc(hdf5_reader *r, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  const int64_t c = r->meta.n_classes, T = r->meta.mc_passes;
  double *entropy = NULL;
  alq_err err = mc_reserve(r, count > 0 ? count : 1);
  if (!err)
    err = alq_calloc(&entropy, count > 0 ? count : 1, sizeof *entropy, "/mc_probs entropies");
  if (!err)
    memset(r->mc_sum, 0, sizeof(double) * count * c);
  for (int64_t t = 0; t < T; t++) {
    alq_err e = read_pass(r, t, lo, err ? 0 : count);
    err = err ? err : e;
    if (!err)
      err = add_pass(r, t, lo, count, entropy);
  }
  for (int64_t i = 0; !err && i < count; i++) {
    dst->expected_entropy[i] = (float)(entropy[i] / (double)T);
    for (int64_t k = 0; (fields & ALQ_FIELD_PROBS) && k < c; k++)
      dst->probs[i * c + k] = (float)(r->mc_sum[i * c + k] / (double)T);
  }
  free(entropy);
  return err;
}

static alq_err hdf5_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst) {
  hdf5_reader *r = s->impl;
  const alq_pool_meta *m = &r->meta;
  alq_err err = ALQ_OK;
  /* Every rank reaches every H5Dread below (collective), whatever happened before. */
  if (fields & ALQ_FIELD_EMBEDDINGS) {
    uint16_t *half = (fields & ALQ_FIELD_HALF_EMBEDDINGS) ? dst->half : NULL;
    int halves_only = half && r->embeddings.ieee_half && (fields & ALQ_FIELD_HALVES_ONLY);
    alq_err e = read_rows(r, r->dxpl, &r->embeddings, 2, m->dim, lo, count, halves_only ? NULL : dst->embeddings,
                          half);
    err = err ? err : e;
    dst->half_filled = !e && half && r->embeddings.ieee_half;
  }
  if (fields & ALQ_FIELD_EXPECTED_ENTROPY) {
    if (m->mc_passes < 1)
      return alq_error_set(ALQ_ERR_INTERNAL, "%s: expected entropies asked of a pool without /mc_probs", m->path);
    alq_err e = read_mc(r, lo, count, fields, dst);
    err = err ? err : e;
  } else if ((fields & ALQ_FIELD_PROBS) && m->has_probs) {
    alq_err e = read_rows(r, r->dxpl, &r->probs, 2, m->n_classes, lo, count, dst->probs, NULL);
    err = err ? err : e;
  }
  if (fields & ALQ_FIELD_IDS) {
    if (m->has_ids) {
      alq_err e = read_rows(r, r->dxpl, &r->ids, 1, 1, lo, count, dst->ids, NULL);
      err = err ? err : e;
    } else {
      for (int64_t i = 0; i < count; i++)
        dst->ids[i] = lo + i;
    }
  }
  if ((fields & ALQ_FIELD_LABELS) && m->has_labels) {
    alq_err e = read_rows(r, r->dxpl, &r->labels, 1, 1, lo, count, dst->labels, NULL);
    err = err ? err : e;
  }
  return err;
}

/* Rows of /ids read per collective call while building the index (128 MiB). */
#define INDEX_PIECE ((int64_t)1 << 24)

/* Collective: every rank reads its even share of the ids (in pieces, the same
 * number of calls everywhere) and the shares become the id index. */
static alq_err build_index(hdf5_reader *r) {
  int rank, size;
  MPI_Comm_rank(r->comm, &rank);
  MPI_Comm_size(r->comm, &size);
  alq_range mine = alq_partition_rows(r->meta.n_items, 1, size, rank);
  int64_t n = mine.hi - mine.lo, largest = (r->meta.n_items + size - 1) / size;
  int64_t *ids = NULL;
  alq_err err = alq_agree(r->comm, alq_malloc(&ids, sizeof *ids * (size_t)(n ? n : 1), "ids for the id index"));
  if (err)
    return err;
  alq_err local = ALQ_OK;
  for (int64_t done = 0; done < largest; done += INDEX_PIECE) {
    int64_t count = n - done < INDEX_PIECE ? n - done : INDEX_PIECE;
    count = count > 0 && !local ? count : 0;
    alq_err e = read_rows(r, r->dxpl, &r->ids, 1, 1, mine.lo + done, count, ids + (count ? done : 0), NULL);
    local = local ? local : e;
  }
  err = alq_agree(r->comm, local);
  if (!err)
    err = alq_id_index_build(r->comm, r->meta.path, r->ids.name, ids, n, mine.lo, &r->index);
  free(ids);
  r->index_built = !err;
  return err;
}

/* Collective: the rows of this rank's ids (an input error names the first id
 * that is not in the pool). */
static alq_err rows_of_ids(void *impl, const int64_t *ids, int64_t n, int64_t *rows) {
  hdf5_reader *r = impl;
  if (r->meta.has_ids) {
    if (!r->index_built)
      ALQ_CHECK(build_index(r));
    ALQ_CHECK(alq_id_index_lookup(r->comm, &r->index, ids, n, rows));
  }
  return alq_rows_of_ids_finish(r->comm, &r->meta, ids, n, rows);
}

/* Independent read of the rows in `order` (sorted by row): one selection of
 * runs of consecutive rows, one H5Dread, then each row moved to its position. */
static alq_err read_row_list(hdf5_reader *r, const stored_set *set, int rank, int64_t cols, const alq_row_pos *order,
                             int64_t n, size_t elem, unsigned char *dst) {
  unsigned char *tmp = NULL;
  ALQ_CHECK(alq_malloc(&tmp, elem * (size_t)(n * cols), "fetched rows"));
  hid_t fspace = H5Dget_space(set->ds);
  H5Sselect_none(fspace);
  for (int64_t i = 0; i < n;) {
    int64_t j = i + 1;
    while (j < n && order[j].row == order[j - 1].row + 1)
      j++;
    hsize_t start[2] = {(hsize_t)order[i].row, 0}, count[2] = {(hsize_t)(j - i), (hsize_t)cols};
    H5Sselect_hyperslab(fspace, H5S_SELECT_OR, start, NULL, count, NULL);
    i = j;
  }
  hsize_t mdims[2] = {(hsize_t)n, (hsize_t)cols};
  hid_t mspace = H5Screate_simple(rank, mdims, NULL);
  int failed = 0;
  alq_err err = read_selected(r, H5P_DEFAULT, set, fspace, mspace, (size_t)(n * cols), tmp, NULL, &failed);
  H5Sclose(mspace);
  H5Sclose(fspace);
  if (!err && failed)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %lld rows of %s by id", r->meta.path, (long long)n, set->name);
  size_t row_bytes = elem * (size_t)cols;
  for (int64_t i = 0; !err && i < n; i++)
    memcpy(dst + (size_t)order[i].pos * row_bytes, tmp + (size_t)i * row_bytes, row_bytes);
  free(tmp);
  return err;
}

static alq_err fetch_rows(void *impl, const int64_t *rows, int64_t n, unsigned fields, alq_rows *dst) {
  hdf5_reader *r = impl;
  const alq_pool_meta *m = &r->meta;
  alq_row_pos *order = NULL;
  ALQ_CHECK(alq_row_order(rows, n, &order));
  alq_err err = ALQ_OK;
  if (fields & ALQ_FIELD_EMBEDDINGS)
    err = read_row_list(r, &r->embeddings, 2, m->dim, order, n, sizeof(float), (unsigned char *)dst->embeddings);
  if (!err && (fields & ALQ_FIELD_PROBS) && m->has_probs)
    err = read_row_list(r, &r->probs, 2, m->n_classes, order, n, sizeof(float), (unsigned char *)dst->probs);
  if (!err && (fields & ALQ_FIELD_LABELS) && m->has_labels)
    err = read_row_list(r, &r->labels, 1, 1, order, n, sizeof(int32_t), (unsigned char *)dst->labels);
  free(order);
  return err;
}

/* Collective (alq_source_ops.fetch): ids to rows through the index, then
 * each rank reads its own rows with independent transfers. */
static alq_err hdf5_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst) {
  static const alq_fetch_steps steps = {rows_of_ids, fetch_rows};
  return alq_fetch_by_rows(((hdf5_reader *)s->impl)->comm, &steps, s->impl, ids, n, fields, dst);
}

/* The rows as stored, from the file's own pages (alq_source_ops.map_halves). */
static const char *hdf5_map_halves(alq_source *s, int64_t lo, int64_t count, const uint16_t **rows) {
  hdf5_reader *r = s->impl;
  *rows = NULL;
  if (!r->embeddings.ieee_half)
    return "not stored as little-endian float16";
  alq_file_unmap(&r->map);
  const void *at = NULL;
  const char *why = alq_h5_map_rows(r->meta.path, r->file, r->embeddings.ds, 2 * r->meta.dim, lo, count, &r->map, &at);
  *rows = at;
  return why;
}

static void hdf5_close(alq_source *s) {
  hdf5_reader *r = s->impl;
  stored_set *sets[] = {&r->embeddings, &r->probs, &r->ids, &r->labels};
  for (int i = 0; i < 4; i++) {
    if (sets[i]->ds >= 0)
      H5Dclose(sets[i]->ds);
    if (sets[i]->type >= 0)
      H5Tclose(sets[i]->type);
  }
  if (r->mc_probs >= 0)
    H5Dclose(r->mc_probs);
  alq_id_index_free(&r->index);
  alq_file_unmap(&r->map);
  free(r->stage);
  free(r->mc_pass);
  free(r->mc_sum);
  H5Pclose(r->dxpl);
  H5Fclose(r->file);
  free(r);
  free(s);
}

static const alq_source_ops hdf5_ops = {.kind = "hdf5",
                                        .read = hdf5_read,
                                        .fetch = hdf5_fetch,
                                        .close = hdf5_close,
                                        .map_halves = hdf5_map_halves};

alq_err alq_hdf5_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out) {
  alq_source *s = NULL;
  ALQ_CHECK(alq_calloc(&s, 1, sizeof *s, "pool source"));
  hdf5_reader *r = NULL;
  alq_err err = reader_open(comm, meta, &r);
  if (err) {
    free(s);
    return err;
  }
  s->ops = &hdf5_ops;
  s->meta = *meta;
  s->impl = r;
  *out = s;
  return ALQ_OK;
}
