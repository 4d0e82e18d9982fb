/* coordinator/report.c: per-rank reports (protobuf RankReport) gathered on
 * rank 0, and the --log-view table built from them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq.pb-c.h"
#include "alq/comm.h"
#include "alq/dot.h"
#include "alq/half.h"
#include "alq/fault.h"
#include "alq/logview.h"
#include "coordinator.h"

char *openblas_get_corename(void); /* OpenBLAS's: the kernel it picked (or OPENBLAS_CORETYPE forced) */

static alq_err pack_report(int rank, const alq_rank_facts *f, uint8_t **buf, int *len) {
  const alq_phase_stats *st = alq_log_stats();
  Alq__PhaseStats phases[ALQ_PHASE_COUNT], *pp[ALQ_PHASE_COUNT];
  for (int p = 0; p < ALQ_PHASE_COUNT; p++) {
    alq__phase_stats__init(&phases[p]);
    phases[p].name = (char *)alq_phase_name((alq_phase)p);
    phases[p].seconds = st[p].seconds;
    phases[p].bytes_read = st[p].bytes_read;
    phases[p].messages = st[p].messages;
    phases[p].message_bytes = st[p].message_bytes;
    phases[p].flops = st[p].flops;
    pp[p] = &phases[p];
  }
  Alq__RankReport m = ALQ__RANK_REPORT__INIT;
  m.rank = rank;
  m.row_lo = f->row_lo;
  m.row_hi = f->row_hi;
  m.unlabeled = f->unlabeled;
  m.candidates = f->candidates;
  m.n_phases = ALQ_PHASE_COUNT;
  m.phases = pp;
  const alq_overlap_stats *ov = alq_log_overlap();
  m.overlapped_passes = ov->overlapped_passes;
  m.serial_passes = ov->serial_passes;
  m.overlapped_chunks = ov->overlapped_chunks;
  m.read_waited = ov->read_waited;
  m.compute_waited = ov->compute_waited;
  m.stream_seconds = ov->seconds;
  *len = (int)alq__rank_report__get_packed_size(&m);
  ALQ_CHECK(alq_malloc(buf, *len, "rank report"));
  alq__rank_report__pack(&m, *buf);
  return ALQ_OK;
}

typedef struct {
  double tmax, tmin;
  int64_t bytes_read, messages, message_bytes, flops;
} phase_row;

/* Streaming passes, max over ranks (the waits), and rank 0's reason for a serial pass. */
typedef struct {
  int64_t overlapped_passes, serial_passes, chunks;
  double read_waited, compute_waited, seconds;
} overlap_row;

static void print_overlap(const overlap_row *o) {
  const char *why = alq_log_overlap()->serial_reason;
  if (o->overlapped_passes > 0)
    fprintf(stderr, "stream: reads overlapped with compute: %lld pass(es), %lld chunks; read waited %.3f s for "
            "compute, compute waited %.3f s for reads (max over ranks)", (long long)o->overlapped_passes,
            (long long)o->chunks, o->read_waited, o->compute_waited);
  else
    fprintf(stderr, "stream: reads not overlapped with compute");
  if (o->serial_passes > 0)
    fprintf(stderr, "%s%lld pass(es) serial (%s)", o->overlapped_passes > 0 ? "; " : ": ",
            (long long)o->serial_passes, why ? why : "on another rank");
  fprintf(stderr, "; passes' wall time %.3f s (max over ranks)\n", o->seconds);
}

/* Which path the candidate rows took (the same on every rank: workers/scan.c). */
static void print_rows_path(void) {
  const alq_rows_path *rp = alq_log_rows_path_taken();
  if (!rp->recorded)
    return;
  if (rp->in_place)
    fprintf(stderr, "candidate rows: float16 as stored, mapped from the pool file in place (no copy)\n");
  else
    fprintf(stderr, "candidate rows: float16, copied into candidate memory (not mapped: %s)\n", rp->why);
}

static void print_table(const alq_log_view_head *head, int size, phase_row *rows, int64_t items_min,
                        int64_t items_max, const overlap_row *overlap) {
  const alq_pool_meta *meta = head->meta;
  fprintf(stderr, "\n---------------------------------- alq log view ----------------------------------\n");
  fprintf(stderr, "%s, %d rank(s), pool %lld x %lld, %s\n", head->title, size, (long long)meta->n_items,
          (long long)meta->dim, meta->path);
  fprintf(stderr, "rows per rank: min %lld, max %lld\n", (long long)items_min, (long long)items_max);
  /* Which fast paths ran: alq_dot decides every value, BLAS only bounds. */
  fprintf(stderr, "arithmetic: alq_dot path %s (decides values), OpenBLAS %s kernel (bounds only)\n",
          alq_dot_path(), openblas_get_corename());
  if (meta->embeddings_width == 2) /* kcenter's own line says whether its rows stayed halves */
    fprintf(stderr, "float16 rows: widened by alq_half_to_float path %s (exact)\n", alq_half_path());
  if (head->notes)
    head->notes(head->ctx, size);
  print_overlap(overlap);
  print_rows_path();
  fprintf(stderr, "%-8s %11s %11s %6s %13s %9s %13s %9s\n", "phase", "max time(s)", "min time(s)", "ratio",
          "bytes read", "messages", "msg bytes", "GFLOP/s");
  phase_row total = {0};
  for (int p = 0; p < ALQ_PHASE_COUNT; p++) {
    phase_row *r = &rows[p];
    /* A phase only rank 0 runs (write) has no meaningful imbalance. */
    double ratio = r->tmin > 1e-6 ? r->tmax / r->tmin : 0.0;
    double gflops = r->tmax > 0 ? (double)r->flops / r->tmax / 1e9 : 0.0;
    fprintf(stderr, "%-8s %11.4f %11.4f %6.2f %13lld %9lld %13lld %9.2f\n", alq_phase_name((alq_phase)p), r->tmax,
            r->tmin, ratio, (long long)r->bytes_read, (long long)r->messages, (long long)r->message_bytes, gflops);
    total.tmax += r->tmax;
    total.bytes_read += r->bytes_read;
    total.messages += r->messages;
    total.message_bytes += r->message_bytes;
  }
  fprintf(stderr, "%-8s %11.4f %11s %6s %13lld %9lld %13lld\n", "total", total.tmax, "", "", (long long)total.bytes_read,
          (long long)total.messages, (long long)total.message_bytes);
  fprintf(stderr, "(time: max/min over ranks; bytes and messages: summed over ranks; a message is one MPI call)\n");
  fprintf(stderr, "-----------------------------------------------------------------------------------\n");
}

/* Adds rank report m to the phase rows, the rows-per-rank range and the
 * overlap row (max over ranks). */
static void accumulate(const Alq__RankReport *m, phase_row *rows, int64_t *items_min, int64_t *items_max,
                       overlap_row *overlap) {
  int64_t items = m->row_hi - m->row_lo;
  *items_min = items < *items_min ? items : *items_min;
  *items_max = items > *items_max ? items : *items_max;
  for (size_t p = 0; p < m->n_phases && p < ALQ_PHASE_COUNT; p++) {
    const Alq__PhaseStats *s = m->phases[p];
    rows[p].tmax = s->seconds > rows[p].tmax ? s->seconds : rows[p].tmax;
    rows[p].tmin = s->seconds < rows[p].tmin ? s->seconds : rows[p].tmin;
    rows[p].bytes_read += s->bytes_read;
    rows[p].messages += s->messages;
    rows[p].message_bytes += s->message_bytes;
    rows[p].flops += s->flops;
  }
  overlap->overlapped_passes = m->overlapped_passes > overlap->overlapped_passes ? m->overlapped_passes
                                                                                : overlap->overlapped_passes;
  overlap->serial_passes = m->serial_passes > overlap->serial_passes ? m->serial_passes : overlap->serial_passes;
  overlap->chunks = m->overlapped_chunks > overlap->chunks ? m->overlapped_chunks : overlap->chunks;
  overlap->read_waited = m->read_waited > overlap->read_waited ? m->read_waited : overlap->read_waited;
  overlap->compute_waited = m->compute_waited > overlap->compute_waited ? m->compute_waited : overlap->compute_waited;
  overlap->seconds = m->stream_seconds > overlap->seconds ? m->stream_seconds : overlap->seconds;
}

/* Rank 0: the table from the gathered reports (counts[r] bytes at all + displs[r]). */
static alq_err print_reports(const alq_log_view_head *head, int size, const unsigned char *all, const int *counts,
                             const int *displs) {
  phase_row rows[ALQ_PHASE_COUNT];
  for (int p = 0; p < ALQ_PHASE_COUNT; p++)
    rows[p] = (phase_row){0, 1e300, 0, 0, 0, 0};
  int64_t items_min = INT64_MAX, items_max = 0;
  overlap_row overlap = {0};
  for (int r = 0; r < size; r++) {
    Alq__RankReport *m = alq__rank_report__unpack(NULL, counts[r], all + displs[r]);
    if (!m)
      return alq_error_set(ALQ_ERR_MPI, "rank %d sent a malformed RankReport", r);
    accumulate(m, rows, &items_min, &items_max, &overlap);
    alq__rank_report__free_unpacked(m, NULL);
  }
  print_table(head, size, rows, items_min, items_max, &overlap);
  return ALQ_OK;
}

alq_err alq_log_view_gather(MPI_Comm comm, const alq_log_view_head *head, const alq_rank_facts *facts) {
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  uint8_t *mine = NULL;
  int len = 0;
  alq_err perr = pack_report(rank, facts, &mine, &len);
  if (!perr)
    perr = alq_fault_point("report");
  perr = alq_agree(comm, perr);
  if (perr) {
    free(mine);
    return perr;
  }
  unsigned char *all = NULL;
  int *counts = NULL, *displs = NULL;
  alq_err err = alq_gatherv_bytes(mine, len, 0, comm, &all, &counts, &displs);
  free(mine);
  if (!err && rank == 0 && head)
    err = print_reports(head, size, all, counts, displs);
  free(all);
  free(counts);
  free(displs);
  return err;
}

/* select's own line of the table: the --ood stage's outcome. */
static void select_notes(const void *ctx, int size) {
  const alq_request *req = ctx;
  if (req->ood.kind == ALQ_OOD_NONE)
    return;
  fprintf(stderr, "ood: %s rejected %lld unlabeled item(s) above threshold %.6g (calibrated on %lld labeled, q = %g); "
          "per rank:", alq_ood_kind_name(req->ood.kind), (long long)req->ood_rejected, req->ood_threshold,
          (long long)req->ood_calibration, req->ood.reject);
  for (int r = 0; r < size; r++)
    fprintf(stderr, " %lld", (long long)req->ood_rejected_per_rank[r]);
  fprintf(stderr, "\n");
}

alq_err alq_report_gather(MPI_Comm comm, const alq_request *req, const alq_rank_facts *facts) {
  alq_log_view_head head = {"", &req->meta, select_notes, req};
  snprintf(head.title, sizeof head.title, "select: strategy %s, budget %lld", req->strategy, (long long)req->budget);
  return alq_log_view_gather(comm, req->log_view ? &head : NULL, facts);
}
