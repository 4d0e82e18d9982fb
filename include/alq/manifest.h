/* alq/manifest.h: what a run records about itself, and the pool's identity.
 *
 * Every selection writes a manifest (protobuf Manifest in proto/alq.proto) into
 * its batch file as /manifest, and a selection with --state also keeps it in
 * the state file's round history.  It holds the options, seed, rank count, alq
 * version, the pool's identity, per-phase timings and a checksum of the batch,
 * so that a batch can be traced back to exactly how it was made.  `alq manifest
 * FILE` prints it (docs/format.md, "Batch files and manifests").
 */
#ifndef ALQ_MANIFEST_H
#define ALQ_MANIFEST_H
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include "alq/error.h"
#include "alq/hash.h"
#include "alq/pool.h"
#include "alq/select.h"


/* Which pool a state file or a batch belongs to.  Paths may differ between
 * machines, so a pool is recognised by its shape and the checksum of its ids. */
typedef struct {
  char path[ALQ_PATH_MAX];
  int64_t n_items, dim, n_classes;
  uint64_t ids_checksum; /* alq_ids_checksum of every id in row order */
  char layout[ALQ_LAYOUT_SPEC_MAX]; /* its dataset names (alq_layout_format; "" = standard) */
} alq_pool_identity;


/* A packed Manifest message. */
typedef struct {
  uint8_t *data;
  int64_t len;
} alq_manifest_bytes;

/* Collective: reduces every rank's phase timings and, on rank 0, packs the
 * manifest of the selection that produced `batch` (other ranks get len 0).
 * The write phase is not in it: the manifest is written during that phase. */
alq_err alq_manifest_build(MPI_Comm comm, const alq_select_options *opt, const alq_request *req,
                           const alq_batch *batch, alq_manifest_bytes *out);

/* Prints a packed manifest readably, one "key: value" per line, each line
 * prefixed with `indent`.  Input error when the bytes are not a Manifest. */
alq_err alq_manifest_print(FILE *out, const uint8_t *data, int64_t len, const char *indent,
                           uint64_t *batch_checksum);

/* `alq manifest FILE`: prints on `out` the manifest of a batch file (alq
 * select --out) or every round's of a state file (its `format` attribute
 * says which), each followed by a line saying that the ids' checksum matches
 * the one it records.  Input error naming the file when it has no manifest or
 * a checksum differs. */
alq_err alq_manifest_show(FILE *out, const char *path);

void alq_manifest_bytes_free(alq_manifest_bytes *m);

#endif
