/* strategies/activelab.c: ActiveLab (Goh, Mueller 2023): label a new item or
 * label an item again, whichever answer is worth more (alq/activelab.h). */
#include <stdlib.h>
#include <string.h>

#include "alq/activelab.h"
#include "alq/comm.h"
#include "alq/scored.h"
#include "alq/sorted_ids.h"

/* Which temperature scales the probabilities before the consensus and the
 * scan (docs/activelab.md, "Temperature"; measured in "Evidence"):
 * TEMPERATURE_CONSENSUS fits T by log loss against the consensus labels (the
 * consensus taken first with the unscaled probabilities), TEMPERATURE_CLEANLAB
 * against every answer as cleanlab's get_active_learning_scores does
 * (alq_consensus_temperature; against 30%-noisy answers it is 3.5-4.5 for a
 * logistic head and activelab ends 5-7 points lower than without scaling),
 * TEMPERATURE_NONE leaves them.  Both fits give 1 while no item has two answers. */
enum { TEMPERATURE_NONE, TEMPERATURE_CLEANLAB, TEMPERATURE_CONSENSUS };
static const int temperature_fit = TEMPERATURE_CONSENSUS;

/* The temperature of the labeled items' answers `t` and probabilities (rank 0). */
static alq_err fit_temperature(const alq_answer_table *t, const float *probs, int64_t K, double *T) {
  *T = 1;
  int multi = 0;
  for (int64_t i = 0; i < t->n_items; i++)
    multi |= t->offsets[i + 1] - t->offsets[i] > 1;
  if (!multi || temperature_fit == TEMPERATURE_NONE)
    return ALQ_OK;
  if (temperature_fit == TEMPERATURE_CLEANLAB) {
    *T = alq_consensus_temperature(t, probs, K);
    return ALQ_OK;
  }
  alq_consensus c = {0};
  alq_answer_table one = {0};
  ALQ_CHECK(alq_consensus_compute(t, probs, K, &c));
  alq_labeled consensus = {t->n_items, t->ids, c.label};
  alq_err err = alq_answer_table_from_labeled(&consensus, &one);
  if (!err)
    *T = alq_temperature_fit(&one, probs, K);
  alq_answer_table_free(&one);
  alq_consensus_free(&c);
  return err;
}

/* The temperature the scan's scores use: set by alq_activelab_prepare (the
 * same on every rank, broadcast) and back to 1 after the merge.  The score
 * stage sees one chunk and no request, so the temperature cannot travel with
 * it; 1 gives least confidence's scores bit for bit. */
static double scan_temperature = 1;

static alq_err activelab_score(const alq_chunk *chunk, double *scores) {
  if (scan_temperature == 1)
    return alq_least_confidence_score(chunk, scores);
  for (int64_t i = 0; i < chunk->n; i++)
    scores[i] = 1.0 - alq_temperature_max(chunk->probs + i * chunk->n_classes, chunk->n_classes, scan_temperature);
  return ALQ_OK;
}

void alq_relabel_free(alq_relabel *r) {
  free(r->ids);
  free(r->scores);
  memset(r, 0, sizeof *r);
}

/* Rank 0's answers: req->answers, or the labeled set's labels (pending items,
 * label -1, left out) as one answer each in `own`. */
static alq_err answers_of(const alq_request *req, const alq_labeled *labeled, alq_answer_table *own,
                          const alq_answer_table **t) {
  if (req->answers) {
    *t = req->answers;
    return ALQ_OK;
  }
  alq_labeled answered = {0};
  alq_err err = alq_malloc(&answered.ids, sizeof(int64_t) * (labeled->n ? labeled->n : 1), "labeled answers");
  if (!err)
    err = alq_malloc(&answered.labels, sizeof(int32_t) * (labeled->n ? labeled->n : 1), "labeled answers");
  for (int64_t i = 0; !err && i < labeled->n; i++)
    if (labeled->labels[i] >= 0) {
      answered.ids[answered.n] = labeled->ids[i];
      answered.labels[answered.n++] = labeled->labels[i];
    }
  if (!err)
    err = alq_answer_table_from_labeled(&answered, own);
  alq_labeled_free(&answered);
  *t = own;
  return err;
}

/* Rank 0: the temperature and the consensus over `t` (probabilities fetched,
 * scaled here in place) and the labeled items' scores.  With known annotators
 * (`saturate`), an item every one of them has answered cannot go to a new
 * annotator: it is not a candidate. */
static alq_err score_labeled(const alq_answer_table *t, float *probs, int64_t K, int saturate, alq_relabel *out) {
  int64_t n = t->n_items;
  alq_err err = alq_malloc(&out->ids, sizeof(int64_t) * (n ? n : 1), "relabel ids");
  if (!err)
    err = alq_malloc(&out->scores, sizeof(double) * (n ? n : 1), "relabel scores");
  alq_consensus c = {.n_classes = K, .model_weight = 1, .mean_annotator_weight = 1};
  /* Nothing labeled: ActiveLab's unlabeled score with unit weights. */
  out->temperature = 1;
  if (!err && n > 0)
    err = fit_temperature(t, probs, K, &out->temperature);
  if (!err && out->temperature != 1)
    alq_temperature_scale(probs, n, K, out->temperature, probs);
  if (!err && n > 0)
    err = alq_consensus_compute(t, probs, K, &c);
  int64_t kept = 0;
  for (int64_t i = 0; !err && i < n; i++) {
    if (saturate && t->offsets[i + 1] - t->offsets[i] >= t->n_annotators)
      continue;
    out->ids[kept] = t->ids[i];
    out->scores[kept++] = alq_activelab_labeled(&c, t, i);
  }
  out->n = err ? 0 : kept;
  out->weights = (alq_consensus){.n_classes = K, .model_weight = c.model_weight,
                                 .mean_annotator_weight = c.mean_annotator_weight};
  alq_consensus_free(&c);
  return err;
}

/* Every rank: rank 0 fetches the table's rows, the others nothing (a
 * collective source needs every rank in the call). */
static alq_err fetch_probs(MPI_Comm comm, alq_source *src, const alq_answer_table *t, int64_t K, float **probs) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t n = rank == 0 ? t->n_items : 0;
  ALQ_CHECK(alq_agree(comm, alq_malloc(probs, sizeof(float) * K * (n ? n : 1), "labeled probabilities")));
  alq_rows rows = {.probs = *probs};
  return alq_agree(comm, alq_source_fetch(src, rank == 0 ? t->ids : NULL, n, ALQ_FIELD_PROBS, &rows));
}

alq_err alq_activelab_prepare(MPI_Comm comm, const alq_request *req, alq_source *src, const alq_labeled *labeled,
                              alq_relabel *out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  memset(out, 0, sizeof *out);
  scan_temperature = 1;
  alq_answer_table own = {0}, none = {0};
  const alq_answer_table *t = &none;
  float *probs = NULL;
  alq_err err = alq_agree(comm, rank == 0 ? answers_of(req, labeled, &own, &t) : ALQ_OK);
  if (!err)
    err = fetch_probs(comm, src, t, req->meta.n_classes, &probs);
  if (!err)
    err = alq_agree(comm, rank == 0 ? score_labeled(t, probs, req->meta.n_classes, req->answers != NULL, out) : ALQ_OK);
  free(probs);
  alq_answer_table_free(&own);
  if (err) {
    alq_relabel_free(out);
    return err;
  }
  double w[3] = {out->weights.model_weight, out->weights.mean_annotator_weight, out->temperature};
  int64_t n = out->n;
  err = alq_bcast(w, sizeof w, 0, comm);
  if (!err)
    err = alq_bcast(&n, sizeof n, 0, comm);
  if (!err && rank != 0) {
    err = alq_malloc(&out->ids, sizeof(int64_t) * (n ? n : 1), "relabel ids");
    if (!err)
      err = alq_malloc(&out->scores, sizeof(double) * (n ? n : 1), "relabel scores");
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(out->ids, sizeof(int64_t) * n, 0, comm);
  if (!err)
    err = alq_bcast(out->scores, sizeof(double) * n, 0, comm);
  if (err) {
    alq_relabel_free(out);
    return err;
  }
  out->n = n;
  out->weights = (alq_consensus){.n_classes = req->meta.n_classes, .model_weight = w[0], .mean_annotator_weight = w[1]};
  out->temperature = w[2];
  scan_temperature = w[2];
  return ALQ_OK;
}

alq_err alq_activelab_merge(const alq_relabel *r, int64_t budget, alq_batch *batch) {
  scan_temperature = 1; /* the scan is over: the next call sets its own */
  int64_t n = batch->n + r->n;
  alq_scored *all = NULL;
  int8_t *flag_of = NULL;
  ALQ_CHECK(alq_malloc(&all, sizeof *all * (n ? n : 1), "activelab candidates"));
  for (int64_t i = 0; i < batch->n; i++)
    all[i] = (alq_scored){alq_activelab_unlabeled(&r->weights, 1.0 - batch->scores[i]), batch->ids[i]};
  for (int64_t i = 0; i < r->n; i++)
    all[batch->n + i] = (alq_scored){r->scores[i], r->ids[i]};
  alq_scored_sort(all, n);
  int64_t keep = n < budget ? n : budget;
  alq_err err = alq_malloc(&flag_of, keep ? keep : 1, "relabel flags");
  int64_t *ids = err ? NULL : realloc(batch->ids, sizeof(int64_t) * (keep ? keep : 1));
  double *scores = ids ? realloc(batch->scores, sizeof(double) * (keep ? keep : 1)) : NULL;
  if (ids)
    batch->ids = ids;
  if (scores)
    batch->scores = scores;
  if (!err && (!ids || !scores))
    err = alq_error_set(ALQ_ERR_MEMORY, "cannot hold a batch of %lld items", (long long)keep);
  for (int64_t i = 0; !err && i < keep; i++) {
    batch->ids[i] = all[i].id;
    batch->scores[i] = all[i].score;
    /* Labeled ids are a sorted list: a binary search says which are re-labels. */
    flag_of[i] = alq_ids_find(r->ids, r->n, all[i].id) >= 0;
  }
  free(all);
  if (err) {
    free(flag_of);
    return err;
  }
  free(batch->relabel);
  batch->relabel = flag_of;
  batch->n = keep;
  return ALQ_OK;
}

const alq_strategy alq_strategy_activelab = {
    .name = "activelab",
    .summary = "ActiveLab: 1 - consensus quality (labeled) or confidence (unlabeled), blended with 1/K by "
               "annotator weights; batches mix new items and re-labels",
    .needs = ALQ_NEEDS_PROBS | ALQ_NEEDS_ANSWERS,
    /* The scan's score is 1 - max p of the scaled probabilities: for fixed
     * weights the unlabeled ActiveLab score grows with it, so the scan's top B
     * are the unlabeled items the merge can take; the merge rescores them. */
    .score = activelab_score,
    .select = NULL,
};
