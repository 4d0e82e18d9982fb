/* bench/gemm_peak.c: the bound GEMM's rate on this machine, per path
 * (alq/gemm.h), for the retrieval and k-center benchmarks.
 *
 *   alq_gemm_peak PATH M N K [REPS]     PATH: onednn-bf16, avx512-f32, openblas-f32, or "" (none forced: the default choice)
 *
 * Times alq_bound_gemm_run on an M x K block against N fixed columns (the
 * retrieval's shape: M rows of a block, N anchors, K = d) REPS times after a
 * warm-up and prints one JSON line: the path that ran (a forced path the CPU
 * or build lacks falls back to openblas-f32), the library's implementation
 * name and the median GFLOP/s.  One thread: run with OMP_NUM_THREADS=1 and
 * OPENBLAS_NUM_THREADS=1 (one rank per core, as alq runs). */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alq/gemm.h"

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static float *filled(size_t n, unsigned seed) {
  float *v = aligned_alloc(64, (n * 4 + 63) / 64 * 64);
  for (size_t i = 0; v && i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    v[i] = (float)((seed >> 9) & 1023) / 1024.0f - 0.5f;
  }
  return v;
}

int main(int argc, char **argv) {
  if (argc < 5 || argc > 6) {
    fprintf(stderr, "usage: %s PATH M N K [REPS]\n", argv[0]);
    return 2;
  }
  long m = atol(argv[2]), n = atol(argv[3]), k = atol(argv[4]), reps = argc > 5 ? atol(argv[5]) : 20;
  if (m < 1 || n < 1 || k < 1 || reps < 1 || reps > 100000) {
    fprintf(stderr, "%s: M, N, K and REPS must be positive\n", argv[0]);
    return 2;
  }
  setenv("ALQ_BOUND_GEMM", argv[1], 1);
  float *x = filled((size_t)m * k, 1), *c = filled((size_t)n * k, 2), *out = filled((size_t)m * n, 3);
  double *gf = malloc(sizeof *gf * reps);
  alq_bound_gemm *g = NULL;
  if (!x || !c || !out || !gf || alq_bound_gemm_create(&g, c, n, k, m)) {
    fprintf(stderr, "%s: out of memory\n", argv[0]);
    return 5;
  }
  alq_bound_gemm_run(g, x, m, out); /* warm-up */
  /* Repeat short calls until each timing covers >= 50 ms. */
  int inner = 1;
  for (double t0 = now(); now() - t0 < 0.05; inner *= 2)
    for (int i = 0; i < inner; i++)
      alq_bound_gemm_run(g, x, m, out);
  for (long r = 0; r < reps; r++) {
    double t0 = now();
    for (int i = 0; i < inner; i++)
      alq_bound_gemm_run(g, x, m, out);
    gf[r] = 2.0 * (double)m * (double)n * (double)k * inner / (now() - t0) / 1e9;
  }
  qsort(gf, reps, sizeof *gf, cmp_double);
  printf("{\"path\": \"%s\", \"impl\": \"%s\", \"m\": %ld, \"n\": %ld, \"k\": %ld, \"gflops\": %.1f, \"checksum\": %g}\n",
         alq_bound_gemm_path(g), alq_bound_gemm_impl(g), m, n, k, gf[reps / 2], (double)out[(size_t)m * n / 3]);
  alq_bound_gemm_free(g);
  free(x);
  free(c);
  free(out);
  free(gf);
  return 0;
}
