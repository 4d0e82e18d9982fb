/* tests/fuzz/replay_main.c: runs a harness over files, without libFuzzer.
 *
 * The normal build links every harness with this main so that the seed corpus
 * and every input that once crashed (tests/fuzz/regressions/) are replayed by
 * ctest on every build: `fuzz-replay-<harness> DIR...` feeds each regular file
 * of each folder (or each file named) to LLVMFuzzerTestOneInput once.  A crash
 * fails the test the way it failed the fuzzer; a clean pass prints the count. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz_input.h"

static int replay_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    perror(path);
    return 1;
  }
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc(len > 0 ? (size_t)len : 1);
  if (!data || (len > 0 && fread(data, 1, (size_t)len, f) != (size_t)len)) {
    fprintf(stderr, "%s: cannot read\n", path);
    fclose(f);
    free(data);
    return 1;
  }
  fclose(f);
  LLVMFuzzerTestOneInput(data, (size_t)len);
  free(data);
  return 0;
}

static int replay_dir(const char *dir, int *count) {
  DIR *d = opendir(dir);
  if (!d) {
    perror(dir);
    return 1;
  }
  struct dirent *e;
  int bad = 0;
  char path[4096];
  while ((e = readdir(d))) {
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (e->d_name[0] == '.' || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
      continue;
    bad |= replay_file(path);
    ++*count;
  }
  closedir(d);
  return bad;
}

int main(int argc, char **argv) {
  int bad = 0, count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat sb;
    if (stat(argv[i], &sb) == 0 && S_ISDIR(sb.st_mode))
      bad |= replay_dir(argv[i], &count);
    else {
      bad |= replay_file(argv[i]);
      count++;
    }
  }
  fprintf(stderr, "replayed %d inputs\n", count);
  return bad || count == 0;
}
