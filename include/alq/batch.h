/* alq/batch.h: reading a batch file back (docs/format.md, "Batch files"):
 * /selected/ids in selection order, the pool it came from, its manifest. */
#ifndef ALQ_BATCH_H
#define ALQ_BATCH_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/manifest.h"
#include "alq/pool.h"

typedef struct {
  int64_t n;
  int64_t *ids;                /* in selection order */
  char pool[ALQ_PATH_MAX];     /* the pool attribute: the pool it was selected from */
  alq_manifest_bytes manifest; /* len 0 when the file has no /manifest */
} alq_batch_file;

alq_err alq_batch_file_read(const char *path, alq_batch_file *out);
void alq_batch_file_free(alq_batch_file *b);

#endif
