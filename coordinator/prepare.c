/* coordinator/prepare.c: rank 0 checks the options against the pool before any
 * worker starts, so that bad input fails fast with one line. */
#include <stdio.h>
#include <string.h>

#include "alq/geometry.h"
#include "alq/select.h"
#include "alq/manifest.h"
#include "alq/model.h"
#include "alq/source.h"
#include "alq/state.h"
#include "alq/worker.h"
#include "coordinator.h"

/* A strategy on T stochastic passes (BALD) needs T >= 2 of them (one pass
 * has no disagreement to measure): --mc-samples with --model, else the pool's
 * /mc_probs.  The AnchorAL subpool keeps embeddings, probabilities and labels
 * of its rows only, not their expected entropies, so it cannot feed one yet. */
static alq_err check_passes(const alq_select_options *opt, const alq_strategy *s, const alq_pool_meta *meta) {
  if (opt->model[0] && opt->mc_samples < 2)
    return alq_error_set(ALQ_ERR_USAGE, "strategy %s with --model needs --mc-samples T with T >= 2, got %lld", s->name,
                         (long long)opt->mc_samples);
  if (!opt->model[0] && meta->mc_passes < 2)
    return alq_error_set(ALQ_ERR_INPUT, "%s: strategy %s needs dataset /mc_probs [T][N][C] with T >= 2 (%s), or "
                         "--model with --mc-samples", opt->pool, s->name,
                         meta->mc_passes ? "it has 1 pass" : "it is missing");
  return ALQ_OK;
}

/* The checks of the options that need no pool: the strategy, the budget and
 * the diversity stage (resolved into *diversity). */
static alq_err check_options(const alq_select_options *opt, const alq_strategy **strategy, int *diversity) {
  const alq_strategy *s = alq_strategy_find(opt->strategy);
  if (!s)
    return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", opt->strategy);
  if (opt->budget < 1)
    return alq_error_set(ALQ_ERR_USAGE, "--budget must be a positive integer, got %lld", (long long)opt->budget);
  int d = opt->diversity != ALQ_DIVERSITY_DEFAULT ? opt->diversity
          : s->select == alq_kcenter_select        ? ALQ_DIVERSITY_EXACT
          : s->select                              ? ALQ_DIVERSITY_DEFAULT /* its own */
                                                   : ALQ_DIVERSITY_NONE;
  if (d == ALQ_DIVERSITY_NONE && !s->score)
    return alq_error_set(ALQ_ERR_USAGE, "strategy %s has no score to rank by: it needs --diversity exact or hier",
                         s->name);
  if (opt->candidates && (d == ALQ_DIVERSITY_NONE || !s->score))
    return alq_error_set(ALQ_ERR_USAGE,
                         "--candidates applies when a scoring strategy feeds a diversity stage, not to '%s'%s", s->name,
                         d == ALQ_DIVERSITY_NONE ? " without --diversity" : "");
  if (opt->candidates && opt->candidates < opt->budget)
    return alq_error_set(ALQ_ERR_USAGE, "--candidates %lld is smaller than --budget %lld", (long long)opt->candidates,
                         (long long)opt->budget);
  *strategy = s;
  *diversity = d;
  return ALQ_OK;
}

alq_err alq_request_build(const alq_select_options *opt, const alq_pool_meta *meta, alq_request *req) {
  memset(req, 0, sizeof *req);
  const alq_strategy *s = NULL;
  int diversity = 0;
  ALQ_CHECK(check_options(opt, &s, &diversity));
  req->meta = *meta;
  if ((s->needs & ALQ_NEEDS_PROBS) && !(s->needs & ALQ_NEEDS_EXPECTED_ENTROPY) && !req->meta.has_probs &&
      !opt->model[0])
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset %s is missing, and strategy %s needs class probabilities",
                         opt->pool, alq_layout_name(&req->meta.layout, ALQ_FIELD_PROBS), s->name);
  /* With a model, the workers see what it computes from the pool's features. */
  if (opt->model[0])
    ALQ_CHECK(alq_model_serves(opt->model, opt->mc_samples, &req->meta));
  snprintf(req->model, sizeof req->model, "%s", opt->model);
  if (s->needs & ALQ_NEEDS_EXPECTED_ENTROPY)
    ALQ_CHECK(check_passes(opt, s, &req->meta));
  req->mc_samples = opt->mc_samples;
  if (opt->delta > 0 && strcmp(s->name, "probcover") != 0)
    return alq_error_set(ALQ_ERR_USAGE, "--delta applies to strategy probcover, not to '%s'", s->name);
  req->delta = opt->delta;
  ALQ_CHECK(alq_projection_prepare(opt, req));
  snprintf(req->strategy, sizeof req->strategy, "%s", s->name);
  req->budget = opt->budget;
  /* Candidates for the diversity stage: the top M by score (default ten per
   * batch slot: enough choice for diversity while the uncertainty filter still
   * bites), or every unlabeled item for a strategy without a score. */
  req->diversity = diversity;
  req->candidates = diversity == ALQ_DIVERSITY_NONE ? opt->budget
                    : !s->score                     ? -1
                    : opt->candidates               ? opt->candidates
                                                    : 10 * opt->budget;
  req->subpool = opt->subpool;
  req->anchors_per_class = opt->anchors_per_class ? opt->anchors_per_class : 10;
  req->neighbors = opt->neighbors ? opt->neighbors : 50;
  req->subpool_size = opt->subpool_size ? opt->subpool_size : 10000;
  req->anchor_random = opt->anchor_random;
  req->fan_in = opt->fan_in ? opt->fan_in : 8;
  req->memory_per_rank = opt->memory_per_rank;
  req->chunk_rows = opt->chunk_rows > 0 ? opt->chunk_rows : alq_default_chunk_rows(&req->meta);
  req->seed = opt->seed;
  req->prune = opt->prune;
  req->log_view = opt->log_view;
  req->quiet = opt->quiet;
  req->ood = opt->ood; /* checked against the source when fitted (ood/fit.c) */
  return ALQ_OK;
}

/* Later rounds need not repeat the dataset names: the state recorded them. */
static alq_err use_state_layout(const char *state_path) {
  alq_state st;
  ALQ_CHECK(alq_state_read(state_path, &st));
  alq_layout layout;
  memset(&layout, 0, sizeof layout);
  alq_err err = alq_layout_parse(st.pool.layout, &layout);
  alq_state_free(&st);
  if (!err)
    alq_layout_use(&layout);
  return err;
}

alq_err alq_coordinator_prepare(const alq_select_options *opt, alq_request *req, alq_labeled *labeled) {
  memset(req, 0, sizeof *req);
  memset(labeled, 0, sizeof *labeled);
  /* Checked before the pool is described: a usage error wins over a missing file. */
  const alq_strategy *s = NULL;
  int diversity = 0;
  ALQ_CHECK(check_options(opt, &s, &diversity));
  if (!alq_layout_given() && opt->state[0] && alq_state_exists(opt->state))
    ALQ_CHECK(use_state_layout(opt->state));
  alq_pool_meta meta;
  ALQ_CHECK(alq_source_describe(opt->pool, &meta));
  ALQ_CHECK(alq_request_build(opt, &meta, req));
  /* A generated pool has no file to hold a labeled set: only --labeled gives one. */
  int pool_is_file = strncmp(opt->pool, "gen:", 4) != 0;
  const char *lpath = opt->labeled[0] ? opt->labeled : opt->pool;
  /* With a round state, labeled and pending items are excluded (and are the
   * k-center's initial centers); a new state starts from the usual labeled set. */
  if (opt->state[0] && alq_state_exists(opt->state)) {
    ALQ_CHECK(alq_state_selection_exclusions(opt, req, labeled));
    lpath = opt->state;
  } else if (opt->labeled[0] || pool_is_file) {
    ALQ_CHECK(alq_labeled_read(lpath, req->meta.n_classes, opt->labeled[0] != 0, labeled));
  }
  snprintf(req->labeled_path, sizeof req->labeled_path, "%s", labeled->n ? lpath : "");
  req->n_labeled = labeled->n;
  return ALQ_OK;
}
