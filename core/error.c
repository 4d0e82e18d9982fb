/* core/error.c: the recorded error line behind ALQ_CHECK. */
#include "alq/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Per thread: the stream's compute thread (workers/stream.c) records its own
 * error, which the stream hands to the main thread after the join. */
static _Thread_local char error_message[1024];

alq_err alq_error_set(alq_err code, const char *fmt, ...) {
  if (error_message[0] == '\0') {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(error_message, sizeof error_message, fmt, ap);
    va_end(ap);
    /* One line: a message that embeds a newline would break log parsers. */
    for (char *c = error_message; *c; c++)
      if (*c == '\n' || *c == '\r')
        *c = ' ';
  }
  return code;
}

const char *alq_error_message(void) { return error_message; }

void alq_error_replace(const char *message) {
  snprintf(error_message, sizeof error_message, "%s", message);
}

void alq_error_clear(void) { error_message[0] = '\0'; }

const char *alq_error_name(alq_err code) {
  switch (code) {
  case ALQ_OK: return "success";
  case ALQ_ERR_INTERNAL: return "internal error";
  case ALQ_ERR_USAGE: return "usage error";
  case ALQ_ERR_INPUT: return "input error";
  case ALQ_ERR_OUTPUT: return "output error";
  case ALQ_ERR_MEMORY: return "out of memory";
  case ALQ_ERR_MPI: return "MPI error";
  }
  return "unknown error";
}

alq_err alq_malloc(void *pptr, size_t bytes, const char *what) {
  void *p = malloc(bytes ? bytes : 1);
  if (!p)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot allocate %zu bytes for %s", bytes, what);
  *(void **)pptr = p;
  return ALQ_OK;
}

alq_err alq_calloc(void *pptr, size_t count, size_t size, const char *what) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot allocate %zu x %zu bytes for %s", count, size, what);
  *(void **)pptr = p;
  return ALQ_OK;
}

alq_err alq_malloc_aligned(void *pptr, size_t bytes, const char *what) {
  void *p = NULL;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
    return alq_error_set(ALQ_ERR_MEMORY, "cannot allocate %zu bytes for %s", bytes, what);
  *(void **)pptr = p;
  return ALQ_OK;
}
