/* model/train_run.c: `alq train`: stream the pool, keep the labeled rows each
 * rank owns, train data-parallel, and write the model on rank 0. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/model.h"
#include "alq/partition.h"
#include "alq/worker.h"
#include "alq/sorted_ids.h"

/* The labeled rows this rank found in its shard. */
typedef struct {
  int64_t n, cap, dim;
  float *x;
  int32_t *y;
  int64_t *ids;
} labeled_rows;

static alq_err rows_append(labeled_rows *r, int64_t id, int32_t label, const float *x) {
  if (r->n == r->cap) {
    int64_t cap = r->cap ? 2 * r->cap : 256;
    float *nx = realloc(r->x, sizeof(float) * cap * r->dim);
    if (nx)
      r->x = nx;
    int32_t *ny = realloc(r->y, sizeof(int32_t) * cap);
    if (ny)
      r->y = ny;
    int64_t *ni = realloc(r->ids, sizeof(int64_t) * cap);
    if (ni)
      r->ids = ni;
    if (!nx || !ny || !ni)
      return alq_error_set(ALQ_ERR_MEMORY, "cannot grow the labeled training rows to %lld", (long long)cap);
    r->cap = cap;
  }
  memcpy(r->x + r->n * r->dim, x, sizeof(float) * r->dim);
  r->y[r->n] = label;
  r->ids[r->n] = id;
  r->n++;
  return ALQ_OK;
}

/* Index of `id` in the sorted labeled ids, or -1. */
static int64_t find_id(const alq_labeled *set, int64_t id) {
  return alq_ids_find(set->ids, set->n, id);
}

/* Rank 0 reads the pool's shape and the labeled set; every rank receives them
 * (the meta as a plain struct: all ranks run the same binary). */
static alq_err share_inputs(MPI_Comm comm, const alq_train_run_options *opt, alq_pool_meta *meta, alq_labeled *set) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  memset(set, 0, sizeof *set);
  alq_err err = ALQ_OK;
  if (rank == 0) {
    err = alq_source_describe(opt->pool, meta);
    const char *lpath = opt->labeled[0] ? opt->labeled : opt->pool;
    if (!err)
      err = alq_labeled_read(lpath, meta->n_classes, 1, set);
    if (!err && meta->n_classes < 2)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: the pool does not say how many classes there are (no /probs, no classes attribute)",
                          opt->pool);
  }
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_bcast(meta, sizeof *meta, 0, comm));
  ALQ_CHECK(alq_bcast(&set->n, sizeof set->n, 0, comm));
  if (rank != 0) {
    err = alq_malloc(&set->ids, sizeof(int64_t) * (set->n ? set->n : 1), "labeled ids");
    if (!err)
      err = alq_malloc(&set->labels, sizeof(int32_t) * (set->n ? set->n : 1), "labeled labels");
  }
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_bcast(set->ids, (int64_t)sizeof(int64_t) * set->n, 0, comm));
  return alq_bcast(set->labels, (int64_t)sizeof(int32_t) * set->n, 0, comm);
}

/* Streams this rank's shard: feature sums of every row, and the labeled rows. */
static alq_err stream_shard(MPI_Comm comm, const alq_pool_meta *meta, alq_source *src, const alq_labeled *set,
                            double *acc, labeled_rows *mine, unsigned char *found) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_range shard = alq_partition_rows(meta->n_items, alq_partition_align(meta->n_items, meta->chunk_rows, size),
                                       size, rank);
  int64_t shard_rows = shard.hi - shard.lo, chunk = alq_default_chunk_rows(meta);
  int64_t my_chunks = (shard_rows + chunk - 1) / chunk, n_chunks = 0;
  alq_rows rows = {0};
  alq_err local = alq_malloc(&rows.ids, sizeof(int64_t) * chunk, "chunk ids");
  if (!local)
    local = alq_malloc(&rows.embeddings, sizeof(float) * chunk * meta->dim, "chunk features");
  alq_err err = alq_agree(comm, local);
  if (!err)
    err = alq_allreduce(&my_chunks, &n_chunks, 1, MPI_INT64_T, MPI_MAX, comm);
  unsigned fields = ALQ_FIELD_IDS | ALQ_FIELD_EMBEDDINGS;
  /* Collective reads: a rank that failed keeps reading nothing until the end. */
  for (int64_t c = 0; !err && c < n_chunks; c++) {
    int64_t lo = shard.lo + c * chunk;
    int64_t count = c < my_chunks && !local ? (shard.hi - lo < chunk ? shard.hi - lo : chunk) : 0;
    alq_err e = alq_source_read(src, lo, count, fields, &rows);
    local = local ? local : e;
    if (!local && count > 0)
      local = alq_rows_validate(meta, &rows, lo, count, fields);
    if (local || count == 0)
      continue;
    alq_feature_sums_add(acc, meta->dim, count, rows.embeddings);
    for (int64_t i = 0; !local && i < count; i++) {
      int64_t k = find_id(set, rows.ids[i]);
      if (k >= 0) {
        found[k] = 1;
        local = rows_append(mine, rows.ids[i], set->labels[k], rows.embeddings + i * meta->dim);
      }
    }
  }
  free(rows.ids);
  free(rows.embeddings);
  return err ? err : alq_agree(comm, local);
}

static alq_err check_found(MPI_Comm comm, const alq_train_run_options *opt, const alq_labeled *set,
                           unsigned char *found) {
  unsigned char *all = NULL;
  alq_err err = alq_agree(comm, alq_malloc(&all, set->n ? set->n : 1, "labeled flags"));
  if (!err)
    err = alq_allreduce(found, all, set->n, MPI_UNSIGNED_CHAR, MPI_BOR, comm);
  for (int64_t k = 0; !err && k < set->n; k++)
    if (!all[k])
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /labeled/ids holds id %lld, which is not an id of pool %s",
                          opt->labeled[0] ? opt->labeled : opt->pool, (long long)set->ids[k], opt->pool);
  free(all);
  return err;
}

alq_err alq_train_run(MPI_Comm comm, const alq_train_run_options *opt) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_train_run_options o = {0};
  if (rank == 0)
    o = *opt;
  ALQ_CHECK(alq_bcast(&o, sizeof o, 0, comm));
  alq_pool_meta meta;
  alq_labeled set;
  alq_err err = share_inputs(comm, &o, &meta, &set);
  alq_source *src = NULL;
  if (!err)
    err = alq_agree(comm, alq_source_open(comm, &meta, &src));
  double *acc = NULL;
  float *mean = NULL, *std = NULL;
  unsigned char *found = NULL;
  labeled_rows mine = {.dim = meta.dim};
  if (!err) {
    alq_err e = alq_calloc(&acc, 2 * meta.dim + 1, sizeof *acc, "feature sums");
    if (!e)
      e = alq_calloc(&found, set.n ? set.n : 1, 1, "labeled flags");
    if (!e)
      e = alq_malloc(&mean, sizeof(float) * meta.dim, "feature means");
    if (!e)
      e = alq_malloc(&std, sizeof(float) * meta.dim, "feature scales");
    err = alq_agree(comm, e);
  }
  if (!err)
    err = stream_shard(comm, &meta, src, &set, acc, &mine, found);
  alq_source_close(src);
  if (!err)
    err = check_found(comm, &o, &set, found);
  if (!err)
    err = alq_feature_stats(comm, meta.dim, acc, mean, std);
  alq_model model = {0};
  alq_train_rows rows = {mine.n, mine.x, mine.y, mine.ids};
  if (!err)
    err = alq_model_train(comm, &o.train, meta.dim, meta.n_classes, mean, std, &rows, &model);
  double loss = 0;
  if (!err)
    err = alq_model_loss(comm, &model, &rows, &loss, NULL);
  if (!err)
    err = alq_agree(comm, rank == 0 ? alq_model_save(o.out, &model) : ALQ_OK);
  if (!err && rank == 0 && !o.quiet)
    fprintf(stderr, "alq: trained %s on %lld labeled item(s) (%lld features, %lld classes), loss %.4f: %s\n",
            alq_model_kind_name(o.train.kind), (long long)model.n_train, (long long)meta.dim,
            (long long)meta.n_classes, loss, o.out);
  alq_model_free(&model);
  alq_labeled_free(&set);
  free(acc);
  free(found);
  free(mean);
  free(std);
  free(mine.x);
  free(mine.y);
  free(mine.ids);
  return err;
}
