/* bench/scale_genrate.c: rows per second of the `gen:` source (alq/gen.h), one
 * core, in the block size a worker reads: the per-row cost of a generated pool
 * that no disk can hide (docs/benchmarks.md, "Billion-item pools").
 *
 * Usage: alq_scale_genrate [--items 1000000] [--dim 32] [--classes 10] [--block 8192]
 * Output: key=value lines: gen_rows_per_s (embeddings + probs + labels, what
 * a file's AnchorAL pass reads) and gen_emb_rows_per_s (embeddings only, what
 * AnchorAL's pass computes over a gen: source, docs/design.md "Streaming").
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alq/gen.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  alq_gen_params p = {1000000, 32, 10, 10.0, 1};
  int64_t block = 8192;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--items")) p.n_items = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--dim")) p.dim = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--classes")) p.n_classes = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--block")) block = atoll(argv[i + 1]);
    else {
      fprintf(stderr, "usage: alq_scale_genrate [--items N] [--dim D] [--classes C] [--block R]\n");
      return 2;
    }
  }
  if (alq_gen_params_check(&p) || block < 1) {
    fprintf(stderr, "alq_scale_genrate: bad parameters\n");
    return 2;
  }
  float *emb = malloc(sizeof(float) * block * p.dim), *probs = malloc(sizeof(float) * block * p.n_classes);
  int32_t *labels = malloc(sizeof(int32_t) * block);
  if (!emb || !probs || !labels)
    return 1;
  double rate[2];
  for (int pass = 0; pass < 2; pass++) {
    double t0 = now();
    for (int64_t lo = 0; lo < p.n_items; lo += block) {
      int64_t n = p.n_items - lo < block ? p.n_items - lo : block;
      if (alq_gen_rows(&p, lo, n, emb, pass == 0 ? probs : NULL, pass == 0 ? labels : NULL))
        return 1;
    }
    rate[pass] = (double)p.n_items / (now() - t0);
  }
  printf("gen source, %lld items, dim %lld, %lld classes, one core: %.0f rows/s (embeddings+probs+labels), "
         "%.0f rows/s (embeddings only)\n",
         (long long)p.n_items, (long long)p.dim, (long long)p.n_classes, rate[0], rate[1]);
  printf("gen_rows_per_s=%.1f\ngen_emb_rows_per_s=%.1f\n", rate[0], rate[1]);
  free(emb);
  free(probs);
  free(labels);
  return 0;
}
