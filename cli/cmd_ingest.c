/* cli/cmd_ingest.c: `alq ingest`: annotators' answers into the round state,
 * all or nothing. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alq/labels.h"
#include "alq/paths.h"
#include "alq/state.h"
#include "alq/state_lock.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq ingest --state STATE.h5 --labels ANSWERS.csv [--annotator NAME] [--quiet]\n"
    "\n"
    "Merges annotators' answers into the round state.  ANSWERS.csv has a header\n"
    "naming at least the columns id and label, and optionally annotator (other\n"
    "columns, such as the payload alq export wrote, are ignored); fields may be\n"
    "quoted as in RFC 4180.  A row with an empty label is an unanswered task and\n"
    "is skipped.  Several annotators may answer one item: every answer is kept,\n"
    "and the item's label is the one most answers give (docs/format.md).\n"
    "\n"
    "options:\n"
    "  --state FILE       the state alq select --state created\n"
    "  --labels FILE      the answers\n"
    "  --annotator NAME   annotator of rows without an annotator column or value\n"
    "                     (default: anonymous)\n"
    "  --quiet            no summary on stderr\n"
    "  --help             this text\n"
    "\n"
    "Rejected with one line naming the file and line, leaving the state file\n"
    "unchanged byte for byte (exit 3): an id never sent out for labeling, a label\n"
    "that is not an integer in [0, classes), one annotator giving an item two\n"
    "different labels (in this file, or against an earlier answer), a malformed\n"
    "CSV.  Repeating an earlier answer changes nothing.\n";

typedef struct {
  char state[ALQ_PATH_MAX];
  char labels[ALQ_PATH_MAX];
  char annotator[ALQ_ANNOTATOR_MAX];
  int quiet;
} ingest_options;

/* Returns -1 for --help, else an alq_err. */
static int parse(int argc, char **argv, ingest_options *o) {
  static const struct option longopts[] = {{"state", required_argument, 0, 's'},
                                           {"labels", required_argument, 0, 'l'},
                                           {"annotator", required_argument, 0, 'a'},
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
  const alq_path_use paths[] = {{"--state", o->state, ALQ_PATH_UPDATE}, {"--labels", o->labels, ALQ_PATH_INPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

static alq_err ingest_locked(const ingest_options *o) {
  alq_state st;
  ALQ_CHECK(alq_state_read(o->state, &st));
  alq_answer_list answers = {0};
  const alq_answers_options format = {.format = ALQ_ANSWERS_CSV, .default_annotator = o->annotator};
  int64_t added = 0;
  alq_err err = alq_answers_read(o->labels, &format, &answers);
  if (!err) {
    err = alq_state_ingest(&st, o->labels, answers.rows, answers.n, (int64_t)time(NULL), &added);
    /* Nothing new: leave the file alone rather than rewrite it identically. */
    if (!err && added > 0)
      err = alq_state_write(o->state, &st);
  }
  alq_labeled labeled = {0};
  int64_t *pending = NULL, n_pending = 0;
  if (!err && !o->quiet)
    err = alq_state_labeled(&st, &labeled);
  if (!err && !o->quiet)
    err = alq_state_pending(&st, &pending, &n_pending);
  if (!err && !o->quiet)
    fprintf(stderr,
            "alq: ingested %lld answer(s) from %s (%lld repeat(s) of known answers, %lld row(s) without a label): "
            "%lld item(s) labeled, %lld pending\n",
            (long long)added, o->labels, (long long)(answers.n - added), (long long)answers.skipped, (long long)labeled.n,
            (long long)n_pending);
  alq_labeled_free(&labeled);
  free(pending);
  alq_state_free(&st); /* zeroed when the read failed */
  alq_answer_list_free(&answers);
  return err;
}

/* Held from the read to the rename: a concurrent ingest waits, so no
 * update is lost (alq/state_lock.h). */
static alq_err ingest(const ingest_options *o) {
  if (!alq_state_exists(o->state))
    return ingest_locked(o); /* fails on the read, naming the file: no lock for a state that is not there */
  alq_state_lock lock;
  ALQ_CHECK(alq_state_lock_take(o->state, o->quiet, &lock));
  alq_err err = ingest_locked(o);
  alq_state_lock_release(&lock);
  return err;
}

int alq_cmd_ingest(int argc, char **argv) {
  ingest_options o;
  int action = parse(argc, argv, &o);
  if (action == -1) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (action)
    return alq_cli_fail(action);
  alq_err err = ingest(&o);
  return err ? alq_cli_fail(err) : ALQ_OK;
}
