/* labels/label_studio_tasks.c: a batch as a Label Studio task list
 * (alq/label_studio.h). */
#include <stdio.h>
#include <string.h>

#include "alq/csv_records.h"
#include "alq/label_studio.h"
#include "labels_internal.h"

/* The choice name of class k. */
static int write_class(FILE *f, const alq_class_names *classes, int32_t k) {
  if (classes && classes->n > 0 && k >= 0 && k < classes->n)
    return alq_json_write_string(f, classes->names[k]);
  return fprintf(f, "\"%d\"", k);
}

static int write_data(FILE *f, const alq_label_studio_tasks *t, int64_t i) {
  int rc = fputs("\"data\": {", f);
  for (int64_t c = 0; rc >= 0 && c < t->n_columns; c++) {
    rc = alq_json_write_string(f, t->columns[c].name);
    rc = rc < 0 ? rc : fputs(": ", f);
    rc = rc < 0 ? rc : alq_payload_value_write(f, &t->columns[c], i, 1);
    rc = rc < 0 ? rc : fputs(", ", f);
  }
  return rc < 0 ? rc : fprintf(f, "\"alq_id\": %lld}", (long long)t->ids[i]);
}

static int write_meta(FILE *f, const alq_label_studio_tasks *t, int64_t i) {
  int rc = fprintf(f, ", \"meta\": {\"alq_id\": %lld", (long long)t->ids[i]);
  if (rc >= 0 && t->round > 0)
    rc = fprintf(f, ", \"alq_round\": %lld", (long long)t->round);
  if (rc >= 0 && t->relabel && t->relabel[i])
    rc = fputs(", \"alq_relabel\": true", f);
  if (rc >= 0 && t->n_answered_by && t->n_answered_by[i] > 0) {
    rc = fputs(", \"alq_answered_by\": [", f);
    for (int64_t k = 0; rc >= 0 && k < t->n_answered_by[i]; k++) {
      rc = k ? fputs(", ", f) : 0;
      rc = rc < 0 ? rc : alq_json_write_string(f, t->answered_by[i][k]);
    }
    rc = rc < 0 ? rc : fputs("]", f);
  }
  return rc < 0 ? rc : fputs("}", f);
}

static int write_prediction(FILE *f, const alq_label_studio_tasks *t, int64_t i) {
  int rc = fputs(", \"predictions\": [{\"model_version\": ", f);
  rc = rc < 0 ? rc : alq_json_write_string(f, t->model_version);
  rc = rc < 0 ? rc : fprintf(f, ", \"score\": %.9g, \"result\": [{\"from_name\": ", (double)t->top_score[i]);
  rc = rc < 0 ? rc : alq_json_write_string(f, t->choices_name);
  rc = rc < 0 ? rc : fputs(", \"to_name\": ", f);
  rc = rc < 0 ? rc : alq_json_write_string(f, t->to_name);
  rc = rc < 0 ? rc : fputs(", \"type\": \"choices\", \"value\": {\"choices\": [", f);
  rc = rc < 0 ? rc : write_class(f, t->classes, t->top_class[i]);
  return rc < 0 ? rc : fputs("]}}]}]", f);
}

int alq_label_studio_write(FILE *f, const alq_label_studio_tasks *t) {
  int rc = fputs("[", f);
  for (int64_t i = 0; rc >= 0 && i < t->n; i++) {
    rc = fputs(i ? ",\n  {" : "\n  {", f);
    rc = rc < 0 ? rc : write_data(f, t, i);
    rc = rc < 0 ? rc : write_meta(f, t, i);
    if (rc >= 0 && t->top_class)
      rc = write_prediction(f, t, i);
    rc = rc < 0 ? rc : fputs("}", f);
  }
  return rc < 0 ? rc : fputs("\n]\n", f);
}

/* XML attribute text: & < > " escaped. */
static int write_xml_attr(FILE *f, const char *s) {
  int rc = 0;
  for (; rc >= 0 && *s; s++)
    rc = *s == '&' ? fputs("&amp;", f) : *s == '<' ? fputs("&lt;", f) : *s == '>' ? fputs("&gt;", f)
       : *s == '"' ? fputs("&quot;", f) : fputc(*s, f);
  return rc;
}

int alq_label_studio_write_config(FILE *f, const alq_label_studio_tasks *t, int image) {
  int rc = fprintf(f, "<View>\n  <%s name=\"", image ? "Image" : "Text");
  rc = rc < 0 ? rc : write_xml_attr(f, t->to_name);
  rc = rc < 0 ? rc : fputs("\" value=\"$", f);
  rc = rc < 0 ? rc : write_xml_attr(f, t->to_name);
  rc = rc < 0 ? rc : fputs("\"/>\n  <Choices name=\"", f);
  rc = rc < 0 ? rc : write_xml_attr(f, t->choices_name);
  rc = rc < 0 ? rc : fputs("\" toName=\"", f);
  rc = rc < 0 ? rc : write_xml_attr(f, t->to_name);
  rc = rc < 0 ? rc : fputs("\" choice=\"single\">\n", f);
  int named = t->classes && t->classes->n > 0;
  for (int64_t k = 0; rc >= 0 && k < (named ? t->classes->n : t->n_classes); k++) {
    rc = fputs("    <Choice value=\"", f);
    rc = rc < 0 ? rc : named ? write_xml_attr(f, t->classes->names[k]) : fprintf(f, "%lld", (long long)k);
    rc = rc < 0 ? rc : fputs("\"/>\n", f);
  }
  return rc < 0 ? rc : fputs("  </Choices>\n</View>\n", f);
}
