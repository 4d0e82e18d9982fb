/* strategies/typiclust.c: TypiClust (Hacohen et al., ICML 2022), the most
 * typical item of each of the least-covered clusters.
 *
 * As the reference implementation does:
 *   1. K = min(|L| + B, 500) clusters of the whole pool, labeled items
 *      included, by k-means (cluster/: k-means++ seeding, Lloyd, at most 100
 *      iterations; the same centroids at any rank count);
 *   2. clusters of 5 or fewer items are dropped; the others are ordered by
 *      fewest labeled items, then larger size (then lower index);
 *   3. pick i of the batch comes from the next cluster of that order, round
 *      robin: among its unlabeled items not yet picked, the one of highest
 *      typicality 1 / (mean squared L2 distance to its k nearest neighbours
 *      in the same set + 1e-5), k = min(20, m / 2) for m such items.  Squared
 *      distances, as the reference's FAISS IndexFlatL2 returns them; ties:
 *      the lower id.
 * Where the reference would fail (a cluster with no unlabeled item left, or
 * no cluster above 5 items), alq skips the exhausted cluster, and uses the
 * small clusters, in the same order, once the others are exhausted.  A
 * cluster's only remaining item is picked with score 0.
 *
 * Per pick, the cluster's remaining members (id and row) stream past every
 * rank in blocks of BLOCK rows, and each rank keeps the k nearest distances of
 * its own members: O(m^2 d / P) time at the bound GEMM's rate (alq/gemm.h:
 * oneDNN bf16 where the CPU has it, else SGEMM; its estimates, within a
 * proven allowance of alq_dot's, decide which pairs could be among the k
 * nearest; those are computed with alq_dot, so the values are the all-exact
 * pass's whatever the path), and memory bounded by the rank's own candidates
 * plus one block, whatever the size of the cluster. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "alq/cluster.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/gemm.h"
#include "alq/logview.h"
#include "alq/strategy.h"

#define MAX_CLUSTERS 500
#define MIN_CLUSTER_SIZE 5
#define K_NN 20
#define MAX_ITER 100
#define BLOCK 4096 /* member rows per broadcast of a pick */
#define TILE 256   /* this rank's members per GEMM tile */
#define OWN 512    /* this rank's members per tile of its own pairs */

typedef struct {
  int64_t n, d, k;
  const int64_t *ids;
  const float *x;
  int32_t *label;     /* cluster of each local candidate */
  int64_t *start;     /* k + 1: local members of cluster j are member[start[j] .. start[j+1]) */
  int64_t *member;    /* local indices, by cluster, in id order */
  unsigned char *taken;
  int64_t *left;      /* unlabeled items not yet picked, per cluster (global) */
  int64_t *order;     /* clusters to visit: above MIN_CLUSTER_SIZE first, then the small ones */
  int64_t n_large, n_order;
} tc_state;

typedef struct {
  int64_t size, labeled, j;
} cluster_key;

/* The k nearest squared distances of each of this rank's members of a cluster. */
typedef struct {
  float *best;  /* K_NN per member, ascending */
  int64_t *len; /* entries used */
  float *xn;    /* ||x||^2 */
} tc_knn;

/* A broadcast block unpacked for the GEMM: ids, rows and their norms. */
typedef struct {
  int64_t n;
  int64_t *ids;
  float *y;    /* BLOCK x d */
  float *yn;   /* ||y||^2 (alq_dot) */
  float *ylen; /* ||y|| */
} tc_block;

/* TILE of this rank's members against a block: their rows and the product. */
typedef struct {
  float *x;    /* TILE x d */
  float *xlen; /* ||x|| */
  float *dots; /* TILE x BLOCK, the bound GEMM's estimates */
} tc_tile;

/* A pick's buffers, allocated once per selection. */
typedef struct {
  int ranks;
  int64_t *mine;   /* this rank's remaining members of the cluster (local indices) */
  int64_t *counts; /* remaining members per rank */
  unsigned char *block; /* the broadcast records (id, row) */
  tc_block unpacked;
  tc_tile tile;
  tc_block own_a, own_b;   /* two tiles of OWN of this rank's members */
  float *own_dots, *own_t; /* OWN x OWN: their product and its transpose */
  tc_knn knn;
  int64_t exact; /* pairs evaluated with alq_dot, this rank (--log-view) */
  int64_t m;     /* members of the last pick's cluster */
  const char *gemm_path; /* the bound GEMM's path and library, for --log-view */
  char gemm_impl[128];
} tc_scratch;

static int key_cmp(const void *pa, const void *pb) {
  const cluster_key *a = pa, *b = pb;
  if (a->labeled != b->labeled)
    return a->labeled < b->labeled ? -1 : 1;
  if (a->size != b->size)
    return a->size > b->size ? -1 : 1;
  return a->j < b->j ? -1 : a->j > b->j;
}

/* Clusters in visiting order: large ones (> MIN_CLUSTER_SIZE items) by the
 * reference's key, then the small ones by the same key. */
static alq_err order_clusters(tc_state *s, const alq_kmeans *m, const int32_t *shared_label, int64_t n_shared) {
  cluster_key *keys = NULL;
  ALQ_CHECK(alq_calloc(&keys, m->k ? m->k : 1, sizeof *keys, "typiclust cluster keys"));
  for (int64_t j = 0; j < m->k; j++)
    keys[j] = (cluster_key){m->size[j], 0, j};
  for (int64_t i = 0; i < n_shared; i++)
    keys[shared_label[i]].labeled++;
  qsort(keys, (size_t)m->k, sizeof *keys, key_cmp);
  s->n_order = 0;
  for (int pass = 0; pass < 2; pass++)
    for (int64_t r = 0; r < m->k; r++)
      if ((keys[r].size > MIN_CLUSTER_SIZE) == (pass == 0))
        s->order[s->n_order++] = keys[r].j;
  s->n_large = 0;
  for (int64_t j = 0; j < m->k; j++) {
    s->left[j] = m->size[j];
    s->n_large += m->size[j] > MIN_CLUSTER_SIZE;
  }
  for (int64_t i = 0; i < n_shared; i++)
    s->left[shared_label[i]]--;
  free(keys);
  return ALQ_OK;
}

/* Local members grouped by cluster (a counting sort, id order kept). */
static void group_members(tc_state *s) {
  memset(s->start, 0, sizeof(int64_t) * (s->k + 1));
  for (int64_t i = 0; i < s->n; i++)
    s->start[s->label[i] + 1]++;
  for (int64_t j = 0; j < s->k; j++)
    s->start[j + 1] += s->start[j];
  int64_t *fill = s->order + s->k; /* scratch: k slots after the order */
  memcpy(fill, s->start, sizeof(int64_t) * s->k);
  for (int64_t i = 0; i < s->n; i++)
    s->member[fill[s->label[i]]++] = i;
}

/* The next cluster with an item left, round robin in the visiting order:
 * the large clusters while any has one, then the small ones; -1 if none. */
static int64_t next_cluster(const tc_state *s, int64_t *pos) {
  int64_t from = 0, count = s->n_large;
  int any = 0;
  for (int64_t r = 0; r < s->n_large; r++)
    any |= s->left[s->order[r]] > 0;
  if (!any) {
    from = s->n_large;
    count = s->n_order - s->n_large;
  }
  for (int64_t tries = 0; tries < count; tries++) {
    int64_t j = s->order[from + (*pos)++ % count];
    if (s->left[j] > 0)
      return j;
  }
  return -1;
}

/* This rank's remaining members of cluster j (local indices) and, from all
 * ranks, how many each holds. */
static alq_err remaining_members(const tc_state *s, int64_t j, MPI_Comm comm, int64_t *mine, int64_t *n_mine,
                                 int64_t *counts) {
  *n_mine = 0;
  for (int64_t r = s->start[j]; r < s->start[j + 1]; r++)
    if (!s->taken[s->member[r]])
      mine[(*n_mine)++] = s->member[r];
  return alq_allgather_bytes(n_mine, sizeof *n_mine, counts, comm);
}

/* Inserts v into the ascending list best[0..*len) capped at k. */
static void keep_smallest(float *best, int64_t *len, int64_t k, float v) {
  if (*len == k && v >= best[k - 1])
    return;
  int64_t at = *len < k ? (*len)++ : k - 1;
  while (at > 0 && best[at - 1] > v) {
    best[at] = best[at - 1];
    at--;
  }
  best[at] = v;
}

static void unpack_block(const unsigned char *buf, int64_t nb, int64_t d, tc_block *b) {
  const int64_t rec = sizeof(int64_t) + sizeof(float) * d;
  b->n = nb;
  for (int64_t r = 0; r < nb; r++) {
    memcpy(&b->ids[r], buf + r * rec, sizeof(int64_t));
    memcpy(b->y + r * d, buf + r * rec + sizeof(int64_t), sizeof(float) * d);
    b->yn[r] = alq_dot(b->y + r * d, b->y + r * d, d);
    b->ylen[r] = sqrtf(b->yn[r]);
  }
}

/* The pair's estimate and margin: its exact squared distance (float, as
 * fold_member computes it, clamped at 0) lies in [est - margin, est + margin]. */
static double pair_estimate(float xn, float yn, float approx, double allow, double *margin) {
  *margin = alq_d2_margin(xn, yn, approx, allow);
  return (double)xn + yn - 2.0 * approx;
}

/* The first row r in [from, n) whose float estimate yn - 2 approx is at
 * most thr, n if none: 16 rows at a time by a branch-free test (SSE2 where
 * the compiler has it; the same IEEE operations as the row test), row by
 * row only inside a group that has one. */
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
/* The first group of 16 rows from r on with a row at most thr (its start),
 * by AVX-512 (the same IEEE operations: 2 dots is exact, one subtraction,
 * an ordered compare); the caller checks the rows one by one. */
__attribute__((target("avx512f"))) static int64_t skip_avx512(const float *yn, const float *dots, int64_t r,
                                                               int64_t n, float thr) {
  const __m512 t = _mm512_set1_ps(thr), two = _mm512_set1_ps(2.0f);
  for (; r + 16 <= n; r += 16) {
    __m512 e = _mm512_sub_ps(_mm512_loadu_ps(yn + r), _mm512_mul_ps(two, _mm512_loadu_ps(dots + r)));
    if (_mm512_cmp_ps_mask(e, t, _CMP_LE_OQ))
      break;
  }
  return r;
}
#define HAVE_SKIP_AVX512 1
#endif

static int has_avx512 = -1; /* __builtin_cpu_supports, asked once */

static int64_t next_at_most(const float *yn, const float *dots, int64_t from, int64_t n, float thr) {
  int64_t r = from;
#ifdef HAVE_SKIP_AVX512
  if (has_avx512 < 0)
    has_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
  if (has_avx512)
    r = skip_avx512(yn, dots, r, n, thr);
#endif
#ifdef __SSE2__
  const __m128 t = _mm_set1_ps(thr), two = _mm_set1_ps(2.0f);
  for (; r + 16 <= n; r += 16) {
    __m128 any = _mm_setzero_ps();
    for (int q = 0; q < 16; q += 4) {
      __m128 e = _mm_sub_ps(_mm_loadu_ps(yn + r + q), _mm_mul_ps(two, _mm_loadu_ps(dots + r + q)));
      any = _mm_or_ps(any, _mm_cmple_ps(e, t));
    }
    if (_mm_movemask_ps(any))
      break;
  }
#endif
  for (; r < n; r++)
    if (yn[r] - 2.0f * dots[r] <= thr)
      return r;
  return n;
}

/* An upper bound on member x's k-th nearest squared distance from the block
 * alone: the largest upper end of k rows other than x itself, each row's
 * exact distance being at most its upper end.  Any k rows give a valid
 * bound; the k of smallest float estimate give a tight one.  INFINITY when
 * the block has fewer than k other rows. */
static double block_cap(const tc_block *b, const float *dots, int64_t self_id, float xn, int64_t k, double allow) {
  float v[K_NN], below = INFINITY; /* a row enters when its estimate is below v[k - 1] */
  int64_t row[K_NN], len = 0;
  for (int64_t r = next_at_most(b->yn, dots, 0, b->n, below); r < b->n;
       r = next_at_most(b->yn, dots, r + 1, b->n, below)) {
    float e = b->yn[r] - 2.0f * dots[r];
    if (b->ids[r] == self_id)
      continue;
    int64_t at = len < k ? len++ : k - 1;
    while (at > 0 && v[at - 1] > e) {
      v[at] = v[at - 1];
      row[at] = row[at - 1];
      at--;
    }
    v[at] = e;
    row[at] = r;
    if (len == k)
      below = nextafterf(v[k - 1], -INFINITY);
  }
  if (len < k)
    return INFINITY;
  double cap = 0;
  for (int64_t q = 0; q < k; q++) {
    double margin, est = pair_estimate(xn, b->yn[row[q]], dots[row[q]], allow, &margin);
    cap = est + margin > cap ? est + margin : cap;
  }
  return cap;
}

/* A float threshold on yn - 2 approx that every row whose lower end
 * est - margin is at most lim passes: lim - xn plus the largest margin any
 * row of the block can have (|approx| <= ||x|| ||y|| (1 + gamma) + allow),
 * plus the float rounding of yn - 2 approx and of this sum, rounded up. */
static float float_threshold(double lim, float xn, double yn_max, double allow, int64_t d) {
  if (lim == INFINITY)
    return INFINITY;
  double amax = sqrt((double)xn * yn_max) * (1.0 + 4.0 * alq_dot_error_bound(d) + 1e-5) + allow;
  double mag = (double)xn + yn_max + 2.0 * amax + 2.0 * allow;
  double t = lim - xn + 2.0 * allow + mag * 0x1p-21 + (mag + fabs(lim)) * 0x1p-20;
  float f = (float)t;
  return (double)f < t ? nextafterf(f, INFINITY) : f;
}

/* Folds one block row set into member x's k smallest squared distances
 * (best, *len).  A row is evaluated exactly (alq_dot) only when its lower
 * end could be at most lim: the member's k-th nearest so far, or the
 * block's cap while fewer than k are known.  A row skipped is farther than
 * k rows of the cluster, so the k smallest values are those of the
 * all-exact pass, bit for bit.  The float test lets the SGEMM row be
 * scanned without a double per pair; it rejects only what the double test
 * would. */
static void fold_member(const tc_block *b, const float *dots, const float *x, int64_t self_id, float xn,
                        int64_t k, double allow, double yn_max, int64_t d, float *best, int64_t *len,
                        int64_t *exact) {
  double lim = *len == k ? best[k - 1] : INFINITY;
  if (*len < k) {
    double cap = block_cap(b, dots, self_id, xn, k, allow);
    lim = cap < lim ? cap : lim;
  }
  const float thr = float_threshold(lim, xn, yn_max, allow, d);
  for (int64_t r = next_at_most(b->yn, dots, 0, b->n, thr); r < b->n; r = next_at_most(b->yn, dots, r + 1, b->n, thr)) {
    if (b->ids[r] == self_id)
      continue;
    double margin, est = pair_estimate(xn, b->yn[r], dots[r], allow, &margin);
    double now = *len == k && best[k - 1] < lim ? best[k - 1] : lim; /* the k-th only shrinks */
    if (est - margin > now)
      continue;
    float d2 = xn + b->yn[r] - 2.0f * alq_dot(x, b->y + r * d, d);
    keep_smallest(best, len, k, d2 > 0 ? d2 : 0);
    (*exact)++;
  }
}

/* A bound GEMM (alq/gemm.h) against the n rows c, for at most max_rows rows
 * a call; its path and library name are kept for --log-view. */
static alq_err bound_gemm_for(tc_scratch *sc, const float *c, int64_t n, int64_t d, int64_t max_rows,
                              alq_bound_gemm **g) {
  ALQ_CHECK(alq_bound_gemm_create(g, c, n, d, max_rows));
  sc->gemm_path = alq_bound_gemm_path(*g);
  snprintf(sc->gemm_impl, sizeof sc->gemm_impl, "%s", alq_bound_gemm_impl(*g));
  return ALQ_OK;
}

/* The largest |GEMM entry - alq_dot| for a member of length xlen against any
 * row of a block whose longest row is ymax (the bound grows with both). */
static double member_allowance(const alq_bound_gemm *g, float xlen, float ymax) {
  return alq_bound_gemm_allowance(g, (double)xlen * ymax * (1.0 + 1e-6), ((double)xlen + ymax) * (1.0 + 1e-6));
}

/* Folds one block into the k smallest squared distances of this rank's
 * members, TILE members at a time (fold_member says which pairs are
 * evaluated exactly). */
static alq_err fold_block(const tc_state *s, const int64_t *mine, int64_t n_mine, const tc_block *b, int64_t k,
                          tc_tile *t, tc_knn *knn, tc_scratch *sc) {
  const int64_t d = s->d;
  float ymax = 0, yn_max = 0;
  for (int64_t r = 0; r < b->n; r++) {
    ymax = b->ylen[r] > ymax ? b->ylen[r] : ymax;
    yn_max = b->yn[r] > yn_max ? b->yn[r] : yn_max;
  }
  alq_bound_gemm *g = NULL;
  ALQ_CHECK(bound_gemm_for(sc, b->y, b->n, d, TILE, &g));
  for (int64_t a0 = 0; a0 < n_mine; a0 += TILE) {
    int64_t ta = n_mine - a0 < TILE ? n_mine - a0 : TILE;
    for (int64_t a = 0; a < ta; a++) {
      memcpy(t->x + a * d, s->x + mine[a0 + a] * d, sizeof(float) * d);
      t->xlen[a] = sqrtf(knn->xn[a0 + a]);
    }
    alq_bound_gemm_run(g, t->x, ta, t->dots);
    for (int64_t a = 0; a < ta; a++) {
      int64_t at = a0 + a;
      /* one allowance for the whole block: it grows with the norms */
      double allow = member_allowance(g, t->xlen[a], ymax);
      fold_member(b, t->dots + a * b->n, t->x + a * d, s->ids[mine[at]], knn->xn[at], k, allow, yn_max, d,
                  knn->best + at * K_NN, &knn->len[at], &sc->exact);
    }
  }
  alq_bound_gemm_free(g);
  return ALQ_OK;
}

/* Folds rows (a block) into the k nearest of the members held as block
 * mem, whose lists start at index base: dots is mem->n x rows->n. */
static void fold_rows(const alq_bound_gemm *g, const tc_block *rows, const tc_block *mem, const float *dots,
                      int64_t base, int64_t k, int64_t d, tc_knn *knn, int64_t *exact) {
  float ymax = 0, yn_max = 0;
  for (int64_t r = 0; r < rows->n; r++) {
    ymax = rows->ylen[r] > ymax ? rows->ylen[r] : ymax;
    yn_max = rows->yn[r] > yn_max ? rows->yn[r] : yn_max;
  }
  for (int64_t a = 0; a < mem->n; a++) {
    int64_t at = base + a;
    double allow = member_allowance(g, mem->ylen[a], ymax);
    fold_member(rows, dots + a * rows->n, mem->y + a * d, mem->ids[a], knn->xn[at], k, allow, yn_max, d,
                knn->best + at * K_NN, &knn->len[at], exact);
  }
}

/* This rank's members from..from + n as a block (norms as pick_in computed them). */
static void load_own(const tc_state *s, const int64_t *mine, int64_t from, int64_t n, const tc_knn *knn,
                     tc_block *b) {
  b->n = n;
  for (int64_t q = 0; q < n; q++) {
    b->ids[q] = s->ids[mine[from + q]];
    memcpy(b->y + q * s->d, s->x + mine[from + q] * s->d, sizeof(float) * s->d);
    b->yn[q] = knn->xn[from + q];
    b->ylen[q] = sqrtf(b->yn[q]);
  }
}

/* t (cols x rows) = the transpose of a (rows x cols), in 16 x 16 blocks so
 * that both sides stay in cache; full blocks with constant bounds (the
 * compiler unrolls them), edges element by element. */
static void transpose(const float *restrict a, int64_t rows, int64_t cols, float *restrict t) {
  for (int64_t i0 = 0; i0 < rows; i0 += 16)
    for (int64_t j0 = 0; j0 < cols; j0 += 16) {
      if (i0 + 16 <= rows && j0 + 16 <= cols) {
        for (int64_t j = 0; j < 16; j++)
          for (int64_t i = 0; i < 16; i++)
            t[(j0 + j) * rows + i0 + i] = a[(i0 + i) * cols + j0 + j];
        continue;
      }
      for (int64_t i = i0; i < i0 + 16 && i < rows; i++)
        for (int64_t j = j0; j < j0 + 16 && j < cols; j++)
          t[j * rows + i] = a[i * cols + j];
    }
}

/* The pairs of this rank's own members, each multiplied once: tile pairs
 * (A, B) with A at or before B, the product folded into A's members and its
 * transpose into B's.  alq_dot(x, y) and alq_dot(y, x) are the same bits
 * (the same products summed in the same order), and a product's entry is
 * within the allowance of either, so every member meets the values the
 * one-sided pass gives it, in another order, which the k smallest do not
 * depend on.  B is the outer loop: one bound GEMM (B as its columns) per
 * tile, not per tile pair. */
static alq_err fold_own(const tc_state *s, const int64_t *mine, int64_t n_mine, int64_t k, tc_scratch *sc) {
  const int64_t d = s->d;
  for (int64_t b0 = 0; b0 < n_mine; b0 += OWN) {
    load_own(s, mine, b0, n_mine - b0 < OWN ? n_mine - b0 : OWN, &sc->knn, &sc->own_b);
    const tc_block *B = &sc->own_b;
    alq_bound_gemm *g = NULL;
    ALQ_CHECK(bound_gemm_for(sc, B->y, B->n, d, OWN, &g));
    for (int64_t a0 = 0; a0 <= b0; a0 += OWN) {
      const tc_block *A = B;
      if (a0 != b0) {
        load_own(s, mine, a0, OWN, &sc->knn, &sc->own_a);
        A = &sc->own_a;
      }
      alq_bound_gemm_run(g, A->y, A->n, sc->own_dots);
      fold_rows(g, B, A, sc->own_dots, a0, k, d, &sc->knn, &sc->exact);
      if (B == A)
        continue;
      transpose(sc->own_dots, A->n, B->n, sc->own_t);
      fold_rows(g, A, B, sc->own_t, b0, k, d, &sc->knn, &sc->exact);
    }
    alq_bound_gemm_free(g);
  }
  return ALQ_OK;
}

/* Every rank's members stream past every rank, BLOCK at a time in rank
 * order; a rank's own blocks were folded by fold_own first.  The k smallest of a set do not depend on the order they arrive in,
 * so the typicalities are those of one all-pairs pass, at any rank count. */
static alq_err stream_members(const tc_state *s, const int64_t *mine, int64_t n_mine, const int64_t *counts,
                              int64_t k, MPI_Comm comm, tc_scratch *sc) {
  unsigned char *block = sc->block;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  const int64_t rec = sizeof(int64_t) + sizeof(float) * s->d;
  ALQ_CHECK(fold_own(s, mine, n_mine, k, sc)); /* no communication: every rank at once */
  for (int r = 0; r < size; r++)
    for (int64_t lo = 0; lo < counts[r]; lo += BLOCK) {
      int64_t nb = counts[r] - lo < BLOCK ? counts[r] - lo : BLOCK;
      for (int64_t t = 0; rank == r && t < nb; t++) {
        memcpy(block + t * rec, &s->ids[mine[lo + t]], sizeof(int64_t));
        memcpy(block + t * rec + sizeof(int64_t), s->x + mine[lo + t] * s->d, sizeof(float) * s->d);
      }
      ALQ_CHECK(alq_bcast(sc->block, nb * rec, r, comm));
      if (r == rank)
        continue;
      unpack_block(sc->block, nb, s->d, &sc->unpacked);
      ALQ_CHECK(fold_block(s, mine, n_mine, &sc->unpacked, k, &sc->tile, &sc->knn, sc));
    }
  return ALQ_OK;
}

/* The most typical remaining member of cluster j over all ranks; marks it.
 * Typicality: 1 / (mean of the k smallest squared distances + 1e-5). */
static alq_err pick_in(tc_state *s, int64_t j, MPI_Comm comm, tc_scratch *sc, int64_t *id_out, double *score) {
  int64_t n_mine = 0, m = 0;
  ALQ_CHECK(remaining_members(s, j, comm, sc->mine, &n_mine, sc->counts));
  for (int r = 0; r < sc->ranks; r++)
    m += sc->counts[r];
  int64_t k = m / 2 < K_NN ? m / 2 : K_NN;
  sc->m = m;
  for (int64_t a = 0; a < n_mine; a++) {
    const float *x = s->x + sc->mine[a] * s->d;
    sc->knn.xn[a] = alq_dot(x, x, s->d);
    sc->knn.len[a] = 0;
  }
  if (k > 0)
    ALQ_CHECK(stream_members(s, sc->mine, n_mine, sc->counts, k, comm, sc));
  alq_log_flops(2 * n_mine * m * s->d);
  double best = -1;
  int64_t best_id = INT64_MAX;
  for (int64_t a = 0; a < n_mine; a++) { /* members in id order: strict keeps the lower id */
    double sum = 0, t = 0.0;
    for (int64_t q = 0; q < sc->knn.len[a]; q++)
      sum += sc->knn.best[a * K_NN + q];
    if (k > 0)
      t = 1.0 / (sum / (double)sc->knn.len[a] + 1e-5);
    if (t > best) {
      best = t;
      best_id = s->ids[sc->mine[a]];
    }
  }
  double top;
  ALQ_CHECK(alq_allreduce(&best, &top, 1, MPI_DOUBLE, MPI_MAX, comm));
  int64_t id = best == top ? best_id : INT64_MAX;
  ALQ_CHECK(alq_allreduce(&id, id_out, 1, MPI_INT64_T, MPI_MIN, comm));
  for (int64_t a = 0; a < n_mine; a++)
    if (s->ids[sc->mine[a]] == *id_out)
      s->taken[sc->mine[a]] = 1;
  s->left[j]--;
  *score = top;
  return ALQ_OK;
}

static alq_err state_alloc(tc_state *s, const alq_candidates *cand, int64_t k) {
  memset(s, 0, sizeof *s);
  s->n = cand->n;
  s->d = cand->dim;
  s->ids = cand->ids;
  s->x = cand->embeddings;
  int64_t n1 = s->n ? s->n : 1;
  ALQ_CHECK(alq_malloc(&s->label, sizeof(int32_t) * n1, "typiclust labels"));
  ALQ_CHECK(alq_malloc(&s->member, sizeof(int64_t) * n1, "typiclust members"));
  ALQ_CHECK(alq_calloc(&s->taken, n1, 1, "typiclust picked flags"));
  ALQ_CHECK(alq_malloc(&s->start, sizeof(int64_t) * (k + 1), "typiclust cluster starts"));
  ALQ_CHECK(alq_malloc(&s->left, sizeof(int64_t) * (k ? k : 1), "typiclust cluster counts"));
  return alq_malloc(&s->order, sizeof(int64_t) * 2 * (k ? k : 1), "typiclust cluster order");
}

static alq_err scratch_alloc(tc_scratch *sc, int64_t n, int64_t d, MPI_Comm comm) {
  memset(sc, 0, sizeof *sc);
  MPI_Comm_size(comm, &sc->ranks);
  int64_t n1 = n ? n : 1;
  ALQ_CHECK(alq_malloc(&sc->mine, sizeof(int64_t) * n1, "typiclust cluster members"));
  ALQ_CHECK(alq_malloc(&sc->counts, sizeof(int64_t) * sc->ranks, "typiclust member counts"));
  ALQ_CHECK(alq_malloc(&sc->block, (sizeof(int64_t) + sizeof(float) * d) * BLOCK, "typiclust member block"));
  ALQ_CHECK(alq_malloc(&sc->unpacked.ids, sizeof(int64_t) * BLOCK, "typiclust block ids"));
  ALQ_CHECK(alq_malloc_aligned(&sc->unpacked.y, sizeof(float) * BLOCK * (d ? d : 1), "typiclust block rows"));
  ALQ_CHECK(alq_malloc(&sc->unpacked.yn, sizeof(float) * BLOCK, "typiclust block norms"));
  ALQ_CHECK(alq_malloc(&sc->unpacked.ylen, sizeof(float) * BLOCK, "typiclust block lengths"));
  ALQ_CHECK(alq_malloc_aligned(&sc->tile.x, sizeof(float) * TILE * (d ? d : 1), "typiclust tile rows"));
  ALQ_CHECK(alq_malloc(&sc->tile.xlen, sizeof(float) * TILE, "typiclust tile lengths"));
  ALQ_CHECK(alq_malloc_aligned(&sc->tile.dots, sizeof(float) * TILE * BLOCK, "typiclust SGEMM tile"));
  tc_block *own[2] = {&sc->own_a, &sc->own_b};
  for (int q = 0; q < 2; q++) {
    ALQ_CHECK(alq_malloc(&own[q]->ids, sizeof(int64_t) * OWN, "typiclust own tile ids"));
    ALQ_CHECK(alq_malloc_aligned(&own[q]->y, sizeof(float) * OWN * (d ? d : 1), "typiclust own tile rows"));
    ALQ_CHECK(alq_malloc(&own[q]->yn, sizeof(float) * OWN, "typiclust own tile norms"));
    ALQ_CHECK(alq_malloc(&own[q]->ylen, sizeof(float) * OWN, "typiclust own tile lengths"));
  }
  ALQ_CHECK(alq_malloc_aligned(&sc->own_dots, sizeof(float) * OWN * OWN, "typiclust own SGEMM tile"));
  ALQ_CHECK(alq_malloc_aligned(&sc->own_t, sizeof(float) * OWN * OWN, "typiclust own SGEMM tile transpose"));
  ALQ_CHECK(alq_malloc(&sc->knn.best, sizeof(float) * K_NN * n1, "typiclust nearest distances"));
  ALQ_CHECK(alq_malloc(&sc->knn.len, sizeof(int64_t) * n1, "typiclust nearest counts"));
  return alq_malloc(&sc->knn.xn, sizeof(float) * n1, "typiclust member norms");
}

static void scratch_free(tc_scratch *sc) {
  free(sc->mine);
  free(sc->counts);
  free(sc->block);
  free(sc->unpacked.ids);
  free(sc->unpacked.y);
  free(sc->unpacked.yn);
  free(sc->unpacked.ylen);
  free(sc->tile.x);
  free(sc->tile.xlen);
  free(sc->tile.dots);
  tc_block *own[2] = {&sc->own_a, &sc->own_b};
  for (int q = 0; q < 2; q++) {
    free(own[q]->ids);
    free(own[q]->y);
    free(own[q]->yn);
    free(own[q]->ylen);
  }
  free(sc->own_dots);
  free(sc->own_t);
  free(sc->knn.best);
  free(sc->knn.len);
  free(sc->knn.xn);
}

static void state_free(tc_state *s) {
  free(s->label);
  free(s->member);
  free(s->taken);
  free(s->start);
  free(s->left);
  free(s->order);
}

/* --log-view: where a selection's time went (rank 0's clock; every step is
 * collective), the pairs the picks compared and how many of them alq_dot
 * evaluated (all ranks). */
typedef struct {
  double kmeans_s, picks_s, slowest_s;
  int64_t iterations, picks, pairs, slowest_m, largest_m;
} tc_stats;

static void note_pick(tc_stats *st, int64_t m, double seconds) {
  st->picks++;
  st->pairs += m * (m - 1);
  st->largest_m = m > st->largest_m ? m : st->largest_m;
  if (seconds > st->slowest_s) {
    st->slowest_s = seconds;
    st->slowest_m = m;
  }
}

/* --log-view, as soon as the clusters are known (a long run shows its
 * k-means before its picks): their count and time, the largest, and the pairs
 * the first visit of the first `budget` clusters in visiting order will
 * compare (m (m - 1) for m unlabeled members). */
static void report_kmeans(MPI_Comm comm, const tc_state *s, const alq_kmeans *m, const tc_stats *st, int64_t budget) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t largest = 0, pairs = 0;
  for (int64_t j = 0; j < m->k; j++)
    largest = m->size[j] > largest ? m->size[j] : largest;
  for (int64_t r = 0; r < s->n_order && r < budget; r++)
    pairs += s->left[s->order[r]] * (s->left[s->order[r]] - 1);
  if (rank == 0) {
    fprintf(stderr, "typiclust: k-means clusters=%lld iterations=%lld seconds=%.2f largest_cluster=%lld "
                    "first_visit_pairs=%lld\n",
            (long long)m->k, (long long)st->iterations, st->kmeans_s, (long long)largest, (long long)pairs);
    fflush(stderr);
  }
}

/* --log-view: a pick of a second or more, as it ends. */
static void report_pick(MPI_Comm comm, int64_t t, int64_t members, double seconds) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  if (rank == 0 && seconds >= 1.0) {
    fprintf(stderr, "typiclust: pick %lld members=%lld seconds=%.2f\n", (long long)t, (long long)members, seconds);
    fflush(stderr);
  }
}

static alq_err report(MPI_Comm comm, int64_t k, const tc_stats *st, const tc_scratch *sc) {
  int64_t exact = sc->exact;
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t total = 0;
  ALQ_CHECK(alq_reduce(&exact, &total, 1, MPI_INT64_T, MPI_SUM, 0, comm));
  if (rank == 0)
    fprintf(stderr,
            "typiclust: clusters=%lld lloyd_iterations=%lld kmeans_seconds=%.2f picks=%lld picks_seconds=%.2f "
            "pairs=%lld exact_distances=%lld largest_cluster_picked=%lld slowest_pick_members=%lld "
            "slowest_pick_seconds=%.3f bound_gemm=%s bound_gemm_impl=%s\n",
            (long long)k, (long long)st->iterations, st->kmeans_s, (long long)st->picks, st->picks_s,
            (long long)st->pairs, (long long)total, (long long)st->largest_m, (long long)st->slowest_m,
            st->slowest_s, sc->gemm_path ? sc->gemm_path : "none", sc->gemm_path ? sc->gemm_impl : "none");
  return ALQ_OK;
}

static alq_err typiclust_select_ordered(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  memset(batch, 0, sizeof *batch);
  int64_t k = labeled->n + ctx->budget < MAX_CLUSTERS ? labeled->n + ctx->budget : MAX_CLUSTERS;
  tc_state s;
  tc_scratch sc = {0};
  int32_t *shared_label = NULL;
  alq_kmeans m = {0};
  alq_err err = state_alloc(&s, cand, k);
  if (!err)
    err = scratch_alloc(&sc, cand->n, cand->dim, ctx->comm);
  if (!err)
    err = alq_malloc(&shared_label, sizeof(int32_t) * (labeled->n ? labeled->n : 1), "typiclust labeled clusters");
  if (!err)
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
  if (!err)
    err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
  err = alq_agree(ctx->comm, err);
  alq_points pts = {ctx->comm, cand->dim, cand->n, cand->ids, cand->embeddings, labeled->n, labeled->ids,
                    labeled->embeddings};
  tc_stats st = {0};
  double t0 = MPI_Wtime();
  if (!err)
    err = alq_kmeans_fit(&pts, k, MAX_ITER, ctx->seed, &m, s.label, shared_label);
  st.kmeans_s = MPI_Wtime() - t0;
  st.iterations = m.iterations;
  if (!err) {
    s.k = m.k;
    group_members(&s);
    err = alq_agree(ctx->comm, order_clusters(&s, &m, shared_label, labeled->n));
  }
  if (!err && ctx->log_view)
    report_kmeans(ctx->comm, &s, &m, &st, ctx->budget);
  int64_t t = 0, pos = 0;
  for (; !err && t < ctx->budget; t++) {
    int64_t j = next_cluster(&s, &pos);
    if (j < 0)
      break; /* no unlabeled item left */
    double t1 = MPI_Wtime();
    err = pick_in(&s, j, ctx->comm, &sc, &batch->ids[t], &batch->scores[t]);
    note_pick(&st, sc.m, MPI_Wtime() - t1);
    if (!err && ctx->log_view)
      report_pick(ctx->comm, t, sc.m, MPI_Wtime() - t1);
  }
  batch->n = t;
  st.picks_s = MPI_Wtime() - t0 - st.kmeans_s;
  if (!err && ctx->log_view)
    err = report(ctx->comm, m.k, &st, &sc);
  scratch_free(&sc);
  alq_kmeans_free(&m);
  free(shared_label);
  state_free(&s);
  if (err)
    alq_batch_free(batch);
  return err;
}

/* k-means (its D^2 draws) needs ids ascending across ranks: re-dealt first when they are not. */
static alq_err typiclust_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  alq_ordered_candidates oc;
  ALQ_CHECK(alq_candidates_id_order(ctx->comm, cand, NULL, 0, &oc));
  alq_err err = typiclust_select_ordered(ctx, &oc.c, labeled, batch);
  alq_ordered_candidates_free(&oc);
  return err;
}

/* The allocations above: state_alloc, scratch_alloc, the labeled clusters,
 * the batch, order_clusters' keys, and the k-means. */
static int64_t typiclust_select_bytes(const alq_select_shape *sh) {
  int64_t n1 = sh->n ? sh->n : 1, L = sh->n_labeled;
  int64_t k = L + sh->budget < MAX_CLUSTERS ? L + sh->budget : MAX_CLUSTERS;
  int64_t state = n1 * (4 + 8 + 1) + (k + 1) * 8 + k * 8 + 2 * k * 8;
  int64_t block = BLOCK * (8 + 4 * sh->dim) * 2 + BLOCK * 8, tile = TILE * (4 * sh->dim + 4) + 4 * TILE * BLOCK;
  tile += 2 * OWN * (8 + 4 * sh->dim + 8) + 2 * 4 * OWN * OWN; /* fold_own's two tiles, product, transpose */
  /* one bound GEMM at a time: its columns (f32 copy, bf16 and oneDNN's
   * layout) and its bf16 rows */
  tile += BLOCK * sh->dim * (4 + 2 + 2) + TILE * sh->dim * 2 + 4096;
  int64_t scratch = n1 * (8 + 4 * K_NN + 8 + 4) + 8 * (int64_t)sh->ranks + block + tile;
  return state + scratch + 4 * (L ? L : 1) + 16 * sh->budget + k * (int64_t)sizeof(cluster_key) +
         alq_kmeans_bytes(sh->n, L, k, sh->dim);
}

const alq_strategy alq_strategy_typiclust = {
    .name = "typiclust",
    .summary = "TypiClust: the most typical item (1 / mean distance to 20 neighbours) of the least-covered k-means clusters",
    .needs = ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = typiclust_select,
    .select_bytes = typiclust_select_bytes,
};
