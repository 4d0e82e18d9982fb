/* alq/payload.h: what annotators see of an item besides its id.
 *
 * A pool may name payload columns: the 1-D datasets of its /payload group, one
 * value per row (integers, floats, or fixed- or variable-length strings), e.g.
 * /payload/text or /payload/url (docs/format.md).  alq export copies them into
 * the tasks it writes for annotators.
 */
#ifndef ALQ_PAYLOAD_H
#define ALQ_PAYLOAD_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/pool.h"

typedef enum { ALQ_PAYLOAD_INT, ALQ_PAYLOAD_FLOAT, ALQ_PAYLOAD_TEXT } alq_payload_kind;

#define ALQ_PAYLOAD_NAME_MAX 256

/* One column's values for the requested rows, in request order. */
typedef struct {
  char name[ALQ_PAYLOAD_NAME_MAX];
  alq_payload_kind kind;
  int64_t *ints;
  double *floats;
  char **texts;
  int64_t n;
} alq_payload_column;

/* Serial: the row of each id of the pool `meta` describes (ids need not be
 * sorted).  Input error naming the id when one is not in the pool. */
alq_err alq_pool_rows_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int64_t *rows);

/* Serial: the names of the pool's payload columns, sorted (none: *n = 0). */
alq_err alq_payload_names(const char *pool, char (**names)[ALQ_PAYLOAD_NAME_MAX], int64_t *n);

/* Serial: column `name` at `rows`.  Input error for a missing column, one that
 * is not 1-D with one value per item, or of another type. */
alq_err alq_payload_read(const alq_pool_meta *meta, const char *name, const int64_t *rows, int64_t n,
                         alq_payload_column *out);
void alq_payload_column_free(alq_payload_column *c);

#endif
