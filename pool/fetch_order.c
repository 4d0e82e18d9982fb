/* pool/fetch_order.c: what the sources' by-id fetches share: the steps in
 * order, the sorted read order, and the check that every asked-for id has a row. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "source_impl.h"

static int cmp_row_pos(const void *pa, const void *pb) {
  const alq_row_pos *a = pa, *b = pb;
  return a->row < b->row ? -1 : a->row > b->row;
}

alq_err alq_row_order(const int64_t *values, int64_t n, alq_row_pos **order) {
  ALQ_CHECK(alq_malloc(order, sizeof **order * (size_t)(n ? n : 1), "fetch order"));
  for (int64_t i = 0; i < n; i++)
    (*order)[i] = (alq_row_pos){values[i], i};
  qsort(*order, (size_t)n, sizeof **order, cmp_row_pos);
  return ALQ_OK;
}

alq_err alq_rows_of_ids_finish(MPI_Comm comm, const alq_pool_meta *meta, const int64_t *ids, int64_t n,
                               int64_t *rows) {
  if (!meta->has_ids)
    for (int64_t i = 0; i < n; i++)
      rows[i] = ids[i] >= 0 && ids[i] < meta->n_items ? ids[i] : -1;
  alq_err err = ALQ_OK;
  for (int64_t i = 0; !err && i < n; i++)
    if (rows[i] < 0)
      err = alq_error_set(ALQ_ERR_INPUT, "id %lld is not an item of pool %s", (long long)ids[i], meta->path);
  return alq_agree(comm, err);
}

alq_err alq_fetch_by_rows(MPI_Comm comm, const alq_fetch_steps *steps, void *impl, const int64_t *ids, int64_t n,
                          unsigned fields, alq_rows *dst) {
  int64_t *rows = NULL;
  alq_err err = alq_agree(comm, alq_malloc(&rows, sizeof *rows * (size_t)(n ? n : 1), "fetched rows"));
  if (!err)
    err = steps->rows_of_ids(impl, ids, n, rows);
  if (!err && n > 0 && dst->ids)
    memcpy(dst->ids, ids, sizeof *ids * (size_t)n);
  if (!err && n > 0)
    err = steps->read_rows(impl, rows, n, fields, dst);
  free(rows);
  return alq_agree(comm, err);
}
