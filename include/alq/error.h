/* alq/error.h: error codes, the one error-propagation macro, and exit codes.
 *
 * Every fallible alq function returns an alq_err.  The function that detects a
 * problem records one human-readable line with alq_error_set() and returns its
 * code; every caller passes it up unchanged with ALQ_CHECK().  The CLI prints the
 * recorded line once (on rank 0 for MPI commands) and exits with the code, so the
 * codes below are also alq's documented exit codes (docs/exit-codes in README).
 */
#ifndef ALQ_ERROR_H
#define ALQ_ERROR_H

typedef enum {
  ALQ_OK = 0,
  ALQ_ERR_INTERNAL = 1, /* a bug in alq: an invariant did not hold */
  ALQ_ERR_USAGE = 2,    /* bad command line: unknown option, missing value, budget 0 */
  ALQ_ERR_INPUT = 3,    /* bad input data: missing file/dataset, shape, dtype, NaN, ... */
  ALQ_ERR_OUTPUT = 4,   /* an output could not be written */
  ALQ_ERR_MEMORY = 5,   /* an allocation or a configured memory limit failed */
  ALQ_ERR_MPI = 6,      /* an MPI call failed */
} alq_err;

/* Records `fmt` (printf-style, one line, no trailing newline) as the current
 * error message and returns `code`.  The first message set wins until
 * alq_error_clear(): the innermost detector knows the most specific reason. */
alq_err alq_error_set(alq_err code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The recorded message ("" when none).  Messages are per thread: a helper
 * thread's error reaches the caller through alq_error_replace (workers/stream.c). */
const char *alq_error_message(void);

/* Replaces the recorded message unconditionally (used when an agreed error is
 * copied from the rank that detected it). */
void alq_error_replace(const char *message);

void alq_error_clear(void);

/* Short name of a code, e.g. "input error". */
const char *alq_error_name(alq_err code);

/* Propagates a failure: evaluates `call` once and returns its code if non-zero. */
#define ALQ_CHECK(call)              \
  do {                               \
    alq_err alq_check_err_ = (call); \
    if (alq_check_err_)              \
      return alq_check_err_;         \
  } while (0)

/* Allocation helpers that record an error naming what was being allocated. */
#include <stddef.h>
alq_err alq_malloc(void *pptr, size_t bytes, const char *what);
alq_err alq_calloc(void *pptr, size_t count, size_t size, const char *what);
/* 64-byte aligned, for embedding blocks handed to BLAS. Free with free(). */
alq_err alq_malloc_aligned(void *pptr, size_t bytes, const char *what);

#endif
