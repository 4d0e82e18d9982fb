/* cli/cmd_info.c: `alq info`, what a pool holds, and a full validation pass.
 *
 * The summary comes from alq_source_describe (structure only); then every row
 * is read block by block through the pool's source (alq/source.h) on this
 * process alone and checked, so memory stays bounded by one block (plus 8
 * bytes an id for the uniqueness check) whatever the pool size.
 */
#include <getopt.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/id_index.h"
#include "alq/pool.h"
#include "alq/pool_list.h"
#include "alq/source.h"
#include "alq/sorted_ids.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq info POOL [--embeddings NAME --probs NAME --ids NAME --labels NAME | --layout SPEC]\n"
    "\n"
    "POOL is an HDF5 pool file, a pool list (docs/format.md, \"Pools in several\n"
    "files\") or a gen: spec.  Prints the pool's shape (items, dim, classes),\n"
    "which optional datasets it holds, its chunking, the class counts of /labels and of the in-pool labeled\n"
    "set, then validates every row: finite embeddings; probabilities finite, >= 0\n"
    "and summing to 1 within 1e-3; ids unique (in any order); labels in [-1, C);\n"
    "labeled ids present in the pool.  Exits 3 at the first invalid value, naming\n"
    "the dataset and row.\n\n" ALQ_ARG_LAYOUT_USAGE;

/* A block is whole chunks and about this many bytes of rows. */
#define BLOCK_BYTES (8 << 20)

/* Running state of the validation pass. */
typedef struct {
  int64_t *class_counts; /* C entries, or NULL when C is unknown */
  int64_t unknown;       /* labels equal to -1 */
  int64_t *all_ids;       /* every id in row order, for the uniqueness check */
  unsigned char *found;   /* per labeled id: seen in the pool */
} scan_state;

static int64_t labeled_position(const alq_labeled *labeled, int64_t id) {
  return alq_ids_find(labeled->ids, labeled->n, id);
}

static alq_err check_ids_and_labels(const alq_pool_meta *meta, const alq_labeled *labeled,
                                    const alq_rows *rows, int64_t lo, int64_t count, scan_state *s) {
  const char *labels = alq_layout_name(&meta->layout, ALQ_FIELD_LABELS);
  for (int64_t i = 0; i < count; i++) {
    int64_t row = lo + i, id = rows->ids[i];
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

/* Every row through the pool's source (one file, a pool list, or gen:), in
 * row order: the same reader `alq select` uses, so the checks see what it
 * would (stored types converted, uint64 ids range-checked by the source). */
static alq_err scan_blocks(const alq_pool_meta *meta, alq_source *src, const alq_labeled *labeled, alq_rows *rows,
                           int64_t block, scan_state *s) {
  const char *path = meta->path;
  const alq_layout *l = &meta->layout;
  unsigned values = ALQ_FIELD_EMBEDDINGS | (meta->has_probs ? ALQ_FIELD_PROBS : 0);
  unsigned fields = values | ALQ_FIELD_IDS | (meta->has_labels ? ALQ_FIELD_LABELS : 0);
  for (int64_t lo = 0; lo < meta->n_items; lo += block) {
    int64_t count = meta->n_items - lo < block ? meta->n_items - lo : block;
    ALQ_CHECK(alq_source_read(src, lo, count, fields, rows));
    ALQ_CHECK(alq_rows_validate(meta, rows, lo, count, values));
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
  alq_source *src = NULL;
  if (!err)
    err = alq_source_open(MPI_COMM_SELF, meta, &src);
  if (!err)
    err = scan_blocks(meta, src, labeled, &rows, block, s);
  alq_source_close(src);
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

/* The stored dtype of `name` in `file`, as the pool's reader checked it;
 * `generated` when there is no file (gen:). */
static const char *stored_type(const char *file, const char *name, const char *generated) {
  if (!file)
    return generated;
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

/* Where each field's stored type is read: the pool file; a pool list's first
 * shard (every shard's types must match it); nowhere for gen:. */
typedef struct {
  const char *file[ALQ_SHARD_FIELDS];
  int64_t shards; /* 0: not a pool list */
  int generated;  /* gen: */
} type_source;

static void type_source_of(const alq_pool_meta *m, const alq_pool_list *list, type_source *t) {
  memset(t, 0, sizeof *t);
  int generated = strncmp(m->path, "gen:", 4) == 0;
  for (int f = 0; f < ALQ_SHARD_FIELDS; f++)
    t->file[f] = generated ? NULL : list->n ? list->shards[0].file[f] : m->path;
  t->shards = list->n;
  t->generated = generated;
}

static void print_structure(const alq_pool_meta *m, const type_source *t) {
  const alq_layout *l = &m->layout;
  printf("path: %s\n", m->path);
  if (t->shards)
    printf("shards: %lld (a pool list; stored types of its first shard, which every shard matches)\n",
           (long long)t->shards);
  printf("items: %lld\n", (long long)m->n_items);
  printf("dim: %lld\n", (long long)m->dim);
  printf("classes: %lld\n", (long long)m->n_classes);
  const char *emb = alq_layout_name(l, ALQ_FIELD_EMBEDDINGS), *probs = alq_layout_name(l, ALQ_FIELD_PROBS),
             *ids = alq_layout_name(l, ALQ_FIELD_IDS), *labels = alq_layout_name(l, ALQ_FIELD_LABELS);
  printf("%s: %s [%lld][%lld], %lld rows per chunk\n", emb, stored_type(t->file[ALQ_SHARD_EMBEDDINGS], emb, "float32 (generated)"),
         (long long)m->n_items, (long long)m->dim, (long long)m->chunk_rows);
  if (m->has_probs)
    printf("%s: %s [%lld][%lld]\n", probs, stored_type(t->file[ALQ_SHARD_PROBS], probs, "float32 (generated)"), (long long)m->n_items,
           (long long)m->n_classes);
  else
    printf("%s: absent\n", probs);
  if (m->has_ids)
    printf("%s: %s [%lld]\n", ids, stored_type(t->file[ALQ_SHARD_IDS], ids, "int64 (generated)"), (long long)m->n_items);
  else
    printf("%s: absent (ids are the row indices)\n", ids);
  if (m->has_labels)
    printf("%s: %s [%lld]\n", labels, stored_type(t->file[ALQ_SHARD_LABELS], labels, "int32 (generated)"), (long long)m->n_items);
  else
    printf("%s: absent\n", labels);
  if (m->mc_passes > 0)
    printf("/mc_probs: float32 [%lld][%lld][%lld] (%lld stochastic passes)\n", (long long)m->mc_passes,
           (long long)m->n_items, (long long)m->n_classes, (long long)m->mc_passes);
  else
    printf("/mc_probs: absent\n");
  printf("/labeled: %lld ids\n", (long long)m->n_labeled);
}

static alq_err info(const char *path) {
  alq_pool_meta meta;
  ALQ_CHECK(alq_source_describe(path, &meta));
  alq_pool_list list = {0, NULL};
  if (alq_pool_list_is(path))
    ALQ_CHECK(alq_pool_list_read(path, &list));
  type_source types;
  type_source_of(&meta, &list, &types);
  print_structure(&meta, &types);
  alq_pool_list_free(&list);
  fflush(stdout);

  alq_labeled labeled = {0, NULL, NULL};
  if (!types.generated) /* a gen: pool has no labeled set */
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
