/* ood/ood_impl.h: internals shared by the OOD stage's files. */
#ifndef ALQ_OOD_IMPL_H
#define ALQ_OOD_IMPL_H
#include "alq/ood.h"

/* u = x / ||x|| with ||x|| = sqrtf(alq_dot(x, x)); a zero row stays zero. */
void alq_ood_normalise(const float *x, int64_t d, float *u);

/* kNN scores of b rows x (b x d, raw embeddings): the distance from each
 * normalised row to its m->opt.k-th nearest reference row, leaving out
 * reference row exclude[i] when exclude is not NULL and exclude[i] >= 0. */
void alq_ood_knn_block(const alq_ood_model *m, alq_ood_work *w, const float *x, int64_t b, const int64_t *exclude,
                       double *scores);

#endif
