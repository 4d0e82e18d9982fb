/* labels/csv_records.c: RFC 4180 records from memory or a file, and the
 * field and string writers (alq/csv_records.h). */
#include "alq/csv_records.h"

#include <stdlib.h>
#include <string.h>

#include "alq/text_file.h"

/* A line break starts at p: "\n", "\r\n", or a final "\r". */
static int line_break(const char *p) { return p[0] == '\n' || (p[0] == '\r' && (p[1] == '\n' || p[1] == '\0')); }

static const char *skip_break(const char *p) { return p + (p[0] == '\r' && p[1] == '\n' ? 2 : 1); }

/* Growable arrays of the split: field pointers, and per record its line and
 * first field (rec_first has one extra slot for the end). */
typedef struct {
  char **fields;
  int64_t n_fields, cap_fields;
  alq_csv_record *records;
  int64_t *rec_first;
  int64_t n_records, cap_records;
} split_state;

static int grow(void *pptr, int64_t *cap, size_t elem, int64_t extra) {
  int64_t want = *cap ? 2 * *cap : 256;
  void *p = realloc(*(void **)pptr, (size_t)(want + extra) * elem);
  if (!p)
    return -1;
  *(void **)pptr = p;
  *cap = want;
  return 0;
}

static alq_err add_field(split_state *s, char *field) {
  if (s->n_fields == s->cap_fields && grow(&s->fields, &s->cap_fields, sizeof *s->fields, 0) < 0)
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory splitting a delimited file");
  s->fields[s->n_fields++] = field;
  return ALQ_OK;
}

static alq_err add_record(split_state *s, int64_t line) {
  if (s->n_records == s->cap_records) {
    int64_t cap = s->cap_records;
    if (grow(&s->records, &cap, sizeof *s->records, 0) < 0 ||
        grow(&s->rec_first, &s->cap_records, sizeof *s->rec_first, 1) < 0)
      return alq_error_set(ALQ_ERR_MEMORY, "out of memory splitting a delimited file");
  }
  s->records[s->n_records].line = line;
  s->rec_first[s->n_records++] = s->n_fields;
  return ALQ_OK;
}

/* One field starting at *pp, unquoted in place (a quoted field's content
 * shifts left over its quotes); *pp ends on the separator or line break. */
static alq_err parse_field(const char *name, char sep, char **pp, int64_t *line, char **field) {
  char *p = *pp, *out = p;
  *field = p;
  int64_t first_line = *line;
  if (*p != '"') {
    while (*p && *p != sep && !line_break(p))
      p++;
    out = p;
  } else {
    for (p++;;) {
      if (*p == '\0')
        return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: a quoted field is never closed", name,
                             (long long)first_line);
      if (*p == '"' && p[1] == '"') {
        *out++ = '"';
        p += 2;
      } else if (*p == '"') {
        p++;
        break;
      } else {
        *line += *p == '\n';
        *out++ = *p++;
      }
    }
    if (*p && *p != sep && !line_break(p))
      return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: text after the closing quote of a field", name,
                           (long long)*line);
  }
  *pp = p;
  /* Terminate after looking at the separator: out may sit on it. */
  if (out < p)
    *out = '\0';
  return ALQ_OK;
}

static alq_err split(const char *name, char separator, char *text, split_state *s) {
  char *p = text;
  int64_t line = 1;
  while (*p) {
    if (line_break(p)) { /* a blank line */
      p = (char *)skip_break(p);
      line++;
      continue;
    }
    ALQ_CHECK(add_record(s, line));
    for (;;) {
      char *field;
      ALQ_CHECK(parse_field(name, separator, &p, &line, &field));
      char sep = *p;
      if (sep == separator) {
        *p++ = '\0';
      } else if (sep) {
        char *next = (char *)skip_break(p);
        *p = '\0';
        p = next;
        line++;
      }
      ALQ_CHECK(add_field(s, field));
      if (sep != separator)
        break;
    }
  }
  if (s->rec_first)
    s->rec_first[s->n_records] = s->n_fields;
  return ALQ_OK;
}

alq_err alq_csv_parse(const char *name, const char *text, size_t len, char separator, alq_csv_table *t) {
  memset(t, 0, sizeof *t);
  if (memchr(text, '\0', len))
    return alq_error_set(ALQ_ERR_INPUT, "%s holds a NUL byte: not a text file", name);
  /* Excel starts UTF-8 CSV with a byte-order mark; it is not part of the first field. */
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
    text += 3;
    len -= 3;
  }
  ALQ_CHECK(alq_malloc(&t->text, len + 1, "a copy of the delimited text"));
  memcpy(t->text, text, len);
  t->text[len] = '\0';
  split_state s = {0};
  alq_err err = split(name, separator, t->text, &s);
  t->field_ptrs = s.fields;
  t->records = s.records;
  t->n_records = s.n_records;
  /* Records point into the field array only once it has stopped moving. */
  for (int64_t r = 0; !err && r < s.n_records; r++) {
    t->records[r].fields = s.fields + s.rec_first[r];
    t->records[r].n_fields = s.rec_first[r + 1] - s.rec_first[r];
  }
  free(s.rec_first);
  if (err)
    alq_csv_free(t);
  return err;
}

alq_err alq_csv_read(const char *path, char separator, alq_csv_table *t) {
  memset(t, 0, sizeof *t);
  char *text = NULL;
  size_t len = 0;
  ALQ_CHECK(alq_text_file_read(path, &text, &len));
  alq_err err = alq_csv_parse(path, text, len, separator, t);
  free(text);
  return err;
}

void alq_csv_free(alq_csv_table *t) {
  free(t->text);
  free(t->field_ptrs);
  free(t->records);
  memset(t, 0, sizeof *t);
}

int alq_csv_write_field(FILE *f, const char *value) {
  if (!strpbrk(value, ",\"\r\n"))
    return fputs(value, f);
  int rc = fputc('"', f);
  for (const char *c = value; rc >= 0 && *c; c++)
    rc = *c == '"' ? fputs("\"\"", f) : fputc(*c, f);
  return rc < 0 ? rc : fputc('"', f);
}

int alq_json_write_string(FILE *f, const char *value) {
  int rc = fputc('"', f);
  for (const unsigned char *c = (const unsigned char *)value; rc >= 0 && *c; c++) {
    switch (*c) {
    case '"': rc = fputs("\\\"", f); break;
    case '\\': rc = fputs("\\\\", f); break;
    case '\n': rc = fputs("\\n", f); break;
    case '\r': rc = fputs("\\r", f); break;
    case '\t': rc = fputs("\\t", f); break;
    default: rc = *c < 0x20 ? fprintf(f, "\\u%04x", *c) : fputc(*c, f);
    }
  }
  return rc < 0 ? rc : fputc('"', f);
}
