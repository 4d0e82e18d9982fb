/* labels/integer_text.c: integers written as text (alq/integer_text.h). */
#include "alq/integer_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int alq_integer_text(const char *text, int64_t min, int64_t max, int64_t *out) {
  const char *p = text + strspn(text, " \t");
  /* strtoll alone would take "0x10" or " 12abc"; insist on [+-]digits. */
  const char *digits = p + (*p == '+' || *p == '-');
  if (*digits < '0' || *digits > '9')
    return 0;
  char *end = NULL;
  errno = 0;
  long long v = strtoll(p, &end, 10);
  if (errno)
    return 0;
  if (*end == '.') {
    end++;
    while (*end == '0')
      end++;
  }
  end += strspn(end, " \t");
  if (*end || v < min || v > max)
    return 0;
  *out = v;
  return 1;
}
