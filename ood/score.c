/* ood/score.c: per-item OOD scores and the calibrated threshold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/geometry.h"
#include "alq/ood.h"
#include "ood_impl.h"

/* 1 - max_c p_c, in double. */
static double maxprob_score(const float *p, int64_t c) {
  float best = p[0];
  for (int64_t j = 1; j < c; j++)
    best = p[j] > best ? p[j] : best;
  return 1.0 - (double)best;
}

/* -T log sum_c exp(log p_c / T), summed from the largest term down in class
 * order: a class with p_c = 0 adds nothing. */
static double energy_score(const float *p, int64_t c, double t) {
  double top = -INFINITY;
  for (int64_t j = 0; j < c; j++)
    if (p[j] > 0 && log((double)p[j]) / t > top)
      top = log((double)p[j]) / t;
  double sum = 0;
  for (int64_t j = 0; j < c; j++)
    if (p[j] > 0)
      sum += exp(log((double)p[j]) / t - top);
  return -t * (top + log(sum));
}

unsigned alq_ood_fields(const alq_ood_model *m) {
  return m->opt.kind == ALQ_OOD_MAXPROB || m->opt.kind == ALQ_OOD_ENERGY ? ALQ_FIELD_PROBS : ALQ_FIELD_EMBEDDINGS;
}

void alq_ood_score_rows(const alq_ood_model *m, alq_ood_work *w, const alq_rows *rows, int64_t n,
                        const int64_t *exclude, double *scores) {
  const int64_t c = m->n_classes, d = m->dim;
  switch (m->opt.kind) {
  case ALQ_OOD_MAXPROB:
    for (int64_t i = 0; i < n; i++)
      scores[i] = maxprob_score(rows->probs + i * c, c);
    break;
  case ALQ_OOD_ENERGY:
    for (int64_t i = 0; i < n; i++)
      scores[i] = energy_score(rows->probs + i * c, c, m->opt.temperature);
    break;
  case ALQ_OOD_KNN:
    for (int64_t lo = 0; lo < n; lo += w->block_rows) {
      int64_t b = n - lo < w->block_rows ? n - lo : w->block_rows;
      alq_ood_knn_block(m, w, rows->embeddings + lo * d, b, exclude ? exclude + lo : NULL, scores + lo);
    }
    break;
  case ALQ_OOD_MAHALANOBIS:
    for (int64_t i = 0; i < n; i++)
      scores[i] = alq_mahalanobis_distance(m->mahalanobis, rows->embeddings + i * d, w->work);
    break;
  default:
    memset(scores, 0, sizeof(double) * n);
  }
}

double alq_ood_threshold(const double *sorted, int64_t n, double q) {
  int64_t r = (int64_t)floor(q * (double)n + 1e-9);
  int64_t keep = n - r;
  return sorted[(keep >= 1 ? keep : 1) - 1];
}

alq_err alq_ood_work_init(const alq_ood_model *m, alq_ood_work *w) {
  memset(w, 0, sizeof *w);
  if (m->opt.kind == ALQ_OOD_MAHALANOBIS)
    return alq_malloc(&w->work, sizeof(double) * 2 * m->dim, "Mahalanobis work");
  if (m->opt.kind != ALQ_OOD_KNN)
    return ALQ_OK;
  /* Blocks of rows whose similarities to the whole reference stay near 16 MiB. */
  int64_t rows = ((int64_t)4 << 20) / (m->n_ref > 0 ? m->n_ref : 1);
  w->block_rows = rows < 1 ? 1 : rows > 256 ? 256 : rows;
  ALQ_CHECK(alq_malloc_aligned(&w->unit, sizeof(float) * w->block_rows * m->dim, "kNN row block"));
  ALQ_CHECK(alq_malloc(&w->sim, sizeof(float) * w->block_rows * m->n_ref, "kNN similarity block"));
  return alq_malloc(&w->pick, sizeof(float) * m->n_ref, "kNN selection buffer");
}

void alq_ood_work_free(alq_ood_work *w) {
  free(w->unit);
  free(w->sim);
  free(w->pick);
  free(w->work);
  memset(w, 0, sizeof *w);
}
