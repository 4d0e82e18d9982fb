/* strategies/kcenter.c: Core-Set greedy farthest-first (k-center), exact across
 * ranks.
 *
 * A step: every rank proposes its farthest unselected candidate (largest
 * squared distance to the nearest center; ties: lower id), one MPI_Allreduce
 * with a MAXLOC-like op on (distance, id, owner) picks the global one, its
 * owner broadcasts the embedding, and it becomes a center.  The labeled items
 * are the first centers.
 *
 * The value: an item's distance to a center is ||x||^2 + ||c||^2 - 2 x.c with
 * every dot product from alq_dot (alq/dot.h), whose summation order is fixed,
 * so it depends on the two rows only: never on where the row sits in a shard,
 * the BLAS kernel or the CPU.  That makes the batch the same at any rank count
 * and on every machine.
 *
 * Lazy evaluation (the default): most candidates can never be the farthest, so
 * their exact distances are not needed.  Each candidate keeps an upper bound on
 * its distance to the nearest center; candidates sit in a max-heap by bound,
 * and a step evaluates exactly (with the centers it has not seen yet) only the
 * candidates whose bound could still beat the best exact value found.  Bounds
 * are refreshed with the bound GEMM (bf16 on CPUs with AVX512-BF16, else
 * SGEMM; alq/gemm.h) against the new centers, instead of one streamed pass
 * per center: after 1, 2, 4, ... 64
 * centers (bounds from the first steps), then every PEND.  The GEMM rounds
 * differently from alq_dot (bf16: by up to ~2^-7 relative), so a bound from
 * it carries the path's proven allowance (lower_bounds).
 *
 * A distance to the nearest of any subset of the centers bounds the distance
 * to the nearest of all of them, so a bound stays valid when centers are
 * left out of it.  Candidates whose bound is below a level tau sit dormant
 * (out of the heap, skipped by refreshes): tau trails the last pick's value
 * by DORMANT_MARGIN, and picks only get smaller.  A step whose best exact
 * value is below tau wakes the dormant candidates above a lowered tau,
 * folding into their bounds the centers they missed first.  So the
 * labeled-center pass runs over every candidate for the first PREFIX labeled
 * centers only, and each refresh over the few candidates near the top.  (So
 * the rows the GEMM sees are gathered and rounded to bf16 block by block: a
 * bf16 copy of every row made once cost more, in page faults and writes,
 * than the few rows it would have spared a conversion; measured in
 * docs/benchmarks.md.)
 *
 * Each candidate counts the centers folded into its bound (folded[]), so a
 * fold gives it only those it missed: none for a candidate woken again at the
 * same number of centers.  Missing a few, it folds them by exact distances
 * (alq_dot_rows: a bound with no allowance); missing at most
 * ALQ_BOUND_SMALL_MAX, by float32 products read from the rows in place
 * (alq_bound_small_run: at 10^6 x 128 from 0 labeled almost every woken
 * candidate lacks 2-67 centers, where the bf16 GEMM runs far below its peak
 * and its rows must be gathered first); else through the bound GEMM.  From 0
 * labeled the norms come with the first center's pass (one read of every
 * row, not two), and the candidates below tau go dormant there at once.  The
 * dormant set is a bitmap scanned in index order: a wake lists its rows in
 * the order of memory, and reads the bounds in sequence; a wake whose band
 * holds a large share of the dormant rows takes them all while they lack few
 * centers (FULL_WAKE: read in sequence, a row costs about half as much as
 * scattered, and the wakes that would follow find their rows up to date).
 *
 * Bounds only decide which candidates get evaluated, never a value, so the
 * batch is exactly the one an eager pass over every candidate gives
 * (--no-prune; tested).
 *
 * Rows from a float16 pool stay binary16 (alq_candidates.half): each pass
 * over them moves half the bytes, and a row is widened (exactly, alq/half.h)
 * into a scratch row as it is read, so every value is the one its float32
 * copy gives.  When they are the pool file's own rows, mapped in place, the
 * labeled rows among them stay too (alq_candidates.skip): they start as
 * selected, so no path ever proposes one, and no value depends on a row's
 * place, so the batch is the one the copied candidates give.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/fault.h"
#include "alq/gemm.h"
#include "alq/half.h"
#include "alq/hash.h"
#include "alq/isa.h"
#include "alq/logview.h"
#include "alq/strategy.h"

/* New centers folded into every bound per GEMM refresh (at most): enough to
 * make the refresh compute-bound, few enough that bounds stay tight between
 * refreshes.  Before PEND centers have been applied, a refresh follows as soon
 * as the new centers equal the applied ones (1, 2, 4, ...). */
#define PEND 64
/* A refresh's GEMM block: candidates x centers, small enough for cache. */
#define BLOCK_ROWS 256
#define BLOCK_CENTERS 512
/* Labeled centers folded into every candidate's bound before any is made
 * dormant: enough for the bounds to single out the few candidates near the
 * top (on 10^6 x 128 Gaussian clusters, 128 of 1000 labeled centers leave
 * ~2% of the candidates within reach of the 1000th pick). */
#define PREFIX 128
/* tau = (1 - DORMANT_MARGIN) x the level (the last pick's value). */
#define DORMANT_MARGIN 0.05
/* A candidate that has not seen at most this many centers is evaluated
 * exactly instead of through the GEMM: a bf16 GEMM against a few centers
 * costs about what it costs against 16-32 (its blocks are that wide), more
 * than that many alq_dot calls on a row in cache. */
#define EXACT_FOLD 4
/* A candidate that has folded all but at most this many centers into its
 * bound folds those by exact distances (alq_dot_rows) instead of the GEMM:
 * the row is read either way (from memory: ~100 ns), and a few dot products
 * on it cost less than its share of a GEMM block (gather, bf16 rounding,
 * a kernel far below its peak at a few columns). */
#define EXACT_PART 2
/* The GEMM rows of a fold in one group when their folded[] counts differ by
 * less than this (or than half the centers the smallest lacks). */
#define GROUP_SPAN 16
/* A wake whose band holds at least 1 / FULL_WAKE of the dormant rows takes
 * them all (wake). */
#define FULL_WAKE 16
/* Exact evaluations in one step after which the centers waiting for a
 * refresh are folded in at once (a new cluster reached: every candidate of
 * it is within reach until they are). */
#define STEP_EVALUATIONS 4096

typedef struct {
  double value;
  int64_t id;
  int64_t owner; /* rank */
  int64_t at;    /* the candidate's index on its owner */
} proposal;

static int proposal_before(const proposal *a, const proposal *b) {
  return a->value > b->value || (a->value == b->value && a->id < b->id);
}

static void proposal_max(void *in, void *inout, int *len, MPI_Datatype *type) {
  proposal *a = in, *b = inout;
  for (int i = 0; i < *len; i++)
    if (proposal_before(&a[i], &b[i]))
      b[i] = a[i];
}

typedef struct {
  int64_t n, d;
  int64_t skipped;     /* rows that are no candidates (alq_candidates.skip), selected from the start */
  const float *x;      /* n x d candidate rows, or NULL and: */
  const uint16_t *xh;  /* the same as IEEE binary16 */
  float *xrow;         /* d: one row of xh widened */
  const int64_t *ids;
  float *xnorm;        /* ||x||^2 */
  float *exact;        /* min distance over centers [0, seen[i]); < 0 once selected */
  int32_t *seen;
  float *bound;        /* >= the item's distance to its nearest center, now and later */
  float *refreshed;    /* min GEMM distance over the centers folded in through the GEMM */
  int32_t *folded;     /* centers [0, folded[i]) are in bound[i] (exactly or through refreshed[]) */
  int64_t applied;     /* every awake candidate has folded[i] >= applied */
  /* lazy: heap[0, heap_n) the awake candidates by (bound desc, id asc); the
   * dormant ones, every bound < tau, are the set bits of dormant (n bits) */
  int64_t *heap, heap_n, dormant_n;
  uint64_t *dormant;
  float tau, dormant_top; /* dormant_top >= every dormant bound; -1: none */
  double level;        /* the last pick's value; < 0: none yet */
  int norms_pending;   /* no centers at the start: xnorm comes with the first center's pass */
  int64_t *popped;
  uint64_t *keys;      /* cap + 1 bits: the folded[] values of a fold's GEMM rows */
  float *block;        /* GEMM scratch of a refresh */
  float *rows;         /* gathered rows of a GEMM block */
  float *ct;           /* a fold's few centers, transposed (alq_bound_small_prepare) */
  /* centers, identical on every rank: labeled first, then the batch so far */
  int64_t nc, cap;
  float *c, *cnorm, cmax;
  /* counters for --log-view */
  int64_t evaluations, distances, refreshes, wakes, gemm_rows;
  double gemm_seconds, gemm_flops, first_seconds;
  char gemm_path[32], gemm_impl[128], small_path[32];
} kstate;

/* |GEMM distance - alq_dot distance| <= 2 |x.c error| + the roundings of
 * ||x||^2 + ||c||^2 - 2 x.c on both sides, each within 2 eps (||x||^2 +
 * ||c||^2) (a difference of float sums, one rounding each; doubled for the
 * float sum refreshed + tolerance).  The dot's error: the path's allowance
 * (alq/gemm.h) with ||x|| ||c|| <= sqrt(||x||^2 cmax) and ||x|| + ||c|| <=
 * sqrt(||x||^2) + sqrt(cmax), rounded up by 1e-6.  The allowance expanded by
 * its terms (alq_bound_gemm_allowance_terms): with r = sqrt(||x||^2),
 * tolerance = c0 + c1 r + c2 ||x||^2 (sqrt(||x||^2 cmax) = r sqrt(cmax) up
 * to double rounding, which the 1e-6 covers). */
typedef struct {
  double c0, c1, c2;
} tolerance;

static tolerance path_tolerance(const kstate *s, const char *path) {
  double a[3], cm = s->cmax, rc = sqrt(cm), up = 1.0 + 1e-6;
  alq_bound_gemm_path_allowance_terms(path, s->d, a);
  return (tolerance){2.0 * (a[0] + a[2] * rc * up) + 4.0 * FLT_EPSILON * cm, 2.0 * up * (a[1] * rc + a[2]),
                     4.0 * FLT_EPSILON};
}

/* Lowers row i's bound to v + the tolerance, v the smallest distance from a
 * path's products (refreshed[i] for the bound GEMM's). */
static void lower_bound(kstate *s, const tolerance *t, int64_t i, float v) {
  double xn = s->xnorm[i];
  float b = v + (float)((t->c0 + t->c1 * sqrt(xn) + t->c2 * xn) * (1.0 + 1e-6));
  s->bound[i] = b < s->bound[i] ? b : s->bound[i];
}

/* Row i as float: in place, or widened into `buf` (d floats). */
static const float *row(const kstate *s, int64_t i, float *buf) {
  if (s->x)
    return s->x + i * s->d;
  alq_half_to_float(s->xh + i * s->d, buf, s->d);
  return buf;
}

/* The bytes a pass reads per row. */
static int64_t row_bytes(const kstate *s) { return s->d * (s->x ? (int64_t)sizeof(float) : (int64_t)sizeof(uint16_t)); }

static float distance(const kstate *s, int64_t i, const float *xi, int64_t j) {
  float d2 = s->xnorm[i] + s->cnorm[j] - 2.0f * alq_dot(xi, s->c + j * s->d, s->d);
  return d2 > 0 ? d2 : 0;
}

/* The same from a binary16 row read in place (alq_dot_half: the same float). */
static float distance_half(const kstate *s, int64_t i, int64_t j) {
  float d2 = s->xnorm[i] + s->cnorm[j] - 2.0f * alq_dot_half(s->xh + i * s->d, s->c + j * s->d, s->d, s->xrow);
  return d2 > 0 ? d2 : 0;
}

/* The item's exact distance to its nearest center: folds in the centers it has
 * not seen yet.  A binary16 row missing one center (every eager step) is
 * read once, in place; missing more, it is widened once for all of them. */
static float evaluate(kstate *s, int64_t i) {
  float m = s->exact[i];
  if (s->xh && s->nc - s->seen[i] == 1) {
    float d2 = distance_half(s, i, s->seen[i]);
    m = d2 < m ? d2 : m;
  }
  const float *xi = s->seen[i] < s->nc - (s->xh != NULL) ? row(s, i, s->xrow) : NULL;
  for (int64_t j = s->seen[i]; xi && j < s->nc; j++) {
    float d2 = distance(s, i, xi, j);
    m = d2 < m ? d2 : m;
  }
  s->distances += s->nc - s->seen[i];
  s->evaluations++;
  s->exact[i] = m;
  s->seen[i] = (int32_t)s->nc;
  if (s->folded) /* the caller sets the bound to the value */
    s->folded[i] = (int32_t)s->nc;
  return m;
}

static int heap_before(const kstate *s, int64_t a, int64_t b) {
  return s->bound[a] > s->bound[b] || (s->bound[a] == s->bound[b] && s->ids[a] < s->ids[b]);
}

static void heap_down(kstate *s, int64_t k) {
  int64_t *h = s->heap;
  for (;;) {
    int64_t l = 2 * k + 1, r = l + 1, top = k;
    if (l < s->heap_n && heap_before(s, h[l], h[top]))
      top = l;
    if (r < s->heap_n && heap_before(s, h[r], h[top]))
      top = r;
    if (top == k)
      return;
    int64_t t = h[k];
    h[k] = h[top];
    h[top] = t;
    k = top;
  }
}

static void heap_push(kstate *s, int64_t i) {
  int64_t k = s->heap_n++;
  s->heap[k] = i;
  while (k > 0 && heap_before(s, s->heap[k], s->heap[(k - 1) / 2])) {
    int64_t t = s->heap[k];
    s->heap[k] = s->heap[(k - 1) / 2];
    s->heap[(k - 1) / 2] = t;
    k = (k - 1) / 2;
  }
}

static int64_t heap_pop(kstate *s) {
  int64_t top = s->heap[0];
  s->heap[0] = s->heap[--s->heap_n];
  heap_down(s, 0);
  return top;
}

/* Re-orders heap[0, heap_n) as a heap (bounds changed). */
static void heap_build(kstate *s) {
  for (int64_t k = s->heap_n / 2 - 1; k >= 0; k--)
    heap_down(s, k);
}

static void make_dormant(kstate *s, int64_t i) {
  s->dormant[i >> 6] |= 1ull << (i & 63);
  s->dormant_n++;
  s->dormant_top = s->bound[i] > s->dormant_top ? s->bound[i] : s->dormant_top;
}

/* Keeps in heap[0, heap_n) the unselected candidates with bound >= tau; the
 * others with a bound below tau become dormant. */
static void sort_out(kstate *s) {
  int64_t w = 0;
  for (int64_t k = 0; k < s->heap_n; k++) {
    int64_t i = s->heap[k];
    if (s->exact[i] < 0)
      continue; /* selected */
    if (s->bound[i] < s->tau)
      make_dormant(s, i);
    else
      s->heap[w++] = i;
  }
  s->heap_n = w;
}

static alq_err state_init(kstate *s, const alq_candidates *cand, const alq_centers *labeled, int64_t budget,
                          int lazy) {
  memset(s, 0, sizeof *s);
  s->n = cand->n;
  s->skipped = cand->n_skipped;
  s->d = cand->dim;
  s->x = cand->embeddings;
  s->xh = cand->embeddings ? NULL : cand->half;
  s->ids = cand->ids;
  s->cap = labeled->n + budget;
  int64_t n1 = s->n ? s->n : 1;
  ALQ_CHECK(alq_malloc(&s->xnorm, sizeof(float) * n1, "k-center norms"));
  ALQ_CHECK(alq_malloc(&s->exact, sizeof(float) * n1, "k-center distances"));
  ALQ_CHECK(alq_malloc(&s->seen, sizeof(int32_t) * n1, "k-center seen counts"));
  ALQ_CHECK(alq_malloc_aligned(&s->c, sizeof(float) * s->d * (s->cap ? s->cap : 1), "k-center centers"));
  ALQ_CHECK(alq_malloc(&s->cnorm, sizeof(float) * (s->cap ? s->cap : 1), "k-center center norms"));
  ALQ_CHECK(alq_malloc_aligned(&s->xrow, sizeof(float) * (s->d ? s->d : 1), "k-center widened row"));
  if (lazy) {
    ALQ_CHECK(alq_malloc(&s->bound, sizeof(float) * n1, "k-center bounds"));
    ALQ_CHECK(alq_malloc(&s->refreshed, sizeof(float) * n1, "k-center refreshed bounds"));
    ALQ_CHECK(alq_malloc(&s->folded, sizeof(int32_t) * n1, "k-center folded counts"));
    ALQ_CHECK(alq_malloc(&s->heap, sizeof(int64_t) * n1, "k-center heap"));
    ALQ_CHECK(alq_malloc(&s->popped, sizeof(int64_t) * n1, "k-center evaluated list"));
    ALQ_CHECK(alq_calloc(&s->dormant, (size_t)(n1 + 63) / 64, sizeof(uint64_t), "k-center dormant set"));
    ALQ_CHECK(alq_calloc(&s->keys, (size_t)(s->cap + 64) / 64, sizeof(uint64_t), "k-center fold keys"));
    ALQ_CHECK(alq_malloc_aligned(&s->block, sizeof(float) * BLOCK_ROWS * BLOCK_CENTERS, "k-center GEMM block"));
    ALQ_CHECK(alq_malloc_aligned(&s->rows, sizeof(float) * BLOCK_ROWS * (s->d ? s->d : 1), "k-center GEMM rows"));
    ALQ_CHECK(alq_malloc_aligned(&s->ct, sizeof(float) * ALQ_BOUND_SMALL_MAX * (s->d ? s->d : 1),
                                 "k-center small-fold centers"));
    s->tau = -INFINITY;
    s->dormant_top = -1;
    s->level = -1;
  }
  /* Pruned, with no labeled centers, the norms (and the lazy state) wait
   * for the first center's pass (first_pass): one read of every row instead
   * of two. */
  s->norms_pending = lazy && labeled->n == 0;
  int64_t awake = 0;
  for (int64_t i = 0; i < s->n; i++) {
    s->exact[i] = INFINITY;
    s->seen[i] = 0;
    if (cand->skip && cand->skip[i]) {
      s->exact[i] = -1.0f; /* no candidate: treated as selected from the start */
      continue;
    }
    if (s->norms_pending)
      continue; /* the rest in first_pass */
    const float *xi = row(s, i, s->xrow);
    s->xnorm[i] = alq_dot(xi, xi, s->d);
    if (lazy) {
      s->bound[i] = s->refreshed[i] = INFINITY;
      s->folded[i] = 0;
      s->heap[awake++] = i; /* all awake (the first refresh orders them) */
    }
  }
  s->heap_n = !lazy ? 0 : s->norms_pending ? s->n : awake;
  return ALQ_OK;
}

static void state_free(kstate *s) {
  free(s->xnorm);
  free(s->exact);
  free(s->seen);
  free(s->bound);
  free(s->refreshed);
  free(s->folded);
  free(s->heap);
  free(s->popped);
  free(s->dormant);
  free(s->keys);
  free(s->block);
  free(s->rows);
  free(s->xrow);
  free(s->ct);
  free(s->c);
  free(s->cnorm);
}

static void add_center(kstate *s, const float *c) {
  memcpy(s->c + s->nc * s->d, c, sizeof(float) * s->d);
  float cn = alq_dot(c, c, s->d);
  s->cnorm[s->nc++] = cn;
  s->cmax = cn > s->cmax ? cn : s->cmax;
}

/* min(m, the distances of row i from the products gi against centers
 * [j0, j0 + bn)), at least 0.  Sixteen running minima, so that the loop
 * vectorises (the minimum does not depend on the order). */
static float fold_row(const kstate *s, int64_t i, const float *gi, int64_t j0, int64_t bn, float m) {
  enum { W = 16 };
  const float xn = s->xnorm[i], *cn = s->cnorm + j0;
  float lane[W];
  int64_t j = 0;
  if (bn >= W) {
    for (int l = 0; l < W; l++)
      lane[l] = m;
    for (; j + W <= bn; j += W)
      for (int l = 0; l < W; l++) {
        float d2 = xn + cn[j + l] - 2.0f * gi[j + l];
        lane[l] = d2 < lane[l] ? d2 : lane[l];
      }
    for (int l = 0; l < W; l++)
      m = lane[l] < m ? lane[l] : m;
  }
  for (; j < bn; j++) {
    float d2 = xn + cn[j] - 2.0f * gi[j];
    m = d2 < m ? d2 : m;
  }
  return m > 0 ? m : 0;
}

/* Runs g on rows list[0, bm) into out: in place when they are consecutive
 * floats, else gathered (and widened) into s->rows. */
static void gemm_rows(kstate *s, alq_bound_gemm *g, const int64_t *list, int64_t bm, float *out) {
  const int64_t d = s->d, i0 = list[0];
  int consecutive = list[bm - 1] - i0 == bm - 1;
  for (int64_t k = 1; consecutive && k < bm; k++)
    consecutive = list[k] == i0 + k;
  const float *x = s->rows;
  if (consecutive && s->x)
    x = s->x + i0 * d;
  else if (consecutive)
    alq_half_to_float(s->xh + i0 * d, s->rows, bm * d);
  else if (s->x)
    for (int64_t k = 0; k < bm; k++)
      memcpy(s->rows + k * d, s->x + list[k] * d, sizeof *s->rows * d);
  else
    for (int64_t k = 0; k < bm; k++)
      alq_half_to_float(s->xh + list[k] * d, s->rows + k * d, d);
  alq_bound_gemm_run(g, x, bm, out);
}

/* alq_bound_small_run on rows sel[0, bm) against the prepared centers: in
 * place for float rows, widened into s->rows first for binary16 ones. */
static void small_run(kstate *s, int64_t bn, const int64_t *sel, int64_t bm) {
  if (s->x) {
    alq_bound_small_run(s->ct, bn, s->d, s->x, sel, bm, s->block);
    return;
  }
  int64_t at[BLOCK_ROWS];
  for (int64_t q = 0; q < bm; q++) {
    alq_half_to_float(s->xh + sel[q] * s->d, s->rows + q * s->d, s->d);
    at[q] = q;
  }
  alq_bound_small_run(s->ct, bn, s->d, s->rows, at, bm, s->block);
}

/* The GEMM rows list[0, m) whose folded[] is in [f0, f1) (a group), folded
 * up to centers [f0, upto) in GEMM blocks; their bounds lowered, and
 * folded[] set to upto when every block ran.  A bound GEMM that cannot be
 * built leaves its centers out (the bounds stay bounds: fewer candidates
 * pruned, the same batch; folded[] is then left as it was). */
static void fold_group(kstate *s, const int64_t *list, int64_t m, int64_t f0, int64_t f1, int64_t upto) {
  int64_t sel[BLOCK_ROWS], rows = 0;
  int all = 1, any = 0;
  tolerance tol = {0};
  const char *small = upto - f0 <= ALQ_BOUND_SMALL_MAX ? alq_bound_small_path() : NULL;
  if (small) { /* a few centers: the rows read in place, no GEMM (alq/gemm.h) */
    int64_t bn = upto - f0, ld = alq_bound_small_width(bn);
    alq_bound_small_prepare(s->c + f0 * s->d, bn, s->d, s->ct);
    tol = path_tolerance(s, small);
    for (int64_t k = 0, bm = 0; k < m; k++) {
      int64_t i = list[k];
      if (s->folded[i] >= f0 && s->folded[i] < f1)
        sel[bm++] = i;
      if (bm == BLOCK_ROWS || (k + 1 == m && bm > 0)) {
        small_run(s, bn, sel, bm);
        /* Straight into the bound, not through refreshed[]: that one holds
         * the bound GEMM's distances, whose allowance may be far wider. */
        for (int64_t q = 0; q < bm; q++)
          lower_bound(s, &tol, sel[q], fold_row(s, sel[q], s->block + q * ld, f0, bn, INFINITY));
        rows += bm;
        bm = 0;
      }
    }
    any = 1;
    snprintf(s->small_path, sizeof s->small_path, "%s", small);
  }
  for (int64_t c0 = f0; !small && c0 < upto; c0 += BLOCK_CENTERS) {
    int64_t bn = upto - c0 < BLOCK_CENTERS ? upto - c0 : BLOCK_CENTERS;
    alq_bound_gemm *g = NULL;
    if (alq_bound_gemm_create(&g, s->c + c0 * s->d, bn, s->d, BLOCK_ROWS)) {
      all = 0;
      continue;
    }
    any = 1;
    tol = path_tolerance(s, alq_bound_gemm_path(g)); /* every block runs on the same path (chosen per process) */
    snprintf(s->gemm_path, sizeof s->gemm_path, "%s", alq_bound_gemm_path(g));
    snprintf(s->gemm_impl, sizeof s->gemm_impl, "%s", alq_bound_gemm_impl(g));
    rows = 0;
    for (int64_t k = 0, bm = 0; k < m; k++) {
      int64_t i = list[k];
      if (s->folded[i] >= f0 && s->folded[i] < f1)
        sel[bm++] = i;
      if (bm == BLOCK_ROWS || (k + 1 == m && bm > 0)) {
        gemm_rows(s, g, sel, bm, s->block);
        for (int64_t q = 0; q < bm; q++)
          s->refreshed[sel[q]] = fold_row(s, sel[q], s->block + q * bn, c0, bn, s->refreshed[sel[q]]);
        rows += bm;
        bm = 0;
      }
    }
    alq_bound_gemm_free(g);
  }
  if (!any)
    return;
  for (int64_t k = 0; k < m; k++) {
    int64_t i = list[k];
    if (s->folded[i] >= f0 && s->folded[i] < f1) {
      if (!small)
        lower_bound(s, &tol, i, s->refreshed[i]);
      if (all)
        s->folded[i] = (int32_t)upto;
    }
  }
  s->gemm_flops += 2.0 * (double)rows * (double)(upto - f0) * (double)s->d;
  s->gemm_rows += rows;
  alq_log_flops(2 * rows * (upto - f0) * s->d);
}

/* The smallest key >= k below upto (s->keys), or upto. */
static int64_t next_key(const kstate *s, int64_t k, int64_t upto) {
  for (; k < upto; k = (k | 63) + 1) {
    uint64_t bits = s->keys[k >> 6] >> (k & 63);
    if (bits)
      return k + __builtin_ctzll(bits) < upto ? k + __builtin_ctzll(bits) : upto;
  }
  return upto;
}

/* Lowers the bounds of rows list[0, m) with the centers [folded[i], upto)
 * each has not folded in: by its exact value when it lacks few centers for
 * one (evaluate), by exact distances when it has folded in all but a few
 * (alq_dot, the values' own arithmetic: a bound with no allowance), else
 * through the bound GEMM.  A row that already has them costs nothing (a
 * candidate woken twice at the same number of centers).  The GEMM rows go in
 * groups by folded[]: a group folds from its smallest count on, as at a few
 * centers the GEMM costs about the same per row whatever the width.  list is
 * reordered (the GEMM rows first), never shortened: the caller keeps every
 * row of it.  Cannot fail (fold_group). */
static void fold_centers(kstate *s, int64_t *list, int64_t m, int64_t upto) {
  if (m == 0)
    return;
  double t0 = MPI_Wtime();
  int64_t w = 0;
  float dots[EXACT_PART];
  for (int64_t k = 0; k < m; k++) {
    int64_t i = list[k], f = s->folded[i];
    if (f >= upto)
      continue;
    if (s->nc - s->seen[i] <= EXACT_FOLD) {
      float v = evaluate(s, i);
      s->bound[i] = v < s->bound[i] ? v : s->bound[i];
    } else if (upto - f <= EXACT_PART) {
      alq_dot_rows(row(s, i, s->xrow), s->c + f * s->d, upto - f, s->d, dots);
      float b = s->bound[i];
      for (int64_t j = f; j < upto; j++) {
        float d2 = s->xnorm[i] + s->cnorm[j] - 2.0f * dots[j - f];
        d2 = d2 > 0 ? d2 : 0; /* distance() */
        b = d2 < b ? d2 : b;
      }
      s->bound[i] = b;
      s->folded[i] = (int32_t)upto;
      s->distances += upto - f;
    } else { /* swapped, not overwritten */
      list[k] = list[w];
      list[w++] = i;
      s->keys[f >> 6] |= 1ull << (f & 63);
    }
  }
  for (int64_t f0 = next_key(s, 0, upto); f0 < upto;) {
    int64_t span = (upto - f0) / 2 > GROUP_SPAN ? (upto - f0) / 2 : GROUP_SPAN;
    int64_t f1 = f0 + span < upto ? f0 + span : upto;
    fold_group(s, list, w, f0, f1, upto);
    f0 = next_key(s, f1, upto);
  }
  memset(s->keys, 0, sizeof *s->keys * (size_t)((upto + 63) / 64));
  s->gemm_seconds += MPI_Wtime() - t0;
}

/* The first center's pass when there were no labeled centers (nc = 1):
 * every row's norm and its exact distance to that center in one read of the
 * row, the same values state_init and evaluate would give; the rest of the
 * lazy state (state_init left it) set on the way.  The next pick's value on
 * this rank is then the largest of them, so tau follows it at once (as the
 * next refresh's raise_tau would, from the global pick: at least as high),
 * and the candidates below it go dormant in index order, without a heap over
 * all of them first. */
static void first_pass(kstate *s) {
  double t0 = MPI_Wtime();
  float top = -1;
  for (int64_t i = 0; i < s->n; i++) {
    const float *xi = row(s, i, s->xrow);
    s->xnorm[i] = alq_dot(xi, xi, s->d);
    s->refreshed[i] = s->bound[i] = INFINITY;
    s->folded[i] = 0;
    if (s->exact[i] < 0)
      continue; /* selected */
    float v = evaluate(s, i);
    s->bound[i] = v;
    top = v > top ? v : top;
  }
  s->norms_pending = 0;
  s->first_seconds += MPI_Wtime() - t0;
  if (top >= 0)
    s->tau = (float)((1.0 - DORMANT_MARGIN) * (double)top);
  s->heap_n = 0;
  for (int64_t i = 0; i < s->n; i++) {
    if (s->exact[i] < 0)
      continue;
    if (s->bound[i] < s->tau)
      make_dormant(s, i);
    else
      s->heap[s->heap_n++] = i;
  }
  s->refreshes++;
  s->applied = s->nc;
  heap_build(s);
}

/* tau, raised to trail the level (never lowered here: every dormant bound
 * stays below it). */
static void raise_tau(kstate *s) {
  if (s->level >= 0) {
    float t = (float)((1.0 - DORMANT_MARGIN) * s->level);
    s->tau = t > s->tau ? t : s->tau;
  }
}

/* Folds centers [applied, upto) into the awake candidates' bounds, in GEMM
 * blocks; those that fall below tau (before or after) become dormant; then
 * rebuilds the heap. */
static void refresh_bounds(kstate *s, int64_t upto) {
  if (s->norms_pending) {
    first_pass(s);
    return;
  }
  raise_tau(s);
  sort_out(s);
  fold_centers(s, s->heap, s->heap_n, upto);
  sort_out(s);
  s->refreshes++;
  s->applied = upto;
  heap_build(s);
}

/* Takes out of the dormant set, listing them in index order (so a wake's
 * GEMM gathers its rows nearly in sequence: a wake can take most of the
 * candidates), the rows whose bound is >= t; returns how many, and in *top
 * the largest bound left dormant (-1: none).  One pass over the bitmap and
 * the bounds in index order (the vector path: 16 compares at once); both
 * paths make the same exact compares. */
static int64_t take_dormant_scalar(kstate *s, float t, int64_t *list, float *top) {
  int64_t m = 0, words = (s->n + 63) / 64;
  float tp = -1;
  for (int64_t word = 0; word < words; word++) {
    uint64_t bits = s->dormant[word], take = 0;
    for (uint64_t b = bits; b; b &= b - 1) {
      int l = __builtin_ctzll(b);
      float v = s->bound[word * 64 + l];
      if (v >= t)
        take |= 1ull << l;
      else
        tp = v > tp ? v : tp;
    }
    s->dormant[word] = bits & ~take;
    for (; take; take &= take - 1)
      list[m++] = word * 64 + __builtin_ctzll(take);
  }
  *top = tp;
  return m;
}

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static int64_t take_dormant_avx512f(kstate *s, float t, int64_t *list,
                                                                        float *top) {
  int64_t m = 0, words = (s->n + 63) / 64;
  const __m512 tv = _mm512_set1_ps(t);
  __m512 tp = _mm512_set1_ps(-1.0f);
  for (int64_t word = 0; word < words; word++) {
    uint64_t bits = s->dormant[word], take = 0;
    if (!bits)
      continue;
    for (int q = 0; q < 4; q++) {
      __mmask16 in = (__mmask16)(bits >> (16 * q));
      if (!in)
        continue;
      /* masked: never reads past the last row (its bits are clear) */
      __m512 v = _mm512_maskz_loadu_ps(in, s->bound + word * 64 + 16 * q);
      __mmask16 ge = _mm512_mask_cmp_ps_mask(in, v, tv, _CMP_GE_OQ);
      take |= (uint64_t)ge << (16 * q);
      tp = _mm512_mask_max_ps(tp, in & (__mmask16)~ge, v, tp); /* a NaN bound: tp kept, as in the scalar path */
    }
    s->dormant[word] = bits & ~take;
    for (; take; take &= take - 1)
      list[m++] = word * 64 + __builtin_ctzll(take);
  }
  *top = _mm512_reduce_max_ps(tp);
  return m;
}
#endif

/* About how many dormant rows have a bound >= t: counted in every eighth
 * word of the bitmap (a heuristic's input: deterministic, and it decides
 * only how much work a wake does). */
static int64_t count_dormant(const kstate *s, float t) {
  int64_t m = 0, words = (s->n + 63) / 64;
  for (int64_t word = 0; word < words; word += 8)
    for (uint64_t b = s->dormant[word]; b; b &= b - 1)
      m += s->bound[word * 64 + __builtin_ctzll(b)] >= t;
  return 8 * m;
}

static int64_t take_dormant(kstate *s, float t, int64_t *list, float *top) {
#if defined(__x86_64__)
  static int avx512 = -1;
  if (avx512 < 0)
    avx512 = alq_isa_supported("avx512f");
  if (avx512)
    return take_dormant_avx512f(s, t, list, top);
#endif
  return take_dormant_scalar(s, t, list, top);
}

/* Lowers tau to new_tau and wakes the dormant candidates with a bound at or
 * above it, their bounds first folded up to every center (they lack the
 * centers applied while they slept, and the waiting ones); those still below
 * new_tau go back to sleep, the others join the heap.  list: scratch for the
 * woken. */
static void wake(kstate *s, float new_tau, int64_t *list) {
  float top, take = new_tau;
  /* A band that holds a large share of the dormant rows: all of them, while
   * they lack few centers each (a read of the row, alq_bound_small_run).
   * Read in index order at that density, a row costs about what the first
   * pass pays (a streaming read), against about twice that for the
   * scattered rows of a thin band, and the wakes that would have followed,
   * band by band, find their rows up to date.  (At 10^6 x 128 from 0
   * labeled, when the tenth cluster gets its center the first band holds 7%
   * of the dormant rows; six more wakes at 10 centers followed it, 0.68 M
   * scattered rows in all, and 0.20 M in the later wakes.  Waking them all
   * there reads 1.0 M rows in sequence, and 0.13 M in the later wakes.) */
  if (s->nc <= ALQ_BOUND_SMALL_MAX && alq_bound_small_path() &&
      count_dormant(s, new_tau) * FULL_WAKE >= s->dormant_n)
    take = -INFINITY;
  int64_t m = take_dormant(s, take, list, &top), w = 0;
  s->dormant_n -= m;
  s->dormant_top = top;
  s->tau = new_tau;
  s->wakes++;
  for (int64_t k = 0; k < m; k++)
    if (s->exact[list[k]] >= 0) /* (a dormant row is never selected: kept safe) */
      list[w++] = list[k];
  fold_centers(s, list, w, s->nc);
  for (int64_t k = 0; k < w; k++) {
    if (s->bound[list[k]] < s->tau)
      make_dormant(s, list[k]);
    else
      s->heap[s->heap_n++] = list[k];
  }
  heap_build(s);
}

/* A refresh is due when PEND new centers wait, or, before PEND have been
 * applied, as many as have been (bounds from the first steps). */
static int refresh_due(const kstate *s) {
  int64_t waiting = s->nc - s->applied;
  return waiting >= PEND || (waiting > 0 && waiting >= s->applied);
}

static void consider(proposal *best, float value, const kstate *s, int64_t i, int rank) {
  proposal p = {value, s->ids[i], rank, i};
  if (proposal_before(&p, best))
    *best = p;
}

/* This rank's farthest unselected candidate, evaluating only those whose bound
 * could still beat the best exact value so far; value -1 when none is left. */
static proposal farthest_lazy(kstate *s, int rank) {
  proposal best = {-1.0, INT64_MAX, rank, -1};
  int64_t n_popped = 0;
  for (;;) {
    while (s->heap_n > 0) {
      int64_t top = s->heap[0];
      proposal could = {s->bound[top], s->ids[top], rank, top};
      if (best.at >= 0 && !proposal_before(&could, &best))
        break; /* no remaining bound can beat the best exact value */
      if (n_popped >= STEP_EVALUATIONS && s->applied < s->nc) {
        /* Start the step over on refreshed bounds (the popped ones are
         * exact: they come first and cost nothing more). */
        for (int64_t k = 0; k < n_popped; k++)
          s->heap[s->heap_n++] = s->popped[k];
        n_popped = 0;
        refresh_bounds(s, s->nc);
        best = (proposal){-1.0, INT64_MAX, rank, -1};
        continue;
      }
      heap_pop(s);
      if (s->exact[top] < 0)
        continue; /* selected: leaves the heap */
      float v = evaluate(s, top);
      s->bound[top] = v;
      s->popped[n_popped++] = top;
      consider(&best, v, s, top, rank);
    }
    /* A dormant candidate's value is below tau and at most dormant_top:
     * done when best is not. */
    if (s->dormant_n == 0 ||
        (best.at >= 0 && (best.value >= s->tau || best.value > s->dormant_top)))
      break;
    /* tau steps down by the margin: best may come from a candidate whose
     * bound lacked the waiting centers, far below the next pick, and a wide
     * band of stale bounds woken at once costs more than a few narrow ones. */
    float top = s->tau < s->dormant_top ? s->tau : s->dormant_top;
    float new_tau = top > 0 ? (float)((1.0 - DORMANT_MARGIN) * top) : -INFINITY;
    wake(s, new_tau, s->popped + n_popped);
  }
  for (int64_t k = 0; k < n_popped; k++)
    heap_push(s, s->popped[k]);
  return best;
}

/* Binary16 rows [i0, i0 + bm) that miss only the newest center, against it
 * in one alq_dot_half_rows call (several rows in flight: a half row alone is
 * too short to stream at the memory's rate); the values evaluate() gives. */
static void evaluate_half_block(kstate *s, int64_t i0, int64_t bm, float *dots) {
  const int64_t j = s->nc - 1;
  alq_dot_half_rows(s->xh + i0 * s->d, s->c + j * s->d, bm, s->d, dots, s->xrow);
  int64_t counted = 0;
  for (int64_t k = 0; k < bm; k++) {
    int64_t i = i0 + k;
    if (s->exact[i] < 0)
      continue; /* selected: stays so */
    float d2 = s->xnorm[i] + s->cnorm[j] - 2.0f * dots[k];
    d2 = d2 > 0 ? d2 : 0;
    s->exact[i] = d2 < s->exact[i] ? d2 : s->exact[i];
    s->seen[i] = (int32_t)s->nc;
    counted++;
  }
  s->distances += counted;
  s->evaluations += counted;
}

/* The same answer, evaluating every unselected candidate (--no-prune). */
static proposal farthest_eager(kstate *s, int rank) {
  enum { BLOCK = 256 };
  float dots[BLOCK];
  proposal best = {-1.0, INT64_MAX, rank, -1};
  for (int64_t i0 = 0; i0 < s->n; i0 += BLOCK) {
    int64_t bm = s->n - i0 < BLOCK ? s->n - i0 : BLOCK, run = 0;
    while (s->xh && run < bm && (s->seen[i0 + run] == s->nc - 1 || s->exact[i0 + run] < 0))
      run++;
    if (run == bm) /* selected rows ride along: their products are dropped */
      evaluate_half_block(s, i0, bm, dots);
    for (int64_t i = i0; i < i0 + bm; i++)
      if (s->exact[i] >= 0)
        consider(&best, run == bm ? s->exact[i] : evaluate(s, i), s, i, rank);
  }
  return best;
}

/* With no centers at all, the first one is the candidate with the largest
 * hash(seed, id): a seeded draw that any rank evaluates the same way. */
static proposal first_draw(const kstate *s, uint64_t seed, int rank) {
  proposal best = {-1.0, INT64_MAX, rank, -1};
  for (int64_t i = 0; i < s->n; i++) {
    proposal p = {alq_hash_unit(seed, (uint64_t)s->ids[i], ALQ_PURPOSE_FIRST_CENTER), s->ids[i], rank, i};
    if (proposal_before(&p, &best))
      best = p;
  }
  return best;
}

static alq_err record_winner(kstate *s, const proposal *win, int rank, MPI_Comm comm, float *center) {
  if (win->owner == rank) {
    memcpy(center, row(s, win->at, s->xrow), sizeof(float) * s->d);
    s->exact[win->at] = -1.0f; /* selected: never proposed again */
  }
  ALQ_CHECK(alq_bcast(center, sizeof(float) * s->d, (int)win->owner, comm));
  add_center(s, center);
  return ALQ_OK;
}

typedef struct {
  double seconds, eager_seconds;
  int64_t eager_bytes, steps;
} kstats;

static alq_err print_stats(const kstats *st, const kstate *s, MPI_Comm comm) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t local[4] = {s->evaluations, s->distances, st->eager_bytes, s->n - s->skipped}, sum[4];
  double t[2] = {st->seconds, st->eager_seconds}, tmax[2];
  ALQ_CHECK(alq_reduce(local, sum, 4, MPI_INT64_T, MPI_SUM, 0, comm));
  ALQ_CHECK(alq_reduce(t, tmax, 2, MPI_DOUBLE, MPI_MAX, 0, comm));
  if (rank != 0)
    return ALQ_OK;
  /* Row visits an eager pass would make: every unselected candidate per step. */
  double visits = 0;
  for (int64_t k = 0; k < st->steps; k++)
    visits += (double)(sum[3] - k - 1);
  fprintf(stderr,
          "kcenter: steps=%lld candidates=%lld dim=%lld rows=%s seconds=%.6f streamed_bytes=%lld "
          "unpruned_steps_seconds=%.6f unpruned_bytes=%lld pruned_fraction=%.4f evaluations=%lld distances=%lld "
          "refreshes=%lld wakes=%lld gemm_rows=%lld gemm_seconds=%.4f gemm_gflops=%.1f gemm_path=%s gemm_impl=%s "
          "first_pass_seconds=%.4f small_path=%s\n",
          (long long)st->steps, (long long)sum[3], (long long)s->d, s->x || !s->xh ? "float32" : "float16", tmax[0],
          (long long)(sum[0] * row_bytes(s)), tmax[1], (long long)sum[2],
          visits > 0 ? 1.0 - (double)sum[0] / visits : 0.0, (long long)sum[0], (long long)sum[1],
          (long long)s->refreshes, (long long)s->wakes, (long long)s->gemm_rows, s->gemm_seconds, s->gemm_seconds > 0 ? s->gemm_flops / s->gemm_seconds / 1e9 : 0.0,
          s->gemm_path[0] ? s->gemm_path : "none", s->gemm_impl[0] ? s->gemm_impl : "none", s->first_seconds,
          s->small_path[0] ? s->small_path : "none");
  return ALQ_OK;
}

/* The proposal as one MPI datatype, and the MAXLOC-like operation on it. */
static alq_err proposal_ops(MPI_Datatype *type, MPI_Op *op) {
  int rc = MPI_Type_contiguous(sizeof(proposal), MPI_BYTE, type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Type_commit(type);
  if (rc == MPI_SUCCESS)
    rc = MPI_Op_create(proposal_max, 1, op);
  return rc == MPI_SUCCESS ? ALQ_OK : alq_error_set(ALQ_ERR_MPI, "cannot build the k-center proposal operation");
}

alq_err alq_kcenter_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                           alq_batch *batch) {
  int rank;
  MPI_Comm_rank(ctx->comm, &rank);
  memset(batch, 0, sizeof *batch);
  if (cand->n > 0 && !cand->embeddings && !cand->half)
    return alq_error_set(ALQ_ERR_INTERNAL, "k-center was given candidates without embeddings");
  const int lazy = ctx->prune;
  kstate s;
  float *center = NULL;
  alq_err err = state_init(&s, cand, labeled, ctx->budget, lazy);
  if (!err)
    err = alq_malloc(&center, sizeof(float) * (cand->dim ? cand->dim : 1), "k-center new center");
  if (!err)
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (ctx->budget ? ctx->budget : 1), "batch ids");
  if (!err)
    err = alq_malloc(&batch->scores, sizeof(double) * (ctx->budget ? ctx->budget : 1), "batch scores");
  for (int64_t j = 0; !err && j < labeled->n; j++)
    add_center(&s, labeled->embeddings + j * s.d);
  if (!err && lazy && s.nc > 0) {
    /* Every candidate against the first PREFIX labeled centers; then the
     * exact value of the top one (at most the first pick's) sets the level,
     * and only the candidates within reach of it get the rest. */
    refresh_bounds(&s, s.nc < PREFIX ? s.nc : PREFIX);
    if (s.applied < s.nc && s.heap_n > 0) {
      int64_t top = s.heap[0];
      s.level = s.bound[top] = evaluate(&s, top);
      heap_down(&s, 0);
    }
    refresh_bounds(&s, s.nc);
  }
  MPI_Datatype ptype = MPI_DATATYPE_NULL;
  MPI_Op pmax = MPI_OP_NULL;
  if (!err)
    err = proposal_ops(&ptype, &pmax);
  /* The greedy inside the hierarchical reduction runs on MPI_COMM_SELF: not this phase. */
  if (!err && ctx->comm != MPI_COMM_SELF)
    err = alq_fault_point("kcenter");
  err = alq_agree(ctx->comm, err);

  kstats st = {0};
  double t0 = MPI_Wtime();
  proposal mine = {0};
  if (!err)
    mine = !s.nc ? first_draw(&s, ctx->seed, rank) : lazy ? farthest_lazy(&s, rank) : farthest_eager(&s, rank);
  st.seconds += MPI_Wtime() - t0;
  int64_t t = 0;
  for (; !err && t < ctx->budget; t++) {
    proposal win;
    err = alq_allreduce(&mine, &win, 1, ptype, pmax, ctx->comm);
    if (err || win.value < 0)
      break; /* no candidate left anywhere */
    batch->ids[t] = win.id;
    batch->scores[t] = s.nc ? sqrt(win.value) : INFINITY;
    if (s.nc)
      s.level = win.value; /* the next picks are not farther */
    err = record_winner(&s, &win, rank, ctx->comm, center);
    if (err || t + 1 == ctx->budget)
      continue;
    t0 = MPI_Wtime();
    if (lazy && refresh_due(&s))
      refresh_bounds(&s, s.nc);
    int64_t distances_before = s.distances;
    mine = lazy ? farthest_lazy(&s, rank) : farthest_eager(&s, rank);
    double dt = MPI_Wtime() - t0;
    st.seconds += dt;
    /* An eager step against one new center streams every row once: the
     * bandwidth figure (bench/kcenter_bench.sh). */
    if (!lazy && s.distances - distances_before <= s.n) {
      st.eager_seconds += dt;
      st.eager_bytes += (s.distances - distances_before) * row_bytes(&s);
    }
    if (!lazy)
      alq_log_flops(2 * (s.distances - distances_before) * s.d);
  }
  batch->n = t;
  st.steps = t;
  if (pmax != MPI_OP_NULL)
    MPI_Op_free(&pmax);
  if (ptype != MPI_DATATYPE_NULL)
    MPI_Type_free(&ptype);
  if (!err && ctx->log_view)
    err = print_stats(&st, &s, ctx->comm);
  state_free(&s);
  free(center);
  if (err)
    alq_batch_free(batch);
  return err;
}

const alq_strategy alq_strategy_kcenter = {
    .name = "kcenter",
    .summary = "Core-Set greedy farthest-first over all unlabeled items (labeled items are the first centers)",
    .needs = ALQ_NEEDS_EMBEDDINGS,
    .score = NULL,
    .select = alq_kcenter_select,
};
