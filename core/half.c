/* core/half.c: binary16 <-> float32 conversions (alq/half.h). */
#include "alq/half.h"
#include "alq/isa.h"

#include <string.h>

static float bits_float(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

static uint32_t float_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

/* The exact float32 of one binary16: sign, exponent (bias 15) and 10-bit
 * fraction moved to float32's fields; a subnormal is normalised first. */
static float half_one(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16, exp = (h >> 10) & 31u, frac = h & 0x3ffu;
  if (exp == 31) /* infinity, or a NaN made quiet */
    return bits_float(sign | 0x7f800000u | (frac ? 0x400000u | frac << 13 : 0));
  if (exp == 0) {
    if (!frac)
      return bits_float(sign);
    exp = 1;
    while (!(frac & 0x400u)) { /* subnormal: shift the leading 1 to bit 10 */
      frac <<= 1;
      exp--;
    }
    frac &= 0x3ffu;
  }
  return bits_float(sign | (exp + 127 - 15) << 23 | frac << 13);
}

/* The binary16 nearest to f, ties to even. */
static uint16_t float_one(float f) {
  uint32_t u = float_bits(f), sign = (u >> 16) & 0x8000u, abs = u & 0x7fffffffu;
  if (abs > 0x7f800000u) /* NaN: quiet, keeping the payload's top bits */
    return (uint16_t)(sign | 0x7e00u | (abs >> 13 & 0x3ffu));
  if (abs >= 0x477ff000u) /* at or past 65520 = the midpoint above 65504: infinity */
    return (uint16_t)(sign | 0x7c00u);
  if (abs < 0x38800000u) { /* below 2^-14: a subnormal (or zero) half */
    if (abs < 0x33000000u) /* at most 2^-25 (half the smallest subnormal, a tie to 0) */
      return (uint16_t)sign;
    uint32_t exp = abs >> 23, mant = (abs & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - exp; /* the units of 2^-24 sit `shift` bits above bit 0 of mant >> 0 */
    uint32_t q = mant >> shift, rest = mant & ((1u << shift) - 1), half_ulp = 1u << (shift - 1);
    q += rest > half_ulp || (rest == half_ulp && (q & 1));
    return (uint16_t)(sign | q);
  }
  /* normal: rebias the exponent, round the 13 dropped fraction bits */
  uint32_t q = (abs - 0x38000000u) >> 13, rest = abs & 0x1fffu;
  q += rest > 0x1000u || (rest == 0x1000u && (q & 1)); /* a carry into the exponent is right */
  return (uint16_t)(sign | q);
}

static void to_float_scalar(const uint16_t *h, float *f, int64_t n) {
  for (int64_t i = n - 1; i >= 0; i--)
    f[i] = half_one(h[i]);
}

static void to_half_scalar(const float *f, uint16_t *h, int64_t n) {
  for (int64_t i = 0; i < n; i++)
    h[i] = float_one(f[i]);
}

#if defined(__x86_64__)
#include <immintrin.h>

/* Back to front in whole vectors after the tail: block i reads halves
 * [2i, 2i + 2W) bytes and writes floats [4i, 4i + 4W), and every later block
 * wrote at or above 4(i + W) > 2i + 2W, so in place is safe. */
__attribute__((target("avx512f"))) static void to_float_avx512f(const uint16_t *h, float *f, int64_t n) {
  int64_t full = n - n % 16;
  to_float_scalar(h + full, f + full, n - full);
  for (int64_t i = full - 16; i >= 0; i -= 16)
    _mm512_storeu_ps(f + i, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i))));
}

__attribute__((target("avx512f"))) static void to_half_avx512f(const float *f, uint16_t *h, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    _mm256_storeu_si256((__m256i *)(h + i),
                        _mm512_cvtps_ph(_mm512_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  to_half_scalar(f + i, h + i, n - i);
}

__attribute__((target("avx,f16c"))) static void to_float_f16c(const uint16_t *h, float *f, int64_t n) {
  int64_t full = n - n % 8;
  to_float_scalar(h + full, f + full, n - full);
  for (int64_t i = full - 8; i >= 0; i -= 8)
    _mm256_storeu_ps(f + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i))));
}

__attribute__((target("avx,f16c"))) static void to_half_f16c(const float *f, uint16_t *h, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm_storeu_si128((__m128i *)(h + i),
                     _mm256_cvtps_ph(_mm256_loadu_ps(f + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  to_half_scalar(f + i, h + i, n - i);
}
#endif

typedef struct {
  const char *name;
  void (*to_float)(const uint16_t *, float *, int64_t);
  void (*to_half)(const float *, uint16_t *, int64_t);
} half_path;

/* Fastest first. */
static const half_path paths[] = {
#if defined(__x86_64__)
    {"avx512f", to_float_avx512f, to_half_avx512f},
    {"f16c", to_float_f16c, to_half_f16c},
#endif
    {"scalar", to_float_scalar, to_half_scalar},
};
static alq_isa_paths choice = ALQ_ISA_PATHS(paths);

static const half_path *path(void) { return &paths[alq_isa_current(&choice)]; }

void alq_half_to_float(const uint16_t *h, float *f, int64_t n) { path()->to_float(h, f, n); }

void alq_float_to_half(const float *f, uint16_t *h, int64_t n) { path()->to_half(f, h, n); }

const char *alq_half_path(void) { return path()->name; }

const char *alq_half_path_name(int k) { return alq_isa_path_name(&choice, k); }

int alq_half_use_path(const char *name) { return alq_isa_use(&choice, name); }
