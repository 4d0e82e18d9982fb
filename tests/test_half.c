/* tests/test_half.c: binary16 conversions (alq/half.h) against the format's
 * closed form, on every path this CPU runs.
 *
 * Widening: every one of the 65,536 halves must give the float32 that
 * (-1)^s 2^(e-15) (1 + f/1024) (or 2^-14 f/1024 for e = 0) names, computed
 * here in double with ldexp; NaNs stay NaN with their sign, and in place must
 * equal out of place.  Narrowing: the nearest half by brute force (a search
 * over the table of every finite half, ties to the even pattern) on each
 * half, the midpoints between neighbours, a float either side of each
 * midpoint, and random floats over every binade. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alq/half.h"

static double closed_form(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
  double mag = e == 0 ? ldexp(f / 1024.0, -14) : e == 31 ? (f ? NAN : INFINITY) : ldexp(1.0 + f / 1024.0, e - 15);
  return s ? -mag : mag;
}

static int same_float(float a, double want) {
  if (isnan(want))
    return isnan(a);
  return (double)a == want && !signbit(a) == !signbit(want);
}

static void every_half_widens_exactly(void **unused) {
  (void)unused;
  uint16_t *h = malloc(sizeof(uint16_t) * 65536 * 2);
  float *f = malloc(sizeof(float) * 65536);
  for (int k = 0; alq_half_path_name(k); k++) {
    if (!alq_half_use_path(alq_half_path_name(k)))
      continue;
    for (int i = 0; i < 65536; i++)
      h[i] = (uint16_t)i;
    alq_half_to_float(h, f, 65536);
    for (int i = 0; i < 65536; i++)
      if (!same_float(f[i], closed_form((uint16_t)i)))
        fail_msg("path %s: half 0x%04x gave %a, want %a", alq_half_path_name(k), i, (double)f[i],
                 closed_form((uint16_t)i));
    /* in place, at every length mod 16 and an odd start */
    for (int64_t n = 1; n <= 40; n++) {
      float *buf = malloc(sizeof(float) * (size_t)n);
      for (int64_t i = 0; i < n; i++)
        ((uint16_t *)buf)[i] = (uint16_t)(0x3c00 + 37 * i);
      alq_half_to_float((uint16_t *)buf, buf, n);
      for (int64_t i = 0; i < n; i++)
        assert_true(same_float(buf[i], closed_form((uint16_t)(0x3c00 + 37 * i))));
      free(buf);
    }
  }
  alq_half_use_path(NULL);
  free(h);
  free(f);
}

/* The finite non-negative halves in increasing order are the patterns
 * 0x0000..0x7bff; the nearest to x >= 0 by bisection, ties to the even
 * pattern, and infinity from 65520 (the midpoint past 65504) up. */
static uint16_t nearest_half(float x) {
  if (isnan(x))
    return 0x7e00;
  uint16_t sign = signbit(x) ? 0x8000 : 0;
  double a = fabs((double)x);
  if (a >= 65520.0)
    return sign | 0x7c00;
  int lo = 0, hi = 0x7bff;
  while (hi - lo > 1) {
    int mid = (lo + hi) / 2;
    if (closed_form((uint16_t)mid) <= a)
      lo = mid;
    else
      hi = mid;
  }
  double dlo = a - closed_form((uint16_t)lo), dhi = closed_form((uint16_t)hi) - a;
  int pick = dlo < dhi ? lo : dhi < dlo ? hi : (lo % 2 == 0 ? lo : hi);
  if (a >= closed_form(0x7bff))
    pick = 0x7bff;
  return (uint16_t)(sign | pick);
}

static uint32_t next(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

static void narrowing_is_nearest_even(void **unused) {
  (void)unused;
  enum { N = 0x7c00 * 4 + 20000 };
  float *f = malloc(sizeof(float) * N);
  uint16_t *h = malloc(sizeof(uint16_t) * N);
  int64_t n = 0;
  for (int i = 0; i < 0x7c00; i++) {
    double v = closed_form((uint16_t)i), up = closed_form((uint16_t)(i + 1));
    float mid = (float)((v + up) / 2); /* exact: a half midpoint has 12 bits */
    f[n++] = (float)v;
    f[n++] = (i & 1) ? -mid : mid;
    f[n++] = nextafterf(mid, 0.0f);
    f[n++] = nextafterf(mid, INFINITY);
  }
  uint32_t st = 7;
  while (n < N) {
    float u = 1.0f + (float)(next(&st) * (1.0 / 16777216.0));
    f[n++] = ldexpf(next(&st) & 1 ? -u : u, (int)(next(&st) % 46) - 30);
  }
  for (int k = 0; alq_half_path_name(k); k++) {
    if (!alq_half_use_path(alq_half_path_name(k)))
      continue;
    alq_float_to_half(f, h, n);
    for (int64_t i = 0; i < n; i++)
      if (h[i] != nearest_half(f[i]))
        fail_msg("path %s: %a gave 0x%04x, want 0x%04x", alq_half_path_name(k), (double)f[i], h[i],
                 nearest_half(f[i]));
  }
  alq_half_use_path(NULL);
  free(f);
  free(h);
}

static void specials_narrow(void **unused) {
  (void)unused;
  float f[6] = {INFINITY, -INFINITY, 1e30f, -0.0f, 0x1p-25f, 0x1.000002p-25f};
  uint16_t want[6] = {0x7c00, 0xfc00, 0x7c00, 0x8000, 0x0000, 0x0001}, h[6];
  for (int k = 0; alq_half_path_name(k); k++) {
    if (!alq_half_use_path(alq_half_path_name(k)))
      continue;
    alq_float_to_half(f, h, 6);
    for (int i = 0; i < 6; i++)
      assert_int_equal(h[i], want[i]);
  }
  alq_half_use_path(NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_half_widens_exactly),
      cmocka_unit_test(narrowing_is_nearest_even),
      cmocka_unit_test(specials_narrow),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
