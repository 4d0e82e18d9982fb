/* pool/pool_check.c: the validation pass of `alq info` (alq/pool_info.h):
 * every row read block by block through the pool's source and checked, with
 * the class counts of /labels and of the in-pool labeled set. */
#include <stdlib.h>
#include <string.h>

#include "alq/id_index.h"
#include "alq/pool_info.h"
#include "alq/source.h"
#include "alq/sorted_ids.h"

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

/* The labeled set's counts per class (labels in [0, C): alq_labeled_read checked them). */
static alq_err count_labeled(const alq_pool_meta *meta, const alq_labeled *labeled, alq_pool_check *out) {
  out->labeled = labeled->n;
  if (labeled->n == 0 || meta->n_classes <= 0)
    return ALQ_OK;
  ALQ_CHECK(alq_calloc(&out->labeled_class_counts, (size_t)meta->n_classes, sizeof(int64_t), "class counts"));
  for (int64_t i = 0; i < labeled->n; i++)
    out->labeled_class_counts[labeled->labels[i]]++;
  return ALQ_OK;
}

alq_err alq_pool_check_run(const alq_pool_meta *meta, alq_pool_check *out) {
  memset(out, 0, sizeof *out);
  alq_labeled labeled = {0, NULL, NULL};
  if (strncmp(meta->path, "gen:", 4) != 0) /* a gen: pool has no labeled set */
    ALQ_CHECK(alq_labeled_read(meta->path, meta->n_classes, 0, &labeled));
  scan_state s = {NULL, 0, NULL, NULL};
  alq_err err = ALQ_OK;
  if (meta->n_classes > 0)
    err = alq_calloc(&s.class_counts, (size_t)meta->n_classes, sizeof(int64_t), "class counts");
  if (!err)
    err = alq_calloc(&s.found, (size_t)(labeled.n ? labeled.n : 1), 1, "labeled flags");
  if (!err)
    err = validate(meta, &labeled, &s, &out->blocks);
  out->class_counts = s.class_counts;
  out->unknown = s.unknown;
  if (!err)
    err = count_labeled(meta, &labeled, out);
  free(s.found);
  alq_labeled_free(&labeled);
  return err;
}

void alq_pool_check_free(alq_pool_check *c) {
  free(c->class_counts);
  free(c->labeled_class_counts);
  memset(c, 0, sizeof *c);
}
