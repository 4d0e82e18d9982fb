/* simulate/curve_csv.c: alq_simulate_write, the curve's CSV and plot. */
#include <stdio.h>
#include <string.h>

#include "alq/paths.h"
#include "alq/simulate.h"

/* Writes the curve to `tmp`, the temporary name of `path`. */
static alq_err write_csv(const char *tmp, const char *path, const alq_curve *curve) {
  FILE *f = fopen(tmp, "w");
  if (!f)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot create %s (temporary file for %s)", tmp, path);
  fprintf(f, "strategy,seed,round,labeled,accuracy,macro_f1,rare_recall,train_seconds,select_seconds,items\n");
  for (int64_t i = 0; i < curve->n; i++) {
    const alq_curve_point *p = &curve->points[i];
    fprintf(f, "%s,%llu,%lld,%lld,%.6f,%.6f,%.6f,%.4f,%.4f,%lld\n", p->strategy, (unsigned long long)p->seed,
            (long long)p->round, (long long)p->labeled, p->accuracy, p->macro_f1, p->rare_recall, p->train_seconds,
            p->select_seconds, (long long)p->items);
  }
  if (fclose(f) != 0)
    return alq_error_set(ALQ_ERR_OUTPUT, "cannot write %s", path);
  return ALQ_OK;
}

alq_err alq_simulate_write(const alq_simulate_options *o, const alq_curve *curve) {
  char tmp_csv[ALQ_PATH_MAX + 32] = "", tmp_plot[ALQ_PATH_MAX + 32] = "";
  const char *tmp[2], *final_path[2];
  int n = 0;
  if (o->out[0]) {
    ALQ_CHECK(alq_paths_temp(o->out, tmp_csv, sizeof tmp_csv));
    tmp[n] = tmp_csv, final_path[n++] = o->out;
  }
  if (o->plot[0]) {
    ALQ_CHECK(alq_paths_temp(o->plot, tmp_plot, sizeof tmp_plot));
    tmp[n] = tmp_plot, final_path[n++] = o->plot;
  }
  if (n == 0)
    return ALQ_OK;
  alq_err err = o->out[0] ? write_csv(tmp_csv, o->out, curve) : ALQ_OK;
  if (!err && o->plot[0]) {
    const char *base = strrchr(o->pool, '/');
    err = alq_curve_svg(tmp_plot, base ? base + 1 : o->pool, curve->points, curve->n);
  }
  if (err) {
    alq_paths_discard(tmp, n);
    return err;
  }
  return alq_paths_commit(tmp, final_path, n);
}
