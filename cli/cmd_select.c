/* cli/cmd_select.c: `alq select`: rank 0 parses, every rank runs the selection. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/geometry.h"
#include "alq/ood.h"
#include "alq/paths.h"
#include "alq/select.h"
#include "args.h"
#include "commands.h"
#include "ood_options.h"

static void usage(void) {
  printf("usage: mpiexec -n P alq select --pool POOL.h5 --budget B --strategy NAME --out BATCH.h5 [options]\n\n"
         "Chooses the B items of POOL to label next and writes their ids in selection order.\n\n"
         "required:\n"
         "  --pool FILE        pool (docs/format.md): /embeddings, optional /probs, /ids, /labeled\n"
         "  --budget B         items to select (fewer unlabeled items: all of them, with a note)\n"
         "  --strategy NAME    random, least-confidence, margin, entropy, kcenter, margin-kcenter\n"
         "                     (alq strategies lists them)\n"
         "  --out FILE         batch HDF5: /selected/ids (int64), /selected/scores (float64)\n"
         "options:\n"
         "  --seed S           seed of every random choice (default 0)\n"
         "  --csv FILE         also write rank,id,score as CSV\n"
         "  --labeled FILE     labeled set (/labeled/ids, /labeled/labels) instead of the pool's own\n"
         "  --state FILE       round state (docs/slurm.md): exclude labeled and pending items and\n"
         "                     record this batch as the next round; created when missing\n"
         "  --candidates M     margin-kcenter: k-center among the M most uncertain (default 10 x B)\n"
         "  --chunk-rows R     rows per worker read (default: about 8 MiB, whole HDF5 chunks)\n"
         "  --memory-per-rank S  bound on all a rank allocates, e.g. 2G; too small fails up front\n"
         "subpool (AnchorAL):\n"
         "  --subpool all|anchoral   run the strategy on the whole pool (default) or on the AnchorAL subpool\n"
         "  --anchors-per-class A    labeled anchors per class (default 10)\n"
         "  --neighbors K            most similar unlabeled items kept per anchor (default 50)\n"
         "  --subpool-size M         subpool size (default 10000)\n"
         "  --anchor-strategy kmeanspp|random   how anchors are drawn (default kmeanspp)\n"
         "diversity:\n"
         "  --diversity none|exact|hier  none: top B by score; exact: k-center with one MAXLOC\n"
         "                     allreduce per pick; hier: hierarchical k-center (default: the strategy's own)\n"
         "  --fan-in F         children per node of the hierarchical reduction tree (default 8)\n"
         "  --delta R          probcover: ball radius (default: the largest with k-means purity >= 0.95)\n"
         "model (docs/models.md):\n"
         "  --model FILE       compute /probs and /embeddings from the pool's features with a model\n"
         "                     from alq train (the pool's own /probs are not read)\n"
         "  --mc-samples T     mlp: average T dropout passes (MC dropout; default 0 = one exact pass)\n"
         "projection (docs/geometry.md): AnchorAL and k-center on projected embeddings, probabilities untouched\n"
         "  --projection FILE  a PCA projection from alq project (the same space every round)\n"
         "  --project SPEC     fit pca:K or pca-whiten:K on the pool now (ScaLAPACK) and use it\n"
         "  --fit-sample S     --project: fit on about S rows (hash of seed and id; default every row)\n"
         "out-of-distribution stage (docs/ood.md): rejects items before any strategy scores\n"
         "  --ood KIND         maxprob (1 - max p), energy (-T log sum p^(1/T)), knn (distance to the\n"
         "                     k-th nearest labeled embedding, normalised), mahalanobis (to the nearest\n"
         "                     class under a shared covariance)\n"
         "  --ood-reject Q     threshold: the score that keeps a share 1 - Q of the labeled items\n"
         ALQ_OOD_SETTINGS_HELP
         "  --no-prune         k-center: evaluate every candidate at every step instead of lazily\n"
         "                     (same batch, slower; the bandwidth benchmark); badge: update every\n"
         "                     item's D^2 at every pick, no norm or center bound skips (same batch)\n"
         "  --log-view         print a per-phase table (time, bytes, messages) on rank 0\n"
         "  --quiet            no notes or summary on stderr\n"
         "  --help             this text\n\n"
         "The batch is the same, id for id, whatever the number of ranks.\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  alq_select_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},       {"budget", required_argument, 0, 'b'},
      {"strategy", required_argument, 0, 's'},   {"out", required_argument, 0, 'o'},
      {"seed", required_argument, 0, 'S'},       {"csv", required_argument, 0, 'c'},
      {"labeled", required_argument, 0, 'l'},    {"candidates", required_argument, 0, 'm'},
      {"chunk-rows", required_argument, 0, 'r'}, {"no-prune", no_argument, 0, 'P'},
      {"log-view", no_argument, 0, 'L'},         {"quiet", no_argument, 0, 'q'},
      {"state", required_argument, 0, 'T'},
      {"help", no_argument, 0, 'h'},             {"subpool", required_argument, 0, 1},
      {"anchors-per-class", required_argument, 0, 2}, {"neighbors", required_argument, 0, 3},
      {"subpool-size", required_argument, 0, 4},  {"anchor-strategy", required_argument, 0, 5},
      {"diversity", required_argument, 0, 6},     {"fan-in", required_argument, 0, 7},
      {"memory-per-rank", required_argument, 0, 8}, {"model", required_argument, 0, 30},
      {"mc-samples", required_argument, 0, 31},   {"project", required_argument, 0, 40},
      {"projection", required_argument, 0, 41},  {"fit-sample", required_argument, 0, 42},
      {"delta", required_argument, 0, 50},
      ALQ_OOD_LONGOPTS,
      {0, 0, 0, 0}};
  static const char *const subpools[] = {"all", "anchoral"};
  static const char *const anchor_kinds[] = {"kmeanspp", "random"};
  static const char *const diversities[] = {"none", "exact", "hier"};
  int choice = 0;
  memset(o, 0, sizeof *o);
  o->prune = 1;
  int have_budget = 0;
  int64_t fit_sample = 0, project_k = 0;
  int whiten = 0;
  unsigned ood_given = 0;
  opterr = 0;
  optind = 1;
  int c;
  alq_err err;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (alq_ood_option(c, optarg, &o->ood, &ood_given, &err)) {
      ALQ_CHECK(err);
      continue;
    }
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'b':
      ALQ_CHECK(alq_arg_int("--budget", optarg, INT64_MIN, INT32_MAX, &o->budget));
      if (o->budget < 1)
        return alq_error_set(ALQ_ERR_USAGE, "--budget must be a positive integer, got %s", optarg);
      have_budget = 1;
      break;
    case 's':
      if (strlen(optarg) >= sizeof o->strategy)
        return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", optarg);
      strcpy(o->strategy, optarg);
      break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'S': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->seed)); break;
    case 'c': ALQ_CHECK(alq_arg_path("--csv", optarg, o->csv, sizeof o->csv)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labeled", optarg, o->labeled, sizeof o->labeled)); break;
    case 'T': ALQ_CHECK(alq_arg_path("--state", optarg, o->state, sizeof o->state)); break;
    case 'm': ALQ_CHECK(alq_arg_int("--candidates", optarg, 1, INT32_MAX, &o->candidates)); break;
    case 'r': ALQ_CHECK(alq_arg_int("--chunk-rows", optarg, 1, INT32_MAX, &o->chunk_rows)); break;
    case 'P': o->prune = 0; break;
    case 'L': o->log_view = 1; break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    case 1: ALQ_CHECK(alq_arg_choice("--subpool", optarg, subpools, 2, &o->subpool)); break;
    case 2: ALQ_CHECK(alq_arg_int("--anchors-per-class", optarg, 1, 1000000, &o->anchors_per_class)); break;
    case 3: ALQ_CHECK(alq_arg_int("--neighbors", optarg, 1, 100000000, &o->neighbors)); break;
    case 4: ALQ_CHECK(alq_arg_int("--subpool-size", optarg, 1, INT32_MAX, &o->subpool_size)); break;
    case 5: ALQ_CHECK(alq_arg_choice("--anchor-strategy", optarg, anchor_kinds, 2, &o->anchor_random)); break;
    case 6:
      ALQ_CHECK(alq_arg_choice("--diversity", optarg, diversities, 3, &choice));
      o->diversity = ALQ_DIVERSITY_NONE + choice;
      break;
    case 7: ALQ_CHECK(alq_arg_int("--fan-in", optarg, 2, 1000000, &o->fan_in)); break;
    case 8: ALQ_CHECK(alq_arg_size("--memory-per-rank", optarg, &o->memory_per_rank)); break;
    case 30: ALQ_CHECK(alq_arg_path("--model", optarg, o->model, sizeof o->model)); break;
    case 31: ALQ_CHECK(alq_arg_int("--mc-samples", optarg, 0, 10000, &o->mc_samples)); break;
    case 40:
      ALQ_CHECK(alq_projection_parse(optarg, &whiten, &project_k)); /* checked here, fitted later */
      snprintf(o->project, sizeof o->project, "%s", optarg);
      break;
    case 41: ALQ_CHECK(alq_arg_path("--projection", optarg, o->projection, sizeof o->projection)); break;
    case 42: ALQ_CHECK(alq_arg_int("--fit-sample", optarg, 2, INT64_MAX, &fit_sample)); break;
    case 50: ALQ_CHECK(alq_arg_double("--delta", optarg, 1e-30, 1e30, &o->delta)); break;
    default: return alq_arg_unknown("select", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq select: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq select needs --pool FILE");
  if (!have_budget)
    return alq_error_set(ALQ_ERR_USAGE, "alq select needs --budget B");
  if (!o->strategy[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq select needs --strategy NAME");
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq select needs --out FILE");
  ALQ_CHECK(alq_ood_check_options(&o->ood, ood_given));
  if (fit_sample && !o->project[0])
    return alq_error_set(ALQ_ERR_USAGE, "--fit-sample applies with --project pca:K");
  o->fit_sample = fit_sample;
  if (o->mc_samples && !o->model[0])
    return alq_error_set(ALQ_ERR_USAGE, "--mc-samples applies with --model FILE");
  const alq_path_use paths[] = {
      {"--pool", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT}, {"--labeled", o->labeled, ALQ_PATH_INPUT},
      {"--model", o->model, ALQ_PATH_INPUT},                  {"--state", o->state, ALQ_PATH_UPDATE},
      {"--projection", o->projection, ALQ_PATH_INPUT},
      {"--out", o->out, ALQ_PATH_OUTPUT},                     {"--csv", o->csv, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_select(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_select_options opt;
  int code;
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  alq_err err = alq_select_run(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
