/* alq/worker.h: a worker's passes over its shard.
 *
 * alq_worker_stream is the one loop that reads a shard: every rank streams its
 * rows [shard.lo, shard.hi) in chunks of chunk_rows (collective reads for a
 * collective source), validates them, marks labeled items and hands each
 * chunk to a consumer.  Ids may come in any order: when they do not increase,
 * the pass ends with the distributed id index (alq/id_index.h) refusing a
 * repeated id.  Memory: one chunk plus what the
 * consumer keeps (two chunks when reads overlap compute, below).  Consumers:
 * the score-and-keep pass (alq_worker_scan) and AnchorAL's retrieval
 * (subpool/), among others.
 *
 * Reads overlap compute: while a compute thread validates and consumes chunk
 * c, the calling thread makes the (collective) read of chunk c + 1.  Chunks
 * are consumed in order, so results do not change.  A consumer therefore runs
 * on another thread than the caller: it must make no MPI and no HDF5 call and
 * touch no state the source's read touches.  Passes over `gen:` or in-memory
 * rows, passes of one chunk, ALQ_OVERLAP=0 in the environment, and MPI
 * initialised below MPI_THREAD_FUNNELED run serially; --log-view says which
 * ran and how long each thread waited for the other (alq/logview.h).
 */
#ifndef ALQ_WORKER_H
#define ALQ_WORKER_H
#include <mpi.h>
#include <stdint.h>
#include "alq/partition.h"
#include "alq/pool.h"
#include "alq/source.h"
#include "alq/strategy.h"

typedef struct alq_stream_request {
  MPI_Comm comm;
  const alq_pool_meta *meta;
  alq_source *source;
  alq_range shard;
  int64_t chunk_align;        /* the partition's alignment (names rows in messages) */
  int64_t chunk_rows;
  unsigned fields;            /* ALQ_FIELD_* to read; ids are always read */
  const int64_t *labeled_ids; /* sorted, identical on every rank */
  int64_t n_labeled;
  int progress;               /* rank 0 prints progress with an ETA on stderr */
  /* The shard's embeddings as stored, IEEE binary16, mapped in place
   * (alq_source_ops.map_halves), or NULL.  Then the source reads the other
   * fields only, and each chunk's rows.half points into these rows (validated
   * there, half_filled set; no floats): fields must hold EMBEDDINGS,
   * HALF_EMBEDDINGS and HALVES_ONLY. */
  const uint16_t *mapped_half;
} alq_stream_request;

/* One validated chunk as a consumer sees it. */
typedef struct {
  const alq_rows *rows;
  const unsigned char *is_labeled; /* 1 for items of the labeled set */
  int64_t count;
  int64_t first_row;               /* global row of rows[0] */
} alq_chunk_view;

typedef alq_err (*alq_chunk_consumer)(void *ctx, const alq_chunk_view *chunk);

typedef struct {
  unsigned char *labeled_found; /* n_labeled flags, OR-reduced over ranks: 1 = some rank owns the id */
  int64_t n_unlabeled;          /* in this shard */
  int64_t rows_read;
  uint64_t ids_checksum;        /* alq_ids_checksum of every id in row order, summed over ranks */
} alq_stream_result;

/* Collective.  On failure every rank returns the same code and message. */
alq_err alq_worker_stream(const alq_stream_request *req, alq_chunk_consumer consume, void *ctx,
                          alq_stream_result *res);

/* Collective, called on every rank after every read step of a stream: the
 * same number of times everywhere, whatever a rank read or whether it failed. */
typedef alq_err (*alq_chunk_sync)(void *ctx, MPI_Comm comm);

/* alq_worker_stream, with `sync` (ctx is the consumer's) after every read
 * step: the retrieval shares its floors between ranks this way. */
alq_err alq_worker_stream_synced(const alq_stream_request *req, alq_chunk_consumer consume, alq_chunk_sync sync,
                                 void *ctx, alq_stream_result *res);

/* The score-and-keep pass: scores unlabeled items with the strategy and keeps
 * this rank's best `keep` (< 0: all) as candidates, with their embeddings when
 * keep_embeddings, as IEEE binary16 (candidates.half) when keep_half too:
 * exact only for rows that came from binary16 (a float16 pool).
 *
 * A pass that keeps the halves of every row of its shard with no score stage
 * (the exact k-center) takes them in place when the stored source can map
 * them (alq_source_ops.map_halves) on every rank and ALQ_MAP is not "0": the
 * candidates are then the shard's rows in row order, the pool file's own
 * pages (candidates.half_mapped), with the labeled ones flagged in
 * candidates.skip; otherwise they are copied, in alq's order.  The two give
 * the same batch. --log-view says which ran (alq_log_rows_path). */
typedef struct {
  alq_stream_request stream;
  const alq_strategy *strategy;
  uint64_t seed;
  int64_t keep;
  int keep_embeddings;
  int keep_half;
} alq_scan_request;

typedef struct {
  alq_candidates candidates; /* in alq's order by score */
  alq_stream_result stream;
} alq_scan_result;

/* Collective. */
alq_err alq_worker_scan(const alq_scan_request *req, alq_scan_result *res);
void alq_scan_result_free(alq_scan_result *res);

/* The fields a strategy's score stage reads. */
unsigned alq_strategy_fields(const alq_strategy *s);

/* 1 when a pass over the pool at `pool_path` may overlap its reads with
 * compute (and so hold two chunk buffers): ALQ_OVERLAP is not "0" and the
 * pool is not `gen:`. */
int alq_stream_may_overlap(const char *pool_path);

/* The default rows per read: about 8 MiB of embeddings and probabilities,
 * rounded to whole HDF5 chunks. */
int64_t alq_default_chunk_rows(const alq_pool_meta *meta);

#endif
