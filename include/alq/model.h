/* alq/model.h: light classifier heads on a pool's features (docs/models.md).
 *
 * A pool's /embeddings are features from a frozen backbone; a head trained on
 * the labeled items turns them into class probabilities (for uncertainty
 * strategies) and an embedding (for k-center):
 *   logreg  multinomial logistic regression, L2:   p = softmax(z W2 + b2)
 *   mlp     one hidden layer, ReLU, dropout:       h = relu(z W1 + b1), p = softmax(h W2 + b2)
 * where z = (x - mean) / std, the feature standardisation stored with the
 * model.  The embedding is the penultimate activation: h for the MLP, z for
 * logreg (which has no hidden layer).
 *
 * Training is full-batch Adam, data-parallel: each rank holds some labeled
 * rows, gradients are summed with MPI_Allreduce, every rank applies the same
 * update.  Applying is per row: a row's outputs do not depend on the rows
 * around it or on which rank computes it (fixed-shape SGEMM blocks).
 */
#ifndef ALQ_MODEL_H
#define ALQ_MODEL_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/source.h"

typedef enum { ALQ_MODEL_LOGREG = 1, ALQ_MODEL_MLP = 2 } alq_model_kind;

typedef struct {
  alq_model_kind kind;
  int64_t hidden;    /* MLP hidden units */
  double dropout;    /* MLP: probability of dropping a hidden unit while training */
  double l2;         /* penalty (l2 / 2) ||W||^2 on weights, not biases */
  double lr;         /* Adam step size */
  int64_t epochs;    /* full-batch Adam steps */
  int class_weights; /* 1: weight class c by n / (K n_c) ("balanced"), K = classes present */
  uint64_t seed;     /* MLP initial weights and dropout masks */
} alq_train_options;

/* The defaults of `alq train` for a kind. */
void alq_train_options_default(alq_model_kind kind, alq_train_options *opt);
/* "logreg" / "mlp" -> kind; 0 when unknown. */
alq_model_kind alq_model_kind_parse(const char *name);
const char *alq_model_kind_name(alq_model_kind kind);

typedef struct {
  alq_train_options opt; /* what it was trained with */
  int64_t dim;           /* d: input features */
  int64_t hidden;        /* H for the MLP, 0 for logreg */
  int64_t n_classes;     /* C */
  int64_t n_train;       /* labeled rows it was trained on */
  float *mean, *std;     /* d each: z = (x - mean) / std (std 1 for a constant feature) */
  float *w1, *b1;        /* MLP: H x d (row j = unit j's weights), H */
  float *w2, *b2;        /* C x E (row c = class c's weights), C; E = H or d */
  float *class_weight;   /* C: the loss weight of each class (1 without class weights) */
} alq_model;

/* E: the embedding's width (H for the MLP, d for logreg). */
int64_t alq_model_embedding_dim(const alq_model *m);
void alq_model_free(alq_model *m);

/* Labeled rows held by this rank. */
typedef struct {
  int64_t n;
  const float *x;       /* n x d raw features */
  const int32_t *y;     /* n labels in [0, C) */
  const int64_t *ids;   /* n item ids (dropout masks are hashed from them) */
} alq_train_rows;

/* Feature standardisation: each rank adds its rows to acc (2 d + 1 doubles,
 * zeroed by the caller), then alq_feature_stats (collective) sums acc over the
 * ranks into the mean and population standard deviation of each feature; a
 * constant feature gets std 1. */
void alq_feature_sums_add(double *acc, int64_t dim, int64_t n, const float *x);
alq_err alq_feature_stats(MPI_Comm comm, int64_t dim, const double *acc, float *mean, float *std);

/* Collective: trains on the union of every rank's rows.  `mean`/`std` (d) are
 * copied into the model.  Every rank returns the same model (rank 0's weights
 * are broadcast at the end).  Fails with an input error when no rank holds a
 * row. */
alq_err alq_model_train(MPI_Comm comm, const alq_train_options *opt, int64_t dim, int64_t n_classes,
                        const float *mean, const float *std, const alq_train_rows *rows, alq_model *out);

/* `alq train`: the pool's labeled items, and the feature statistics of all
 * its items, streamed by the ranks; the model is written by rank 0. */
typedef struct {
  char pool[ALQ_PATH_MAX];
  char labeled[ALQ_PATH_MAX]; /* "" = the pool's own /labeled group */
  char out[ALQ_PATH_MAX];
  alq_train_options train;
  int quiet;
} alq_train_run_options;

/* Collective over `comm`.  Only rank 0's `opt` is read. */
alq_err alq_train_run(MPI_Comm comm, const alq_train_run_options *opt);

/* Mean weighted cross-entropy plus the L2 term, and its gradient, over the
 * rows of every rank (collective), without dropout: what training minimises
 * (with dropout off).  grad (may be NULL) is laid out as alq_model_params. */
alq_err alq_model_loss(MPI_Comm comm, const alq_model *m, const alq_train_rows *rows, double *loss, float *grad);

/* The model's parameters as one vector, in the order w1, b1, w2, b2 (the MLP)
 * or w2, b2 (logreg); returns the count.  Pointers index into the model. */
int64_t alq_model_params(const alq_model *m, float *params[4], int64_t counts[4]);

/* How to apply a model. */
typedef struct {
  uint64_t seed;       /* dropout masks of the MC passes */
  int64_t mc_samples;  /* MLP: 0 = one deterministic pass; T >= 1 = mean of T dropout passes */
} alq_apply_options;

/* Computes for n rows of raw features x (n x d, ids n): probs (n x C), the
 * embedding (n x E) and, when expected_entropy is not NULL, the mean entropy
 * of the T dropout passes' distributions (what BALD subtracts from the
 * entropy of the mean; 0 .. entropy of probs).  Any output may be NULL.  Each
 * row's outputs depend only on that row, its id and the options. */
alq_err alq_model_apply(const alq_model *m, const alq_apply_options *ap, int64_t n, const float *x, const int64_t *ids,
                        float *probs, float *embeddings, float *expected_entropy);

/* Serial.  Writes the model to `path` atomically (docs/models.md, "File"). */
alq_err alq_model_save(const char *path, const alq_model *m);
/* Serial.  Reads and checks a model file; errors name the file and dataset. */
alq_err alq_model_load(const char *path, alq_model *m);

/* A source that reads features from `inner` and serves what the model computes
 * from them: /probs (C columns) and /embeddings (the model's embedding, E
 * columns); ids and labels pass through.  Its meta: has_probs = 1, n_classes =
 * C, dim = E.  It takes ownership of `inner` (closing it closes inner) and
 * borrows `model`, which must outlive it.  inner->meta.dim must equal the
 * model's d. */
alq_err alq_source_with_model(alq_source *inner, const alq_model *model, const alq_apply_options *ap,
                              alq_source **out);

/* The model's standardised input features z = (x - mean) / std as a source's
 * /embeddings (d columns; no /probs), for the model source in `src`'s chain
 * (src itself or a source under it): it reads through that source's inner
 * source, which it borrows (closing it leaves inner open; inner and the model
 * must outlive it).  *out = NULL when no model source is in the chain. */
alq_err alq_source_model_features(alq_source *src, alq_source **out);

/* Rank 0, alq select --model: checks the model file against the pool `meta`
 * describes (feature count; --mc-samples needs an MLP) and turns meta into
 * what the model source serves (dim = E, n_classes = C, has_probs = 1). */
alq_err alq_model_serves(const char *model_path, int64_t mc_samples, alq_pool_meta *meta);

/* Collective: every rank loads the model, opens the pool (served->path) for
 * its features and wraps it; the source owns the model.  `served` is the meta
 * alq_model_serves produced. */
alq_err alq_source_open_model(MPI_Comm comm, const alq_pool_meta *served, const char *model_path, int64_t mc_samples,
                              uint64_t seed, alq_source **out);

/* Classification quality on a labeled test set. */
typedef struct {
  double accuracy;
  double macro_f1;    /* mean F1 over the classes present in the test set */
  double rare_recall; /* mean recall of the (up to) 3 rarest classes present in the test set */
} alq_metrics;

/* conf[t * C + p] counts items of true class t predicted as p. */
void alq_metrics_from_confusion(const int64_t *conf, int64_t n_classes, alq_metrics *out);

#endif
