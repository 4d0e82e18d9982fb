/* cli/cmd_import_idx.c: `alq import-idx`: idx files (MNIST, Fashion-MNIST) into a pool.
 *
 * The idx format: a big-endian header (magic 0x0000080n with n the number of
 * dimensions, then n uint32 sizes) followed by uint8 values.  Images are
 * [N][rows][cols], labels [N]; both may be gzip'd (zlib reads either). */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "alq/paths.h"
#include "alq/pool.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq import-idx --images FILE --labels FILE --out POOL.h5 [--limit N] [--standardize]\n"
    "                      [--labeled L] [--seed S]\n"
    "\n"
    "Reads idx image and label files (MNIST, Fashion-MNIST; plain or .gz), e.g. Debian's\n"
    "dataset-fashion-mnist: /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz.\n"
    "Writes /embeddings float32 [N][rows*cols] (pixels / 255), /labels int32 [N] and the root\n"
    "attribute classes = max label + 1.\n"
    "\n"
    "  --images FILE    idx3 images, uint8 (required)\n"
    "  --labels FILE    idx1 labels, uint8 (required)\n"
    "  --out PATH       output pool, written atomically (required)\n"
    "  --limit N        keep the first N images (default all)\n"
    "  --standardize    z-score each pixel column (population std; a constant column becomes 0)\n"
    "  --labeled L      initial labeled set size, stratified by class (default 0)\n"
    "  --seed S         seed of the labeled draw (default 0)\n"
    "  --help           this text\n";

typedef struct {
  char images[ALQ_PATH_MAX], labels[ALQ_PATH_MAX], out[ALQ_PATH_MAX];
  int64_t limit, n_labeled;
  int standardize;
  uint64_t seed;
} idx_options;

static int parse(int argc, char **argv, idx_options *o) {
  static const struct option longopts[] = {
      {"images", required_argument, 0, 'i'}, {"labels", required_argument, 0, 'l'},
      {"out", required_argument, 0, 'o'},    {"limit", required_argument, 0, 'n'},
      {"standardize", no_argument, 0, 'z'},  {"labeled", required_argument, 0, 'L'},
      {"seed", required_argument, 0, 's'},   {"help", no_argument, 0, 'h'},
      {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'i': ALQ_CHECK(alq_arg_path("--images", optarg, o->images, sizeof o->images)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labels", optarg, o->labels, sizeof o->labels)); break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'n': ALQ_CHECK(alq_arg_int("--limit", optarg, 1, INT64_MAX, &o->limit)); break;
    case 'z': o->standardize = 1; break;
    case 'L': ALQ_CHECK(alq_arg_int("--labeled", optarg, 0, INT64_MAX, &o->n_labeled)); break;
    case 's': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->seed)); break;
    case 'h': return -1;
    default: return alq_arg_unknown("import-idx", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq import-idx: unexpected argument '%s'", argv[optind]);
  if (!o->images[0] || !o->labels[0] || !o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq import-idx needs --images, --labels and --out (see --help)");
  const alq_path_use paths[] = {{"--images", o->images, ALQ_PATH_INPUT},
                                {"--labels", o->labels, ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

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

static alq_err import(const idx_options *o, int64_t *n_out, int64_t *d_out, int64_t *c_out) {
  gzFile fi = gzopen(o->images, "rb"), fl = gzopen(o->labels, "rb");
  alq_err err = ALQ_OK;
  if (!fi)
    err = alq_error_set(ALQ_ERR_INPUT, "cannot open %s", o->images);
  else if (!fl)
    err = alq_error_set(ALQ_ERR_INPUT, "cannot open %s", o->labels);
  uint32_t isz[3] = {0}, lsz[3] = {0};
  if (!err)
    err = read_header(fi, o->images, 3, isz);
  if (!err)
    err = read_header(fl, o->labels, 1, lsz);
  if (!err && isz[0] != lsz[0])
    err = alq_error_set(ALQ_ERR_INPUT, "%s holds %u images but %s holds %u labels", o->images, isz[0], o->labels,
                        lsz[0]);
  int64_t n = isz[0], d = 0;
  if (!err && o->limit && o->limit < n)
    n = o->limit;
  /* rows * cols < 2^64 always; N x rows x cols must also fit an int64 count. */
  if (!err && (uint64_t)isz[1] * isz[2] > (uint64_t)INT64_MAX / (n > 0 ? (uint64_t)n : 1))
    err = alq_error_set(ALQ_ERR_INPUT, "%s: header announces %u x %u x %u pixels, more than a pool can hold",
                        o->images, isz[0], isz[1], isz[2]);
  else
    d = (int64_t)((uint64_t)isz[1] * isz[2]);
  unsigned char *pixels = NULL, *raw_labels = NULL;
  float *x = NULL;
  int32_t *y = NULL;
  if (!err)
    err = read_bytes(fi, o->images, &pixels, n * d);
  if (!err)
    err = read_bytes(fl, o->labels, &raw_labels, n);
  if (!err)
    err = alq_malloc(&x, sizeof(float) * (size_t)(n * d > 0 ? n * d : 1), "pool features");
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
  *n_out = n, *d_out = d, *c_out = max_label + 1;
  alq_labeled_free(&labeled);
  free(pixels);
  free(raw_labels);
  free(x);
  free(y);
  if (fi)
    gzclose(fi);
  if (fl)
    gzclose(fl);
  return err;
}

int alq_cmd_import_idx(int argc, char **argv) {
  idx_options o;
  int status = parse(argc, argv, &o);
  if (status < 0) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (status)
    return alq_cli_fail(status);
  int64_t n = 0, d = 0, c = 0;
  alq_err err = import(&o, &n, &d, &c);
  if (err)
    return alq_cli_fail(err);
  printf("imported %s: %lld images, %lld pixels, %lld classes -> %s\n", o.images, (long long)n, (long long)d,
         (long long)c, o.out);
  return ALQ_OK;
}
