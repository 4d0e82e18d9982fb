/* tests/fuzz/fuzz_pool_list.c: the pool list reader (alq/pool_list.h,
 * docs/format.md "Pools in several files").
 *
 * The input is a list file's text, parsed from memory as the file
 * /fuzz/lists/pool.list (relative shard paths resolve against /fuzz/lists).
 * Besides the sanitizers, the harness checks what the header promises: on
 * success every shard has every field's file, resolved (absolute here), and
 * the shards' lines increase; on failure the list is empty and the message is
 * one line, naming the file when the input is at fault. */
#include <stdlib.h>
#include <string.h>

#include "alq/pool_list.h"
#include "fuzz_input.h"

#define LIST_PATH "/fuzz/lists/pool.list"

static void check_list(const alq_pool_list *list) {
  if (list->n < 1 || !list->shards)
    abort();
  for (int64_t s = 0; s < list->n; s++) {
    const alq_pool_shard *sh = &list->shards[s];
    for (int f = 0; f < ALQ_SHARD_FIELDS; f++)
      if (!sh->file[f] || sh->file[f][0] != '/')
        abort();
    if (s > 0 && sh->line <= list->shards[s - 1].line)
      abort();
  }
}

static void check_error(alq_err err, const alq_pool_list *list) {
  const char *msg = alq_error_message();
  if (list->n != 0 || list->shards || !msg || strchr(msg, '\n'))
    abort();
  if (err == ALQ_ERR_INPUT && !strstr(msg, LIST_PATH))
    abort(); /* an input error names the file (out of memory need not) */
  alq_error_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  alq_pool_list list;
  alq_err err = alq_pool_list_parse(LIST_PATH, (const char *)data, size, &list);
  if (err == ALQ_OK)
    check_list(&list);
  else
    check_error(err, &list);
  alq_pool_list_free(&list);
  return 0;
}
