/* core/gemm_small.c: bound products against a few columns without a GEMM
 * (alq/gemm.h, alq_bound_small_*).
 *
 * At a few columns a GEMM library runs far below its peak (oneDNN's bf16
 * brgemm: ~16-46 GFLOP/s at 10-16 columns against ~177 at 1000 on the
 * 2-vCPU EPYC of docs/benchmarks.md), and its rows must be gathered into a
 * block and rounded first: about 200 ns a row, where reading the row from
 * memory takes ~60-100.  Here the rows are read in place, by index, and each
 * is multiplied against up to ALQ_BOUND_SMALL_MAX columns held transposed in
 * 16-wide tiles: one FMA per element and tile, four rows at a time sharing
 * the tile loads, the next rows prefetched.
 *
 * The arithmetic: float32 fused multiply-adds, summed in one fixed order per
 * lane (k = 0, 1, ..., d - 1), each step rounded once, with gradual underflow
 * (the FPU's default: alq sets no flush modes).  That is a float sum of the d
 * exact products in some order, so it is within g_d sum |x_k c_k| of the
 * exact product, the bound behind the "openblas-f32" allowance
 * (alq_bound_gemm_path_allowance); tests/test_dot.c checks it on adversarial
 * data.  Used only for bounds, never for a value.  ALQ_BOUND_GEMM, which
 * forces a GEMM path, turns this one off: the forced path then makes every
 * bound (the tests of each path rely on that). */
#include <stdlib.h>
#include <string.h>

#include "alq/gemm.h"
#include "alq/isa.h"

#define TILE 16

int64_t alq_bound_small_width(int64_t nc) { return (nc + TILE - 1) / TILE * TILE; }

void alq_bound_small_prepare(const float *c, int64_t nc, int64_t d, float *ct) {
  int64_t w = alq_bound_small_width(nc);
  /* ct[t][k][l] = c[t * TILE + l][k], zero past nc */
  memset(ct, 0, sizeof *ct * (size_t)(w * d));
  for (int64_t j = 0; j < nc; j++)
    for (int64_t k = 0; k < d; k++)
      ct[(j / TILE) * d * TILE + k * TILE + j % TILE] = c[j * d + k];
}

#if defined(__x86_64__)
#include <immintrin.h>

#define ATTR __attribute__((target("avx512f")))

/* Row lines ahead of use: a row is d floats (512 bytes at d = 128). */
ATTR static inline void prefetch_row(const float *r, int64_t d) {
  for (int64_t k = 0; k < d; k += 16)
    _mm_prefetch((const char *)(r + k), _MM_HINT_T0);
}

/* R rows (R <= 4) against T tiles (T <= 4): out rows of T * TILE floats. */
#define SMALL_BLOCK(R, T)                                                              \
  do {                                                                                 \
    __m512 acc[R][T];                                                                  \
    for (int r_ = 0; r_ < (R); r_++)                                                   \
      for (int t_ = 0; t_ < (T); t_++)                                                 \
        acc[r_][t_] = _mm512_setzero_ps();                                             \
    for (int64_t k = 0; k < d; k++) {                                                  \
      __m512 cv[T];                                                                    \
      for (int t_ = 0; t_ < (T); t_++)                                                 \
        cv[t_] = _mm512_loadu_ps(ct + (t_ * d + k) * TILE);                             \
      for (int r_ = 0; r_ < (R); r_++) {                                               \
        __m512 xv = _mm512_set1_ps(xr[r_][k]);                                         \
        for (int t_ = 0; t_ < (T); t_++)                                               \
          acc[r_][t_] = _mm512_fmadd_ps(xv, cv[t_], acc[r_][t_]);                      \
      }                                                                                \
    }                                                                                  \
    for (int r_ = 0; r_ < (R); r_++)                                                   \
      for (int t_ = 0; t_ < (T); t_++)                                                 \
        _mm512_storeu_ps(out + (i + r_) * (T) * TILE + t_ * TILE, acc[r_][t_]);         \
  } while (0)

#define SMALL_KERNEL(T)                                                                                      \
  ATTR static void small_##T(const float *ct, int64_t d, const float *x, const int64_t *rows, int64_t m,      \
                             float *out) {                                                                   \
    enum { AHEAD = 8 };                                                                                      \
    for (int64_t k = 0; k < AHEAD && k < m; k++)                                                             \
      prefetch_row(x + rows[k] * d, d);                                                                      \
    int64_t i = 0;                                                                                           \
    for (; i + 4 <= m; i += 4) {                                                                             \
      for (int64_t k = i + AHEAD; k < i + AHEAD + 4 && k < m; k++)                                           \
        prefetch_row(x + rows[k] * d, d);                                                                    \
      const float *xr[4] = {x + rows[i] * d, x + rows[i + 1] * d, x + rows[i + 2] * d, x + rows[i + 3] * d}; \
      SMALL_BLOCK(4, T);                                                                                     \
    }                                                                                                        \
    for (; i < m; i++) {                                                                                     \
      const float *xr[1] = {x + rows[i] * d};                                                                \
      SMALL_BLOCK(1, T);                                                                                     \
    }                                                                                                        \
  }

SMALL_KERNEL(1)
SMALL_KERNEL(2)
SMALL_KERNEL(3)
SMALL_KERNEL(4)
#endif

const char *alq_bound_small_path(void) {
  const char *forced = getenv("ALQ_BOUND_GEMM"); /* a forced GEMM path does every bound */
  if (forced && *forced)
    return NULL;
#if defined(__x86_64__)
  static int have = -1;
  if (have < 0)
    have = alq_isa_supported("avx512f");
  return have ? "avx512f-f32" : NULL;
#else
  return NULL;
#endif
}

int alq_bound_small_run(const float *ct, int64_t nc, int64_t d, const float *x, const int64_t *rows, int64_t m,
                        float *out) {
  if (!alq_bound_small_path() || nc < 1 || nc > ALQ_BOUND_SMALL_MAX)
    return 0;
#if defined(__x86_64__)
  switch (alq_bound_small_width(nc) / TILE) {
  case 1:
    small_1(ct, d, x, rows, m, out);
    break;
  case 2:
    small_2(ct, d, x, rows, m, out);
    break;
  case 3:
    small_3(ct, d, x, rows, m, out);
    break;
  default:
    small_4(ct, d, x, rows, m, out);
    break;
  }
  return 1;
#else
  (void)ct, (void)d, (void)x, (void)rows, (void)out;
  return 0;
#endif
}
