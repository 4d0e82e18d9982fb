/* cli/cmd_ingest.c: `alq ingest`: the arguments of alq_ingest_run
 * (alq/ingest.h), annotators' answers into the round state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "alq/ingest.h"
#include "alq/paths.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq ingest --state STATE.h5 --labels ANSWERS [--format F] [--replace] [options]\n"
    "\n"
    "Merges annotators' answers into the round state.  ANSWERS is one of\n"
    "  csv, tsv      a header naming at least the columns id and label, and\n"
    "                optionally annotator (other columns, such as the payload alq\n"
    "                export wrote, are ignored); fields quoted as in RFC 4180\n"
    "  jsonl         one object per line: {\"id\": 17, \"label\": 3, \"annotator\": \"ann\"}\n"
    "  label-studio  Label Studio's JSON export of tasks alq export --format\n"
    "                label-studio wrote; completed_by is the annotator, cancelled\n"
    "                (skipped) annotations are ignored\n"
    "A label is a class name of the pool's /classes or an integer; \"15.0\" counts\n"
    "as 15.  A task without a label is unanswered and is skipped.  Several\n"
    "annotators may answer one item: every answer is kept, and the item's label\n"
    "is the one most answers give (docs/labels.md).\n"
    "\n"
    "options:\n"
    "  --state FILE         the state alq select --state created\n"
    "  --labels FILE        the answers\n"
    "  --format F           auto (default: by content), csv, tsv, jsonl, label-studio\n"
    "  --replace            an answer that contradicts the same annotator's earlier\n"
    "                       answer corrects it (without: an error)\n"
    "  --pool FILE          where the class names (/classes) are (default: the\n"
    "                       pool the state records)\n"
    "  --choices-name NAME  Label Studio: the Choices tag to read when a task has\n"
    "                       several (its from_name)\n"
    "  --annotator NAME     annotator of rows without an annotator column or value\n"
    "                       (default: anonymous)\n"
    "  --quiet              no summary on stderr\n"
    "  --help               this text\n"
    "\n"
    "Rejected with one line naming the file and line, leaving the state file\n"
    "unchanged byte for byte (exit 3): an id never sent out for labeling, a label\n"
    "that is not a class name or an integer in [0, classes), one annotator giving\n"
    "an item two different labels (in this file, or against an earlier answer\n"
    "without --replace), a malformed file.  Repeating an earlier answer changes\n"
    "nothing.\n";

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, alq_ingest_options *o) {
  static const struct option longopts[] = {{"state", required_argument, 0, 's'},
                                           {"labels", required_argument, 0, 'l'},
                                           {"annotator", required_argument, 0, 'a'},
                                           {"format", required_argument, 0, 'f'},
                                           {"replace", no_argument, 0, 'r'},
                                           {"pool", required_argument, 0, 'p'},
                                           {"choices-name", required_argument, 0, 'c'},
                                           {"quiet", no_argument, 0, 'q'},
                                           {"help", no_argument, 0, 'h'},
                                           {0, 0, 0, 0}};
  memset(o, 0, sizeof *o);
  strcpy(o->annotator, "anonymous");
  opterr = 0;
  optind = 1;
  int c;
  while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    switch (c) {
    case 's': ALQ_CHECK(alq_arg_path("--state", optarg, o->state, sizeof o->state)); break;
    case 'l': ALQ_CHECK(alq_arg_path("--labels", optarg, o->labels, sizeof o->labels)); break;
    case 'a':
      if (!optarg[0] || strlen(optarg) >= sizeof o->annotator)
        return alq_error_set(ALQ_ERR_USAGE, "--annotator needs a name of 1 to %d bytes", ALQ_ANNOTATOR_MAX - 1);
      strcpy(o->annotator, optarg);
      break;
    case 'f':
      if (!alq_answers_format_parse(optarg, &o->format))
        return alq_error_set(ALQ_ERR_USAGE, "--format is auto, csv, tsv, jsonl or label-studio, not '%s'", optarg);
      break;
    case 'r': o->replace = 1; break;
    case 'p': ALQ_CHECK(alq_arg_path("--pool", optarg, o->pool, sizeof o->pool)); break;
    case 'c':
      if (!optarg[0] || strlen(optarg) >= sizeof o->choices_name)
        return alq_error_set(ALQ_ERR_USAGE, "--choices-name needs a name of 1 to %d bytes",
                             (int)sizeof o->choices_name - 1);
      strcpy(o->choices_name, optarg);
      break;
    case 'q': o->quiet = 1; break;
    case 'h': return -1;
    default: return alq_arg_unknown("ingest", optopt, argv[optind - 1]);
    }
  }
  if (optind < argc)
    return alq_error_set(ALQ_ERR_USAGE, "alq ingest: unexpected argument '%s'", argv[optind]);
  if (!o->state[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq ingest needs --state FILE");
  if (!o->labels[0])
    return alq_error_set(ALQ_ERR_USAGE, "alq ingest needs --labels FILE");
  const alq_path_use paths[] = {{"--state", o->state, ALQ_PATH_UPDATE},
                                {"--labels", o->labels, ALQ_PATH_INPUT},
                                {"--pool", o->pool, ALQ_PATH_INPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

int alq_cmd_ingest(int argc, char **argv) {
  alq_ingest_options o;
  int action = parse(argc, argv, &o);
  if (action == -1) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (action)
    return alq_cli_fail(action);
  alq_err err = alq_ingest_run(&o);
  return err ? alq_cli_fail(err) : ALQ_OK;
}
