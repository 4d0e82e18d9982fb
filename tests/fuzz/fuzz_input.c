/* tests/fuzz/fuzz_input.c: input files for the harnesses (fuzz_input.h). */
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NAMES 4

static const char *scratch(void) {
  const char *dir = getenv("ALQ_FUZZ_DIR");
  struct stat sb;
  if (dir && *dir)
    return dir;
  return stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
}

/* One name per tag, kept for the life of the process. */
static const char *name_for(const char *tag) {
  static struct {
    char tag[32];
    char path[512];
  } names[NAMES];
  for (int i = 0; i < NAMES; i++) {
    if (strcmp(names[i].tag, tag) == 0)
      return names[i].path;
    if (!names[i].tag[0]) {
      snprintf(names[i].tag, sizeof names[i].tag, "%s", tag);
      snprintf(names[i].path, sizeof names[i].path, "%s/alq-fuzz-%s.%ld", scratch(), tag, (long)getpid());
      return names[i].path;
    }
  }
  abort();
}

const char *fuzz_input_file(const char *tag, const uint8_t *data, size_t size) {
  const char *path = name_for(tag);
  FILE *f = fopen(path, "wb");
  if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
    perror(path);
    abort();
  }
  return path;
}

const char *fuzz_output_name(const char *tag) {
  const char *path = name_for(tag);
  unlink(path);
  return path;
}
