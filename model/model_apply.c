/* model/model_apply.c: features -> class probabilities and embeddings.
 *
 * Why no BLAS here: an item's probabilities and embedding decide the batch,
 * and OpenBLAS gives an SGEMM entry other last bits by kernel, thread count
 * and the row's position in the call, so the same item on another shard
 * (another rank count, another --chunk-rows) or machine would score
 * differently.  Every activation is alq_dot of the item's row with a weight
 * row (alq/dot.h, one summation order everywhere): a function of the item
 * and the model alone.  Rows are processed in blocks of APPLY_BLOCK only to
 * bound the buffers. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/dot.h"
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

/* out = in W^T (per row: alq_dot with each of W's n_out rows). */
static void layer(int64_t rows, const float *in, int64_t n_in, const float *w, int64_t n_out, float *out) {
  for (int64_t i = 0; i < rows; i++)
    alq_dot_rows(in + i * n_in, w, n_out, n_in, out + i * n_out);
  alq_log_flops(2 * rows * n_out * n_in);
}

/* probs = softmax(act W2^T + b2) for a block's rows. */
static void output_layer(const alq_model *m, int64_t rows, const float *act, apply_buffers *b) {
  int64_t e = alq_model_embedding_dim(m), c = m->n_classes;
  layer(rows, act, e, m->w2, c, b->logits);
  alq_model_add_bias(rows, c, m->b2, b->logits);
  alq_model_softmax(rows, c, b->logits, b->probs, NULL, NULL);
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
    output_layer(m, rows, b->dropped, b);
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
    alq_model_standardize(m, rows, x + lo * d, b.z);
    const float *emb = b.z;
    if (h > 0) {
      layer(rows, b.z, d, m->w1, h, b.hidden);
      alq_model_add_bias(rows, h, m->b1, b.hidden);
      for (int64_t i = 0; i < rows * h; i++)
        b.hidden[i] = b.hidden[i] > 0 ? b.hidden[i] : 0.0f;
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
      output_layer(m, rows, emb, &b);
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
