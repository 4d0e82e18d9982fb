/* geometry/options.c: the option values of the geometry commands, and how
 * rank 0's options reach the other ranks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq/comm.h"
#include "alq/geometry.h"
#include "geometry_impl.h"

alq_err alq_projection_parse(const char *spec, int *whiten, int64_t *k) {
  const char *num = NULL;
  if (strncmp(spec, "pca:", 4) == 0)
    num = spec + 4, *whiten = 0;
  else if (strncmp(spec, "pca-whiten:", 11) == 0)
    num = spec + 11, *whiten = 1;
  char *end = NULL;
  long long v = num ? strtoll(num, &end, 10) : 0;
  if (!num || end == num || *end != '\0' || v < 1 || v > 65536)
    return alq_error_set(ALQ_ERR_USAGE, "--project '%s': expected pca:K or pca-whiten:K with K in [1, 65536]", spec);
  *k = v;
  return ALQ_OK;
}

alq_err alq_fit_grid_parse(const char *option, const char *text, int *rows, int *cols) {
  int r = 0, c = 0, used = 0;
  if (sscanf(text, "%dx%d%n", &r, &c, &used) != 2 || text[used] != '\0' || r < 1 || c < 1 || r > 4096 || c > 4096)
    return alq_error_set(ALQ_ERR_USAGE, "%s '%s': expected RxC, e.g. 1x1 or 2x2", option, text);
  *rows = r;
  *cols = c;
  return ALQ_OK;
}

alq_err geo_share_options(MPI_Comm comm, alq_err prepared, void *opts, size_t size, alq_pool_meta *meta) {
  ALQ_CHECK(alq_agree(comm, prepared));
  ALQ_CHECK(alq_bcast(opts, size, 0, comm));
  return alq_bcast(meta, sizeof *meta, 0, comm);
}
