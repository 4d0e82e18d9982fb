/* tests/test_scored.c: alq_scored_sort, alq_topk and alq_scored_global_topk
 * against a qsort-based brute force, on random data with many ties.
 *
 * An MPI program: run it as `mpiexec -n K test_scored` for K = 1..4.  The
 * serial tests (sort, topk) run on every rank on identical data; the global
 * top-k tests give each rank a deterministic, uneven share of one global record
 * set (some ranks empty) that every rank can regenerate, so every rank checks
 * its result against the brute-force global top-k.  The exit status is the same
 * on every rank: non-zero when any rank failed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <mpi.h>

#include "alq/error.h"
#include "alq/scored.h"

/* ---- independent reference ------------------------------------------------ */

static int ref_cmp(const void *pa, const void *pb) {
  const alq_scored *a = pa, *b = pb;
  if (a->score > b->score)
    return -1;
  if (a->score < b->score)
    return 1;
  if (a->id < b->id)
    return -1;
  if (a->id > b->id)
    return 1;
  return 0;
}

static void ref_sort(alq_scored *r, int64_t n) { qsort(r, (size_t)n, sizeof *r, ref_cmp); }

static uint64_t splitmix(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Scores drawn from a small set so that ties are frequent; includes negative
 * values, +0.0 and -0.0 (equal scores: the lower id must win). */
static double tie_score(uint64_t *s, int levels) {
  static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e-300, -1e300, 1e300};
  uint64_t r = splitmix(s);
  if (r % 8 == 0)
    return special[(r >> 8) % 8];
  return (double)((int64_t)((r >> 16) % (uint64_t)levels) - levels / 3) * 0.125;
}

/* n records with unique, non-contiguous, shuffled ids. */
static alq_scored *make_records(uint64_t seed, int64_t n, int levels) {
  alq_scored *r = malloc(sizeof *r * (size_t)(n ? n : 1));
  uint64_t s = seed;
  for (int64_t i = 0; i < n; i++) {
    r[i].id = 3 * i + 1000000007LL * (int64_t)(i % 3); /* unique, gaps, not monotone */
    r[i].score = tie_score(&s, levels);
  }
  for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
    int64_t j = (int64_t)(splitmix(&s) % (uint64_t)(i + 1));
    alq_scored t = r[i];
    r[i] = r[j];
    r[j] = t;
  }
  return r;
}

static int same_record(const alq_scored *a, const alq_scored *b) {
  /* Bitwise compare of the score so -0.0 vs +0.0 would still be "equal" only
   * through ==: alq's order treats them as equal, and so do we. */
  return a->id == b->id && a->score == b->score;
}

static void assert_records_equal(const alq_scored *got, const alq_scored *want, int64_t n,
                                 const char *what) {
  for (int64_t i = 0; i < n; i++) {
    if (!same_record(&got[i], &want[i])) {
      int rank = 0;
      MPI_Comm_rank(MPI_COMM_WORLD, &rank);
      fprintf(stderr, "[rank %d] %s: position %lld: got (score %.17g, id %lld), want (score %.17g, id %lld)\n",
              rank, what, (long long)i, got[i].score, (long long)got[i].id, want[i].score,
              (long long)want[i].id);
      fail();
    }
  }
}

/* ---- serial tests ---------------------------------------------------------- */

static void test_sort_matches_qsort(void **state) {
  (void)state;
  int64_t sizes[] = {0, 1, 2, 3, 7, 16, 100, 1000, 4097, 20000};
  int levels[] = {1, 2, 5, 50, 100000};
  for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
    for (size_t l = 0; l < sizeof levels / sizeof *levels; l++) {
      int64_t n = sizes[i];
      alq_scored *a = make_records(100 + i * 7 + l, n, levels[l]);
      alq_scored *b = malloc(sizeof *b * (size_t)(n ? n : 1));
      memcpy(b, a, sizeof *a * (size_t)n);
      alq_scored_sort(a, n);
      ref_sort(b, n);
      assert_records_equal(a, b, n, "alq_scored_sort");
      free(a);
      free(b);
    }
}

static void test_before_predicate(void **state) {
  (void)state;
  alq_scored a = {1.0, 5}, b = {1.0, 6}, c = {2.0, 9}, z1 = {0.0, 3}, z2 = {-0.0, 2};
  assert_true(alq_scored_before(&a, &b));
  assert_false(alq_scored_before(&b, &a));
  assert_true(alq_scored_before(&c, &a));
  assert_false(alq_scored_before(&a, &a));
  assert_true(alq_scored_before(&z2, &z1)); /* -0.0 == 0.0: lower id first */
}

/* The order records are offered in: the keeper appends them until it must
 * evict, and its sort has nothing to do when they came in alq's order. */
enum { SHUFFLED, IN_ORDER, REVERSED };

static void run_topk_ordered(int64_t n, int64_t k, int levels, int64_t payload_bytes, uint64_t seed, int order) {
  alq_scored *recs = make_records(seed, n, levels);
  if (order != SHUFFLED)
    ref_sort(recs, n);
  for (int64_t i = 0; order == REVERSED && i < n / 2; i++) {
    alq_scored r = recs[i];
    recs[i] = recs[n - 1 - i];
    recs[n - 1 - i] = r;
  }
  alq_topk t;
  assert_int_equal(alq_topk_init(&t, k, payload_bytes), ALQ_OK);
  unsigned char *pl = payload_bytes ? malloc((size_t)payload_bytes) : NULL;
  for (int64_t i = 0; i < n; i++) {
    if (pl)
      for (int64_t b = 0; b < payload_bytes; b++)
        pl[b] = (unsigned char)((uint64_t)recs[i].id * 31u + (uint64_t)b * 7u);
    alq_topk_push(&t, recs[i], pl);
  }
  alq_topk_sort(&t);
  int64_t want_n = n < k ? n : k;
  assert_int_equal(t.n, want_n);
  ref_sort(recs, n);
  char what[128];
  snprintf(what, sizeof what, "alq_topk n=%lld k=%lld levels=%d order=%d", (long long)n, (long long)k, levels,
           order);
  assert_records_equal(t.heap, recs, want_n, what);
  if (payload_bytes) {
    for (int64_t i = 0; i < want_n; i++)
      for (int64_t b = 0; b < payload_bytes; b++) {
        unsigned char want = (unsigned char)((uint64_t)t.heap[i].id * 31u + (uint64_t)b * 7u);
        if (t.payload[i * payload_bytes + b] != want) {
          fprintf(stderr, "%s: payload of position %lld (id %lld) byte %lld is %u, want %u\n", what,
                  (long long)i, (long long)t.heap[i].id, (long long)b,
                  t.payload[i * payload_bytes + b], want);
          fail();
        }
      }
  }
  free(pl);
  alq_topk_free(&t);
  free(recs);
}

static void run_topk_case(int64_t n, int64_t k, int levels, int64_t payload_bytes, uint64_t seed) {
  run_topk_ordered(n, k, levels, payload_bytes, seed, SHUFFLED);
}

static void test_topk_matches_brute_force(void **state) {
  (void)state;
  int64_t ns[] = {0, 1, 5, 64, 1000, 10007};
  int64_t ks[] = {1, 2, 3, 10, 64, 999, 1000, 5000, 20000};
  int levels[] = {1, 3, 40, 1000000};
  uint64_t seed = 1;
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++)
      for (size_t l = 0; l < sizeof levels / sizeof *levels; l++)
        run_topk_case(ns[i], ks[j], levels[l], 0, seed++);
}

static void test_topk_payload_moves_with_record(void **state) {
  (void)state;
  run_topk_case(5000, 37, 4, 64, 77);   /* e.g. 16 float32 */
  run_topk_case(5000, 37, 4, 3, 78);    /* odd size */
  run_topk_case(300, 1000, 2, 24, 79);  /* k > n */
  run_topk_case(2000, 1, 1, 8, 80);     /* all scores equal: lowest id kept */
}

static void test_topk_arrival_order(void **state) {
  (void)state;
  int64_t ns[] = {0, 1, 2, 5, 1000, 4097};
  int64_t ks[] = {1, 2, 999, 1000, 4097, 5000};
  uint64_t seed = 500;
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++)
      for (int order = SHUFFLED; order <= REVERSED; order++) {
        run_topk_ordered(ns[i], ks[j], 1, 24, seed++, order); /* all scores equal: the k-center's case */
        run_topk_ordered(ns[i], ks[j], 40, 24, seed++, order);
      }
}

/* ---- collective global top-k ------------------------------------------------ */

/* Global record set: `total` records; record i lives on rank owner(i). Shares
 * are uneven and rank 0 or the last rank can be empty. */
static int owner_of(int64_t i, int size, int scheme) {
  switch (scheme) {
  case 0: return (int)(i % size);                       /* round robin */
  case 1: return size - 1 - (int)((i * 7) % (size > 1 ? size - 1 : 1)); /* rank 0 empty when size > 1 */
  case 2: return (int)((uint64_t)(i * i + 3) % (uint64_t)size); /* skewed */
  default: return 0;                                    /* everything on rank 0 */
  }
}

static void run_global_case(int64_t total, int64_t k, int levels, int scheme, uint64_t seed) {
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  alq_scored *all = make_records(seed, total, levels);
  alq_scored *mine = malloc(sizeof *mine * (size_t)(total ? total : 1));
  int64_t n_mine = 0;
  for (int64_t i = 0; i < total; i++)
    if (owner_of(i, size, scheme) == rank)
      mine[n_mine++] = all[i];
  /* Each rank holds up to k sorted records (its local top k). */
  ref_sort(mine, n_mine);
  if (n_mine > k)
    n_mine = k;
  alq_scored *out = NULL;
  int64_t n_out = -1;
  alq_err e = alq_scored_global_topk(MPI_COMM_WORLD, mine, n_mine, k, &out, &n_out);
  assert_int_equal(e, ALQ_OK);
  ref_sort(all, total);
  int64_t want_n = total < k ? total : k;
  char what[160];
  snprintf(what, sizeof what, "alq_scored_global_topk ranks=%d total=%lld k=%lld levels=%d scheme=%d",
           size, (long long)total, (long long)k, levels, scheme);
  if (n_out != want_n) {
    fprintf(stderr, "[rank %d] %s: n_out %lld, want %lld\n", rank, what, (long long)n_out,
            (long long)want_n);
    fail();
  }
  assert_records_equal(out, all, want_n, what);
  free(out);
  free(mine);
  free(all);
}

static void test_global_topk(void **state) {
  (void)state;
  int64_t totals[] = {0, 1, 3, 17, 500, 6000};
  int64_t ks[] = {1, 2, 5, 16, 100, 499, 500, 501, 7000};
  int levels[] = {1, 4, 1000000};
  uint64_t seed = 1000;
  for (size_t t = 0; t < sizeof totals / sizeof *totals; t++)
    for (size_t j = 0; j < sizeof ks / sizeof *ks; j++)
      for (size_t l = 0; l < sizeof levels / sizeof *levels; l++)
        for (int scheme = 0; scheme < 4; scheme++)
          run_global_case(totals[t], ks[j], levels[l], scheme, seed++);
}

/* Every rank has exactly the same k records' scores (all ties): the global
 * top-k must be decided by id alone, and ids interleave across ranks. */
static void test_global_topk_all_ties_interleaved(void **state) {
  (void)state;
  int rank, size;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const int64_t k = 50;
  alq_scored mine[50];
  for (int64_t i = 0; i < k; i++) {
    mine[i].score = 0.75;
    mine[i].id = i * size + (size - 1 - rank); /* rank size-1 owns the smallest ids */
  }
  alq_scored *out = NULL;
  int64_t n_out = -1;
  assert_int_equal(alq_scored_global_topk(MPI_COMM_WORLD, mine, k, k, &out, &n_out), ALQ_OK);
  assert_int_equal(n_out, k);
  for (int64_t i = 0; i < k; i++) {
    if (out[i].id != i || out[i].score != 0.75) {
      fprintf(stderr, "[rank %d] all-ties: position %lld got id %lld score %g, want id %lld\n", rank,
              (long long)i, (long long)out[i].id, out[i].score, (long long)i);
      fail();
    }
  }
  free(out);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  int rank;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_before_predicate),
      cmocka_unit_test(test_sort_matches_qsort),
      cmocka_unit_test(test_topk_matches_brute_force),
      cmocka_unit_test(test_topk_payload_moves_with_record),
      cmocka_unit_test(test_topk_arrival_order),
      cmocka_unit_test(test_global_topk),
      cmocka_unit_test(test_global_topk_all_ties_interleaved),
  };
  /* A failed collective test on one rank returns early from the test; the
   * other ranks may then wait in the next collective.  The test timeout (and
   * mpiexec aborting on a non-zero exit) bounds that. */
  int failed = cmocka_run_group_tests(tests, NULL, NULL);
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return any ? 1 : 0;
}
