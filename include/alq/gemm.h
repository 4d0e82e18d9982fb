/* alq/gemm.h: GEMM for bounds, never for values that decide a batch.
 *
 * OpenBLAS rounds an entry of a product differently by kernel (CPU,
 * OPENBLAS_CORETYPE), thread count, and the row's position in the call, so
 * the same row gives other last bits on another shard or machine.  alq uses
 * GEMM's speed only to decide which items need an exact evaluation: a GEMM
 * entry is within an allowance of alq_dot's value (both are within a proven
 * distance of the exact product), and every value that decides a batch is then
 * recomputed with alq_dot (alq/dot.h).
 *
 * Three paths, chosen at run time (alq_bound_gemm_create):
 *
 *  - "onednn-bf16": oneDNN's matmul (when alq was built with libdnnl and the
 *    CPU has AVX512-BF16) on operands rounded to bfloat16, accumulating in
 *    float32.  About twice SGEMM's rate on AMD Zen 4; the allowance below is
 *    ~2^-7 relative instead of ~d 2^-23.
 *  - "avx512-f32": alq's own float32 kernel with AVX-512 fused
 *    multiply-adds (core/gemm_avx512.c) on CPUs with AVX-512F; the f32
 *    allowance.  On an Intel Xeon with AVX512-BF16 it ran at ~2x oneDNN's
 *    bf16 rate and ~5x OpenBLAS's when OpenBLAS does not know the CPU.
 *  - "openblas-f32": cblas_sgemm, any OpenBLAS kernel.
 *
 * Unforced, a CPU that can run both fast paths takes the faster on a probe
 * timed once per process (core/gemm_bound.c); one that can run one takes it;
 * else openblas-f32.  ALQ_BOUND_GEMM=openblas-f32 (or onednn-bf16, or
 * avx512-f32) in the environment forces a path; an unavailable forced path
 * falls back to openblas-f32.  The path changes speed only, never a result.
 *
 * The bf16 allowance, proven.  Let u = 2^-8 (bf16 keeps 8 significand bits,
 * round to nearest even), t = 2^-126 (float's smallest normal).  For finite x,
 * y with |x_k|, |y_k| < 2^126:
 *   1. Rounding: x~ = bf16(x) with |x~ - x| <= u |x| + t (the t covers inputs
 *      below t, which the hardware may treat as zero: DAZ).
 *   2. Products of two bf16 values have 16 significand bits, exact in float
 *      unless they fall below t (flushed: FTZ, error < t).  So
 *      |x~ y~ - x y| <= (2u + u^2) |x y| + t (1 + u)(|x| + |y|) + t^2 + t
 *                    <= (2u + u^2) |x y| + 2t (1 + |x| + |y|).
 *   3. Summing the d products in float, in any order and grouping (whatever
 *      the kernel's blocking; a fused two-product step rounds no more often),
 *      adds at most g_d sum |x~ y~| (g_d = d 2^-24 / (1 - d 2^-24)) plus t for
 *      each of the d - 1 sums flushed to zero, and
 *      sum |x~ y~| <= (1 + u)^2 sum |x y| + 2t sum (1 + |x| + |y|).
 *   Hence, with S = sum_k |x_k y_k| <= ||x|| ||y|| and
 *   ||x||_1 + ||y||_1 <= sqrt(d) (||x|| + ||y||):
 *     |bf16 dot - x.y| <= ((2u + u^2) + g_d (1 + u)^2) S
 *                         + 4t (d + sqrt(d) (||x|| + ||y||)),
 *   and alq_dot is within g_{d+1} S + d 2^-149 of x.y (gradual underflow), so
 *   the allowance is the sum of the two.  tests/test_dot.c checks it against
 *   exact (double) products on adversarial data. */
#ifndef ALQ_GEMM_H
#define ALQ_GEMM_H
#include <stdint.h>

#include "alq/error.h"

/* out[i][j] ~ x_i . c_j for i < rows, j < nc; x is rows x d, c is nc x d and
 * out rows x nc (row-major).  OpenBLAS: any rounding, see above. */
void alq_sgemm_nt(const float *x, int64_t rows, int64_t d, const float *c, int64_t nc, float *out);

/* The largest |alq_sgemm_nt entry - alq_dot(x_i, c_j)| can be, given
 * ||x_i|| ||c_j|| <= norm_product: twice the one-sided bound. */
float alq_gemm_allowance(int64_t d, double norm_product);

/* A GEMM against fixed columns c (nc x d, copied as the path needs them) for
 * rows streamed in blocks of at most max_rows, on the fastest path available. */
typedef struct alq_bound_gemm alq_bound_gemm;

alq_err alq_bound_gemm_create(alq_bound_gemm **g, const float *c, int64_t nc, int64_t d, int64_t max_rows);

/* out[i][j] ~ x_i . c_j for i < rows <= max_rows.  out must hold max_rows x nc
 * floats (rows past `rows` are scratch).  Cannot fail: if the fast path
 * reports an error, the call is done by SGEMM (a smaller error, so the
 * allowance still holds). */
void alq_bound_gemm_run(alq_bound_gemm *g, const float *x, int64_t rows, float *out);

/* How alq_bound_gemm_run_filter compares, for --log-view: "in-kernel"
 * (avx512-f32: in registers), else the compare pass's "avx512f" or "scalar". */
const char *alq_bound_gemm_filter_path(const alq_bound_gemm *g);

/* Columns per word of alq_bound_gemm_run_filter's bits. */
#define ALQ_BOUND_GROUP 48

/* The entries of alq_bound_gemm_run(g, x, rows, ...) compared with per-column
 * thresholds instead of returned: for i < rows, j < nc, bit j % 48 of
 * bits[(j / 48) * rows + i] is set when !(out[i][j] * scale[i] < threshold[j])
 * (also when either side is NaN), as alq_bound_filter decides; bits past nc are
 * 0.  bits holds ceil(nc / 48) * rows words.  scratch (max_rows x nc floats)
 * is used by paths that cannot compare in registers (all but avx512-f32).
 * Cannot fail, as alq_bound_gemm_run. */
void alq_bound_gemm_run_filter(alq_bound_gemm *g, const float *x, int64_t rows, const float *scale,
                               const float *threshold, float *scratch, uint64_t *bits);

/* The largest |out[i][j] - alq_dot(x_i, c_j)| can be, given
 * ||x_i|| ||c_j|| <= norm_product and ||x_i|| + ||c_j|| <= norm_sum. */
float alq_bound_gemm_allowance(const alq_bound_gemm *g, double norm_product, double norm_sum);

/* alq_bound_gemm_allowance(g, p, s) is affine in p and s (both paths'
 * bounds above are): terms = {a0, a1, a2} with a0 + a1 p + a2 s >= it for
 * every p, s >= 0, for callers that evaluate it per row. */
void alq_bound_gemm_allowance_terms(const alq_bound_gemm *g, double terms[3]);

/* "onednn-bf16", "avx512-f32" or "openblas-f32". */
const char *alq_bound_gemm_path(const alq_bound_gemm *g);

/* The library's own name for what ran (oneDNN's implementation string, or
 * OpenBLAS's core name), for --log-view. */
const char *alq_bound_gemm_impl(const alq_bound_gemm *g);

void alq_bound_gemm_free(alq_bound_gemm *g);

/* The bound for one dot product on the given path (above), for tests:
 * |path's dot - alq_dot| <= this. */
double alq_bound_gemm_path_allowance(const char *path, int64_t d, double norm_product, double norm_sum);

/* Bound products against at most ALQ_BOUND_SMALL_MAX columns without a GEMM
 * (core/gemm_small.c): rows read in place by index, float32 FMAs, within the
 * "openblas-f32" allowance of alq_bound_gemm_path_allowance.  Where a GEMM
 * library runs far below its peak (a few columns) and its rows would have to
 * be gathered first.
 *   ct: alq_bound_small_width(nc) x d floats, filled by
 *       alq_bound_small_prepare from the nc x d columns c;
 *   out[k * alq_bound_small_width(nc) + j] ~ x_{rows[k]} . c_j for k < m,
 *       j < nc, x's rows d floats apart.
 * alq_bound_small_run returns 0, doing nothing, when this CPU has no such
 * path, or ALQ_BOUND_GEMM forces a GEMM path (alq_bound_small_path() is then
 * NULL), or nc is out of range. */
#define ALQ_BOUND_SMALL_MAX 64
int64_t alq_bound_small_width(int64_t nc);
void alq_bound_small_prepare(const float *c, int64_t nc, int64_t d, float *ct);
int alq_bound_small_run(const float *ct, int64_t nc, int64_t d, const float *x, const int64_t *rows, int64_t m,
                        float *out);
/* "avx512f-f32", or NULL. */
const char *alq_bound_small_path(void);

/* alq_bound_gemm_allowance_terms for a path by name (as
 * alq_bound_gemm_path_allowance takes it). */
void alq_bound_gemm_path_allowance_terms(const char *path, int64_t d, double terms[3]);

/* bf16 of each x[k] (round to nearest even), as the bf16 path rounds them. */
void alq_bf16_round(const float *x, int64_t n, uint16_t *out);

#endif
