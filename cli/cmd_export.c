/* cli/cmd_export.c: `alq export`: the arguments of alq_export_run
 * (alq/export.h), which writes a batch as tasks for annotators. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/export.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq export --batch BATCH.h5 [--csv TASKS.csv] [--json TASKS.json] [options]\n"
    "\n"
    "Writes the batch alq select chose as tasks for annotators, in selection order:\n"
    "  CSV   header id,<payload columns>,label; the label column is empty, for the\n"
    "        annotator to fill in; the filled-in file is what alq ingest reads\n"
    "  JSON  --format alq (default): an array with one object per item,\n"
    "        {\"id\": 17, \"<column>\": value, ...}\n"
    "        --format label-studio: a Label Studio task list, {\"data\": {<columns>,\n"
    "        \"alq_id\": 17}, \"meta\": {\"alq_id\": 17, ...}, \"predictions\": [...]};\n"
    "        import it into a project, then give its JSON export to alq ingest\n"
    "Payload columns are the pool's /payload datasets (docs/format.md): text, URLs,\n"
    "numbers, whatever helps an annotator.  At least one of --csv and --json.\n"
    "\n"
    "options:\n"
    "  --batch FILE         batch written by alq select --out\n"
    "  --csv FILE           tasks as CSV\n"
    "  --json FILE          tasks as JSON\n"
    "  --format F           alq or label-studio: what --json holds (default alq)\n"
    "  --pool FILE          the pool (default: the one the batch records)\n"
    "  --payload A,B        only these payload columns, in this order (default: all, by name)\n"
    "  --state FILE         the round state: tasks list the annotators who already\n"
    "                       answered each item (CSV column answered_by, Label Studio\n"
    "                       meta.alq_answered_by), so a re-label goes to others\n"
    "A batch with re-label items (/selected/relabel, strategy activelab) gets a CSV\n"
    "column relabel (1 = labeled before) and meta.alq_relabel.\n"
    "Label Studio (--format label-studio):\n"
    "  --predictions        a pre-annotation per task: the model's top class (/probs)\n"
    "                       as a choices result, its probability as the score\n"
    "  --choices-name NAME  the labeling config's Choices tag (default label)\n"
    "  --to-name NAME       the object tag it labels (default: the text payload\n"
    "                       column if there is one, else the first, else text)\n"
    "  --ls-config FILE     also write a labeling config (XML) with those tags and\n"
    "                       a Choice per class (names from the pool's /classes)\n"
    "  --help               this text\n"
    "\n"
    "exit codes: 0 success, 2 usage, 3 bad input (missing column, id not in the pool), 4 cannot write\n";

static int parse(int argc, char **argv, alq_export_options *o) {
  static const struct option longopts[] = {{"batch", required_argument, 0, 'b'}, {"csv", required_argument, 0, 'c'},
                                           {"json", required_argument, 0, 'j'},  {"pool", required_argument, 0, 'p'},
                                           {"payload", required_argument, 0, 'P'}, {"help", no_argument, 0, 'h'},
                                           {"format", required_argument, 0, 'f'},  {"state", required_argument, 0, 's'},
                                           {"predictions", no_argument, 0, 'r'},   {"choices-name", required_argument, 0, 'C'},
                                           {"to-name", required_argument, 0, 'T'}, {"ls-config", required_argument, 0, 'L'},
                                           {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 'b': ALQ_CHECK(alq_arg_path("--batch", optarg, o->batch, sizeof o->batch)); break;
    case 'c': ALQ_CHECK(alq_arg_path("--csv", optarg, o->csv, sizeof o->csv)); break;
    case 'j': ALQ_CHECK(alq_arg_path("--json", optarg, o->json, sizeof o->json)); break;
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'P':
      ALQ_CHECK(alq_arg_path("--payload", optarg, o->payload, sizeof o->payload));
      o->payload_given = 1;
      break;
    case 'f':
      if (strcmp(optarg, "alq") != 0 && strcmp(optarg, "label-studio") != 0)
        return alq_error_set(ALQ_ERR_USAGE, "--format is alq or label-studio, not '%s'", optarg);
      o->label_studio = optarg[0] == 'l';
      break;
    case 's': ALQ_CHECK(alq_arg_path("--state", optarg, o->state, sizeof o->state)); break;
    case 'r': o->predictions = 1; break;
    case 'C': ALQ_CHECK(alq_arg_path("--choices-name", optarg, o->choices_name, sizeof o->choices_name)); break;
    case 'T': ALQ_CHECK(alq_arg_path("--to-name", optarg, o->to_name, sizeof o->to_name)); break;
    case 'L': ALQ_CHECK(alq_arg_path("--ls-config", optarg, o->ls_config, sizeof o->ls_config)); break;
    case 'h': return -1;
    default: return alq_arg_unknown("export", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq export: unexpected argument '%s'", argv[optind]);
  if (!o->batch[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq export needs --batch FILE");
  if (!o->csv[0] && !o->json[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq export needs --csv FILE, --json FILE or both");
  if (!o->label_studio && (o->predictions || o->choices_name[0] || o->to_name[0] || o->ls_config[0]))
    return alq_error_set(ALQ_ERR_USAGE, "--predictions, --choices-name, --to-name and --ls-config go with --format label-studio");
  if (o->label_studio && !o->json[0])
    return alq_error_set(ALQ_ERR_USAGE, "--format label-studio writes the --json file: give --json FILE");
  return alq_export_check_paths(o, o->pool);
}

int alq_cmd_export(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  alq_export_options o;
  int action = parse(argc, argv, &o);
  if (action == -1) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (action)
    return alq_cli_fail(action);
  alq_export_result r;
  alq_err err = alq_export_run(&o, &r);
  if (err)
    return alq_cli_fail(err);
  fprintf(stderr, "alq: exported %lld task(s) with %lld payload column(s)%s%s%s%s%s\n", (long long)r.tasks,
          (long long)r.columns, o.csv[0] ? ": " : "", o.csv, o.json[0] ? (o.csv[0] ? ", " : ": ") : "", o.json,
          o.label_studio ? (o.predictions ? " (Label Studio tasks with predictions)" : " (Label Studio tasks)") : "");
  return ALQ_OK;
}
