/* workers/compute_thread.h: one helper thread that runs a caller's jobs one
 * at a time (internal), for the stream's overlap of reads with compute.
 *
 * The caller posts a job, does its own work (the next chunk's HDF5 read and
 * every MPI call stay on the caller's thread), then waits for the job.  A
 * job's alq_error_set is recorded on the helper thread; alq_compute_wait
 * returns its code and alq_compute_message its line, for the caller to adopt
 * with alq_error_replace.  The helper times its phases with its own logview
 * counters, added to the caller's by alq_compute_stop. */
#ifndef ALQ_COMPUTE_THREAD_H
#define ALQ_COMPUTE_THREAD_H
#include <pthread.h>

#include "alq/error.h"
#include "alq/logview.h"

typedef alq_err (*alq_compute_fn)(void *arg);

typedef struct {
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int posted, done, quit;
  alq_compute_fn fn;
  void *arg;
  alq_err err;
  double done_at;                        /* alq_log_clock() when the last job ended */
  char message[1024];                    /* the caller's message at start, then the failed job's */
  alq_phase_stats stats[ALQ_PHASE_COUNT]; /* the helper's totals, filled when it quits */
} alq_compute_thread;

/* Starts the helper; 0 when no thread could be made (then run jobs inline). */
int alq_compute_start(alq_compute_thread *t);

/* Hands `fn(arg)` to the helper; the previous job must have been waited for. */
void alq_compute_post(alq_compute_thread *t, alq_compute_fn fn, void *arg);

/* Blocks until the posted job has ended; its code (its line: alq_compute_message). */
alq_err alq_compute_wait(alq_compute_thread *t);

const char *alq_compute_message(const alq_compute_thread *t);

/* Ends the helper (no job pending) and adds its phase totals to the caller's. */
void alq_compute_stop(alq_compute_thread *t);

#endif
