/* ood/options.c: the OOD stage's names and option checks. */
#include <string.h>

#include "alq/ood.h"

static const char *const kind_names[] = {NULL, "maxprob", "energy", "knn", "mahalanobis"};

const char *alq_ood_kind_name(int kind) {
  return kind > ALQ_OOD_NONE && kind <= ALQ_OOD_MAHALANOBIS ? kind_names[kind] : NULL;
}

alq_err alq_ood_parse_kind(const char *text, int *kind) {
  for (int k = ALQ_OOD_MAXPROB; k <= ALQ_OOD_MAHALANOBIS; k++)
    if (strcmp(text, kind_names[k]) == 0) {
      *kind = k;
      return ALQ_OK;
    }
  return alq_error_set(ALQ_ERR_USAGE, "--ood must be maxprob, energy, knn or mahalanobis, got '%s'", text);
}

alq_err alq_ood_check_options(const alq_ood_options *o, int given_reject, int given_temperature, int given_k) {
  if (o->kind == ALQ_OOD_NONE && (given_reject || given_temperature || given_k))
    return alq_error_set(ALQ_ERR_USAGE, "--ood-reject, --ood-temperature and --ood-k apply with --ood KIND");
  if (o->kind != ALQ_OOD_NONE && !given_reject)
    return alq_error_set(ALQ_ERR_USAGE, "--ood %s needs --ood-reject Q (the share of labeled items past the threshold)",
                         alq_ood_kind_name(o->kind));
  if (given_temperature && o->kind != ALQ_OOD_ENERGY)
    return alq_error_set(ALQ_ERR_USAGE, "--ood-temperature applies to --ood energy, not to %s",
                         alq_ood_kind_name(o->kind));
  if (given_k && o->kind != ALQ_OOD_KNN)
    return alq_error_set(ALQ_ERR_USAGE, "--ood-k applies to --ood knn, not to %s", alq_ood_kind_name(o->kind));
  if (o->kind != ALQ_OOD_NONE && !(o->reject >= 0 && o->reject < 1))
    return alq_error_set(ALQ_ERR_USAGE, "--ood-reject must be in [0, 1), got %g", o->reject);
  return ALQ_OK;
}
