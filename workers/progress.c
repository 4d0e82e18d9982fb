/* workers/progress.c: "items done, rate, ETA" on stderr for long passes.
 *
 * Rank 0 reports for the whole job without any communication: shards are
 * balanced to within one chunk and collective reads keep ranks in step, so
 * rank 0's fraction done times the pool size is the job's progress. */
#include <stdio.h>
#include <unistd.h>

#include <mpi.h>

#include "progress.h"

/* Silent for passes shorter than this; then a line every LOG_PERIOD seconds
 * in a batch log, or a live line on a terminal. */
#define QUIET_START 2.0
#define LOG_PERIOD 5.0
#define TTY_PERIOD 0.25

void alq_progress_start(alq_progress *p, const char *what, int64_t total_items, int enabled) {
  p->what = what;
  p->total = total_items;
  p->enabled = enabled;
  p->tty = enabled && isatty(STDERR_FILENO);
  p->started = MPI_Wtime();
  p->last = -1e300; /* the first line may come as soon as QUIET_START has passed */
  p->printed = 0;
}

static void human(double v, char *buf, size_t n) {
  const char *unit[] = {"", "k", "M", "G", "T"};
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    u++;
  }
  snprintf(buf, n, "%.*f%s", u ? 2 : 0, v, unit[u]);
}

void alq_progress_update(alq_progress *p, double fraction) {
  if (!p->enabled)
    return;
  double now = MPI_Wtime(), elapsed = now - p->started;
  if (elapsed < QUIET_START || now - p->last < (p->tty ? TTY_PERIOD : LOG_PERIOD) || fraction <= 0)
    return;
  p->last = now;
  char done[32], total[32], rate[32];
  human(fraction * (double)p->total, done, sizeof done);
  human((double)p->total, total, sizeof total);
  human(fraction * (double)p->total / elapsed, rate, sizeof rate);
  double eta = elapsed / fraction * (1 - fraction);
  fprintf(stderr, "%salq: %s %s/%s items (%.1f%%), %s items/s, ETA %.0fs%s", p->tty ? "\r" : "", p->what, done,
          total, 100 * fraction, rate, eta, p->tty ? "   " : "\n");
  fflush(stderr);
  p->printed = 1;
}

void alq_progress_finish(alq_progress *p) {
  if (p->enabled && p->printed && p->tty)
    fprintf(stderr, "\n");
}
