/* tests/test_partition.c: properties of alq_partition_rows over many
 * (n_rows, align, nranks), including nranks > n_rows and n_rows = 0.
 *
 * For every rank of every case the shards must
 *   - start at 0 and end at n_rows, each shard starting where the previous one
 *     ended (coverage, disjointness and rank order in one check),
 *   - have lo <= hi,
 *   - have every boundary on a multiple of align, except the final hi = n_rows,
 *   - hold unit counts (units of `align` rows, the last one possibly partial)
 *     that differ by at most one across ranks and sum to ceil(n_rows / align),
 *   - put the empty shards last when there are fewer units than ranks.
 * The expected unit counts are computed independently here.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "alq/partition.h"

static int64_t ceil_div(int64_t a, int64_t b) { return a / b + (a % b != 0); }

/* Returns the number of failed properties (0 = ok); prints the first failure. */
static int check_case(int64_t n, int64_t align, int P) {
  int64_t units_total = ceil_div(n, align);
  int64_t prev_hi = 0;
  int64_t min_units = INT64_MAX, max_units = -1, sum_units = 0;
  int seen_empty = 0;
  for (int r = 0; r < P; r++) {
    alq_range s = alq_partition_rows(n, align, P, r);
    const char *bad = NULL;
    if (s.lo != prev_hi)
      bad = "shard does not start where the previous one ended (gap/overlap/order)";
    else if (s.hi < s.lo)
      bad = "hi < lo";
    else if (s.hi > n)
      bad = "hi beyond n_rows";
    else if (s.lo % align != 0 && s.lo != n)
      bad = "lo not a multiple of align";
    else if (s.hi % align != 0 && s.hi != n)
      bad = "hi not a multiple of align (and not n_rows)";
    else if (s.hi == s.lo && s.lo != n)
      bad = "empty shard before the end of the pool (empty shards must be trailing)";
    if (!bad && s.hi > s.lo && seen_empty)
      bad = "non-empty shard after an empty one";
    if (bad) {
      fprintf(stderr,
              "partition n=%lld align=%lld P=%d rank=%d -> [%lld, %lld): %s (previous hi %lld)\n",
              (long long)n, (long long)align, P, r, (long long)s.lo, (long long)s.hi, bad,
              (long long)prev_hi);
      return 1;
    }
    int64_t u = ceil_div(s.hi - s.lo, align);
    if (s.hi == s.lo)
      seen_empty = 1;
    if (u < min_units)
      min_units = u;
    if (u > max_units)
      max_units = u;
    sum_units += u;
    prev_hi = s.hi;
  }
  if (prev_hi != n) {
    fprintf(stderr, "partition n=%lld align=%lld P=%d: last hi %lld != n\n", (long long)n,
            (long long)align, P, (long long)prev_hi);
    return 1;
  }
  if (sum_units != units_total) {
    fprintf(stderr, "partition n=%lld align=%lld P=%d: %lld units dealt, expected %lld\n",
            (long long)n, (long long)align, P, (long long)sum_units, (long long)units_total);
    return 1;
  }
  if (max_units - min_units > 1) {
    fprintf(stderr,
            "partition n=%lld align=%lld P=%d: unbalanced, shard unit counts range %lld..%lld\n",
            (long long)n, (long long)align, P, (long long)min_units, (long long)max_units);
    return 1;
  }
  /* Balance implies these exact per-shard counts: floor and ceil of units/P. */
  if (min_units != units_total / P) {
    fprintf(stderr, "partition n=%lld align=%lld P=%d: smallest shard has %lld units, expected %lld\n",
            (long long)n, (long long)align, P, (long long)min_units, (long long)(units_total / P));
    return 1;
  }
  return 0;
}

static void test_exhaustive_small(void **state) {
  (void)state;
  int failures = 0, cases = 0;
  for (int64_t n = 0; n <= 70; n++)
    for (int64_t align = 1; align <= 9; align++)
      for (int P = 1; P <= 12; P++) {
        failures += check_case(n, align, P);
        cases++;
      }
  fprintf(stderr, "exhaustive: %d cases, %d failed\n", cases, failures);
  assert_int_equal(failures, 0);
}

static void test_more_ranks_than_rows(void **state) {
  (void)state;
  int failures = 0;
  failures += check_case(0, 1, 1);
  failures += check_case(0, 1, 4);
  failures += check_case(0, 64, 7);
  failures += check_case(3, 1, 4);
  failures += check_case(3, 2, 4);
  failures += check_case(1, 1, 64);
  failures += check_case(5, 100, 3);  /* one partial unit only */
  failures += check_case(100, 64, 3); /* two units, three ranks */
  assert_int_equal(failures, 0);
  /* The explicit examples. */
  alq_range r;
  for (int k = 0; k < 4; k++) {
    r = alq_partition_rows(0, 1, 4, k);
    assert_int_equal(r.lo, 0);
    assert_int_equal(r.hi, 0);
  }
  r = alq_partition_rows(3, 1, 4, 3);
  assert_int_equal(r.lo, 3);
  assert_int_equal(r.hi, 3);
  r = alq_partition_rows(3, 1, 4, 0);
  assert_int_equal(r.lo, 0);
  assert_int_equal(r.hi, 1);
  r = alq_partition_rows(5, 100, 3, 0); /* the single unit goes to rank 0 */
  assert_int_equal(r.lo, 0);
  assert_int_equal(r.hi, 5);
}

static void test_single_rank(void **state) {
  (void)state;
  int64_t ns[] = {0, 1, 17, 1000, 123457};
  for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
    for (int64_t align = 1; align <= 1024; align *= 4) {
      alq_range r = alq_partition_rows(ns[i], align, 1, 0);
      assert_int_equal(r.lo, 0);
      assert_int_equal(r.hi, ns[i]);
    }
}

/* Pseudo-random larger cases, including row counts past 2^31 and 2^40 (no
 * 32-bit truncation). */
static uint64_t lcg(uint64_t *s) {
  *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
  return *s >> 17;
}

static void test_random_large(void **state) {
  (void)state;
  uint64_t s = 12345;
  int failures = 0;
  for (int i = 0; i < 3000; i++) {
    int64_t n;
    switch (i % 4) {
    case 0: n = (int64_t)(lcg(&s) % 100000); break;
    case 1: n = (int64_t)(lcg(&s) % 5000000000LL); break;          /* > 2^32 */
    case 2: n = (int64_t)(1LL << 40) + (int64_t)(lcg(&s) % 1000); break;
    default: n = (int64_t)(lcg(&s) % 300); break;
    }
    int64_t aligns[] = {1, 2, 3, 7, 64, 100, 1000, 4096, 65536};
    int64_t align = aligns[lcg(&s) % (sizeof aligns / sizeof *aligns)];
    int P = 1 + (int)(lcg(&s) % 130);
    failures += check_case(n, align, P);
  }
  /* Past 2^32 rows and with many ranks: catches 32-bit intermediates. */
  failures += check_case((INT64_C(1) << 40) + 12345, 1, 1000);
  failures += check_case((INT64_C(1) << 40) + 12345, 4096, 997);
  failures += check_case((INT64_C(1) << 33) + 7, 1, 65536);
  assert_int_equal(failures, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exhaustive_small),
      cmocka_unit_test(test_more_ranks_than_rows),
      cmocka_unit_test(test_single_rank),
      cmocka_unit_test(test_random_large),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
