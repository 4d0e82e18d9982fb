/* alq/isa.h: picking an instruction-set path at run time.
 *
 * Kernels with several implementations (alq/dot.h, alq/bound_filter.h, alq/half.h) keep a
 * table of paths, fastest first, each a struct whose first member is the
 * path's name ("avx512f", "avx2", "avx", "f16c", or a portable name such as "sse2",
 * "scalar", "generic" that every CPU of the build's architecture runs).
 * These helpers choose from such a table by what this CPU supports. */
#ifndef ALQ_ISA_H
#define ALQ_ISA_H
#include <stddef.h>

/* 1 when this CPU runs the named path (a portable name: always). */
int alq_isa_supported(const char *name);

/* A kernel's table and the path it uses: the fastest, chosen on first use,
 * or one a test named.  Not thread-safe to change: call before work. */
typedef struct {
  const void *table;
  size_t stride;
  int n;
  int chosen; /* -1 until first use */
} alq_isa_paths;
#define ALQ_ISA_PATHS(table) {(table), sizeof(table)[0], (int)(sizeof(table) / sizeof(table)[0]), -1}

/* The index of the path in use. */
int alq_isa_current(alq_isa_paths *p);
/* Uses the named path from now on (NULL: the fastest again); 0 when this
 * CPU cannot run it. */
int alq_isa_use(alq_isa_paths *p, const char *name);
/* The k-th path's name, fastest first, NULL past the last. */
const char *alq_isa_path_name(const alq_isa_paths *p, int k);

#endif
