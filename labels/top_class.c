/* labels/top_class.c: the model's top class for the items of a batch, for
 * pre-annotations (alq_top_class_of_ids in alq/label_studio.h). */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "alq/label_studio.h"
#include "alq/source.h"

/* Positions of ids sorted by id: alq_source_fetch wants sorted ids. */
static const int64_t *sort_keys;
static int cmp_position(const void *pa, const void *pb) {
  int64_t a = sort_keys[*(const int64_t *)pa], b = sort_keys[*(const int64_t *)pb];
  return a < b ? -1 : a > b;
}

static void top_of_rows(const float *probs, int64_t n, int64_t c, const int64_t *order, int32_t *top, float *score) {
  for (int64_t k = 0; k < n; k++) {
    const float *p = probs + (size_t)k * (size_t)c;
    int64_t best = 0;
    for (int64_t j = 1; j < c; j++)
      if (p[j] > p[best])
        best = j;
    top[order[k]] = (int32_t)best;
    score[order[k]] = p[best];
  }
}

alq_err alq_top_class_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int32_t *top, float *score) {
  if (!meta->has_probs || meta->n_classes <= 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s has no model probabilities (/probs): no predictions to export", meta->path);
  int64_t *order = NULL, *sorted = NULL;
  float *probs = NULL;
  size_t m = (size_t)(n ? n : 1);
  alq_err err = alq_malloc(&order, m * sizeof *order, "prediction order");
  if (!err)
    err = alq_malloc(&sorted, m * sizeof *sorted, "prediction ids");
  if (!err)
    err = alq_malloc(&probs, m * (size_t)meta->n_classes * sizeof *probs, "predicted probabilities");
  alq_source *src = NULL;
  if (!err)
    err = alq_source_open(MPI_COMM_SELF, meta, &src);
  if (!err) {
    for (int64_t i = 0; i < n; i++)
      order[i] = i;
    sort_keys = ids;
    qsort(order, (size_t)n, sizeof *order, cmp_position);
    for (int64_t k = 0; k < n; k++)
      sorted[k] = ids[order[k]];
    alq_rows dst = {.probs = probs};
    err = alq_source_fetch(src, sorted, n, ALQ_FIELD_PROBS, &dst);
  }
  if (!err)
    top_of_rows(probs, n, meta->n_classes, order, top, score);
  alq_source_close(src);
  free(probs);
  free(sorted);
  free(order);
  return err;
}
