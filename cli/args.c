/* cli/args.c */
#include "args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/pool.h"

alq_err alq_arg_int(const char *option, const char *text, int64_t min, int64_t max, int64_t *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || !end || end == text || *end != '\0')
    return alq_error_set(ALQ_ERR_USAGE, "%s expects an integer, got '%s'", option, text);
  if (v < min || v > max)
    return alq_error_set(ALQ_ERR_USAGE, "%s must be between %lld and %lld, got %lld", option, (long long)min,
                         (long long)max, v);
  *out = v;
  return ALQ_OK;
}

alq_err alq_arg_uint64(const char *option, const char *text, uint64_t *out) {
  char *end = NULL;
  errno = 0;
  if (text[0] == '-')
    return alq_error_set(ALQ_ERR_USAGE, "%s expects a non-negative integer, got '%s'", option, text);
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || !end || end == text || *end != '\0')
    return alq_error_set(ALQ_ERR_USAGE, "%s expects a non-negative integer, got '%s'", option, text);
  *out = v;
  return ALQ_OK;
}

alq_err alq_arg_double(const char *option, const char *text, double min, double max, double *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || !end || end == text || *end != '\0' || v != v)
    return alq_error_set(ALQ_ERR_USAGE, "%s expects a number, got '%s'", option, text);
  if (v < min || v > max)
    return alq_error_set(ALQ_ERR_USAGE, "%s must be between %g and %g, got %g", option, min, max, v);
  *out = v;
  return ALQ_OK;
}

alq_err alq_arg_path(const char *option, const char *text, char *dst, size_t size) {
  if (strlen(text) >= size)
    return alq_error_set(ALQ_ERR_USAGE, "%s path is longer than %zu bytes", option, size - 1);
  if (text[0] == '\0')
    return alq_error_set(ALQ_ERR_USAGE, "%s needs a non-empty path", option);
  strcpy(dst, text);
  return ALQ_OK;
}

alq_err alq_arg_unknown(const char *command, int optopt_value, const char *arg) {
  if (optopt_value)
    return alq_error_set(ALQ_ERR_USAGE, "alq %s: option -%c is unknown or needs a value (see alq %s --help)", command,
                         optopt_value, command);
  return alq_error_set(ALQ_ERR_USAGE, "alq %s: option '%s' is unknown or needs a value (see alq %s --help)", command,
                       arg ? arg : "?", command);
}

alq_err alq_arg_size(const char *option, const char *text, int64_t *out) {
  char *end = NULL;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || !end || end == text || v < 0)
    return alq_error_set(ALQ_ERR_USAGE, "%s expects a size such as 512M or 2G, got '%s'", option, text);
  double scale = 1;
  switch (*end) {
  case 'k': case 'K': scale = 1024.0; end++; break;
  case 'm': case 'M': scale = 1024.0 * 1024; end++; break;
  case 'g': case 'G': scale = 1024.0 * 1024 * 1024; end++; break;
  case 't': case 'T': scale = 1024.0 * 1024 * 1024 * 1024; end++; break;
  default: break;
  }
  if (*end == 'B' || *end == 'b')
    end++;
  if (*end != '\0' || v * scale > 9.0e18)
    return alq_error_set(ALQ_ERR_USAGE, "%s expects a size such as 512M or 2G, got '%s'", option, text);
  *out = (int64_t)(v * scale);
  return ALQ_OK;
}

alq_err alq_arg_choice(const char *option, const char *text, const char *const *names, int n, int *out) {
  char list[256] = "";
  for (int i = 0; i < n; i++) {
    if (strcmp(text, names[i]) == 0) {
      *out = i;
      return ALQ_OK;
    }
    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? ", " : "", names[i]);
  }
  return alq_error_set(ALQ_ERR_USAGE, "%s must be one of %s, got '%s'", option, list, text);
}

typedef struct {
  const char *option;
  unsigned field; /* 0: --layout */
} layout_option;

static const layout_option layout_options[] = {
    {"--embeddings", ALQ_FIELD_EMBEDDINGS}, {"--probs", ALQ_FIELD_PROBS}, {"--ids", ALQ_FIELD_IDS},
    {"--labels", ALQ_FIELD_LABELS},         {"--layout", 0},
};

/* The layout option argv[i] is (with its value in *value), or NULL. */
static const layout_option *match_layout(int argc, char **argv, int i, const char **value, int *used) {
  for (size_t k = 0; k < sizeof layout_options / sizeof layout_options[0]; k++) {
    const char *name = layout_options[k].option;
    size_t len = strlen(name);
    if (strncmp(argv[i], name, len) != 0)
      continue;
    if (argv[i][len] == '=') {
      *value = argv[i] + len + 1;
      *used = 1;
      return &layout_options[k];
    }
    if (argv[i][len] == '\0') {
      *value = i + 1 < argc ? argv[i + 1] : NULL;
      *used = 2;
      return &layout_options[k];
    }
  }
  return NULL;
}

alq_err alq_arg_layout_take(int *argc, char **argv) {
  alq_layout layout;
  memset(&layout, 0, sizeof layout);
  int out = 1;
  for (int i = 1; i < *argc;) {
    const char *value = NULL;
    int used = 1;
    const layout_option *o = strcmp(argv[i], "--") == 0 ? NULL : match_layout(*argc, argv, i, &value, &used);
    if (!o) {
      argv[out++] = argv[i++];
      continue;
    }
    if (!value)
      return alq_error_set(ALQ_ERR_USAGE, "%s needs a value", o->option);
    ALQ_CHECK(o->field ? alq_layout_set(&layout, o->field, value, o->option) : alq_layout_parse(value, &layout));
    i += used;
  }
  for (int i = out; i < *argc; i++)
    argv[i] = NULL;
  *argc = out;
  alq_layout_use(&layout);
  return ALQ_OK;
}
