/* cli/cmd_import_idx.c: `alq import-idx`: the arguments of alq_import_idx
 * (alq/import.h), idx files (MNIST, Fashion-MNIST) into a pool. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/import.h"
#include "alq/paths.h"
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

static int parse(int argc, char **argv, alq_import_idx_options *o) {
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

int alq_cmd_import_idx(int argc, char **argv) {
  alq_import_idx_options o;
  int status = parse(argc, argv, &o);
  if (status < 0) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (status)
    return alq_cli_fail(status);
  alq_import_result r;
  alq_err err = alq_import_idx(&o, &r);
  if (err)
    return alq_cli_fail(err);
  printf("imported %s: %lld images, %lld pixels, %lld classes -> %s\n", o.images, (long long)r.rows,
         (long long)r.features, (long long)r.classes, o.out);
  return ALQ_OK;
}
