/* tests/test_stream_units.c: unit checks for streaming (docs/design.md, "Streaming").
 *
 *   test_stream_units progress
 *       workers/progress.c's rules without waiting: silent before 2 s, then
 *       one "items/s ... ETA" line, at most one line per 5 s when stderr is
 *       not a terminal, no carriage returns, nothing when disabled.
 *   test_stream_units rows POOL.h5 GENSPEC
 *       the gen: source serves exactly the rows `alq gen` wrote to POOL.h5
 *       (ids, embeddings, probabilities, labels; ranges at odd offsets and
 *       fetches by id), byte for byte.  Run under mpiexec -n 1.
 */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alq/source.h"
#include "progress.h"

static int failures = 0;
#define CHECK(cond, ...)                                                                                     \
  do {                                                                                                       \
    if (!(cond)) {                                                                                           \
      fprintf(stdout, "FAIL %s:%d: ", __FILE__, __LINE__);                                                   \
      fprintf(stdout, __VA_ARGS__);                                                                          \
      fprintf(stdout, "\n");                                                                                 \
      failures++;                                                                                            \
    }                                                                                                        \
  } while (0)

/* Runs `fn` with stderr redirected to a temporary file; returns what it wrote. */
static char *capture_stderr(void (*fn)(void *), void *arg) {
  static char buf[8192];
  FILE *tmp = tmpfile();
  fflush(stderr);
  int saved = dup(STDERR_FILENO);
  dup2(fileno(tmp), STDERR_FILENO);
  fn(arg);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  rewind(tmp);
  size_t n = fread(buf, 1, sizeof buf - 1, tmp);
  buf[n] = '\0';
  fclose(tmp);
  return buf;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++)
    n += *s == '\n';
  return n;
}

static void progress_disabled(void *arg) {
  alq_progress p;
  alq_progress_start(&p, "streamed", 1000, 0);
  p.started -= 100; /* long ago */
  alq_progress_update(&p, 0.5);
  alq_progress_finish(&p);
}

static void progress_enabled(void *arg) {
  alq_progress *p = arg;
  alq_progress_start(p, "streamed", 1000000, 1);
  alq_progress_update(p, 0.1); /* under 2 s: silent */
  p->started -= 3.0;           /* as if the pass began 3 s ago */
  alq_progress_update(p, 0.5); /* first line */
  alq_progress_update(p, 0.6); /* within the 5 s log period: silent */
  p->last -= 6.0;
  alq_progress_update(p, 0.75); /* second line */
  alq_progress_finish(p);
}

static void test_progress(void) {
  const char *out = capture_stderr(progress_disabled, NULL);
  CHECK(out[0] == '\0', "disabled progress printed %s", out);
  alq_progress p;
  out = capture_stderr(progress_enabled, &p);
  CHECK(count_lines(out) == 2, "expected 2 lines, got: %s", out);
  CHECK(strstr(out, "alq: streamed 500.00k/1.00M items (50.0%)") != NULL, "first line: %s", out);
  CHECK(strstr(out, "alq: streamed 750.00k/1.00M items (75.0%)") != NULL, "second line: %s", out);
  CHECK(strstr(out, "items/s, ETA ") != NULL, "rate and ETA: %s", out);
  CHECK(strchr(out, '\r') == NULL, "carriage return on a non-terminal: %s", out);
  /* ETA: 3 s for half -> 3 s left. */
  CHECK(strstr(out, "ETA 3s") != NULL, "ETA of the first line: %s", out);
}

static int rows_equal(alq_source *a, alq_source *b, const int64_t *ids, int64_t lo, int64_t n, int fetch) {
  const alq_pool_meta *m = &a->meta;
  alq_rows r[2];
  int same = 1;
  for (int k = 0; k < 2; k++) {
    r[k].ids = calloc(n, sizeof(int64_t));
    r[k].embeddings = calloc(n * m->dim, sizeof(float));
    r[k].probs = calloc(n * m->n_classes, sizeof(float));
    r[k].labels = calloc(n, sizeof(int32_t));
    alq_source *s = k ? b : a;
    unsigned f = ALQ_FIELD_IDS | ALQ_FIELD_EMBEDDINGS | ALQ_FIELD_PROBS | ALQ_FIELD_LABELS;
    alq_err err = fetch ? alq_source_fetch(s, ids, n, f, &r[k]) : alq_source_read(s, lo, n, f, &r[k]);
    CHECK(!err, "%s of %s failed: %s", fetch ? "fetch" : "read", s->meta.path, alq_error_message());
    same &= !err;
  }
  same = same && !memcmp(r[0].ids, r[1].ids, n * sizeof(int64_t)) &&
         !memcmp(r[0].embeddings, r[1].embeddings, n * m->dim * sizeof(float)) &&
         !memcmp(r[0].probs, r[1].probs, n * m->n_classes * sizeof(float)) &&
         !memcmp(r[0].labels, r[1].labels, n * sizeof(int32_t));
  for (int k = 0; k < 2; k++) {
    free(r[k].ids);
    free(r[k].embeddings);
    free(r[k].probs);
    free(r[k].labels);
  }
  return same;
}

static void test_rows(const char *file, const char *spec) {
  alq_pool_meta mf, mg;
  alq_source *sf = NULL, *sg = NULL;
  CHECK(!alq_source_describe(file, &mf), "describe %s: %s", file, alq_error_message());
  CHECK(!alq_source_describe(spec, &mg), "describe %s: %s", spec, alq_error_message());
  if (failures)
    return;
  CHECK(mf.n_items == mg.n_items && mf.dim == mg.dim && mf.n_classes == mg.n_classes && mf.has_probs &&
            mg.has_probs && mf.has_labels && mg.has_labels,
        "shapes differ: file %lld x %lld, %lld classes; gen %lld x %lld, %lld classes", (long long)mf.n_items,
        (long long)mf.dim, (long long)mf.n_classes, (long long)mg.n_items, (long long)mg.dim,
        (long long)mg.n_classes);
  CHECK(!alq_source_open(MPI_COMM_WORLD, &mf, &sf), "open %s: %s", file, alq_error_message());
  CHECK(!alq_source_open(MPI_COMM_WORLD, &mg, &sg), "open %s: %s", spec, alq_error_message());
  if (failures)
    return;
  int64_t N = mf.n_items;
  int64_t ranges[][2] = {{0, N}, {0, 1}, {7, 13}, {N / 3, N / 3 + 101}, {N - 5, 5}};
  for (size_t i = 0; i < sizeof ranges / sizeof ranges[0]; i++)
    CHECK(rows_equal(sf, sg, NULL, ranges[i][0], ranges[i][1], 0), "rows [%lld, +%lld) differ",
          (long long)ranges[i][0], (long long)ranges[i][1]);
  int64_t ids[] = {0, 3, N / 2, N - 1};
  CHECK(rows_equal(sf, sg, ids, 0, 4, 1), "rows fetched by id differ");
  alq_source_close(sf);
  alq_source_close(sg);
}

int main(int argc, char **argv) {
  MPI_Init(&argc, &argv);
  if (argc >= 2 && !strcmp(argv[1], "progress")) {
    test_progress();
  } else if (argc >= 4 && !strcmp(argv[1], "rows")) {
    test_rows(argv[2], argv[3]);
  } else {
    fprintf(stderr, "usage: test_stream_units progress | rows POOL.h5 GENSPEC\n");
    MPI_Finalize();
    return 2;
  }
  printf("%s\n", failures ? "FAILED" : "ok");
  MPI_Finalize();
  return failures ? 1 : 0;
}
