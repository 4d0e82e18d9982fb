/* cli/cmd_import.c: `alq import`: the arguments of alq_import_csv
 * (alq/import.h), a labeled CSV (plain or gzip) into a pool file. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/import.h"
#include "alq/paths.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq import --csv FILE.csv[.gz] --out POOL.h5 [--standardize]\n"
    "                  [--labeled L] [--seed S] [--dtype float32|float16]\n"
    "\n"
    "Reads a labeled CSV (plain or gzip'd): a header line, then comma-separated\n"
    "numeric features and an integer label 0..K-1 (K <= 10^6) in the last column.  Writes\n"
    "/embeddings float32 [N][d] (the features), /labels int32 [N], the root\n"
    "attribute classes = max label + 1 and, with --labeled, a stratified initial\n"
    "labeled set in /labeled.  No /probs: a model stage provides them later.\n"
    "\n"
    "  --csv FILE       input CSV, .gz or plain (required)\n"
    "  --out PATH       output pool, written atomically (required)\n"
    "  --standardize    z-score each feature (population std; a constant column becomes 0)\n"
    "  --labeled L      initial labeled set size, stratified by class (default 0)\n"
    "  --seed S         seed of the labeled draw (default 0)\n"
    "  --dtype T        how /embeddings is stored: float32 (default) or float16 (half the\n"
    "                   bytes to read; about 3 significant digits, docs/format.md)\n"
    "  --help           this text\n"
    "\n"
    "Memory: the whole table is held in memory, about N * (4 d + 4) bytes.\n";

/* Returns -1 for --help, else an alq_err. */
static int parse_options(int argc, char **argv, alq_import_options *o) {
  static const struct option longopts[] = {
      {"csv", required_argument, 0, 'c'},  {"out", required_argument, 0, 'o'},
      {"standardize", no_argument, 0, 'z'}, {"labeled", required_argument, 0, 'l'},
      {"seed", required_argument, 0, 's'}, {"help", no_argument, 0, 'h'},
      {"dtype", required_argument, 0, 'd'},
      {0, 0, 0, 0}};
  static const char *const dtypes[] = {"float32", "float16"};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'c': ALQ_CHECK(alq_arg_path("--csv", optarg, o->csv, sizeof o->csv)); break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'z': o->standardize = 1; break;
    case 'l': ALQ_CHECK(alq_arg_int("--labeled", optarg, 0, INT64_MAX, &o->n_labeled)); break;
    case 's': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->seed)); break;
    case 'd': ALQ_CHECK(alq_arg_choice("--dtype", optarg, dtypes, 2, &o->float16)); break;
    case 'h': return -1;
    default: return alq_arg_unknown("import", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq import: unexpected argument '%s' (see alq import --help)",
                         argv[optind]);
  if (!o->csv[0] || !o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq import: --csv and --out are required (see alq import --help)");
  const alq_path_use paths[] = {{"--csv", o->csv, ALQ_PATH_INPUT}, {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_import(int argc, char **argv) {
  alq_import_options o;
  int status = parse_options(argc, argv, &o);
  if (status < 0) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (status)
    return alq_cli_fail(status);
  alq_import_result r;
  alq_err err = alq_import_csv(&o, &r);
  if (err)
    return alq_cli_fail(err);
  printf("imported %s: %lld rows, %lld features, %lld classes, %lld labeled -> %s\n", o.csv, (long long)r.rows,
         (long long)r.features, (long long)r.classes, (long long)r.labeled, o.out);
  return ALQ_OK;
}
