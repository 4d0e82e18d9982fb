/* alq/isa.h: picking an instruction-set path at run time.
 *
 * Kernels with several implementations (alq/dot.h, alq/bound_filter.h) keep a
 * table of paths, fastest first, each a struct whose first member is the
 * path's name ("avx512f", "avx2", "avx", "f16c", or a portable name such as "sse2",
 * "scalar", "generic" that every CPU of the build's architecture runs).
 * These helpers choose from such a table by what this CPU supports. */
#ifndef ALQ_ISA_H
#define ALQ_ISA_H
#include <stddef.h>

/* 1 when this CPU runs the named path (a portable name: always). */
int alq_isa_supported(const char *name);

/* The index of the first path in the table (n entries of `stride` bytes, the
 * name first) that this CPU runs; the table must end with a portable path. */
int alq_isa_fastest(const void *table, size_t stride, int n);

/* The index of the path called `name`, or -1 when the table has none or this
 * CPU cannot run it. */
int alq_isa_named(const void *table, size_t stride, int n, const char *name);

#endif
