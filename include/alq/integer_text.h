/* alq/integer_text.h: integers as people and tools write them in text files. */
#ifndef ALQ_INTEGER_TEXT_H
#define ALQ_INTEGER_TEXT_H
#include <stdint.h>

/* 1 and *out when `text` is an integer in [min, max], else 0.  Blanks around
 * it are allowed, and so is a fractional part of zeros ("15.0", as pandas
 * writes integral columns that held a missing value); "15.5", "1e3", "0x10"
 * and "" are not integers. */
int alq_integer_text(const char *text, int64_t min, int64_t max, int64_t *out);

#endif
