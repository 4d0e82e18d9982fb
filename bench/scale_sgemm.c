/* bench/scale_sgemm.c: the machine's SGEMM rate, the ceiling for AnchorAL's
 * retrieval (docs/benchmarks.md, "Billion-item pools").
 *
 * Times C = A B^T with OpenBLAS in the shapes retrieval uses (256 rows x A
 * anchors x d) and a large square one, best of several repetitions.  Threads:
 * OPENBLAS_NUM_THREADS (one rank = one thread in alq).
 *
 * Usage: alq_scale_sgemm [--n 4096] [--anchors 1000] [--dim 32] [--reps 5]
 * Output: key=value lines (sgemm_square_gflops, sgemm_retrieval_gflops).
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *fill(size_t n) {
  float *p = NULL;
  if (posix_memalign((void **)&p, 64, n * sizeof *p) != 0) {
    fprintf(stderr, "alq_scale_sgemm: out of memory\n");
    exit(1);
  }
  for (size_t i = 0; i < n; i++)
    p[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
  return p;
}

int main(int argc, char **argv) {
  int n = 4096, anchors = 1000, dim = 32, reps = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--n")) n = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--anchors")) anchors = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--dim")) dim = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: alq_scale_sgemm [--n N] [--anchors A] [--dim D] [--reps R]\n");
      return 2;
    }
  }
  float *a = fill((size_t)n * n), *b = fill((size_t)n * n), *c = fill((size_t)n * n);
  double best = 1e300;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double t = now() - t0;
    best = t < best ? t : best;
  }
  double square = 2.0 * n * (double)n * n / best / 1e9;
  /* Retrieval's shape: blocks of 256 pool rows against every anchor, over
   * enough rows (2^18) to leave the caches. */
  const int rows = 1 << 18, block = 256;
  float *x = fill((size_t)rows * dim), *an = fill((size_t)anchors * dim), *sim = fill((size_t)block * anchors);
  best = 1e300;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    for (int i0 = 0; i0 < rows; i0 += block)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, block, anchors, dim, 1.0f, x + (size_t)i0 * dim, dim, an,
                  dim, 0.0f, sim, anchors);
    double t = now() - t0;
    best = t < best ? t : best;
  }
  double retr = 2.0 * rows * (double)anchors * dim / best / 1e9;
  printf("sgemm %dx%dx%d: %.1f GFLOP/s; retrieval shape 256x%dx%d: %.1f GFLOP/s\n", n, n, n, square, anchors, dim,
         retr);
  printf("sgemm_square_gflops=%.2f\nsgemm_retrieval_gflops=%.2f\n", square, retr);
  free(a);
  free(b);
  free(c);
  free(x);
  free(an);
  free(sim);
  return 0;
}
