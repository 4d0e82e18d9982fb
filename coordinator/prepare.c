/* coordinator/prepare.c: rank 0 checks the options against the pool before any
 * worker starts, so that bad input fails fast with one line. */
#include <stdio.h>
#include <string.h>

#include "alq/source.h"
#include "alq/worker.h"
#include "coordinator.h"

alq_err alq_coordinator_prepare(const alq_select_options *opt, alq_request *req, alq_labeled *labeled) {
  memset(req, 0, sizeof *req);
  memset(labeled, 0, sizeof *labeled);
  const alq_strategy *s = alq_strategy_find(opt->strategy);
  if (!s)
    return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", opt->strategy);
  if (opt->budget < 1)
    return alq_error_set(ALQ_ERR_USAGE, "--budget must be a positive integer, got %lld", (long long)opt->budget);
  if (opt->candidates && !(s->score && s->select))
    return alq_error_set(ALQ_ERR_USAGE, "--candidates applies to strategies with a scoring and a selection stage, not to '%s'",
                         s->name);
  if (opt->candidates && opt->candidates < opt->budget)
    return alq_error_set(ALQ_ERR_USAGE, "--candidates %lld is smaller than --budget %lld", (long long)opt->candidates,
                         (long long)opt->budget);
  ALQ_CHECK(alq_source_describe(opt->pool, &req->meta));
  if ((s->needs & ALQ_NEEDS_PROBS) && !req->meta.has_probs)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /probs is missing, and strategy %s needs class probabilities",
                         opt->pool, s->name);
  /* A generated pool has no file to hold a labeled set: only --labeled gives one. */
  int pool_is_file = strncmp(opt->pool, "gen:", 4) != 0;
  const char *lpath = opt->labeled[0] ? opt->labeled : opt->pool;
  if (opt->labeled[0] || pool_is_file)
    ALQ_CHECK(alq_labeled_read(lpath, req->meta.n_classes, opt->labeled[0] != 0, labeled));
  snprintf(req->strategy, sizeof req->strategy, "%s", s->name);
  snprintf(req->labeled_path, sizeof req->labeled_path, "%s", labeled->n ? lpath : "");
  req->budget = opt->budget;
  req->candidates = !s->candidates ? -1 : opt->candidates ? opt->candidates : s->candidates(opt->budget);
  req->n_labeled = labeled->n;
  req->chunk_rows = opt->chunk_rows > 0 ? opt->chunk_rows : alq_default_chunk_rows(&req->meta);
  req->seed = opt->seed;
  req->prune = opt->prune;
  req->log_view = opt->log_view;
  req->quiet = opt->quiet;
  return ALQ_OK;
}
