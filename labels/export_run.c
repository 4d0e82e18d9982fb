/* labels/export_run.c: `alq export` (alq/export.h): the batch, its pool's
 * payload columns at the batch's rows, who answered each item (--state) and
 * the Label Studio side, handed to the task files (labels/task_files.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/paths.h"
#include "alq/source.h"
#include "labels_internal.h"

alq_err alq_export_check_paths(const alq_export_options *o, const char *pool) {
  const alq_path_use paths[] = {{"--batch", o->batch, ALQ_PATH_INPUT},
                                {o->pool[0] ? "--pool" : "the batch's pool", alq_paths_pool_file(pool), ALQ_PATH_INPUT},
                                {"--state", o->state, ALQ_PATH_INPUT},
                                {"--csv", o->csv, ALQ_PATH_OUTPUT},
                                {"--json", o->json, ALQ_PATH_OUTPUT},
                                {"--ls-config", o->ls_config, ALQ_PATH_OUTPUT}};
  return alq_paths_check_distinct(paths, sizeof paths / sizeof paths[0]);
}

/* The payload columns to export: --payload's list, or every column of the pool. */
static alq_err column_names(const alq_export_options *o, const char *pool, char (**names)[ALQ_PAYLOAD_NAME_MAX],
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
static const char *default_to_name(const alq_export_options *o, const alq_payload_column *cols, int64_t n_cols) {
  if (o->to_name[0])
    return o->to_name;
  for (int64_t c = 0; c < n_cols; c++)
    if (strcmp(cols[c].name, "text") == 0)
      return "text";
  return n_cols ? cols[0].name : "text";
}

/* What --state adds: who answered each item, and the round that sent the batch out. */
static alq_err read_state(const alq_export_options *o, const alq_batch_file *b, alq_answered_by *answered,
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
static alq_err label_studio_tasks(const alq_export_options *o, const alq_pool_meta *meta, const alq_batch_file *b,
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

/* The payload columns at the batch's rows: o->payload's, or every column of
 * a pool file (a generated pool has none).  cols[0..*n_cols) are read
 * even on failure, for the caller to free. */
static alq_err read_columns(const alq_export_options *o, const char *pool, const alq_pool_meta *meta, int is_file,
                            const alq_batch_file *b, alq_payload_column **cols, int64_t *n_cols) {
  int64_t *rows = NULL, n_names = 0;
  char(*names)[ALQ_PAYLOAD_NAME_MAX] = NULL;
  alq_err err = alq_malloc(&rows, sizeof *rows * (size_t)(b->n ? b->n : 1), "batch rows");
  if (!err)
    err = alq_pool_rows_of_ids(meta, b->ids, b->n, rows);
  if (!err && is_file)
    err = column_names(o, pool, &names, &n_names);
  if (!err && !is_file && o->payload_given)
    err = alq_error_set(ALQ_ERR_INPUT, "--payload: generated pool %s has no payload columns", pool);
  if (!err)
    err = alq_calloc(cols, (size_t)(n_names ? n_names : 1), sizeof **cols, "payload columns");
  for (; !err && *n_cols < n_names; (*n_cols)++) {
    err = reserved_name(names[*n_cols]);
    if (!err)
      err = alq_payload_read(meta, names[*n_cols], rows, b->n, &(*cols)[*n_cols]);
  }
  free(names);
  free(rows);
  return err;
}

/* The batch's re-label flags (NULL: none), with a note when no state says
 * who answered them. */
static alq_err read_relabel(const alq_export_options *o, const alq_batch_file *b, int8_t **relabel) {
  ALQ_CHECK(alq_batch_relabel_read(o->batch, b->n, relabel));
  int64_t n_relabel = 0;
  for (int64_t i = 0; *relabel && i < b->n; i++)
    n_relabel += (*relabel)[i] != 0;
  if (n_relabel && !o->state[0])
    fprintf(stderr, "alq: note: %lld re-label item(s) in %s: give --state STATE.h5 to list who already answered them\n",
            (long long)n_relabel, o->batch);
  return ALQ_OK;
}

/* The task set's remaining fields, from what was read. */
static void fill_tasks(const alq_export_options *o, const alq_batch_file *b, const alq_payload_column *cols,
                       int64_t n_cols, const alq_answered_by *answered, const int8_t *relabel, int64_t round,
                       alq_export_tasks *t) {
  t->cols = cols;
  t->n_cols = n_cols;
  t->relabel = relabel;
  t->ls.relabel = relabel;
  t->ls.n = b->n;
  t->ls.ids = b->ids;
  t->ls.round = round;
  t->ls.n_columns = n_cols;
  t->ls.columns = cols;
  t->ls.to_name = default_to_name(o, cols, n_cols);
  t->ls.n_answered_by = answered->n ? answered->counts : NULL;
  t->ls.answered_by = answered->n ? (const char *const *const *)answered->names : NULL;
}

alq_err alq_export_run(const alq_export_options *o, alq_export_result *result) {
  memset(result, 0, sizeof *result);
  alq_batch_file b;
  ALQ_CHECK(alq_batch_file_read(o->batch, &b));
  const char *pool = o->pool[0] ? o->pool : b.pool;
  /* Without --pool, the pool read is known only now, and nothing is written yet. */
  alq_err err = o->pool[0] ? ALQ_OK : alq_export_check_paths(o, pool);
  alq_pool_meta meta;
  int64_t n_cols = 0, round = 0;
  alq_payload_column *cols = NULL;
  alq_answered_by answered = {0};
  alq_class_names classes = {0};
  int32_t *top = NULL;
  float *score = NULL;
  int8_t *relabel = NULL;
  alq_export_tasks t = {.b = &b, .answered = &answered};
  if (!err)
    err = alq_source_describe(pool, &meta);
  /* A generated pool (gen:...) has no file, so no payload. */
  int is_file = strncmp(pool, "gen:", 4) != 0;
  if (!err)
    err = read_columns(o, pool, &meta, is_file, &b, &cols, &n_cols);
  if (!err)
    err = read_state(o, &b, &answered, &round);
  if (!err)
    err = read_relabel(o, &b, &relabel);
  if (!err)
    err = label_studio_tasks(o, &meta, &b, is_file, &classes, &top, &score, &t.ls);
  if (!err) {
    fill_tasks(o, &b, cols, n_cols, &answered, relabel, round, &t);
    err = alq_export_write_tasks(o, &t);
  }
  if (!err)
    *result = (alq_export_result){b.n, n_cols};
  for (int64_t c = 0; c < n_cols; c++)
    alq_payload_column_free(&cols[c]);
  free(cols);
  free(top);
  free(score);
  free(relabel);
  answered_free(&answered);
  alq_class_names_free(&classes);
  alq_batch_file_free(&b);
  return err;
}
