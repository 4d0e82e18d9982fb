/* cli/csv_records.h: CSV as RFC 4180 writes it (quoted fields may hold commas,
 * quotes and line breaks), and JSON strings, for the annotator-facing files of
 * alq export and alq ingest. */
#ifndef ALQ_CLI_CSV_RECORDS_H
#define ALQ_CLI_CSV_RECORDS_H
#include <stdint.h>
#include <stdio.h>
#include "alq/error.h"

typedef struct {
  int64_t line; /* where the record starts, 1-based */
  int64_t n_fields;
  char **fields; /* unquoted, NUL-terminated */
} alq_csv_record;

typedef struct {
  char *text;       /* the file, fields point into it */
  char **field_ptrs;
  int64_t n_records;
  alq_csv_record *records; /* blank lines are not records */
} alq_csv_table;

/* Reads and splits the whole file; input error naming the file and line for
 * an unterminated quote or text after a closing quote. */
alq_err alq_csv_read(const char *path, alq_csv_table *t);
void alq_csv_free(alq_csv_table *t);

/* Write one field or string; return negative on a write error. */
int alq_csv_write_field(FILE *f, const char *value);
int alq_json_write_string(FILE *f, const char *value);

#endif
