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

static const char *const space_names[] = {"selection", "pool", "features"};

const char *alq_ood_space_name(int space) {
  return space >= ALQ_OOD_SPACE_SELECTION && space <= ALQ_OOD_SPACE_FEATURES ? space_names[space] : space_names[0];
}

alq_err alq_ood_parse_space(const char *text, int *space) {
  for (int k = ALQ_OOD_SPACE_SELECTION; k <= ALQ_OOD_SPACE_FEATURES; k++)
    if (strcmp(text, space_names[k]) == 0) {
      *space = k;
      return ALQ_OK;
    }
  return alq_error_set(ALQ_ERR_USAGE, "--ood-space must be selection, pool or features, got '%s'", text);
}

alq_err alq_ood_check_options(const alq_ood_options *o, unsigned given) {
  const char *name = alq_ood_kind_name(o->kind);
  if (o->kind == ALQ_OOD_NONE && given)
    return alq_error_set(ALQ_ERR_USAGE,
                         "--ood-reject, --ood-temperature, --ood-k and --ood-space apply with --ood KIND");
  if (o->kind != ALQ_OOD_NONE && !(given & ALQ_OOD_GIVEN_REJECT))
    return alq_error_set(ALQ_ERR_USAGE, "--ood %s needs --ood-reject Q (the share of labeled items past the threshold)",
                         name);
  if ((given & ALQ_OOD_GIVEN_TEMPERATURE) && o->kind != ALQ_OOD_ENERGY)
    return alq_error_set(ALQ_ERR_USAGE, "--ood-temperature applies to --ood energy, not to %s", name);
  if ((given & ALQ_OOD_GIVEN_K) && o->kind != ALQ_OOD_KNN)
    return alq_error_set(ALQ_ERR_USAGE, "--ood-k applies to --ood knn, not to %s", name);
  if ((given & ALQ_OOD_GIVEN_SPACE) && o->kind != ALQ_OOD_KNN && o->kind != ALQ_OOD_MAHALANOBIS)
    return alq_error_set(ALQ_ERR_USAGE, "--ood-space applies to --ood knn and mahalanobis (embeddings), not to %s",
                         name);
  if (o->kind != ALQ_OOD_NONE && !(o->reject >= 0 && o->reject < 1))
    return alq_error_set(ALQ_ERR_USAGE, "--ood-reject must be in [0, 1), got %g", o->reject);
  return ALQ_OK;
}
