/* cli/cmd_consensus.c: `alq consensus STATE --out labels.csv`: the arguments
 * of alq_consensus_write (alq/consensus.h). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/consensus.h"
#include "alq/paths.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq consensus STATE.h5 --out LABELS.csv [--pool POOL.h5] [--model HEAD.h5 [--mc-samples T]]\n"
    "\n"
    "The final dataset's labels: per item with an answer in the round state, the\n"
    "CROWDLAB consensus of its annotators' answers and the model's probabilities\n"
    "(annotators weighed by their agreement with each other, the model by its\n"
    "accuracy against the consensus; docs/activelab.md), with its quality.\n"
    "\n"
    "  --out FILE        CSV: id,label,quality,answers,agreement, ids ascending (label: class\n"
    "                    index; quality in [0, 1], higher = more likely right; answers: how\n"
    "                    many; agreement: share of them equal to the label)\n"
    "  --pool FILE       the pool with the items' /probs (default: the pool the state records)\n"
    "  --model FILE      a head from alq train computes the probabilities from /embeddings\n"
    "  --mc-samples T    with an mlp head: average T dropout passes\n"
    "  --quiet           no summary (model and annotator weights) on stderr\n"
    "  --help            this text\n"
    "exit codes: 0 success, 2 usage, 3 bad input, 4 cannot write output, 5 memory\n";

static alq_err parse(int argc, char **argv, alq_consensus_options *o) {
  static const struct option longopts[] = {{"out", required_argument, 0, 'o'},   {"pool", required_argument, 0, 'p'},
                                           {"model", required_argument, 0, 'm'}, {"mc-samples", required_argument, 0, 'T'},
                                           {"quiet", no_argument, 0, 'q'},       {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'o': ALQ_CHECK(alq_arg_path("--out", optarg, o->out, sizeof o->out)); break;
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'm': ALQ_CHECK(alq_arg_path("--model", optarg, o->model, sizeof o->model)); break;
    case 'T': ALQ_CHECK(alq_arg_int("--mc-samples", optarg, 0, 10000, &o->mc_samples)); break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("consensus", optopt, argv[optind - 1]);
    }
  }
  if (optind != argc - 1)
    return alq_error_set(ALQ_ERR_USAGE, "alq consensus: expects one STATE argument, got %d (see alq consensus --help)",
                         argc - optind);
  ALQ_CHECK(alq_arg_path("STATE", argv[optind], o->state, sizeof o->state));
  if (!o->out[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq consensus needs --out");
  const alq_path_use paths[] = {{"STATE", o->state, ALQ_PATH_INPUT},
                                {"--pool", o->pool, ALQ_PATH_INPUT},
                                {"--model", o->model, ALQ_PATH_INPUT},
                                {"--out", o->out, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_consensus(int argc, char **argv) {
  alq_consensus_options o;
  int rc = parse(argc, argv, &o);
  if (rc == -1) {
    fputs(usage, stdout);
    return 0;
  }
  alq_err err = rc ? (alq_err)rc : alq_consensus_write(&o);
  return err ? alq_cli_fail(err) : 0;
}
