/* core/logview.c: per-phase time and counters for --log-view.
 *
 * The counters are per thread: the stream's compute thread (workers/stream.c)
 * times its own phases while the main thread reads, and the stream adds its
 * totals to the main thread's after each join (alq_log_merge). */
#include "alq/logview.h"

#include <string.h>
#include <time.h>

/* stats[ALQ_PHASE_COUNT] takes the time of alq_phase_wait_begin/end, which
 * no phase is charged with. */
static _Thread_local alq_phase_stats stats[ALQ_PHASE_COUNT + 1];
/* A stack of open phases: the innermost is charged, outer ones are paused. */
static _Thread_local int open_phases[16];
static _Thread_local double opened_at[16];
static _Thread_local int depth;
static _Thread_local alq_overlap_stats overlap;
static _Thread_local alq_rows_path rows_path;

static const char *const phase_names[ALQ_PHASE_COUNT] = {"read", "score", "retrieve", "select", "reduce", "write"};

const char *alq_phase_name(alq_phase p) { return phase_names[p]; }

/* A monotonic clock, not MPI_Wtime: the compute thread makes no MPI call. */
static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double alq_log_clock(void) { return now_seconds(); }

static void push(int p) {
  double now = now_seconds();
  if (depth > 0)
    stats[open_phases[depth - 1]].seconds += now - opened_at[depth - 1];
  if (depth < 16) {
    open_phases[depth] = p;
    opened_at[depth] = now;
    depth++;
  }
}

static void pop(int p) {
  double now = now_seconds();
  if (depth == 0 || open_phases[depth - 1] != p)
    return; /* unbalanced use is a bug in the caller; keep the counters sane */
  stats[p].seconds += now - opened_at[depth - 1];
  depth--;
  if (depth > 0)
    opened_at[depth - 1] = now;
}

void alq_phase_begin(alq_phase p) { push(p); }
void alq_phase_end(alq_phase p) { pop(p); }
void alq_phase_wait_begin(void) { push(ALQ_PHASE_COUNT); }
void alq_phase_wait_end(void) { pop(ALQ_PHASE_COUNT); }

static int current(void) { return depth > 0 ? open_phases[depth - 1] : ALQ_PHASE_REDUCE; }

void alq_log_bytes_read(int64_t bytes) { stats[current()].bytes_read += bytes; }

void alq_log_message(int64_t bytes) {
  stats[current()].messages += 1;
  stats[current()].message_bytes += bytes;
}

void alq_log_flops(int64_t flops) { stats[current()].flops += flops; }

const alq_phase_stats *alq_log_stats(void) { return stats; }

void alq_log_merge(const alq_phase_stats *other) {
  for (int p = 0; p < ALQ_PHASE_COUNT; p++) {
    stats[p].seconds += other[p].seconds;
    stats[p].bytes_read += other[p].bytes_read;
    stats[p].messages += other[p].messages;
    stats[p].message_bytes += other[p].message_bytes;
    stats[p].flops += other[p].flops;
  }
}

void alq_log_overlap_add(const alq_overlap_stats *pass) {
  overlap.overlapped_passes += pass->overlapped_passes;
  overlap.serial_passes += pass->serial_passes;
  overlap.overlapped_chunks += pass->overlapped_chunks;
  overlap.read_waited += pass->read_waited;
  overlap.compute_waited += pass->compute_waited;
  overlap.seconds += pass->seconds;
  if (pass->serial_reason)
    overlap.serial_reason = pass->serial_reason;
}

const alq_overlap_stats *alq_log_overlap(void) { return &overlap; }

void alq_log_rows_path(int in_place, const char *why) { rows_path = (alq_rows_path){1, in_place, why}; }

const alq_rows_path *alq_log_rows_path_taken(void) { return &rows_path; }

void alq_log_reset(void) {
  memset(stats, 0, sizeof stats);
  memset(&overlap, 0, sizeof overlap);
  memset(&rows_path, 0, sizeof rows_path);
  depth = 0;
}
