/* workers/compute_thread.c: the stream's helper thread (compute_thread.h). */
#include "compute_thread.h"

#include <stdio.h>
#include <string.h>

static void *helper_main(void *p) {
  alq_compute_thread *t = p;
  /* The caller's recorded line, so that the first message set still wins as
   * it would on one thread. */
  alq_error_replace(t->message);
  pthread_mutex_lock(&t->mu);
  for (;;) {
    while (!t->posted && !t->quit)
      pthread_cond_wait(&t->cv, &t->mu);
    if (t->posted) {
      t->posted = 0;
      pthread_mutex_unlock(&t->mu);
      alq_err err = t->fn(t->arg);
      double at = alq_log_clock();
      pthread_mutex_lock(&t->mu);
      t->err = err;
      if (err)
        snprintf(t->message, sizeof t->message, "%s", alq_error_message());
      t->done_at = at;
      t->done = 1;
      pthread_cond_broadcast(&t->cv);
      continue;
    }
    break; /* quit with nothing posted */
  }
  memcpy(t->stats, alq_log_stats(), sizeof t->stats);
  pthread_mutex_unlock(&t->mu);
  return NULL;
}

int alq_compute_start(alq_compute_thread *t) {
  memset(t, 0, sizeof *t);
  snprintf(t->message, sizeof t->message, "%s", alq_error_message());
  if (pthread_mutex_init(&t->mu, NULL) != 0)
    return 0;
  if (pthread_cond_init(&t->cv, NULL) != 0) {
    pthread_mutex_destroy(&t->mu);
    return 0;
  }
  if (pthread_create(&t->thread, NULL, helper_main, t) != 0) {
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    return 0;
  }
  return 1;
}

void alq_compute_post(alq_compute_thread *t, alq_compute_fn fn, void *arg) {
  pthread_mutex_lock(&t->mu);
  t->fn = fn;
  t->arg = arg;
  t->done = 0;
  t->posted = 1;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
}

alq_err alq_compute_wait(alq_compute_thread *t) {
  pthread_mutex_lock(&t->mu);
  while (!t->done)
    pthread_cond_wait(&t->cv, &t->mu);
  alq_err err = t->err;
  pthread_mutex_unlock(&t->mu);
  return err;
}

const char *alq_compute_message(const alq_compute_thread *t) { return t->message; }

void alq_compute_stop(alq_compute_thread *t) {
  pthread_mutex_lock(&t->mu);
  t->quit = 1;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  pthread_join(t->thread, NULL);
  alq_log_merge(t->stats);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
}
