/* coordinator/state_lock.c: the state file's updater lock (alq/state_lock.h). */
#include "alq/state_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double timeout_seconds(void) {
  const char *s = getenv("ALQ_STATE_LOCK_TIMEOUT");
  char *end;
  double t = s && *s ? strtod(s, &end) : -1;
  return s && *s && *end == 0 && t >= 0 ? t : ALQ_STATE_LOCK_TIMEOUT_DEFAULT;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Whether fd is still the file `path` names (the holder removes it on release). */
static int still_named(int fd, const char *path) {
  struct stat a, b;
  return fstat(fd, &a) == 0 && stat(path, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* One attempt: 1 locked, 0 held by another, -1 error (errno set). */
static int try_lock(const char *path, int *fd_out) {
  int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return -1;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
    if (still_named(fd, path)) {
      *fd_out = fd;
      return 1;
    }
    close(fd); /* won the lock of a removed file: its holder is gone, try the new one */
    return 0;
  }
  int e = errno;
  close(fd);
  errno = e;
  return e == EWOULDBLOCK || e == EINTR ? 0 : -1;
}

alq_err alq_state_lock_take(const char *state_path, int quiet, alq_state_lock *lock) {
  lock->fd = -1;
  if (snprintf(lock->path, sizeof lock->path, "%s.lock", state_path) >= (int)sizeof lock->path)
    return alq_error_set(ALQ_ERR_USAGE, "state path %s is too long for its lock file", state_path);
  const double limit = timeout_seconds(), start = now();
  int told = 0, got;
  while ((got = try_lock(lock->path, &lock->fd)) != 1) {
    if (got < 0)
      return alq_error_set(ALQ_ERR_OUTPUT, "cannot lock %s: %s", lock->path, strerror(errno));
    if (now() - start >= limit)
      return alq_error_set(ALQ_ERR_OUTPUT,
                           "state %s is being updated by another alq command (lock %s still held after %.0f s; "
                           "ALQ_STATE_LOCK_TIMEOUT sets the wait)",
                           state_path, lock->path, limit);
    if (!told && !quiet)
      fprintf(stderr, "alq: note: waiting for another alq command to finish updating %s\n", state_path);
    told = 1;
    usleep(20000);
  }
  return ALQ_OK;
}

void alq_state_lock_release(alq_state_lock *lock) {
  if (lock->fd < 0)
    return;
  unlink(lock->path); /* while still held: a waiter then finds its file removed and retries */
  close(lock->fd);    /* releases the flock */
  lock->fd = -1;
}
