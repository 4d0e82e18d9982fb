/* coordinator/state.c: the round state file (alq/state.h): reading, writing
 * (beside the old file, then renamed) and the sets derived from it.
 *
 * Layout (docs/format.md, "State files"):
 *   /            attrs format = "alq-state", format_version, alq_version, created_at
 *   /pool        attrs path, items, dim, classes, ids_checksum
 *   /answers/{ids,labels,annotators,rounds,received_at}   every answer, in order received
 *   /annotators  fixed-length strings; /answers/annotators indexes them
 *   /rounds      attr count; /rounds/NNNNNN/{ids,manifest}, attrs round, selected_at, batch
 *   /clusters/centroids  float32 k*d, attrs k, d: kept across rounds (Cluster-Margin); optional
 *   /growth/{round,old_items,new_items,old_ids_checksum,new_ids_checksum,recorded_at}
 *                every time the pool grew between rounds; optional
 *   /labeled/{ids,labels}, /pending/ids   derived on write, for other readers
 *                (alq select --labeled STATE reads /labeled like any labeled file)
 */
#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alq/state.h"
#include "alq/paths.h"
#include "alq/version.h"
#include "alq/h5_records.h"
#include "state_answers.h"

#define FORMAT_NAME "alq-state"
#define FORMAT_VERSION 1

int alq_state_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

void alq_state_free(alq_state *st) {
  for (int64_t r = 0; r < st->n_rounds; r++) {
    free(st->rounds[r].ids);
    alq_manifest_bytes_free(&st->rounds[r].manifest);
  }
  free(st->rounds);
  alq_answers *a = &st->answers;
  free(a->ids);
  free(a->labels);
  free(a->annotators);
  free(a->rounds);
  free(a->received_at);
  free(st->annotators);
  free(st->clusters);
  free(st->growth);
  memset(st, 0, sizeof *st);
}

alq_err alq_answers_reserve(alq_answers *a, int64_t n) {
  size_t m = (size_t)(n ? n : 1);
  void *p;
  if (!(p = realloc(a->ids, m * sizeof *a->ids)))
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for %lld answers", (long long)n);
  a->ids = p;
  if (!(p = realloc(a->labels, m * sizeof *a->labels)))
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for %lld answers", (long long)n);
  a->labels = p;
  if (!(p = realloc(a->annotators, m * sizeof *a->annotators)))
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for %lld answers", (long long)n);
  a->annotators = p;
  if (!(p = realloc(a->rounds, m * sizeof *a->rounds)))
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for %lld answers", (long long)n);
  a->rounds = p;
  if (!(p = realloc(a->received_at, m * sizeof *a->received_at)))
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for %lld answers", (long long)n);
  a->received_at = p;
  return ALQ_OK;
}

alq_err alq_state_create(const alq_pool_identity *pool, const alq_labeled *initial, alq_state *st) {
  memset(st, 0, sizeof *st);
  st->pool = *pool;
  st->created_at = (int64_t)time(NULL);
  alq_err err = alq_calloc(&st->annotators, 1, sizeof *st->annotators, "annotator names");
  if (!err) {
    st->n_annotators = 1;
    snprintf(st->annotators[0], ALQ_ANNOTATOR_MAX, "%s", ALQ_ANNOTATOR_INITIAL);
    err = alq_answers_reserve(&st->answers, initial->n);
  }
  for (int64_t i = 0; !err && i < initial->n; i++) {
    alq_answers *a = &st->answers;
    a->ids[i] = initial->ids[i];
    a->labels[i] = initial->labels[i];
    a->annotators[i] = 0;
    a->rounds[i] = 0;
    a->received_at[i] = st->created_at;
    a->n = i + 1;
  }
  if (err)
    alq_state_free(st);
  return err;
}

/* ---- derived sets ---- */

typedef struct {
  int64_t id;
  int32_t label;
  int64_t order; /* position in the answers: earlier answers win ties */
} answer_key;

static int cmp_answer_key(const void *pa, const void *pb) {
  const answer_key *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  if (a->label != b->label)
    return a->label < b->label ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

alq_err alq_state_labeled(const alq_state *st, alq_labeled *out) {
  memset(out, 0, sizeof *out);
  const alq_answers *a = &st->answers;
  answer_key *keys = NULL;
  ALQ_CHECK(alq_malloc(&keys, sizeof *keys * (a->n ? a->n : 1), "answers"));
  for (int64_t i = 0; i < a->n; i++)
    keys[i] = (answer_key){a->ids[i], a->labels[i], i};
  qsort(keys, (size_t)a->n, sizeof *keys, cmp_answer_key);
  alq_err err = alq_malloc(&out->ids, sizeof *out->ids * (a->n ? a->n : 1), "labeled ids");
  if (!err)
    err = alq_malloc(&out->labels, sizeof *out->labels * (a->n ? a->n : 1), "labeled labels");
  /* Per item (a run of equal ids), per label (a sub-run): the label with the
   * most answers, ties to the label whose first answer came first. */
  for (int64_t i = 0; !err && i < a->n;) {
    int64_t id = keys[i].id, best_count = 0, best_first = 0;
    int32_t best = 0;
    while (i < a->n && keys[i].id == id) {
      int64_t j = i;
      while (j < a->n && keys[j].id == id && keys[j].label == keys[i].label)
        j++;
      int64_t count = j - i, first = keys[i].order;
      if (count > best_count || (count == best_count && first < best_first)) {
        best = keys[i].label;
        best_count = count;
        best_first = first;
      }
      i = j;
    }
    out->ids[out->n] = id;
    out->labels[out->n] = best;
    out->n++;
  }
  free(keys);
  if (err)
    alq_labeled_free(out);
  return err;
}

static int cmp_int64(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return a < b ? -1 : a > b;
}

/* 1 when `id` is in the sorted list. */
static int contains(const int64_t *sorted, int64_t n, int64_t id) {
  return bsearch(&id, sorted, (size_t)n, sizeof *sorted, cmp_int64) != NULL;
}

alq_err alq_state_pending(const alq_state *st, int64_t **ids, int64_t *n) {
  int64_t total = 0;
  for (int64_t r = 0; r < st->n_rounds; r++)
    total += st->rounds[r].n;
  int64_t *answered = NULL, *out = NULL;
  *ids = NULL;
  *n = 0;
  ALQ_CHECK(alq_malloc(&answered, sizeof *answered * (st->answers.n ? st->answers.n : 1), "answered ids"));
  alq_err err = alq_malloc(&out, sizeof *out * (total ? total : 1), "pending ids");
  if (err) {
    free(answered);
    return err;
  }
  memcpy(answered, st->answers.ids, sizeof *answered * st->answers.n);
  qsort(answered, (size_t)st->answers.n, sizeof *answered, cmp_int64);
  int64_t m = 0;
  for (int64_t r = 0; r < st->n_rounds; r++)
    for (int64_t i = 0; i < st->rounds[r].n; i++)
      if (!contains(answered, st->answers.n, st->rounds[r].ids[i]))
        out[m++] = st->rounds[r].ids[i];
  qsort(out, (size_t)m, sizeof *out, cmp_int64);
  free(answered);
  *ids = out;
  *n = m;
  return ALQ_OK;
}

alq_err alq_state_exclusions(const alq_state *st, alq_labeled *out) {
  alq_labeled labeled;
  int64_t *pending = NULL, n_pending = 0;
  ALQ_CHECK(alq_state_labeled(st, &labeled));
  alq_err err = alq_state_pending(st, &pending, &n_pending);
  int64_t n = labeled.n + n_pending;
  memset(out, 0, sizeof *out);
  if (!err)
    err = alq_malloc(&out->ids, sizeof *out->ids * (n ? n : 1), "excluded ids");
  if (!err)
    err = alq_malloc(&out->labels, sizeof *out->labels * (n ? n : 1), "excluded labels");
  /* Merge two sorted, disjoint lists (a pending item has no answer). */
  for (int64_t i = 0, j = 0; !err && out->n < n; out->n++) {
    if (j >= n_pending || (i < labeled.n && labeled.ids[i] < pending[j])) {
      out->ids[out->n] = labeled.ids[i];
      out->labels[out->n] = labeled.labels[i++];
    } else {
      out->ids[out->n] = pending[j++];
      out->labels[out->n] = -1;
    }
  }
  alq_labeled_free(&labeled);
  free(pending);
  if (err)
    alq_labeled_free(out);
  return err;
}

/* ---- who answered what ---- */

static int cmp_answer_by_id(const void *pa, const void *pb) {
  const answer_key *a = pa, *b = pb;
  if (a->id != b->id)
    return a->id < b->id ? -1 : 1;
  return a->order < b->order ? -1 : a->order > b->order;
}

void alq_answered_by_free(alq_answered_by *a) {
  for (int64_t i = 0; a->names && i < a->n; i++)
    free(a->names[i]);
  free(a->names);
  free(a->counts);
  memset(a, 0, sizeof *a);
}

/* The distinct annotators of the run keys[lo, hi) into names (room for hi - lo). */
static int64_t distinct_annotators(const alq_state *st, const answer_key *keys, int64_t lo, int64_t hi,
                                   const char **names) {
  int64_t m = 0;
  for (int64_t j = lo; j < hi; j++) {
    const char *who = st->annotators[st->answers.annotators[keys[j].order]];
    int seen = 0;
    for (int64_t k = 0; k < m && !seen; k++)
      seen = names[k] == who;
    if (!seen)
      names[m++] = who;
  }
  return m;
}

alq_err alq_state_answered_by(const alq_state *st, const int64_t *ids, int64_t n, alq_answered_by *out) {
  memset(out, 0, sizeof *out);
  const alq_answers *a = &st->answers;
  answer_key *keys = NULL;
  ALQ_CHECK(alq_malloc(&keys, sizeof *keys * (a->n ? a->n : 1), "answers"));
  for (int64_t i = 0; i < a->n; i++)
    keys[i] = (answer_key){a->ids[i], a->labels[i], i};
  qsort(keys, (size_t)a->n, sizeof *keys, cmp_answer_by_id);
  alq_err err = alq_calloc(&out->counts, (size_t)(n ? n : 1), sizeof *out->counts, "answer counts");
  if (!err)
    err = alq_calloc(&out->names, (size_t)(n ? n : 1), sizeof *out->names, "annotator lists");
  out->n = err ? 0 : n;
  for (int64_t i = 0; !err && i < n; i++) {
    int64_t lo = 0, hi = a->n;
    while (lo < hi) { /* first key with id >= ids[i] */
      int64_t mid = lo + (hi - lo) / 2;
      if (keys[mid].id < ids[i])
        lo = mid + 1;
      else
        hi = mid;
    }
    for (hi = lo; hi < a->n && keys[hi].id == ids[i];)
      hi++;
    err = alq_malloc(&out->names[i], sizeof **out->names * (size_t)(hi > lo ? hi - lo : 1), "annotator list");
    if (!err)
      out->counts[i] = distinct_annotators(st, keys, lo, hi, out->names[i]);
  }
  free(keys);
  if (err)
    alq_answered_by_free(out);
  return err;
}

int64_t alq_state_round_of_batch(const alq_state *st, const int64_t *ids, int64_t n) {
  for (int64_t r = st->n_rounds - 1; r >= 0; r--)
    if (st->rounds[r].n == n && memcmp(st->rounds[r].ids, ids, sizeof *ids * (size_t)n) == 0)
      return st->rounds[r].round;
  return 0;
}

alq_err alq_state_add_round(alq_state *st, const int64_t *ids, int64_t n, const char *batch_path,
                            const alq_manifest_bytes *manifest, int64_t now) {
  alq_state_round *rounds = realloc(st->rounds, sizeof *rounds * (size_t)(st->n_rounds + 1));
  if (!rounds)
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for round %lld", (long long)st->n_rounds + 1);
  st->rounds = rounds;
  alq_state_round *r = &rounds[st->n_rounds];
  memset(r, 0, sizeof *r);
  ALQ_CHECK(alq_malloc(&r->ids, sizeof *r->ids * (n ? n : 1), "round ids"));
  alq_err err = alq_malloc(&r->manifest.data, (size_t)(manifest->len ? manifest->len : 1), "round manifest");
  if (err) {
    free(r->ids);
    return err;
  }
  memcpy(r->ids, ids, sizeof *ids * n);
  memcpy(r->manifest.data, manifest->data, (size_t)manifest->len);
  r->manifest.len = manifest->len;
  r->n = n;
  r->round = st->n_rounds + 1;
  r->selected_at = now;
  snprintf(r->batch, sizeof r->batch, "%s", batch_path);
  st->n_rounds++;
  return ALQ_OK;
}

/* ---- writing ---- */

static void round_group_name(int64_t round, char *name, size_t size) {
  snprintf(name, size, "/rounds/%06lld", (long long)round);
}

static herr_t write_rounds(hid_t file, const alq_state *st) {
  hid_t g = H5Gcreate2(file, "/rounds", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  herr_t rc = g < 0 ? -1 : alq_h5w_attr_int64(g, "count", st->n_rounds);
  if (g >= 0)
    H5Gclose(g);
  for (int64_t i = 0; rc >= 0 && i < st->n_rounds; i++) {
    const alq_state_round *r = &st->rounds[i];
    char name[64];
    round_group_name(r->round, name, sizeof name);
    hid_t rg = H5Gcreate2(file, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (rg < 0)
      return -1;
    rc = alq_h5w_1d(rg, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, r->n, r->ids);
    rc |= alq_h5w_1d(rg, "manifest", H5T_STD_U8LE, H5T_NATIVE_UINT8, r->manifest.len, r->manifest.data);
    rc |= alq_h5w_attr_int64(rg, "round", r->round);
    rc |= alq_h5w_attr_int64(rg, "selected_at", r->selected_at);
    rc |= alq_h5w_attr_string(rg, "batch", r->batch);
    if (H5Gclose(rg) < 0)
      rc = -1;
  }
  return rc;
}

static herr_t write_answers(hid_t file, const alq_state *st) {
  const alq_answers *a = &st->answers;
  hid_t g = H5Gcreate2(file, "/answers", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0)
    return -1;
  herr_t rc = alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, a->n, a->ids);
  rc |= alq_h5w_1d(g, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, a->n, a->labels);
  rc |= alq_h5w_1d(g, "annotators", H5T_STD_I32LE, H5T_NATIVE_INT32, a->n, a->annotators);
  rc |= alq_h5w_1d(g, "rounds", H5T_STD_I64LE, H5T_NATIVE_INT64, a->n, a->rounds);
  rc |= alq_h5w_1d(g, "received_at", H5T_STD_I64LE, H5T_NATIVE_INT64, a->n, a->received_at);
  if (H5Gclose(g) < 0)
    rc = -1;
  return rc | alq_h5w_strings(file, "/annotators", st->n_annotators, ALQ_ANNOTATOR_MAX, (const char *)st->annotators);
}

static herr_t write_derived(hid_t file, const alq_state *st, alq_err *err) {
  alq_labeled labeled;
  int64_t *pending = NULL, n_pending = 0;
  *err = alq_state_labeled(st, &labeled);
  if (*err)
    return -1;
  *err = alq_state_pending(st, &pending, &n_pending);
  herr_t rc = *err ? -1 : 0;
  hid_t g = rc < 0 ? H5I_INVALID_HID : H5Gcreate2(file, "/labeled", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g >= 0) {
    rc = alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, labeled.n, labeled.ids);
    rc |= alq_h5w_1d(g, "labels", H5T_STD_I32LE, H5T_NATIVE_INT32, labeled.n, labeled.labels);
    H5Gclose(g);
  }
  g = rc < 0 ? H5I_INVALID_HID : H5Gcreate2(file, "/pending", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g >= 0) {
    rc = alq_h5w_1d(g, "ids", H5T_STD_I64LE, H5T_NATIVE_INT64, n_pending, pending);
    H5Gclose(g);
  }
  alq_labeled_free(&labeled);
  free(pending);
  return rc;
}

/* /clusters, when the state keeps any. */
static herr_t write_clusters(hid_t file, const alq_state *st) {
  if (st->n_clusters == 0)
    return 0;
  hid_t g = H5Gcreate2(file, "/clusters", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0)
    return -1;
  herr_t rc = alq_h5w_attr_int64(g, "k", st->n_clusters);
  rc |= alq_h5w_attr_int64(g, "d", st->cluster_dim);
  rc |= alq_h5w_1d(g, "centroids", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, st->n_clusters * st->cluster_dim,
                  st->clusters);
  H5Gclose(g);
  return rc;
}

/* /growth, when the pool ever grew: one row per growth. */
static herr_t write_growth(hid_t file, const alq_state *st) {
  if (st->n_growth == 0)
    return 0;
  int64_t n = st->n_growth, *cols[4] = {NULL, NULL, NULL, NULL};
  uint64_t *sums[2] = {NULL, NULL};
  herr_t rc = 0;
  for (int c = 0; c < 4; c++)
    if (!(cols[c] = malloc(sizeof(int64_t) * (size_t)n)))
      rc = -1;
  for (int c = 0; c < 2; c++)
    if (!(sums[c] = malloc(sizeof(uint64_t) * (size_t)n)))
      rc = -1;
  for (int64_t i = 0; rc >= 0 && i < n; i++) {
    const alq_state_growth *g = &st->growth[i];
    cols[0][i] = g->round;
    cols[1][i] = g->old_items;
    cols[2][i] = g->new_items;
    cols[3][i] = g->recorded_at;
    sums[0][i] = g->old_ids_checksum;
    sums[1][i] = g->new_ids_checksum;
  }
  hid_t g = rc < 0 ? H5I_INVALID_HID : H5Gcreate2(file, "/growth", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0)
    rc = -1;
  else {
    static const char *const names[4] = {"round", "old_items", "new_items", "recorded_at"};
    for (int c = 0; c < 4; c++)
      rc |= alq_h5w_1d(g, names[c], H5T_STD_I64LE, H5T_NATIVE_INT64, n, cols[c]);
    rc |= alq_h5w_1d(g, "old_ids_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, n, sums[0]);
    rc |= alq_h5w_1d(g, "new_ids_checksum", H5T_STD_U64LE, H5T_NATIVE_UINT64, n, sums[1]);
    H5Gclose(g);
  }
  for (int c = 0; c < 4; c++)
    free(cols[c]);
  free(sums[0]);
  free(sums[1]);
  return rc;
}

static alq_err write_file(const char *tmp, const char *path, const alq_state *st) {
  hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s: %s", path, strerror(errno));
  alq_err derived_err = ALQ_OK;
  herr_t rc = alq_h5w_attr_string(file, "format", FORMAT_NAME);
  rc |= alq_h5w_attr_int64(file, "format_version", FORMAT_VERSION);
  rc |= alq_h5w_attr_string(file, "alq_version", ALQ_VERSION);
  rc |= alq_h5w_attr_int64(file, "created_at", st->created_at);
  hid_t g = H5Gcreate2(file, "/pool", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
  if (g < 0)
    rc = -1;
  else {
    rc |= alq_h5w_attr_string(g, "path", st->pool.path);
    rc |= alq_h5w_attr_int64(g, "items", st->pool.n_items);
    rc |= alq_h5w_attr_int64(g, "dim", st->pool.dim);
    rc |= alq_h5w_attr_int64(g, "classes", st->pool.n_classes);
    rc |= alq_h5w_attr_uint64(g, "ids_checksum", st->pool.ids_checksum);
    rc |= alq_h5w_attr_string(g, "layout", st->pool.layout);
    H5Gclose(g);
  }
  if (rc >= 0)
    rc = write_answers(file, st);
  if (rc >= 0)
    rc = write_rounds(file, st);
  if (rc >= 0)
    rc = write_clusters(file, st);
  if (rc >= 0)
    rc = write_growth(file, st);
  if (rc >= 0)
    rc = write_derived(file, st, &derived_err);
  if (H5Fclose(file) < 0)
    rc = -1;
  if (derived_err)
    return derived_err;
  if (rc < 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s (disk full or not writable?)", path);
  return ALQ_OK;
}

alq_err alq_state_write_staged(const char *tmp, const char *path, const alq_state *st) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  alq_err err = write_file(tmp, path, st);
  if (err)
    unlink(tmp);
  return err;
}

alq_err alq_state_write(const char *path, const alq_state *st) {
  char tmp[ALQ_PATH_MAX + 32];
  ALQ_CHECK(alq_paths_temp(path, tmp, sizeof tmp));
  ALQ_CHECK(alq_state_write_staged(tmp, path, st));
  /* fsync'd and renamed (alq/paths.h): a crash leaves the old state or the new. */
  const char *tmps[] = {tmp}, *finals[] = {path};
  return alq_paths_commit(tmps, finals, 1);
}

/* ---- reading ---- */

static alq_err read_rounds(hid_t file, const char *path, alq_state *st) {
  hid_t g = H5Gopen2(file, "/rounds", H5P_DEFAULT);
  if (g < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: group /rounds is missing", path);
  int64_t count = 0;
  alq_err err = alq_h5r_attr_int64(g, path, "count", &count);
  H5Gclose(g);
  if (!err && count < 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: /rounds count is %lld", path, (long long)count);
  if (!err)
    err = alq_calloc(&st->rounds, (size_t)(count ? count : 1), sizeof *st->rounds, "rounds");
  for (int64_t i = 0; !err && i < count; i++) {
    alq_state_round *r = &st->rounds[i];
    char name[64];
    round_group_name(i + 1, name, sizeof name);
    hid_t rg = H5Gopen2(file, name, H5P_DEFAULT);
    if (rg < 0) {
      err = alq_error_set(ALQ_ERR_INPUT, "%s: group %s is missing", path, name);
      break;
    }
    st->n_rounds = i + 1; /* from here on, alq_state_free releases this round */
    err = alq_h5r_1d(rg, path, "ids", H5T_NATIVE_INT64, sizeof(int64_t), &r->ids, &r->n);
    if (!err)
      err = alq_h5r_1d(rg, path, "manifest", H5T_NATIVE_UINT8, 1, &r->manifest.data, &r->manifest.len);
    if (!err)
      err = alq_h5r_attr_int64(rg, path, "round", &r->round);
    if (!err)
      err = alq_h5r_attr_int64(rg, path, "selected_at", &r->selected_at);
    if (!err)
      err = alq_h5r_attr_string(rg, path, "batch", r->batch, sizeof r->batch);
    H5Gclose(rg);
  }
  return err;
}

/* Reads /answers/<name> and checks it has `n` rows. */
static alq_err read_answer_column(hid_t file, const char *path, const char *name, hid_t type, size_t size,
                                  void *pdata, int64_t n) {
  int64_t rows = 0;
  ALQ_CHECK(alq_h5r_1d(file, path, name, type, size, pdata, &rows));
  if (rows != n)
    return alq_error_set(ALQ_ERR_INPUT, "%s: %s has %lld rows, /answers/ids has %lld", path, name, (long long)rows,
                         (long long)n);
  return ALQ_OK;
}

static alq_err read_answers(hid_t file, const char *path, alq_state *st) {
  alq_answers *a = &st->answers;
  ALQ_CHECK(alq_h5r_1d(file, path, "/answers/ids", H5T_NATIVE_INT64, sizeof(int64_t), &a->ids, &a->n));
  ALQ_CHECK(read_answer_column(file, path, "/answers/labels", H5T_NATIVE_INT32, sizeof(int32_t), &a->labels, a->n));
  ALQ_CHECK(read_answer_column(file, path, "/answers/annotators", H5T_NATIVE_INT32, sizeof(int32_t), &a->annotators,
                               a->n));
  ALQ_CHECK(read_answer_column(file, path, "/answers/rounds", H5T_NATIVE_INT64, sizeof(int64_t), &a->rounds, a->n));
  ALQ_CHECK(read_answer_column(file, path, "/answers/received_at", H5T_NATIVE_INT64, sizeof(int64_t),
                               &a->received_at, a->n));
  ALQ_CHECK(alq_h5r_strings(file, path, "/annotators", ALQ_ANNOTATOR_MAX, &st->annotators, &st->n_annotators));
  for (int64_t i = 0; i < a->n; i++)
    if (a->annotators[i] < 0 || a->annotators[i] >= st->n_annotators)
      return alq_error_set(ALQ_ERR_INPUT, "%s: /answers/annotators row %lld is %d, not an index of /annotators", path,
                           (long long)i, a->annotators[i]);
  return ALQ_OK;
}

static alq_err read_clusters(hid_t file, const char *path, alq_state *st) {
  if (H5Lexists(file, "/clusters", H5P_DEFAULT) <= 0)
    return ALQ_OK;
  hid_t g = H5Gopen2(file, "/clusters", H5P_DEFAULT);
  if (g < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open group /clusters", path);
  int64_t n = 0;
  alq_err err = alq_h5r_attr_int64(g, path, "k", &st->n_clusters);
  if (!err)
    err = alq_h5r_attr_int64(g, path, "d", &st->cluster_dim);
  if (!err)
    err = alq_h5r_1d(g, path, "centroids", H5T_NATIVE_FLOAT, sizeof(float), &st->clusters, &n);
  H5Gclose(g);
  ALQ_CHECK(err);
  if (st->n_clusters < 0 || st->cluster_dim < 0 || n != st->n_clusters * st->cluster_dim)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /clusters/centroids has %lld values, not k x d = %lld x %lld", path,
                         (long long)n, (long long)st->n_clusters, (long long)st->cluster_dim);
  return ALQ_OK;
}

/* Reads /growth/<name> (int64 or uint64 by `type`) and checks it has `n` rows. */
static alq_err read_growth_column(hid_t g, const char *path, const char *name, hid_t type, void *pdata,
                                  int64_t *n) {
  int64_t rows = 0;
  ALQ_CHECK(alq_h5r_1d(g, path, name, type, 8, pdata, &rows));
  if (*n >= 0 && rows != *n)
    return alq_error_set(ALQ_ERR_INPUT, "%s: /growth/%s has %lld rows, /growth/round has %lld", path, name,
                         (long long)rows, (long long)*n);
  *n = rows;
  return ALQ_OK;
}

static alq_err read_growth(hid_t file, const char *path, alq_state *st) {
  if (H5Lexists(file, "/growth", H5P_DEFAULT) <= 0)
    return ALQ_OK;
  hid_t g = H5Gopen2(file, "/growth", H5P_DEFAULT);
  if (g < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open group /growth", path);
  static const char *const names[6] = {"round", "old_items", "new_items", "recorded_at", "old_ids_checksum",
                                       "new_ids_checksum"};
  void *cols[6] = {NULL};
  int64_t n = -1;
  alq_err err = ALQ_OK;
  for (int c = 0; !err && c < 6; c++)
    err = read_growth_column(g, path, names[c], c < 4 ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64, &cols[c], &n);
  H5Gclose(g);
  if (!err)
    err = alq_calloc(&st->growth, (size_t)(n > 0 ? n : 1), sizeof *st->growth, "pool growth");
  for (int64_t i = 0; !err && i < n; i++) {
    alq_state_growth *x = &st->growth[i];
    x->round = ((int64_t *)cols[0])[i];
    x->old_items = ((int64_t *)cols[1])[i];
    x->new_items = ((int64_t *)cols[2])[i];
    x->recorded_at = ((int64_t *)cols[3])[i];
    x->old_ids_checksum = ((uint64_t *)cols[4])[i];
    x->new_ids_checksum = ((uint64_t *)cols[5])[i];
    st->n_growth = i + 1;
  }
  for (int c = 0; c < 6; c++)
    free(cols[c]);
  return err;
}

static alq_err read_open(hid_t file, const char *path, alq_state *st) {
  char format[32] = "";
  int64_t version = 0;
  if (alq_h5r_attr_string(file, path, "format", format, sizeof format) || strcmp(format, FORMAT_NAME) != 0) {
    alq_error_clear();
    return alq_error_set(ALQ_ERR_INPUT, "%s is not an alq state file (no format attribute \"%s\")", path,
                         FORMAT_NAME);
  }
  ALQ_CHECK(alq_h5r_attr_int64(file, path, "format_version", &version));
  if (version != FORMAT_VERSION)
    return alq_error_set(ALQ_ERR_INPUT, "%s: state format version %lld, this alq reads version %d", path,
                         (long long)version, FORMAT_VERSION);
  ALQ_CHECK(alq_h5r_attr_int64(file, path, "created_at", &st->created_at));
  hid_t g = H5Gopen2(file, "/pool", H5P_DEFAULT);
  if (g < 0)
    return alq_error_set(ALQ_ERR_INPUT, "%s: group /pool is missing", path);
  alq_pool_identity *p = &st->pool;
  alq_err err = alq_h5r_attr_string(g, path, "path", p->path, sizeof p->path);
  if (!err)
    err = alq_h5r_attr_int64(g, path, "items", &p->n_items);
  if (!err)
    err = alq_h5r_attr_int64(g, path, "dim", &p->dim);
  if (!err)
    err = alq_h5r_attr_int64(g, path, "classes", &p->n_classes);
  if (!err)
    err = alq_h5r_attr_uint64(g, path, "ids_checksum", &p->ids_checksum);
  if (!err && H5Aexists(g, "layout") > 0) /* states before the layout was recorded have none */
    err = alq_h5r_attr_string(g, path, "layout", p->layout, sizeof p->layout);
  H5Gclose(g);
  ALQ_CHECK(err);
  ALQ_CHECK(read_answers(file, path, st));
  ALQ_CHECK(read_clusters(file, path, st));
  ALQ_CHECK(read_growth(file, path, st));
  return read_rounds(file, path, st);
}

alq_err alq_state_read(const char *path, alq_state *st) {
  memset(st, 0, sizeof *st);
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open state file %s: %s", path,
                         access(path, R_OK) == 0 ? "not an HDF5 file" : strerror(errno));
  alq_err err = read_open(file, path, st);
  H5Fclose(file);
  if (err)
    alq_state_free(st);
  return err;
}
