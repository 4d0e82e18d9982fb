/* core/gemm_bound.c: the bound GEMM object and its run-time path choice
 * (alq/gemm.h).  The oneDNN path is compiled when alq was built against
 * libdnnl (ALQ_HAVE_DNNL) and taken when the CPU has AVX512-BF16. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <time.h>

#include "alq/gemm.h"
#include "alq/isa.h"
#include "gemm_avx512.h"

#ifdef ALQ_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif

char *openblas_get_corename(void); /* OpenBLAS's: the kernel it picked */

struct alq_bound_gemm {
  const char *path;
  int64_t nc, d, max_rows;
  float *c; /* nc x d: the SGEMM path's columns (and the fast path's fallback) */
  float *packed; /* avx512-f32: the columns packed (core/gemm_avx512.h), else NULL */
  char impl[128];
#ifdef ALQ_HAVE_DNNL
  dnnl_engine_t engine;
  dnnl_stream_t stream;
  dnnl_primitive_t matmul;
  dnnl_memory_t src, wei, dst;
  uint16_t *src_bf16; /* max_rows x d */
#endif
};

static const char *forced_path(void) {
  const char *e = getenv("ALQ_BOUND_GEMM");
  return e && *e ? e : NULL;
}

#ifdef ALQ_HAVE_DNNL
/* One oneDNN thread per process unless OMP_NUM_THREADS says otherwise: alq
 * runs one rank per core, as with OPENBLAS_NUM_THREADS=1. */
static void one_thread_per_rank(void) {
  if (!getenv("OMP_NUM_THREADS"))
    omp_set_num_threads(1);
}

/* OpenMP's thread count is per calling thread: the stream's compute thread
 * (workers/stream.c) sets its own before its first matmul. */
static void one_thread_per_rank_here(void) {
  static _Thread_local int done;
  if (!done) {
    one_thread_per_rank();
    done = 1;
  }
}

/* The matmul dst (max_rows x nc, f32) = src (max_rows x d, bf16) x wei
 * (d x nc, bf16, in the layout oneDNN prefers, reordered once from c). */
static int dnnl_build(alq_bound_gemm *g) {
  one_thread_per_rank();
  if ((dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_bf16) != dnnl_cpu_isa_avx512_core_bf16)
    return 0;
  if (dnnl_engine_create(&g->engine, dnnl_cpu, 0) != dnnl_success ||
      dnnl_stream_create(&g->stream, g->engine, dnnl_stream_default_flags) != dnnl_success)
    return 0;
  dnnl_dims_t sd = {g->max_rows, g->d}, wd = {g->d, g->nc}, dd = {g->max_rows, g->nc};
  dnnl_memory_desc_t smd, wmd_any, wmd_plain, dmd;
  dnnl_matmul_desc_t desc;
  dnnl_primitive_desc_t pd = NULL, rpd = NULL;
  dnnl_primitive_t reorder = NULL;
  dnnl_memory_t plain = NULL;
  uint16_t *c16 = NULL;
  int ok = dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_bf16, dnnl_ab) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&wmd_any, 2, wd, dnnl_bf16, dnnl_format_tag_any) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&wmd_plain, 2, wd, dnnl_bf16, dnnl_ba) == dnnl_success &&
           dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab) == dnnl_success &&
           dnnl_matmul_desc_init(&desc, &smd, &wmd_any, NULL, &dmd) == dnnl_success &&
           dnnl_primitive_desc_create(&pd, &desc, NULL, g->engine, NULL) == dnnl_success &&
           dnnl_primitive_create(&g->matmul, pd) == dnnl_success;
  const dnnl_memory_desc_t *wmd = ok ? dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0) : NULL;
  ok = ok && wmd && (c16 = malloc(sizeof *c16 * g->nc * g->d)) &&
       (g->src_bf16 = aligned_alloc(64, (sizeof *g->src_bf16 * g->max_rows * g->d + 63) / 64 * 64));
  if (ok) {
    const char *name = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    strncpy(g->impl, name ? name : "?", sizeof g->impl - 1);
    alq_bf16_round(g->c, g->nc * g->d, c16);
  }
  ok = ok && dnnl_memory_create(&plain, &wmd_plain, g->engine, c16) == dnnl_success &&
       dnnl_memory_create(&g->wei, wmd, g->engine, DNNL_MEMORY_ALLOCATE) == dnnl_success &&
       dnnl_memory_create(&g->src, &smd, g->engine, g->src_bf16) == dnnl_success &&
       dnnl_memory_create(&g->dst, &dmd, g->engine, DNNL_MEMORY_NONE) == dnnl_success &&
       dnnl_reorder_primitive_desc_create(&rpd, &wmd_plain, g->engine, wmd, g->engine, NULL) == dnnl_success &&
       dnnl_primitive_create(&reorder, rpd) == dnnl_success;
  if (ok) {
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, g->wei}};
    ok = dnnl_primitive_execute(reorder, g->stream, 2, args) == dnnl_success &&
         dnnl_stream_wait(g->stream) == dnnl_success;
  }
  if (reorder)
    dnnl_primitive_destroy(reorder);
  if (rpd)
    dnnl_primitive_desc_destroy(rpd);
  if (pd)
    dnnl_primitive_desc_destroy(pd);
  if (plain)
    dnnl_memory_destroy(plain);
  free(c16);
  return ok;
}

static void dnnl_release(alq_bound_gemm *g) {
  if (g->matmul)
    dnnl_primitive_destroy(g->matmul);
  if (g->src)
    dnnl_memory_destroy(g->src);
  if (g->wei)
    dnnl_memory_destroy(g->wei);
  if (g->dst)
    dnnl_memory_destroy(g->dst);
  if (g->stream)
    dnnl_stream_destroy(g->stream);
  if (g->engine)
    dnnl_engine_destroy(g->engine);
  free(g->src_bf16);
  g->matmul = NULL, g->src = g->wei = g->dst = NULL, g->stream = NULL, g->engine = NULL, g->src_bf16 = NULL;
}

static int dnnl_execute(alq_bound_gemm *g, float *out) {
  if (dnnl_memory_set_data_handle(g->dst, out) != dnnl_success)
    return 0;
  dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, g->src}, {DNNL_ARG_WEIGHTS, g->wei}, {DNNL_ARG_DST, g->dst}};
  return dnnl_primitive_execute(g->matmul, g->stream, 3, args) == dnnl_success &&
         dnnl_stream_wait(g->stream) == dnnl_success;
}

static void dnnl_pad(alq_bound_gemm *g, int64_t rows) {
  if (rows < g->max_rows) /* the primitive has one shape: pad */
    memset(g->src_bf16 + rows * g->d, 0, sizeof *g->src_bf16 * (g->max_rows - rows) * g->d);
}

static int dnnl_run(alq_bound_gemm *g, const float *x, int64_t rows, float *out) {
  one_thread_per_rank_here();
  alq_bf16_round(x, rows * g->d, g->src_bf16);
  dnnl_pad(g, rows);
  return dnnl_execute(g, out);
}

#endif

/* The avx512-f32 path: the columns packed for core/gemm_avx512.c. */
static int avx512_build(alq_bound_gemm *g) {
#if defined(__x86_64__)
  if (!alq_isa_supported("avx512f"))
    return 0;
  size_t bytes = sizeof(float) * (size_t)alq_f32x_packed_floats(g->nc, g->d);
  if (!(g->packed = aligned_alloc(64, (bytes + 63) / 64 * 64 + 64)))
    return 0;
  alq_f32x_pack(g->c, g->nc, g->d, g->packed);
  snprintf(g->impl, sizeof g->impl, "avx512f-fma-8x48");
  return 1;
#else
  (void)g;
  return 0;
#endif
}

/* A bound GEMM on `want` ("onednn-bf16", "avx512-f32"; anything else, or a
 * path that cannot be built here: openblas-f32).  NULL: out of memory. */
static alq_bound_gemm *make(const float *c, int64_t nc, int64_t d, int64_t max_rows, const char *want) {
  alq_bound_gemm *g = calloc(1, sizeof *g);
  if (!g)
    return NULL;
  g->nc = nc, g->d = d, g->max_rows = max_rows;
  if (alq_malloc_aligned(&g->c, sizeof(float) * (nc * d > 0 ? nc * d : 1), "bound GEMM columns")) {
    free(g);
    return NULL;
  }
  memcpy(g->c, c, sizeof(float) * nc * d);
  g->path = "openblas-f32";
  snprintf(g->impl, sizeof g->impl, "%s", openblas_get_corename());
  if (!strcmp(want, "avx512-f32") && avx512_build(g))
    g->path = "avx512-f32";
#ifdef ALQ_HAVE_DNNL
  if (!strcmp(want, "onednn-bf16") && nc > 0 && d > 0 && max_rows > 0) {
    if (dnnl_build(g))
      g->path = "onednn-bf16";
    else {
      dnnl_release(g);
      snprintf(g->impl, sizeof g->impl, "%s", openblas_get_corename());
    }
  }
#endif
  return g;
}

static char probe_note[64]; /* the probe's rates, for --log-view; empty: no probe ran */

#ifdef ALQ_HAVE_DNNL /* without oneDNN there is nothing to probe against */
static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The best of three timed calls of g on x (after one warm-up), in GFLOP/s. */
static double probe_rate(alq_bound_gemm *g, const float *x, float *out) {
  double best = 0;
  for (int rep = 0; rep < 4; rep++) {
    double t0 = seconds_now();
    alq_bound_gemm_run(g, x, g->max_rows, out);
    double t = seconds_now() - t0, rate = t > 0 ? 2.0 * (double)(g->max_rows * g->nc * g->d) / t / 1e9 : 0;
    if (rep > 0 && rate > best)
      best = rate;
  }
  return best;
}

/* Which fast path this process uses when none is forced and both can run:
 * the faster on a probe of the retrieval's shape (256 rows x 512 columns x
 * 128), measured once.  Their rates differ by machine more than either
 * differs from SGEMM: on AMD Zen 4 oneDNN's bf16 ran at ~4x the AVX-512
 * float rate (457 against ~120 GFLOP/s), on an Intel Xeon VM with
 * AVX512-BF16 at ~0.5x (77 against ~150).  Only the speed depends on it:
 * every path's entries are within their allowance, and only alq_dot's
 * values enter results. */
static const char *probe_choice = "avx512-f32";
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static void probe_paths(void) {
  enum { M = 256, N = 512, D = 128 };
  float *x = malloc(sizeof(float) * M * D), *c = malloc(sizeof(float) * N * D), *out = malloc(sizeof(float) * M * N);
  alq_bound_gemm *f = NULL, *b = NULL;
  if (x && c && out) {
    uint32_t s = 12345;
    for (int64_t i = 0; i < M * D; i++)
      x[i] = (float)((s = s * 1103515245u + 12345u) >> 8) * 0x1p-24f - 0.5f;
    for (int64_t i = 0; i < N * D; i++)
      c[i] = (float)((s = s * 1103515245u + 12345u) >> 8) * 0x1p-24f - 0.5f;
    f = make(c, N, D, M, "avx512-f32");
    b = make(c, N, D, M, "onednn-bf16");
  }
  if (f && b && !strcmp(f->path, "avx512-f32") && !strcmp(b->path, "onednn-bf16")) {
    double rf = probe_rate(f, x, out), rb = probe_rate(b, x, out);
    probe_choice = rb > rf ? "onednn-bf16" : "avx512-f32";
    snprintf(probe_note, sizeof probe_note, " (probe GFLOP/s: avx512-f32 %.0f, onednn-bf16 %.0f)", rf, rb);
  }
  alq_bound_gemm_free(f);
  alq_bound_gemm_free(b);
  free(x);
  free(c);
  free(out);
}
#endif

alq_err alq_bound_gemm_create(alq_bound_gemm **out, const float *c, int64_t nc, int64_t d, int64_t max_rows) {
  *out = NULL;
  const char *f = forced_path(), *want = f ? f : "avx512-f32";
#ifdef ALQ_HAVE_DNNL
  /* Both fast paths can run here: the one the probe found faster. */
  if (!f && alq_isa_supported("avx512f") &&
      (dnnl_get_effective_cpu_isa() & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16) {
    pthread_once(&probe_once, probe_paths);
    want = probe_choice;
  } else if (!f)
    want = "onednn-bf16"; /* no AVX-512F: falls back to SGEMM unless oneDNN runs */
#endif
  alq_bound_gemm *g = make(c, nc, d, max_rows, want);
  if (!g)
    return alq_error_set(ALQ_ERR_MEMORY, "out of memory for the bound GEMM");
  if (!f && !strcmp(g->path, want) && probe_note[0])
    strncat(g->impl, probe_note, sizeof g->impl - strlen(g->impl) - 1);
  *out = g;
  return ALQ_OK;
}

void alq_bound_gemm_run(alq_bound_gemm *g, const float *x, int64_t rows, float *out) {
  if (rows == 0 || g->nc == 0)
    return;
#if defined(__x86_64__)
  if (g->packed) {
    alq_f32x_run(g->packed, g->nc, g->d, x, rows, out);
    return;
  }
#endif
#ifdef ALQ_HAVE_DNNL
  if (g->matmul && dnnl_run(g, x, rows, out))
    return;
#endif
  alq_sgemm_nt(x, rows, g->d, g->c, g->nc, out);
}

void alq_bound_gemm_run_filter(alq_bound_gemm *g, const float *x, int64_t rows, const float *scale,
                               const float *threshold, float *scratch, uint64_t *bits) {
  if (rows == 0 || g->nc == 0)
    return;
#if defined(__x86_64__)
  if (g->packed) {
    alq_f32x_run_filter(g->packed, g->nc, g->d, x, rows, scale, threshold, bits);
    return;
  }
#endif
  alq_bound_gemm_run(g, x, rows, scratch);
  alq_f32x_bits(scratch, rows, g->nc, scale, threshold, bits);
}

const char *alq_bound_gemm_filter_path(const alq_bound_gemm *g) {
  return g->packed ? "in-kernel" : alq_f32x_bits_path();
}

float alq_bound_gemm_allowance(const alq_bound_gemm *g, double norm_product, double norm_sum) {
  /* Float conversions of the callers' norms carry a few ulps: rounded up. */
  return (float)(alq_bound_gemm_path_allowance(g->path, g->d, norm_product, norm_sum) * (1.0 + 1e-5) + 1e-30);
}

void alq_bound_gemm_allowance_terms(const alq_bound_gemm *g, double terms[3]) {
  alq_bound_gemm_path_allowance_terms(g->path, g->d, terms);
}

void alq_bound_gemm_path_allowance_terms(const char *path, int64_t d, double terms[3]) {
  /* The differences of the affine bound at three points, with the same
   * round-up as alq_bound_gemm_allowance plus 1e-9 for the subtractions. */
  double a0 = alq_bound_gemm_path_allowance(path, d, 0, 0);
  double a1 = alq_bound_gemm_path_allowance(path, d, 1, 0) - a0;
  double a2 = alq_bound_gemm_path_allowance(path, d, 0, 1) - a0;
  const double up = (1.0 + 1e-5) * (1.0 + 1e-9);
  terms[0] = a0 * up + 1e-30;
  terms[1] = a1 * up;
  terms[2] = a2 * up;
}

const char *alq_bound_gemm_path(const alq_bound_gemm *g) { return g->path; }

const char *alq_bound_gemm_impl(const alq_bound_gemm *g) { return g->impl; }

void alq_bound_gemm_free(alq_bound_gemm *g) {
  if (!g)
    return;
#ifdef ALQ_HAVE_DNNL
  dnnl_release(g);
#endif
  free(g->packed);
  free(g->c);
  free(g);
}
