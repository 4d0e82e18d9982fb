/* ood/fit.c: the OOD stage fitted on the labeled set, and its calibration. */
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "alq/model.h"
#include "alq/partition.h"
#include "ood_impl.h"

static alq_err check_source(const alq_ood_options *o, const alq_source *src) {
  const char *name = alq_ood_kind_name(o->kind);
  if ((o->kind == ALQ_OOD_MAXPROB || o->kind == ALQ_OOD_ENERGY) && !src->meta.has_probs)
    return alq_error_set(ALQ_ERR_INPUT, "%s: dataset /probs is missing, and --ood %s needs class probabilities "
                         "(or --model)", src->meta.path, name);
  if (o->kind == ALQ_OOD_ENERGY && o->temperature == 1.0)
    return alq_error_set(ALQ_ERR_USAGE, "--ood energy from probabilities at T = 1 is -log sum p = 0 for every item: "
                         "give --ood-temperature T with T != 1 (docs/ood.md)");
  return ALQ_OK;
}

/* The labeled items with a label >= 0: -1 marks an item an annotator found to
 * be of no class, which is excluded from the selection but is no reference. */
static alq_err reference_set(const alq_labeled *labeled, alq_labeled *ref) {
  memset(ref, 0, sizeof *ref);
  int64_t n = labeled->n ? labeled->n : 1;
  ALQ_CHECK(alq_malloc(&ref->ids, sizeof(int64_t) * n, "OOD reference ids"));
  ALQ_CHECK(alq_malloc(&ref->labels, sizeof(int32_t) * n, "OOD reference labels"));
  for (int64_t i = 0; i < labeled->n; i++)
    if (labeled->labels[i] >= 0) {
      ref->ids[ref->n] = labeled->ids[i];
      ref->labels[ref->n++] = labeled->labels[i];
    }
  return ALQ_OK;
}

static alq_err check_reference(const alq_ood_options *o, int64_t n) {
  int64_t need = o->kind == ALQ_OOD_KNN || o->kind == ALQ_OOD_MAHALANOBIS ? 2 : 1;
  if (n < need)
    return alq_error_set(ALQ_ERR_INPUT, "--ood %s calibrates on the labeled set, which has %lld item(s) with a "
                         "label; it needs at least %lld", alq_ood_kind_name(o->kind), (long long)n, (long long)need);
  return ALQ_OK;
}

/* The reference rows' field on every rank: rank 0 fetches (the others take
 * part in a collective source's fetch with no ids), then broadcasts. */
static alq_err fetch_reference(MPI_Comm comm, alq_source *src, const alq_labeled *ref, unsigned field, float **out) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t width = field == ALQ_FIELD_PROBS ? src->meta.n_classes : src->meta.dim;
  float *x = NULL;
  alq_err err = alq_malloc_aligned(&x, sizeof(float) * width * ref->n, "OOD reference rows");
  err = alq_agree(comm, err);
  alq_rows rows = {.embeddings = field == ALQ_FIELD_EMBEDDINGS ? x : NULL, .probs = field == ALQ_FIELD_PROBS ? x : NULL};
  if (!err)
    err = alq_source_fetch(src, ref->ids, rank == 0 ? ref->n : 0, field, &rows);
  if (!err && rank == 0)
    err = alq_rows_validate(&src->meta, &rows, 0, ref->n, field);
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(x, sizeof(float) * width * ref->n, 0, comm);
  if (err) {
    free(x);
    return err;
  }
  *out = x;
  return ALQ_OK;
}

/* Every reference item's score, each rank computing a contiguous share. */
static alq_err calibrate(MPI_Comm comm, alq_ood_model *m, const float *x, unsigned field) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  alq_range r = alq_partition_rows(m->n_ref, 1, size, rank);
  int64_t n = r.hi - r.lo, width = field == ALQ_FIELD_PROBS ? m->n_classes : m->dim;
  alq_ood_work w;
  double *mine = NULL;
  int64_t *exclude = NULL;
  alq_err err = alq_ood_work_init(m, &w);
  if (!err)
    err = alq_malloc(&mine, sizeof(double) * (n ? n : 1), "calibration scores");
  if (!err)
    err = alq_malloc(&exclude, sizeof(int64_t) * (n ? n : 1), "calibration exclusions");
  err = alq_agree(comm, err);
  if (!err) {
    for (int64_t i = 0; i < n; i++)
      exclude[i] = r.lo + i; /* kNN: leave-one-out */
    alq_rows rows = {.probs = (float *)x + r.lo * width, .embeddings = (float *)x + r.lo * width};
    alq_ood_score_rows(m, &w, &rows, n, exclude, mine);
  }
  unsigned char *all = NULL;
  int64_t total = 0;
  if (!err)
    err = alq_allgatherv_bytes(mine, sizeof(double) * n, comm, &all, &total);
  alq_ood_work_free(&w);
  free(mine);
  free(exclude);
  if (err)
    return err;
  m->calibration = (double *)all;
  return ALQ_OK;
}

static int by_value(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static alq_err set_threshold(alq_ood_model *m) {
  double *sorted = NULL;
  ALQ_CHECK(alq_malloc(&sorted, sizeof(double) * m->n_ref, "sorted calibration scores"));
  memcpy(sorted, m->calibration, sizeof(double) * m->n_ref);
  qsort(sorted, m->n_ref, sizeof(double), by_value);
  m->threshold = alq_ood_threshold(sorted, m->n_ref, m->opt.reject);
  free(sorted);
  return ALQ_OK;
}

/* knn: the unit reference rows; mahalanobis: the class Gaussians. */
static alq_err fit_kind(MPI_Comm comm, alq_ood_model *m, float *x, const alq_labeled *ref) {
  if (m->opt.kind == ALQ_OOD_KNN) {
    ALQ_CHECK(alq_agree(comm, alq_malloc_aligned(&m->ref, sizeof(float) * m->n_ref * m->dim, "kNN reference")));
    for (int64_t i = 0; i < m->n_ref; i++)
      alq_ood_normalise(x + i * m->dim, m->dim, m->ref + i * m->dim);
    return ALQ_OK;
  }
  if (m->opt.kind == ALQ_OOD_MAHALANOBIS) {
    alq_mahalanobis *g = NULL;
    ALQ_CHECK(alq_agree(comm, alq_calloc(&g, 1, sizeof *g, "Mahalanobis model")));
    m->mahalanobis = g;
    alq_fit_options fo = {0};
    return alq_mahalanobis_fit(comm, x, ref->labels, ref->n, m->dim, &fo, g);
  }
  return ALQ_OK;
}

/* The source of the space opt->space names (alq_ood_space). */
static alq_err open_space(const alq_ood_options *opt, alq_source *src, alq_ood_model *m) {
  m->source = src;
  if (opt->space == ALQ_OOD_SPACE_FEATURES)
    ALQ_CHECK(alq_source_model_features(src, &m->owned));
  if (m->owned)
    m->source = m->owned;
  else if (opt->space != ALQ_OOD_SPACE_SELECTION)
    m->source = alq_source_stored(src);
  return ALQ_OK;
}

/* alq_ood_fit's steps; on failure the caller frees *out. */
static alq_err fit(MPI_Comm comm, const alq_ood_options *opt, alq_source *src, const alq_labeled *labeled,
                   alq_ood_model *out) {
  out->opt = *opt;
  ALQ_CHECK(alq_agree(comm, open_space(opt, src, out)));
  src = out->source;
  if (out->opt.temperature <= 0)
    out->opt.temperature = 1.0;
  if (out->opt.k <= 0)
    out->opt.k = 50;
  out->dim = src->meta.dim;
  out->n_classes = src->meta.n_classes;
  ALQ_CHECK(check_source(&out->opt, src));
  alq_labeled ref;
  alq_err err = alq_agree(comm, reference_set(labeled, &ref));
  if (!err)
    err = check_reference(&out->opt, ref.n);
  out->n_ref = ref.n;
  out->ref_ids = ref.ids;
  ref.ids = NULL;
  /* kNN over the others in the calibration: at most n - 1 neighbours. */
  if (out->opt.k > out->n_ref - 1)
    out->opt.k = out->n_ref - 1;
  unsigned field = alq_ood_fields(out);
  float *x = NULL;
  if (!err)
    err = fetch_reference(comm, src, &(alq_labeled){out->n_ref, out->ref_ids, ref.labels}, field, &x);
  if (!err)
    err = fit_kind(comm, out, x, &(alq_labeled){out->n_ref, out->ref_ids, ref.labels});
  if (!err)
    err = calibrate(comm, out, x, field);
  if (!err)
    err = alq_agree(comm, set_threshold(out));
  free(x);
  alq_labeled_free(&ref);
  return err;
}

alq_err alq_ood_fit(MPI_Comm comm, const alq_ood_options *opt, alq_source *src, const alq_labeled *labeled,
                    alq_ood_model *out) {
  memset(out, 0, sizeof *out);
  alq_err err = fit(comm, opt, src, labeled, out);
  if (err)
    alq_ood_model_free(out);
  return err;
}

void alq_ood_model_free(alq_ood_model *m) {
  free(m->ref_ids);
  free(m->ref);
  if (m->mahalanobis)
    alq_mahalanobis_free(m->mahalanobis);
  free(m->mahalanobis);
  free(m->calibration);
  alq_source_close(m->owned);
  memset(m, 0, sizeof *m);
}
