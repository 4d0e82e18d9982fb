/* alq/state_lock.h: one updater at a time per round-state file.
 *
 * Two annotation teams running `alq ingest`, or two job-array tasks running
 * `alq select --state`, on one state file would each read the old state and
 * the second rename would drop the first one's update.  Every command that
 * updates a state takes an exclusive lock first and holds it from its read to
 * its rename: flock(2) on a lock file beside the state, "STATE.lock" (the
 * state itself cannot carry the lock: it is replaced by rename).  A command
 * that finds the lock held waits, saying so once on stderr, and gives up after
 * a timeout with exit 4.  The holder removes the lock file before it lets go,
 * so none is left behind; a waiter that wins the lock of a file already
 * removed (it opened it before the removal) sees that the path no longer names
 * its file and tries again, so two commands never both hold the lock.
 *
 * flock is advisory and local to one machine on some network filesystems
 * (Lustre needs the `flock` mount option; NFSv4 maps it to byte-range locks):
 * docs/slurm.md says so. */
#ifndef ALQ_STATE_LOCK_H
#define ALQ_STATE_LOCK_H
#include "alq/error.h"

#include <limits.h>

typedef struct {
  int fd; /* -1 when not held */
  char path[PATH_MAX]; /* the lock file */
} alq_state_lock;

/* Seconds a command waits for a held lock, unless ALQ_STATE_LOCK_TIMEOUT
 * (seconds, >= 0) says otherwise. */
#define ALQ_STATE_LOCK_TIMEOUT_DEFAULT 600

/* Takes the lock on `state_path`.  `quiet`: no waiting note.  ALQ_ERR_OUTPUT
 * when the lock file cannot be created or the wait times out. */
alq_err alq_state_lock_take(const char *state_path, int quiet, alq_state_lock *lock);

/* Releases a held lock (no-op when not held). */
void alq_state_lock_release(alq_state_lock *lock);

#endif
