/* core/logview.c: per-phase time and counters for --log-view. */
#include "alq/logview.h"

#include <mpi.h>
#include <string.h>

static alq_phase_stats stats[ALQ_PHASE_COUNT];
/* A stack of open phases: the innermost is charged, outer ones are paused. */
static alq_phase open_phases[16];
static double opened_at[16];
static int depth;

static const char *const phase_names[ALQ_PHASE_COUNT] = {"read", "score", "retrieve", "select", "reduce", "write"};

const char *alq_phase_name(alq_phase p) { return phase_names[p]; }

void alq_phase_begin(alq_phase p) {
  double now = MPI_Wtime();
  if (depth > 0)
    stats[open_phases[depth - 1]].seconds += now - opened_at[depth - 1];
  if (depth < 16) {
    open_phases[depth] = p;
    opened_at[depth] = now;
    depth++;
  }
}

void alq_phase_end(alq_phase p) {
  double now = MPI_Wtime();
  if (depth == 0 || open_phases[depth - 1] != p)
    return; /* unbalanced use is a bug in the caller; keep the counters sane */
  stats[p].seconds += now - opened_at[depth - 1];
  depth--;
  if (depth > 0)
    opened_at[depth - 1] = now;
}

static alq_phase current(void) { return depth > 0 ? open_phases[depth - 1] : ALQ_PHASE_REDUCE; }

void alq_log_bytes_read(int64_t bytes) { stats[current()].bytes_read += bytes; }

void alq_log_message(int64_t bytes) {
  stats[current()].messages += 1;
  stats[current()].message_bytes += bytes;
}

void alq_log_flops(int64_t flops) { stats[current()].flops += flops; }

const alq_phase_stats *alq_log_stats(void) { return stats; }

void alq_log_reset(void) {
  memset(stats, 0, sizeof stats);
  depth = 0;
}
