/* alq/id_index.h: which row holds an id, for pools whose ids are in any order.
 *
 * A distributed index: every rank contributes the (id, row) pairs of the rows
 * it read, each pair goes to the rank that owns its id (a hash of the id
 * modulo the rank count), and each owner sorts its pairs.  Building it refuses
 * a duplicated id naming both rows; a lookup routes the queried ids to their
 * owners and back.  Memory: 16 bytes per pool row, spread evenly over ranks.
 * No rank reads or sorts the whole pool's ids, and no lookup touches the file.
 */
#ifndef ALQ_ID_INDEX_H
#define ALQ_ID_INDEX_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"

typedef struct {
  int64_t id, row;
} alq_id_row;

typedef struct {
  int64_t n;        /* pairs this rank owns */
  alq_id_row *pairs; /* sorted by id */
} alq_id_index;

/* Collective.  ids[i] is the id of global row first_row + i on this rank.  A
 * duplicated id is an input error "<pool>: <dataset> holds id X twice (rows
 * R1 and R2)", the same on every rank. */
alq_err alq_id_index_build(MPI_Comm comm, const char *pool, const char *dataset, const int64_t *ids, int64_t n,
                           int64_t first_row, alq_id_index *out);
/* Collective: rows[i] = the row of ids[i], or -1 when no rank holds it.  Each
 * rank passes its own queries (n may be 0). */
alq_err alq_id_index_lookup(MPI_Comm comm, const alq_id_index *ix, const int64_t *ids, int64_t n, int64_t *rows);
void alq_id_index_free(alq_id_index *ix);

#endif
