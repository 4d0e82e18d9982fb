/* coordinator/manifest.c: the run manifest (protobuf Manifest): built from a
 * selection's options and timings, and printed by `alq manifest`. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alq.pb-c.h"
#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/logview.h"
#include "alq/manifest.h"
#include "alq/version.h"

/* Room for the selection's options as name/value text. */
#define MAX_OPTIONS 32
#define VALUE_MAX 32

typedef struct {
  Alq__ManifestOption msg[MAX_OPTIONS];
  Alq__ManifestOption *ptr[MAX_OPTIONS];
  char numbers[MAX_OPTIONS][VALUE_MAX];
  size_t n;
} option_list;

static void add_text(option_list *l, const char *name, const char *value) {
  alq__manifest_option__init(&l->msg[l->n]);
  l->msg[l->n].name = (char *)name;
  l->msg[l->n].value = (char *)value;
  l->ptr[l->n] = &l->msg[l->n];
  l->n++;
}

static void add_int(option_list *l, const char *name, long long value) {
  snprintf(l->numbers[l->n], VALUE_MAX, "%lld", value);
  add_text(l, name, l->numbers[l->n]);
}

/* The options as the run resolved them: what someone needs to repeat it. */
static void collect_options(const alq_select_options *opt, const alq_request *req, option_list *l) {
  static char layout[4 * (ALQ_DATASET_MAX + 16)]; /* alive until the manifest is packed */
  alq_layout_format(&req->meta.layout, layout, sizeof layout);
  l->n = 0;
  add_text(l, "pool", opt->pool);
  add_text(l, "layout", layout[0] ? layout : "(standard)");
  add_text(l, "strategy", req->strategy);
  add_int(l, "budget", req->budget);
  add_int(l, "candidates", req->candidates);
  add_int(l, "chunk-rows", req->chunk_rows);
  snprintf(l->numbers[l->n], VALUE_MAX, "%" PRIu64, req->seed);
  add_text(l, "seed", l->numbers[l->n]);
  add_text(l, "prune", req->prune ? "yes" : "no");
  static const char *const diversities[] = {"default", "none", "exact", "hier"};
  add_text(l, "diversity", req->diversity >= 0 && req->diversity < 4 ? diversities[req->diversity] : "?");
  add_int(l, "fan-in", req->fan_in);
  add_int(l, "memory-per-rank", req->memory_per_rank);
  add_text(l, "subpool", req->subpool == ALQ_SUBPOOL_ANCHORAL ? "anchoral" : "all");
  if (req->subpool == ALQ_SUBPOOL_ANCHORAL) {
    add_int(l, "anchors-per-class", req->anchors_per_class);
    add_int(l, "neighbors", req->neighbors);
    add_int(l, "subpool-size", req->subpool_size);
    add_text(l, "anchor-strategy", req->anchor_random ? "random" : "kmeanspp");
  }
  add_text(l, "labeled", opt->labeled[0] ? opt->labeled : "(the pool's /labeled)");
  add_text(l, "state", opt->state[0] ? opt->state : "(none)");
  add_text(l, "out", opt->out);
  add_text(l, "csv", opt->csv[0] ? opt->csv : "(none)");
  if (req->ood.kind != ALQ_OOD_NONE) {
    add_text(l, "ood", alq_ood_kind_name(req->ood.kind));
    snprintf(l->numbers[l->n], VALUE_MAX, "%.17g", req->ood.reject);
    add_text(l, "ood-reject", l->numbers[l->n]);
    if (req->ood.kind == ALQ_OOD_ENERGY) {
      snprintf(l->numbers[l->n], VALUE_MAX, "%.17g", req->ood.temperature > 0 ? req->ood.temperature : 1.0);
      add_text(l, "ood-temperature", l->numbers[l->n]);
    }
    if (req->ood.kind == ALQ_OOD_KNN)
      add_int(l, "ood-k", req->ood.k > 0 ? req->ood.k : 50); /* then at most the labeled items - 1 (docs/ood.md) */
    if (req->ood.space != ALQ_OOD_SPACE_SELECTION)
      add_text(l, "ood-space", alq_ood_space_name(req->ood.space));
    snprintf(l->numbers[l->n], VALUE_MAX, "%.17g", req->ood_threshold);
    add_text(l, "ood-threshold", l->numbers[l->n]);
    add_int(l, "ood-calibration-items", req->ood_calibration);
    add_int(l, "ood-rejected", req->ood_rejected);
  }
}

static alq_err pack(const alq_select_options *opt, const alq_request *req, int nranks, const alq_batch *batch,
                    const double *tmax, const double *tmin, const int64_t *bytes, alq_manifest_bytes *out) {
  Alq__PoolIdentity pool = ALQ__POOL_IDENTITY__INIT;
  pool.path = (char *)req->meta.path;
  pool.n_items = req->meta.n_items;
  pool.dim = req->meta.dim;
  pool.n_classes = req->meta.n_classes;
  pool.ids_checksum = req->ids_checksum;

  Alq__ManifestPhase phases[ALQ_PHASE_COUNT], *pp[ALQ_PHASE_COUNT];
  size_t n_phases = 0;
  for (int p = 0; p < ALQ_PHASE_COUNT; p++) {
    if (p == ALQ_PHASE_WRITE)
      continue; /* still running: it writes this manifest */
    alq__manifest_phase__init(&phases[n_phases]);
    phases[n_phases].name = (char *)alq_phase_name((alq_phase)p);
    phases[n_phases].seconds_max = tmax[p];
    phases[n_phases].seconds_min = tmin[p];
    phases[n_phases].bytes_read = bytes[p];
    pp[n_phases] = &phases[n_phases];
    n_phases++;
  }
  option_list options;
  collect_options(opt, req, &options);
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  const char *job = getenv("SLURM_JOB_ID");

  Alq__Manifest m = ALQ__MANIFEST__INIT;
  m.command = "select";
  m.alq_version = ALQ_VERSION;
  m.created_at = (int64_t)time(NULL);
  m.host = host;
  m.slurm_job_id = (char *)(job ? job : "");
  m.ranks = nranks;
  m.seed = req->seed;
  m.n_options = options.n;
  m.options = options.ptr;
  m.pool = &pool;
  m.n_phases = n_phases;
  m.phases = pp;
  m.selected = batch->n;
  m.batch_checksum = alq_ids_checksum(batch->ids, batch->n, 0);
  out->len = (int64_t)alq__manifest__get_packed_size(&m);
  ALQ_CHECK(alq_malloc(&out->data, (size_t)out->len, "the run manifest"));
  alq__manifest__pack(&m, out->data);
  return ALQ_OK;
}

alq_err alq_manifest_build(MPI_Comm comm, const alq_select_options *opt, const alq_request *req,
                           const alq_batch *batch, alq_manifest_bytes *out) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(out, 0, sizeof *out);
  const alq_phase_stats *st = alq_log_stats();
  /* Max and min in one reduction: min t = -max(-t). */
  double mine[2 * ALQ_PHASE_COUNT], ext[2 * ALQ_PHASE_COUNT];
  int64_t bytes_mine[ALQ_PHASE_COUNT], bytes[ALQ_PHASE_COUNT];
  for (int p = 0; p < ALQ_PHASE_COUNT; p++) {
    mine[p] = st[p].seconds;
    mine[ALQ_PHASE_COUNT + p] = -st[p].seconds;
    bytes_mine[p] = st[p].bytes_read;
  }
  ALQ_CHECK(alq_allreduce(mine, ext, 2 * ALQ_PHASE_COUNT, MPI_DOUBLE, MPI_MAX, comm));
  ALQ_CHECK(alq_allreduce(bytes_mine, bytes, ALQ_PHASE_COUNT, MPI_INT64_T, MPI_SUM, comm));
  double tmin[ALQ_PHASE_COUNT];
  for (int p = 0; p < ALQ_PHASE_COUNT; p++)
    tmin[p] = -ext[ALQ_PHASE_COUNT + p];
  alq_err err = rank == 0 ? pack(opt, req, size, batch, ext, tmin, bytes, out) : ALQ_OK;
  if (!err)
    err = alq_fault_point("manifest");
  return alq_agree(comm, err);
}

void alq_manifest_bytes_free(alq_manifest_bytes *m) {
  free(m->data);
  m->data = NULL;
  m->len = 0;
}

static void print_time(FILE *out, const char *indent, const char *key, int64_t t) {
  time_t tt = (time_t)t;
  struct tm tm;
  char text[64] = "?";
  if (gmtime_r(&tt, &tm))
    strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  fprintf(out, "%s%s: %s\n", indent, key, text);
}

alq_err alq_manifest_print(FILE *out, const uint8_t *data, int64_t len, const char *indent,
                           uint64_t *batch_checksum) {
  Alq__Manifest *m = alq__manifest__unpack(NULL, (size_t)len, data);
  if (!m)
    return alq_error_set(ALQ_ERR_INPUT, "the manifest (%lld bytes) is not a valid Manifest message", (long long)len);
  fprintf(out, "%scommand: %s\n", indent, m->command);
  fprintf(out, "%salq version: %s\n", indent, m->alq_version);
  print_time(out, indent, "created", m->created_at);
  fprintf(out, "%shost: %s\n", indent, m->host);
  if (m->slurm_job_id[0])
    fprintf(out, "%sslurm job: %s\n", indent, m->slurm_job_id);
  fprintf(out, "%sranks: %d\n", indent, m->ranks);
  fprintf(out, "%sseed: %" PRIu64 "\n", indent, m->seed);
  fprintf(out, "%soptions:\n", indent);
  for (size_t i = 0; i < m->n_options; i++)
    fprintf(out, "%s  --%s %s\n", indent, m->options[i]->name, m->options[i]->value);
  if (m->pool)
    fprintf(out, "%spool: %s (%lld items, dim %lld, %lld classes, ids checksum %016" PRIx64 ")\n", indent,
            m->pool->path, (long long)m->pool->n_items, (long long)m->pool->dim, (long long)m->pool->n_classes,
            m->pool->ids_checksum);
  fprintf(out, "%sphases (seconds, slowest and fastest rank; bytes read, all ranks):\n", indent);
  for (size_t i = 0; i < m->n_phases; i++)
    fprintf(out, "%s  %-8s %10.4f %10.4f %14lld\n", indent, m->phases[i]->name, m->phases[i]->seconds_max,
            m->phases[i]->seconds_min, (long long)m->phases[i]->bytes_read);
  fprintf(out, "%sselected: %lld\n", indent, (long long)m->selected);
  fprintf(out, "%sbatch checksum: %016" PRIx64 "\n", indent, m->batch_checksum);
  *batch_checksum = m->batch_checksum;
  alq__manifest__free_unpacked(m, NULL);
  return ALQ_OK;
}
