/* cli/cmd_info.c: `alq info`, what a pool holds, and a full validation pass.
 *
 * The summary comes from alq_pool_inspect (structure only); then every row is
 * read block by block with serial HDF5 and checked, so memory stays bounded by
 * one block whatever the pool size.
 */
#include <getopt.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/id_index.h"
#include "alq/pool.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq info POOL.h5 [--embeddings NAME --probs NAME --ids NAME --labels NAME | --layout SPEC]\n"
    "\n"
    "Prints the pool's shape (items, dim, classes), which optional datasets it\n"
    "holds, its chunking, the class counts of /labels and of the in-pool labeled\n"
    "set, then validates every row: finite embeddings; probabilities finite, >= 0\n"
    "and summing to 1 within 1e-3; ids unique (in any order); labels in [-1, C);\n"
    "labeled ids present in the pool.  Exits 3 at the first invalid value, naming\n"
    "the dataset and row.\n\n" ALQ_ARG_LAYOUT_USAGE;

/* A block is whole chunks and about this many bytes of rows. */
#define BLOCK_BYTES (8 << 20)

typedef struct {
  hid_t file, embeddings, probs, ids, labels;
} pool_file;

/* Running state of the validation pass. */
typedef struct {
  int64_t *class_counts; /* C entries, or NULL when C is unknown */
  int64_t unknown;       /* labels equal to -1 */
  int64_t *all_ids;       /* every id in row order, for the uniqueness check */
  unsigned char *found;   /* per labeled id: seen in the pool */
} scan_state;

static alq_err open_dataset(hid_t file, const char *path, const char *name, int present, hid_t *out) {
  if (!present)
    return ALQ_OK;
  *out = H5Dopen2(file, name, H5P_DEFAULT);
  if (*out < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open dataset %s", path, name);
  return ALQ_OK;
}

/* Fills `f` as far as it gets; close_pool releases whatever was opened. */
static alq_err open_pool(const alq_pool_meta *meta, pool_file *f) {
  f->file = H5Fopen(meta->path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f->file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open HDF5 file %s", meta->path);
  const alq_layout *l = &meta->layout;
  ALQ_CHECK(open_dataset(f->file, meta->path, alq_layout_name(l, ALQ_FIELD_EMBEDDINGS), 1, &f->embeddings));
  ALQ_CHECK(open_dataset(f->file, meta->path, alq_layout_name(l, ALQ_FIELD_PROBS), meta->has_probs, &f->probs));
  ALQ_CHECK(open_dataset(f->file, meta->path, alq_layout_name(l, ALQ_FIELD_IDS), meta->has_ids, &f->ids));
  return open_dataset(f->file, meta->path, alq_layout_name(l, ALQ_FIELD_LABELS), meta->has_labels, &f->labels);
}

static void close_pool(pool_file *f) {
  hid_t sets[] = {f->embeddings, f->probs, f->ids, f->labels};
  for (int i = 0; i < 4; i++)
    if (sets[i] >= 0)
      H5Dclose(sets[i]);
  if (f->file >= 0)
    H5Fclose(f->file);
}

/* Reads rows [lo, lo+count) of a dataset with `cols` columns (1 for a vector). */
static alq_err read_block(hid_t dset, const char *path, const char *name, hid_t mem_type, int64_t lo,
                          int64_t count, int64_t cols, void *buf) {
  hid_t space = H5Dget_space(dset);
  int rank = space < 0 ? 0 : H5Sget_simple_extent_ndims(space);
  hsize_t start[2] = {(hsize_t)lo, 0}, dims[2] = {(hsize_t)count, (hsize_t)cols};
  hid_t mem = H5Screate_simple(rank, dims, NULL);
  herr_t status = (space < 0 || mem < 0) ? -1 : 0;
  if (status >= 0)
    status = H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, dims, NULL);
  if (status >= 0)
    status = H5Dread(dset, mem_type, mem, space, H5P_DEFAULT, buf);
  if (mem >= 0)
    H5Sclose(mem);
  if (space >= 0)
    H5Sclose(space);
  if (status < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot read %s rows %lld..%lld", path, name, (long long)lo,
                         (long long)(lo + count - 1));
  return ALQ_OK;
}

static int64_t labeled_position(const alq_labeled *labeled, int64_t id) {
  int64_t lo = 0, hi = labeled->n;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo) / 2;
    if (labeled->ids[mid] < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < labeled->n && labeled->ids[lo] == id ? lo : -1;
}

static alq_err check_ids_and_labels(const alq_pool_meta *meta, const alq_labeled *labeled,
                                    const alq_rows *rows, int64_t lo, int64_t count, scan_state *s) {
  const char *labels = alq_layout_name(&meta->layout, ALQ_FIELD_LABELS);
  for (int64_t i = 0; i < count; i++) {
    int64_t row = lo + i, id = rows->ids[i];
    if (meta->ids_unsigned && id < 0)
      return alq_error_set(ALQ_ERR_INPUT, "%s: %s row %lld is %llu, above 2^63 - 1 (alq ids are int64)", meta->path,
                           alq_layout_name(&meta->layout, ALQ_FIELD_IDS), (long long)row, (unsigned long long)id);
    s->all_ids[row] = id;
    int64_t j = labeled->n ? labeled_position(labeled, id) : -1;
    if (j >= 0)
      s->found[j] = 1;
    if (!meta->has_labels)
      continue;
    int32_t label = rows->labels[i];
    if (label < -1 || (s->class_counts && label >= meta->n_classes))
      return alq_error_set(ALQ_ERR_INPUT, "%s: %s row %lld (id %lld) is %d, outside [-1, %lld)",
                           meta->path, labels, (long long)row, (long long)id, label, (long long)meta->n_classes);
    if (label == -1)
      s->unknown++;
    else if (s->class_counts)
      s->class_counts[label]++;
  }
  return ALQ_OK;
}

static int64_t block_rows(const alq_pool_meta *meta) {
  int64_t row_bytes = 8 * meta->dim + 8 * meta->n_classes + 8 + 8; /* room for float64 staging */
  int64_t chunks = BLOCK_BYTES / (row_bytes * meta->chunk_rows);
  return meta->chunk_rows * (chunks > 0 ? chunks : 1);
}

static alq_err scan_blocks(const alq_pool_meta *meta, const pool_file *f, const alq_labeled *labeled,
                           alq_rows *rows, int64_t block, scan_state *s) {
  const char *path = meta->path;
  const alq_layout *l = &meta->layout;
  unsigned fields = ALQ_FIELD_EMBEDDINGS | (meta->has_probs ? ALQ_FIELD_PROBS : 0);
  for (int64_t lo = 0; lo < meta->n_items; lo += block) {
    int64_t count = meta->n_items - lo < block ? meta->n_items - lo : block;
    /* HDF5 converts the stored types to these memory types (serial reads). */
    ALQ_CHECK(read_block(f->embeddings, path, alq_layout_name(l, ALQ_FIELD_EMBEDDINGS), H5T_NATIVE_FLOAT, lo, count,
                         meta->dim, rows->embeddings));
    if (meta->has_probs)
      ALQ_CHECK(read_block(f->probs, path, alq_layout_name(l, ALQ_FIELD_PROBS), H5T_NATIVE_FLOAT, lo, count,
                           meta->n_classes, rows->probs));
    if (meta->has_ids)
      ALQ_CHECK(read_block(f->ids, path, alq_layout_name(l, ALQ_FIELD_IDS),
                           meta->ids_unsigned ? H5T_NATIVE_UINT64 : H5T_NATIVE_INT64, lo, count, 1, rows->ids));
    else
      for (int64_t i = 0; i < count; i++)
        rows->ids[i] = lo + i;
    if (meta->has_labels)
      ALQ_CHECK(read_block(f->labels, path, alq_layout_name(l, ALQ_FIELD_LABELS), H5T_NATIVE_INT32, lo, count, 1,
                           rows->labels));
    ALQ_CHECK(alq_rows_validate(meta, rows, lo, count, fields));
    ALQ_CHECK(check_ids_and_labels(meta, labeled, rows, lo, count, s));
  }
  for (int64_t j = 0; j < labeled->n; j++)
    if (!s->found[j])
      return alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld, which is not in the pool", path,
                           (long long)labeled->ids[j]);
  /* Ids in any order: unique is what matters (the index refuses a repeat naming both rows). */
  alq_id_index index;
  ALQ_CHECK(alq_id_index_build(MPI_COMM_SELF, path, alq_layout_name(l, ALQ_FIELD_IDS), s->all_ids, meta->n_items, 0,
                               &index));
  alq_id_index_free(&index);
  return ALQ_OK;
}

/* Reads every row once, in blocks of whole chunks. */
static alq_err validate(const alq_pool_meta *meta, const alq_labeled *labeled, scan_state *s,
                        int64_t *n_blocks) {
  int64_t block = block_rows(meta);
  if (block > meta->n_items)
    block = meta->n_items;
  *n_blocks = (meta->n_items + block - 1) / block;
  alq_rows rows = {0};
  alq_err err = alq_malloc(&rows.embeddings, sizeof(float) * (size_t)(block * meta->dim), "an /embeddings block");
  if (!err && meta->has_probs)
    err = alq_malloc(&rows.probs, sizeof(float) * (size_t)(block * meta->n_classes), "a /probs block");
  if (!err)
    err = alq_malloc(&rows.ids, sizeof(int64_t) * (size_t)block, "an /ids block");
  if (!err && meta->has_labels)
    err = alq_malloc(&rows.labels, sizeof(int32_t) * (size_t)block, "a /labels block");
  if (!err)
    err = alq_malloc(&s->all_ids, sizeof(int64_t) * (size_t)(meta->n_items ? meta->n_items : 1), "the pool's ids");
  pool_file f = {H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID, H5I_INVALID_HID};
  if (!err)
    err = open_pool(meta, &f);
  if (!err)
    err = scan_blocks(meta, &f, labeled, &rows, block, s);
  close_pool(&f);
  free(rows.embeddings);
  free(rows.probs);
  free(rows.ids);
  free(rows.labels);
  free(s->all_ids);
  s->all_ids = NULL;
  return err;
}

static void print_counts(const char *what, const int64_t *counts, int64_t n_classes, int64_t unknown) {
  printf("%s:", what);
  for (int64_t k = 0; k < n_classes; k++)
    printf(" %lld=%lld", (long long)k, (long long)counts[k]);
  if (unknown > 0)
    printf(" unknown=%lld", (long long)unknown);
  printf("\n");
}

/* The stored dtype of `name` in `path`, as alq_pool_inspect checked it. */
static const char *stored_type(const char *path, const char *name) {
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = file >= 0 ? H5Dopen2(file, name, H5P_DEFAULT) : -1;
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
  if (file >= 0)
    H5Fclose(file);
  return out;
}

static void print_structure(const alq_pool_meta *m) {
  const alq_layout *l = &m->layout;
  printf("path: %s\n", m->path);
  printf("items: %lld\n", (long long)m->n_items);
  printf("dim: %lld\n", (long long)m->dim);
  printf("classes: %lld\n", (long long)m->n_classes);
  printf("%s: %s [%lld][%lld], %lld rows per chunk\n", alq_layout_name(l, ALQ_FIELD_EMBEDDINGS),
         stored_type(m->path, alq_layout_name(l, ALQ_FIELD_EMBEDDINGS)), (long long)m->n_items, (long long)m->dim, (long long)m->chunk_rows);
  if (m->has_probs)
    printf("%s: %s [%lld][%lld]\n", alq_layout_name(l, ALQ_FIELD_PROBS), stored_type(m->path, alq_layout_name(l, ALQ_FIELD_PROBS)),
           (long long)m->n_items, (long long)m->n_classes);
  else
    printf("%s: absent\n", alq_layout_name(l, ALQ_FIELD_PROBS));
  if (m->has_ids)
    printf("%s: %s [%lld]\n", alq_layout_name(l, ALQ_FIELD_IDS), stored_type(m->path, alq_layout_name(l, ALQ_FIELD_IDS)),
           (long long)m->n_items);
  else
    printf("%s: absent (ids are the row indices)\n", alq_layout_name(l, ALQ_FIELD_IDS));
  if (m->has_labels)
    printf("%s: %s [%lld]\n", alq_layout_name(l, ALQ_FIELD_LABELS), stored_type(m->path, alq_layout_name(l, ALQ_FIELD_LABELS)),
           (long long)m->n_items);
  else
    printf("%s: absent\n", alq_layout_name(l, ALQ_FIELD_LABELS));
  if (m->mc_passes > 0)
    printf("/mc_probs: float32 [%lld][%lld][%lld] (%lld stochastic passes)\n", (long long)m->mc_passes,
           (long long)m->n_items, (long long)m->n_classes, (long long)m->mc_passes);
  else
    printf("/mc_probs: absent\n");
  printf("/labeled: %lld ids\n", (long long)m->n_labeled);
}

static alq_err info(const char *path) {
  alq_pool_meta meta;
  ALQ_CHECK(alq_pool_inspect(path, &meta));
  print_structure(&meta);
  fflush(stdout);

  alq_labeled labeled;
  ALQ_CHECK(alq_labeled_read(path, meta.n_classes, 0, &labeled));
  scan_state s = {NULL, 0, NULL, NULL};
  int64_t n_blocks = 0;
  alq_err err = ALQ_OK;
  if (meta.n_classes > 0)
    err = alq_calloc(&s.class_counts, (size_t)meta.n_classes, sizeof(int64_t), "class counts");
  if (!err)
    err = alq_calloc(&s.found, (size_t)(labeled.n ? labeled.n : 1), 1, "labeled flags");
  if (!err)
    err = validate(&meta, &labeled, &s, &n_blocks);
  if (!err) {
    if (!meta.has_labels)
      printf("class counts: n/a (no /labels)\n");
    else if (!s.class_counts)
      printf("class counts: n/a (class count unknown: no /probs and no classes attribute)\n");
    else
      print_counts("class counts", s.class_counts, meta.n_classes, s.unknown);
    printf("labeled: %lld\n", (long long)labeled.n);
    if (labeled.n > 0 && meta.n_classes > 0) {
      memset(s.class_counts, 0, sizeof(int64_t) * (size_t)meta.n_classes);
      for (int64_t i = 0; i < labeled.n; i++)
        s.class_counts[labeled.labels[i]]++;
      print_counts("labeled class counts", s.class_counts, meta.n_classes, 0);
    }
    printf("valid: yes (%lld rows in %lld blocks)\n", (long long)meta.n_items, (long long)n_blocks);
  }
  free(s.class_counts);
  free(s.found);
  alq_labeled_free(&labeled);
  return err;
}

int alq_cmd_info(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (c != 'h')
      return alq_cli_fail(alq_arg_unknown("info", optopt, argv[optind - 1]));
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (optind != argc - 1)
    return alq_cli_fail(alq_error_set(ALQ_ERR_USAGE, "alq info: expects one POOL argument, got %d (see alq info --help)",
                                      argc - optind));
  alq_err err = info(argv[optind]);
  return err ? alq_cli_fail(err) : ALQ_OK;
}
