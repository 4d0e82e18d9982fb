/* workers/progress.h: progress lines for long passes (internal). */
#ifndef ALQ_PROGRESS_H
#define ALQ_PROGRESS_H
#include <stdint.h>

typedef struct {
  const char *what;
  int64_t total;
  int enabled, tty, printed;
  double started, last;
} alq_progress;

void alq_progress_start(alq_progress *p, const char *what, int64_t total_items, int enabled);
void alq_progress_update(alq_progress *p, double fraction);
void alq_progress_finish(alq_progress *p);

#endif
