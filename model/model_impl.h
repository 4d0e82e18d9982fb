/* model/model_impl.h: arithmetic shared by training and applying (internal). */
#ifndef ALQ_MODEL_IMPL_H
#define ALQ_MODEL_IMPL_H
#include <stdint.h>
#include "alq/model.h"

/* z = (x - mean) / std for n rows of d features, the same expression in
 * training and applying so that both see identical inputs. */
void alq_model_standardize(const alq_model *m, int64_t n, const float *x, float *z);

/* Adds the bias to each of n rows of k columns. */
void alq_model_add_bias(int64_t n, int64_t k, const float *bias, float *rows);

/* Row-wise softmax of n x k logits into probs (computed in double);
 * log_probs (may be NULL) receives log p of each row's entry labels[i]. */
void alq_model_softmax(int64_t n, int64_t k, const float *logits, float *probs, const int32_t *labels,
                       double *log_probs);

/* The factor a hidden unit's activation is multiplied by under dropout of
 * `rate`: 0 (dropped) or 1 / (1 - rate).  A pure function of (seed, id, pass,
 * unit, purpose), so it does not depend on the rank or the row's position. */
float alq_model_dropout_factor(uint64_t seed, int64_t id, int64_t pass, int64_t unit, double rate,
                               uint64_t purpose);

#endif
