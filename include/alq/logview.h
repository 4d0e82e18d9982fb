/* alq/logview.h: per-phase accounting behind --log-view.
 *
 * Work is attributed to the current phase: time between alq_phase_begin and
 * alq_phase_end, bytes read from the pool, and the MPI calls alq makes through
 * alq_comm_* (one "message" per call on the calling rank, bytes = payload this
 * rank sends or contributes).  Rank 0 prints max/min time across ranks and the
 * summed counters (coordinator/report.c).
 *
 * The counters are per thread.  The stream's compute thread (workers/stream.c)
 * charges its own phases (score, retrieve) while the main thread reads; the
 * stream adds them to the main thread's with alq_log_merge after each join,
 * so a phase's time is the time spent in it on either thread, and with reads
 * overlapped the phases may add up to more than the wall time: the overlap
 * counters below say by how much each thread waited for the other.
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
/* A wait for another thread: no phase is charged until alq_phase_wait_end
 * (the time is the caller's to count, e.g. alq_overlap_stats.read_waited). */
void alq_phase_wait_begin(void);
void alq_phase_wait_end(void);
/* The clock the phases are timed with (seconds, monotonic; no MPI call, so
 * any thread may read it). */
double alq_log_clock(void);
void alq_log_bytes_read(int64_t bytes);
void alq_log_message(int64_t bytes);
void alq_log_flops(int64_t flops);

/* This thread's totals so far (ALQ_PHASE_COUNT entries); clears with alq_log_reset. */
const alq_phase_stats *alq_log_stats(void);
void alq_log_reset(void);

/* Adds another thread's totals (ALQ_PHASE_COUNT entries) to this thread's. */
void alq_log_merge(const alq_phase_stats *other);

/* Streaming passes (workers/stream.c): how many overlapped the next chunk's
 * read with the current chunk's compute, how many ran serially and why
 * (the last serial pass's reason), and the seconds the reading thread waited
 * for the compute thread and the compute thread for reads (the first chunk's
 * read included), and the passes' wall time. */
typedef struct {
  int64_t overlapped_passes, serial_passes, overlapped_chunks;
  double read_waited, compute_waited;
  double seconds;            /* wall time of the passes, start to end */
  const char *serial_reason; /* a static string, NULL when no pass ran serially */
} alq_overlap_stats;

void alq_log_overlap_add(const alq_overlap_stats *pass);
const alq_overlap_stats *alq_log_overlap(void);

/* Where a scan that keeps every row as stored halves took them
 * (workers/scan.c): in place from the pool file's mapping (in_place 1), or
 * copied into candidate memory because of `why` (a static string). */
typedef struct {
  int recorded; /* 0: no such scan ran */
  int in_place;
  const char *why;
} alq_rows_path;

void alq_log_rows_path(int in_place, const char *why);
const alq_rows_path *alq_log_rows_path_taken(void);

#endif
