/* pool/rows_validate.c: the checks every row read from a pool must pass. */
#include <math.h>
#include <string.h>

#include "alq/half.h"
#include "alq/pool.h"

/* An infinity or a NaN has every exponent bit set. */
static unsigned float_nonfinite(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return (u & 0x7f800000u) == 0x7f800000u;
}

static unsigned half_nonfinite(uint16_t h) { return (h & 0x7c00u) == 0x7c00u; }

/* The scans below are bound by memory, and a mapped float16 pool's pass is
 * little else (workers/scan.c): clones for wider vectors than the baseline
 * SSE2 read it faster.  They return the same index (an OR and a compare
 * lane by lane). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SCAN_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
#else
#define SCAN_CLONES
#endif

/* Elements per block.  Each block is checked without a branch per element
 * (an OR over it, which the compiler vectorises) and searched element by
 * element only when it holds an infinity or a NaN: valid rows never do. */
#define FINITE_BLOCK 4096

/* The index of the first infinity or NaN in x[0, n), or n. */
SCAN_CLONES static int64_t first_nonfinite_float(const float *x, int64_t n) {
  for (int64_t b = 0; b < n; b += FINITE_BLOCK) {
    int64_t len = n - b < FINITE_BLOCK ? n - b : FINITE_BLOCK;
    unsigned bad = 0;
    for (int64_t i = 0; i < len; i++)
      bad |= float_nonfinite(x[b + i]);
    for (int64_t i = 0; bad && i < len; i++)
      if (float_nonfinite(x[b + i]))
        return b + i;
  }
  return n;
}

SCAN_CLONES static int64_t first_nonfinite_half(const uint16_t *h, int64_t n) {
  for (int64_t b = 0; b < n; b += FINITE_BLOCK) {
    int64_t len = n - b < FINITE_BLOCK ? n - b : FINITE_BLOCK;
    uint16_t bad = 0; /* as wide as the elements: eight to a 16-byte vector */
    for (int64_t i = 0; i < len; i++)
      bad |= (uint16_t)half_nonfinite(h[b + i]);
    for (int64_t i = 0; bad && i < len; i++)
      if (half_nonfinite(h[b + i]))
        return b + i;
  }
  return n;
}

/* Rows that came as binary16 are checked on the stored halves, half the
 * bytes: widening is exact and maps infinities and NaNs to themselves, so a
 * half row is finite exactly when its floats are. */
static alq_err check_embeddings(const alq_pool_meta *meta, const alq_rows *rows, int64_t first_row, int64_t count) {
  int64_t n = count * meta->dim;
  int64_t k = rows->half_filled ? first_nonfinite_half(rows->half, n) : first_nonfinite_float(rows->embeddings, n);
  if (k == n)
    return ALQ_OK;
  float value;
  if (rows->half_filled)
    alq_half_to_float(rows->half + k, &value, 1);
  else
    value = rows->embeddings[k];
  int64_t i = k / meta->dim;
  return alq_error_set(ALQ_ERR_INPUT, "%s: /embeddings row %lld (id %lld) column %lld is %g", meta->path,
                       (long long)(first_row + i), (long long)rows->ids[i], (long long)(k % meta->dim),
                       (double)value);
}

alq_err alq_rows_validate(const alq_pool_meta *meta, const alq_rows *rows, int64_t first_row, int64_t count,
                          unsigned fields) {
  if (fields & ALQ_FIELD_EMBEDDINGS)
    ALQ_CHECK(check_embeddings(meta, rows, first_row, count));
  if ((fields & ALQ_FIELD_PROBS) && meta->has_probs) {
    const int64_t C = meta->n_classes;
    for (int64_t i = 0; i < count; i++) {
      const float *p = rows->probs + i * C;
      double sum = 0;
      for (int64_t c = 0; c < C; c++) {
        if (!isfinite(p[c]) || p[c] < 0)
          return alq_error_set(ALQ_ERR_INPUT, "%s: /probs row %lld (id %lld) column %lld is %g%s", meta->path,
                               (long long)(first_row + i), (long long)rows->ids[i], (long long)c, (double)p[c],
                               isfinite(p[c]) ? " (probabilities must be >= 0)" : "");
        sum += p[c];
      }
      if (fabs(sum - 1.0) > 1e-3)
        return alq_error_set(ALQ_ERR_INPUT, "%s: /probs row %lld (id %lld) sums to %.6g (must be 1 within 1e-3)",
                             meta->path, (long long)(first_row + i), (long long)rows->ids[i], sum);
    }
  }
  return ALQ_OK;
}
