/* tests/test_bound_filter.c: alq_bound_filter (alq/bound_filter.h) on every
 * instruction-set path this CPU runs equals a scalar reference written here
 * from the header's definition, on lengths around the vector widths, with
 * NaN, infinities, signed zeros and values at the threshold. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "alq/bound_filter.h"

static int64_t reference(const float *a, float s, const float *t, int64_t n, int32_t *out) {
  int64_t m = 0;
  for (int64_t j = 0; j < n; j++) {
    float p = a[j] * s;
    int below = p < t[j]; /* false for NaN on either side */
    if (!below)
      out[m++] = (int32_t)j;
  }
  return m;
}

static uint32_t next(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

/* Mostly ordinary values, a few special ones, and some exact ties with the threshold. */
static float value(uint32_t *state) {
  static const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-38f, -1e30f};
  uint32_t r = next(state);
  if (r % 17 == 0)
    return special[next(state) % 7];
  return (float)(r * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void check_path(const char *name, uint32_t *state) {
  int32_t want[130], got[130];
  float a[130], t[130];
  for (int64_t n = 0; n <= 130; n++) {
    for (int64_t j = 0; j < n; j++) {
      a[j] = value(state);
      t[j] = next(state) % 5 == 0 ? a[j] * 0.5f : value(state); /* ties at scale 0.5 */
    }
    float scales[] = {0.5f, 1.0f, 3.0f, 0.0f};
    for (int k = 0; k < 4; k++) {
      int64_t m = reference(a, scales[k], t, n, want);
      int64_t g = alq_bound_filter(a, scales[k], t, n, got);
      if (g != m)
        print_error("path %s n %lld scale %g: %lld passing, want %lld\n", name, (long long)n, scales[k],
                    (long long)g, (long long)m);
      assert_int_equal(g, m);
      assert_memory_equal(got, want, sizeof *got * (size_t)m);
    }
  }
}

static void every_path_equals_reference(void **unused) {
  (void)unused;
  uint32_t state = 12345;
  int ran = 0;
  for (int k = 0; alq_bound_filter_path_name(k); k++) {
    const char *name = alq_bound_filter_path_name(k);
    if (!alq_bound_filter_use_path(name))
      continue; /* this CPU cannot run it */
    check_path(name, &state);
    ran++;
  }
  alq_bound_filter_use_path(NULL);
  assert_true(ran >= 1);
  assert_non_null(alq_bound_filter_path());
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(every_path_equals_reference)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
