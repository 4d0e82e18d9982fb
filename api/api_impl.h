/* api/api_impl.h: the pieces of alq_api_select (internal). */
#ifndef ALQ_API_IMPL_H
#define ALQ_API_IMPL_H
#include <mpi.h>
#include <stdint.h>

#include "alq/api.h"
#include "alq/ood.h"
#include "alq/partition.h"
#include "alq/pool.h"
#include "alq/select.h"

/* Parses "key=value;..." (alq select's option names, file options excepted)
 * into *opt, with the defaults alq select has. */
alq_err alq_api_parse_options(const char *text, alq_select_options *opt);

/* Calls fn(ctx, key, value) for each item of "key=value;..." in order
 * (value NULL for a bare key), stopping at the first error. */
typedef alq_err (*alq_api_option_fn)(void *ctx, const char *key, const char *value);
alq_err alq_api_options_each(const char *text, alq_api_option_fn fn, void *ctx);

/* One option's value, with alq's CLI messages ("--key must be ..."). */
alq_err alq_api_option_int(const char *key, const char *text, int64_t min, int64_t max, int64_t *out);
alq_err alq_api_option_seed(const char *text, uint64_t *out);
alq_err alq_api_option_double(const char *key, const char *text, double min, double max, double *out);
alq_err alq_api_option_choice(const char *key, const char *text, const char *const *names, int n, int *out);
/* A flag: the key alone, key=1 or key=0. */
alq_err alq_api_option_flag(const char *key, const char *text, int *out);

/* The out-of-distribution options (ood, ood-reject, ood-temperature, ood-k,
 * ood-space) into *o, recording in *given (ALQ_OOD_GIVEN_*) what was set for
 * alq_ood_check_options.  *taken = 1 when `key` is one of them. */
alq_err alq_api_ood_option(const char *key, const char *value, alq_ood_options *o, unsigned *given, int *taken);

/* Rank 0: the labeled set of the arrays, checked as alq_labeled_read checks
 * /labeled (no id twice, labels in [0, n_classes); n_classes <= 0: labels
 * >= 0) and sorted by id.  `name` prefixes the messages. */
alq_err alq_api_labeled_copy(const char *name, const alq_api_labeled *in, int64_t n_classes, alq_labeled *out);

/* Where each rank's piece lies in the pool. */
typedef struct {
  int nranks;
  int64_t *first_row; /* nranks + 1: rank q holds rows [first_row[q], first_row[q + 1]) */
} alq_api_layout;

/* Collective: the pool's shape from every rank's piece (the same dim,
 * classes and use of ids on every rank, else a usage error on every rank)
 * and the layout of the pieces. */
alq_err alq_api_describe(MPI_Comm comm, const alq_api_pool *piece, alq_pool_meta *meta, alq_api_layout *layout);
void alq_api_layout_free(alq_api_layout *layout);

/* Collective: this rank's rows of `shard` (what alq_select_pool reads here)
 * in *rows: the caller's arrays when the pieces already are alq's shards,
 * else moved between ranks into arrays of *rows that *owned says to free. */
alq_err alq_api_to_shards(MPI_Comm comm, const alq_pool_meta *meta, const alq_api_layout *layout,
                          const alq_api_pool *piece, alq_range shard, alq_pool_data *rows, int *owned);

/* Collective: the rows of the labeled items (their embeddings and
 * probabilities), gathered from every rank's `rows` (global row `first_row`
 * first) onto every rank, sorted by id: what a fetch by id of a labeled item
 * reads.  Ids not in the pool are left out (the selection names them). */
alq_err alq_api_labeled_rows(MPI_Comm comm, const alq_pool_data *rows, int64_t first_row,
                             const alq_labeled *labeled, alq_pool_data *out);

#endif
