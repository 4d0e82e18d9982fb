/* core/gemm_avx512.h: the "avx512-f32" bound GEMM path of core/gemm_bound.c
 * (internal to core/): float32 products and sums with AVX-512 fused
 * multiply-adds on columns packed once.  Bounds only (alq/gemm.h). */
#ifndef ALQ_CORE_GEMM_AVX512_H
#define ALQ_CORE_GEMM_AVX512_H
#include <stdint.h>

/* Floats of the packed copy of nc columns of length d. */
int64_t alq_f32x_packed_floats(int64_t nc, int64_t d);

/* c (nc x d, row-major) into packed (alq_f32x_packed_floats, 64-byte aligned). */
void alq_f32x_pack(const float *c, int64_t nc, int64_t d, float *packed);

#if defined(__x86_64__)
/* out[i][j] ~ x_i . c_j for i < rows, j < nc (out row-major, nc wide).  Needs
 * AVX-512F (alq_isa_supported("avx512f")). */
void alq_f32x_run(const float *packed, int64_t nc, int64_t d, const float *x, int64_t rows, float *out);

/* The same entries, compared in registers instead of stored: the bits of
 * alq_bound_gemm_run_filter (alq/gemm.h). */
void alq_f32x_run_filter(const float *packed, int64_t nc, int64_t d, const float *x, int64_t rows,
                         const float *scale, const float *threshold, uint64_t *bits);
#endif

/* The bits of alq_bound_gemm_run_filter from entries out (rows x nc) that
 * another path computed; any CPU. */
const char *alq_f32x_bits_path(void); /* "avx512f" or "scalar" */
void alq_f32x_bits(const float *out, int64_t rows, int64_t nc, const float *scale, const float *threshold,
                   uint64_t *bits);

#endif
