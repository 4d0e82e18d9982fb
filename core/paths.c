/* core/paths.c: outputs never replace inputs (alq/paths.h). */
#include "alq/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alq/fault.h"

/* Files one alq_paths_commit call can replace together (select: batch, CSV, state). */
#define COMMIT_MAX 8
#define NAME_MAX_BYTES (PATH_MAX + 64)

/* The name `path` will have once created: the real path of its folder plus its
 * last component.  The folder must exist for the file to be created at all, so
 * when it does not (or cannot be resolved) the path is compared as given. */
static void resolved_name(const char *path, char *out, size_t size) {
  char copy[NAME_MAX_BYTES], dir[PATH_MAX];
  snprintf(copy, sizeof copy, "%s", path);
  size_t len = strlen(copy);
  while (len > 1 && copy[len - 1] == '/')
    copy[--len] = '\0';
  char *slash = strrchr(copy, '/');
  const char *base = slash ? slash + 1 : copy;
  /* "." and ".." are folders: resolve the whole path. */
  if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
    if (!realpath(copy, dir))
      snprintf(dir, sizeof dir, "%s", copy);
    snprintf(out, size, "%s", dir);
    return;
  }
  const char *folder = ".";
  if (slash == copy)
    folder = "/";
  else if (slash) {
    *slash = '\0';
    folder = copy;
  }
  if (!realpath(folder, dir)) {
    snprintf(out, size, "%s", path);
    return;
  }
  snprintf(out, size, "%s%s%s", dir, strcmp(dir, "/") == 0 ? "" : "/", base);
}

/* Same file: same device and inode when both exist (stat follows symlinks, so
 * a link to an input is that input); else the same name once resolved. */
static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
    return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
  char ra[NAME_MAX_BYTES], rb[NAME_MAX_BYTES];
  resolved_name(a, ra, sizeof ra);
  resolved_name(b, rb, sizeof rb);
  return strcmp(ra, rb) == 0;
}

static int given(const alq_path_use *u) { return u->path && u->path[0]; }

alq_err alq_paths_check_distinct(const alq_path_use *uses, int n) {
  for (int i = 0; i < n; i++) {
    for (int j = i + 1; j < n; j++) {
      const alq_path_use *a = &uses[i], *b = &uses[j];
      if (!given(a) || !given(b) || (a->role == ALQ_PATH_INPUT && b->role == ALQ_PATH_INPUT))
        continue;
      if (!same_file(a->path, b->path))
        continue;
      /* Name the one written over the other first: an output before an updated
       * file, either before an input. */
      if (a->role == ALQ_PATH_INPUT || (a->role == ALQ_PATH_UPDATE && b->role == ALQ_PATH_OUTPUT)) {
        const alq_path_use *t = a;
        a = b;
        b = t;
      }
      if (b->role != ALQ_PATH_OUTPUT)
        return alq_error_set(ALQ_ERR_USAGE, "%s %s and %s %s are the same file: an output must not replace an input",
                             a->option, a->path, b->option, b->path);
      return alq_error_set(ALQ_ERR_USAGE, "%s %s and %s %s are the same file: two outputs cannot share one file",
                           a->option, a->path, b->option, b->path);
    }
  }
  return ALQ_OK;
}

const char *alq_paths_pool_file(const char *pool) { return strncmp(pool, "gen:", 4) == 0 ? NULL : pool; }

alq_err alq_paths_temp(const char *final_path, char *tmp, size_t size) {
  if (snprintf(tmp, size, "%s.tmp.%ld", final_path, (long)getpid()) >= (int)size)
    return alq_error_set(ALQ_ERR_OUTPUT, "output path too long: %s", final_path);
  return ALQ_OK;
}

void alq_paths_discard(const char *const *tmp, int n) {
  for (int i = 0; i < n; i++)
    if (tmp[i] && tmp[i][0])
      unlink(tmp[i]);
}

/* Keeps the version of `final_path` that exists now under `old` (a hard link,
 * so nothing is copied).  *kept is 0 when there is nothing to keep or the file
 * system has no hard links. */
static alq_err keep_old(const char *final_path, char *old, size_t size, int *existed, int *kept) {
  struct stat sb;
  *existed = lstat(final_path, &sb) == 0;
  *kept = 0;
  if (!*existed)
    return ALQ_OK;
  if (snprintf(old, size, "%s.old.%ld", final_path, (long)getpid()) >= (int)size)
    return alq_error_set(ALQ_ERR_OUTPUT, "output path too long: %s", final_path);
  if (link(final_path, old) == 0) {
    *kept = 1;
    return ALQ_OK;
  }
  if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOTSUP)
    return ALQ_OK;
  return alq_error_set(ALQ_ERR_OUTPUT, "cannot keep the old %s while replacing it: %s", final_path, strerror(errno));
}

/* Flushes a file, or a folder's entries, to the disk: a rename is durable only
 * once the renamed file's data and the folder that names it are.  A full disk
 * shows here at the latest (ENOSPC), as an output error (exit 4).  Folders
 * that cannot be fsync'd (EINVAL on some file systems) are let be. */
static alq_err sync_path(const char *path, int folder) {
  int fd = open(path, folder ? O_RDONLY | O_DIRECTORY : O_RDONLY);
  if (fd < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot open %s to flush it to disk: %s", path, strerror(errno));
  int rc = fsync(fd), e = errno;
  close(fd);
  if (rc != 0 && !(folder && (e == EINVAL || e == EROFS)))
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot flush %s to disk: %s", path, strerror(e));
  return ALQ_OK;
}

static alq_err sync_folder_of(const char *path) {
  char copy[NAME_MAX_BYTES];
  snprintf(copy, sizeof copy, "%s", path);
  return sync_path(dirname(copy), 1);
}

alq_err alq_paths_commit(const char *const *tmp, const char *const *final_path, int n) {
  if (n > COMMIT_MAX) {
    alq_paths_discard(tmp, n);
    return alq_error_set(ALQ_ERR_INTERNAL, "alq_paths_commit: %d files, at most %d", n, COMMIT_MAX);
  }
  char old[COMMIT_MAX][NAME_MAX_BYTES];
  int existed[COMMIT_MAX] = {0}, kept[COMMIT_MAX] = {0};
  alq_err err = ALQ_OK;
  /* Data on disk before any name points at it: a crash after a rename then
   * finds the whole new file, never a renamed empty one. */
  for (int i = 0; i < n && !err; i++)
    err = sync_path(tmp[i], 0);
  /* Each rename is atomic by itself; the old versions undo a commit that
   * fails after some of them (a later rename, a folder's fsync, a fault point). */
  for (int i = 0; i < n && !err; i++)
    err = keep_old(final_path[i], old[i], sizeof old[i], &existed[i], &kept[i]);
  if (!err)
    err = alq_fault_point("commit-synced");
  int renamed = 0;
  while (!err && renamed < n) {
    if (rename(tmp[renamed], final_path[renamed]) != 0) {
      err = alq_error_set(ALQ_ERR_OUTPUT, "cannot rename %s to %s: %s", tmp[renamed], final_path[renamed],
                          strerror(errno));
      break;
    }
    renamed++;
    char point[32];
    snprintf(point, sizeof point, "commit-renamed-%d", renamed);
    if (renamed <= 3)
      err = alq_fault_point(point);
  }
  for (int i = 0; i < n && !err; i++)
    err = sync_folder_of(final_path[i]);
  if (!err)
    err = alq_fault_point("commit-done");
  if (err) {
    alq_paths_discard(tmp + renamed, n - renamed);
    for (int i = 0; i < renamed; i++) {
      if (kept[i] && rename(old[i], final_path[i]) == 0)
        kept[i] = 0; /* the old version is back under its name */
      else if (!existed[i])
        unlink(final_path[i]); /* this run created it */
    }
  }
  /* An old version not put back after a failure is the only copy left: keep it. */
  for (int i = 0; i < n; i++)
    if (kept[i] && (!err || i >= renamed))
      unlink(old[i]);
  return err;
}
