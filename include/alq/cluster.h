/* alq/cluster.h: distributed k-means, k-means++ seeding and D^2 draws that
 * give the same result, bit for bit, at any rank count.
 *
 * Used by the clustering strategies (TypiClust, Cluster-Margin) and by BADGE's
 * k-means++ seeding in gradient space.  Points are spread over the ranks
 * (each rank's shard of candidates) plus, optionally, points every rank holds
 * identically (the labeled items).
 *
 * Why the result does not depend on the number of ranks P:
 *   - distances are alq_dot (alq/dot.h) per pair of rows: a function of the
 *     two rows alone;
 *   - sums over points (centroid sums, D^2 masses) are exact integers:
 *     every value is scaled by a power of two chosen from the global maximum
 *     and the global point count (so no sum can overflow int64), rounded to
 *     an integer, and summed in int64.  Integer addition is associative, so
 *     the local sums, the MPI_SUM over ranks and the prefix over ranks give the
 *     same bits for any partition.  (A floating-point MPI_SUM would not: its
 *     order changes with P.)  The rounding is a function of the value, the
 *     global maximum and the global count only; with 62 - log2(N) bits below
 *     the maximum it is far finer than float32;
 *   - a D^2 draw maps one hash-derived target into the points in one fixed
 *     order: the shared points (id order), then the ranks' points (id order;
 *     every id on rank r is below every id on rank r + 1, which contiguous
 *     shards and AnchorAL's subpool give and alq_points_check verifies);
 *   - ties (nearest centroid, first center) break by the lower index / id.
 * Tested: cluster-kmeans-* (tests/strategies_cluster.cmake) compare centroids
 * and labels bit for bit at 1, 2, 3, 4 ranks and against an independent
 * float64 reference.
 */
#ifndef ALQ_CLUSTER_H
#define ALQ_CLUSTER_H
#include <mpi.h>
#include <stdint.h>
#include "alq/error.h"
#include "alq/strategy.h"

#include "alq/hash.h" /* the hash purposes of cluster/ and its strategies: one table for all */

/* Points spread over the ranks of comm. */
typedef struct {
  MPI_Comm comm;
  int64_t d;
  int64_t n;                /* this rank's points */
  const int64_t *ids;       /* ascending; below every id of the next rank */
  const float *x;           /* n x d */
  int64_t n_shared;         /* points every rank holds identically; may be 0 */
  const int64_t *shared_ids;
  const float *shared_x;    /* n_shared x d */
} alq_points;

/* Collective: ALQ_ERR_INTERNAL on every rank unless each rank's ids ascend
 * and every rank's ids lie below the next non-empty rank's. */
alq_err alq_points_check(const alq_points *p);

/* Candidates whose ids ascend across ranks, with `extra_bytes` of the
 * caller's per-candidate payload carried along (extra: in->n records; NULL
 * when extra_bytes is 0). */
typedef struct {
  alq_candidates c;
  unsigned char *extra; /* c.n records of extra_bytes */
  int owned;            /* 1: c and extra are copies this struct frees */
} alq_ordered_candidates;

/* Collective.  Each rank's candidates ascend by id (as the scan keeps them).
 * When every rank's ids already lie below the next rank's, out is a view of
 * in (no copy); otherwise (a pool with ids in any order) the candidates are
 * re-dealt by a sample sort (cluster/id_order.c), about twice their bytes
 * held while they move.  The strategies that visit points in the global id
 * order (BADGE, TypiClust, Cluster-Margin, ProbCover, VeSSAL) call it first. */
alq_err alq_candidates_id_order(MPI_Comm comm, const alq_candidates *in, const void *extra, int64_t extra_bytes,
                                alq_ordered_candidates *out);
void alq_ordered_candidates_free(alq_ordered_candidates *o);

/* Where a D^2 draw landed. */
typedef struct {
  int where;     /* ALQ_DRAW_NONE (no mass left), ALQ_DRAW_SHARED or ALQ_DRAW_LOCAL */
  int owner;     /* the rank holding a LOCAL point */
  int64_t index; /* into the shared points, or into the owner's points */
} alq_draw;
enum { ALQ_DRAW_NONE = 0, ALQ_DRAW_SHARED, ALQ_DRAW_LOCAL };

/* Collective: draws one point with probability proportional to its weight
 * (w >= 0 for this rank's n points, ws for the n_shared shared points, the
 * same on every rank), u in [0, 1) the same on every rank (a hash of (seed,
 * step)).  Weights are summed exactly in fixed point (see above): the target
 * floor(u x total) falls in the first point, in the fixed order, whose
 * cumulative weight exceeds it; a point of weight 0 (or of a weight below the
 * fixed-point unit) is never drawn.  n_global is the number of points of all
 * ranks (shared included), which bounds the sum. */
alq_err alq_d2_draw(MPI_Comm comm, const double *w, int64_t n, const double *ws, int64_t n_shared,
                    int64_t n_global, double u, alq_draw *out);

/* Collective: the draw's point (d floats) and id on every rank. */
alq_err alq_draw_fetch(const alq_points *p, const alq_draw *dr, float *row, int64_t *id);

/* A k-means model, identical on every rank. */
typedef struct {
  int64_t k, d;     /* k may be below the requested k: fewer distinct points */
  float *c;         /* k x d centroids */
  float *cnorm;     /* ||c_j||^2 (alq_dot) */
  int64_t *size;    /* points per cluster in the last assignment (shared ones included) */
  int64_t iterations;
} alq_kmeans;

/* Collective: k-means++ seeding (the first center drawn uniformly, then D^2
 * draws, keyed by hash(seed, step, ALQ_PURPOSE_KMEANSPP); a point at distance
 * 0 from a center is never drawn, so k shrinks when fewer points are
 * distinct), then Lloyd iterations: assign every point to its nearest
 * centroid (alq_kmeans_assign), recompute each centroid as the mean of its
 * points (exact fixed-point sums, then float), until no point changes
 * cluster or max_iter assignments were made.  A cluster that empties keeps
 * its centroid.  label (n) and shared_label (n_shared), when not NULL,
 * receive the last assignment, which the centroids and sizes describe.
 * Memory per rank: n doubles and int32s, k d int64 sums, k d floats. */
alq_err alq_kmeans_fit(const alq_points *p, int64_t k, int64_t max_iter, uint64_t seed, alq_kmeans *out,
                       int32_t *label, int32_t *shared_label);

/* What alq_kmeans_fit allocates on a rank with n points and n_shared shared
 * points for k clusters of width d: the model and its scratch (a bound for
 * the memory plan; kept beside the allocations in cluster/kmeans.c). */
int64_t alq_kmeans_bytes(int64_t n, int64_t n_shared, int64_t k, int64_t d);

/* How far the squared distance xn + cn - 2 alq_dot(x, c) (float, as alq
 * computes it, clamped at 0 or not) can be from xn + cn - 2 approx, when a
 * GEMM's estimate approx is within allow of alq_dot's value: 2 allow, plus
 * the float sums' rounding (2^-23 of their magnitude), taken twice over.
 * Lets a GEMM decide which pairs need the exact distance. */
double alq_d2_margin(double xn, double cn, double approx, double allow);

/* The nearest centroid of each of the n rows x (ties: the lower index), and
 * its squared distance ||x||^2 + ||c||^2 - 2 x.c (alq_dot, clamped at 0) when
 * dist2 is not NULL.  Not collective: a function of the row and the model.
 * With many centroids an SGEMM tile estimates every distance and only the
 * centroids that could be nearest (alq_d2_margin) are computed exactly; the
 * result is that of the exact scan, bit for bit. */
void alq_kmeans_assign(const alq_kmeans *m, const float *x, int64_t n, int32_t *label, float *dist2);

void alq_kmeans_free(alq_kmeans *m);

#endif
