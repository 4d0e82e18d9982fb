/* pool/import_csv.c: `alq import` (alq/import.h), a labeled CSV (plain or
 * gzip) into a pool file.  Any violation of the CSV rules stops the import
 * with one line naming the file, line, column and the offending text. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "alq/import.h"

/* The pool has max label + 1 classes, and per-class arrays (the stratified
 * draw, a model's outputs) are that long: one stray label of 5 x 10^8 made a
 * 31-byte file ask for 2 GB (found by tests/fuzz/fuzz_import.c). */
#define MAX_LABEL 999999

/* A growing table of parsed rows plus running column statistics. */
typedef struct {
  int64_t n_rows, cap_rows, n_features;
  float *features;
  int32_t *labels;
  double *mean, *m2; /* Welford, in double on the parsed values, per feature */
  int32_t max_label;
} table;

typedef struct {
  gzFile gz;
  const char *path;
  char *line;
  size_t cap;
  int64_t line_no;
  char *header;        /* a copy of the header line, split at commas */
  char **column_names; /* n_columns pointers into header */
  int64_t n_columns;
} csv_reader;

/* Reads the next line, of any length, into r->line without its line ending.
 * *got is 0 at the end of the file. */
static alq_err read_line(csv_reader *r, int *got) {
  size_t len = 0;
  *got = 0;
  for (;;) {
    if (r->cap - len < 2) {
      size_t cap = r->cap ? 2 * r->cap : 4096;
      char *line = realloc(r->line, cap);
      if (!line)
        return alq_error_set(ALQ_ERR_MEMORY, "%s line %lld: cannot allocate %zu bytes for the line",
                             r->path, (long long)r->line_no + 1, cap);
      r->line = line;
      r->cap = cap;
    }
    if (!gzgets(r->gz, r->line + len, (int)(r->cap - len > INT32_MAX ? INT32_MAX : r->cap - len))) {
      int code;
      const char *why = gzerror(r->gz, &code);
      if (code != Z_OK && code != Z_STREAM_END)
        return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: cannot read: %s", r->path,
                             (long long)r->line_no + 1, code == Z_ERRNO ? strerror(errno) : why);
      if (len == 0)
        return ALQ_OK; /* end of file */
      break;           /* a last line without a newline */
    }
    len += strlen(r->line + len);
    if (len > 0 && r->line[len - 1] == '\n')
      break;
  }
  while (len > 0 && (r->line[len - 1] == '\n' || r->line[len - 1] == '\r'))
    r->line[--len] = '\0';
  r->line_no++;
  *got = 1;
  return ALQ_OK;
}

/* Strips blanks around a field in place. */
static char *trim(char *field) {
  while (*field == ' ' || *field == '\t')
    field++;
  char *end = field + strlen(field);
  while (end > field && (end[-1] == ' ' || end[-1] == '\t'))
    *--end = '\0';
  return field;
}

static int blank(const char *line) {
  return line[strspn(line, " \t")] == '\0';
}

/* Splits `line` at commas in place into at most `max` fields; returns the
 * number of fields found (which may exceed max: the caller reports it). */
static int64_t split(char *line, char **fields, int64_t max) {
  int64_t n = 0;
  for (char *field = line;; field++) {
    char *comma = strchr(field, ',');
    if (comma)
      *comma = '\0';
    if (n < max)
      fields[n] = trim(field);
    n++;
    if (!comma)
      return n;
    field = comma;
  }
}

static alq_err read_header(csv_reader *r) {
  int got;
  ALQ_CHECK(read_line(r, &got));
  if (!got)
    return alq_error_set(ALQ_ERR_INPUT, "%s line 1: empty file, expected a header line", r->path);
  r->n_columns = 1;
  for (const char *c = r->line; *c; c++)
    r->n_columns += *c == ',';
  if (r->n_columns < 2)
    return alq_error_set(ALQ_ERR_INPUT,
                         "%s line 1: header '%.60s' has 1 column, expected features then a label",
                         r->path, r->line);
  ALQ_CHECK(alq_malloc(&r->header, strlen(r->line) + 1, "CSV header"));
  strcpy(r->header, r->line);
  ALQ_CHECK(alq_malloc(&r->column_names, sizeof(char *) * (size_t)r->n_columns, "CSV column names"));
  split(r->header, r->column_names, r->n_columns);
  return ALQ_OK;
}

static alq_err grow(table *t) {
  int64_t cap = t->cap_rows ? 2 * t->cap_rows : 1024;
  float *features = realloc(t->features, sizeof(float) * (size_t)(cap * t->n_features));
  if (!features)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot allocate room for %lld rows of %lld features",
                         (long long)cap, (long long)t->n_features);
  t->features = features;
  int32_t *labels = realloc(t->labels, sizeof(int32_t) * (size_t)cap);
  if (!labels)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot allocate room for %lld labels", (long long)cap);
  t->labels = labels;
  t->cap_rows = cap;
  return ALQ_OK;
}

/* Parses one data line (already split into r->n_columns fields) into the table. */
static alq_err parse_row(const csv_reader *r, char **fields, table *t) {
  if (t->n_rows == t->cap_rows)
    ALQ_CHECK(grow(t));
  float *row = t->features + t->n_rows * t->n_features;
  double count = (double)(t->n_rows + 1);
  for (int64_t j = 0; j <= t->n_features; j++) {
    const char *text = fields[j];
    char *end;
    double v = strtod(text, &end);
    int numeric = end != text && *end == '\0';
    if (j == t->n_features) {
      if (!numeric || !(v >= 0 && v <= INT32_MAX - 1) || v != floor(v))
        return alq_error_set(ALQ_ERR_INPUT,
                             "%s line %lld column %lld (%s): label '%.40s' is not an integer >= 0",
                             r->path, (long long)r->line_no, (long long)j + 1, r->column_names[j], text);
      if (v > MAX_LABEL)
        return alq_error_set(ALQ_ERR_INPUT, "%s line %lld column %lld (%s): label %.40s is above %d, the largest "
                             "class alq import accepts (labels are 0..K-1)", r->path, (long long)r->line_no,
                             (long long)j + 1, r->column_names[j], text, MAX_LABEL);
      t->labels[t->n_rows] = (int32_t)v;
      if (t->labels[t->n_rows] > t->max_label)
        t->max_label = t->labels[t->n_rows];
      break;
    }
    if (!numeric)
      return alq_error_set(ALQ_ERR_INPUT, "%s line %lld column %lld (%s): '%.40s' is not a number",
                           r->path, (long long)r->line_no, (long long)j + 1, r->column_names[j], text);
    if (!(fabs(v) <= FLT_MAX))
      return alq_error_set(ALQ_ERR_INPUT,
                           "%s line %lld column %lld (%s): '%.40s' is not a finite float32 value",
                           r->path, (long long)r->line_no, (long long)j + 1, r->column_names[j], text);
    row[j] = (float)v;
    double delta = v - t->mean[j];
    t->mean[j] += delta / count;
    t->m2[j] += delta * (v - t->mean[j]);
  }
  t->n_rows++;
  return ALQ_OK;
}

static alq_err read_rows(csv_reader *r, table *t) {
  t->n_features = r->n_columns - 1;
  t->max_label = -1;
  ALQ_CHECK(alq_calloc(&t->mean, (size_t)(2 * t->n_features), sizeof(double), "feature statistics"));
  t->m2 = t->mean + t->n_features;
  char **fields;
  ALQ_CHECK(alq_malloc(&fields, sizeof(char *) * (size_t)r->n_columns, "CSV fields"));
  alq_err err = ALQ_OK;
  int got;
  while (!err && !(err = read_line(r, &got)) && got) {
    if (blank(r->line))
      continue;
    int64_t n = split(r->line, fields, r->n_columns);
    if (n != r->n_columns)
      err = alq_error_set(ALQ_ERR_INPUT, "%s line %lld: %lld fields, expected %lld as in the header",
                          r->path, (long long)r->line_no, (long long)n, (long long)r->n_columns);
    else
      err = parse_row(r, fields, t);
  }
  free(fields);
  if (!err && t->n_rows == 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s line %lld: no data rows after the header on line 1",
                        r->path, (long long)r->line_no + 1);
  return err;
}

static alq_err read_csv(const char *path, table *t) {
  csv_reader r = {.path = path};
  errno = 0;
  r.gz = gzopen(path, "rb");
  if (!r.gz)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open %s: %s", path,
                         errno ? strerror(errno) : "out of memory");
  alq_err err = read_header(&r);
  if (!err)
    err = read_rows(&r, t);
  gzclose(r.gz);
  free(r.line);
  free(r.header);
  free(r.column_names);
  return err;
}

/* Z-scores each feature with the population mean and std of the parsed values. */
static void standardize(table *t) {
  for (int64_t j = 0; j < t->n_features; j++) {
    double std = sqrt(t->m2[j] / (double)t->n_rows);
    for (int64_t i = 0; i < t->n_rows; i++) {
      float *x = t->features + i * t->n_features + j;
      *x = std > 0 ? (float)(((double)*x - t->mean[j]) / std) : 0.0f;
    }
  }
}

alq_err alq_import_csv(const alq_import_options *o, alq_import_result *result) {
  memset(result, 0, sizeof *result);
  table t = {0};
  alq_labeled labeled = {0, NULL, NULL};
  alq_err err = read_csv(o->csv, &t);
  if (!err && o->standardize)
    standardize(&t);
  if (!err && o->n_labeled > 0)
    err = alq_labeled_draw_stratified(t.labels, NULL, t.n_rows, (int64_t)t.max_label + 1, o->n_labeled,
                                      o->seed, &labeled);
  if (!err) {
    alq_pool_data pool = {.n_items = t.n_rows,
                          .dim = t.n_features,
                          .n_classes = (int64_t)t.max_label + 1,
                          .embeddings = t.features,
                          .labels = t.labels,
                          .labeled = labeled};
    err = alq_pool_write_stored(o->out, &pool, o->float16 ? 2 : 4);
  }
  if (!err)
    *result = (alq_import_result){t.n_rows, t.n_features, (int64_t)t.max_label + 1, labeled.n};
  free(t.features);
  free(t.labels);
  free(t.mean);
  alq_labeled_free(&labeled);
  return err;
}
