/* bench/triad.c: single-core memory bandwidth, STREAM-like.
 *
 * Two measurements on arrays far larger than any cache, best of several
 * repetitions (the STREAM convention: the best repetition is the least
 * disturbed one):
 *
 *   triad  a[i] = b[i] + s * c[i]   on doubles; bytes = 3 arrays x n x 8
 *          (STREAM counts what the program names, not the write-allocate
 *          read of `a` the hardware may add).
 *   read   sum of b[i] with 16 independent accumulators; bytes = n x 8.
 *          A k-center step mostly reads (it streams the candidate rows once
 *          and writes a small min-distance vector), so this is the closer
 *          reference for it.
 *
 * One thread: one MPI rank of alq is one core.
 *
 * Usage: alq_triad [--mb MB_PER_ARRAY] [--reps R]
 * Output (stdout): human lines, then machine-readable key=value lines
 *   triad_bytes_per_s=<double>
 *   read_bytes_per_s=<double>
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xalloc(size_t bytes) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes) != 0) {
    fprintf(stderr, "alq_triad: cannot allocate %zu bytes\n", bytes);
    exit(1);
  }
  return p;
}

/* Kept out of line so the compiler cannot merge repetitions. */
__attribute__((noinline)) static void triad(double *restrict a, const double *restrict b,
                                            const double *restrict c, double s, size_t n) {
  for (size_t i = 0; i < n; i++) a[i] = b[i] + s * c[i];
}

__attribute__((noinline)) static double read_sum(const double *restrict b, size_t n) {
  double acc[16] = {0};
  size_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int k = 0; k < 16; k++) acc[k] += b[i + (size_t)k];
  for (; i < n; i++) acc[0] += b[i];
  double s = 0.0;
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}

int main(int argc, char **argv) {
  double mb = 160.0; /* per array: 3 x 160 MB, ~100x a typical L3 slice */
  int reps = 10;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--mb") && i + 1 < argc) {
      mb = atof(argv[++i]);
    } else if (!strcmp(argv[i], "--reps") && i + 1 < argc) {
      reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      printf("usage: alq_triad [--mb MB_PER_ARRAY (160)] [--reps R (10)]\n");
      return 0;
    } else {
      fprintf(stderr, "alq_triad: unknown argument '%s'\n", argv[i]);
      return 2;
    }
  }
  if (mb < 1.0 || reps < 1) {
    fprintf(stderr, "alq_triad: need --mb >= 1 and --reps >= 1\n");
    return 2;
  }
  size_t n = (size_t)(mb * 1e6 / sizeof(double));
  double *a = xalloc(n * sizeof(double));
  double *b = xalloc(n * sizeof(double));
  double *c = xalloc(n * sizeof(double));
  /* First touch: page faults stay out of the timed loops. */
  for (size_t i = 0; i < n; i++) {
    a[i] = 0.0;
    b[i] = 1.0 + 1e-9 * (double)(i & 1023);
    c[i] = 2.0;
  }

  double best_triad = 1e300, best_read = 1e300, sink = 0.0;
  for (int r = 0; r < reps; r++) {
    double t0 = now();
    triad(a, b, c, 3.0, n);
    double t1 = now();
    sink += read_sum(b, n);
    double t2 = now();
    sink += a[(size_t)r % n];
    if (t1 - t0 < best_triad) best_triad = t1 - t0;
    if (t2 - t1 < best_read) best_read = t2 - t1;
  }
  double triad_bps = 3.0 * (double)n * sizeof(double) / best_triad;
  double read_bps = (double)n * sizeof(double) / best_read;
  printf("alq_triad: %zu doubles per array (%.0f MB), best of %d, one thread\n", n,
         (double)n * sizeof(double) / 1e6, reps);
  printf("triad  a=b+s*c : %8.2f GB/s  (3 arrays counted, STREAM convention)\n", triad_bps / 1e9);
  printf("read   sum(b)  : %8.2f GB/s\n", read_bps / 1e9);
  printf("triad_bytes_per_s=%.6e\n", triad_bps);
  printf("read_bytes_per_s=%.6e\n", read_bps);
  /* Keeps the sums live; never true for these inputs. */
  if (sink == 42.0) printf("#\n");
  free(a);
  free(b);
  free(c);
  return 0;
}
