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

typedef struct {
  const char *name;
  float (*dot)(const float *, const float *, int64_t);
  void (*rows)(const float *, const float *, int64_t, int64_t, float *);
} dot_path;

/* Fastest first. */
static const dot_path paths[] = {
#if defined(__x86_64__)
    {"avx512f", dot_avx512f, rows_avx512f},
    {"avx2", dot_avx2, rows_avx2},
    {"avx", dot_avx, rows_avx},
    {"sse2", dot_sse2, rows_sse2},
#else
    {"generic", dot_generic, rows_generic},
#endif
};
#define N_PATHS (int)(sizeof paths / sizeof paths[0])

static const dot_path *current;

static const dot_path *path(void) {
  if (!current)
    current = &paths[alq_isa_fastest(paths, sizeof *paths, N_PATHS)];
  return current;
}

float alq_dot(const float *x, const float *y, int64_t d) { return path()->dot(x, y, d); }

void alq_dot_rows(const float *x, const float *c, int64_t nc, int64_t d, float *out) { path()->rows(x, c, nc, d, out); }

const char *alq_dot_path(void) { return path()->name; }

int alq_dot_use_path(const char *name) {
  if (!name) {
    current = NULL; /* the fastest again, chosen on next use */
    return 1;
  }
  int k = alq_isa_named(paths, sizeof *paths, N_PATHS, name);
  if (k >= 0)
    current = &paths[k];
  return k >= 0;
}

const char *alq_dot_path_name(int k) { return k >= 0 && k < N_PATHS ? paths[k].name : NULL; }

double alq_dot_error_bound(int64_t d) {
  const double u = 0x1p-24, n = (double)(d + 1);
  return n * u / (1.0 - n * u);
}
