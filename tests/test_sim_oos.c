/* tests/test_sim_oos.c: alq simulate's out-of-sample probabilities of the
 * labeled items (simulate/oos.c), for tests/activelab_oos.py, which runs it at
 * 1 and 2 ranks and compares the digests.
 *
 * Checks here (rank 0 prints "FAIL: ..." and the exit code is 1):
 * - out of sample: flipping the labels of every item of one fold (the fold
 *   recomputed here from the documented rule, hash(seed, id) mod 5) leaves
 *   that fold's probabilities bit for bit unchanged, changes the other folds'
 *   and changes the in-sample model's probabilities of the flipped items;
 * - the probabilities are distributions and every labeled item has a row.
 * stdout (rank 0): "p id p_0 .. p_K-1" per labeled item, then "ok". */
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../simulate/sim.h"
#include "alq/hash.h"

enum { N = 400, DIM = 6, K = 4, LABELED = 160, FOLDS = 5 };
static const uint64_t SEED = 11;
static int failures;

static void check(int cond, const char *what, int rank) {
  if (!cond) {
    failures++;
    if (rank == 0)
      printf("FAIL: %s\n", what);
  }
}

/* Gaussian-ish blobs per class from the hash, so every rank builds the same data. */
static void make_data(sim_dataset *d, sim_split *s) {
  memset(d, 0, sizeof *d);
  memset(s, 0, sizeof *s);
  d->meta.n_items = N;
  d->meta.dim = DIM;
  d->meta.n_classes = K;
  d->x = malloc(sizeof(float) * N * DIM);
  d->y = malloc(sizeof(int32_t) * N);
  d->ids = malloc(sizeof(int64_t) * N);
  for (int64_t i = 0; i < N; i++) {
    d->ids[i] = 7 + 3 * i;
    d->y[i] = (int32_t)(alq_hash3(1, (uint64_t)i, 1) % K);
    for (int64_t j = 0; j < DIM; j++) {
      double u = alq_hash_unit(2, (uint64_t)(i * DIM + j), 2) + alq_hash_unit(3, (uint64_t)(i * DIM + j), 3) - 1;
      d->x[i * DIM + j] = (float)(2 * u + (j == d->y[i] % DIM ? 1.5 : 0));
    }
  }
  s->mean = calloc(DIM, sizeof(float));
  s->std = malloc(sizeof(float) * DIM);
  for (int j = 0; j < DIM; j++)
    s->std[j] = 1;
}

/* Labeled: the first LABELED items, every fifth label wrong. */
static void make_labeled(const sim_dataset *d, alq_labeled *l) {
  l->n = LABELED;
  l->ids = malloc(sizeof(int64_t) * LABELED);
  l->labels = malloc(sizeof(int32_t) * LABELED);
  for (int64_t i = 0; i < LABELED; i++) {
    l->ids[i] = d->ids[i];
    l->labels[i] = i % 5 == 0 ? (d->y[i] + 1) % K : d->y[i];
  }
}

static int fold(int64_t id) { return (int)(alq_hash3(SEED, (uint64_t)id, ALQ_PURPOSE_OOS_FOLD) % FOLDS); }

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm comm = MPI_COMM_WORLD;
  alq_simulate_options o;
  alq_simulate_options_default(ALQ_MODEL_LOGREG, &o);
  sim_dataset d;
  sim_split s;
  make_data(&d, &s);
  alq_labeled lab = {0}, flipped = {0};
  make_labeled(&d, &lab);
  make_labeled(&d, &flipped);
  for (int64_t i = 0; i < LABELED; i++)
    if (fold(flipped.ids[i]) == 0)
      flipped.labels[i] = (flipped.labels[i] + 1) % K;

  alq_model all = {0}, all_flipped = {0};
  sim_oos a = {0}, b = {0};
  int ok = !sim_train(comm, &o, &d, &s, &lab, &all) && !sim_train(comm, &o, &d, &s, &flipped, &all_flipped) &&
           !sim_oos_probs(comm, &o, &d, &s, SEED, &lab, &all, &a) &&
           !sim_oos_probs(comm, &o, &d, &s, SEED, &flipped, &all_flipped, &b);
  check(ok, alq_error_message(), rank);
  if (ok) {
    check(a.n == LABELED && a.n_classes == K, "one row per labeled item", rank);
    int in_fold = 0, same_in = 1, changed_out = 0, sums = 1;
    for (int64_t i = 0; i < a.n; i++) {
      check(a.ids[i] == lab.ids[i] && sim_oos_row(&a, lab.ids[i]) == a.probs + i * K, "rows by id", rank);
      double sum = 0;
      for (int k = 0; k < K; k++)
        sum += a.probs[i * K + k];
      sums &= fabs(sum - 1) < 1e-5;
      int same = memcmp(a.probs + i * K, b.probs + i * K, sizeof(float) * K) == 0;
      if (fold(a.ids[i]) == 0) {
        in_fold++;
        same_in &= same;
      } else {
        changed_out += !same;
      }
    }
    check(sums, "rows are distributions", rank);
    check(in_fold > 10 && in_fold < LABELED - 10, "fold 0 holds a fifth of the items or so", rank);
    check(same_in, "a fold's probabilities depend on its own labels: not out of sample", rank);
    check(changed_out > 0, "the other folds' probabilities ignore fold 0's labels", rank);
    /* The in-sample model does see the flip (else the check above proves nothing). */
    float p0[LABELED * K], p1[LABELED * K];
    float x[LABELED * DIM];
    for (int64_t i = 0; i < LABELED; i++)
      memcpy(x + i * DIM, d.x + i * DIM, sizeof(float) * DIM);
    alq_apply_options ap = {SEED, 0};
    check(!alq_model_apply(&all, &ap, LABELED, x, lab.ids, p0, NULL, NULL) &&
              !alq_model_apply(&all_flipped, &ap, LABELED, x, lab.ids, p1, NULL, NULL),
          "apply", rank);
    int moved = 0;
    for (int64_t i = 0; i < LABELED; i++)
      if (fold(lab.ids[i]) == 0)
        moved += memcmp(p0 + i * K, p1 + i * K, sizeof(float) * K) != 0;
    check(moved > 0, "the in-sample model ignores the flip", rank);
    for (int64_t i = 0; rank == 0 && i < a.n; i++) {
      printf("p %lld", (long long)a.ids[i]);
      for (int k = 0; k < K; k++)
        printf(" %.9g", a.probs[i * K + k]);
      printf("\n");
    }
  }
  if (rank == 0 && !failures)
    printf("ok\n");
  sim_oos_free(&a);
  sim_oos_free(&b);
  alq_model_free(&all);
  alq_model_free(&all_flipped);
  alq_labeled_free(&lab);
  alq_labeled_free(&flipped);
  free(d.x), free(d.y), free(d.ids), free(s.mean), free(s.std);
  MPI_Finalize();
  return failures ? 1 : 0;
}
