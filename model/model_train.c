/* model/model_train.c: full-batch Adam on the labeled rows of every rank.
 *
 * Each rank computes the gradient of its rows with SGEMM/SGEMV, the ranks sum
 * it with one MPI_Allreduce per step, and every rank applies the same Adam
 * update.  Only the summation order depends on the rank count, so models
 * trained on different rank counts agree to within float rounding
 * (docs/models.md states the tolerance the tests check). */
#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/hash.h"
#include "alq/logview.h"
#include "model_impl.h"

void alq_feature_sums_add(double *acc, int64_t dim, int64_t n, const float *x) {
  acc[0] += (double)n;
  for (int64_t i = 0; i < n; i++)
    for (int64_t j = 0; j < dim; j++) {
      double v = x[i * dim + j];
      acc[1 + j] += v;
      acc[1 + dim + j] += v * v;
    }
}

alq_err alq_feature_stats(MPI_Comm comm, int64_t dim, const double *acc, float *mean, float *std) {
  double *sum = NULL;
  alq_err err = alq_agree(comm, alq_malloc(&sum, sizeof *sum * (2 * dim + 1), "feature sums"));
  if (!err)
    err = alq_allreduce(acc, sum, 2 * dim + 1, MPI_DOUBLE, MPI_SUM, comm);
  if (!err && sum[0] < 1)
    err = alq_error_set(ALQ_ERR_INPUT, "no rows to compute feature statistics from");
  for (int64_t j = 0; !err && j < dim; j++) {
    double mu = sum[1 + j] / sum[0];
    double var = sum[1 + dim + j] / sum[0] - mu * mu;
    double sd = var > 0 ? sqrt(var) : 0;
    mean[j] = (float)mu;
    /* A feature constant over the rows carries no information: std 1 keeps it finite. */
    std[j] = sd > 1e-6 * (fabs(mu) + 1) ? (float)sd : 1.0f;
  }
  free(sum);
  return err;
}

/* Work space for one pass over a rank's rows. */
typedef struct {
  float *z;      /* n x d standardised features */
  float *pre;    /* n x H hidden pre-activations (MLP) */
  float *act;    /* n x H hidden activations after dropout (MLP) */
  float *logits; /* n x C, then the output gradient */
  float *probs;  /* n x C */
  float *ones;   /* n */
  double *logp;  /* n */
} pass_buffers;

static alq_err buffers_alloc(pass_buffers *b, const alq_model *m, int64_t n) {
  memset(b, 0, sizeof *b);
  int64_t rows = n > 0 ? n : 1, h = m->hidden > 0 ? m->hidden : 1;
  ALQ_CHECK(alq_malloc_aligned(&b->z, sizeof(float) * rows * m->dim, "training features"));
  ALQ_CHECK(alq_malloc_aligned(&b->pre, sizeof(float) * rows * h, "hidden pre-activations"));
  ALQ_CHECK(alq_malloc_aligned(&b->act, sizeof(float) * rows * h, "hidden activations"));
  ALQ_CHECK(alq_malloc_aligned(&b->logits, sizeof(float) * rows * m->n_classes, "logits"));
  ALQ_CHECK(alq_malloc_aligned(&b->probs, sizeof(float) * rows * m->n_classes, "probabilities"));
  ALQ_CHECK(alq_malloc(&b->ones, sizeof(float) * rows, "ones"));
  ALQ_CHECK(alq_malloc(&b->logp, sizeof(double) * rows, "log-likelihoods"));
  for (int64_t i = 0; i < rows; i++)
    b->ones[i] = 1.0f;
  return ALQ_OK;
}

static void buffers_free(pass_buffers *b) {
  free(b->z);
  free(b->pre);
  free(b->act);
  free(b->logits);
  free(b->probs);
  free(b->ones);
  free(b->logp);
}

/* Forward and backward over this rank's rows (b->z already standardised).
 * grad receives this rank's share of the data term's gradient (weights of the
 * loss divided by the global weight total), loss its share of the data term.
 * epoch < 0: no dropout. */
static void local_pass(const alq_model *m, const alq_train_rows *r, pass_buffers *b, double weight_total,
                       int64_t epoch, float *grad, double *loss) {
  const int64_t n = r->n, d = m->dim, h = m->hidden, c = m->n_classes, e = alq_model_embedding_dim(m);
  float *params[4];
  int64_t counts[4];
  int64_t total = alq_model_params(m, params, counts);
  memset(grad, 0, sizeof(float) * total);
  *loss = 0;
  if (n == 0)
    return;
  const float *emb = b->z;
  if (h > 0) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, h, d, 1.0f, b->z, d, m->w1, d, 0.0f, b->pre, h);
    alq_model_add_bias(n, h, m->b1, b->pre);
    for (int64_t i = 0; i < n; i++)
      for (int64_t j = 0; j < h; j++) {
        float keep = epoch < 0 || m->opt.dropout <= 0
                         ? 1.0f
                         : alq_model_dropout_factor(m->opt.seed, r->ids[i], epoch, j, m->opt.dropout,
                                                    ALQ_PURPOSE_DROPOUT_TRAIN);
        float a = b->pre[i * h + j] > 0 ? b->pre[i * h + j] : 0.0f;
        b->act[i * h + j] = a * keep;
        /* Remember the mask in pre: 0 where the unit passed no gradient. */
        b->pre[i * h + j] = b->pre[i * h + j] > 0 ? keep : 0.0f;
      }
    emb = b->act;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, c, e, 1.0f, emb, e, m->w2, e, 0.0f, b->logits, c);
  alq_model_add_bias(n, c, m->b2, b->logits);
  alq_model_softmax(n, c, b->logits, b->probs, r->y, b->logp);
  /* Output gradient, in place of the logits: w_y (p - onehot(y)) / W. */
  for (int64_t i = 0; i < n; i++) {
    double w = m->class_weight[r->y[i]] / weight_total;
    *loss -= w * b->logp[i];
    for (int64_t j = 0; j < c; j++)
      b->logits[i * c + j] = (float)(w * (b->probs[i * c + j] - (j == r->y[i])));
  }
  float *g = grad, *gw1 = NULL, *gb1 = NULL;
  if (h > 0) {
    gw1 = g, g += h * d;
    gb1 = g, g += h;
  }
  float *gw2 = g, *gb2 = g + c * e;
  cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c, e, n, 1.0f, b->logits, c, emb, e, 0.0f, gw2, e);
  cblas_sgemv(CblasRowMajor, CblasTrans, n, c, 1.0f, b->logits, c, b->ones, 1, 0.0f, gb2, 1);
  alq_log_flops(2 * n * c * e * 2);
  if (h > 0) {
    /* Back through the hidden layer: d act = G W2, masked by ReLU and dropout. */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, h, c, 1.0f, b->logits, c, m->w2, h, 0.0f, b->act, h);
    for (int64_t i = 0; i < n * h; i++)
      b->act[i] *= b->pre[i];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, h, d, n, 1.0f, b->act, h, b->z, d, 0.0f, gw1, d);
    cblas_sgemv(CblasRowMajor, CblasTrans, n, h, 1.0f, b->act, h, b->ones, 1, 0.0f, gb1, 1);
    alq_log_flops(2 * n * h * d * 2 + 2 * n * h * c);
  }
}

/* Global per-class counts -> the loss weight of each class and their total. */
static alq_err class_weights(MPI_Comm comm, alq_model *m, const alq_train_rows *r, double *weight_total) {
  int64_t *local = NULL, *count = NULL;
  alq_err err = alq_calloc(&local, m->n_classes, sizeof *local, "class counts");
  if (!err)
    err = alq_calloc(&count, m->n_classes, sizeof *count, "class counts");
  for (int64_t i = 0; !err && i < r->n; i++) {
    if (r->y[i] < 0 || r->y[i] >= m->n_classes)
      err = alq_error_set(ALQ_ERR_INPUT, "labeled item %lld has label %d, outside 0..%lld", (long long)r->ids[i],
                          r->y[i], (long long)m->n_classes - 1);
    else
      local[r->y[i]]++;
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_allreduce(local, count, m->n_classes, MPI_INT64_T, MPI_SUM, comm);
  int64_t n = 0, present = 0;
  for (int64_t k = 0; !err && k < m->n_classes; k++)
    n += count[k], present += count[k] > 0;
  if (!err && n == 0)
    err = alq_error_set(ALQ_ERR_INPUT, "no labeled items to train on");
  *weight_total = 0;
  for (int64_t k = 0; !err && k < m->n_classes; k++) {
    m->class_weight[k] = m->opt.class_weights && count[k] > 0 ? (float)((double)n / (present * count[k])) : 1.0f;
    *weight_total += (double)m->class_weight[k] * count[k];
  }
  m->n_train = n;
  free(local);
  free(count);
  return err;
}

static alq_err check_options(const alq_train_options *o, int64_t dim, int64_t n_classes) {
  if (o->kind != ALQ_MODEL_LOGREG && o->kind != ALQ_MODEL_MLP)
    return alq_error_set(ALQ_ERR_USAGE, "unknown model kind %d (logreg or mlp)", (int)o->kind);
  if (o->kind == ALQ_MODEL_MLP && o->hidden < 1)
    return alq_error_set(ALQ_ERR_USAGE, "--hidden must be at least 1, got %lld", (long long)o->hidden);
  if (!(o->dropout >= 0 && o->dropout < 1))
    return alq_error_set(ALQ_ERR_USAGE, "--dropout must be in [0, 1), got %g", o->dropout);
  if (!(o->l2 >= 0) || !(o->lr > 0) || o->epochs < 1)
    return alq_error_set(ALQ_ERR_USAGE, "--l2 must be >= 0, --lr > 0 and --epochs >= 1 (got %g, %g, %lld)", o->l2,
                         o->lr, (long long)o->epochs);
  if (dim < 1 || n_classes < 2)
    return alq_error_set(ALQ_ERR_INPUT, "a model needs at least 1 feature and 2 classes (got %lld and %lld)",
                         (long long)dim, (long long)n_classes);
  return ALQ_OK;
}

/* Glorot-uniform weights from the seed (hashes of the parameter index), zero biases. */
static void init_weights(alq_model *m) {
  int64_t e = alq_model_embedding_dim(m);
  if (m->hidden > 0) {
    double a = sqrt(6.0 / (double)(m->dim + m->hidden));
    for (int64_t i = 0; i < m->hidden * m->dim; i++)
      m->w1[i] = (float)(a * (2 * alq_hash_unit(m->opt.seed, (uint64_t)i, ALQ_PURPOSE_MODEL_INIT) - 1));
    double a2 = sqrt(6.0 / (double)(m->hidden + m->n_classes));
    for (int64_t i = 0; i < m->n_classes * e; i++)
      m->w2[i] = (float)(a2 * (2 * alq_hash_unit(m->opt.seed, (uint64_t)(m->hidden * m->dim + i),
                                                 ALQ_PURPOSE_MODEL_INIT) - 1));
  }
}

static alq_err model_alloc(alq_model *m, const alq_train_options *opt, int64_t dim, int64_t n_classes) {
  memset(m, 0, sizeof *m);
  m->opt = *opt;
  m->dim = dim;
  m->hidden = opt->kind == ALQ_MODEL_MLP ? opt->hidden : 0;
  m->n_classes = n_classes;
  if (m->hidden == 0)
    m->opt.hidden = 0, m->opt.dropout = 0;
  int64_t e = alq_model_embedding_dim(m);
  ALQ_CHECK(alq_calloc(&m->mean, dim, sizeof(float), "model means"));
  ALQ_CHECK(alq_calloc(&m->std, dim, sizeof(float), "model scales"));
  if (m->hidden > 0) {
    ALQ_CHECK(alq_calloc(&m->w1, m->hidden * dim, sizeof(float), "hidden weights"));
    ALQ_CHECK(alq_calloc(&m->b1, m->hidden, sizeof(float), "hidden biases"));
  }
  ALQ_CHECK(alq_calloc(&m->w2, n_classes * e, sizeof(float), "output weights"));
  ALQ_CHECK(alq_calloc(&m->b2, n_classes, sizeof(float), "output biases"));
  ALQ_CHECK(alq_calloc(&m->class_weight, n_classes, sizeof(float), "class weights"));
  return ALQ_OK;
}

/* Adds the L2 term's gradient (weights only: w1 and w2) and returns its value. */
static double add_l2(const alq_model *m, float *grad) {
  float *params[4];
  int64_t counts[4];
  alq_model_params(m, params, counts);
  double value = 0;
  int64_t off = 0;
  for (int k = 0; k < 4 && params[k]; k++) {
    int is_weight = params[k] == m->w1 || params[k] == m->w2;
    for (int64_t i = 0; is_weight && i < counts[k]; i++) {
      grad[off + i] += (float)(m->opt.l2 * params[k][i]);
      value += 0.5 * m->opt.l2 * (double)params[k][i] * params[k][i];
    }
    off += counts[k];
  }
  return value;
}

/* theta -= lr * mhat / (sqrt(vhat) + eps), over the parameter blocks in order. */
static void adam_step(alq_model *m, const float *grad, float *mom, float *vel, int64_t step) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  double c1 = 1 - pow(b1, (double)step), c2 = 1 - pow(b2, (double)step);
  float *params[4];
  int64_t counts[4];
  alq_model_params(m, params, counts);
  int64_t off = 0;
  for (int k = 0; k < 4 && params[k]; k++) {
    for (int64_t i = 0; i < counts[k]; i++) {
      int64_t j = off + i;
      mom[j] = (float)(b1 * mom[j] + (1 - b1) * grad[j]);
      vel[j] = (float)(b2 * vel[j] + (1 - b2) * (double)grad[j] * grad[j]);
      params[k][i] -= (float)(m->opt.lr * (mom[j] / c1) / (sqrt(vel[j] / c2) + eps));
    }
    off += counts[k];
  }
}

static alq_err bcast_params(MPI_Comm comm, alq_model *m) {
  float *params[4];
  int64_t counts[4];
  alq_model_params(m, params, counts);
  for (int k = 0; k < 4 && params[k]; k++)
    ALQ_CHECK(alq_bcast(params[k], (int64_t)sizeof(float) * counts[k], 0, comm));
  return ALQ_OK;
}

alq_err alq_model_loss(MPI_Comm comm, const alq_model *m, const alq_train_rows *rows, double *loss, float *grad) {
  /* The training objective's weight total, from the model's class weights. */
  double weight_total_local = 0, weight_total = 0;
  for (int64_t i = 0; i < rows->n; i++)
    weight_total_local += m->class_weight[rows->y[i]];
  ALQ_CHECK(alq_allreduce(&weight_total_local, &weight_total, 1, MPI_DOUBLE, MPI_SUM, comm));
  if (weight_total <= 0)
    return alq_error_set(ALQ_ERR_INPUT, "no labeled items to compute a loss on");
  float *params[4];
  int64_t counts[4];
  int64_t total = alq_model_params(m, params, counts);
  pass_buffers b;
  float *local = NULL, *sum = NULL;
  alq_err err = buffers_alloc(&b, m, rows->n);
  if (!err)
    err = alq_malloc(&local, sizeof(float) * total, "gradient");
  if (!err)
    err = alq_malloc(&sum, sizeof(float) * total, "gradient");
  err = alq_agree(comm, err);
  double data_local = 0, data = 0;
  if (!err) {
    alq_model_standardize(m, rows->n, rows->x, b.z);
    local_pass(m, rows, &b, weight_total, -1, local, &data_local);
    err = alq_allreduce(local, sum, total, MPI_FLOAT, MPI_SUM, comm);
  }
  if (!err)
    err = alq_allreduce(&data_local, &data, 1, MPI_DOUBLE, MPI_SUM, comm);
  if (!err) {
    *loss = data + add_l2(m, sum);
    if (grad)
      memcpy(grad, sum, sizeof(float) * total);
  }
  buffers_free(&b);
  free(local);
  free(sum);
  return err;
}

alq_err alq_model_train(MPI_Comm comm, const alq_train_options *opt, int64_t dim, int64_t n_classes,
                        const float *mean, const float *std, const alq_train_rows *rows, alq_model *out) {
  ALQ_CHECK(check_options(opt, dim, n_classes));
  alq_model m;
  alq_err err = alq_agree(comm, model_alloc(&m, opt, dim, n_classes));
  if (err) {
    alq_model_free(&m);
    return err;
  }
  memcpy(m.mean, mean, sizeof(float) * dim);
  memcpy(m.std, std, sizeof(float) * dim);
  init_weights(&m);
  double weight_total = 0;
  err = class_weights(comm, &m, rows, &weight_total);

  float *params[4];
  int64_t counts[4];
  int64_t total = alq_model_params(&m, params, counts);
  float *local = NULL, *grad = NULL, *mom = NULL, *vel = NULL;
  pass_buffers b;
  memset(&b, 0, sizeof b);
  if (!err) {
    alq_err e = buffers_alloc(&b, &m, rows->n);
    if (!e)
      e = alq_malloc(&local, sizeof(float) * total, "gradient");
    if (!e)
      e = alq_malloc(&grad, sizeof(float) * total, "gradient");
    if (!e)
      e = alq_calloc(&mom, total, sizeof(float), "Adam moments");
    if (!e)
      e = alq_calloc(&vel, total, sizeof(float), "Adam moments");
    err = alq_agree(comm, e);
  }
  if (!err)
    alq_model_standardize(&m, rows->n, rows->x, b.z);
  for (int64_t epoch = 0; !err && epoch < opt->epochs; epoch++) {
    double loss = 0;
    local_pass(&m, rows, &b, weight_total, epoch, local, &loss);
    err = alq_allreduce(local, grad, total, MPI_FLOAT, MPI_SUM, comm);
    if (!err) {
      add_l2(&m, grad);
      adam_step(&m, grad, mom, vel, epoch + 1);
    }
  }
  /* MPI does not promise bit-identical sums on every rank: rank 0's weights win. */
  if (!err)
    err = bcast_params(comm, &m);
  buffers_free(&b);
  free(local);
  free(grad);
  free(mom);
  free(vel);
  if (err) {
    alq_model_free(&m);
    return err;
  }
  *out = m;
  return ALQ_OK;
}
