/* alq/gemm.h: SGEMM whose entries do not depend on where a row sits.
 *
 * OpenBLAS picks its kernels by the shape of a call: with few rows, some
 * entries are computed with different rounding than in a tall call.  A row's
 * products with a fixed set of columns are bit-identical only across calls of
 * the same shape, and shard boundaries decide how many rows a rank's last
 * block has.  So alq multiplies blocks of exactly ALQ_GEMM_ROWS rows, padding a
 * short block with zero rows (tests/test_blas_determinism.c checks the result).
 */
#ifndef ALQ_GEMM_H
#define ALQ_GEMM_H
#include <stdint.h>

#define ALQ_GEMM_ROWS 256

/* out[i][j] = x_i . c_j for i < rows (<= ALQ_GEMM_ROWS), j < nc; x is rows x d,
 * c is nc x d (row-major).  `out` holds ALQ_GEMM_ROWS x nc floats (rows past
 * `rows` are scratch); `pad` holds ALQ_GEMM_ROWS x d floats of scratch. */
void alq_sgemm_nt_block(const float *x, int64_t rows, int64_t d, const float *c, int64_t nc, float *out, float *pad);

#endif
