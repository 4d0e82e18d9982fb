/* bench/anchoral_sgemm_peak.c: the machine's SGEMM rate, for the AnchorAL
 * retrieval benchmark (bench/anchoral_bench.sh).
 *
 *   anchoral_sgemm_peak [N [REPS]]    (default 4096, 3)
 *
 * Times cblas_sgemm on N x N x N single-precision matrices (row-major, C = A B^T,
 * the shape alq's retrieval uses) and prints the median GFLOP/s over REPS runs
 * after one warm-up.  The thread count is OpenBLAS's: set OPENBLAS_NUM_THREADS.
 * Output: one line "sgemm n=N threads=T gflops=G". */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int openblas_get_num_threads(void);

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 4096, reps = argc > 2 ? atoi(argv[2]) : 3;
  if (n < 1 || reps < 1 || reps > 100) {
    fprintf(stderr, "usage: %s [N [REPS]]\n", argv[0]);
    return 2;
  }
  size_t nn = (size_t)n * (size_t)n;
  /* aligned_alloc's size must be a multiple of the alignment. */
  size_t bytes = (nn * 4 + 63) / 64 * 64;
  float *a = aligned_alloc(64, bytes), *b = aligned_alloc(64, bytes), *c = aligned_alloc(64, bytes);
  if (!a || !b || !c) {
    fprintf(stderr, "out of memory\n");
    return 5;
  }
  unsigned s = 12345;
  for (size_t i = 0; i < nn; i++) {
    s = s * 1103515245u + 12345u;
    a[i] = (float)((s >> 9) & 1023) / 1024.0f - 0.5f;
    b[i] = a[(i * 7919) % nn];
  }
  double *gf = malloc(sizeof *gf * reps);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n); /* warm-up */
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    gf[r] = 2.0 * n * (double)n * n / (now() - t0) / 1e9;
  }
  qsort(gf, reps, sizeof *gf, cmp_double);
  printf("sgemm n=%d threads=%d gflops=%.1f (checksum %g)\n", n, openblas_get_num_threads(), gf[reps / 2],
         (double)c[nn / 3]);
  free(a);
  free(b);
  free(c);
  free(gf);
  return 0;
}
