/* core/dot.c: the fixed-order dot product (alq/dot.h).
 *
 * Written with GCC vector types: each operation on them is the lane-wise
 * IEEE operation, whatever instructions implement it, so the AVX-512, AVX2,
 * AVX and SSE2 paths below give bit-identical results; the fastest one the
 * CPU supports is used (tests/test_dot.c runs each one against a scalar
 * reference).
 *
 * Each path keeps the 32 lanes in 32/W native vectors of W floats (lane l in
 * vector l / W at position l % W), so GCC maps them to that instruction set's
 * registers.  The halving tree adds whole vectors while w >= W (lanes l and
 * l + w sit at the same position of vectors l / W and (l + w) / W), then
 * halves of the last vector, then its last four lanes one by one. */
#include "alq/dot.h"
#include "alq/half.h"
#include "alq/isa.h"

#include <string.h>

#pragma GCC diagnostic ignored "-Wpsabi" /* vectors never cross a call: everything below is inlined */

typedef float v8 __attribute__((vector_size(32)));
typedef float v4 __attribute__((vector_size(16)));

#if defined(__x86_64__)
#define DOT_ATTR(T) __attribute__((target(T)))
#else
#define DOT_ATTR(T)
#endif

/* lane[0, w) += lane[w, 2w): one vector add of w floats (VT holds w). */
#define DOT_HALVE(lane, VT, w)              \
  do {                                      \
    VT lo_, hi_;                            \
    memcpy(&lo_, (lane), sizeof lo_);       \
    memcpy(&hi_, (lane) + (w), sizeof hi_); \
    lo_ = lo_ + hi_;                        \
    memcpy((lane), &lo_, sizeof lo_);       \
  } while (0)

/* partial_NAME(p, r): the vector of W elements at p of which only the first
 * r (< W) exist, the rest +0 (masked loads, which never touch the missing
 * elements).  A lane that adds +0 * +0 = +0 is unchanged (a lane starts at +0
 * and never becomes -0 under round-to-nearest), so padding equals skipping. */
#if defined(__x86_64__)
#include <immintrin.h>

DOT_ATTR("avx512f") static inline __m512 partial_avx512f(const float *p, int64_t r) {
  return _mm512_maskz_loadu_ps((__mmask16)((1u << r) - 1), p);
}

/* Lane i of the mask at ones + 8 - r is set for i < r. */
static const int32_t mask_ones[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

DOT_ATTR("avx") static inline __m256 partial_avx(const float *p, int64_t r) {
  return _mm256_maskload_ps(p, _mm256_loadu_si256((const __m256i *)(mask_ones + 8 - r)));
}

DOT_ATTR("avx2") static inline __m256 partial_avx2(const float *p, int64_t r) {
  return _mm256_maskload_ps(p, _mm256_loadu_si256((const __m256i *)(mask_ones + 8 - r)));
}
#endif

/* SSE2 has no masked load: through a zeroed buffer. */
static inline v4 partial_buffered(const float *p, int64_t r) {
  float b[4] = {0};
  memcpy(b, p, sizeof(float) * (size_t)r);
  v4 v;
  memcpy(&v, b, sizeof v);
  return v;
}
#define partial_sse2 partial_buffered
#define partial_generic partial_buffered

#define DOT_PATH(NAME, TARGET, W, ROWS)                                                                         \
  typedef float vec_##NAME __attribute__((vector_size(4 * (W))));                                         \
  DOT_ATTR(TARGET) __attribute__((always_inline)) static inline vec_##NAME load_##NAME(const float *p) { \
    vec_##NAME v;                                                                                         \
    memcpy(&v, p, sizeof v);                                                                              \
    return v;                                                                                             \
  }                                                                                                       \
  /* The 32 lanes of x . c_q for q < R at once: x's loads are shared and the  \
   * R x N chains are independent, while each c_q's lanes take exactly the    \
   * order of a single dot product. */                                         \
  DOT_ATTR(TARGET) __attribute__((always_inline)) static inline void lanes_##NAME(                        \
      const float *x, const float *c, int64_t d, int R, vec_##NAME acc[][32 / (W)]) {                     \
    enum { N = 32 / (W) };                                                                                \
    for (int q = 0; q < R; q++)                                                                           \
      for (int j = 0; j < N; j++)                                                                         \
        acc[q][j] = (vec_##NAME){0};                                                                      \
    int64_t k = 0;                                                                                        \
    for (; k + 32 <= d; k += 32)                                                                          \
      for (int j = 0; j < N; j++) {                                                                       \
        vec_##NAME xv = load_##NAME(x + k + j * (W));                                                     \
        for (int q = 0; q < R; q++)                                                                       \
          acc[q][j] = acc[q][j] + xv * load_##NAME(c + q * d + k + j * (W));                              \
      }                                                                                                   \
    for (int j = 0; j < N && k + j * (W) < d; j++) {                                                      \
      int64_t at = k + j * (W), r = d - at;                                                               \
      vec_##NAME xv = r >= (W) ? load_##NAME(x + at) : (vec_##NAME)partial_##NAME(x + at, r);             \
      for (int q = 0; q < R; q++)                                                                         \
        acc[q][j] = acc[q][j] + xv * (r >= (W) ? load_##NAME(c + q * d + at)                              \
                                               : (vec_##NAME)partial_##NAME(c + q * d + at, r));          \
    }                                                                                                     \
  }                                                                                                       \
  DOT_ATTR(TARGET) __attribute__((always_inline)) static inline float reduce_##NAME(vec_##NAME *acc) {    \
    enum { N = 32 / (W) };                                                                                \
    for (int n = N / 2; n >= 1; n /= 2)                                                                   \
      for (int j = 0; j < n; j++)                                                                         \
        acc[j] = acc[j] + acc[j + n];                                                                     \
    float lane[W];                                                                                        \
    memcpy(lane, &acc[0], sizeof lane);                                                                   \
    if ((W) >= 16)                                                                                        \
      DOT_HALVE(lane, v8, 8);                                                                             \
    if ((W) >= 8)                                                                                         \
      DOT_HALVE(lane, v4, 4);                                                                             \
    return (lane[0] + lane[2]) + (lane[1] + lane[3]);                                                     \
  }                                                                                                       \
  DOT_ATTR(TARGET) static float dot_##NAME(const float *x, const float *y, int64_t d) {                   \
    vec_##NAME acc[1][32 / (W)];                                                                          \
    lanes_##NAME(x, y, d, 1, acc);                                                                        \
    return reduce_##NAME(acc[0]);                                                                         \
  }                                                                                                       \
  DOT_ATTR(TARGET) static void rows_##NAME(const float *x, const float *c, int64_t nc, int64_t d,         \
                                           float *out) {                                                  \
    vec_##NAME acc[ROWS][32 / (W)];                                                                       \
    int64_t j = 0;                                                                                        \
    for (; j + ROWS <= nc; j += ROWS) {                                                                   \
      lanes_##NAME(x, c + j * d, d, ROWS, acc);                                                           \
      for (int q = 0; q < ROWS; q++)                                                                      \
        out[j + q] = reduce_##NAME(acc[q]);                                                               \
    }                                                                                                     \
    for (; j < nc; j++) {                                                                                 \
      lanes_##NAME(x, c + j * d, d, 1, acc);                                                              \
      out[j] = reduce_##NAME(acc[0]);                                                                     \
    }                                                                                                     \
  }

#if defined(__x86_64__)
DOT_PATH(avx512f, "avx512f", 16, 4)
DOT_PATH(avx2, "avx2", 8, 2)
DOT_PATH(avx, "avx", 8, 2)
DOT_PATH(sse2, "sse2", 4, 1)
#else
DOT_PATH(generic, "", 4, 1)
#endif

/* x . y with x in binary16 (alq/half.h), widened as it is loaded: the same
 * lanes and order as dot_avx512f on the widened row (widening is exact), so
 * the same float; one pass over 2 bytes a value instead of a widened copy.
 * A vector's missing tail halves are +0 from a zeroed buffer, as the float
 * path's masked loads give +0. */
#if defined(__x86_64__)
DOT_ATTR("avx512f") static inline vec_avx512f half_avx512f(const uint16_t *p, int64_t r) {
  uint16_t b[16] = {0};
  if (r < 16)
    memcpy(b, p, sizeof *p * (size_t)r);
  __m512 v = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(r < 16 ? b : p)));
  vec_avx512f out;
  memcpy(&out, &v, sizeof out);
  return out;
}

/* The lanes of x_q . y for the R rows x_q = x + q d at once: y's loads are
 * shared and the R chains independent, each in the single dot's order. */
DOT_ATTR("avx512f") __attribute__((always_inline)) static inline void half_lanes_avx512f(
    const uint16_t *x, const float *y, int64_t d, int R, vec_avx512f acc[][2]) {
  for (int q = 0; q < R; q++)
    acc[q][0] = acc[q][1] = (vec_avx512f){0};
  int64_t k = 0;
  for (; k + 32 <= d; k += 32)
    for (int j = 0; j < 2; j++) {
      vec_avx512f yv = load_avx512f(y + k + 16 * j);
      for (int q = 0; q < R; q++)
        acc[q][j] = acc[q][j] + half_avx512f(x + q * d + k + 16 * j, 16) * yv;
    }
  for (int j = 0; j < 2 && k + 16 * j < d; j++) {
    int64_t at = k + 16 * j, r = d - at;
    vec_avx512f yv = r >= 16 ? load_avx512f(y + at) : (vec_avx512f)partial_avx512f(y + at, r);
    for (int q = 0; q < R; q++)
      acc[q][j] = acc[q][j] + half_avx512f(x + q * d + at, r) * yv;
  }
}

DOT_ATTR("avx512f") static float dot_half_avx512f(const uint16_t *x, const float *y, int64_t d, float *scratch) {
  (void)scratch;
  vec_avx512f acc[1][2];
  half_lanes_avx512f(x, y, d, 1, acc);
  return reduce_avx512f(acc[0]);
}

/* Four rows at a time: a row of 2 bytes a value is too short for one chain
 * to keep enough loads in flight to stream at the memory's rate; and the
 * rows PREFETCH_ROWS ahead are asked for while these are summed. */
#define PREFETCH_ROWS 16
DOT_ATTR("avx512f") static void half_rows_avx512f(const uint16_t *x, const float *y, int64_t n, int64_t d,
                                                  float *out, float *scratch) {
  (void)scratch;
  vec_avx512f acc[4][2];
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const char *ahead = (const char *)(x + (i + PREFETCH_ROWS) * d), *end = (const char *)(x + n * d);
    for (int64_t b = 0; b < 4 * d * 2 && ahead + b < end; b += 64)
      _mm_prefetch(ahead + b, _MM_HINT_T0);
    half_lanes_avx512f(x + i * d, y, d, 4, acc);
    for (int q = 0; q < 4; q++)
      out[i + q] = reduce_avx512f(acc[q]);
  }
  for (; i < n; i++) {
    half_lanes_avx512f(x + i * d, y, d, 1, acc);
    out[i] = reduce_avx512f(acc[0]);
  }
}
#endif

/* Elsewhere: the row widened into scratch, then the float path. */
static float dot_half_widened(const uint16_t *x, const float *y, int64_t d, float *scratch) {
  alq_half_to_float(x, scratch, d);
  return alq_dot(scratch, y, d);
}

static void half_rows_widened(const uint16_t *x, const float *y, int64_t n, int64_t d, float *out, float *scratch) {
  for (int64_t i = 0; i < n; i++)
    out[i] = dot_half_widened(x + i * d, y, d, scratch);
}

typedef struct {
  const char *name;
  float (*dot)(const float *, const float *, int64_t);
  void (*rows)(const float *, const float *, int64_t, int64_t, float *);
  float (*dot_half)(const uint16_t *, const float *, int64_t, float *);
  void (*half_rows)(const uint16_t *, const float *, int64_t, int64_t, float *, float *);
} dot_path;

/* Fastest first. */
static const dot_path paths[] = {
#if defined(__x86_64__)
    {"avx512f", dot_avx512f, rows_avx512f, dot_half_avx512f, half_rows_avx512f},
    {"avx2", dot_avx2, rows_avx2, dot_half_widened, half_rows_widened},
    {"avx", dot_avx, rows_avx, dot_half_widened, half_rows_widened},
    {"sse2", dot_sse2, rows_sse2, dot_half_widened, half_rows_widened},
#else
    {"generic", dot_generic, rows_generic, dot_half_widened, half_rows_widened},
#endif
};
static alq_isa_paths choice = ALQ_ISA_PATHS(paths);

static const dot_path *path(void) { return &paths[alq_isa_current(&choice)]; }

float alq_dot(const float *x, const float *y, int64_t d) { return path()->dot(x, y, d); }

void alq_dot_rows(const float *x, const float *c, int64_t nc, int64_t d, float *out) { path()->rows(x, c, nc, d, out); }

float alq_dot_half(const uint16_t *x, const float *y, int64_t d, float *scratch) {
  return path()->dot_half(x, y, d, scratch);
}

void alq_dot_half_rows(const uint16_t *x, const float *y, int64_t n, int64_t d, float *out, float *scratch) {
  path()->half_rows(x, y, n, d, out, scratch);
}

const char *alq_dot_path(void) { return path()->name; }

int alq_dot_use_path(const char *name) { return alq_isa_use(&choice, name); }

const char *alq_dot_path_name(int k) { return alq_isa_path_name(&choice, k); }

double alq_dot_error_bound(int64_t d) {
  const double u = 0x1p-24, n = (double)(d + 1);
  return n * u / (1.0 - n * u);
}
