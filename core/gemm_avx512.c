/* core/gemm_avx512.c: the "avx512-f32" bound GEMM (core/gemm_avx512.h).
 *
 * out = x c^T in float32 with AVX-512 fused multiply-adds: the columns are
 * packed once into panels of PANEL (48) columns, each panel k-major
 * ([k][48], zero-padded past nc), so a micro-kernel of 8 rows x 48 columns
 * keeps its 24 accumulators in registers and reads per k one broadcast per
 * row and three aligned vectors of the panel.  Panel-outer order: a panel
 * (d x 48 floats, 24 KB at d = 128) stays in L1 while the block's rows pass.
 *
 * The rounding is that of some order of float products and sums (each
 * entry: one fused multiply-add per k, in increasing k), so the f32
 * allowance of alq/gemm.h holds; the values still only decide which items
 * get an exact evaluation (alq_dot). */
#include "gemm_avx512.h"

#include "alq/gemm.h"
#include "alq/isa.h"

#include <string.h>

#define PANEL ALQ_BOUND_GROUP /* 48: three vectors */
#define VECS (PANEL / 16)
#define MR 8

int64_t alq_f32x_packed_floats(int64_t nc, int64_t d) { return (nc + PANEL - 1) / PANEL * PANEL * d; }

void alq_f32x_pack(const float *c, int64_t nc, int64_t d, float *packed) {
  memset(packed, 0, sizeof(float) * (size_t)alq_f32x_packed_floats(nc, d));
  for (int64_t j = 0; j < nc; j++)
    for (int64_t k = 0; k < d; k++)
      packed[(j / PANEL) * PANEL * d + k * PANEL + j % PANEL] = c[j * d + k];
}

#if defined(__x86_64__)
#include <immintrin.h>

#define TARGET __attribute__((target("avx512f")))

/* The rows x 48 tile at (x, panel): stored to out (the panel's columns whose
 * masks are set), or, with `bits`, each row's compare against the columns'
 * thresholds as 48 bits (alq_f32x_run_filter). */
TARGET __attribute__((always_inline)) static inline void micro(int rows, const float *x, int64_t d, const float *panel,
                                                               float *out, int64_t ld, const __mmask16 mask[VECS],
                                                               const float *scale, const float *th, uint64_t *bits) {
  __m512 acc[MR][VECS];
#pragma GCC unroll 8
  for (int i = 0; i < rows; i++)
#pragma GCC unroll 3
    for (int v = 0; v < VECS; v++)
      acc[i][v] = _mm512_setzero_ps();
  for (int64_t k = 0; k < d; k++) {
    __m512 b[VECS];
#pragma GCC unroll 3
    for (int v = 0; v < VECS; v++)
      b[v] = _mm512_load_ps(panel + k * PANEL + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
      __m512 a = _mm512_set1_ps(x[i * d + k]);
#pragma GCC unroll 3
      for (int v = 0; v < VECS; v++)
        acc[i][v] = _mm512_fmadd_ps(a, b[v], acc[i][v]);
    }
  }
  if (bits) {
    __m512 t[VECS];
#pragma GCC unroll 3
    for (int v = 0; v < VECS; v++)
      t[v] = _mm512_maskz_loadu_ps(mask[v], th + 16 * v);
#pragma GCC unroll 8
    for (int i = 0; i < rows; i++) {
      __m512 s = _mm512_set1_ps(scale[i]);
      uint64_t m = 0;
#pragma GCC unroll 3
      for (int v = 0; v < VECS; v++)
        m |= (uint64_t)_mm512_mask_cmp_ps_mask(mask[v], _mm512_mul_ps(acc[i][v], s), t[v], _CMP_NLT_UQ) << (16 * v);
      bits[i] = m;
    }
    return;
  }
#pragma GCC unroll 8
  for (int i = 0; i < rows; i++)
#pragma GCC unroll 3
    for (int v = 0; v < VECS; v++)
      _mm512_mask_storeu_ps(out + i * ld + 16 * v, mask[v], acc[i][v]);
}

/* The masks of the panel's (up to) 48 columns from c0 on. */
static void panel_masks(int64_t nc, int64_t c0, __mmask16 mask[VECS]) {
  int64_t w = nc - c0 < PANEL ? nc - c0 : PANEL;
  for (int v = 0; v < VECS; v++) {
    int64_t in = w - 16 * v; /* this vector's columns that exist */
    mask[v] = in >= 16 ? (__mmask16)0xffff : in > 0 ? (__mmask16)((1u << in) - 1) : (__mmask16)0;
  }
}

/* Both entries: out (filter 0) or bits (filter 1). */
TARGET __attribute__((always_inline)) static inline void run(const float *packed, int64_t nc, int64_t d, const float *x,
                                                             int64_t rows, float *out, const float *scale,
                                                             const float *th, uint64_t *bits) {
  for (int64_t c0 = 0; c0 < nc; c0 += PANEL) {
    __mmask16 mask[VECS];
    panel_masks(nc, c0, mask);
    const float *panel = packed + c0 * d, *t = th ? th + c0 : NULL;
    uint64_t *b = bits ? bits + (c0 / PANEL) * rows : NULL;
    int64_t i = 0;
    for (; i + MR <= rows; i += MR)
      micro(MR, x + i * d, d, panel, out ? out + i * nc + c0 : NULL, nc, mask, scale ? scale + i : NULL, t,
            b ? b + i : NULL);
    const float *xr = x + i * d, *sr = scale ? scale + i : NULL;
    float *o = out ? out + i * nc + c0 : NULL;
    uint64_t *br = b ? b + i : NULL;
    switch (rows - i) { /* each case its own register tile */
    case 7: micro(7, xr, d, panel, o, nc, mask, sr, t, br); break;
    case 6: micro(6, xr, d, panel, o, nc, mask, sr, t, br); break;
    case 5: micro(5, xr, d, panel, o, nc, mask, sr, t, br); break;
    case 4: micro(4, xr, d, panel, o, nc, mask, sr, t, br); break;
    case 3: micro(3, xr, d, panel, o, nc, mask, sr, t, br); break;
    case 2: micro(2, xr, d, panel, o, nc, mask, sr, t, br); break;
    case 1: micro(1, xr, d, panel, o, nc, mask, sr, t, br); break;
    default: break;
    }
  }
}

TARGET void alq_f32x_run(const float *packed, int64_t nc, int64_t d, const float *x, int64_t rows, float *out) {
  run(packed, nc, d, x, rows, out, NULL, NULL, NULL);
}

TARGET void alq_f32x_run_filter(const float *packed, int64_t nc, int64_t d, const float *x, int64_t rows,
                                const float *scale, const float *threshold, uint64_t *bits) {
  run(packed, nc, d, x, rows, NULL, scale, threshold, bits);
}

TARGET static void bits_avx512(const float *out, int64_t rows, int64_t nc, const float *scale, const float *th,
                               uint64_t *bits) {
  for (int64_t c0 = 0; c0 < nc; c0 += PANEL) {
    __mmask16 mask[VECS];
    panel_masks(nc, c0, mask);
    __m512 t[VECS];
    for (int v = 0; v < VECS; v++)
      t[v] = _mm512_maskz_loadu_ps(mask[v], th + c0 + 16 * v);
    for (int64_t i = 0; i < rows; i++) {
      __m512 s = _mm512_set1_ps(scale[i]);
      uint64_t m = 0;
      for (int v = 0; v < VECS; v++) {
        __m512 o = _mm512_maskz_loadu_ps(mask[v], out + i * nc + c0 + 16 * v);
        m |= (uint64_t)_mm512_mask_cmp_ps_mask(mask[v], _mm512_mul_ps(o, s), t[v], _CMP_NLT_UQ) << (16 * v);
      }
      bits[(c0 / PANEL) * rows + i] = m;
    }
  }
}
#endif

static void bits_scalar(const float *out, int64_t rows, int64_t nc, const float *scale, const float *th,
                        uint64_t *bits) {
  for (int64_t c0 = 0; c0 < nc; c0 += PANEL)
    for (int64_t i = 0; i < rows; i++) {
      uint64_t m = 0;
      for (int64_t j = c0; j < nc && j < c0 + PANEL; j++)
        m |= (uint64_t)!(out[i * nc + j] * scale[i] < th[j]) << (j - c0);
      bits[(c0 / PANEL) * rows + i] = m;
    }
}

const char *alq_f32x_bits_path(void) {
#if defined(__x86_64__)
  if (alq_isa_supported("avx512f"))
    return "avx512f";
#endif
  return "scalar";
}

void alq_f32x_bits(const float *out, int64_t rows, int64_t nc, const float *scale, const float *threshold,
                   uint64_t *bits) {
#if defined(__x86_64__)
  if (alq_isa_supported("avx512f")) {
    bits_avx512(out, rows, nc, scale, threshold, bits);
    return;
  }
#endif
  bits_scalar(out, rows, nc, scale, threshold, bits);
}
