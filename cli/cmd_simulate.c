/* cli/cmd_simulate.c: `alq simulate`: the arguments of alq_simulate
 * (alq/simulate.h), which replays the labeling loop with the pool's ground
 * truth (/labels) as the annotator. */
#include <getopt.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/paths.h"
#include "alq/select.h"
#include "alq/simulate.h"
#include "args.h"
#include "commands.h"
#include "head_options.h"
#include "ood_options.h"


static void usage(void) {
  printf("usage: mpiexec -n P alq simulate --pool POOL.h5 --strategy S[,S...] --batch B --rounds R\n"
         "                                --out CURVE.csv [options]\n\n"
         "Replays active learning on a pool with known labels (/labels): per seed, holds out a\n"
         "stratified test split, draws a stratified initial labeled set from the rest, then each\n"
         "round trains the model, evaluates it on the test split, selects B items with the\n"
         "strategy (the same pipeline as alq select) and reveals their labels.  Strategies in one\n"
         "call share the seeds, test splits and initial sets.\n\n"
         "required:\n"
         "  --pool FILE           pool with /embeddings (features) and /labels\n"
         "  --strategy LIST       comma-separated strategies (alq strategies lists them); anchoral+NAME\n"
         "                        runs NAME on the AnchorAL subpool (alq select --subpool anchoral)\n"
         "  --batch B             items labeled per round\n"
         "  --rounds R            selection rounds (R + 1 evaluations per seed)\n"
         "  --out FILE            CSV: strategy,seed,round,labeled,accuracy,macro_f1,rare_recall,\n"
         "                        train_seconds,select_seconds,items (one row per strategy, seed, round)\n"
         "options:\n"
         "  --initial L           initial labeled items, stratified (default 20)\n"
         "  --seeds K             repetitions with seeds S, S+1, ..., S+K-1 (default 5)\n"
         "  --seed S              first seed (default 0)\n"
         "  --test-fraction F     share of the pool held out for evaluation (default 0.2)\n"
         "  --subpool all|anchoral  run every strategy on the AnchorAL subpool (names get 'anchoral+')\n"
         "  --model logreg|mlp    the head retrained each round (default logreg); --hidden H,\n"
         "                        --dropout P, --l2 L, --lr R, --epochs E, --class-weights as alq train\n"
         "  --mc-samples T        mlp: average T dropout passes for the probabilities\n"
         "  --plot FILE           SVG of accuracy and macro-F1 against labels (mean, +-1 sd)\n"
         "  --annotators A        A simulated annotators answer instead of /labels: one answer per\n"
         "                        request (initial items too), an item to each annotator at most once;\n"
         "                        the model learns the CROWDLAB consensus (alq consensus); 'labeled'\n"
         "                        then counts every answer and 'items' the items answered\n"
         "  --annotator-noise P   each answer is wrong with probability P, uniform over the other classes\n"
         "  --confusion FILE      instead: answers drawn from row y of a K x K matrix (CSV or spaces)\n"
         "  --ood KIND --ood-reject Q  the out-of-distribution stage before every strategy, as alq\n"
         "                        select (--ood-temperature T, --ood-k K, --ood-space S; docs/ood.md); /labels\n"
         "                        -1 marks junk: a label spent that teaches nothing (never tested or\n"
         "                        trained on)\n"
         "  --quiet               no progress on stderr\n"         "  --help                this text\n\n"
         "Metrics: accuracy; macro-F1 over the classes present in the test split; rare_recall, the\n"
         "mean recall of the 3 rarest classes of the test split.  Results are the same for a seed\n"
         "and a rank count (docs/models.md).\n"
         "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory, 6 MPI\n");
}

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, void *out) {
  alq_simulate_options *o = out;
  static const struct option longopts[] = {
      {"pool", required_argument, 0, 'p'},          {"strategy", required_argument, 0, 's'},
      {"batch", required_argument, 0, 'b'},         {"rounds", required_argument, 0, 'R'},
      {"out", required_argument, 0, 'o'},           {"initial", required_argument, 0, 'i'},
      {"seeds", required_argument, 0, 'K'},         {"seed", required_argument, 0, 'S'},
      {"test-fraction", required_argument, 0, 'f'}, {"subpool", required_argument, 0, 'a'},
      ALQ_HEAD_LONGOPTS,                            {"mc-samples", required_argument, 0, 'T'},
      {"plot", required_argument, 0, 'P'},          {"quiet", no_argument, 0, 'q'},
      {"annotators", required_argument, 0, 'A'},    {"annotator-noise", required_argument, 0, 'n'},
      {"confusion", required_argument, 0, 'C'},
      ALQ_OOD_LONGOPTS,
      {"help", no_argument, 0, 'h'},                {0, 0, 0, 0}};
  static const char *const subpools[] = {"all", "anchoral"};
  alq_model_kind kind;
  int first = alq_head_kind_pass(argc, argv, longopts, &kind);
  if (first)
    return first;
  alq_simulate_options_default(kind ? kind : ALQ_MODEL_LOGREG, o);
  int subpool = ALQ_SUBPOOL_ALL, have_batch = 0, have_rounds = 0, c;
  unsigned ood_given = 0;
  alq_err err;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if (alq_head_option(c, optarg, &o->train, &err)) {
      ALQ_CHECK(err);
      continue;
    }
    if (alq_ood_option(c, optarg, &o->ood, &ood_given, &err)) {
      ALQ_CHECK(err);
      continue;
    }
    switch (c) {
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 's': ALQ_CHECK(alq_simulate_parse_strategies(optarg, o)); break;
    case 'b': ALQ_CHECK(alq_arg_int("--batch", optarg, 1, INT32_MAX, &o->batch)); have_batch = 1; break;
    case 'R': ALQ_CHECK(alq_arg_int("--rounds", optarg, 0, 100000, &o->rounds)); have_rounds = 1; break;
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'i': ALQ_CHECK(alq_arg_int("--initial", optarg, 1, INT32_MAX, &o->initial)); break;
    case 'K': ALQ_CHECK(alq_arg_int("--seeds", optarg, 1, 100000, &o->seeds)); break;
    case 'S': ALQ_CHECK(alq_arg_uint64("--seed", optarg, &o->seed)); break;
    case 'f': ALQ_CHECK(alq_arg_double("--test-fraction", optarg, 0.01, 0.9, &o->test_fraction)); break;
    case 'a': ALQ_CHECK(alq_arg_choice("--subpool", optarg, subpools, 2, &subpool)); break;
    case 'T': ALQ_CHECK(alq_arg_int("--mc-samples", optarg, 0, 10000, &o->mc_samples)); break;
    case 'P': ALQ_CHECK(alq_arg_path("--plot", optarg, o->plot, sizeof o->plot)); break;
    case 'q': o->quiet = 1; break;
    case 'A': ALQ_CHECK(alq_arg_int("--annotators", optarg, 1, 1000000, &o->annotators)); break;
    case 'n': ALQ_CHECK(alq_arg_double("--annotator-noise", optarg, 0, 1, &o->annotator_noise)); break;
    case 'C': ALQ_CHECK(alq_arg_path("--confusion", optarg, o->confusion, sizeof o->confusion)); break;
    default: return alq_arg_unknown("simulate", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq simulate: unexpected argument '%s'", argv[optind]);
  if (!o->pool[0] || !o->n_strategies || !have_batch || !have_rounds || !o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq simulate needs --pool, --strategy, --batch, --rounds and --out");
  for (int k = 0; k < o->n_strategies && subpool == ALQ_SUBPOOL_ANCHORAL; k++)
    o->subpools[k] = ALQ_SUBPOOL_ANCHORAL;
  ALQ_CHECK(alq_ood_check_options(&o->ood, ood_given));
  ALQ_CHECK(alq_simulate_check(o));
  const alq_path_use paths[] = {{"--pool", alq_paths_pool_file(o->pool), ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT},
                                {"--plot", o->plot, ALQ_PATH_OUTPUT},
                                {"--confusion", o->confusion, ALQ_PATH_INPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

static alq_err simulate(MPI_Comm comm, const alq_simulate_options *o) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  double started = MPI_Wtime();
  alq_curve curve;
  ALQ_CHECK(alq_simulate(comm, o, &curve));
  alq_err err = alq_agree(comm, rank == 0 ? alq_simulate_write(o, &curve) : ALQ_OK);
  if (!err && rank == 0 && !o->quiet)
    fprintf(stderr, "alq: simulated %d strategy(ies) x %lld seed(s) x %lld round(s) in %.1f s: %s%s%s\n",
            o->n_strategies, (long long)o->seeds, (long long)o->rounds, MPI_Wtime() - started, o->out,
            o->plot[0] ? ", " : "", o->plot);
  alq_curve_free(&curve);
  return err;
}

int alq_cmd_simulate(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_simulate_options opt;
  int code;
  if (!alq_cli_parse_on_root(argc, argv, parse, usage, &opt, &code))
    return code;
  /* Rank 0 parsed; the options are plain data, identical binaries on every rank. */
  alq_err err = alq_bcast(&opt, sizeof opt, 0, MPI_COMM_WORLD);
  if (!err)
    err = simulate(MPI_COMM_WORLD, &opt);
  return err ? alq_cli_fail(err) : 0;
}
