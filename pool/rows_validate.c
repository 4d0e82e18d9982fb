/* pool/rows_validate.c: the checks every row read from a pool must pass. */
#include <math.h>

#include "alq/pool.h"

alq_err alq_rows_validate(const alq_pool_meta *meta, const alq_rows *rows, int64_t first_row, int64_t count,
                          unsigned fields) {
  if (fields & ALQ_FIELD_EMBEDDINGS) {
    const float *e = rows->embeddings;
    for (int64_t i = 0; i < count; i++)
      for (int64_t j = 0; j < meta->dim; j++)
        if (!isfinite(e[i * meta->dim + j]))
          return alq_error_set(ALQ_ERR_INPUT, "%s: /embeddings row %lld (id %lld) column %lld is %g", meta->path,
                               (long long)(first_row + i), (long long)rows->ids[i], (long long)j,
                               (double)e[i * meta->dim + j]);
  }
  if ((fields & ALQ_FIELD_PROBS) && meta->has_probs) {
    const int64_t C = meta->n_classes;
    for (int64_t i = 0; i < count; i++) {
      const float *p = rows->probs + i * C;
      double sum = 0;
      for (int64_t c = 0; c < C; c++) {
        if (!isfinite(p[c]) || p[c] < 0)
          return alq_error_set(ALQ_ERR_INPUT, "%s: /probs row %lld (id %lld) column %lld is %g%s", meta->path,
                               (long long)(first_row + i), (long long)rows->ids[i], (long long)c, (double)p[c],
                               isfinite(p[c]) ? " (probabilities must be >= 0)" : "");
        sum += p[c];
      }
      if (fabs(sum - 1.0) > 1e-3)
        return alq_error_set(ALQ_ERR_INPUT, "%s: /probs row %lld (id %lld) sums to %.6g (must be 1 within 1e-3)",
                             meta->path, (long long)(first_row + i), (long long)rows->ids[i], sum);
    }
  }
  return ALQ_OK;
}
