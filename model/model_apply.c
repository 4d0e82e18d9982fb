/* model/model_apply.c: features -> class probabilities and embeddings.
 *
 * Why fixed 256-row blocks: OpenBLAS computes an SGEMM entry differently
 * depending on the shape of the call (small calls take other kernels), so a
 * chunk of 7 rows and a chunk of 700 rows would give the same item different
 * last bits, and the batch would change with the rank count.  Every SGEMM here
 * has the same shape (a tail block is padded with zero rows), and within a
 * full block a row's result does not depend on its position or its neighbours
 * (checked by unit-model-apply-determinism).  SGEMV is not used for the same
 * reason. */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/hash.h"
#include "alq/logview.h"
#include "model_impl.h"

#define APPLY_BLOCK 256

typedef struct {
  float *z, *hidden, *dropped, *logits, *probs;
  double *mean_probs, *mean_entropy;
} apply_buffers;

static alq_err buffers_alloc(apply_buffers *b, const alq_model *m) {
  memset(b, 0, sizeof *b);
  int64_t h = m->hidden > 0 ? m->hidden : 1, c = m->n_classes;
  ALQ_CHECK(alq_malloc_aligned(&b->z, sizeof(float) * APPLY_BLOCK * m->dim, "model inputs"));
  ALQ_CHECK(alq_malloc_aligned(&b->hidden, sizeof(float) * APPLY_BLOCK * h, "hidden activations"));
  ALQ_CHECK(alq_malloc_aligned(&b->dropped, sizeof(float) * APPLY_BLOCK * h, "dropout activations"));
  ALQ_CHECK(alq_malloc_aligned(&b->logits, sizeof(float) * APPLY_BLOCK * c, "logits"));
  ALQ_CHECK(alq_malloc_aligned(&b->probs, sizeof(float) * APPLY_BLOCK * c, "probabilities"));
  ALQ_CHECK(alq_malloc(&b->mean_probs, sizeof(double) * APPLY_BLOCK * c, "mean probabilities"));
  ALQ_CHECK(alq_malloc(&b->mean_entropy, sizeof(double) * APPLY_BLOCK, "mean entropies"));
  return ALQ_OK;
}

static void buffers_free(apply_buffers *b) {
  free(b->z);
  free(b->hidden);
  free(b->dropped);
  free(b->logits);
  free(b->probs);
  free(b->mean_probs);
  free(b->mean_entropy);
}

/* probs = softmax(act W2^T + b2) for a whole block. */
static void output_layer(const alq_model *m, const float *act, apply_buffers *b) {
  int64_t e = alq_model_embedding_dim(m), c = m->n_classes;
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, APPLY_BLOCK, c, e, 1.0f, act, e, m->w2, e, 0.0f, b->logits,
              c);
  alq_model_add_bias(APPLY_BLOCK, c, m->b2, b->logits);
  alq_model_softmax(APPLY_BLOCK, c, b->logits, b->probs, NULL, NULL);
  alq_log_flops(2 * APPLY_BLOCK * c * e);
}

/* T dropout passes over a block's hidden activations: mean probabilities and
 * the mean of the passes' entropies. */
static void mc_passes(const alq_model *m, const alq_apply_options *ap, int64_t rows, const int64_t *ids,
                      apply_buffers *b) {
  int64_t h = m->hidden, c = m->n_classes;
  memset(b->mean_probs, 0, sizeof(double) * APPLY_BLOCK * c);
  memset(b->mean_entropy, 0, sizeof(double) * APPLY_BLOCK);
  memset(b->dropped, 0, sizeof(float) * APPLY_BLOCK * h);
  for (int64_t t = 0; t < ap->mc_samples; t++) {
    for (int64_t i = 0; i < rows; i++)
      for (int64_t j = 0; j < h; j++)
        b->dropped[i * h + j] = b->hidden[i * h + j] * alq_model_dropout_factor(ap->seed, ids[i], t, j, m->opt.dropout,
                                                                                  ALQ_PURPOSE_DROPOUT_MC);
    output_layer(m, b->dropped, b);
    for (int64_t i = 0; i < rows; i++) {
      double entropy = 0;
      for (int64_t k = 0; k < c; k++) {
        double p = b->probs[i * c + k];
        b->mean_probs[i * c + k] += p / (double)ap->mc_samples;
        entropy -= p > 0 ? p * log(p) : 0;
      }
      b->mean_entropy[i] += entropy / (double)ap->mc_samples;
    }
  }
}

alq_err alq_model_apply(const alq_model *m, const alq_apply_options *ap, int64_t n, const float *x, const int64_t *ids,
                        float *probs, float *embeddings, float *expected_entropy) {
  if (ap->mc_samples > 0 && m->hidden == 0)
    return alq_error_set(ALQ_ERR_USAGE, "--mc-samples needs a model with dropout (an mlp), not logreg");
  apply_buffers b;
  alq_err err = buffers_alloc(&b, m);
  const int64_t d = m->dim, h = m->hidden, c = m->n_classes, e = alq_model_embedding_dim(m);
  for (int64_t lo = 0; !err && lo < n; lo += APPLY_BLOCK) {
    int64_t rows = n - lo < APPLY_BLOCK ? n - lo : APPLY_BLOCK;
    memset(b.z, 0, sizeof(float) * APPLY_BLOCK * d);
    alq_model_standardize(m, rows, x + lo * d, b.z);
    const float *emb = b.z;
    if (h > 0) {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, APPLY_BLOCK, h, d, 1.0f, b.z, d, m->w1, d, 0.0f, b.hidden,
                  h);
      alq_model_add_bias(APPLY_BLOCK, h, m->b1, b.hidden);
      for (int64_t i = 0; i < APPLY_BLOCK * h; i++)
        b.hidden[i] = b.hidden[i] > 0 ? b.hidden[i] : 0.0f;
      alq_log_flops(2 * APPLY_BLOCK * h * d);
      emb = b.hidden;
    }
    if (embeddings)
      memcpy(embeddings + lo * e, emb, sizeof(float) * rows * e);
    if (!probs && !expected_entropy)
      continue;
    if (ap->mc_samples > 0) {
      mc_passes(m, ap, rows, ids + lo, &b);
      for (int64_t i = 0; probs && i < rows * c; i++)
        probs[lo * c + i] = (float)b.mean_probs[i];
      for (int64_t i = 0; expected_entropy && i < rows; i++)
        expected_entropy[lo + i] = (float)b.mean_entropy[i];
    } else {
      output_layer(m, emb, &b);
      if (probs)
        memcpy(probs + lo * c, b.probs, sizeof(float) * rows * c);
      for (int64_t i = 0; expected_entropy && i < rows; i++) {
        double entropy = 0;
        for (int64_t k = 0; k < c; k++) {
          double p = b.probs[i * c + k];
          entropy -= p > 0 ? p * log(p) : 0;
        }
        expected_entropy[lo + i] = (float)entropy;
      }
    }
  }
  buffers_free(&b);
  return err;
}
