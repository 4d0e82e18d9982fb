/* alq/logview.h: per-phase accounting behind --log-view.
 *
 * Work is attributed to the current phase: time between alq_phase_begin and
 * alq_phase_end, bytes read from the pool, and the MPI calls alq makes through
 * alq_comm_* (one "message" per call on the calling rank, bytes = payload this
 * rank sends or contributes).  Rank 0 prints max/min time across ranks and the
 * summed counters (coordinator/report.c).
 */
#ifndef ALQ_LOGVIEW_H
#define ALQ_LOGVIEW_H
#include <stdint.h>

typedef enum {
  ALQ_PHASE_READ = 0,   /* pool rows from HDF5 */
  ALQ_PHASE_SCORE,      /* per-item scores, validation, candidate keeping */
  ALQ_PHASE_RETRIEVE,   /* AnchorAL: similarities to the anchors and per-anchor heaps */
  ALQ_PHASE_SELECT,     /* the strategy's selection (k-center steps, ...) */
  ALQ_PHASE_REDUCE,     /* cross-rank reductions and broadcasts */
  ALQ_PHASE_WRITE,      /* batch output */
  ALQ_PHASE_COUNT
} alq_phase;

typedef struct {
  double seconds;
  int64_t bytes_read;
  int64_t messages;
  int64_t message_bytes;
  int64_t flops; /* floating-point operations counted by the phase, 0 if not counted */
} alq_phase_stats;

const char *alq_phase_name(alq_phase p);

/* Starts timing `p`; phases nest (the inner one is charged, the outer paused). */
void alq_phase_begin(alq_phase p);
void alq_phase_end(alq_phase p);
void alq_log_bytes_read(int64_t bytes);
void alq_log_message(int64_t bytes);
void alq_log_flops(int64_t flops);

/* This rank's totals so far; clears with alq_log_reset. */
const alq_phase_stats *alq_log_stats(void);
void alq_log_reset(void);

#endif
