/* tests/test_rows_validate.c: alq_rows_validate's embedding check against
 * its simple definition: the first element, in row-major order, for which
 * isfinite() is false names the row, id, column and value of the one-line
 * error; rows without one pass.
 *
 * The check scans blocks without a branch per element and looks closer only
 * at a block that holds an infinity or NaN, and it reads rows that came as
 * binary16 on their stored halves.  So: float rows of several widths (one
 * element, a row shorter than a block, rows across block edges) with
 * specials at many positions, two specials at once (the first must be
 * named), and halves with no float rows at all: every one of the 65,536 at
 * the first position, a spread of them inside and at the edges of a block. */
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alq/error.h"
#include "alq/pool.h"

/* The widened value of a half, from the format's fields. */
static double half_value(uint16_t h) {
  int s = h >> 15, e = (h >> 10) & 31, f = h & 1023;
  double mag = e == 0 ? ldexp(f / 1024.0, -14) : e == 31 ? (f ? NAN : INFINITY) : ldexp(1.0 + f / 1024.0, e - 15);
  return s ? -mag : mag;
}

static alq_pool_meta meta_of(int64_t dim) {
  alq_pool_meta m;
  memset(&m, 0, sizeof m);
  strcpy(m.path, "pool.h5");
  m.dim = dim;
  return m;
}

/* What alq_rows_validate must do with `count` rows whose elements are
 * value(k): pass when all are finite, else fail naming the first one. */
static void expect(const alq_pool_meta *m, const alq_rows *rows, int64_t first_row, int64_t count,
                   double (*value)(const alq_rows *, int64_t)) {
  int64_t n = count * m->dim, k = 0;
  while (k < n && isfinite(value(rows, k)))
    k++;
  alq_error_clear();
  alq_err err = alq_rows_validate(m, rows, first_row, count, ALQ_FIELD_EMBEDDINGS);
  if (k == n) {
    if (err != ALQ_OK)
      fail_msg("clean rows refused: %s", alq_error_message());
    return;
  }
  char want[512];
  snprintf(want, sizeof want, "pool.h5: /embeddings row %lld (id %lld) column %lld is %g",
           (long long)(first_row + k / m->dim), (long long)rows->ids[k / m->dim], (long long)(k % m->dim),
           value(rows, k));
  assert_int_equal(err, ALQ_ERR_INPUT);
  assert_string_equal(alq_error_message(), want);
}

static double float_at(const alq_rows *r, int64_t k) { return r->embeddings[k]; }
static double half_table[65536]; /* half_value of every half, once */
static double half_at(const alq_rows *r, int64_t k) { return half_table[r->half[k]]; }

static int64_t *ids_for(int64_t count) {
  int64_t *ids = malloc(sizeof *ids * (size_t)count);
  for (int64_t i = 0; i < count; i++)
    ids[i] = 1000 + 7 * i;
  return ids;
}

static void float_rows(void **unused) {
  (void)unused;
  const float specials[] = {INFINITY, -INFINITY, NAN, -NAN};
  const int64_t dims[] = {1, 3, 128, 4099};
  for (size_t d = 0; d < sizeof dims / sizeof *dims; d++) {
    int64_t dim = dims[d], count = 9000 / dim + 2, n = count * dim;
    alq_pool_meta m = meta_of(dim);
    float *x = malloc(sizeof *x * (size_t)n);
    alq_rows rows = {.ids = ids_for(count), .embeddings = x};
    for (int64_t k = 0; k < n; k++) /* finite, up to the largest and down to subnormals */
      x[k] = k % 3 == 0 ? FLT_MAX : k % 3 == 1 ? -FLT_TRUE_MIN : (float)k;
    expect(&m, &rows, 50, count, float_at);
    for (int64_t k = 0; k < n; k += 1 + k / 5) {
      float keep = x[k];
      x[k] = specials[k % 4];
      expect(&m, &rows, 50, count, float_at);
      if (k + 4096 < n) { /* a second one a block later: the first is named */
        x[k + 4096] = NAN;
        expect(&m, &rows, 50, count, float_at);
        x[k + 4096] = 1.0f;
      }
      x[k] = keep;
    }
    free(rows.ids);
    free(x);
  }
}

static void every_half(void **unused) {
  (void)unused;
  const int64_t dim = 64, count = 130, n = dim * count; /* 8320 halves: two blocks and a part */
  const int64_t at[] = {0, 1, 63, 64, 4095, 4096, 4097, 8319};
  alq_pool_meta m = meta_of(dim);
  for (uint32_t v = 0; v < 65536; v++)
    half_table[v] = half_value((uint16_t)v);
  uint16_t *h = malloc(sizeof *h * (size_t)n);
  alq_rows rows = {.ids = ids_for(count), .half = h, .half_filled = 1}; /* no floats: the halves are checked */
  for (int64_t k = 0; k < n; k++)
    h[k] = (uint16_t)(0x3c00 + k % 0x3c00); /* finite: 1.0 up to just below the infinities */
  expect(&m, &rows, 0, count, half_at);
  for (size_t p = 0; p < sizeof at / sizeof *at; p++)
    for (uint32_t v = 0; v < 65536; v += p == 0 ? 1 : 61) {
      uint16_t keep = h[at[p]];
      h[at[p]] = (uint16_t)v;
      expect(&m, &rows, 0, count, half_at);
      h[at[p]] = keep;
    }
  free(rows.ids);
  free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(float_rows),
      cmocka_unit_test(every_half),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
