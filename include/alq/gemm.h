/* alq/gemm.h: SGEMM for bounds, never for values that decide a batch.
 *
 * OpenBLAS rounds an entry of a product differently by kernel (CPU,
 * OPENBLAS_CORETYPE), thread count, and the row's position in the call, so
 * the same row gives other last bits on another shard or machine.  alq uses
 * GEMM's speed only to decide which items need an exact evaluation: a GEMM
 * entry is within alq_dot_error_bound(d) * ||x|| ||c|| of alq_dot's value
 * twice over (both are within that of the exact product), and every value
 * that decides a batch is then recomputed with alq_dot (alq/dot.h). */
#ifndef ALQ_GEMM_H
#define ALQ_GEMM_H
#include <stdint.h>

/* out[i][j] ~ x_i . c_j for i < rows, j < nc; x is rows x d, c is nc x d and
 * out rows x nc (row-major).  Any rounding: see above. */
void alq_sgemm_nt(const float *x, int64_t rows, int64_t d, const float *c, int64_t nc, float *out);

/* The largest |alq_sgemm_nt entry - alq_dot(x_i, c_j)| can be, given
 * ||x_i|| ||c_j|| <= norm_product: twice the one-sided bound. */
float alq_gemm_allowance(int64_t d, double norm_product);

#endif
