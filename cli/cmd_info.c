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

#include "alq/pool.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq info POOL.h5\n"
    "\n"
    "Prints the pool's shape (items, dim, classes), which optional datasets it\n"
    "holds, its chunking, the class counts of /labels and of the in-pool labeled\n"
    "set, then validates every row: finite embeddings; probabilities finite, >= 0\n"
    "and summing to 1 within 1e-3; ids strictly increasing; labels in [-1, C);\n"
    "labeled ids present in the pool.  Exits 3 at the first invalid value, naming\n"
    "the dataset and row.\n";

/* A block is whole chunks and about this many bytes of rows. */
#define BLOCK_BYTES (8 << 20)

typedef struct {
  hid_t file, embeddings, probs, ids, labels;
} pool_file;

/* Running state of the validation pass. */
typedef struct {
  int64_t *class_counts; /* C entries, or NULL when C is unknown */
  int64_t unknown;       /* labels equal to -1 */
  int64_t last_id;
  int64_t next_labeled;  /* first labeled id (in sorted order) not yet found */
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
  ALQ_CHECK(open_dataset(f->file, meta->path, "/embeddings", 1, &f->embeddings));
  ALQ_CHECK(open_dataset(f->file, meta->path, "/probs", meta->has_probs, &f->probs));
  ALQ_CHECK(open_dataset(f->file, meta->path, "/ids", meta->has_ids, &f->ids));
  return open_dataset(f->file, meta->path, "/labels", meta->has_labels, &f->labels);
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

static alq_err check_ids_and_labels(const alq_pool_meta *meta, const alq_labeled *labeled,
                                    const alq_rows *rows, int64_t lo, int64_t count, scan_state *s) {
  for (int64_t i = 0; i < count; i++) {
    int64_t row = lo + i, id = rows->ids[i];
    if (meta->has_ids && row > 0 && id <= s->last_id)
      return alq_error_set(ALQ_ERR_INPUT,
                           "%s: /ids row %lld is %lld, not greater than %lld in the row before "
                           "(ids must be strictly increasing)",
                           meta->path, (long long)row, (long long)id, (long long)s->last_id);
    s->last_id = id;
    /* Both lists are sorted: a labeled id smaller than the current pool id
     * was skipped over, so it is not in the pool. */
    if (s->next_labeled < labeled->n && labeled->ids[s->next_labeled] < id)
      return alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld, which is not in the pool",
                           meta->path, (long long)labeled->ids[s->next_labeled]);
    if (s->next_labeled < labeled->n && labeled->ids[s->next_labeled] == id)
      s->next_labeled++;
    if (!meta->has_labels)
      continue;
    int32_t label = rows->labels[i];
    if (label < -1 || (s->class_counts && label >= meta->n_classes))
      return alq_error_set(ALQ_ERR_INPUT, "%s: /labels row %lld (id %lld) is %d, outside [-1, %lld)",
                           meta->path, (long long)row, (long long)id, label, (long long)meta->n_classes);
    if (label == -1)
      s->unknown++;
    else if (s->class_counts)
      s->class_counts[label]++;
  }
  return ALQ_OK;
}

static int64_t block_rows(const alq_pool_meta *meta) {
  int64_t row_bytes = 4 * meta->dim + 4 * meta->n_classes + 8 + 4;
  int64_t chunks = BLOCK_BYTES / (row_bytes * meta->chunk_rows);
  return meta->chunk_rows * (chunks > 0 ? chunks : 1);
}

static alq_err scan_blocks(const alq_pool_meta *meta, const pool_file *f, const alq_labeled *labeled,
                           alq_rows *rows, int64_t block, scan_state *s) {
  const char *path = meta->path;
  unsigned fields = ALQ_FIELD_EMBEDDINGS | (meta->has_probs ? ALQ_FIELD_PROBS : 0);
  for (int64_t lo = 0; lo < meta->n_items; lo += block) {
    int64_t count = meta->n_items - lo < block ? meta->n_items - lo : block;
    ALQ_CHECK(read_block(f->embeddings, path, "/embeddings", H5T_NATIVE_FLOAT, lo, count, meta->dim,
                         rows->embeddings));
    if (meta->has_probs)
      ALQ_CHECK(read_block(f->probs, path, "/probs", H5T_NATIVE_FLOAT, lo, count, meta->n_classes,
                           rows->probs));
    if (meta->has_ids)
      ALQ_CHECK(read_block(f->ids, path, "/ids", H5T_NATIVE_INT64, lo, count, 1, rows->ids));
    else
      for (int64_t i = 0; i < count; i++)
        rows->ids[i] = lo + i;
    if (meta->has_labels)
      ALQ_CHECK(read_block(f->labels, path, "/labels", H5T_NATIVE_INT32, lo, count, 1, rows->labels));
    ALQ_CHECK(alq_rows_validate(meta, rows, lo, count, fields));
    ALQ_CHECK(check_ids_and_labels(meta, labeled, rows, lo, count, s));
  }
  if (s->next_labeled < labeled->n)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld, which is not in the pool", path,
                         (long long)labeled->ids[s->next_labeled]);
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

static void print_structure(const alq_pool_meta *m) {
  printf("path: %s\n", m->path);
  printf("items: %lld\n", (long long)m->n_items);
  printf("dim: %lld\n", (long long)m->dim);
  printf("classes: %lld\n", (long long)m->n_classes);
  printf("/embeddings: float32 [%lld][%lld], %lld rows per chunk\n", (long long)m->n_items,
         (long long)m->dim, (long long)m->chunk_rows);
  if (m->has_probs)
    printf("/probs: float32 [%lld][%lld]\n", (long long)m->n_items, (long long)m->n_classes);
  else
    printf("/probs: absent\n");
  if (m->has_ids)
    printf("/ids: int64 [%lld]\n", (long long)m->n_items);
  else
    printf("/ids: absent (ids are the row indices)\n");
  if (m->has_labels)
    printf("/labels: int32 [%lld]\n", (long long)m->n_items);
  else
    printf("/labels: absent\n");
  printf("/labeled: %lld ids\n", (long long)m->n_labeled);
}

static alq_err info(const char *path) {
  alq_pool_meta meta;
  ALQ_CHECK(alq_pool_inspect(path, &meta));
  print_structure(&meta);
  fflush(stdout);

  alq_labeled labeled;
  ALQ_CHECK(alq_labeled_read(path, meta.n_classes, 0, &labeled));
  scan_state s = {NULL, 0, 0, 0};
  int64_t n_blocks = 0;
  alq_err err = ALQ_OK;
  if (meta.n_classes > 0)
    err = alq_calloc(&s.class_counts, (size_t)meta.n_classes, sizeof(int64_t), "class counts");
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
