/* cli/cmd_retrieve.c: `alq retrieve`: the arguments of alq_retrieve_run
 * (alq/retrieve.h), AnchorAL's exact retrieval alone: for given anchors, each
 * anchor's K most similar unlabeled items of the pool. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/paths.h"
#include "alq/retrieve.h"
#include "args.h"
#include "commands.h"

static void usage(void) {
  printf("usage: mpiexec -n P alq retrieve --pool POOL.h5 --anchors FILE --neighbors K --out LISTS.h5 [options]\n\n"
         "AnchorAL's retrieval alone: for each anchor, the K unlabeled items of POOL most similar to\n"
         "it by cosine similarity (exact; ties: lower id), the same whatever the number of ranks.\n\n"
         "required:\n"
         "  --pool FILE        pool (docs/format.md): /embeddings, optional /ids, /labeled\n"
         "  --anchors FILE     HDF5 file with /anchors float32 [A][d] (d = the pool's dimension)\n"
         "  --neighbors K      items kept per anchor\n"
         "  --out FILE         HDF5: /neighbors/ids int64 [A][K] and /neighbors/similarities\n"
         "                     float64 [A][K], most similar first; padded with -1 / -inf when the\n"
         "                     pool has fewer than K unlabeled items\n"
         "options:\n"
         "  --labeled FILE     labeled set to exclude (/labeled/ids) instead of the pool's own\n"
         "  --chunk-rows R     rows per worker read (default: about 8 MiB, whole HDF5 chunks)\n"
         "  --log-view         print a per-phase table on rank 0: time (max and min over ranks, their\n"
         "                     ratio: the imbalance), bytes read, messages and their bytes (summed)\n"
         "  --quiet            no progress or summary on stderr\n"
         "  --help             this text\n\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  alq_retrieve_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},      {"anchors", required_argument, 0, 'a'},
      {"neighbors", required_argument, 0, 'k'}, {"out", required_argument, 0, 'o'},
      {"labeled", required_argument, 0, 'l'},   {"chunk-rows", required_argument, 0, 'r'},
      {"log-view", no_argument, 0, 'L'},        {"quiet", no_argument, 0, 'q'},
      {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'a': ALQ_CHECK(alq_arg_path("--anchors", optarg, o->anchors, sizeof o->anchors)); break;
    case 'k': ALQ_CHECK(alq_arg_int("--neighbors", optarg, 1, 100000000, &o->neighbors)); break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labeled", optarg, o->labeled, sizeof o->labeled)); break;
    case 'r': ALQ_CHECK(alq_arg_int("--chunk-rows", optarg, 1, INT32_MAX, &o->chunk_rows)); break;
    case 'L': o->log_view = 1; break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("retrieve", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --pool FILE");
  if (!o->anchors[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --anchors FILE");
  if (!o->neighbors)
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --neighbors K");
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq retrieve needs --out FILE");
  const alq_path_use paths[] = {
      {"--pool", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT}, {"--anchors", o->anchors, ALQ_PATH_INPUT},
      {"--labeled", o->labeled, ALQ_PATH_INPUT},              {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_retrieve(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_retrieve_options opt;
  int code;
  /* Only rank 0 parses: the others start from zeroed options (only rank 0's are read). */
  memset(&opt, 0, sizeof opt);
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = alq_retrieve_run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
