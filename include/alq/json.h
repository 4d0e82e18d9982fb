/* alq/json.h: a small, strict JSON reader (RFC 8259) for the files labeling
 * tools write (Label Studio exports, JSON Lines answers).
 *
 * Strict: one value, optionally surrounded by white space; no comments,
 * trailing commas, NaN, single quotes or control characters in strings;
 * strings must be valid UTF-8 and may not hold \u0000; nesting deeper than
 * ALQ_JSON_MAX_DEPTH is refused.  The whole document becomes a tree of
 * values; errors name the file and line.  Parsing works on a memory buffer
 * and never reads past `len`, so a fuzzer can drive it directly. */
#ifndef ALQ_JSON_H
#define ALQ_JSON_H
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"

#define ALQ_JSON_MAX_DEPTH 64

typedef enum {
  ALQ_JSON_NULL,
  ALQ_JSON_FALSE,
  ALQ_JSON_TRUE,
  ALQ_JSON_NUMBER,
  ALQ_JSON_STRING,
  ALQ_JSON_ARRAY,
  ALQ_JSON_OBJECT,
} alq_json_kind;

typedef struct alq_json alq_json;
struct alq_json {
  alq_json_kind kind;
  int64_t line;       /* where the value starts, 1-based */
  char *text;         /* STRING: the decoded UTF-8; NUMBER: the literal as written */
  int64_t n;          /* ARRAY, OBJECT: number of members */
  alq_json *items;    /* ARRAY: the elements; OBJECT: the member values */
  char **keys;        /* OBJECT: the member names (decoded), aligned with items */
};

/* Parses `len` bytes of `text` into *root (free with alq_json_free).  `name`
 * starts every message.  A leading UTF-8 byte-order mark is skipped.
 * `first_line` numbers the first line (1 for a file; the line of a record in
 * JSON Lines). */
alq_err alq_json_parse(const char *name, const char *text, size_t len, int64_t first_line, alq_json *root);
void alq_json_free(alq_json *v);

/* The member `key` of an object (the first, if repeated), or NULL when `v` is
 * not an object or has no such member. */
const alq_json *alq_json_get(const alq_json *v, const char *key);

/* 1 and *out when `v` is a number whose value is an integer in [min, max]
 * ("15" and "15.0" are; "15.5" and "1e400" are not), else 0. */
int alq_json_integer(const alq_json *v, int64_t min, int64_t max, int64_t *out);

/* Name of a kind, for messages ("an object", "a string", ...). */
const char *alq_json_kind_name(alq_json_kind kind);

#endif
