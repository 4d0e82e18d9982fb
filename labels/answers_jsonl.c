/* labels/answers_jsonl.c: answers as JSON Lines, one object per line
 * {"id": 17, "label": 3 or "cat", "annotator": "ann"} (labels_internal.h). */
#include <stdio.h>
#include <string.h>

#include "alq/json.h"
#include "labels_internal.h"

/* The label of `v`: a class name or integer string, or a number. */
static alq_err label_of(const char *name, int64_t line, const alq_json *v, int64_t id, const alq_class_names *classes,
                        int64_t *label) {
  if (v->kind == ALQ_JSON_STRING)
    return alq_class_of_text(classes, v->text, label) ? ALQ_OK
                                                      : alq_label_text_error(name, line, v->text, id, classes);
  if (alq_json_integer(v, INT32_MIN, INT32_MAX, label))
    return ALQ_OK;
  return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: label %s for id %lld is not an integer or a class name", name,
                       (long long)line, v->kind == ALQ_JSON_NUMBER ? v->text : alq_json_kind_name(v->kind),
                       (long long)id);
}

static alq_err object_answer(const char *name, int64_t line, const alq_json *obj, const alq_answers_options *o,
                             alq_answer_list *out, int64_t *cap) {
  if (obj->kind != ALQ_JSON_OBJECT)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: expected an object {\"id\": ..., \"label\": ...}, found %s",
                         name, (long long)line, alq_json_kind_name(obj->kind));
  const alq_json *id_v = alq_json_get(obj, "id"), *label_v = alq_json_get(obj, "label"),
                 *who_v = alq_json_get(obj, "annotator");
  int64_t id = 0, label = 0;
  if (!id_v)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: the object has no \"id\"", name, (long long)line);
  if (!alq_json_integer(id_v, INT64_MIN, INT64_MAX, &id))
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: id %s is not an integer", name, (long long)line,
                         id_v->kind == ALQ_JSON_NUMBER || id_v->kind == ALQ_JSON_STRING ? id_v->text
                                                                                        : alq_json_kind_name(id_v->kind));
  if (!label_v || label_v->kind == ALQ_JSON_NULL || (label_v->kind == ALQ_JSON_STRING && !label_v->text[0])) {
    if (!out->skipped++)
      out->first_skipped_line = line;
    return ALQ_OK;
  }
  ALQ_CHECK(label_of(name, line, label_v, id, o->classes, &label));
  const char *who = o->default_annotator;
  if (who_v && who_v->kind == ALQ_JSON_STRING && who_v->text[0])
    who = who_v->text;
  else if (who_v && who_v->kind != ALQ_JSON_NULL && who_v->kind != ALQ_JSON_STRING)
    return alq_error_set(ALQ_ERR_INPUT, "%s line %lld: annotator is %s, expected a string", name, (long long)line,
                         alq_json_kind_name(who_v->kind));
  return alq_answer_list_add(name, out, cap, id, label, who, line);
}

static int blank(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
      return 0;
  return 1;
}

alq_err alq_answers_parse_jsonl(const char *name, const char *text, size_t len, const alq_answers_options *o,
                                alq_answer_list *out) {
  int64_t cap = 0, line = 1;
  size_t start = len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
  for (size_t end; start < len; start = end + 1, line++) {
    const char *nl = memchr(text + start, '\n', len - start);
    end = nl ? (size_t)(nl - text) : len;
    size_t n = end - start;
    if (blank(text + start, n))
      continue;
    alq_json obj;
    ALQ_CHECK(alq_json_parse(name, text + start, n, line, &obj));
    alq_err err = object_answer(name, line, &obj, o, out, &cap);
    alq_json_free(&obj);
    ALQ_CHECK(err);
  }
  return ALQ_OK;
}
