/* coordinator/memory_plan.c: the bytes a rank allocates for a selection
 * (alq/memory_plan.h), part by part, from the allocation sites named below.
 *
 * The sizes of fixed scratch blocks are those of the code they mirror; when
 * one of those files changes its buffers, this file must follow. */
#include "alq/memory_plan.h"

#include <stdio.h>
#include <string.h>

#include "alq/gemm.h"
#include "alq/strategy.h"
#include "alq/worker.h"

/* Mirrored constants: rows per SGEMM block (subpool/retrieval.c BLOCK_ROWS,
 * strategies/kcenter.c), centers per k-center refresh block (BLOCK_CENTERS),
 * rows per model-apply block (model/model_apply.c APPLY_BLOCK), the smallest
 * hierarchical leaf (strategies/kcenter_hier.c LEAF_MIN). */
enum { GEMM_ROWS = 256, BLOCK_CENTERS = 512, APPLY_BLOCK = 256, LEAF_MIN = 4096 };
/* Record sizes: alq_scored (score, id); the top-k sort's (record, slot); the
 * retrieval's hit (id, anchor, similarity).  The retrieval's keeper
 * (subpool/keeper.h): its record (score, slot, id), its struct, and the
 * KEEPER_SLACK x K records and rows of its buffer. */
enum { REC = 16, SLOTTED = 24, HIT = 24 };
enum { KEEPER_REC = 16, KEEPER_STRUCT = 64, KEEPER_SLACK = 2 };
/* glibc's qsort (a merge sort) mallocs a buffer as large as the array it
 * sorts, for elements of at most 32 bytes: 1 array's worth per sort. */
enum { QSORT_BUFFER = 1 };

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t at_least_1(int64_t n) { return n > 0 ? n : 1; }

const char *alq_memory_phase_name(alq_memory_phase p) {
  static const char *names[ALQ_MEM_PHASES] = {"retrieve", "anchor merge", "scan",  "sort",
                                              "reduce",   "redistribute", "select", "tree"};
  return p < ALQ_MEM_PHASES ? names[p] : "?";
}

const char *alq_memory_part_name(alq_memory_part p) {
  static const char *names[ALQ_MEM_PARTS] = {
      "chunk buffers",    "model",          "labeled set",    "anchor heaps",
      "anchor lists",     "subpool rows",   "candidates",     "reductions",
      "k-center state",   "k-center centers", "hier leaves",  "hier tree",
      "strategy state"};
  return p < ALQ_MEM_PARTS ? names[p] : "?";
}

/* What the plan's formulas read, derived once from the request. */
typedef struct {
  const alq_request *req;
  int ranks, rank;
  int64_t S;           /* this rank's shard rows */
  int64_t d, C;        /* served embedding width and classes */
  int64_t L, B;        /* labeled items, budget */
  int diverse, score;  /* a k-center stage follows; the strategy has a score stage */
  int anchoral;
  unsigned scan_fields;  /* fields of the score-and-keep pass (workers/scan.c) */
  int64_t n_heaps, k;    /* AnchorAL heaps and their size */
  int rows_fetched;      /* AnchorAL: the subpool's rows are fetched by id after the pass (alq/source.h) */
  int64_t row_payload;   /* AnchorAL: an item's row in a heap (embedding, probs, label), 0 when fetched */
  int64_t sub_share;     /* AnchorAL: bound on this rank's subpool rows */
  int64_t keep;          /* candidates this rank keeps */
  int keep_shard_bound;  /* keep is set by the shard (or the subpool share), not by B or M */
} inputs;

/* Rows of the pass the strategy's scan sees: the shard, or the subpool share. */
static int64_t scan_rows(const inputs *in) { return in->anchoral ? in->sub_share : in->S; }

static void derive(const alq_request *req, int ranks, int rank, int64_t shard_rows, inputs *in) {
  memset(in, 0, sizeof *in);
  const alq_pool_meta *m = &req->meta;
  const alq_strategy *s = alq_strategy_find(req->strategy);
  in->req = req;
  in->ranks = ranks;
  in->rank = rank;
  in->S = shard_rows;
  in->d = m->dim;
  in->C = m->n_classes;
  in->L = req->n_labeled;
  in->B = req->budget;
  in->diverse = req->diversity != ALQ_DIVERSITY_NONE;
  in->score = s && s->score;
  in->anchoral = req->subpool == ALQ_SUBPOOL_ANCHORAL;
  in->scan_fields = (s ? alq_strategy_fields(s) : ALQ_FIELD_IDS) | (in->diverse ? ALQ_FIELD_EMBEDDINGS : 0);
  if (in->diverse && alq_request_half_candidates(req, in->anchoral))
    in->scan_fields |= ALQ_FIELD_HALF_EMBEDDINGS;
  if (in->anchoral) {
    /* Anchors: per class at most A of its labeled items (subpool/anchors.c);
     * AnchorAL runs only with labeled items (select_pool.c anchoral_runs). */
    in->n_heaps = at_least_1(in->C > 0 ? min64(in->L, req->anchors_per_class * in->C) : in->L);
    in->k = req->neighbors;
    int entropy = (in->scan_fields & ALQ_FIELD_EXPECTED_ENTROPY) != 0; /* with the mean probabilities */
    /* retrieval.c: the pass reads the pool itself (no model or projection wraps it). */
    in->rows_fetched = alq_spec_fetch_is_cheap(m->path) && !req->model[0] && !req->project[0] && !req->projection[0];
    in->row_payload = in->rows_fetched ? 0
                                       : 4 * (in->d + (m->has_probs || entropy ? in->C : 0) +
                                              (m->has_labels ? 1 : 0) + entropy);
    /* A rank's share of the global top M holds only items its heaps kept. */
    in->sub_share = min64(min64(req->subpool_size, in->n_heaps * in->k), in->S);
  }
  int64_t rows = scan_rows(in), want = req->candidates;
  in->keep = want < 0 || want > rows ? rows : want;
  /* The subpool share shrinks with P only where the shard is what bounds it. */
  in->keep_shard_bound = (want < 0 || want > rows) && (!in->anchoral || in->sub_share == in->S);
}

/* workers/stream.c chunk_alloc: ids 8, labeled flag 1, and the fields read;
 * workers/scan.c adds a double score per row. */
static int64_t chunk_row_bytes(const inputs *in, unsigned fields) {
  int64_t b = 8 + 1;
  if (fields & ALQ_FIELD_EMBEDDINGS)
    b += 4 * in->d;
  if ((fields & ALQ_FIELD_EMBEDDINGS) && (fields & ALQ_FIELD_HALF_EMBEDDINGS))
    b += 2 * in->d; /* the stored halves kept beside the floats */
  if (fields & ALQ_FIELD_PROBS)
    b += 4 * in->C;
  if (fields & ALQ_FIELD_LABELS)
    b += 4;
  if (fields & ALQ_FIELD_EXPECTED_ENTROPY)
    b += 4;
  return b;
}

/* The rows per read of the pass over the pool (stream.c: at most the shard). */
static int64_t pool_chunk(const inputs *in) { return at_least_1(min64(in->req->chunk_rows, in->S)); }

/* pool/gen.c alq_gen_model_create, kept by the gen: source: class shares
 * (doubles), the means twice (the second padded to 16 classes), their norms
 * and one row's scratch. */
static int64_t gen_scratch(const inputs *in, const alq_memory_model *model) {
  if (strncmp(in->req->meta.path, "gen:", 4) != 0)
    return 0;
  int64_t d = in->req->model[0] ? model->dim : in->d, cpad = (in->C + 15) / 16 * 16;
  return 8 * in->C + 4 * in->C * d + 4 * d * cpad + 4 * cpad + 4 * (d + 3 * cpad + max64(d, cpad) + 2);
}

/* pool/source_hdf5.c read_mc: one pass's rows, the probability sums and the
 * entropy sums of a read, when BALD's inputs come from /mc_probs. */
static int64_t mc_scratch(const inputs *in) {
  if (!(in->scan_fields & ALQ_FIELD_EXPECTED_ENTROPY) || in->req->model[0] || in->req->meta.mc_passes <= 0)
    return 0;
  return pool_chunk(in) * (4 * in->C + 8 * in->C + 8);
}

/* subpool/retrieval.c retrieval_pass: rows with everything a heap keeps. */
static int64_t retrieve_chunk_bytes(const inputs *in) {
  const alq_pool_meta *m = &in->req->meta;
  unsigned entropy = in->scan_fields & ALQ_FIELD_EXPECTED_ENTROPY;
  unsigned f = ALQ_FIELD_EMBEDDINGS;
  if (!in->rows_fetched)
    f |= (m->has_probs || entropy ? ALQ_FIELD_PROBS : 0) | (m->has_labels ? ALQ_FIELD_LABELS : 0) | entropy;
  return pool_chunk(in) * chunk_row_bytes(in, f) + mc_scratch(in);
}

/* workers/scan.c: the strategy's fields and a double score per row; with
 * AnchorAL the subpool share is streamed as one chunk (select_pool.c). */
static int64_t scan_rows_per_read(const inputs *in) {
  return in->anchoral ? at_least_1(in->sub_share) : pool_chunk(in);
}
static int64_t scan_chunk_bytes(const inputs *in) {
  return scan_rows_per_read(in) * (chunk_row_bytes(in, in->scan_fields) + 8);
}

/* model/model_source.c and model_apply.c: the parameters, the input rows of a
 * read (or of rank 0's fetch of the labeled rows), and one call's blocks
 * (counted throughout: they are small). */
static int64_t model_bytes(const inputs *in, const alq_memory_model *model) {
  if (!in->req->model[0])
    return 0;
  int64_t d = model->dim, H = model->hidden, E = in->d, C = in->C;
  int64_t params = 4 * (2 * d + H * d + H + C * E + 2 * C); /* mean, std, w1, b1, w2, b2, class weights */
  int64_t cap = pool_chunk(in);
  if (in->rank == 0 && (in->anchoral || in->diverse))
    cap = max64(cap, in->L); /* labeled_embeddings fetches them in one call */
  int64_t input = cap * (4 * d + 8);
  int64_t apply = APPLY_BLOCK * 4 * (d + 2 * at_least_1(H) + 2 * C) + APPLY_BLOCK * 8 * (C + 1);
  return params + input + apply;
}

/* coordinator/select_run.c (ids, labels), workers/stream.c (found flags and
 * their OR-reduction), select_pool.c labeled_embeddings once a stage needs
 * them (AnchorAL: from the start; k-center: from the select stage). */
static int64_t labeled_bytes(const inputs *in, int with_embeddings) {
  return in->L * (8 + 4 + 2) + (with_embeddings ? in->L * 4 * in->d : 0);
}

/* retrieval.c retrieval_init, plus anchors.c's scratch and the rows the
 * anchors are copied from (alq_anchoral_subpool). */
static int64_t anchor_heap_bytes(const inputs *in) {
  int64_t A = in->n_heaps, K = in->k, d = in->d;
  int64_t heaps = A * (KEEPER_SLACK * K * (KEEPER_REC + in->row_payload) + KEEPER_STRUCT) +
                  KEEPER_SLACK * K * 4; /* and their shared compaction keys */
  /* anchors three times (the retrieval's, the bound GEMM's, its packed
   * copy: avx512-f32, 48 columns a panel), similarities, floor, threshold,
   * the shared floors' four, spare; the filter bits, 48 anchors a word per
   * block row */
  int64_t per_anchor = A * (3 * 4 * d + GEMM_ROWS * 4 + 4 * 7) + 48 * 4 * d + ((A + 47) / 48) * GEMM_ROWS * 8;
  int64_t scratch = GEMM_ROWS * 4 + in->row_payload;            /* inverse norms, one packed row */
  int64_t choose = in->L * (8 + 8 + 8 + 8 + 16);                /* chosen, members, norms, dist2, keys */
  return heaps + per_anchor + scratch + choose;
}

/* retrieval.c merge_heaps, group_subpool, take_local_rows.  Every rank holds
 * all A x K merged records (16) with, at the grouping, their hits (24) and
 * qsort's merge buffer of hits (24) -- more than the merging allreduce's own
 * buffer (about one message), the scores that follow the hits (16) or
 * take_local_rows' held rows (16 and 16 to sort them).  keeper_finish sorts
 * each keeper's records in place (qsort's buffer of K records, one keeper
 * at a time); the rows stay in their slots. */
static int64_t anchor_list_bytes(const inputs *in) {
  int64_t slots = in->n_heaps * in->k;
  return slots * (REC + HIT + QSORT_BUFFER * HIT) + in->k * REC + 8 * min64(in->req->subpool_size, slots) +
         in->k * QSORT_BUFFER * KEEPER_REC;
}

/* retrieval.c take_local_rows: id, embedding, probs, label of each row. */
static int64_t subpool_bytes(const inputs *in) {
  if (!in->anchoral)
    return 0;
  const alq_pool_meta *m = &in->req->meta;
  return in->sub_share * (8 + 4 * in->d + (m->has_probs ? 4 * in->C : 0) + (m->has_labels ? 4 : 0));
}

/* workers/scan.c and core/scored.c alq_topk: per kept candidate a record (16)
 * and slot (8), with its row when a k-center stage follows (binary16 from a
 * float16 pool: alq_request_half_candidates). */
static int64_t candidate_row(const inputs *in) {
  return !in->diverse ? 0 : (alq_request_half_candidates(in->req, in->anchoral) ? 2 : 4) * in->d;
}
static int64_t keeper_bytes(const inputs *in) { return at_least_1(in->keep) * (REC + 8 + candidate_row(in)); }
/* 0 when alq_topk_sort finds its records in alq's order and moves nothing
 * (core/scored.c): no score stage (every score 0), every row of the shard
 * kept, and ids that are the rows themselves, so they arrive increasing. */
static int sort_moves(const inputs *in) {
  return in->score || in->anchoral || in->req->meta.has_ids || !in->keep_shard_bound;
}
/* alq_topk_sort: a (record, slot) pair, qsort's merge buffer of as many
 * pairs, and a second copy of the rows. */
static int64_t sort_bytes(const inputs *in) {
  if (!sort_moves(in))
    return keeper_bytes(in);
  return keeper_bytes(in) + at_least_1(in->keep) * (SLOTTED + QSORT_BUFFER * SLOTTED + candidate_row(in));
}
/* take_candidates: ids and scores, and the rows the keeper handed over. */
static int64_t candidate_array_bytes(const inputs *in) { return at_least_1(in->keep) * (16 + candidate_row(in)); }

/* select_pool.c top_by_score / keep_global_top and core/scored.c: the local
 * records, the global top-k buffer, its merge buffer and the allreduce's own
 * (about one message when P > 1; the batch, allocated after those are freed,
 * is smaller); stream.c's shard id bounds (16 per rank). */
static int64_t reduction_bytes(const inputs *in) {
  int64_t m = in->diverse ? in->req->candidates : in->B;
  return in->keep * REC + m * REC * (2 + (in->ranks > 1)) + 16 * (int64_t)in->ranks;
}

/* Bound on the candidates across all ranks. */
static int64_t global_candidates(const inputs *in) {
  int64_t rows = in->anchoral ? in->req->subpool_size : in->req->meta.n_items;
  return in->req->candidates < 0 ? rows : min64(in->req->candidates, rows);
}

static int64_t hier_leaf(const inputs *in) { return max64(2 * in->B, LEAF_MIN); }

/* Items of the leaves this rank owns (kcenter_hier.c redistribute): the
 * leaves starting among its candidates, the last one running past them. */
static int64_t hier_received(const inputs *in) {
  return in->keep ? min64(in->keep + hier_leaf(in) - 1, global_candidates(in)) : 0;
}

/* Children a tree node merges: F, or fewer when there are fewer leaves; 0
 * when the only leaf is the root. */
static int64_t hier_children(const inputs *in) {
  int64_t F = in->req->fan_in > 1 ? in->req->fan_in : 8, leaf = hier_leaf(in);
  int64_t leaves = (global_candidates(in) + leaf - 1) / leaf;
  return leaves > 1 ? min64(F, leaves) : 0;
}

/* strategies/kcenter.c state_init for n candidates: norms, distances, seen
 * counts, and with pruning bounds, refreshed bounds, folded counts, heap
 * (the awake candidates), evaluated list and a bit of the dormant set. */
static int64_t kcenter_bytes(const inputs *in, int64_t n) {
  return at_least_1(n) * (4 + 4 + 4 + (in->req->prune ? 4 + 4 + 4 + 8 + 8 : 0)) +
         (in->req->prune ? (at_least_1(n) + 63) / 64 * 8 : 0);
}

/* kcenter.c: centers (labeled, then the batch: a second copy of the labeled
 * rows) with their norms, the refresh blocks (products and gathered rows),
 * the few centers of a small fold (transposed) and a bit per center count,
 * the new center and a widened row, the batch. */
static int64_t center_bytes(const inputs *in) {
  int64_t cap = at_least_1(in->L + in->B), d = in->d;
  int64_t scratch = in->req->prune ? GEMM_ROWS * BLOCK_CENTERS * 4 + GEMM_ROWS * 4 * at_least_1(d) +
                                         ALQ_BOUND_SMALL_MAX * 4 * at_least_1(d) + (cap + 64) / 64 * 8
                                   : 0;
  return cap * (4 * d + 4) + scratch + 2 * 4 * d + in->B * 16;
}

/* kcenter_hier.c: an item travels as id and row. */
static int64_t hier_rec(const inputs *in) { return 8 + 4 * in->d; }

/* redistribute: this rank's sorted copy and send buffer, the receive buffer
 * and the leaf items built from it, the candidate offsets. */
static int64_t redistribute_bytes(const inputs *in) {
  return 2 * in->keep * hier_rec(in) + 2 * hier_received(in) * hier_rec(in) + 8 * (int64_t)(in->ranks + 1);
}

/* Each owned leaf's result: at most B items. */
static int64_t leaf_result_bytes(const inputs *in) {
  int64_t leaf = hier_leaf(in);
  return (hier_received(in) + leaf - 1) / leaf * in->B * hier_rec(in);
}

/* merge_level at a node: the children's messages received and sent (only a
 * node straddling a rank boundary has children elsewhere: at most F of each),
 * the children unpacked, their concatenation, the sorted copy with its order
 * (union_sorted), and the node's result. */
static int64_t tree_node_bytes(const inputs *in) {
  int64_t items = hier_children(in) * in->B;
  return items * (5 * hier_rec(in) + 16) + in->B * hier_rec(in);
}

/* The parts live from the start to the end of the selection. */
static void add_lasting(const inputs *in, const alq_memory_model *model, int64_t *phase, int with_embeddings) {
  phase[ALQ_MEM_MODEL] = model_bytes(in, model);
  phase[ALQ_MEM_LABELED] = labeled_bytes(in, with_embeddings);
  phase[ALQ_MEM_SUBPOOL] = subpool_bytes(in);
}

static void fill_anchoral(const inputs *in, const alq_memory_model *model, alq_memory_plan *p) {
  int64_t *r = p->bytes[ALQ_MEM_RETRIEVE], *m = p->bytes[ALQ_MEM_MERGE];
  add_lasting(in, model, r, 1);
  r[ALQ_MEM_SUBPOOL] = 0; /* not taken yet */
  r[ALQ_MEM_CHUNK] = retrieve_chunk_bytes(in) + gen_scratch(in, model);
  r[ALQ_MEM_ANCHOR_HEAPS] = anchor_heap_bytes(in);
  add_lasting(in, model, m, 1);
  m[ALQ_MEM_ANCHOR_HEAPS] = anchor_heap_bytes(in);
  m[ALQ_MEM_ANCHOR_LISTS] = anchor_list_bytes(in);
}

static void fill_scan(const inputs *in, const alq_memory_model *model, alq_memory_plan *p) {
  int64_t *s = p->bytes[ALQ_MEM_SCAN], *o = p->bytes[ALQ_MEM_SORT];
  add_lasting(in, model, s, in->anchoral);
  s[ALQ_MEM_CHUNK] = scan_chunk_bytes(in) + (in->anchoral ? 0 : gen_scratch(in, model) + mc_scratch(in));
  s[ALQ_MEM_CANDIDATES] = keeper_bytes(in);
  add_lasting(in, model, o, in->anchoral);
  o[ALQ_MEM_CHUNK] = scan_rows_per_read(in) * 8; /* the chunk scores outlive the stream until the scan ends */
  o[ALQ_MEM_CANDIDATES] = sort_bytes(in);
  if (!in->diverse || (in->score && in->req->candidates > 0)) {
    int64_t *d = p->bytes[ALQ_MEM_REDUCE];
    add_lasting(in, model, d, in->anchoral);
    d[ALQ_MEM_CANDIDATES] = candidate_array_bytes(in);
    d[ALQ_MEM_REDUCTIONS] = reduction_bytes(in);
  }
}

/* A strategy's own select stage, sized by the strategy (alq_strategy
 * select_bytes) from this rank's candidates and the request. */
static int64_t strategy_select_bytes(const inputs *in, const alq_strategy *s) {
  alq_select_shape shape = {in->keep,     global_candidates(in), scan_rows(in), scan_rows_per_read(in),
                            in->d,        in->C,                 in->B,         in->L,
                            in->ranks};
  return s->select_bytes(&shape);
}

static void fill_select(const inputs *in, const alq_memory_model *model, alq_memory_plan *p) {
  int64_t *s = p->bytes[ALQ_MEM_SELECT];
  add_lasting(in, model, s, 1);
  s[ALQ_MEM_CANDIDATES] = candidate_array_bytes(in);
  const alq_strategy *own = alq_strategy_find(in->req->strategy);
  if (in->req->diversity == ALQ_DIVERSITY_DEFAULT && own && own->select_bytes) {
    s[ALQ_MEM_STRATEGY] = strategy_select_bytes(in, own);
    return;
  }
  s[ALQ_MEM_CENTERS] = center_bytes(in);
  if (in->req->diversity != ALQ_DIVERSITY_HIER) {
    s[ALQ_MEM_KCENTER] = kcenter_bytes(in, in->keep);
    return;
  }
  int64_t *r = p->bytes[ALQ_MEM_REDISTRIBUTE];
  add_lasting(in, model, r, 1);
  r[ALQ_MEM_CANDIDATES] = candidate_array_bytes(in);
  r[ALQ_MEM_HIER_LEAVES] = redistribute_bytes(in);
  s[ALQ_MEM_KCENTER] = kcenter_bytes(in, min64(hier_leaf(in), hier_received(in)));
  s[ALQ_MEM_HIER_LEAVES] = hier_received(in) * hier_rec(in) + leaf_result_bytes(in);
  if (hier_children(in) > 0) {
    int64_t *t = p->bytes[ALQ_MEM_TREE];
    add_lasting(in, model, t, 1);
    t[ALQ_MEM_CANDIDATES] = candidate_array_bytes(in);
    t[ALQ_MEM_CENTERS] = center_bytes(in);
    t[ALQ_MEM_KCENTER] = kcenter_bytes(in, hier_children(in) * in->B);
    t[ALQ_MEM_HIER_LEAVES] = leaf_result_bytes(in);
    t[ALQ_MEM_HIER_TREE] = tree_node_bytes(in);
  }
}

/* What lowers each part; "or add ranks" is added by the check only for the
 * parts bounded by the shard. */
static void set_advice(const inputs *in, alq_memory_plan *p) {
  const char *cand = !in->diverse  ? "lower --budget"
                     : in->score   ? "lower --candidates"
                     : in->anchoral ? "lower --subpool-size"
                                    : "use --subpool anchoral or margin-kcenter";
  p->advice[ALQ_MEM_CHUNK] = "lower --chunk-rows";
  p->advice[ALQ_MEM_MODEL] = "lower --chunk-rows or use a smaller model";
  p->advice[ALQ_MEM_LABELED] = "use a smaller labeled set (every rank holds all of it)";
  p->advice[ALQ_MEM_ANCHOR_HEAPS] = "lower --neighbors or --anchors-per-class";
  p->advice[ALQ_MEM_ANCHOR_LISTS] = "lower --neighbors or --anchors-per-class";
  p->advice[ALQ_MEM_SUBPOOL] = "lower --subpool-size";
  p->advice[ALQ_MEM_CANDIDATES] = cand;
  p->advice[ALQ_MEM_REDUCTIONS] = in->diverse ? "lower --candidates" : "lower --budget";
  p->advice[ALQ_MEM_KCENTER] = in->req->diversity == ALQ_DIVERSITY_HIER ? "lower --budget or --fan-in" : cand;
  p->advice[ALQ_MEM_CENTERS] = "lower --budget or use a smaller labeled set";
  p->advice[ALQ_MEM_HIER_LEAVES] = cand;
  p->advice[ALQ_MEM_HIER_TREE] = "lower --fan-in or --budget";
  p->advice[ALQ_MEM_STRATEGY] = cand;
}

void alq_memory_plan_compute(const alq_request *req, int ranks, int rank, int64_t shard_rows,
                             const alq_memory_model *model, alq_memory_plan *plan) {
  inputs in;
  derive(req, ranks, rank, shard_rows, &in);
  memset(plan, 0, sizeof *plan);
  plan->rank = rank;
  if (in.anchoral)
    fill_anchoral(&in, model, plan);
  fill_scan(&in, model, plan);
  if (in.diverse)
    fill_select(&in, model, plan);
  for (int ph = 0; ph < ALQ_MEM_PHASES; ph++) {
    for (int p = 0; p < ALQ_MEM_PARTS; p++)
      plan->phase_total[ph] += plan->bytes[ph][p];
    if (plan->phase_total[ph] > plan->phase_total[plan->peak])
      plan->peak = (alq_memory_phase)ph;
  }
  plan->total = plan->phase_total[plan->peak];
  /* More ranks shrink a part only when the shard is what bounds it. */
  if (in.keep_shard_bound) {
    plan->shrinks_with_ranks |= 1u << ALQ_MEM_CANDIDATES | 1u << ALQ_MEM_REDUCTIONS | 1u << ALQ_MEM_HIER_LEAVES;
    if (req->diversity != ALQ_DIVERSITY_HIER)
      plan->shrinks_with_ranks |= 1u << ALQ_MEM_KCENTER | 1u << ALQ_MEM_STRATEGY;
  }
  if (in.anchoral && in.sub_share == in.S && in.S < min64(req->subpool_size, in.n_heaps * in.k))
    plan->shrinks_with_ranks |= 1u << ALQ_MEM_SUBPOOL;
  set_advice(&in, plan);
}

/* "16.0 MiB": binary units, one decimal. */
static void human(int64_t bytes, char *buf, size_t len) {
  static const char *units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) {
    snprintf(buf, len, "%lld B", (long long)bytes);
    return;
  }
  double v = (double)bytes / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    u++;
  }
  snprintf(buf, len, "%.1f %s", v, units[u]);
}

/* Appends with snprintf semantics: *used counts what would have been written. */
static void append(char *buf, size_t len, int *used, const char *text) {
  size_t at = (size_t)*used < len ? (size_t)*used : len;
  *used += snprintf(buf + at, len - at, "%s", text);
}

/* The peak phase's largest part. */
static int largest_part(const alq_memory_plan *plan) {
  int top = 0;
  for (int p = 1; p < ALQ_MEM_PARTS; p++)
    if (plan->bytes[plan->peak][p] > plan->bytes[plan->peak][top])
      top = p;
  return top;
}

int alq_memory_plan_format(const alq_memory_plan *plan, char *buf, size_t len) {
  const int64_t *b = plan->bytes[plan->peak];
  int order[ALQ_MEM_PARTS], n = 0;
  for (int p = 0; p < ALQ_MEM_PARTS; p++)
    if (b[p] > 0) {
      int at = n++;
      while (at > 0 && b[order[at - 1]] < b[p]) {
        order[at] = order[at - 1];
        at--;
      }
      order[at] = p;
    }
  char size[32], item[96];
  int used = 0;
  if (len)
    buf[0] = '\0';
  human(plan->total, size, sizeof size);
  snprintf(item, sizeof item, "%s (in %s: ", size, alq_memory_phase_name(plan->peak));
  append(buf, len, &used, item);
  for (int i = 0; i < n; i++) {
    human(b[order[i]], size, sizeof size);
    snprintf(item, sizeof item, "%s%s %s", i ? ", " : "", alq_memory_part_name(order[i]), size);
    append(buf, len, &used, item);
  }
  append(buf, len, &used, ")");
  return used;
}

int alq_memory_plan_format_phases(const alq_memory_plan *plan, char *buf, size_t len) {
  char size[32], item[64];
  int used = 0, n = 0;
  if (len)
    buf[0] = '\0';
  for (int ph = 0; ph < ALQ_MEM_PHASES; ph++)
    if (plan->phase_total[ph] > 0) {
      human(plan->phase_total[ph], size, sizeof size);
      snprintf(item, sizeof item, "%s%s %s", n++ ? ", " : "", alq_memory_phase_name(ph), size);
      append(buf, len, &used, item);
    }
  return used;
}

alq_err alq_memory_plan_check(const alq_memory_plan *plan, int64_t limit) {
  if (limit <= 0 || plan->total <= limit)
    return ALQ_OK;
  int top = largest_part(plan);
  char breakdown[640], lim[64], need[32];
  alq_memory_plan_format(plan, breakdown, sizeof breakdown);
  human(limit, lim, sizeof lim);
  human(plan->total, need, sizeof need);
  if (strcmp(lim, need) == 0) /* rounded alike: say by how much it is short */
    snprintf(lim, sizeof lim, "%lld B (the plan: %lld B)", (long long)limit, (long long)plan->total);
  return alq_error_set(ALQ_ERR_MEMORY, "rank %d needs %s > --memory-per-rank %s: %s%s", plan->rank, breakdown, lim,
                       plan->advice[top], plan->shrinks_with_ranks & (1u << top) ? ", or add ranks" : "");
}
