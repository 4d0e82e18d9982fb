/* model/metrics.c: accuracy, macro-F1 and rare-class recall from a confusion matrix. */
#include <stdlib.h>

#include "alq/model.h"

#define RARE_CLASSES 3

void alq_metrics_from_confusion(const int64_t *conf, int64_t n_classes, alq_metrics *out) {
  int64_t total = 0, correct = 0, present = 0;
  double f1_sum = 0;
  /* The rarest classes present, by test count (ties: lower class). */
  int64_t rare[RARE_CLASSES], rare_count[RARE_CLASSES], n_rare = 0;
  for (int64_t t = 0; t < n_classes; t++) {
    int64_t row = 0, col = 0;
    for (int64_t p = 0; p < n_classes; p++) {
      row += conf[t * n_classes + p];
      col += conf[p * n_classes + t];
    }
    int64_t tp = conf[t * n_classes + t];
    total += row;
    correct += tp;
    if (row == 0)
      continue;
    present++;
    f1_sum += 2.0 * (double)tp / (double)(row + col); /* 0 when tp = 0 */
    /* Insert (row, t) into the sorted list of the rarest. */
    int64_t k = n_rare < RARE_CLASSES ? n_rare++ : RARE_CLASSES;
    if (k == RARE_CLASSES && row >= rare_count[RARE_CLASSES - 1])
      continue;
    if (k == RARE_CLASSES)
      k = RARE_CLASSES - 1;
    while (k > 0 && rare_count[k - 1] > row) {
      rare[k] = rare[k - 1];
      rare_count[k] = rare_count[k - 1];
      k--;
    }
    rare[k] = t;
    rare_count[k] = row;
  }
  double rare_recall = 0;
  for (int64_t k = 0; k < n_rare; k++)
    rare_recall += (double)conf[rare[k] * n_classes + rare[k]] / (double)rare_count[k];
  out->accuracy = total ? (double)correct / (double)total : 0;
  out->macro_f1 = present ? f1_sum / (double)present : 0;
  out->rare_recall = n_rare ? rare_recall / (double)n_rare : 0;
}
