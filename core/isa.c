/* core/isa.c: run-time choice among instruction-set paths (alq/isa.h). */
#include "alq/isa.h"

#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#endif

int alq_isa_supported(const char *name) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!strcmp(name, "avx512f"))
    return __builtin_cpu_supports("avx512f");
  if (!strcmp(name, "avx2"))
    return __builtin_cpu_supports("avx2");
  if (!strcmp(name, "avx"))
    return __builtin_cpu_supports("avx");
  if (!strcmp(name, "f16c")) { /* CPUID, not the builtin: clang 14 has no "f16c" string for it */
    unsigned a, b, c, d;
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
  }
#endif
  (void)name;
  return 1;
}

static const char *name_at(const void *table, size_t stride, int k) {
  return *(const char *const *)((const char *)table + (size_t)k * stride);
}

/* The first path in the table that this CPU runs (the table ends with a
 * portable one). */
static int fastest(const void *table, size_t stride, int n) {
  int k = 0;
  while (k < n - 1 && !alq_isa_supported(name_at(table, stride, k)))
    k++;
  return k;
}

/* The path called `name`, or -1 when there is none or this CPU cannot run it. */
static int named(const void *table, size_t stride, int n, const char *name) {
  for (int k = 0; k < n; k++)
    if (!strcmp(name_at(table, stride, k), name))
      return alq_isa_supported(name) ? k : -1;
  return -1;
}

int alq_isa_current(alq_isa_paths *p) {
  if (p->chosen < 0)
    p->chosen = fastest(p->table, p->stride, p->n);
  return p->chosen;
}

int alq_isa_use(alq_isa_paths *p, const char *name) {
  if (!name) {
    p->chosen = -1; /* the fastest again, chosen on next use */
    return 1;
  }
  int k = named(p->table, p->stride, p->n, name);
  if (k >= 0)
    p->chosen = k;
  return k >= 0;
}

const char *alq_isa_path_name(const alq_isa_paths *p, int k) {
  return k >= 0 && k < p->n ? name_at(p->table, p->stride, k) : NULL;
}
