/* pool/source_impl.h: constructors of the built-in sources (internal). */
#ifndef ALQ_SOURCE_IMPL_H
#define ALQ_SOURCE_IMPL_H
#include "alq/source.h"

alq_err alq_hdf5_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out);
/* A pool list (alq/pool_list.h): pool/source_multi.c. */
alq_err alq_multi_source_describe(const char *path, alq_pool_meta *meta);
alq_err alq_multi_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out);
alq_err alq_multi_rows_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int64_t *rows);
alq_err alq_gen_source_describe(const char *spec, alq_pool_meta *meta);
alq_err alq_gen_source_open(const alq_pool_meta *meta, alq_source **out);

/* A value (a row, or an id) and the position it came from: fetches read rows in
 * increasing order and put each where the caller asked for it. */
typedef struct {
  int64_t row, pos;
} alq_row_pos;

/* order[i] = {values[i], i}, sorted by value (n may be 0; *order then holds one slot). */
alq_err alq_row_order(const int64_t *values, int64_t n, alq_row_pos **order);

/* Collective: finishes a source's rows-of-ids lookup.  For a pool without ids
 * the rows are the ids themselves (when in [0, n_items)); an id left without a
 * row is an input error naming it and `pool`, the same on every rank. */
alq_err alq_rows_of_ids_finish(MPI_Comm comm, const alq_pool_meta *meta, const int64_t *ids, int64_t n,
                               int64_t *rows);

/* What a source's by-id fetch is made of: ids to rows (collective), and the
 * rows read into dst in the order asked (this rank's own reads). */
typedef struct {
  alq_err (*rows_of_ids)(void *impl, const int64_t *ids, int64_t n, int64_t *rows);
  alq_err (*read_rows)(void *impl, const int64_t *rows, int64_t n, unsigned fields, alq_rows *dst);
} alq_fetch_steps;

/* Collective (alq_source_ops.fetch): the two steps, with dst->ids filled from
 * `ids` and an error agreed by every rank. */
alq_err alq_fetch_by_rows(MPI_Comm comm, const alq_fetch_steps *steps, void *impl, const int64_t *ids, int64_t n,
                          unsigned fields, alq_rows *dst);

#endif
