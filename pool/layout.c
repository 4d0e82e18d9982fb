/* pool/layout.c: the dataset names of a pool in the user's layout. */
#include <stdio.h>
#include <string.h>

#include "alq/pool.h"

typedef struct {
  const char *key;      /* in a --layout spec */
  const char *standard; /* the name docs/format.md gives */
  unsigned field;
} layout_entry;

static const layout_entry entries[] = {
    {"embeddings", "/embeddings", ALQ_FIELD_EMBEDDINGS},
    {"probs", "/probs", ALQ_FIELD_PROBS},
    {"ids", "/ids", ALQ_FIELD_IDS},
    {"labels", "/labels", ALQ_FIELD_LABELS},
};
enum { N_ENTRIES = sizeof entries / sizeof entries[0] };

static char *slot(alq_layout *l, unsigned field) {
  switch (field) {
  case ALQ_FIELD_EMBEDDINGS: return l->embeddings;
  case ALQ_FIELD_PROBS: return l->probs;
  case ALQ_FIELD_IDS: return l->ids;
  case ALQ_FIELD_LABELS: return l->labels;
  default: return NULL;
  }
}

static const layout_entry *entry_of(unsigned field) {
  for (int i = 0; i < N_ENTRIES; i++)
    if (entries[i].field == field)
      return &entries[i];
  return NULL;
}

const char *alq_layout_name(const alq_layout *layout, unsigned field) {
  const layout_entry *e = entry_of(field);
  if (!e)
    return "?";
  const char *name = layout ? slot((alq_layout *)layout, field) : NULL;
  return name && name[0] ? name : e->standard;
}

alq_err alq_layout_set(alq_layout *layout, unsigned field, const char *name, const char *option) {
  char *dst = slot(layout, field);
  if (!dst)
    return alq_error_set(ALQ_ERR_INTERNAL, "alq_layout_set: field %u has no dataset name", field);
  if (name[0] != '/')
    return alq_error_set(ALQ_ERR_USAGE, "%s expects an HDF5 dataset path starting with '/', got '%s'", option, name);
  if (strlen(name) >= ALQ_DATASET_MAX)
    return alq_error_set(ALQ_ERR_USAGE, "%s: dataset path is longer than %d bytes", option, ALQ_DATASET_MAX - 1);
  /* The standard name is stored as "" so that layouts compare and format alike. */
  snprintf(dst, ALQ_DATASET_MAX, "%s", strcmp(name, entry_of(field)->standard) == 0 ? "" : name);
  return ALQ_OK;
}

alq_err alq_layout_parse(const char *spec, alq_layout *layout) {
  const char *p = spec;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    const char *eq = memchr(p, '=', len);
    if (!eq)
      return alq_error_set(ALQ_ERR_USAGE, "--layout expects key=/dataset pairs separated by commas, got '%.*s'",
                           (int)len, p);
    const layout_entry *e = NULL;
    for (int i = 0; i < N_ENTRIES; i++)
      if (strlen(entries[i].key) == (size_t)(eq - p) && strncmp(entries[i].key, p, (size_t)(eq - p)) == 0)
        e = &entries[i];
    if (!e)
      return alq_error_set(ALQ_ERR_USAGE, "--layout: unknown key '%.*s' (keys: embeddings, probs, ids, labels)",
                           (int)(eq - p), p);
    char name[ALQ_DATASET_MAX + 1];
    size_t name_len = len - (size_t)(eq + 1 - p);
    if (name_len >= sizeof name)
      return alq_error_set(ALQ_ERR_USAGE, "--layout %s: dataset path is longer than %d bytes", e->key,
                           ALQ_DATASET_MAX - 1);
    memcpy(name, eq + 1, name_len);
    name[name_len] = '\0';
    char option[32];
    snprintf(option, sizeof option, "--layout %s", e->key);
    ALQ_CHECK(alq_layout_set(layout, e->field, name, option));
    p += len + (comma ? 1 : 0);
  }
  return ALQ_OK;
}

void alq_layout_format(const alq_layout *layout, char *out, size_t size) {
  size_t used = 0;
  out[0] = '\0';
  for (int i = 0; i < N_ENTRIES; i++) {
    const char *name = slot((alq_layout *)layout, entries[i].field);
    if (!name[0] || used >= size)
      continue;
    int n = snprintf(out + used, size - used, "%s%s=%s", used ? "," : "", entries[i].key, name);
    used += n > 0 ? (size_t)n : 0;
  }
}

/* The process's layout: set once by the command line before any pool is
 * opened (commands pass pools around as paths, and every reader of a path
 * must see the same names). */
static alq_layout in_use;
static int given;

void alq_layout_use(const alq_layout *layout) {
  in_use = *layout;
  char spec[4 * (ALQ_DATASET_MAX + 16)];
  alq_layout_format(layout, spec, sizeof spec);
  given = spec[0] != '\0';
}

const alq_layout *alq_layout_in_use(void) { return &in_use; }

int alq_layout_given(void) { return given; }
