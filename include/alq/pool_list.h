/* alq/pool_list.h: one pool made of several HDF5 files (docs/format.md,
 * "Pools in several files").
 *
 * A pool list is a text file whose first line is ALQ_POOL_LIST_MAGIC; every
 * other non-blank line that does not start with '#' is one shard, in row
 * order.  A shard line is whitespace-separated tokens: a bare path (the file
 * of every field the line does not name otherwise) and/or `field=path` for
 * embeddings, probs, ids, labels.  Relative paths are relative to the list
 * file's folder.  The list is told by its first line, not by its name.
 */
#ifndef ALQ_POOL_LIST_H
#define ALQ_POOL_LIST_H
#include <stddef.h>
#include <stdint.h>
#include "alq/error.h"

#define ALQ_POOL_LIST_MAGIC "# alq pool list 1"

/* Slots of alq_pool_shard.file, in ALQ_FIELD_* order of the row datasets. */
enum { ALQ_SHARD_EMBEDDINGS, ALQ_SHARD_PROBS, ALQ_SHARD_IDS, ALQ_SHARD_LABELS, ALQ_SHARD_FIELDS };

typedef struct {
  char *file[ALQ_SHARD_FIELDS]; /* resolved paths, never NULL: each field's file */
  int line;                     /* its line in the list file, for messages */
  unsigned named;               /* bit f: field f was given as `field=path` */
} alq_pool_shard;

typedef struct {
  int64_t n;
  alq_pool_shard *shards;
} alq_pool_list;

/* 1 when `path` is a readable file whose first line is ALQ_POOL_LIST_MAGIC. */
int alq_pool_list_is(const char *path);

/* Parses the list text[0..size) (need not end in NUL) of the file `list_path`
 * (which names it in errors and anchors relative paths).  An input error
 * names the file and line: a bad first line, an unknown field, a field given
 * twice, a line without an embeddings file, a path too long, no shard. */
alq_err alq_pool_list_parse(const char *list_path, const char *text, size_t size, alq_pool_list *out);

/* Reads and parses the file `path`; cannot-read errors name it. */
alq_err alq_pool_list_read(const char *path, alq_pool_list *out);

void alq_pool_list_free(alq_pool_list *list);

#endif
