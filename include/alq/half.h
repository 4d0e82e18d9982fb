/* alq/half.h: IEEE binary16 ("float16", numpy's float16, h5py's IEEE half)
 * rows converted to and from the float32 alq computes with.
 *
 * A float16 pool holds half the bytes of a float32 one, so every pass over
 * its rows moves half as much memory.  Each binary16 value is exactly a
 * float32 value, so widening is exact and the batch of a float16 pool is the
 * batch of its float32 copy, bit for bit: the arithmetic (alq/dot.h) sees
 * the same floats.  Narrowing rounds to nearest, ties to even (as numpy's
 * astype(float16)); it is exact on values that came from binary16.
 *
 * The fast paths (AVX-512F's 16-wide and F16C's 8-wide conversions) are
 * chosen at run time; each gives the scalar path's bits (tests/test_half.c
 * checks every one of the 65,536 halves against the format's closed form). */
#ifndef ALQ_HALF_H
#define ALQ_HALF_H
#include <stdint.h>

/* f[i] = h[i] as float for i < n.  In place is allowed: f may start where h
 * starts (the conversion runs back to front, so no half is overwritten before
 * it is read).  NaNs come out quiet. */
void alq_half_to_float(const uint16_t *h, float *f, int64_t n);

/* h[i] = f[i] rounded to the nearest binary16, ties to even (overflow to
 * infinity) for i < n.  h and f must not overlap. */
void alq_float_to_half(const float *f, uint16_t *h, int64_t n);

/* The conversion path in use ("avx512f", "f16c", "scalar"): the fastest the
 * CPU supports, for --log-view. */
const char *alq_half_path(void);

/* The k-th path's name, fastest first, NULL past the last; and, for tests,
 * use the named one from now on (NULL: the fastest again; 0 when this CPU
 * cannot run it).  Not thread-safe: call before work. */
const char *alq_half_path_name(int k);
int alq_half_use_path(const char *name);

#endif
