/* tests/test_model.c: the model heads (alq/model.h) on tiny problems.
 *
 * Run under mpiexec with 1..3 ranks: training is data-parallel, and every
 * rank-count must give the model a single process trains on all rows (within
 * TRAIN_TOLERANCE, float summation order being the only difference). */
#include <math.h>
#include <mpi.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "alq/hash.h"
#include "alq/model.h"
#include "alq/partition.h"

/* docs/models.md: max |w - w_1rank| <= 1e-5 (1 + max |w_1rank|). */
#define TRAIN_TOLERANCE 1e-5

static int rank, size;

/* A deterministic problem: n rows of d features, C classes, class means apart
 * by `spread`; labels by nearest mean. */
typedef struct {
  int64_t n, d, c;
  float *x;
  int32_t *y;
  int64_t *ids;
} problem;

static problem make_problem(int64_t n, int64_t d, int64_t c, double spread, uint64_t seed) {
  problem p = {n, d, c, malloc(sizeof(float) * n * d), malloc(sizeof(int32_t) * n), malloc(sizeof(int64_t) * n)};
  for (int64_t i = 0; i < n; i++) {
    p.ids[i] = 3 * i + 1;
    p.y[i] = (int32_t)(alq_hash3(seed, i, 99) % (uint64_t)c);
    for (int64_t j = 0; j < d; j++) {
      double noise = 2 * alq_hash_unit(seed, i * d + j, 98) - 1;
      double mean = (j % c == p.y[i]) ? spread : 0;
      p.x[i * d + j] = (float)(5 + mean + noise); /* offset: standardisation matters */
    }
  }
  return p;
}

static void problem_free(problem *p) {
  free(p->x);
  free(p->y);
  free(p->ids);
}

static void stats_of(MPI_Comm comm, const problem *p, int64_t lo, int64_t hi, float *mean, float *std) {
  double *acc = calloc(2 * p->d + 1, sizeof(double));
  alq_feature_sums_add(acc, p->d, hi - lo, p->x + lo * p->d);
  assert_int_equal(alq_feature_stats(comm, p->d, acc, mean, std), ALQ_OK);
  free(acc);
}

/* Trains on `comm`, each rank taking a contiguous share of the rows. */
static alq_model train_on(MPI_Comm comm, const problem *p, const alq_train_options *opt) {
  int r, s;
  MPI_Comm_rank(comm, &r);
  MPI_Comm_size(comm, &s);
  alq_range share = alq_partition_rows(p->n, 1, s, r);
  float *mean = malloc(sizeof(float) * p->d), *std = malloc(sizeof(float) * p->d);
  stats_of(comm, p, share.lo, share.hi, mean, std);
  alq_train_rows rows = {share.hi - share.lo, p->x + share.lo * p->d, p->y + share.lo, p->ids + share.lo};
  alq_model m;
  assert_int_equal(alq_model_train(comm, opt, p->d, p->c, mean, std, &rows, &m), ALQ_OK);
  free(mean);
  free(std);
  return m;
}

static double train_error(const alq_model *m, const problem *p) {
  float *probs = malloc(sizeof(float) * p->n * p->c);
  alq_apply_options ap = {0, 0};
  assert_int_equal(alq_model_apply(m, &ap, p->n, p->x, p->ids, probs, NULL, NULL), ALQ_OK);
  int64_t wrong = 0;
  for (int64_t i = 0; i < p->n; i++) {
    int64_t best = 0;
    for (int64_t k = 1; k < p->c; k++)
      if (probs[i * p->c + k] > probs[i * p->c + best])
        best = k;
    wrong += best != p->y[i];
  }
  free(probs);
  return (double)wrong / (double)p->n;
}

static void separable_reaches_zero_training_error(void **unused) {
  problem p = make_problem(300, 6, 3, 4.0, 1);
  for (int kind = ALQ_MODEL_LOGREG; kind <= ALQ_MODEL_MLP; kind++) {
    alq_train_options opt;
    alq_train_options_default(kind, &opt);
    opt.hidden = 16;
    opt.epochs = 200;
    alq_model m = train_on(MPI_COMM_WORLD, &p, &opt);
    assert_true(train_error(&m, &p) == 0.0);
    alq_model_free(&m);
  }
  problem_free(&p);
}

/* The loss gradient against central finite differences, per parameter. */
static void gradient_matches_finite_differences(void **unused) {
  problem p = make_problem(40, 5, 3, 1.0, 2);
  for (int kind = ALQ_MODEL_LOGREG; kind <= ALQ_MODEL_MLP; kind++) {
    alq_train_options opt;
    alq_train_options_default(kind, &opt);
    opt.hidden = 7;
    opt.epochs = 5; /* away from the initial point, not yet converged */
    opt.l2 = 0.05;
    opt.class_weights = 1;
    alq_model m = train_on(MPI_COMM_WORLD, &p, &opt);
    alq_range share = alq_partition_rows(p.n, 1, size, rank);
    alq_train_rows rows = {share.hi - share.lo, p.x + share.lo * p.d, p.y + share.lo, p.ids + share.lo};
    float *params[4];
    int64_t counts[4];
    int64_t total = alq_model_params(&m, params, counts);
    float *grad = malloc(sizeof(float) * total);
    double loss = 0;
    assert_int_equal(alq_model_loss(MPI_COMM_WORLD, &m, &rows, &loss, grad), ALQ_OK);
    int64_t off = 0;
    for (int k = 0; k < 4 && params[k]; k++) {
      for (int64_t i = 0; i < counts[k]; i++) {
        float saved = params[k][i];
        const float h = kind == ALQ_MODEL_MLP ? 1e-3f : 1e-2f;
        double up, down;
        params[k][i] = saved + h;
        assert_int_equal(alq_model_loss(MPI_COMM_WORLD, &m, &rows, &up, NULL), ALQ_OK);
        params[k][i] = saved - h;
        assert_int_equal(alq_model_loss(MPI_COMM_WORLD, &m, &rows, &down, NULL), ALQ_OK);
        params[k][i] = saved;
        double fd = (up - down) / (2.0 * h), g = grad[off + i];
        /* ReLU kinks make an MLP's loss only piecewise smooth: a looser bound there. */
        double tol = (kind == ALQ_MODEL_MLP ? 5e-4 : 1e-4) + 1e-2 * fabs(fd);
        if (fabs(fd - g) > tol)
          fail_msg("%s param block %d entry %lld: gradient %g, finite difference %g", alq_model_kind_name(kind), k,
                   (long long)i, g, fd);
      }
      off += counts[k];
    }
    free(grad);
    alq_model_free(&m);
  }
  problem_free(&p);
}

/* Data-parallel training on all ranks vs one process on all rows. */
static void same_model_whatever_the_rank_count(void **unused) {
  problem p = make_problem(500, 8, 4, 1.5, 3);
  for (int kind = ALQ_MODEL_LOGREG; kind <= ALQ_MODEL_MLP; kind++) {
    alq_train_options opt;
    alq_train_options_default(kind, &opt);
    opt.hidden = 12;
    opt.epochs = 150;
    opt.class_weights = kind == ALQ_MODEL_MLP;
    alq_model all = train_on(MPI_COMM_WORLD, &p, &opt);
    alq_model one = train_on(MPI_COMM_SELF, &p, &opt);
    float *pa[4], *po[4];
    int64_t ca[4], co[4];
    int64_t total = alq_model_params(&all, pa, ca);
    assert_int_equal(total, alq_model_params(&one, po, co));
    double maxref = 0, maxdiff = 0;
    for (int k = 0; k < 4 && pa[k]; k++)
      for (int64_t i = 0; i < ca[k]; i++) {
        maxref = fmax(maxref, fabs(po[k][i]));
        maxdiff = fmax(maxdiff, fabs(pa[k][i] - po[k][i]));
      }
    if (rank == 0)
      printf("# %s on %d rank(s): max |w - w_1rank| = %.3g (max |w| %.3g)\n", alq_model_kind_name(kind), size,
             maxdiff, maxref);
    assert_true(maxdiff <= TRAIN_TOLERANCE * (1 + maxref));
    /* Every rank holds the same weights (rank 0's were broadcast). */
    double mine = 0, lo = 0, hi = 0;
    for (int k = 0; k < 4 && pa[k]; k++)
      for (int64_t i = 0; i < ca[k]; i++)
        mine += pa[k][i] * (double)(i + 1);
    MPI_Allreduce(&mine, &lo, 1, MPI_DOUBLE, MPI_MIN, MPI_COMM_WORLD);
    MPI_Allreduce(&mine, &hi, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    assert_true(lo == hi);
    alq_model_free(&all);
    alq_model_free(&one);
  }
  problem_free(&p);
}

/* Same seed, same model; another seed, another MLP. */
static void deterministic_for_a_seed(void **unused) {
  problem p = make_problem(200, 6, 3, 1.0, 4);
  alq_train_options opt;
  alq_train_options_default(ALQ_MODEL_MLP, &opt);
  opt.hidden = 10;
  opt.epochs = 50;
  alq_model a = train_on(MPI_COMM_WORLD, &p, &opt), b = train_on(MPI_COMM_WORLD, &p, &opt);
  assert_memory_equal(a.w1, b.w1, sizeof(float) * a.hidden * a.dim);
  assert_memory_equal(a.w2, b.w2, sizeof(float) * a.n_classes * a.hidden);
  opt.seed = 5;
  alq_model c = train_on(MPI_COMM_WORLD, &p, &opt);
  assert_true(memcmp(a.w1, c.w1, sizeof(float) * a.hidden * a.dim) != 0);
  alq_model_free(&a);
  alq_model_free(&b);
  alq_model_free(&c);
  problem_free(&p);
}

/* A row's outputs are the same in any chunk at any offset (the workers' chunks
 * and the ranks' shards cut the pool anywhere), with and without MC dropout. */
static void apply_ignores_chunking(void **unused) {
  problem p = make_problem(700, 13, 5, 1.0, 6);
  alq_train_options opt;
  alq_train_options_default(ALQ_MODEL_MLP, &opt);
  opt.hidden = 23;
  opt.epochs = 20;
  alq_model m = train_on(MPI_COMM_WORLD, &p, &opt);
  for (int64_t mc = 0; mc <= 3; mc += 3) {
    alq_apply_options ap = {11, mc};
    float *probs = malloc(sizeof(float) * p.n * p.c), *emb = malloc(sizeof(float) * p.n * m.hidden);
    float *ent = malloc(sizeof(float) * p.n);
    assert_int_equal(alq_model_apply(&m, &ap, p.n, p.x, p.ids, probs, emb, ent), ALQ_OK);
    const int64_t cuts[][2] = {{0, 1}, {5, 3}, {7, 256}, {100, 257}, {301, 399}, {699, 1}, {13, 600}};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
      int64_t lo = cuts[k][0], n = cuts[k][1];
      float *pp = malloc(sizeof(float) * n * p.c), *pe = malloc(sizeof(float) * n * m.hidden);
      float *pn = malloc(sizeof(float) * n);
      assert_int_equal(alq_model_apply(&m, &ap, n, p.x + lo * p.d, p.ids + lo, pp, pe, pn), ALQ_OK);
      assert_memory_equal(pp, probs + lo * p.c, sizeof(float) * n * p.c);
      assert_memory_equal(pe, emb + lo * m.hidden, sizeof(float) * n * m.hidden);
      assert_memory_equal(pn, ent + lo, sizeof(float) * n);
      free(pp);
      free(pe);
      free(pn);
    }
    for (int64_t i = 0; i < p.n; i++) {
      double sum = 0, entropy = 0;
      for (int64_t k = 0; k < p.c; k++) {
        double q = probs[i * p.c + k];
        sum += q;
        entropy -= q > 0 ? q * log(q) : 0;
      }
      assert_true(fabs(sum - 1) < 1e-5);
      /* BALD's mutual information H(mean p) - mean H(p_t) is never negative. */
      assert_true(ent[i] <= entropy + 1e-5);
      if (mc == 0)
        assert_true(fabs(ent[i] - entropy) < 1e-5);
    }
    free(probs);
    free(emb);
    free(ent);
  }
  alq_model_free(&m);
  problem_free(&p);
}

/* Probabilities against an independent double-precision evaluation of the
 * formulas in docs/models.md. */
static void apply_matches_the_formulas(void **unused) {
  problem p = make_problem(50, 4, 3, 1.0, 7);
  for (int kind = ALQ_MODEL_LOGREG; kind <= ALQ_MODEL_MLP; kind++) {
    alq_train_options opt;
    alq_train_options_default(kind, &opt);
    opt.hidden = 5;
    opt.epochs = 30;
    alq_model m = train_on(MPI_COMM_WORLD, &p, &opt);
    float *probs = malloc(sizeof(float) * p.n * p.c);
    alq_apply_options ap = {0, 0};
    assert_int_equal(alq_model_apply(&m, &ap, p.n, p.x, p.ids, probs, NULL, NULL), ALQ_OK);
    for (int64_t i = 0; i < p.n; i++) {
      double z[4], h[5], logit[3], top = -1e300, sum = 0;
      for (int64_t j = 0; j < p.d; j++)
        z[j] = ((double)p.x[i * p.d + j] - m.mean[j]) / m.std[j];
      const double *e = z;
      if (m.hidden) {
        for (int64_t u = 0; u < m.hidden; u++) {
          h[u] = m.b1[u];
          for (int64_t j = 0; j < p.d; j++)
            h[u] += (double)m.w1[u * p.d + j] * z[j];
          h[u] = h[u] > 0 ? h[u] : 0;
        }
        e = h;
      }
      int64_t E = alq_model_embedding_dim(&m);
      for (int64_t c = 0; c < p.c; c++) {
        logit[c] = m.b2[c];
        for (int64_t j = 0; j < E; j++)
          logit[c] += (double)m.w2[c * E + j] * e[j];
        top = fmax(top, logit[c]);
      }
      for (int64_t c = 0; c < p.c; c++)
        sum += exp(logit[c] - top);
      for (int64_t c = 0; c < p.c; c++)
        assert_true(fabs(exp(logit[c] - top) / sum - probs[i * p.c + c]) < 1e-5);
    }
    free(probs);
    alq_model_free(&m);
  }
  problem_free(&p);
}

static void save_load_round_trip(void **unused) {
  problem p = make_problem(60, 4, 3, 1.0, 8);
  alq_train_options opt;
  alq_train_options_default(ALQ_MODEL_MLP, &opt);
  opt.hidden = 6;
  opt.epochs = 10;
  opt.seed = 77;
  alq_model m = train_on(MPI_COMM_WORLD, &p, &opt);
  if (rank == 0) {
    char path[64];
    snprintf(path, sizeof path, "test_model_%d.h5", (int)getpid());
    assert_int_equal(alq_model_save(path, &m), ALQ_OK);
    alq_model back;
    assert_int_equal(alq_model_load(path, &back), ALQ_OK);
    remove(path);
    assert_int_equal(back.opt.kind, ALQ_MODEL_MLP);
    assert_int_equal(back.hidden, 6);
    assert_int_equal(back.opt.seed, 77);
    assert_int_equal(back.n_train, 60);
    assert_memory_equal(back.w1, m.w1, sizeof(float) * 6 * 4);
    assert_memory_equal(back.w2, m.w2, sizeof(float) * 3 * 6);
    assert_memory_equal(back.mean, m.mean, sizeof(float) * 4);
    assert_memory_equal(back.std, m.std, sizeof(float) * 4);
    alq_model_free(&back);
    assert_int_equal(alq_model_load("/nonexistent/model.h5", &back), ALQ_ERR_INPUT);
  }
  alq_model_free(&m);
  problem_free(&p);
}

static void metrics_from_a_known_confusion(void **unused) {
  /* true x predicted, 4 classes; class 3 never occurs in the test set. */
  const int64_t conf[16] = {8, 2, 0, 0, /**/ 1, 3, 0, 0, /**/ 0, 0, 0, 1, /**/ 0, 0, 0, 0};
  alq_metrics m;
  alq_metrics_from_confusion(conf, 4, &m);
  assert_true(fabs(m.accuracy - 11.0 / 15) < 1e-12);
  double f1_0 = 2.0 * 8 / (10 + 9), f1_1 = 2.0 * 3 / (4 + 5), f1_2 = 0;
  assert_true(fabs(m.macro_f1 - (f1_0 + f1_1 + f1_2) / 3) < 1e-12);
  /* The three rarest present classes: 2 (1 item), 1 (4), 0 (10). */
  assert_true(fabs(m.rare_recall - (0.0 + 3.0 / 4 + 8.0 / 10) / 3) < 1e-12);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(separable_reaches_zero_training_error),
      cmocka_unit_test(gradient_matches_finite_differences),
      cmocka_unit_test(same_model_whatever_the_rank_count),
      cmocka_unit_test(deterministic_for_a_seed),
      cmocka_unit_test(apply_ignores_chunking),
      cmocka_unit_test(apply_matches_the_formulas),
      cmocka_unit_test(save_load_round_trip),
      cmocka_unit_test(metrics_from_a_known_confusion),
  };
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  MPI_Finalize();
  return failed;
}
