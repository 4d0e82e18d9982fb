/* labels/answers_label_studio.c: answers from a Label Studio JSON export
 * (labels_internal.h; the format: docs/labels.md "Label Studio").
 *
 * The export is an array of tasks; each task carries the data it was imported
 * with (alq export --format label-studio puts the alq id in meta.alq_id and
 * data.alq_id) and an array of annotations, one per annotator, each with a
 * result list.  A classification answer is a result of type "choices" whose
 * value.choices holds the chosen class name. */
#include <stdio.h>
#include <string.h>

#include "alq/json.h"
#include "labels_internal.h"

/* The alq id of a task: meta.alq_id, else data.alq_id (a number or a string). */
static alq_err task_id(const char *name, const alq_json *task, int64_t *id) {
  const alq_json *v = alq_json_get(alq_json_get(task, "meta"), "alq_id");
  if (!v)
    v = alq_json_get(alq_json_get(task, "data"), "alq_id");
  const alq_json *ls_id = alq_json_get(task, "id");
  char ls[64] = "";
  if (ls_id && ls_id->kind == ALQ_JSON_NUMBER)
    snprintf(ls, sizeof ls, " (Label Studio task %.40s)", ls_id->text);
  if (!v)
    return alq_error_set(ALQ_ERR_INPUT,
                         "%s line %lld: task%s has no alq_id in meta or data: was it imported from alq export "
                         "--format label-studio?",
                         name, (long long)task->line, ls);
  if (alq_json_integer(v, INT64_MIN, INT64_MAX, id))
    return ALQ_OK;
  if (v->kind == ALQ_JSON_STRING && alq_class_of_text(NULL, v->text, id))
    return ALQ_OK;
  return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: task%s has alq_id %s, not an integer", name, (long long)v->line,
                       ls, v->kind == ALQ_JSON_NUMBER || v->kind == ALQ_JSON_STRING ? v->text : alq_json_kind_name(v->kind));
}

/* The annotator: completed_by as a user id (a number, "ls-user-N"), a user
 * object (its email, else its id) or a string. */
static void annotator_of(const alq_json *annotation, const char *fallback, char *out, size_t size) {
  const alq_json *by = alq_json_get(annotation, "completed_by");
  const alq_json *email = alq_json_get(by, "email"), *uid = alq_json_get(by, "id");
  if (by && by->kind == ALQ_JSON_NUMBER)
    snprintf(out, size, "ls-user-%s", by->text);
  else if (by && by->kind == ALQ_JSON_STRING && by->text[0])
    snprintf(out, size, "%s", by->text);
  else if (email && email->kind == ALQ_JSON_STRING && email->text[0])
    snprintf(out, size, "%s", email->text);
  else if (uid && uid->kind == ALQ_JSON_NUMBER)
    snprintf(out, size, "ls-user-%s", uid->text);
  else
    snprintf(out, size, "%s", fallback);
}

static int is_choices(const alq_json *r, const char *choices_name) {
  const alq_json *type = alq_json_get(r, "type"), *from = alq_json_get(r, "from_name");
  if (!type || type->kind != ALQ_JSON_STRING || strcmp(type->text, "choices") != 0)
    return 0;
  return !choices_name || (from && from->kind == ALQ_JSON_STRING && strcmp(from->text, choices_name) == 0);
}

/* The one choices result of an annotation (*found NULL: none). */
static alq_err choices_result(const char *name, const alq_json *annotation, const char *choices_name,
                              const alq_json **found) {
  const alq_json *result = alq_json_get(annotation, "result");
  *found = NULL;
  if (!result || result->kind == ALQ_JSON_NULL)
    return ALQ_OK;
  if (result->kind != ALQ_JSON_ARRAY)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: an annotation's result is %s, expected an array", name,
                         (long long)result->line, alq_json_kind_name(result->kind));
  for (int64_t i = 0; i < result->n; i++) {
    const alq_json *r = &result->items[i];
    if (!is_choices(r, choices_name))
      continue;
    if (*found) {
      const alq_json *a = alq_json_get(*found, "from_name"), *b = alq_json_get(r, "from_name");
      return alq_error_set(ALQ_ERR_INPUT,
                           "%s line %lld: the annotation has two choices results (from_name '%s' and '%s'): name "
                           "the one to read with --choices-name",
                           name, (long long)r->line, a && a->kind == ALQ_JSON_STRING ? a->text : "?",
                           b && b->kind == ALQ_JSON_STRING ? b->text : "?");
    }
    *found = r;
  }
  return ALQ_OK;
}

/* The class named by a choices result's value.choices, which must hold one name. */
static alq_err chosen_label(const char *name, const alq_json *r, int64_t id, const alq_class_names *classes,
                            int64_t *label) {
  const alq_json *choices = alq_json_get(alq_json_get(r, "value"), "choices");
  if (!choices || choices->kind != ALQ_JSON_ARRAY || choices->n != 1 || choices->items[0].kind != ALQ_JSON_STRING)
    return alq_error_set(ALQ_ERR_INPUT,
                         "%s line %lld: the choices result for id %lld must hold value.choices with exactly one "
                         "class name (alq takes one label per answer)",
                         name, (long long)r->line, (long long)id);
  const char *text = choices->items[0].text;
  return alq_class_of_text(classes, text, label) ? ALQ_OK : alq_label_text_error(name, r->line, text, id, classes);
}

static alq_err task_answers(const char *name, const alq_json *task, const alq_answers_options *o,
                            alq_answer_list *out, int64_t *cap) {
  if (task->kind != ALQ_JSON_OBJECT)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: a task is %s, expected an object", name, (long long)task->line,
                         alq_json_kind_name(task->kind));
  int64_t id = 0, answered = 0;
  ALQ_CHECK(task_id(name, task, &id));
  const alq_json *annotations = alq_json_get(task, "annotations");
  if (annotations && annotations->kind != ALQ_JSON_ARRAY && annotations->kind != ALQ_JSON_NULL)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: annotations is %s, expected an array", name,
                         (long long)annotations->line, alq_json_kind_name(annotations->kind));
  for (int64_t i = 0; annotations && i < annotations->n; i++) {
    const alq_json *a = &annotations->items[i], *cancelled = alq_json_get(a, "was_cancelled"), *r = NULL;
    if (a->kind != ALQ_JSON_OBJECT)
      return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: an annotation is %s, expected an object", name,
                           (long long)a->line, alq_json_kind_name(a->kind));
    if (cancelled && cancelled->kind == ALQ_JSON_TRUE) {
      out->cancelled++;
      continue;
    }
    ALQ_CHECK(choices_result(name, a, o->choices_name, &r));
    if (!r)
      continue; /* submitted without a choice */
    int64_t label = 0;
    char who[ALQ_ANNOTATOR_MAX + 16];
    ALQ_CHECK(chosen_label(name, r, id, o->classes, &label));
    annotator_of(a, o->default_annotator, who, sizeof who);
    ALQ_CHECK(alq_answer_list_add(name, out, cap, id, label, who, a->line));
    answered++;
  }
  if (!answered && !out->skipped++)
    out->first_skipped_line = task->line;
  return ALQ_OK;
}

alq_err alq_answers_parse_label_studio(const char *name, const char *text, size_t len,
                                       const alq_answers_options *o, alq_answer_list *out) {
  alq_json root;
  ALQ_CHECK(alq_json_parse(name, text, len, 1, &root));
  alq_err err = root.kind == ALQ_JSON_ARRAY
                    ? ALQ_OK
                    : alq_error_set(ALQ_ERR_INPUT, "%s: a Label Studio export is an array of tasks, not %s", name,
                                    alq_json_kind_name(root.kind));
  int64_t cap = 0;
  for (int64_t t = 0; !err && t < root.n; t++)
    err = task_answers(name, &root.items[t], o, out, &cap);
  alq_json_free(&root);
  return err;
}
