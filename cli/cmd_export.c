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
#include "alq/csv_records.h"
#include "alq/paths.h"
#include "alq/payload.h"
#include "alq/source.h"
#include "args.h"
#include "commands.h"

static const char usage[] =
    "usage: alq export --batch BATCH.h5 [--csv TASKS.csv] [--json TASKS.json] [options]\n"
    "\n"
    "Writes the batch alq select chose as tasks for annotators, in selection order:\n"
    "  CSV   header id,<payload columns>,label; the label column is empty, for the\n"
    "        annotator to fill in; the filled-in file is what alq ingest reads\n"
    "  JSON  an array with one object per item: {\"id\": 17, \"<column>\": value, ...}\n"
    "Payload columns are the pool's /payload datasets (docs/format.md): text, URLs,\n"
    "numbers, whatever helps an annotator.  At least one of --csv and --json.\n"
    "\n"
    "options:\n"
    "  --batch FILE       batch written by alq select --out\n"
    "  --csv FILE         tasks as CSV\n"
    "  --json FILE        tasks as JSON\n"
    "  --pool FILE        the pool (default: the one the batch records)\n"
    "  --payload A,B      only these payload columns, in this order (default: all, by name)\n"
    "  --help             this text\n"
    "\n"
    "exit codes: 0 success, 2 usage, 3 bad input (missing column, id not in the pool), 4 cannot write\n";

typedef struct {
  char batch[ALQ_PATH_MAX], csv[ALQ_PATH_MAX], json[ALQ_PATH_MAX], pool[ALQ_PATH_MAX];
  char payload[4096]; /* comma-separated names, "" = all */
  int payload_given;
} export_options;

/* The options' files and the pool the batch records, when that is the one read. */
static alq_err check_paths(const export_options *o, const char *pool) {
  const alq_path_use paths[] = {{"--batch", o->batch, ALQ_PATH_INPUT},
                                {o->pool[0] ? "--pool" : "the batch's pool", alq_arg_pool_file(pool), ALQ_PATH_INPUT},
                                {"--csv", o->csv, ALQ_PATH_OUTPUT},
                                {"--json", o->json, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

static int parse(int argc, char **argv, export_options *o) {
  static const struct option longopts[] = {{"batch", required_argument, 0, 'b'}, {"csv", required_argument, 0, 'c'},
                                           {"json", required_argument, 0, 'j'},  {"pool", required_argument, 0, 'p'},
                                           {"payload", required_argument, 0, 'P'}, {"help", no_argument, 0, 'h'},
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

static int write_csv(FILE *f, const alq_batch_file *b, const alq_payload_column *cols, int64_t n_cols) {
  int rc = fputs("id", f);
  for (int64_t c = 0; rc >= 0 && c < n_cols; c++)
    rc = fputc(',', f) < 0 ? -1 : alq_csv_write_field(f, cols[c].name);
  rc = rc < 0 ? rc : fputs(",label\n", f);
  for (int64_t i = 0; rc >= 0 && i < b->n; i++) {
    rc = fprintf(f, "%lld", (long long)b->ids[i]);
    for (int64_t c = 0; rc >= 0 && c < n_cols; c++)
      rc = fputc(',', f) < 0 ? -1 : write_value(f, &cols[c], i, 0);
    rc = rc < 0 ? rc : fputs(",\n", f);
  }
  return rc;
}

static int write_json(FILE *f, const alq_batch_file *b, const alq_payload_column *cols, int64_t n_cols) {
  int rc = fputs("[", f);
  for (int64_t i = 0; rc >= 0 && i < b->n; i++) {
    rc = fprintf(f, "%s\n  {\"id\": %lld", i ? "," : "", (long long)b->ids[i]);
    for (int64_t c = 0; rc >= 0 && c < n_cols; c++) {
      rc = fputs(", ", f) < 0 ? -1 : alq_json_write_string(f, cols[c].name);
      rc = rc < 0 ? rc : fputs(": ", f) < 0 ? -1 : write_value(f, &cols[c], i, 1);
    }
    rc = rc < 0 ? rc : fputs("}", f);
  }
  return rc < 0 ? rc : fputs("\n]\n", f);
}

/* Writes the task file `path` to its temporary name `tmp` (renamed by export_batch). */
static alq_err write_file(const char *tmp, const char *path, int json, const alq_batch_file *b,
                          const alq_payload_column *cols, int64_t n_cols) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", path, strerror(errno));
  int rc = json ? write_json(f, b, cols, n_cols) : write_csv(f, b, cols, n_cols);
  if (fclose(f) != 0 || rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s: %s", path, strerror(errno));
  return ALQ_OK;
}

/* Both task files or neither, each whole: temporary names, renamed together. */
static alq_err write_tasks(const export_options *o, const alq_batch_file *b, const alq_payload_column *cols,
                           int64_t n_cols) {
  char tmp_csv[ALQ_PATH_MAX + 32] = "", tmp_json[ALQ_PATH_MAX + 32] = "";
  const char *tmp[2], *final_path[2];
  int n = 0;
  if (o->csv[0]) {
    ALQ_CHECK(alq_paths_temp(o->csv, tmp_csv, sizeof tmp_csv));
    tmp[n] = tmp_csv;
    final_path[n++] = o->csv;
  }
  if (o->json[0]) {
    ALQ_CHECK(alq_paths_temp(o->json, tmp_json, sizeof tmp_json));
    tmp[n] = tmp_json;
    final_path[n++] = o->json;
  }
  alq_err err = ALQ_OK;
  for (int i = 0; i < n && !err; i++)
    err = write_file(tmp[i], final_path[i], tmp[i] == tmp_json, b, cols, n_cols);
  if (err) {
    alq_paths_discard(tmp, n);
    return err;
  }
  return alq_paths_commit(tmp, final_path, n);
}

static alq_err reserved_name(const char *name) {
  if (strcmp(name, "id") == 0 || strcmp(name, "label") == 0)
    return alq_error_set(ALQ_ERR_INPUT, "payload column '%s' would collide with the task's own '%s' column", name,
                         name);
  return ALQ_OK;
}

static alq_err export_batch(const export_options *o) {
  alq_batch_file b;
  ALQ_CHECK(alq_batch_file_read(o->batch, &b));
  const char *pool = o->pool[0] ? o->pool : b.pool;
  /* Without --pool, the pool read is known only now, and nothing is written yet. */
  alq_err err = o->pool[0] ? ALQ_OK : check_paths(o, pool);
  alq_pool_meta meta;
  int64_t *rows = NULL, n_names = 0, n_cols = 0;
  char(*names)[ALQ_PAYLOAD_NAME_MAX] = NULL;
  alq_payload_column *cols = NULL;
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
    err = write_tasks(o, &b, cols, n_cols);
  if (!err)
    fprintf(stderr, "alq: exported %lld task(s) with %lld payload column(s)%s%s%s%s\n", (long long)b.n,
            (long long)n_cols, o->csv[0] ? ": " : "", o->csv, o->json[0] ? (o->csv[0] ? ", " : ": ") : "", o->json);
  for (int64_t c = 0; c < n_cols; c++)
    alq_payload_column_free(&cols[c]);
  free(cols);
  free(names);
  free(rows);
  alq_batch_file_free(&b);
  return err;
}

int alq_cmd_export(int argc, char **argv) {
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
