/* core/dot.c: the fixed-order dot product (alq/dot.h).
 *
 * Written with GCC vector types of 16 floats: each operation on them is the
 * lane-wise IEEE operation, whatever instructions the target lowers them to,
 * so the AVX-512, AVX2, AVX and SSE2 paths below give bit-identical results;
 * the fastest one the CPU supports is used (tests/test_dot.c runs each one
 * against a scalar reference). */
#include "alq/dot.h"

#include <string.h>

/* Every function taking or returning v16 is inlined into a path below, so
 * GCC's note that a 64-byte vector's calling convention differs between
 * targets does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"
typedef float v16 __attribute__((vector_size(64)));

static inline v16 load16(const float *p) {
  v16 v;
  memcpy(&v, p, sizeof v); /* unaligned load */
  return v;
}

/* The last d % 32 elements, zero-padded: a padded lane adds +0 * +0 = +0,
 * which leaves a lane unchanged (a lane that starts at +0 never becomes -0
 * under round-to-nearest), so padding is the same as skipping. */
static inline void load_tail(const float *x, const float *y, int64_t r, v16 *xa, v16 *xb, v16 *ya, v16 *yb) {
  float bx[32] = {0}, by[32] = {0};
  memcpy(bx, x, sizeof(float) * (size_t)r);
  memcpy(by, y, sizeof(float) * (size_t)r);
  *xa = load16(bx);
  *xb = load16(bx + 16);
  *ya = load16(by);
  *yb = load16(by + 16);
}

static inline float reduce(v16 a, v16 b) {
  float lane[32];
  v16 s = a + b; /* w = 16 */
  memcpy(lane, &s, sizeof s);
  for (int w = 8; w >= 1; w /= 2)
    for (int l = 0; l < w; l++)
      lane[l] = lane[l] + lane[l + w];
  return lane[0];
}

static inline float dot_body(const float *x, const float *y, int64_t d) {
  v16 a = {0}, b = {0};
  int64_t k = 0;
  for (; k + 32 <= d; k += 32) {
    a = a + load16(x + k) * load16(y + k);
    b = b + load16(x + k + 16) * load16(y + k + 16);
  }
  if (k < d) {
    v16 xa, xb, ya, yb;
    load_tail(x + k, y + k, d - k, &xa, &xb, &ya, &yb);
    a = a + xa * ya;
    b = b + xb * yb;
  }
  return reduce(a, b);
}

/* One function pair per instruction set; the attribute only changes which
 * instructions implement the lane-wise operations, never their results. */
#define DOT_PATH(NAME, TARGET)                                                                        \
  __attribute__((target(TARGET))) static float dot_##NAME(const float *x, const float *y, int64_t d) { \
    return dot_body(x, y, d);                                                                         \
  }                                                                                                   \
  __attribute__((target(TARGET))) static void rows_##NAME(const float *x, const float *c, int64_t nc,  \
                                                          int64_t d, float *out) {                    \
    for (int64_t j = 0; j < nc; j++)                                                                  \
      out[j] = dot_body(x, c + j * d, d);                                                             \
  }
#if defined(__x86_64__)
DOT_PATH(avx512f, "avx512f")
DOT_PATH(avx2, "avx2")
DOT_PATH(avx, "avx")
DOT_PATH(sse2, "sse2")
#else
static float dot_generic(const float *x, const float *y, int64_t d) { return dot_body(x, y, d); }
static void rows_generic(const float *x, const float *c, int64_t nc, int64_t d, float *out) {
  for (int64_t j = 0; j < nc; j++)
    out[j] = dot_body(x, c + j * d, d);
}
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

static int path_supported(const char *name) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!strcmp(name, "avx512f"))
    return __builtin_cpu_supports("avx512f");
  if (!strcmp(name, "avx2"))
    return __builtin_cpu_supports("avx2");
  if (!strcmp(name, "avx"))
    return __builtin_cpu_supports("avx");
#endif
  return 1; /* sse2 on every x86-64; the generic path elsewhere */
}

static const dot_path *current;

static const dot_path *path(void) {
  if (!current) {
    int k = 0;
    while (!path_supported(paths[k].name))
      k++;
    current = &paths[k];
  }
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
  for (int k = 0; k < N_PATHS; k++)
    if (!strcmp(paths[k].name, name) && path_supported(name)) {
      current = &paths[k];
      return 1;
    }
  return 0;
}

const char *alq_dot_path_name(int k) { return k >= 0 && k < N_PATHS ? paths[k].name : NULL; }

double alq_dot_error_bound(int64_t d) {
  const double u = 0x1p-24, n = (double)(d + 1);
  return n * u / (1.0 - n * u);
}
