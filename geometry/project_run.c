/* geometry/project_run.c: `alq project` (alq/geometry.h): a PCA projection
 * of a pool's embeddings fitted across ranks (covariance pass, PDSYEVD) and
 * written by rank 0. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "alq/logview.h"
#include "alq/source.h"
#include "geometry_impl.h"

/* Rank 0: the one line on stderr: the variance the K axes keep, and where
 * the time went. */
static void summary(MPI_Comm comm, const alq_project_options *o, const alq_projection *p, int64_t k, double seconds) {
  int size;
  MPI_Comm_size(comm, &size);
  double top = 0, all = 0;
  for (int64_t i = 0; i < p->dim; i++)
    all += p->eigenvalues[i] > 0 ? p->eigenvalues[i] : 0, top += i < k && p->eigenvalues[i] > 0 ? p->eigenvalues[i] : 0;
  /* rank 0 is in every step: its eigensolver phase is the decomposition's time */
  double eigen = alq_log_stats()[ALQ_PHASE_SELECT].seconds;
  fprintf(stderr, "alq: projected %lld -> %lld columns (%.1f%% of the variance) from %lld rows on %d rank(s), "
          "grid %dx%d, in %.2f s (covariance pass %.2f s, PDSYEVD %.2f s): %s\n", (long long)p->dim, (long long)k,
          all > 0 ? 100 * top / all : 0.0, (long long)p->fit_rows, size, p->grid_rows, p->grid_cols, seconds,
          seconds - eigen, eigen, o->out);
}

alq_err alq_project_run(MPI_Comm comm, alq_project_options *o) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  alq_pool_meta meta;
  memset(&meta, 0, sizeof meta);
  ALQ_CHECK(geo_share_options(comm, rank == 0 ? alq_source_describe(o->pool, &meta) : ALQ_OK, o, sizeof *o, &meta));
  int whiten = 0;
  int64_t k = 0;
  ALQ_CHECK(alq_projection_parse(o->project, &whiten, &k));
  alq_log_reset();
  double t0 = MPI_Wtime();
  alq_projection p;
  ALQ_CHECK(alq_projection_fit(comm, &meta, &o->fit, whiten, k, &p));
  double seconds = MPI_Wtime() - t0;
  alq_err err = alq_agree(comm, rank == 0 ? alq_projection_write(o->out, &p) : ALQ_OK);
  if (!err && rank == 0 && !o->quiet)
    summary(comm, o, &p, k, seconds);
  alq_projection_free(&p);
  return err;
}
