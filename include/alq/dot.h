/* alq/dot.h: float dot products with one summation order on every CPU.
 *
 * Every value that decides a batch (a k-center distance, an AnchorAL
 * similarity, a model's activations) is a dot product, and BLAS gives no
 * promise about the order it sums in: OpenBLAS picks a kernel by CPU
 * (OPENBLAS_CORETYPE), by thread count, and inside SGEMM by a row's position
 * in the call, and each order rounds differently.  alq_dot fixes the order:
 *
 *   lanes l = 0..31 start at +0; element k is added to lane k mod 32, in
 *   increasing k, as fl(acc[l] + fl(x[k] * y[k]));
 *   then acc[l] = fl(acc[l] + acc[l + w]) for w = 16, 8, 4, 2, 1 (l < w);
 *   the result is acc[0].
 *
 * Products and sums are separately rounded IEEE binary32 operations (no fused
 * multiply-add: the library is built with -ffp-contract=off), so the result is
 * a function of x and y alone: not of their addresses, the CPU, the vector
 * width the fast path uses, or BLAS.  The fast paths (AVX-512, AVX2, AVX,
 * SSE2) are chosen at run time; each computes the lanes above exactly.
 *
 * GEMM (OpenBLAS, any kernel) is still used where only a bound is needed:
 * alq_dot_error_bound says how far any float dot product, in any order, can
 * be from the exact one. */
#ifndef ALQ_DOT_H
#define ALQ_DOT_H
#include <stdint.h>

/* x . y in the fixed order above; d >= 0. */
float alq_dot(const float *x, const float *y, int64_t d);

/* out[j] = alq_dot(x, c + j d, d) for j < nc (c is nc x d, row-major). */
void alq_dot_rows(const float *x, const float *c, int64_t nc, int64_t d, float *out);

/* alq_dot(widened x, y, d) for x in IEEE binary16 (alq/half.h), bit for
 * bit; the AVX-512 path widens as it loads, the others widen x into
 * scratch (d floats) first. */
float alq_dot_half(const uint16_t *x, const float *y, int64_t d, float *scratch);

/* out[i] = alq_dot_half(x + i d, y, d, scratch) for i < n (x is n x d). */
void alq_dot_half_rows(const uint16_t *x, const float *y, int64_t n, int64_t d, float *out, float *scratch);

/* The instruction-set path in use ("avx512f", "avx2", "avx", "sse2"): the
 * fastest the CPU supports, for --log-view. */
const char *alq_dot_path(void);

/* The k-th path's name, fastest first (k from 0), NULL past the last. */
const char *alq_dot_path_name(int k);

/* Uses the named path from now on (NULL: the fastest again); 0 when this CPU
 * cannot run it.  For tests, which run every path against one reference.
 * Not thread-safe: call before work. */
int alq_dot_use_path(const char *name);

/* gamma such that, for any summation order of d float products (BLAS's,
 * alq_dot's), |computed - exact| <= gamma * sum_k |x_k y_k|
 * <= gamma * ||x|| ||y||: gamma_d = d u / (1 - d u), u = 2^-24, with d
 * raised by one for the product's rounding. */
double alq_dot_error_bound(int64_t d);

#endif
