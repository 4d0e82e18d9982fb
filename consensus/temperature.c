/* consensus/temperature.c: the temperature ActiveLab scales the model's
 * probabilities by (alq/consensus.h), as cleanlab's get_active_learning_scores
 * does (find_best_temp_scaler, temp_scale_pred_probs): a model that is too
 * sure of itself, or not sure enough, would otherwise weigh wrongly against
 * the annotators.  docs/activelab.md gives the formulas. */
#include <math.h>

#include "alq/consensus.h"

/* cleanlab's SMALL_CONST: the floor of a probability before its log. */
#define PROB_FLOOR 1e-30
#define FINE_STEPS 4

static const double coarse[] = {0.1, 0.2, 0.5, 0.8, 1, 2, 3, 5, 8};
#define N_COARSE ((int)(sizeof coarse / sizeof coarse[0]))

/* Scaled row: q_k = exp((log p_k - top) / T) / z with p clipped at
 * PROB_FLOOR, top the largest log p and z the sum of the exponentials, i.e.
 * softmax(log p / T) (cleanlab renormalises p first, which the softmax
 * cancels); shifting by top keeps small temperatures from underflowing. */
static double log_top(const float *p, int64_t K) {
  double top = -INFINITY;
  for (int64_t k = 0; k < K; k++)
    top = fmax(top, log(fmax((double)p[k], PROB_FLOOR)));
  return top;
}

static double partition(const float *p, int64_t K, double T, double top) {
  double z = 0;
  for (int64_t k = 0; k < K; k++)
    z += exp((log(fmax((double)p[k], PROB_FLOOR)) - top) / T);
  return z;
}

double alq_temperature_max(const float *p, int64_t K, double T) {
  return 1 / partition(p, K, T, log_top(p, K)); /* the top class's term is exp(0) */
}

void alq_temperature_scale(const float *in, int64_t n, int64_t K, double T, float *out) {
  for (int64_t i = 0; i < n; i++) {
    const float *p = in + i * K;
    double top = log_top(p, K), z = partition(p, K, T, top);
    for (int64_t k = 0; k < K; k++)
      out[i * K + k] = (float)(exp((log(fmax((double)p[k], PROB_FLOOR)) - top) / T) / z);
  }
}

/* Mean over items of the cross entropy between the item's answers (their
 * share per class) and the scaled probabilities (floored at PROB_FLOOR),
 * over log K: cleanlab's compute_soft_cross_entropy. */
static double soft_cross_entropy(const alq_answer_table *t, const float *probs, int64_t K, double T) {
  double total = 0, floor_log = log(PROB_FLOOR);
  for (int64_t i = 0; i < t->n_items; i++) {
    const float *p = probs + i * K;
    double top = log_top(p, K), log_z = log(partition(p, K, T, top)), ce = 0;
    int64_t lo = t->offsets[i], hi = t->offsets[i + 1];
    for (int64_t j = lo; j < hi; j++)
      ce -= fmax((log(fmax((double)p[t->labels[j]], PROB_FLOOR)) - top) / T - log_z, floor_log);
    total += ce / (double)(hi - lo) / log((double)K);
  }
  return total / (double)t->n_items;
}

/* The first temperature of grid[0..n) with the least soft cross entropy. */
static int best_of(const alq_answer_table *t, const float *probs, int64_t K, const double *grid, int n) {
  double best = INFINITY;
  int at = 0;
  for (int g = 0; g < n; g++) {
    double ce = soft_cross_entropy(t, probs, K, grid[g]);
    if (ce < best) {
      best = ce;
      at = g;
    }
  }
  return at;
}

double alq_consensus_temperature(const alq_answer_table *t, const float *probs, int64_t K) {
  int multi = 0;
  for (int64_t i = 0; i < t->n_items; i++)
    multi |= t->offsets[i + 1] - t->offsets[i] > 1;
  return multi ? alq_temperature_fit(t, probs, K) : 1; /* cleanlab: none for single-annotator data */
}

double alq_temperature_fit(const alq_answer_table *t, const float *probs, int64_t K) {
  if (K < 2 || t->n_items == 0)
    return 1;
  int at = best_of(t, probs, K, coarse, N_COARSE);
  /* The fine grid (cleanlab's _set_fine_search_range, numpy's linspace):
   * FINE_STEPS points from the coarse neighbour below up to, not including,
   * the coarse best, then FINE_STEPS + 1 from the best to the neighbour
   * above, both ends included. */
  double fine[2 * FINE_STEPS + 1];
  int n = 0;
  if (at > 0)
    for (int s = 0; s < FINE_STEPS; s++)
      fine[n++] = coarse[at - 1] + s * ((coarse[at] - coarse[at - 1]) / FINE_STEPS);
  if (at < N_COARSE - 1)
    for (int s = 0; s <= FINE_STEPS; s++)
      fine[n++] = s == FINE_STEPS ? coarse[at + 1] : coarse[at] + s * ((coarse[at + 1] - coarse[at]) / FINE_STEPS);
  return fine[best_of(t, probs, K, fine, n)];
}
