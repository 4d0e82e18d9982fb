/* alq/consensus.h: several annotators' answers to one consensus per item
 * (CROWDLAB), and the ActiveLab scores that decide whether the next answer
 * is worth more on a new item or on one already labeled.
 *
 * CROWDLAB (Goh, Tkachenko, Mueller 2022; cleanlab's `multiannotator` module,
 * docs/activelab.md gives the formulas): an initial consensus by majority vote
 * (ties broken by the model's probability, then by the rarer class, then by the
 * lower class); each annotator's weight from how often they agree with other
 * annotators on the same items, the model's weight from its accuracy against
 * the consensus, both relative to always answering the most common class; a
 * posterior per item that averages the model's probabilities and the
 * annotators' answers with those weights; the final consensus is the
 * posterior's most likely class (the majority vote when that is tied), and its
 * quality the posterior probability of it.  When no item has two answers
 * there is nothing to weigh annotators by: the consensus is each item's answer,
 * its quality the model's probability of it, and every weight 1 (as cleanlab's
 * active learning does).
 */
#ifndef ALQ_CONSENSUS_H
#define ALQ_CONSENSUS_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/state.h"

/* Answers grouped by item: item i (ids ascending) has the answers
 * [offsets[i], offsets[i + 1]), at most one per annotator. */
typedef struct alq_answer_table {
  int64_t n_items;
  int64_t *ids;
  int64_t *offsets;     /* n_items + 1 */
  int32_t *labels;      /* offsets[n_items] answers */
  int32_t *annotators;  /* 0 .. n_annotators - 1 */
  int64_t n_annotators; /* every index below it answered at least once */
} alq_answer_table;

void alq_answer_table_free(alq_answer_table *t);

/* The state's answers (alq/state.h), an annotator's repeated answer to an
 * item counted once (the first).  Annotators without an answer are dropped;
 * names[k] (optional) receives the state's index of table annotator k. */
alq_err alq_answer_table_from_state(const alq_state *st, alq_answer_table *t, int32_t **names);

/* alq_answer_table_from_state of the state file at `path`. */
alq_err alq_answer_table_read_state(const char *path, alq_answer_table *t);

/* One answer per labeled item, all by one annotator (a pool's /labeled set). */
alq_err alq_answer_table_from_labeled(const alq_labeled *labeled, alq_answer_table *t);

/* Appends one answer of `annotator` to item `id` (added when new; ids kept
 * ascending); usage error when that annotator already answered it. */
alq_err alq_answer_table_add(alq_answer_table *t, int64_t id, int32_t label, int32_t annotator);

typedef struct {
  int64_t n_items, n_classes, n_annotators;
  int32_t *label;           /* consensus label per item */
  double *quality;          /* its quality in [0, 1]: higher = more likely correct */
  double *agreement;        /* share of the item's answers equal to the consensus */
  int32_t *n_answers;       /* answers per item */
  double *annotator_weight; /* per annotator */
  double model_weight;
  double mean_annotator_weight;
  int weighed; /* 0: no item had two answers (every weight 1) */
} alq_consensus;

void alq_consensus_free(alq_consensus *c);

/* CROWDLAB over the table; probs holds the model's probabilities of the
 * table's items, n_items x n_classes in table order.  Pure and sequential:
 * the same inputs give the same bits. */
alq_err alq_consensus_compute(const alq_answer_table *t, const float *probs, int64_t n_classes, alq_consensus *out);

/* The temperature ActiveLab scales the model's probabilities by (cleanlab's
 * get_active_learning_scores: find_best_temp_scaler): the T of the grid
 * 0.1 0.2 0.5 0.8 1 2 3 5 8, refined around the best by cleanlab's fine grid,
 * that minimises the mean over the table's items of the cross entropy
 * between the item's answers (their share per class) and softmax(log p / T),
 * over log K.  1 when no item has two answers (cleanlab does not scale then).
 * probs as for alq_consensus_compute; pure and deterministic. */
double alq_consensus_temperature(const alq_answer_table *t, const float *probs, int64_t n_classes);

/* The same grid search over any table, single answers too (no early 1): with
 * one answer per item holding its consensus label, the soft cross entropy is
 * the log loss against the consensus (the activelab strategy's fit). */
double alq_temperature_fit(const alq_answer_table *t, const float *probs, int64_t n_classes);

/* out = softmax(log p / T) per row of in (n x n_classes), p floored at 1e-30
 * (cleanlab's temp_scale_pred_probs); in == out is allowed. */
void alq_temperature_scale(const float *in, int64_t n, int64_t n_classes, double T, float *out);

/* The largest probability of one row after scaling by T (double, unrounded). */
double alq_temperature_max(const float *p, int64_t n_classes, double T);

/* ActiveLab (Goh, Mueller 2023), turned so that higher = label next.  A
 * labeled item: 1 - the average of its consensus quality (weight: its
 * annotators' weights plus the model's) and 1/K (weight: the mean annotator
 * weight).  An unlabeled item: 1 - the average of the model's largest
 * probability (weight: the model's) and 1/K (the mean annotator weight). */
double alq_activelab_labeled(const alq_consensus *c, const alq_answer_table *t, int64_t item);
double alq_activelab_unlabeled(const alq_consensus *c, double max_prob);

/* `alq consensus`: the final dataset's labels. */
typedef struct {
  char state[ALQ_PATH_MAX];
  char pool[ALQ_PATH_MAX];  /* "" = the pool the state records */
  char model[ALQ_PATH_MAX]; /* "" = the pool's /probs; else a head (alq train) serving them */
  char out[ALQ_PATH_MAX];   /* CSV: id,label,quality,answers,agreement */
  int64_t mc_samples;
  int quiet; /* else the weights on stderr */
} alq_consensus_options;

/* Serial (one process): reads the state and the model's probabilities of its
 * answered items, computes the consensus and writes o->out (staged,
 * alq/paths.h), one row per answered item, ids ascending. */
alq_err alq_consensus_write(const alq_consensus_options *o);

#endif
