/* alq/source.h: where a worker's rows come from.
 *
 * A pool source is an ops table, like a strategy: `hdf5` (a pool file, read
 * with collective parallel-HDF5 hyperslabs), `gen:` (a synthetic pool whose
 * every row is a pure function of (parameters, id), for scale without disk),
 * and `memory` (rows a program already holds, e.g. alq simulate).  Wrappers
 * (a model that turns features into probabilities) are sources too.
 */
#ifndef ALQ_SOURCE_H
#define ALQ_SOURCE_H
#include <mpi.h>
#include <stdint.h>
#include "alq/pool.h"

typedef struct alq_source alq_source;

typedef struct {
  const char *kind;
  /* Fills rows [lo, lo+count) of the requested fields (ALQ_FIELD_*).  For a
   * collective source every rank calls it the same number of times, with
   * count 0 when it has nothing left to read. */
  alq_err (*read)(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst);
  /* Collective for a collective source: every rank calls it, each with its
   * own ids (n may be 0), and gets the rows whose ids are ids[0..n) (sorted
   * ascending), in that order.  An id that is not in the pool is an input
   * error naming it, the same on every rank.  The hdf5 source finds rows with
   * the distributed id index (alq/id_index.h): no per-id file read. */
  alq_err (*fetch)(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst);
  void (*close)(alq_source *s);
  /* 1: a row fetched by id costs what it costs in a pass, and a row's index
   * is its id (`gen:`, whose rows are computed).  A pass over such a source
   * reads only the fields it scores on and fetches the others for the few
   * rows it keeps (subpool/retrieval.c); for a file that would be a second,
   * scattered read, so file sources leave it 0. */
  int fetch_is_cheap;
  /* Optional (NULL: never).  This rank alone, no I/O: points *rows at the
   * embeddings of rows [lo, lo+count) as the pool stores them, IEEE binary16,
   * mapped read-only from the file (the page cache's own pages: nothing is
   * copied), valid until the source closes; a later call replaces the mapping.
   * Returns NULL then (count 0: *rows NULL), else why the rows cannot be
   * mapped (not binary16, a chunked or filtered dataset, ...), and the caller
   * reads them with `read` as usual.  Only the stored source has it: a
   * wrapper's rows are not the file's. */
  const char *(*map_halves)(alq_source *s, int64_t lo, int64_t count, const uint16_t **rows);
} alq_source_ops;

struct alq_source {
  const alq_source_ops *ops;
  alq_pool_meta meta; /* what the rows look like (dim, classes, has_probs, ...) */
  void *impl;
  alq_source *inner;  /* the source this one reads through (which charges the bytes read), or NULL */
};

/* Serial (rank 0): the pool's shape without reading bulk data.  `spec` is a
 * file path, or "gen:items=N,dim=D,classes=C,imbalance=R,seed=S". */
alq_err alq_source_describe(const char *spec, alq_pool_meta *meta);

/* 1 when alq_source_open(spec) gives a source with fetch_is_cheap (`gen:`):
 * what the memory plan knows before any source is open. */
int alq_spec_fetch_is_cheap(const char *spec);

/* Collective: opens the source `meta` describes (meta->path is the spec). */
alq_err alq_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out);

/* Rows held in memory by the caller (kept alive until alq_source_close).
 * data->ids may be NULL (row index). */
alq_err alq_source_memory(const alq_pool_meta *meta, const alq_pool_data *data, alq_source **out);

/* This rank's piece of a pool that the ranks hold in memory between them:
 * global rows [first_row, first_row + piece->n_items) of the meta->n_items
 * rows (piece->ids NULL: ids are global row indices).  Reads must fall inside
 * the piece (the shard alq_select_pool gives this rank, alq/partition.h).
 * fetch serves the ids of `extra` (rows this rank may be asked for by id that
 * other ranks hold, e.g. the labeled items; ids required, ascending; NULL:
 * none) and of the piece (ids in any order).  Both stay the caller's, alive until alq_source_close. */
alq_err alq_source_memory_piece(const alq_pool_meta *meta, const alq_pool_data *piece, int64_t first_row,
                                const alq_pool_data *extra, alq_source **out);

/* Reads through the source and charges the READ phase with the bytes. */
alq_err alq_source_read(alq_source *s, int64_t lo, int64_t count, unsigned fields, alq_rows *dst);

/* Rows by id (see alq_source_ops.fetch: collective), charged to the READ phase. */
alq_err alq_source_fetch(alq_source *s, const int64_t *ids, int64_t n, unsigned fields, alq_rows *dst);

/* The source under every wrapper (model, projection, ...): the pool's rows
 * as stored.  `s` itself when it wraps nothing. */
alq_source *alq_source_stored(alq_source *s);

/* Collective for collective sources; NULL is ignored. */
void alq_source_close(alq_source *s);

#endif
