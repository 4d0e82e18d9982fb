/* simulate/dataset.c: the pool a simulation replays, whole on every rank. */
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/worker.h"
#include "alq/sorted_ids.h"
#include "sim.h"

void sim_dataset_free(sim_dataset *d) {
  free(d->x);
  free(d->y);
  free(d->ids);
  free(d->confusion);
}

alq_err sim_dataset_load(MPI_Comm comm, const alq_simulate_options *o, sim_dataset *d) {
  const char *path = o->pool;
  int rank;
  MPI_Comm_rank(comm, &rank);
  memset(d, 0, sizeof *d);
  alq_err err = rank == 0 ? alq_pool_inspect(path, &d->meta) : ALQ_OK;
  if (!err && rank == 0 && !d->meta.has_labels)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: dataset /labels is missing: simulate needs the ground truth", path);
  if (!err && rank == 0 && d->meta.n_classes < 2)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: needs at least 2 classes (root attribute classes), got %lld", path,
                        (long long)d->meta.n_classes);
  ALQ_CHECK(alq_agree(comm, err));
  ALQ_CHECK(alq_bcast(&d->meta, sizeof d->meta, 0, comm));
  int64_t n = d->meta.n_items;
  err = alq_malloc(&d->x, sizeof(float) * n * d->meta.dim, "pool features");
  if (!err)
    err = alq_malloc(&d->y, sizeof(int32_t) * n, "pool labels");
  if (!err)
    err = alq_malloc(&d->ids, sizeof(int64_t) * n, "pool ids");
  ALQ_CHECK(alq_agree(comm, err));
  alq_source *src = NULL;
  ALQ_CHECK(alq_agree(comm, alq_source_open(comm, &d->meta, &src)));
  unsigned fields = ALQ_FIELD_IDS | ALQ_FIELD_EMBEDDINGS | ALQ_FIELD_LABELS;
  alq_rows rows = {.ids = d->ids, .embeddings = d->x, .labels = d->y};
  err = alq_source_read(src, 0, n, fields, &rows);
  alq_source_close(src);
  if (!err)
    err = alq_rows_validate(&d->meta, &rows, 0, n, fields);
  /* -1: an item of no class (junk, alq/simulate.h), which annotators cannot be simulated on. */
  int32_t lowest = o->annotators > 0 ? 0 : -1;
  for (int64_t i = 0; !err && i < n; i++)
    if (d->y[i] < lowest || d->y[i] >= d->meta.n_classes)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /labels row %lld is %d, outside %d..%lld (-1 = junk, without annotators)",
                          path, (long long)i, d->y[i], lowest, (long long)d->meta.n_classes - 1);
  for (int64_t i = 1; !err && i < n; i++)
    if (d->ids[i] <= d->ids[i - 1])
      err = alq_error_set(ALQ_ERR_INPUT, "%s: /ids row %lld is %lld, not greater than the previous id %lld", path,
                          (long long)i, (long long)d->ids[i], (long long)d->ids[i - 1]);
  ALQ_CHECK(alq_agree(comm, err));
  if (!o->confusion[0])
    return ALQ_OK;
  int64_t K = d->meta.n_classes;
  err = alq_agree(comm, alq_malloc(&d->confusion, sizeof(double) * K * K, "confusion matrix"));
  if (!err)
    err = alq_agree(comm, rank == 0 ? sim_confusion_read(o->confusion, K, d->confusion) : ALQ_OK);
  if (!err)
    err = alq_bcast(d->confusion, sizeof(double) * K * K, 0, comm);
  return err;
}

int64_t sim_row_of(const sim_dataset *d, int64_t id) {
  return alq_ids_find(d->ids, d->meta.n_items, id);
}
