/* alq/state.h: the round state of a dataset built over many rounds.
 *
 * A dataset grows round by round: select a batch, send it to annotators, take
 * their labels back, select again.  The state file (HDF5, docs/format.md "State
 * files") remembers across rounds which pool it belongs to, every batch sent out
 * (with the manifest of the selection that chose it) and every answer received,
 * by whom and when.  From those it derives the labeled set (one consensus label
 * per item) and the pending set (sent out, no answer yet); `alq select --state`
 * excludes both.
 *
 * Updates are atomic: the new state is written beside the old one and renamed
 * over it, so a failed command leaves the file byte for byte as it was.  One
 * command at a time may update a given state file.
 */
#ifndef ALQ_STATE_H
#define ALQ_STATE_H
#include <stdint.h>
#include "alq/error.h"
#include "alq/labels.h" /* alq_answer_in, ALQ_ANNOTATOR_MAX */
#include "alq/manifest.h"
#include "alq/pool.h"

/* The annotator recorded for the labeled set a state file starts from. */
#define ALQ_ANNOTATOR_INITIAL "(initial)"

/* One batch sent out for labeling. */
typedef struct {
  int64_t round;       /* 1, 2, ... */
  int64_t n;
  int64_t *ids;        /* in selection order */
  int64_t selected_at; /* Unix seconds, UTC */
  char batch[ALQ_PATH_MAX];
  alq_manifest_bytes manifest;
} alq_state_round;

/* Every answer received, in the order received.  Round 0 is the labeled set the
 * state started from; an item may have several answers (one per annotator). */
typedef struct {
  int64_t n;
  int64_t *ids;
  int32_t *labels;
  int32_t *annotators; /* index into alq_state.annotators */
  int64_t *rounds;     /* the round the item was sent out in */
  int64_t *received_at; /* Unix seconds, UTC */
} alq_answers;

/* The pool grew between rounds: recorded by the selection that first saw it. */
typedef struct {
  int64_t round;              /* the round selected from the grown pool */
  int64_t old_items, new_items;
  uint64_t old_ids_checksum, new_ids_checksum;
  int64_t recorded_at;        /* Unix seconds, UTC */
} alq_state_growth;

typedef struct {
  alq_pool_identity pool;     /* the pool as of the last round (after any growth) */
  int64_t created_at;
  int64_t n_rounds;
  alq_state_round *rounds; /* rounds[i].round == i + 1 */
  alq_answers answers;
  int64_t n_annotators;
  char (*annotators)[ALQ_ANNOTATOR_MAX];
  /* /clusters: centroids a strategy keeps across rounds (Cluster-Margin),
   * n_clusters x cluster_dim floats; n_clusters = 0 when none. */
  int64_t n_clusters, cluster_dim;
  float *clusters;
  /* /growth: every time the pool grew, oldest first. */
  int64_t n_growth;
  alq_state_growth *growth;
} alq_state;

/* 1 when `path` names an existing file. */
int alq_state_exists(const char *path);

/* A new state for `pool`, starting from `initial` (round 0 answers by
 * ALQ_ANNOTATOR_INITIAL); no rounds yet. */
alq_err alq_state_create(const alq_pool_identity *pool, const alq_labeled *initial, alq_state *st);

alq_err alq_state_read(const char *path, alq_state *st);

/* Writes `st` to "<path>.tmp.<pid>" and renames it over `path`. */
alq_err alq_state_write(const char *path, const alq_state *st);

/* Writes `st` to `tmp`, a temporary name the caller renames over `path` itself
 * (alq_paths_commit, together with its other outputs); messages name `path`. */
alq_err alq_state_write_staged(const char *tmp, const char *path, const alq_state *st);

void alq_state_free(alq_state *st);

/* Input error unless `pool` has the shape of the pool the state belongs to:
 * the same dim and classes, and at least as many items (a pool may grow
 * between rounds; one with fewer items lost some, and the message names the
 * first id the state refers to that `meta`'s pool lacks, when there is one).
 * `alq select` checks this before it starts. */
alq_err alq_state_check_shape(const char *path, const alq_state *st, const alq_pool_identity *pool,
                              const alq_pool_meta *meta);

/* Input error unless `pool` (its ids checksum from the streaming pass) is the
 * pool the state belongs to, or that pool grown: the same ids checksum, or
 * more items whose first st->pool.n_items rows carry the ids they had (read
 * once, serially, from `meta`'s pool).  A lost id the state refers to is
 * named, else the message says the old rows' ids changed.  On growth, records
 * it in st->growth (round `round`) and takes `pool` as the state's pool.
 * `alq select` calls it, on rank 0, before it records the round. */
alq_err alq_state_check_pool(const char *path, alq_state *st, const alq_pool_identity *pool,
                             const alq_pool_meta *meta, int64_t round, int64_t now);

/* The labeled set: every item with an answer, labeled with the label most of
 * its answers give (a tie goes to the label answered first).  Sorted by id. */
alq_err alq_state_labeled(const alq_state *st, alq_labeled *out);

/* Items sent out in some round with no answer yet, sorted by id. */
alq_err alq_state_pending(const alq_state *st, int64_t **ids, int64_t *n);

/* What a selection must exclude: labeled and pending items, sorted by id; the
 * pending ones carry label -1. */
alq_err alq_state_exclusions(const alq_state *st, alq_labeled *out);

/* Appends a round holding `batch` (ids copied, manifest bytes copied). */
alq_err alq_state_add_round(alq_state *st, const int64_t *ids, int64_t n, const char *batch_path,
                            const alq_manifest_bytes *manifest, int64_t now);

/* Who already answered given items: for ids[i], counts[i] annotator names
 * (pointing into the state's annotator table, in the order of their first
 * answers).  `alq export --state` lists them so re-label tasks go to others. */
typedef struct {
  int64_t n;
  int64_t *counts;
  const char ***names;
} alq_answered_by;

alq_err alq_state_answered_by(const alq_state *st, const int64_t *ids, int64_t n, alq_answered_by *out);
void alq_answered_by_free(alq_answered_by *a);

/* The round whose batch is exactly ids[0..n) (same ids, same order), or 0. */
int64_t alq_state_round_of_batch(const alq_state *st, const int64_t *ids, int64_t n);

/* What an ingest recorded. */
typedef struct {
  int64_t added;    /* new answers */
  int64_t replaced; /* earlier answers corrected (replace only) */
} alq_ingest_counts;

/* Merges answers into the state, all or nothing: an id never sent out (in no
 * round and not in the initial labeled set), a label outside [0, classes), or
 * two rows giving one item different labels from the same annotator is an
 * input error naming `source` and the line, and leaves `st` unchanged.  An
 * answer contradicting an earlier answer of the same annotator is such an
 * error too, unless `replace`: then it corrects that answer (the new label
 * takes the old answer's place and time).  A repeat of a known answer is
 * skipped (so ingesting a file twice changes nothing). */
alq_err alq_state_ingest(alq_state *st, const char *source, const alq_answer_in *answers, int64_t n,
                         int64_t now, int replace, alq_ingest_counts *counts);

#endif
