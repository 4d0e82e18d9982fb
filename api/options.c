/* api/options.c: options as one "key=value;..." string, and alq select's.  The
 * names, ranges and messages are alq select's (cli/cmd_select.c), so a
 * binding's error reads like the command's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_impl.h"

alq_err alq_api_option_int(const char *key, const char *text, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || end == text || *end != '\0')
    return alq_error_set(ALQ_ERR_USAGE, "--%s expects an integer, got '%s'", key, text);
  if (v < min || v > max)
    return alq_error_set(ALQ_ERR_USAGE, "--%s must be between %lld and %lld, got %lld", key, (long long)min,
                         (long long)max, v);
  *out = v;
  return ALQ_OK;
}

alq_err alq_api_option_seed(const char *text, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  unsigned long long v = text[0] == '-' ? 0 : strtoull(text, &end, 10);
  if (text[0] == '-' || errno || end == text || *end != '\0')
    return alq_error_set(ALQ_ERR_USAGE, "--seed expects a non-negative integer, got '%s'", text);
  *out = v;
  return ALQ_OK;
}

alq_err alq_api_option_double(const char *key, const char *text, double min, double max, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text || *end != '\0' || v != v)
    return alq_error_set(ALQ_ERR_USAGE, "--%s expects a number, got '%s'", key, text);
  if (v < min || v > max)
    return alq_error_set(ALQ_ERR_USAGE, "--%s must be between %g and %g, got %g", key, min, max, v);
  *out = v;
  return ALQ_OK;
}

/* A size such as 512M or 2G (binary units, an optional B). */
static alq_err parse_size(const char *key, const char *text, int64_t *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end), scale = 1;
  if (errno || end == text || v < 0)
    return alq_error_set(ALQ_ERR_USAGE, "--%s expects a size such as 512M or 2G, got '%s'", key, text);
  const char *units = "KMGT", *u = *end ? strchr(units, *end & ~0x20) : NULL;
  if (u) {
    for (const char *p = units; p <= u; p++)
      scale *= 1024;
    end++;
  }
  if (*end == 'B' || *end == 'b')
    end++;
  if (*end != '\0' || v * scale > 9.2e18)
    return alq_error_set(ALQ_ERR_USAGE, "--%s expects a size such as 512M or 2G, got '%s'", key, text);
  *out = (int64_t)(v * scale);
  return ALQ_OK;
}

alq_err alq_api_option_choice(const char *key, const char *text, const char *const *names, int n, int *out) {
  char list[256] = "";
  for (int i = 0; i < n; i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = i;
      return ALQ_OK;
    }
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
  }
  return alq_error_set(ALQ_ERR_USAGE, "--%s must be one of %s, got '%s'", key, list, text);
}

/* A flag: "key" alone, or key=1 / key=0. */
alq_err alq_api_option_flag(const char *key, const char *text, int *out) {
  if (!text || strcmp(text, "1") == 0) {
    *out = 1;
    return ALQ_OK;
  }
  if (strcmp(text, "0") == 0) {
    *out = 0;
    return ALQ_OK;
  }
  return alq_error_set(ALQ_ERR_USAGE, "--%s is a flag: give it alone or as %s=1 or %s=0, got '%s'", key, key, key,
                       text);
}

alq_err alq_api_ood_option(const char *key, const char *value, alq_ood_options *o, unsigned *given, int *taken) {
  static const struct {
    const char *key;
    unsigned given;
  } keys[] = {{"ood", 0},
              {"ood-reject", ALQ_OOD_GIVEN_REJECT},
              {"ood-temperature", ALQ_OOD_GIVEN_TEMPERATURE},
              {"ood-k", ALQ_OOD_GIVEN_K},
              {"ood-space", ALQ_OOD_GIVEN_SPACE}};
  int which = -1;
  for (int i = 0; i < (int)(sizeof keys / sizeof keys[0]); i++)
    if (strcmp(key, keys[i].key) == 0)
      which = i;
  *taken = which >= 0;
  if (which < 0)
    return ALQ_OK;
  if (!value)
    return alq_error_set(ALQ_ERR_USAGE, "option '%s' needs a value (%s=...)", key, key);
  *given |= keys[which].given;
  switch (which) {
  case 0: return alq_ood_parse_kind(value, &o->kind);
  case 1: return alq_api_option_double(key, value, 0, 1, &o->reject);
  case 2: return alq_api_option_double(key, value, 1e-6, 1e6, &o->temperature);
  case 3: return alq_api_option_int(key, value, 1, INT32_MAX, &o->k);
  default: return alq_ood_parse_space(value, &o->space);
  }
}

/* alq select's options that name files: the arrays replace them. */
static int names_file(const char *key) {
  static const char *const files[] = {"pool", "labeled", "state", "out", "csv", "model", "mc-samples",
                                      "project", "projection", "fit-sample"};
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
    if (strcmp(key, files[i]) == 0)
      return 1;
  return 0;
}

static alq_err set_option(const char *key, const char *value, alq_select_options *o, int *have,
                          unsigned *ood_given) {
  static const char *const subpools[] = {"all", "anchoral"};
  static const char *const anchor_kinds[] = {"kmeanspp", "random"};
  static const char *const diversities[] = {"none", "exact", "hier"};
  int choice = 0, no_prune = 0, taken = 0;
  ALQ_CHECK(alq_api_ood_option(key, value, &o->ood, ood_given, &taken));
  if (taken)
    return ALQ_OK;
  if (strcmp(key, "no-prune") == 0) {
    ALQ_CHECK(alq_api_option_flag(key, value, &no_prune));
    o->prune = !no_prune;
    return ALQ_OK;
  }
  if (strcmp(key, "log-view") == 0)
    return alq_api_option_flag(key, value, &o->log_view);
  if (strcmp(key, "quiet") == 0)
    return alq_api_option_flag(key, value, &o->quiet);
  if (names_file(key))
    return alq_error_set(ALQ_ERR_USAGE, "option '%s' reads or writes a file: the C API selects from arrays in "
                         "memory and returns the batch (use alq select for files)", key);
  if (!value)
    return alq_error_set(ALQ_ERR_USAGE, "option '%s' needs a value (%s=...)", key, key);
  if (strcmp(key, "budget") == 0) {
    ALQ_CHECK(alq_api_option_int(key, value, INT64_MIN, INT32_MAX, &o->budget));
    if (o->budget < 1)
      return alq_error_set(ALQ_ERR_USAGE, "--budget must be a positive integer, got %s", value);
    have[0] = 1;
    return ALQ_OK;
  }
  if (strcmp(key, "strategy") == 0) {
    if (strlen(value) >= sizeof o->strategy)
      return alq_error_set(ALQ_ERR_USAGE, "unknown strategy '%s' (alq strategies lists them)", value);
    strcpy(o->strategy, value);
    have[1] = 1;
    return ALQ_OK;
  }
  if (strcmp(key, "seed") == 0)
    return alq_api_option_seed(value, &o->seed);
  if (strcmp(key, "candidates") == 0)
    return alq_api_option_int(key, value, 1, INT32_MAX, &o->candidates);
  if (strcmp(key, "chunk-rows") == 0)
    return alq_api_option_int(key, value, 1, INT32_MAX, &o->chunk_rows);
  if (strcmp(key, "memory-per-rank") == 0)
    return parse_size(key, value, &o->memory_per_rank);
  if (strcmp(key, "subpool") == 0)
    return alq_api_option_choice(key, value, subpools, 2, &o->subpool);
  if (strcmp(key, "anchors-per-class") == 0)
    return alq_api_option_int(key, value, 1, 1000000, &o->anchors_per_class);
  if (strcmp(key, "neighbors") == 0)
    return alq_api_option_int(key, value, 1, 100000000, &o->neighbors);
  if (strcmp(key, "subpool-size") == 0)
    return alq_api_option_int(key, value, 1, INT32_MAX, &o->subpool_size);
  if (strcmp(key, "anchor-strategy") == 0)
    return alq_api_option_choice(key, value, anchor_kinds, 2, &o->anchor_random);
  if (strcmp(key, "diversity") == 0) {
    ALQ_CHECK(alq_api_option_choice(key, value, diversities, 3, &choice));
    o->diversity = ALQ_DIVERSITY_NONE + choice;
    return ALQ_OK;
  }
  if (strcmp(key, "fan-in") == 0)
    return alq_api_option_int(key, value, 2, 1000000, &o->fan_in);
  if (strcmp(key, "delta") == 0)
    return alq_api_option_double(key, value, 1e-30, 1e30, &o->delta);
  return alq_error_set(ALQ_ERR_USAGE, "option '%s' is unknown (alq select --help lists the options)", key);
}

alq_err alq_api_options_each(const char *text, alq_api_option_fn fn, void *ctx) {
  char item[ALQ_PATH_MAX + 64];
  for (const char *p = text ? text : ""; *p;) {
    size_t len = strcspn(p, ";");
    if (len >= sizeof item)
      return alq_error_set(ALQ_ERR_USAGE, "option '%.40s...' is longer than %zu bytes", p, sizeof item - 1);
    memcpy(item, p, len);
    item[len] = '\0';
    p += len + (p[len] == ';');
    if (!item[0])
      continue;
    char *eq = strchr(item, '=');
    if (eq)
      *eq = '\0';
    ALQ_CHECK(fn(ctx, item, eq ? eq + 1 : NULL));
  }
  return ALQ_OK;
}

typedef struct {
  alq_select_options *opt;
  int have[2]; /* budget, strategy */
  unsigned ood_given;
} select_parse;

static alq_err select_option(void *ctx, const char *key, const char *value) {
  select_parse *sp = ctx;
  return set_option(key, value, sp->opt, sp->have, &sp->ood_given);
}

alq_err alq_api_parse_options(const char *text, alq_select_options *opt) {
  memset(opt, 0, sizeof *opt);
  opt->prune = 1;
  select_parse sp = {opt, {0, 0}, 0};
  ALQ_CHECK(alq_api_options_each(text, select_option, &sp));
  ALQ_CHECK(alq_ood_check_options(&opt->ood, sp.ood_given));
  if (!sp.have[0])
    return alq_error_set(ALQ_ERR_USAGE, "the selection needs budget=B");
  if (!sp.have[1])
    return alq_error_set(ALQ_ERR_USAGE, "the selection needs strategy=NAME");
  return ALQ_OK;
}
