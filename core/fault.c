/* core/fault.c: ALQ_FAIL_AT=<phase>[@K]:<rank>[:kill] failure injection (alq/fault.h). */
#include "alq/fault.h"

#include <errno.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The fault points, in the order `alq select` reaches them (alq/fault.h). */
static const char *const phases[] = {
    "prepare", "broadcast",  "labeled",  "pool-open", "labeled-embeddings", "anchoral-retrieve",
    "anchoral-merge", "stream", "score", "candidates", "kcenter", "hier-leaf", "hier-merge",
    "manifest", "write", "report",
    /* alq_paths_commit (core/paths.c): every output written, fsync'd and about
     * to be renamed; after the k-th rename; all renamed and the folders fsync'd. */
    "commit-synced", "commit-renamed-1", "commit-renamed-2", "commit-renamed-3", "commit-done",
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
  int kill;      /* ":kill": SIGKILL instead of an error */
  long nth, seen; /* "@K": only the K-th arrival at the point (0: every arrival) */
  char problem[256]; /* non-empty: the variable is malformed */
} want;

/* This process's rank and the job's size; 0 and 1 outside MPI (unit tests). */
static void world(int *rank, int *size) {
  int on = 0;
  *rank = 0, *size = 1;
  MPI_Initialized(&on);
  if (on) {
    MPI_Comm_rank(MPI_COMM_WORLD, rank);
    MPI_Comm_size(MPI_COMM_WORLD, size);
  }
}

static void parse(void) {
  want.parsed = 1;
  const char *s = getenv("ALQ_FAIL_AT");
  if (!s || !*s)
    return;
  want.set = 1;
  const char *colon = strchr(s, ':');
  size_t len = colon ? (size_t)(colon - s) : 0;
  char *end = NULL;
  errno = 0;
  want.rank = colon ? strtol(colon + 1, &end, 10) : -1;
  if (end && end != colon + 1 && strcmp(end, ":kill") == 0)
    want.kill = 1, end += strlen(end);
  int rank = 0, size = 1;
  world(&rank, &size);
  if (!colon || len == 0 || len >= sizeof want.phase || errno || end == colon + 1 || *end || want.rank < 0) {
    snprintf(want.problem, sizeof want.problem, "ALQ_FAIL_AT must be <phase>[@K]:<rank>[:kill], got '%s'", s);
    return;
  }
  memcpy(want.phase, s, len);
  want.phase[len] = '\0';
  char *at = strchr(want.phase, '@');
  if (at) {
    *at = '\0';
    errno = 0;
    want.nth = strtol(at + 1, &end, 10);
    if (errno || end == at + 1 || *end || want.nth < 1) {
      snprintf(want.problem, sizeof want.problem, "ALQ_FAIL_AT: '@%s' must be @K with K >= 1, in '%s'", at + 1, s);
      return;
    }
  }
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
  int rank = 0, size = 1;
  world(&rank, &size);
  if (rank != want.rank || strcmp(phase, want.phase) != 0)
    return ALQ_OK;
  if (want.nth && ++want.seen != want.nth)
    return ALQ_OK;
  if (want.kill)
    raise(SIGKILL); /* a crash, a node lost, the OOM killer: no cleanup of any kind */
  return alq_error_set(ALQ_ERR_INTERNAL, "injected failure at phase '%s' on rank %d (ALQ_FAIL_AT)", phase, rank);
}
