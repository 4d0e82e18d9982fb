/* alq/csv_records.h: delimited text as RFC 4180 writes it (quoted fields may
 * hold the separator, quotes and line breaks; CRLF or LF line ends), and JSON
 * strings, for the annotator-facing files of alq export and alq ingest.
 *
 * Parsing works on a memory buffer (alq_csv_parse) so a fuzzer can drive it
 * directly; alq_csv_read reads a file and parses it.  The parser never reads
 * past `len` bytes and copies the buffer, so the caller's bytes are unchanged. */
#ifndef ALQ_CSV_RECORDS_H
#define ALQ_CSV_RECORDS_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "alq/error.h"

typedef struct {
  int64_t line; /* where the record starts, 1-based */
  int64_t n_fields;
  char **fields; /* unquoted, NUL-terminated */
} alq_csv_record;

typedef struct {
  char *text;       /* a copy of the input, fields point into it */
  char **field_ptrs;
  int64_t n_records;
  alq_csv_record *records; /* blank lines are not records */
} alq_csv_table;

/* Splits `len` bytes of `text` into records of fields separated by
 * `separator` (',' for CSV, '\t' for TSV).  `name` (a file name) starts every
 * message.  A leading UTF-8 byte-order mark is skipped.  Input error naming
 * the line for an unterminated quote or text after a closing quote, and the
 * file for a NUL byte; on error *t is empty (alq_csv_free is still safe). */
alq_err alq_csv_parse(const char *name, const char *text, size_t len, char separator, alq_csv_table *t);

/* Reads the whole file `path` and parses it as above. */
alq_err alq_csv_read(const char *path, char separator, alq_csv_table *t);

void alq_csv_free(alq_csv_table *t);

/* Write one CSV field (quoted when it holds a comma, quote or line break) or
 * one JSON string; return negative on a write error. */
int alq_csv_write_field(FILE *f, const char *value);
int alq_json_write_string(FILE *f, const char *value);

#endif
