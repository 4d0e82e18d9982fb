/* core/bound_filter.c: the threshold scan over bound-GEMM values (alq/bound_filter.h).
 *
 * The compare is "not less than, unordered" (_CMP_NLT_UQ): true when
 * approx * scale >= threshold or either side is NaN, as !(a * s < t) is in C.
 * Most 16-wide blocks have no passing element (a list's floor rises fast), so
 * the vector paths test a block with one compare and walk its mask bits only
 * when one is set.  tests/test_bound_filter.c runs each path against the
 * scalar one. */
#include "alq/bound_filter.h"
#include "alq/isa.h"


/* The definition, for j in [j0, n): also every vector path's tail. */
static int64_t filter_from(const float *approx, float scale, const float *th, int64_t j0, int64_t n, int32_t *out) {
  int64_t m = 0;
  for (int64_t j = j0; j < n; j++)
    if (!(approx[j] * scale < th[j]))
      out[m++] = (int32_t)j;
  return m;
}

static int64_t filter_scalar(const float *approx, float scale, const float *th, int64_t n, int32_t *out) {
  return filter_from(approx, scale, th, 0, n, out);
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static int64_t filter_avx512f(const float *approx, float scale, const float *th,
                                                                  int64_t n, int32_t *out) {
  const __m512 s = _mm512_set1_ps(scale);
  int64_t m = 0, j = 0;
  for (; j + 16 <= n; j += 16) {
    __m512 p = _mm512_mul_ps(_mm512_loadu_ps(approx + j), s);
    unsigned bits = _mm512_cmp_ps_mask(p, _mm512_loadu_ps(th + j), _CMP_NLT_UQ);
    for (; bits; bits &= bits - 1)
      out[m++] = (int32_t)(j + __builtin_ctz(bits));
  }
  return m + filter_from(approx, scale, th, j, n, out + m);
}

__attribute__((target("avx2"))) static int64_t filter_avx2(const float *approx, float scale, const float *th,
                                                            int64_t n, int32_t *out) {
  const __m256 s = _mm256_set1_ps(scale);
  int64_t m = 0, j = 0;
  for (; j + 8 <= n; j += 8) {
    __m256 p = _mm256_mul_ps(_mm256_loadu_ps(approx + j), s);
    unsigned bits = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(p, _mm256_loadu_ps(th + j), _CMP_NLT_UQ));
    for (; bits; bits &= bits - 1)
      out[m++] = (int32_t)(j + __builtin_ctz(bits));
  }
  return m + filter_from(approx, scale, th, j, n, out + m);
}
#endif

typedef struct {
  const char *name;
  int64_t (*run)(const float *, float, const float *, int64_t, int32_t *);
} filter_path;

/* Fastest first. */
static const filter_path paths[] = {
#if defined(__x86_64__)
    {"avx512f", filter_avx512f},
    {"avx2", filter_avx2},
#endif
    {"scalar", filter_scalar},
};

static alq_isa_paths choice = ALQ_ISA_PATHS(paths);

static const filter_path *path(void) { return &paths[alq_isa_current(&choice)]; }

int64_t alq_bound_filter(const float *approx, float scale, const float *threshold, int64_t n, int32_t *out) {
  return path()->run(approx, scale, threshold, n, out);
}

const char *alq_bound_filter_path(void) { return path()->name; }

const char *alq_bound_filter_path_name(int k) { return alq_isa_path_name(&choice, k); }

int alq_bound_filter_use_path(const char *name) { return alq_isa_use(&choice, name); }
