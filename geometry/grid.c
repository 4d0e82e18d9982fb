/* geometry/grid.c: BLACS grids from an MPI communicator, and block-cyclic
 * matrices on them. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "geometry_impl.h"
#include "scalapack.h"

void geo_grid_shape_for(int size, int *nprow, int *npcol) {
  int r = 1;
  for (int f = 1; f * f <= size; f++)
    if (size % f == 0)
      r = f;
  *nprow = r;
  *npcol = size / r;
}

alq_err geo_grid_init(MPI_Comm comm, int nprow, int npcol, geo_grid *g) {
  int size;
  MPI_Comm_size(comm, &size);
  memset(g, 0, sizeof *g);
  g->context = -1;
  g->myrow = g->mycol = -1;
  if (nprow < 1 || npcol < 1 || nprow * npcol > size)
    return alq_error_set(ALQ_ERR_USAGE, "a %dx%d process grid needs %d ranks, the job has %d", nprow, npcol,
                         nprow * npcol, size);
  g->handle = Csys2blacs_handle(comm);
  /* Cblacs_gridinit turns the system handle into the grid's context (-1 off
   * it).  Not Cblacs_get(-1, 0): that is MPI_COMM_WORLD's, not comm's. */
  int ctxt = g->handle;
  Cblacs_gridinit(&ctxt, "R", nprow, npcol);
  g->context = ctxt;
  g->nprow = nprow;
  g->npcol = npcol;
  if (ctxt >= 0) {
    int r, c;
    Cblacs_gridinfo(ctxt, &r, &c, &g->myrow, &g->mycol);
  }
  return ALQ_OK;
}

void geo_grid_free(geo_grid *g) {
  if (g->context >= 0)
    Cblacs_gridexit(g->context);
  if (g->nprow > 0)
    Cfree_blacs_system_handle(g->handle);
  memset(g, 0, sizeof *g);
  g->context = -1;
}

alq_err geo_matrix_alloc(const geo_grid *g, int64_t m, int64_t n, geo_matrix *a) {
  memset(a, 0, sizeof *a);
  a->m = m;
  a->n = n;
  a->desc[1] = -1;
  if (!geo_grid_member(g))
    return ALQ_OK;
  int im = (int)m, in = (int)n, nb = GEO_NB, zero = 0, info = 0;
  a->lrows = numroc_(&im, &nb, &g->myrow, &zero, &g->nprow);
  a->lcols = numroc_(&in, &nb, &g->mycol, &zero, &g->npcol);
  int lld = a->lrows > 1 ? (int)a->lrows : 1;
  descinit_(a->desc, &im, &in, &nb, &nb, &zero, &zero, &g->context, &lld, &info);
  if (info != 0)
    return alq_error_set(ALQ_ERR_INTERNAL, "descinit_ failed (info %d) for a %lldx%lld matrix", info, (long long)m,
                         (long long)n);
  return alq_calloc(&a->local, (size_t)(a->lrows > 0 ? a->lrows : 1) * (size_t)(a->lcols > 0 ? a->lcols : 1),
                    sizeof(double), "distributed matrix");
}

void geo_matrix_free(geo_matrix *a) {
  free(a->local);
  memset(a, 0, sizeof *a);
  a->desc[1] = -1;
}

void geo_matrix_copy(const geo_grid *all, int64_t m, int64_t n, const geo_matrix *a, int64_t ia, int64_t ja,
                     geo_matrix *b, int64_t ib, int64_t jb) {
  int im = (int)m, in = (int)n, ia1 = (int)ia + 1, ja1 = (int)ja + 1, ib1 = (int)ib + 1, jb1 = (int)jb + 1;
  static double none = 0;
  pdgemr2d_(&im, &in, a->local ? a->local : &none, &ia1, &ja1, a->desc, b->local ? b->local : &none, &ib1, &jb1,
            b->desc, &all->context);
}

alq_err geo_matrix_gather(MPI_Comm comm, const geo_grid *all, const geo_matrix *a, double **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  *out = NULL;
  geo_grid one;
  ALQ_CHECK(alq_agree(comm, geo_grid_init(comm, 1, 1, &one)));
  geo_matrix whole;
  alq_err err = alq_agree(comm, geo_matrix_alloc(&one, a->m, a->n, &whole));
  if (!err) {
    geo_matrix_copy(all, a->m, a->n, a, 0, 0, &whole, 0, 0);
    if (rank == 0) {
      *out = whole.local;
      whole.local = NULL;
    }
  }
  geo_matrix_free(&whole);
  geo_grid_free(&one);
  return err;
}
