/* pool/pool_list.c: the pool list file parser (alq/pool_list.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/pool.h"
#include "alq/pool_list.h"

static const char *const field_names[ALQ_SHARD_FIELDS] = {"embeddings", "probs", "ids", "labels"};

int alq_pool_list_is(const char *path) {
  char head[sizeof ALQ_POOL_LIST_MAGIC];
  FILE *f = fopen(path, "rb");
  if (!f)
    return 0;
  size_t got = fread(head, 1, sizeof head - 1, f);
  fclose(f);
  return got == sizeof head - 1 && memcmp(head, ALQ_POOL_LIST_MAGIC, sizeof head - 1) == 0;
}

void alq_pool_list_free(alq_pool_list *list) {
  for (int64_t s = 0; list->shards && s < list->n; s++)
    for (int f = 0; f < ALQ_SHARD_FIELDS; f++)
      free(list->shards[s].file[f]);
  free(list->shards);
  memset(list, 0, sizeof *list);
}

/* `path` as seen from the list file's folder `dir` ("" for the current one). */
static alq_err resolve(const char *list_path, int line, const char *dir, const char *path, size_t len, char **out) {
  int absolute = path[0] == '/';
  const char *sep = dir[0] && dir[strlen(dir) - 1] != '/' ? "/" : "";
  size_t need = (absolute ? 0 : strlen(dir) + 1) + len + 1;
  if (need > ALQ_PATH_MAX)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %d: the path %.*s... is longer than %d bytes", list_path, line, 40,
                         path, ALQ_PATH_MAX - 1);
  ALQ_CHECK(alq_malloc(out, need, "pool list path"));
  if (absolute)
    snprintf(*out, need, "%.*s", (int)len, path);
  else
    snprintf(*out, need, "%s%s%.*s", dir, sep, (int)len, path);
  return ALQ_OK;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

/* One shard line text[0..len): a bare path and/or field=path tokens. */
static alq_err parse_shard(const char *list_path, int line, const char *dir, const char *text, size_t len,
                           alq_pool_shard *sh) {
  const char *given[ALQ_SHARD_FIELDS + 1] = {NULL};
  size_t given_len[ALQ_SHARD_FIELDS + 1] = {0};
  enum { BARE = ALQ_SHARD_FIELDS };
  for (size_t i = 0; i < len;) {
    while (i < len && is_space(text[i]))
      i++;
    size_t start = i;
    while (i < len && !is_space(text[i]))
      i++;
    if (i == start)
      break;
    const char *tok = text + start, *eq = memchr(tok, '=', i - start);
    int slot = BARE;
    const char *path = tok;
    if (eq) {
      for (slot = 0; slot < ALQ_SHARD_FIELDS; slot++)
        if ((size_t)(eq - tok) == strlen(field_names[slot]) && memcmp(tok, field_names[slot], eq - tok) == 0)
          break;
      if (slot == ALQ_SHARD_FIELDS)
        return alq_error_set(ALQ_ERR_INPUT, "%s line %d: unknown field '%.*s' (expected embeddings, probs, ids or "
                             "labels)", list_path, line, (int)(eq - tok > 40 ? 40 : eq - tok), tok);
      path = eq + 1;
    }
    size_t plen = (size_t)(text + i - path);
    if (plen == 0)
      return alq_error_set(ALQ_ERR_INPUT, "%s line %d: %s= names no file", list_path, line, field_names[slot]);
    if (memchr(path, '\0', plen))
      return alq_error_set(ALQ_ERR_INPUT, "%s line %d: a path holds a NUL byte", list_path, line);
    /* A bare path and embeddings= both name the shard's main file. */
    int main_slot = slot == BARE || slot == ALQ_SHARD_EMBEDDINGS;
    if (given[slot] || (main_slot && (given[BARE] || given[ALQ_SHARD_EMBEDDINGS])))
      return alq_error_set(ALQ_ERR_INPUT, "%s line %d: %s given twice", list_path, line,
                           main_slot ? "the shard's file (a bare path or embeddings=)" : field_names[slot]);
    given[slot] = path;
    given_len[slot] = plen;
    if (slot != BARE)
      sh->named |= 1u << slot;
  }
  if (!given[BARE] && !given[ALQ_SHARD_EMBEDDINGS])
    return alq_error_set(ALQ_ERR_INPUT, "%s line %d: no embeddings file (a bare path or embeddings=path)", list_path,
                         line);
  if (!given[ALQ_SHARD_EMBEDDINGS]) {
    given[ALQ_SHARD_EMBEDDINGS] = given[BARE];
    given_len[ALQ_SHARD_EMBEDDINGS] = given_len[BARE];
  }
  sh->line = line;
  for (int f = 0; f < ALQ_SHARD_FIELDS; f++) {
    int f_from = given[f] ? f : ALQ_SHARD_EMBEDDINGS;
    ALQ_CHECK(resolve(list_path, line, dir, given[f_from], given_len[f_from], &sh->file[f]));
  }
  return ALQ_OK;
}

static alq_err add_shard(alq_pool_list *out, int64_t *cap) {
  if (out->n < *cap)
    return ALQ_OK;
  int64_t grown = *cap ? 2 * *cap : 16;
  alq_pool_shard *more = realloc(out->shards, sizeof *more * (size_t)grown);
  if (!more)
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for the pool list's shards");
  memset(more + *cap, 0, sizeof *more * (size_t)(grown - *cap));
  out->shards = more;
  *cap = grown;
  return ALQ_OK;
}

static alq_err parse_lines(const char *list_path, const char *dir, const char *text, size_t size, alq_pool_list *out) {
  size_t magic = strlen(ALQ_POOL_LIST_MAGIC);
  const char *nl = memchr(text, '\n', size);
  size_t first = nl ? (size_t)(nl - text) : size;
  while (first > magic && is_space(text[first - 1]))
    first--;
  if (first != magic || memcmp(text, ALQ_POOL_LIST_MAGIC, magic) != 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s line 1: not a pool list (the first line must be '%s')", list_path,
                         ALQ_POOL_LIST_MAGIC);
  int64_t cap = 0;
  int line = 2;
  for (size_t i = nl ? (size_t)(nl - text) + 1 : size; i < size; line++) {
    const char *end = memchr(text + i, '\n', size - i);
    size_t len = end ? (size_t)(end - (text + i)) : size - i;
    size_t k = 0;
    while (k < len && is_space(text[i + k]))
      k++;
    if (k < len && text[i + k] != '#') {
      if (line == 0x7fffffff)
        return alq_error_set(ALQ_ERR_INPUT, "%s: more than 2^31 lines", list_path);
      ALQ_CHECK(add_shard(out, &cap));
      out->n++;
      ALQ_CHECK(parse_shard(list_path, line, dir, text + i + k, len - k, &out->shards[out->n - 1]));
    }
    i += len + 1;
  }
  if (out->n == 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: the pool list names no shard (one file per line after the first)",
                         list_path);
  return ALQ_OK;
}

alq_err alq_pool_list_parse(const char *list_path, const char *text, size_t size, alq_pool_list *out) {
  memset(out, 0, sizeof *out);
  const char *slash = strrchr(list_path, '/');
  size_t dlen = slash ? (size_t)(slash - list_path) : 0;
  char *dir = NULL;
  ALQ_CHECK(alq_malloc(&dir, dlen + 2, "pool list folder"));
  if (slash && dlen == 0)
    strcpy(dir, "/"); /* a list in the root folder */
  else
    snprintf(dir, dlen + 1, "%.*s", (int)dlen, list_path);
  alq_err err = parse_lines(list_path, dir, text, size, out);
  free(dir);
  if (err)
    alq_pool_list_free(out);
  return err;
}

alq_err alq_pool_list_read(const char *path, alq_pool_list *out) {
  memset(out, 0, sizeof *out);
  FILE *f = fopen(path, "rb");
  if (!f)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
  char *text = NULL;
  size_t size = 0, cap = 0;
  alq_err err = ALQ_OK;
  for (;;) {
    if (size == cap) {
      char *more = cap < (64u << 20) ? realloc(text, cap ? 2 * cap : 4096) : NULL;
      if (!more) {
        err = alq_error_set(ALQ_ERR_INPUT, "%s: a pool list above 64 MiB (or out of memory reading it)", path);
        break;
      }
      text = more;
      cap = cap ? 2 * cap : 4096;
    }
    size_t got = fread(text + size, 1, cap - size, f);
    size += got;
    if (got == 0) {
      if (ferror(f))
        err = alq_error_set(ALQ_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
      break;
    }
  }
  fclose(f);
  if (!err)
    err = alq_pool_list_parse(path, text, size, out);
  free(text);
  return err;
}
