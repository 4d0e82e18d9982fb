/* alq/text_file.h: a whole input file in memory, for the parsers of
 * annotators' files (alq/csv_records.h, alq/labels.h). */
#ifndef ALQ_TEXT_FILE_H
#define ALQ_TEXT_FILE_H
#include <stddef.h>
#include "alq/error.h"

/* Reads all of `path` into a malloc'd, NUL-terminated buffer (*len excludes
 * the terminator; the bytes may themselves hold NULs, which parsers refuse).
 * Input error naming the file when it cannot be opened or read. */
alq_err alq_text_file_read(const char *path, char **text, size_t *len);

#endif
