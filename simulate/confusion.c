/* simulate/confusion.c: the annotators' confusion matrix file: K rows of K
 * probabilities (row = true class, column = answer), separated by commas or
 * blanks; '#' starts a comment. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

alq_err sim_confusion_read(const char *path, int64_t K, double *out) {
  FILE *f = fopen(path, "r");
  if (!f)
    return alq_error_set(ALQ_ERR_INPUT, "%s: cannot open the confusion matrix", path);
  char line[65536];
  int64_t row = 0, lineno = 0;
  alq_err err = ALQ_OK;
  while (!err && fgets(line, sizeof line, f)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash)
      *hash = 0;
    int64_t col = 0;
    double sum = 0;
    char *p = line, *end;
    for (;;) {
      while (*p == ' ' || *p == '\t' || *p == ',' || *p == '\r' || *p == '\n')
        p++;
      if (!*p)
        break;
      double v = strtod(p, &end);
      if (end == p || !isfinite(v) || v < 0 || v > 1) {
        err = alq_error_set(ALQ_ERR_INPUT, "%s: line %lld: '%.20s' is not a probability in [0, 1]", path,
                            (long long)lineno, p);
        break;
      }
      if (col == K || row == K) {
        err = alq_error_set(ALQ_ERR_INPUT, "%s: line %lld: more than %lld %s", path, (long long)lineno,
                            (long long)K, row == K ? "rows" : "columns (the pool's classes)");
        break;
      }
      sum += v;
      out[row * K + col++] = sum; /* cumulative */
      p = end;
    }
    if (err || col == 0)
      continue;
    if (col != K)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: line %lld has %lld columns, the pool has %lld classes", path,
                          (long long)lineno, (long long)col, (long long)K);
    else if (fabs(sum - 1) > 1e-6)
      err = alq_error_set(ALQ_ERR_INPUT, "%s: line %lld: the row sums to %.9g, not 1", path, (long long)lineno, sum);
    row++;
  }
  fclose(f);
  if (!err && row != K)
    err = alq_error_set(ALQ_ERR_INPUT, "%s: %lld rows, the pool has %lld classes", path, (long long)row, (long long)K);
  return err;
}
