/* subpool/anchors.c: AnchorAL's anchors, class by class, by k-means++ seeding.
 *
 * Everything here is a pure function of the labeled set, its embeddings and the
 * seed, so every rank computes the same anchors without communicating. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "alq/anchoral.h"
#include "alq/dot.h"
#include "alq/hash.h"

/* Squared distance between the L2-normalised x and y (2 - 2 cos). */
static double unit_dist2(const float *x, const float *y, double xn, double yn, int64_t d) {
  if (xn == 0 || yn == 0)
    return xn == yn ? 0.0 : 1.0;
  if (x == y || memcmp(x, y, sizeof *x * (size_t)d) == 0)
    return 0.0; /* identical rows: cos can round to just below 1, and a copy would be drawn again */
  double c = alq_dot(x, y, d) / (xn * yn);
  double d2 = 2.0 - 2.0 * c;
  return d2 > 0 ? d2 : 0;
}

/* k-means++ (D^2) seeding over `members` (indices into the labeled set, in id
 * order): appends up to `want` picks to out and returns how many. */
static int64_t kmeanspp(const int64_t *members, int64_t n, const float *emb, const double *norms, int64_t d,
                        int64_t want, uint64_t seed, int64_t cls, double *dist2, int64_t *out) {
  uint64_t key = (uint64_t)cls << 32;
  int64_t first = (int64_t)(alq_hash_unit(seed, key, ALQ_PURPOSE_ANCHOR) * (double)n);
  out[0] = members[first];
  for (int64_t i = 0; i < n; i++)
    dist2[i] = unit_dist2(emb + members[i] * d, emb + out[0] * d, norms[members[i]], norms[out[0]], d);
  int64_t picked = 1;
  while (picked < want) {
    double total = 0;
    for (int64_t i = 0; i < n; i++)
      total += dist2[i];
    if (total <= 0)
      break; /* every remaining item coincides with an anchor */
    double u = alq_hash_unit(seed, key | (uint64_t)picked, ALQ_PURPOSE_ANCHOR) * total, cum = 0;
    int64_t pick = -1;
    for (int64_t i = 0; i < n; i++) {
      if (dist2[i] <= 0)
        continue;
      cum += dist2[i];
      pick = i;
      if (cum > u)
        break;
    }
    out[picked++] = members[pick];
    for (int64_t i = 0; i < n; i++) {
      double d2 = unit_dist2(emb + members[i] * d, emb + members[pick] * d, norms[members[i]], norms[members[pick]], d);
      if (d2 < dist2[i])
        dist2[i] = d2;
    }
  }
  return picked;
}

typedef struct {
  uint64_t key;
  int64_t index;
} keyed;

static int cmp_keyed(const void *pa, const void *pb) {
  const keyed *a = pa, *b = pb;
  return a->key < b->key ? -1 : a->key > b->key ? 1 : (a->index > b->index) - (a->index < b->index);
}

alq_err alq_anchoral_choose(const alq_labeled *labeled, const float *labeled_emb, int64_t dim,
                            const alq_anchoral_options *opt, int64_t *anchors, int64_t *n_anchors) {
  *n_anchors = 0;
  int64_t n = labeled->n;
  if (n == 0)
    return ALQ_OK;
  int32_t max_label = 0;
  for (int64_t i = 0; i < n; i++)
    max_label = labeled->labels[i] > max_label ? labeled->labels[i] : max_label;
  int64_t *members = NULL;
  double *norms = NULL, *dist2 = NULL;
  keyed *keys = NULL;
  alq_err err = alq_malloc(&members, sizeof *members * n, "anchor candidates");
  if (!err)
    err = alq_malloc(&norms, sizeof *norms * n, "anchor norms");
  if (!err)
    err = alq_malloc(&dist2, sizeof *dist2 * n, "anchor distances");
  if (!err)
    err = alq_malloc(&keys, sizeof *keys * n, "anchor keys");
  for (int64_t i = 0; !err && i < n; i++)
    norms[i] = sqrt((double)alq_dot(labeled_emb + i * dim, labeled_emb + i * dim, dim));
  for (int32_t c = 0; !err && c <= max_label; c++) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++)
      if (labeled->labels[i] == c)
        members[m++] = i;
    if (m == 0)
      continue;
    int64_t *out = anchors + *n_anchors;
    if (m <= opt->anchors_per_class) {
      memcpy(out, members, sizeof *out * m);
      *n_anchors += m;
    } else if (opt->random_anchors) {
      for (int64_t i = 0; i < m; i++)
        keys[i] = (keyed){alq_hash3(opt->seed, (uint64_t)labeled->ids[members[i]], ALQ_PURPOSE_ANCHOR_RANDOM),
                          members[i]};
      qsort(keys, m, sizeof *keys, cmp_keyed);
      for (int64_t i = 0; i < opt->anchors_per_class; i++)
        out[i] = keys[i].index;
      *n_anchors += opt->anchors_per_class;
    } else {
      *n_anchors += kmeanspp(members, m, labeled_emb, norms, dim, opt->anchors_per_class, opt->seed, c, dist2, out);
    }
  }
  free(members);
  free(norms);
  free(dist2);
  free(keys);
  return err;
}
