/* alq/bound_filter.h: which approximate values could pass a threshold.
 *
 * A bound GEMM (alq/gemm.h) gives approximate similarities; only those not
 * below a per-column threshold (the floor of what can still enter a list,
 * minus the GEMM's allowance) are worth an exact evaluation.  Scanning a
 * block of rows x columns with one scalar compare each took ~30% of the
 * AnchorAL retrieval (A = 1000 anchors: 10^9 compares for 10^6 rows), so the
 * scan has vector paths, chosen at run time by what the CPU offers, as
 * alq_dot's are.  Every path computes, per element, the same IEEE binary32
 * product and the same compare as the scalar definition below, so the
 * indices are the same on every CPU. */
#ifndef ALQ_BOUND_FILTER_H
#define ALQ_BOUND_FILTER_H
#include <stdint.h>

/* Writes to out, in increasing order, every j < n with
 * !(approx[j] * scale < threshold[j]) (so a NaN passes: it gets the exact
 * evaluation), and returns how many; out holds n. */
int64_t alq_bound_filter(const float *approx, float scale, const float *threshold, int64_t n, int32_t *out);

/* The instruction-set path in use ("avx512f", "avx2", "scalar"). */
const char *alq_bound_filter_path(void);

/* The k-th path's name, fastest first (k from 0), NULL past the last. */
const char *alq_bound_filter_path_name(int k);

/* Uses the named path from now on (NULL: the fastest again); 0 when this CPU
 * cannot run it.  For tests.  Not thread-safe: call before work. */
int alq_bound_filter_use_path(const char *name);

#endif
