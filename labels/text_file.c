/* labels/text_file.c: a whole file into memory (alq/text_file.h). */
#include "alq/text_file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

alq_err alq_text_file_read(const char *path, char **text, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f)
    return alq_error_set(ALQ_ERR_INPUT, "cannot open %s: %s", path, strerror(errno));
  size_t cap = 1 << 16, n = 0;
  char *buf = NULL;
  alq_err err = alq_malloc(&buf, cap + 1, "the input file");
  while (!err) {
    if (n == cap) {
      char *bigger = realloc(buf, 2 * cap + 1);
      if (!bigger) {
        err = alq_error_set(ALQ_ERR_MEMORY, "out of memory reading %s", path);
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    size_t got = fread(buf + n, 1, cap - n, f);
    n += got;
    if (got == 0)
      break;
  }
  if (!err && ferror(f))
    err = alq_error_set(ALQ_ERR_INPUT, "cannot read %s: %s", path, strerror(errno));
  fclose(f);
  if (err) {
    free(buf);
    return err;
  }
  buf[n] = '\0';
  *text = buf;
  *len = n;
  return ALQ_OK;
}
