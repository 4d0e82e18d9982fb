/* pool/import_idx.c: `alq import-idx` (alq/import.h): idx files (MNIST,
 * Fashion-MNIST) into a pool.
 *
 * The idx format: a big-endian header (magic 0x0000080n with n the number of
 * dimensions, then n uint32 sizes) followed by uint8 values.  Images are
 * [N][rows][cols], labels [N]; both may be gzip'd (zlib reads either). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "alq/import.h"

/* Reads an idx header of `want_dims` dimensions; sizes[0] is the item count. */
static alq_err read_header(gzFile f, const char *path, int want_dims, uint32_t sizes[3]) {
  unsigned char b[16];
  int len = 4 + 4 * want_dims;
  if (gzread(f, b, len) != len)
    return alq_error_set(ALQ_ERR_INPUT, "%s: shorter than an idx header of %d bytes", path, len);
  if (b[0] != 0 || b[1] != 0 || b[2] != 0x08 || b[3] != want_dims)
    return alq_error_set(ALQ_ERR_INPUT, "%s: magic %02x%02x%02x%02x, expected 000008%02x (idx, uint8, %d dimension(s))",
                         path, b[0], b[1], b[2], b[3], want_dims, want_dims);
  for (int k = 0; k < want_dims; k++)
    sizes[k] = (uint32_t)b[4 + 4 * k] << 24 | (uint32_t)b[5 + 4 * k] << 16 | (uint32_t)b[6 + 4 * k] << 8 |
               b[7 + 4 * k];
  return ALQ_OK;
}

/* Reads the n bytes the header announces, growing the buffer only as bytes
 * arrive (pieces of at most 64 MiB): a header that announces more than the
 * file holds fails on its missing bytes, not on an allocation of the
 * announced size. */
static alq_err read_bytes(gzFile f, const char *path, unsigned char **dst, int64_t n) {
  const int64_t piece_max = (int64_t)1 << 26;
  int64_t have = 0;
  ALQ_CHECK(alq_malloc(dst, 1, "idx values"));
  while (have < n) {
    int64_t part = n - have < piece_max ? n - have : piece_max;
    unsigned char *grown = realloc(*dst, (size_t)(have + part));
    if (!grown)
      return alq_error_set(ALQ_ERR_MEMORY, "out of memory reading %s (%lld bytes)", path, (long long)(have + part));
    *dst = grown;
    if (gzread(f, *dst + have, (unsigned)part) != part)
      return alq_error_set(ALQ_ERR_INPUT, "%s: ends before the %lld bytes its header announces", path,
                           (long long)n);
    have += part;
  }
  return ALQ_OK;
}

static void standardize(float *x, int64_t n, int64_t d) {
  for (int64_t j = 0; j < d; j++) {
    double sum = 0, sq = 0;
    for (int64_t i = 0; i < n; i++)
      sum += x[i * d + j], sq += (double)x[i * d + j] * x[i * d + j];
    double mean = sum / n, var = sq / n - mean * mean, sd = var > 0 ? sqrt(var) : 0;
    for (int64_t i = 0; i < n; i++)
      x[i * d + j] = sd > 1e-12 ? (float)((x[i * d + j] - mean) / sd) : 0.0f;
  }
}

/* Both headers, checked against each other, and the n x d pixels and n
 * labels they announce (n: at most o->limit). */
static alq_err read_idx(const alq_import_idx_options *o, gzFile fi, gzFile fl, int64_t *n_out, int64_t *d_out,
                        unsigned char **pixels, unsigned char **raw_labels) {
  uint32_t isz[3] = {0}, lsz[3] = {0};
  ALQ_CHECK(read_header(fi, o->images, 3, isz));
  ALQ_CHECK(read_header(fl, o->labels, 1, lsz));
  if (isz[0] != lsz[0])
    return alq_error_set(ALQ_ERR_INPUT, "%s holds %u images but %s holds %u labels", o->images, isz[0], o->labels,
                         lsz[0]);
  int64_t n = isz[0];
  if (o->limit && o->limit < n)
    n = o->limit;
  /* rows * cols < 2^64 always; N x rows x cols must also fit an int64 count. */
  if ((uint64_t)isz[1] * isz[2] > (uint64_t)INT64_MAX / (n > 0 ? (uint64_t)n : 1))
    return alq_error_set(ALQ_ERR_INPUT, "%s: header announces %u x %u x %u pixels, more than a pool can hold",
                         o->images, isz[0], isz[1], isz[2]);
  int64_t d = (int64_t)((uint64_t)isz[1] * isz[2]);
  *n_out = n, *d_out = d;
  ALQ_CHECK(read_bytes(fi, o->images, pixels, n * d));
  return read_bytes(fl, o->labels, raw_labels, n);
}

/* The pool from the values: pixels / 255 (z-scored with o->standardize),
 * the labels, the labeled draw; r->classes = max label + 1. */
static alq_err write_pool(const alq_import_idx_options *o, int64_t n, int64_t d, const unsigned char *pixels,
                          const unsigned char *raw_labels, alq_import_result *r) {
  float *x = NULL;
  int32_t *y = NULL;
  alq_err err = alq_malloc(&x, sizeof(float) * (size_t)(n * d > 0 ? n * d : 1), "pool features");
  if (!err)
    err = alq_malloc(&y, sizeof(int32_t) * (size_t)(n > 0 ? n : 1), "pool labels");
  int32_t max_label = 0;
  for (int64_t i = 0; !err && i < n; i++) {
    y[i] = raw_labels[i];
    max_label = y[i] > max_label ? y[i] : max_label;
  }
  for (int64_t i = 0; !err && i < n * d; i++)
    x[i] = (float)pixels[i] / 255.0f;
  if (!err && o->standardize)
    standardize(x, n, d);
  alq_labeled labeled = {0};
  if (!err && o->n_labeled > 0)
    err = alq_labeled_draw_stratified(y, NULL, n, max_label + 1, o->n_labeled, o->seed, &labeled);
  if (!err) {
    alq_pool_data pool = {.n_items = n, .dim = d, .n_classes = max_label + 1, .embeddings = x, .labels = y,
                          .labeled = labeled};
    err = alq_pool_write(o->out, &pool);
  }
  if (!err)
    *r = (alq_import_result){n, d, max_label + 1, labeled.n};
  alq_labeled_free(&labeled);
  free(x);
  free(y);
  return err;
}

alq_err alq_import_idx(const alq_import_idx_options *o, alq_import_result *result) {
  memset(result, 0, sizeof *result);
  gzFile fi = gzopen(o->images, "rb"), fl = gzopen(o->labels, "rb");
  alq_err err = ALQ_OK;
  if (!fi)
    err = alq_error_set(ALQ_ERR_INPUT, "cannot open %s", o->images);
  else if (!fl)
    err = alq_error_set(ALQ_ERR_INPUT, "cannot open %s", o->labels);
  unsigned char *pixels = NULL, *raw_labels = NULL;
  int64_t n = 0, d = 0;
  if (!err)
    err = read_idx(o, fi, fl, &n, &d, &pixels, &raw_labels);
  if (!err)
    err = write_pool(o, n, d, pixels, raw_labels, result);
  free(pixels);
  free(raw_labels);
  if (fi)
    gzclose(fi);
  if (fl)
    gzclose(fl);
  return err;
}
