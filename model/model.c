/* model/model.c: model options, kinds and the parameter layout. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/hash.h"
#include "model_impl.h"

void alq_train_options_default(alq_model_kind kind, alq_train_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->kind = kind;
  if (kind == ALQ_MODEL_MLP) {
    opt->hidden = 128;
    opt->dropout = 0.2;
    opt->l2 = 1e-4;
    opt->lr = 0.01;
    opt->epochs = 300;
  } else {
    opt->l2 = 1e-3;
    opt->lr = 0.05;
    opt->epochs = 300;
  }
}

alq_model_kind alq_model_kind_parse(const char *name) {
  if (strcmp(name, "logreg") == 0)
    return ALQ_MODEL_LOGREG;
  if (strcmp(name, "mlp") == 0)
    return ALQ_MODEL_MLP;
  return 0;
}

const char *alq_model_kind_name(alq_model_kind kind) { return kind == ALQ_MODEL_MLP ? "mlp" : "logreg"; }

int64_t alq_model_embedding_dim(const alq_model *m) { return m->hidden > 0 ? m->hidden : m->dim; }

void alq_model_free(alq_model *m) {
  free(m->mean);
  free(m->std);
  free(m->w1);
  free(m->b1);
  free(m->w2);
  free(m->b2);
  free(m->class_weight);
  memset(m, 0, sizeof *m);
}

int64_t alq_model_params(const alq_model *m, float *params[4], int64_t counts[4]) {
  int64_t e = alq_model_embedding_dim(m), n = 0;
  if (m->hidden > 0) {
    params[n] = m->w1, counts[n++] = m->hidden * m->dim;
    params[n] = m->b1, counts[n++] = m->hidden;
  }
  params[n] = m->w2, counts[n++] = m->n_classes * e;
  params[n] = m->b2, counts[n++] = m->n_classes;
  for (int64_t i = n; i < 4; i++)
    params[i] = NULL, counts[i] = 0;
  int64_t total = 0;
  for (int64_t i = 0; i < n; i++)
    total += counts[i];
  return total;
}

void alq_model_standardize(const alq_model *m, int64_t n, const float *x, float *z) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < m->dim; j++)
      z[i * m->dim + j] = (x[i * m->dim + j] - m->mean[j]) / m->std[j];
}

void alq_model_add_bias(int64_t n, int64_t k, const float *bias, float *rows) {
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < k; j++)
      rows[i * k + j] += bias[j];
}

void alq_model_softmax(int64_t n, int64_t k, const float *logits, float *probs, const int32_t *labels,
                       double *log_probs) {
  for (int64_t i = 0; i < n; i++) {
    const float *z = logits + i * k;
    double top = z[0], sum = 0;
    for (int64_t j = 1; j < k; j++)
      top = z[j] > top ? z[j] : top;
    for (int64_t j = 0; j < k; j++)
      sum += exp((double)z[j] - top);
    for (int64_t j = 0; j < k; j++)
      probs[i * k + j] = (float)(exp((double)z[j] - top) / sum);
    if (log_probs)
      log_probs[i] = (double)z[labels[i]] - top - log(sum);
  }
}

float alq_model_dropout_factor(uint64_t seed, int64_t id, int64_t pass, int64_t unit, double rate,
                               uint64_t purpose) {
  uint64_t key = alq_hash3(seed, (uint64_t)id, purpose);
  double u = alq_hash_unit(key, ((uint64_t)pass << 32) + (uint64_t)unit, purpose);
  return u < rate ? 0.0f : (float)(1.0 / (1.0 - rate));
}
