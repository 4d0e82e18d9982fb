/* cluster/fixed.h: the fixed-point scale of cluster/'s exact sums (private).
 *
 * A sum of n values of magnitude at most max_abs is taken exactly as a sum of
 * int64 integers round(v x 2^f): f = 62 - e - b, with max_abs < 2^e and
 * n <= 2^b, makes every term at most 2^(62 - b) in magnitude and the sum at
 * most 2^62, so nothing overflows.  f is a function of the global maximum and
 * the global count only, the same on every rank. */
#ifndef ALQ_CLUSTER_FIXED_H
#define ALQ_CLUSTER_FIXED_H
#include <math.h>
#include <stdint.h>

static inline int alq_fixed_shift(double max_abs, int64_t n) {
  int e = 0;
  frexp(max_abs, &e); /* max_abs = m 2^e, 0.5 <= m < 1 */
  int b = 0;
  while (b < 62 && ((int64_t)1 << b) < n)
    b++;
  return 62 - e - b;
}

#endif
