/* core/fault.c: ALQ_FAIL_AT=<phase>:<rank> failure injection (alq/fault.h). */
#include "alq/fault.h"

#include <errno.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fault points, in the order `alq select` reaches them (alq/fault.h). */
static const char *const phases[] = {
    "prepare", "broadcast",  "labeled",  "pool-open", "labeled-embeddings", "anchoral-retrieve",
    "anchoral-merge", "stream", "score", "candidates", "kcenter", "hier-leaf", "hier-merge",
    "manifest", "write", "report",
};
#define N_PHASES (int)(sizeof phases / sizeof phases[0])

static int known(const char *name) {
  for (int i = 0; i < N_PHASES; i++)
    if (strcmp(phases[i], name) == 0)
      return 1;
  return 0;
}

/* What ALQ_FAIL_AT asks for, parsed on the first fault point. */
static struct {
  int parsed, set;
  char phase[64];
  long rank;
  char problem[256]; /* non-empty: the variable is malformed */
} want;

static void parse(void) {
  want.parsed = 1;
  const char *s = getenv("ALQ_FAIL_AT");
  if (!s || !*s)
    return;
  want.set = 1;
  const char *colon = strrchr(s, ':');
  size_t len = colon ? (size_t)(colon - s) : 0;
  char *end = NULL;
  errno = 0;
  want.rank = colon ? strtol(colon + 1, &end, 10) : -1;
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  if (!colon || len == 0 || len >= sizeof want.phase || errno || end == colon + 1 || *end || want.rank < 0) {
    snprintf(want.problem, sizeof want.problem, "ALQ_FAIL_AT must be <phase>:<rank>, got '%s'", s);
    return;
  }
  memcpy(want.phase, s, len);
  want.phase[len] = '\0';
  if (!known(want.phase))
    snprintf(want.problem, sizeof want.problem, "ALQ_FAIL_AT: unknown phase '%s' (docs/reliability.md lists them)",
             want.phase);
  else if (want.rank >= size)
    snprintf(want.problem, sizeof want.problem, "ALQ_FAIL_AT: rank %ld is not a rank of this job (%d ranks)",
             want.rank, size);
}

alq_err alq_fault_point(const char *phase) {
  if (!want.parsed)
    parse();
  if (!want.set)
    return ALQ_OK;
  if (want.problem[0])
    return alq_error_set(ALQ_ERR_USAGE, "%s", want.problem);
  if (!known(phase))
    return alq_error_set(ALQ_ERR_INTERNAL, "fault point '%s' is missing from core/fault.c's list", phase);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != want.rank || strcmp(phase, want.phase) != 0)
    return ALQ_OK;
  return alq_error_set(ALQ_ERR_INTERNAL, "injected failure at phase '%s' on rank %d (ALQ_FAIL_AT)", phase, rank);
}
