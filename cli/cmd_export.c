/* cli/cmd_export.c: `alq export`: a batch as tasks for annotators, as CSV (a
 * label column to fill in, ready for alq ingest) and as JSON (one object per
 * item), with the payload columns the pool names. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/batch.h"
#include "alq/label_studio.h"
#include "alq/csv_records.h"
#include "alq/paths.h"
#include "alq/payload.h"
#include "alq/source.h"
#include "alq/state.h"
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

typedef struct {
  char batch[ALQ_PATH_MAX], csv[ALQ_PATH_MAX], json[ALQ_PATH_MAX], pool[ALQ_PATH_MAX];
  char state[ALQ_PATH_MAX], ls_config[ALQ_PATH_MAX];
  char payload[4096]; /* comma-separated names, "" = all */
  char choices_name[256], to_name[ALQ_PAYLOAD_NAME_MAX];
  int payload_given, label_studio, predictions;
} export_options;

/* The options' files and the pool the batch records, when that is the one read. */
static alq_err check_paths(const export_options *o, const char *pool) {
  const alq_path_use paths[] = {{"--batch", o->batch, ALQ_PATH_INPUT},
                                {o->pool[0] ? "--pool" : "the batch's pool", alq_paths_pool_file(pool), ALQ_PATH_INPUT},
                                {"--state", o->state, ALQ_PATH_INPUT},
                                {"--csv", o->csv, ALQ_PATH_OUTPUT},
                                {"--json", o->json, ALQ_PATH_OUTPUT},
                                {"--ls-config", o->ls_config, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

static int parse(int argc, char **argv, export_options *o) {
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
  return check_paths(o, o->pool);
}

/* The payload columns to export: --payload's list, or every column of the pool. */
static alq_err column_names(const export_options *o, const char *pool, char (**names)[ALQ_PAYLOAD_NAME_MAX],
                            int64_t *n) {
  if (!o->payload_given)
    return alq_payload_names(pool, names, n);
  *n = 0;
  ALQ_CHECK(alq_malloc(names, sizeof **names * (strlen(o->payload) / 2 + 1), "payload names"));
  for (const char *p = o->payload; *p;) {
    size_t len = strcspn(p, ",");
    if (len == 0 || len >= ALQ_PAYLOAD_NAME_MAX) {
      free(*names);
      return alq_error_set(ALQ_ERR_USAGE, "--payload expects comma-separated column names, got '%s'", o->payload);
    }
    snprintf((*names)[*n], ALQ_PAYLOAD_NAME_MAX, "%.*s", (int)len, p);
    (*n)++;
    p += len + (p[len] == ',');
  }
  return ALQ_OK;
}

static int write_value(FILE *f, const alq_payload_column *c, int64_t i, int json) {
  char number[64];
  switch (c->kind) {
  case ALQ_PAYLOAD_INT: return fprintf(f, "%lld", (long long)c->ints[i]);
  case ALQ_PAYLOAD_FLOAT:
    if (json && !isfinite(c->floats[i]))
      return fputs("null", f); /* JSON has no NaN or infinity */
    snprintf(number, sizeof number, "%.17g", c->floats[i]);
    return fputs(number, f);
  case ALQ_PAYLOAD_TEXT: return json ? alq_json_write_string(f, c->texts[i]) : alq_csv_write_field(f, c->texts[i]);
  }
  return -1;
}

/* Everything the task files are written from. */
typedef struct {
  const alq_batch_file *b;
  const alq_payload_column *cols;
  int64_t n_cols;
  const alq_answered_by *answered; /* n = 0 without --state */
  const int8_t *relabel;           /* the batch's re-label flags; NULL: none */
  alq_label_studio_tasks ls;
} task_set;

static int write_answered_by(FILE *f, const alq_answered_by *a, int64_t i) {
  char names[4096] = "";
  size_t used = 0;
  for (int64_t k = 0; k < a->counts[i] && used < sizeof names; k++) {
    int w = snprintf(names + used, sizeof names - used, "%s%s", k ? ";" : "", a->names[i][k]);
    used = w < 0 ? sizeof names : used + (size_t)w;
  }
  return fputc(',', f) < 0 ? -1 : alq_csv_write_field(f, names);
}

static int write_csv(FILE *f, const task_set *t) {
  int rc = fputs("id", f);
  for (int64_t c = 0; rc >= 0 && c < t->n_cols; c++)
    rc = fputc(',', f) < 0 ? -1 : alq_csv_write_field(f, t->cols[c].name);
  if (rc >= 0 && t->relabel)
    rc = fputs(",relabel", f);
  if (rc >= 0 && t->answered->n)
    rc = fputs(",answered_by", f);
  rc = rc < 0 ? rc : fputs(",label\n", f);
  for (int64_t i = 0; rc >= 0 && i < t->b->n; i++) {
    rc = fprintf(f, "%lld", (long long)t->b->ids[i]);
    for (int64_t c = 0; rc >= 0 && c < t->n_cols; c++)
      rc = fputc(',', f) < 0 ? -1 : write_value(f, &t->cols[c], i, 0);
    if (rc >= 0 && t->relabel)
      rc = fprintf(f, ",%d", t->relabel[i] != 0);
    if (rc >= 0 && t->answered->n)
      rc = write_answered_by(f, t->answered, i);
    rc = rc < 0 ? rc : fputs(",\n", f);
  }
  return rc;
}

static int write_json(FILE *f, const task_set *t) {
  int rc = fputs("[", f);
  for (int64_t i = 0; rc >= 0 && i < t->b->n; i++) {
    rc = fprintf(f, "%s\n  {\"id\": %lld", i ? "," : "", (long long)t->b->ids[i]);
    for (int64_t c = 0; rc >= 0 && c < t->n_cols; c++) {
      rc = fputs(", ", f) < 0 ? -1 : alq_json_write_string(f, t->cols[c].name);
      rc = rc < 0 ? rc : fputs(": ", f) < 0 ? -1 : write_value(f, &t->cols[c], i, 1);
    }
    rc = rc < 0 ? rc : fputs("}", f);
  }
  return rc < 0 ? rc : fputs("\n]\n", f);
}

enum { FILE_CSV, FILE_JSON, FILE_LABEL_STUDIO, FILE_LS_CONFIG };

/* Writes the task file `path` to its temporary name `tmp` (renamed by write_tasks). */
static alq_err write_file(const char *tmp, const char *path, int kind, const task_set *t) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", path, strerror(errno));
  const char *to = t->ls.to_name;
  int image = strstr(to, "image") || strstr(to, "img") || strstr(to, "url");
  int rc = kind == FILE_CSV ? write_csv(f, t)
         : kind == FILE_JSON ? write_json(f, t)
         : kind == FILE_LABEL_STUDIO ? alq_label_studio_write(f, &t->ls)
                                     : alq_label_studio_write_config(f, &t->ls, image);
  if (fclose(f) != 0 || rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s: %s", path, strerror(errno));
  return ALQ_OK;
}

/* Every task file or none, each whole: temporary names, renamed together. */
static alq_err write_tasks(const export_options *o, const task_set *t) {
  char tmp_names[3][ALQ_PATH_MAX + 32];
  const char *tmp[3], *final_path[3];
  int kind[3], n = 0;
  const char *paths[3] = {o->csv, o->json, o->ls_config};
  const int kinds[3] = {FILE_CSV, o->label_studio ? FILE_LABEL_STUDIO : FILE_JSON, FILE_LS_CONFIG};
  for (int i = 0; i < 3; i++) {
    if (!paths[i][0])
      continue;
    ALQ_CHECK(alq_paths_temp(paths[i], tmp_names[n], sizeof tmp_names[n]));
    tmp[n] = tmp_names[n];
    final_path[n] = paths[i];
    kind[n++] = kinds[i];
  }
  alq_err err = ALQ_OK;
  for (int i = 0; i < n && !err; i++)
    err = write_file(tmp[i], final_path[i], kind[i], t);
  if (err) {
    alq_paths_discard(tmp, n);
    return err;
  }
  return alq_paths_commit(tmp, final_path, n);
}

static alq_err reserved_name(const char *name) {
  if (strcmp(name, "id") == 0 || strcmp(name, "label") == 0 || strcmp(name, "answered_by") == 0 ||
      strcmp(name, "relabel") == 0 ||
      strcmp(name, "alq_id") == 0)
    return alq_error_set(ALQ_ERR_INPUT, "payload column '%s' would collide with the task's own '%s' field", name,
                         name);
  return ALQ_OK;
}

/* The object tag a Label Studio result labels: --to-name, else the payload
 * column "text", else the first column, else "text". */
static const char *default_to_name(const export_options *o, const alq_payload_column *cols, int64_t n_cols) {
  if (o->to_name[0])
    return o->to_name;
  for (int64_t c = 0; c < n_cols; c++)
    if (strcmp(cols[c].name, "text") == 0)
      return "text";
  return n_cols ? cols[0].name : "text";
}

/* What --state adds: who answered each item, and the round that sent the batch out. */
static alq_err read_state(const export_options *o, const alq_batch_file *b, alq_answered_by *answered,
                          int64_t *round) {
  memset(answered, 0, sizeof *answered);
  *round = 0;
  if (!o->state[0])
    return ALQ_OK;
  alq_state st;
  ALQ_CHECK(alq_state_read(o->state, &st));
  alq_err err = alq_state_answered_by(&st, b->ids, b->n, answered);
  /* Names point into the state's table: copy them out before it is freed. */
  for (int64_t i = 0; !err && i < answered->n; i++)
    for (int64_t k = 0; !err && k < answered->counts[i]; k++)
      if (!(answered->names[i][k] = strdup(answered->names[i][k])))
        err = alq_error_set(ALQ_ERR_MEMORY, "out of memory for annotator names");
  *round = alq_state_round_of_batch(&st, b->ids, b->n);
  alq_state_free(&st);
  return err;
}

static void answered_free(alq_answered_by *a) {
  for (int64_t i = 0; a->names && i < a->n; i++)
    for (int64_t k = 0; k < a->counts[i]; k++)
      free((char *)a->names[i][k]);
  alq_answered_by_free(a);
}

/* The Label Studio side: class names, predictions, tags. */
static alq_err label_studio_tasks(const export_options *o, const alq_pool_meta *meta, const alq_batch_file *b,
                                  int is_file, alq_class_names *classes, int32_t **top, float **score,
                                  alq_label_studio_tasks *ls) {
  if (!o->label_studio)
    return ALQ_OK;
  if (is_file)
    ALQ_CHECK(alq_class_names_read(meta->path, meta->n_classes, classes));
  ls->classes = classes;
  ls->n_classes = meta->n_classes;
  ls->choices_name = o->choices_name[0] ? o->choices_name : "label";
  ls->model_version = "alq";
  if (!o->predictions)
    return ALQ_OK;
  size_t m = (size_t)(b->n ? b->n : 1);
  ALQ_CHECK(alq_malloc(top, m * sizeof **top, "predicted classes"));
  ALQ_CHECK(alq_malloc(score, m * sizeof **score, "predicted scores"));
  ALQ_CHECK(alq_top_class_of_ids(meta, b->ids, b->n, *top, *score));
  ls->top_class = *top;
  ls->top_score = *score;
  return ALQ_OK;
}

static alq_err export_batch(const export_options *o) {
  alq_batch_file b;
  ALQ_CHECK(alq_batch_file_read(o->batch, &b));
  const char *pool = o->pool[0] ? o->pool : b.pool;
  /* Without --pool, the pool read is known only now, and nothing is written yet. */
  alq_err err = o->pool[0] ? ALQ_OK : check_paths(o, pool);
  alq_pool_meta meta;
  int64_t *rows = NULL, n_names = 0, n_cols = 0, round = 0;
  char(*names)[ALQ_PAYLOAD_NAME_MAX] = NULL;
  alq_payload_column *cols = NULL;
  alq_answered_by answered = {0};
  alq_class_names classes = {0};
  int32_t *top = NULL;
  float *score = NULL;
  int8_t *relabel = NULL;
  task_set t = {.b = &b, .answered = &answered};
  if (!err)
    err = alq_source_describe(pool, &meta);
  /* A generated pool (gen:...) has no file, so no payload. */
  int is_file = strncmp(pool, "gen:", 4) != 0;
  if (!err)
    err = alq_malloc(&rows, sizeof *rows * (size_t)(b.n ? b.n : 1), "batch rows");
  if (!err)
    err = alq_pool_rows_of_ids(&meta, b.ids, b.n, rows);
  if (!err && is_file)
    err = column_names(o, pool, &names, &n_names);
  if (!err && !is_file && o->payload_given)
    err = alq_error_set(ALQ_ERR_INPUT, "--payload: generated pool %s has no payload columns", pool);
  if (!err)
    err = alq_calloc(&cols, (size_t)(n_names ? n_names : 1), sizeof *cols, "payload columns");
  for (; !err && n_cols < n_names; n_cols++) {
    err = reserved_name(names[n_cols]);
    if (!err)
      err = alq_payload_read(&meta, names[n_cols], rows, b.n, &cols[n_cols]);
  }
  if (!err)
    err = read_state(o, &b, &answered, &round);
  if (!err)
    err = alq_batch_relabel_read(o->batch, b.n, &relabel);
  int64_t n_relabel = 0;
  for (int64_t i = 0; relabel && i < b.n; i++)
    n_relabel += relabel[i] != 0;
  if (!err && n_relabel && !o->state[0])
    fprintf(stderr, "alq: note: %lld re-label item(s) in %s: give --state STATE.h5 to list who already answered them\n",
            (long long)n_relabel, o->batch);
  if (!err)
    err = label_studio_tasks(o, &meta, &b, is_file, &classes, &top, &score, &t.ls);
  if (!err) {
    t.cols = cols;
    t.n_cols = n_cols;
    t.relabel = relabel;
    t.ls.relabel = relabel;
    t.ls.n = b.n;
    t.ls.ids = b.ids;
    t.ls.round = round;
    t.ls.n_columns = n_cols;
    t.ls.columns = cols;
    t.ls.to_name = default_to_name(o, cols, n_cols);
    t.ls.n_answered_by = answered.n ? answered.counts : NULL;
    t.ls.answered_by = answered.n ? (const char *const *const *)answered.names : NULL;
    err = write_tasks(o, &t);
  }
  if (!err)
    fprintf(stderr, "alq: exported %lld task(s) with %lld payload column(s)%s%s%s%s%s\n", (long long)b.n,
            (long long)n_cols, o->csv[0] ? ": " : "", o->csv, o->json[0] ? (o->csv[0] ? ", " : ": ") : "", o->json,
            o->label_studio ? (o->predictions ? " (Label Studio tasks with predictions)" : " (Label Studio tasks)")
                            : "");
  for (int64_t c = 0; c < n_cols; c++)
    alq_payload_column_free(&cols[c]);
  free(cols);
  free(names);
  free(rows);
  free(top);
  free(score);
  free(relabel);
  answered_free(&answered);
  alq_class_names_free(&classes);
  alq_batch_file_free(&b);
  return err;
}

int alq_cmd_export(int argc, char **argv) {
  if (alq_arg_layout_take(&argc, argv)) return alq_cli_fail(ALQ_ERR_USAGE);
  export_options o;
  int action = parse(argc, argv, &o);
  if (action == -1) {
    fputs(usage, stdout);
    return ALQ_OK;
  }
  if (action)
    return alq_cli_fail(action);
  alq_err err = export_batch(&o);
  return err ? alq_cli_fail(err) : ALQ_OK;
}
