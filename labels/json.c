/* labels/json.c: a strict recursive-descent JSON reader (alq/json.h). */
#include "alq/json.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/integer_text.h"

typedef struct {
  const char *name;
  const unsigned char *p, *end;
  int64_t line;
} parser;

static alq_err fail(const parser *ps, const char *what) {
  return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: %s", ps->name, (long long)ps->line, what);
}

static void skip_space(parser *ps) {
  while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
    ps->line += *ps->p++ == '\n';
}

static int literal(parser *ps, const char *word) {
  size_t n = strlen(word);
  if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
    return 0;
  ps->p += n;
  return 1;
}

/* A growable byte buffer for a decoded string. */
typedef struct {
  char *data;
  size_t n, cap;
} bytes;

static alq_err put(bytes *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 32;
    while (cap < b->n + n + 1)
      cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p)
      return alq_error_set(ALQ_ERR_MEMORY, "out of memory for a JSON string");
    b->data = p;
    b->cap = cap;
  }
  memcpy(b->data + b->n, s, n);
  b->n += n;
  b->data[b->n] = '\0';
  return ALQ_OK;
}

static alq_err put_utf8(bytes *b, uint32_t c) {
  char u[4];
  size_t n;
  if (c < 0x80) {
    u[0] = (char)c;
    n = 1;
  } else if (c < 0x800) {
    u[0] = (char)(0xC0 | c >> 6);
    u[1] = (char)(0x80 | (c & 0x3F));
    n = 2;
  } else if (c < 0x10000) {
    u[0] = (char)(0xE0 | c >> 12);
    u[1] = (char)(0x80 | (c >> 6 & 0x3F));
    u[2] = (char)(0x80 | (c & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | c >> 18);
    u[1] = (char)(0x80 | (c >> 12 & 0x3F));
    u[2] = (char)(0x80 | (c >> 6 & 0x3F));
    u[3] = (char)(0x80 | (c & 0x3F));
    n = 4;
  }
  return put(b, u, n);
}

/* Length of the valid UTF-8 sequence at p (its first byte >= 0x80), or 0. */
static size_t utf8_length(const unsigned char *p, const unsigned char *end) {
  size_t n = *p >= 0xF0 ? 4 : *p >= 0xE0 ? 3 : *p >= 0xC2 ? 2 : 0;
  if (n == 0 || *p > 0xF4 || (size_t)(end - p) < n)
    return 0;
  for (size_t i = 1; i < n; i++)
    if ((p[i] & 0xC0) != 0x80)
      return 0;
  /* No overlong forms, surrogates or code points above U+10FFFF. */
  if ((n == 3 && p[0] == 0xE0 && p[1] < 0xA0) || (n == 3 && p[0] == 0xED && p[1] >= 0xA0) ||
      (n == 4 && p[0] == 0xF0 && p[1] < 0x90) || (n == 4 && p[0] == 0xF4 && p[1] >= 0x90))
    return 0;
  return n;
}

static int hex4(const unsigned char *p, const unsigned char *end, uint32_t *out) {
  if (end - p < 4)
    return 0;
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) {
    int c = p[i], d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                  : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0)
      return 0;
    v = v << 4 | (uint32_t)d;
  }
  *out = v;
  return 1;
}

/* \uXXXX (and its low surrogate when it is a high one) at ps->p, past the 'u'. */
static alq_err unicode_escape(parser *ps, bytes *b) {
  uint32_t c, low;
  if (!hex4(ps->p, ps->end, &c))
    return fail(ps, "\\u needs four hex digits");
  ps->p += 4;
  if (c >= 0xD800 && c < 0xDC00) {
    if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || !hex4(ps->p + 2, ps->end, &low) ||
        low < 0xDC00 || low > 0xDFFF)
      return fail(ps, "a \\u high surrogate without its low surrogate");
    ps->p += 6;
    c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
  } else if (c >= 0xDC00 && c < 0xE000) {
    return fail(ps, "a \\u low surrogate without its high surrogate");
  } else if (c == 0) {
    return fail(ps, "\\u0000 in a string");
  }
  return put_utf8(b, c);
}

/* A string at ps->p (on its opening quote) into a malloc'd buffer. */
static alq_err string(parser *ps, char **out) {
  bytes b = {0};
  alq_err err = put(&b, "", 0);
  ps->p++;
  while (!err) {
    if (ps->p >= ps->end) {
      err = fail(ps, "a string is never closed");
      break;
    }
    unsigned char c = *ps->p;
    if (c == '"') {
      ps->p++;
      break;
    }
    if (c < 0x20) {
      err = fail(ps, c == '\n' ? "a line break inside a string" : "a control character inside a string");
    } else if (c == '\\') {
      if (ps->end - ps->p < 2) {
        err = fail(ps, "a string is never closed");
        break;
      }
      char e = (char)ps->p[1];
      const char *plain = strchr("\"\\/bfnrt", e);
      ps->p += 2;
      if (e == 'u')
        err = unicode_escape(ps, &b);
      else if (e && plain)
        err = put(&b, &"\"\\/\b\f\n\r\t"[plain - "\"\\/bfnrt"], 1);
      else
        err = fail(ps, "an unknown escape in a string");
    } else if (c < 0x80) {
      err = put(&b, (const char *)ps->p++, 1);
    } else {
      size_t n = utf8_length(ps->p, ps->end);
      if (!n)
        err = fail(ps, "a string is not valid UTF-8");
      else
        err = put(&b, (const char *)ps->p, n);
      ps->p += n;
    }
  }
  if (err) {
    free(b.data);
    return err;
  }
  *out = b.data;
  return ALQ_OK;
}

static int digit(const parser *ps) { return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9'; }

static alq_err number(parser *ps, alq_json *v) {
  const unsigned char *start = ps->p;
  if (ps->p < ps->end && *ps->p == '-')
    ps->p++;
  if (!digit(ps))
    return fail(ps, "a number needs a digit");
  if (*ps->p == '0')
    ps->p++;
  else
    while (digit(ps))
      ps->p++;
  if (ps->p < ps->end && *ps->p == '.') {
    ps->p++;
    if (!digit(ps))
      return fail(ps, "a number needs a digit after its decimal point");
    while (digit(ps))
      ps->p++;
  }
  if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
    ps->p++;
    if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
      ps->p++;
    if (!digit(ps))
      return fail(ps, "a number needs a digit in its exponent");
    while (digit(ps))
      ps->p++;
  }
  size_t n = (size_t)(ps->p - start);
  ALQ_CHECK(alq_malloc(&v->text, n + 1, "a JSON number"));
  memcpy(v->text, start, n);
  v->text[n] = '\0';
  v->kind = ALQ_JSON_NUMBER;
  return ALQ_OK;
}

static alq_err value(parser *ps, int depth, alq_json *v);

/* Appends a member to v's arrays (key NULL for an array element). */
static alq_err add_member(alq_json *v, int64_t *cap, char *key, alq_json *item) {
  if (v->n == *cap) {
    int64_t want = *cap ? 2 * *cap : 4;
    alq_json *items = realloc(v->items, sizeof *items * (size_t)want);
    if (!items)
      return alq_error_set(ALQ_ERR_MEMORY, "out of memory for a JSON %s", key ? "object" : "array");
    v->items = items;
    if (v->kind == ALQ_JSON_OBJECT) {
      char **keys = realloc(v->keys, sizeof *keys * (size_t)want);
      if (!keys)
        return alq_error_set(ALQ_ERR_MEMORY, "out of memory for a JSON object");
      v->keys = keys;
    }
    *cap = want;
  }
  v->items[v->n] = *item;
  if (v->kind == ALQ_JSON_OBJECT)
    v->keys[v->n] = key;
  v->n++;
  return ALQ_OK;
}

/* An array or object at ps->p (on '[' or '{'). */
static alq_err container(parser *ps, int depth, alq_json *v) {
  int object = *ps->p == '{';
  char close = object ? '}' : ']';
  v->kind = object ? ALQ_JSON_OBJECT : ALQ_JSON_ARRAY;
  if (depth >= ALQ_JSON_MAX_DEPTH)
    return fail(ps, "values nested too deeply");
  ps->p++;
  skip_space(ps);
  if (ps->p < ps->end && *ps->p == close) {
    ps->p++;
    return ALQ_OK;
  }
  for (int64_t cap = 0;;) {
    char *key = NULL;
    alq_json item = {0};
    skip_space(ps);
    if (object) {
      if (ps->p >= ps->end || *ps->p != '"')
        return fail(ps, "an object member needs a name in double quotes");
      ALQ_CHECK(string(ps, &key));
      skip_space(ps);
      if (ps->p >= ps->end || *ps->p != ':') {
        free(key);
        return fail(ps, "an object member needs ':' after its name");
      }
      ps->p++;
    }
    alq_err err = value(ps, depth + 1, &item);
    if (!err)
      err = add_member(v, &cap, key, &item);
    if (err) {
      free(key);
      alq_json_free(&item);
      return err;
    }
    skip_space(ps);
    if (ps->p < ps->end && *ps->p == ',') {
      ps->p++;
      continue;
    }
    if (ps->p < ps->end && *ps->p == (unsigned char)close) {
      ps->p++;
      return ALQ_OK;
    }
    return fail(ps, object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
  }
}

static alq_err value(parser *ps, int depth, alq_json *v) {
  memset(v, 0, sizeof *v);
  skip_space(ps);
  v->line = ps->line;
  if (ps->p >= ps->end)
    return fail(ps, "expected a value, found the end of the text");
  switch (*ps->p) {
  case '{':
  case '[': return container(ps, depth, v);
  case '"': v->kind = ALQ_JSON_STRING; return string(ps, &v->text);
  case 't': v->kind = ALQ_JSON_TRUE; return literal(ps, "true") ? ALQ_OK : fail(ps, "expected true");
  case 'f': v->kind = ALQ_JSON_FALSE; return literal(ps, "false") ? ALQ_OK : fail(ps, "expected false");
  case 'n': v->kind = ALQ_JSON_NULL; return literal(ps, "null") ? ALQ_OK : fail(ps, "expected null");
  default:
    if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
      return number(ps, v);
    return fail(ps, "expected a value (object, array, string, number, true, false or null)");
  }
}

alq_err alq_json_parse(const char *name, const char *text, size_t len, int64_t first_line, alq_json *root) {
  memset(root, 0, sizeof *root);
  parser ps = {name, (const unsigned char *)text, (const unsigned char *)text + len, first_line};
  if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
    ps.p += 3;
  alq_err err = value(&ps, 0, root);
  if (!err) {
    skip_space(&ps);
    if (ps.p < ps.end)
      err = fail(&ps, "text after the JSON value");
  }
  if (err)
    alq_json_free(root);
  return err;
}

void alq_json_free(alq_json *v) {
  for (int64_t i = 0; i < v->n; i++) {
    alq_json_free(&v->items[i]);
    if (v->keys)
      free(v->keys[i]);
  }
  free(v->items);
  free(v->keys);
  free(v->text);
  memset(v, 0, sizeof *v);
}

const alq_json *alq_json_get(const alq_json *v, const char *key) {
  if (!v || v->kind != ALQ_JSON_OBJECT)
    return NULL;
  for (int64_t i = 0; i < v->n; i++)
    if (strcmp(v->keys[i], key) == 0)
      return &v->items[i];
  return NULL;
}

int alq_json_integer(const alq_json *v, int64_t min, int64_t max, int64_t *out) {
  if (!v || v->kind != ALQ_JSON_NUMBER)
    return 0;
  if (alq_integer_text(v->text, min, max, out))
    return 1;
  /* An exponent ("1e3"): exact only within double's integers. */
  if (!strpbrk(v->text, "eE"))
    return 0;
  errno = 0;
  double d = strtod(v->text, NULL);
  if (errno || !isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0 || d < (double)min || d > (double)max)
    return 0;
  *out = (int64_t)d;
  return 1;
}

const char *alq_json_kind_name(alq_json_kind kind) {
  static const char *const names[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};
  return kind <= ALQ_JSON_OBJECT ? names[kind] : "a value";
}
