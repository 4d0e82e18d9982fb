/* cluster/draw.c: one weighted (D^2) draw over points spread across ranks,
 * the same at any rank count, and the check of the order it relies on.
 *
 * The weights are summed exactly in int64 fixed point (cluster/fixed.h): each
 * rank sums its own, one allgather gives every rank all P totals, and the
 * prefix over ranks in rank order is the prefix in global id order.  The
 * target is floor(u x total); only its owner walks its points. */
#include <math.h>
#include <stdlib.h>

#include "alq/cluster.h"
#include "alq/comm.h"
#include "fixed.h"

alq_err alq_points_check(const alq_points *p) {
  int size;
  MPI_Comm_size(p->comm, &size);
  int64_t mine[3] = {p->n, p->n ? p->ids[0] : 0, p->n ? p->ids[p->n - 1] : 0};
  for (int64_t i = 1; i < p->n; i++)
    if (p->ids[i] <= p->ids[i - 1])
      mine[0] = -1; /* not ascending */
  int64_t *all = NULL;
  ALQ_CHECK(alq_agree(p->comm, alq_malloc(&all, sizeof(int64_t) * 3 * size, "cluster point ranges")));
  alq_err err = alq_allgather_bytes(mine, sizeof mine, all, p->comm);
  int ok = 1;
  int64_t last = INT64_MIN;
  for (int r = 0; !err && r < size; r++) {
    if (all[3 * r] < 0)
      ok = 0;
    if (all[3 * r] > 0) {
      ok = ok && all[3 * r + 1] > last;
      last = all[3 * r + 2];
    }
  }
  free(all);
  ALQ_CHECK(err);
  return ok ? ALQ_OK
            : alq_error_set(ALQ_ERR_INTERNAL, "cluster points are not in ascending id order across ranks");
}

static double max_weight(const double *w, int64_t n) {
  double m = 0;
  for (int64_t i = 0; i < n; i++)
    m = w[i] > m ? w[i] : m;
  return m;
}

/* The weight in fixed-point units: floor, so a weight of 0 stays 0. */
static int64_t units(double w, int f) { return w > 0 ? (int64_t)floor(ldexp(w, f)) : 0; }

static int64_t total_units(const double *w, int64_t n, int f) {
  int64_t t = 0;
  for (int64_t i = 0; i < n; i++)
    t += units(w[i], f);
  return t;
}

/* The first point whose cumulative weight exceeds target (target < total). */
static int64_t walk(const double *w, int64_t n, int f, int64_t target) {
  int64_t cum = 0;
  for (int64_t i = 0; i < n; i++) {
    cum += units(w[i], f);
    if (cum > target)
      return i;
  }
  return n - 1; /* unreachable when target < the total of w */
}

alq_err alq_d2_draw(MPI_Comm comm, const double *w, int64_t n, const double *ws, int64_t n_shared,
                    int64_t n_global, double u, alq_draw *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  *out = (alq_draw){ALQ_DRAW_NONE, -1, -1};
  double local_max = max_weight(w, n), shared_max = max_weight(ws, n_shared), mx = 0;
  local_max = local_max > shared_max ? local_max : shared_max;
  ALQ_CHECK(alq_allreduce(&local_max, &mx, 1, MPI_DOUBLE, MPI_MAX, comm)); /* MAX is exact */
  if (!(mx > 0))
    return ALQ_OK;
  const int f = alq_fixed_shift(mx, n_global);
  int64_t mine = total_units(w, n, f), shared = total_units(ws, n_shared, f);
  int64_t *totals = NULL;
  ALQ_CHECK(alq_agree(comm, alq_malloc(&totals, sizeof(int64_t) * size, "draw totals")));
  alq_err err = alq_allgather_bytes(&mine, sizeof mine, totals, comm);
  int64_t total = shared;
  for (int r = 0; !err && r < size; r++)
    total += totals[r];
  if (!err && total > 0) {
    int64_t target = (int64_t)(u * (double)total);
    target = target < total ? target : total - 1;
    if (target < shared) {
      *out = (alq_draw){ALQ_DRAW_SHARED, -1, walk(ws, n_shared, f, target)};
    } else {
      int64_t below = shared; /* mass of everything before rank r */
      int r = 0;
      while (r < size - 1 && target >= below + totals[r])
        below += totals[r++];
      *out = (alq_draw){ALQ_DRAW_LOCAL, r, r == rank ? walk(w, n, f, target - below) : -1};
    }
  }
  free(totals);
  return err;
}

alq_err alq_draw_fetch(const alq_points *p, const alq_draw *dr, float *row, int64_t *id) {
  int rank;
  MPI_Comm_rank(p->comm, &rank);
  if (dr->where == ALQ_DRAW_SHARED) {
    for (int64_t t = 0; t < p->d; t++)
      row[t] = p->shared_x[dr->index * p->d + t];
    *id = p->shared_ids[dr->index];
    return ALQ_OK;
  }
  if (dr->where != ALQ_DRAW_LOCAL)
    return alq_error_set(ALQ_ERR_INTERNAL, "fetch of an empty draw");
  if (dr->owner == rank) {
    for (int64_t t = 0; t < p->d; t++)
      row[t] = p->x[dr->index * p->d + t];
    *id = p->ids[dr->index];
  }
  ALQ_CHECK(alq_bcast(row, sizeof(float) * p->d, dr->owner, p->comm));
  return alq_bcast(id, sizeof *id, dr->owner, p->comm);
}
