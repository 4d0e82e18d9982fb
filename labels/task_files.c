/* labels/task_files.c: the task files of `alq export` (alq/export.h): CSV
 * and JSON written here, Label Studio's through alq/label_studio.h; all under
 * temporary names, renamed together. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "alq/csv_records.h"
#include "alq/paths.h"
#include "labels_internal.h"

int alq_payload_value_write(FILE *f, const alq_payload_column *c, int64_t i, int json) {
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

static int write_answered_by(FILE *f, const alq_answered_by *a, int64_t i) {
  char names[4096] = "";
  size_t used = 0;
  for (int64_t k = 0; k < a->counts[i] && used < sizeof names; k++) {
    int w = snprintf(names + used, sizeof names - used, "%s%s", k ? ";" : "", a->names[i][k]);
    used = w < 0 ? sizeof names : used + (size_t)w;
  }
  return fputc(',', f) < 0 ? -1 : alq_csv_write_field(f, names);
}

static int write_csv(FILE *f, const alq_export_tasks *t) {
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
      rc = fputc(',', f) < 0 ? -1 : alq_payload_value_write(f, &t->cols[c], i, 0);
    if (rc >= 0 && t->relabel)
      rc = fprintf(f, ",%d", t->relabel[i] != 0);
    if (rc >= 0 && t->answered->n)
      rc = write_answered_by(f, t->answered, i);
    rc = rc < 0 ? rc : fputs(",\n", f);
  }
  return rc;
}

static int write_json(FILE *f, const alq_export_tasks *t) {
  int rc = fputs("[", f);
  for (int64_t i = 0; rc >= 0 && i < t->b->n; i++) {
    rc = fprintf(f, "%s\n  {\"id\": %lld", i ? "," : "", (long long)t->b->ids[i]);
    for (int64_t c = 0; rc >= 0 && c < t->n_cols; c++) {
      rc = fputs(", ", f) < 0 ? -1 : alq_json_write_string(f, t->cols[c].name);
      rc = rc < 0 ? rc : fputs(": ", f) < 0 ? -1 : alq_payload_value_write(f, &t->cols[c], i, 1);
    }
    rc = rc < 0 ? rc : fputs("}", f);
  }
  return rc < 0 ? rc : fputs("\n]\n", f);
}

enum { FILE_CSV, FILE_JSON, FILE_LABEL_STUDIO, FILE_LS_CONFIG };

/* Writes the task file `path` to its temporary name `tmp` (renamed by alq_export_write_tasks). */
static alq_err write_file(const char *tmp, const char *path, int kind, const alq_export_tasks *t) {
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

alq_err alq_export_write_tasks(const alq_export_options *o, const alq_export_tasks *t) {
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
