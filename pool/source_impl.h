/* pool/source_impl.h: constructors of the built-in sources (internal). */
#ifndef ALQ_SOURCE_IMPL_H
#define ALQ_SOURCE_IMPL_H
#include "alq/source.h"

alq_err alq_hdf5_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out);
/* A pool list (alq/pool_list.h): pool/source_multi.c. */
alq_err alq_multi_source_describe(const char *path, alq_pool_meta *meta);
alq_err alq_multi_source_open(MPI_Comm comm, const alq_pool_meta *meta, alq_source **out);
alq_err alq_multi_rows_of_ids(const alq_pool_meta *meta, const int64_t *ids, int64_t n, int64_t *rows);
alq_err alq_gen_source_describe(const char *spec, alq_pool_meta *meta);
alq_err alq_gen_source_open(const alq_pool_meta *meta, alq_source **out);

#endif
