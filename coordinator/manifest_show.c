/* coordinator/manifest_show.c: `alq manifest FILE` (alq/manifest.h): how a
 * batch was made, readably.  A batch file has one manifest; a state file
 * keeps one per round.  Each is checked against the ids it describes. */
#include <hdf5.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "alq/batch.h"
#include "alq/manifest.h"
#include "alq/hash.h"
#include "alq/state.h"

static alq_err check_checksum(FILE *out, const char *path, const char *what, const int64_t *ids, int64_t n, uint64_t recorded) {
  uint64_t actual = alq_ids_checksum(ids, n, 0);
  if (actual != recorded)
    return alq_error_set(ALQ_ERR_INPUT, "%s: %s has checksum %016llx, but its manifest records %016llx", path, what,
                         (unsigned long long)actual, (unsigned long long)recorded);
  fprintf(out, "  (batch checksum matches %s)\n", what);
  return ALQ_OK;
}

static alq_err print_batch(FILE *out, const char *path) {
  alq_batch_file b;
  ALQ_CHECK(alq_batch_file_read(path, &b));
  alq_err err = ALQ_OK;
  uint64_t recorded = 0;
  if (b.manifest.len == 0)
    err = alq_error_set(ALQ_ERR_INPUT, "%s has no /manifest (written by an alq without manifests?)", path);
  if (!err) {
    fprintf(out, "%s: batch of %lld item(s)\n", path, (long long)b.n);
    err = alq_manifest_print(out, b.manifest.data, b.manifest.len, "  ", &recorded);
  }
  if (!err)
    err = check_checksum(out, path, "/selected/ids", b.ids, b.n, recorded);
  alq_batch_file_free(&b);
  return err;
}

static alq_err print_state(FILE *out, const char *path) {
  alq_state st;
  ALQ_CHECK(alq_state_read(path, &st));
  fprintf(out, "%s: state of pool %s, %lld round(s)\n", path, st.pool.path, (long long)st.n_rounds);
  alq_err err = ALQ_OK;
  for (int64_t r = 0; !err && r < st.n_rounds; r++) {
    const alq_state_round *round = &st.rounds[r];
    char when[64] = "?", what[64];
    time_t t = (time_t)round->selected_at;
    struct tm tm;
    if (gmtime_r(&t, &tm))
      strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    fprintf(out, "\nround %lld: %lld item(s) selected %s into %s\n", (long long)round->round, (long long)round->n, when,
           round->batch);
    uint64_t recorded = 0;
    err = alq_manifest_print(out, round->manifest.data, round->manifest.len, "  ", &recorded);
    snprintf(what, sizeof what, "round %lld's ids", (long long)round->round);
    if (!err)
      err = check_checksum(out, path, what, round->ids, round->n, recorded);
  }
  alq_state_free(&st);
  return err;
}

/* A state file says so in its format attribute; anything else is read as a batch. */
static int is_state_file(const char *path) {
  H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
  hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
  if (file < 0)
    return 0;
  int yes = H5Aexists(file, "format") > 0;
  H5Fclose(file);
  return yes;
}

alq_err alq_manifest_show(FILE *out, const char *path) {
  return is_state_file(path) ? print_state(out, path) : print_batch(out, path);
}
