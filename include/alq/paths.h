/* alq/paths.h: no command may destroy one of its own inputs.
 *
 * Two guarantees every alq command gives, whatever it is asked:
 *  - it refuses, before any work, an output that is the same file as an input
 *    or as another output (alq_paths_check_distinct), so `--out` can never
 *    replace the pool, the labeled set or the state it reads;
 *  - a failed run leaves every file that existed before it byte for byte as it
 *    was: outputs are written under temporary names (alq_paths_temp) and
 *    renamed over their final names together (alq_paths_commit), and error paths
 *    remove only those temporary files.
 */
#ifndef ALQ_PATHS_H
#define ALQ_PATHS_H
#include <stddef.h>
#include "alq/error.h"

typedef enum {
  ALQ_PATH_INPUT,  /* read only */
  ALQ_PATH_OUTPUT, /* written (created or replaced) */
  ALQ_PATH_UPDATE, /* read, then replaced by its new version (a round state) */
} alq_path_role;

/* One file a command names: the option that named it (for the message), the
 * path as given, and what the command does with it.  A NULL or empty path is
 * an option not given (or not a file, such as a `gen:` pool) and is skipped. */
typedef struct {
  const char *option; /* e.g. "--out" */
  const char *path;
  alq_path_role role;
} alq_path_use;

/* Usage error (ALQ_ERR_USAGE, one line naming both options and both paths)
 * when an output or updated file is the same file as any other entry of
 * uses[0..n).  Two inputs may share a file (`--labeled` may be the pool).
 * "Same file": the same device and inode when both exist (so hard links and
 * symlinks to an input are caught); otherwise the same resolved name, the
 * real path of the parent folder plus the last component (so `./a/../f` and
 * `f` match before f exists).  Touches no file. */
alq_err alq_paths_check_distinct(const alq_path_use *uses, int n);

/* The pool's file for alq_paths_check_distinct: NULL for a generated pool
 * ("gen:..."), which is not a file. */
const char *alq_paths_pool_file(const char *pool);

/* The temporary name an output is written under before alq_paths_commit:
 * "<final>.tmp.<pid>", in the final file's folder so the rename cannot cross
 * file systems.  Usage error when it does not fit in `size` bytes. */
alq_err alq_paths_temp(const char *final_path, char *tmp, size_t size);

/* Renames tmp[i] over final_path[i] for i in [0, n), n <= 8, all or nothing:
 * each final file that exists is first hard-linked to "<final>.old.<pid>",
 * and when a rename (or a later step) fails the earlier ones are undone
 * (the old version put back, a file this call created removed).  Every tmp[i]
 * is gone on return.  Where the file system has no hard links the old
 * versions cannot be kept; each rename then still replaces a file whole.
 * Durable: every tmp[i] is fsync'd before the first rename and each final
 * file's folder after the last, so a crash or power loss at any point leaves
 * each final name holding its old or its new version, whole.  Output error
 * (exit 4) naming the file on failure, a full disk included.  Fault points
 * commit-synced, commit-renamed-K, commit-done (alq/fault.h). */
alq_err alq_paths_commit(const char *const *tmp, const char *const *final_path, int n);

/* Removes the temporary files tmp[0..n) (NULL or "" entries skipped): the
 * cleanup of a failed run, which never touches a final name. */
void alq_paths_discard(const char *const *tmp, int n);

#endif
