/* strategies/kcenter_hier.c: the hierarchical k-center reduction.
 *
 * The exact k-center needs one collective per selected item.  This one needs a
 * handful: the candidates, in global id order, are cut into leaves of a fixed
 * number of items; greedy farthest-first (seeded with the labeled centers)
 * reduces each leaf to k' = B items; groups of F (--fan-in) sibling results are
 * merged up a tree, each parent running the greedy on the union of its
 * children back down to k'; the root's greedy order is the batch.
 *
 * Leaves are defined by global candidate index, not by rank, so the tree and
 * hence the batch are the same whatever the number of ranks.  Each level keeps
 * a 2-approximate cover of its inputs (composable core-sets), so the final
 * radius is within a small factor of the exact greedy's; bench/ measures it.
 *
 * Failure: every step that can fail on one rank is followed by alq_agree()
 * before any message that depends on it is posted, so no rank waits for a
 * message that will never come (docs/reliability.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq.pb-c.h"
#include "alq/comm.h"
#include "alq/fault.h"
#include "alq/strategy.h"

/* A leaf holds at least this many candidates (and at least 2B), so that a
 * leaf's greedy has room to choose. */
#define LEAF_MIN 4096

/* ---- item sets: ids with their embedding rows ---- */

typedef struct {
  int64_t n, dim;
  int64_t *ids;
  float *emb;
} item_set;

static void set_free(item_set *s) {
  free(s->ids);
  free(s->emb);
  memset(s, 0, sizeof *s);
}

static alq_err set_alloc(item_set *s, int64_t n, int64_t dim) {
  s->n = n;
  s->dim = dim;
  ALQ_CHECK(alq_malloc(&s->ids, sizeof(int64_t) * (n ? n : 1), "hierarchical k-center ids"));
  return alq_malloc_aligned(&s->emb, sizeof(float) * dim * (n ? n : 1), "hierarchical k-center embeddings");
}

static void sets_free(item_set *sets, int64_t n) {
  for (int64_t i = 0; sets && i < n; i++)
    set_free(&sets[i]);
  free(sets);
}

typedef struct {
  int64_t id;
  int64_t at;
} id_at;

static int cmp_id_at(const void *pa, const void *pb) {
  const id_at *a = pa, *b = pb;
  return (a->id > b->id) - (a->id < b->id);
}

static int cmp_id(const void *pa, const void *pb) {
  int64_t a = *(const int64_t *)pa, b = *(const int64_t *)pb;
  return (a > b) - (a < b);
}

/* Copies the rows into `to` sorted by id. */
static alq_err sorted_copy(const int64_t *ids, const float *emb, int64_t n, int64_t dim, item_set *to) {
  id_at *order = NULL;
  ALQ_CHECK(alq_malloc(&order, sizeof *order * (n ? n : 1), "id order"));
  for (int64_t i = 0; i < n; i++)
    order[i] = (id_at){ids[i], i};
  qsort(order, n, sizeof *order, cmp_id_at);
  alq_err err = set_alloc(to, n, dim);
  for (int64_t i = 0; !err && i < n; i++) {
    to->ids[i] = order[i].id;
    memcpy(to->emb + i * dim, emb + order[i].at * dim, sizeof(float) * dim);
  }
  free(order);
  return err;
}

/* Concatenates child results and sorts by id (the node's input set). */
static alq_err union_sorted(const item_set *children, int64_t n_children, int64_t dim, item_set *out) {
  int64_t n = 0;
  for (int64_t c = 0; c < n_children; c++)
    n += children[c].n;
  item_set cat;
  ALQ_CHECK(set_alloc(&cat, n, dim));
  int64_t at = 0;
  for (int64_t c = 0; c < n_children; c++) {
    memcpy(cat.ids + at, children[c].ids, sizeof(int64_t) * children[c].n);
    memcpy(cat.emb + at * dim, children[c].emb, sizeof(float) * dim * children[c].n);
    at += children[c].n;
  }
  alq_err err = sorted_copy(cat.ids, cat.emb, n, dim, out);
  set_free(&cat);
  return err;
}

/* ---- tree layout: which rank owns which leaf and node ---- */

/* Leaf l holds global candidates [l leaf, (l+1) leaf); node j of a level whose
 * nodes span `width` leaves covers leaves [j width, (j+1) width).  A leaf or
 * node lives on the rank holding its first candidate. */
typedef struct {
  int size, rank;
  const int64_t *offsets; /* size + 1: global index of each rank's first candidate */
  int64_t leaf, fan_in, n_total, n_leaves;
  int64_t first_leaf, end_leaf; /* the leaves owned here: [first_leaf, end_leaf) */
} tree;

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

static tree tree_layout(const int64_t *offsets, int size, int rank, int64_t leaf, int64_t fan_in) {
  tree t = {size, rank, offsets, leaf, fan_in, offsets[size], ceil_div(offsets[size], leaf), 0, 0};
  t.first_leaf = ceil_div(offsets[rank], leaf);
  t.end_leaf = ceil_div(offsets[rank + 1], leaf);
  if (t.end_leaf < t.first_leaf)
    t.end_leaf = t.first_leaf;
  return t;
}

/* The rank holding global candidate g: the last rank whose range starts at or
 * before g (ranks without candidates have empty ranges and are skipped). */
static int owner_of_index(const tree *t, int64_t g) {
  int lo = 0, hi = t->size - 1;
  while (lo < hi) {
    int mid = lo + (hi - lo + 1) / 2;
    if (t->offsets[mid] <= g)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

static int owner_of_node(const tree *t, int64_t node, int64_t width) {
  return owner_of_index(t, node * width * t->leaf);
}

/* The nodes of a level (of `width` leaves each) owned here: [*first, *first + *count). */
static void nodes_here(const tree *t, int64_t width, int64_t *first, int64_t *count) {
  *first = ceil_div(t->first_leaf, width);
  *count = ceil_div(t->end_leaf, width) - *first;
}

/* ---- leaves: candidates to their leaf's rank, then greedy per leaf ---- */

static void put_record(unsigned char *at, int64_t id, const float *row, int64_t dim) {
  memcpy(at, &id, 8);
  memcpy(at + 8, row, 4 * dim);
}

static void get_record(const unsigned char *at, int64_t *id, float *row, int64_t dim) {
  memcpy(id, at, 8);
  memcpy(row, at + 8, 4 * dim);
}

/* Packs this rank's candidates as records and counts the bytes bound for
 * each rank: candidates are in global order, so each destination gets one
 * contiguous run. */
static void pack_for_leaves(const tree *t, const item_set *mine, int64_t rec, unsigned char *sbuf, int64_t *scount,
                            int64_t *sdispl) {
  for (int64_t i = 0; i < mine->n; i++) {
    int64_t g = t->offsets[t->rank] + i;
    scount[owner_of_index(t, g / t->leaf * t->leaf)] += rec;
    put_record(sbuf + i * rec, mine->ids[i], mine->emb + i * mine->dim, mine->dim);
  }
  for (int r = 1; r < t->size; r++)
    sdispl[r] = sdispl[r - 1] + scount[r - 1];
}

/* Moves every candidate (sorted by id) to the rank that owns its leaf. */
static alq_err redistribute(MPI_Comm comm, const tree *t, const item_set *mine, item_set *got) {
  const int64_t rec = 8 + 4 * mine->dim, P = t->size;
  int64_t *counts = NULL; /* send counts, send offsets, receive counts, receive offsets */
  unsigned char *sbuf = NULL, *rbuf = NULL;
  alq_err err = alq_calloc(&counts, 4 * (size_t)P, sizeof *counts, "k-center redistribution counts");
  if (!err)
    err = alq_malloc(&sbuf, rec * (mine->n ? mine->n : 1), "k-center redistribution buffer");
  err = alq_agree(comm, err);
  if (!err) {
    pack_for_leaves(t, mine, rec, sbuf, counts, counts + P);
    err = alq_alltoall_int64(counts, counts + 2 * P, comm);
  }
  int64_t total = 0;
  for (int r = 0; !err && r < P; r++) {
    counts[3 * P + r] = total;
    total += counts[2 * P + r];
  }
  if (!err)
    err = alq_agree(comm, alq_malloc(&rbuf, total ? total : 1, "k-center leaves"));
  if (!err)
    err = alq_alltoallv_bytes(sbuf, counts, counts + P, rbuf, counts + 2 * P, counts + 3 * P, comm);
  if (!err)
    err = alq_agree(comm, set_alloc(got, total / rec, mine->dim));
  for (int64_t i = 0; !err && i < got->n; i++)
    get_record(rbuf + i * rec, &got->ids[i], got->emb + i * mine->dim, mine->dim);
  free(counts);
  free(sbuf);
  free(rbuf);
  return err;
}

/* Greedy on one node's items (sorted by id), on this rank alone, down to
 * `keep` items: `out` gets the chosen items in greedy order, `order` the
 * greedy's batch. */
static alq_err reduce_to_set(const alq_select_ctx *ctx, const alq_centers *labeled, const item_set *items,
                             int64_t keep, item_set *out, alq_batch *order) {
  alq_candidates cand = {items->n, items->dim, items->ids, NULL, items->emb, NULL, 0, NULL, 0};
  alq_select_ctx local = *ctx;
  local.comm = MPI_COMM_SELF;
  local.budget = keep < items->n ? keep : items->n;
  local.log_view = 0;
  ALQ_CHECK(alq_kcenter_select(&local, &cand, labeled, order));
  ALQ_CHECK(set_alloc(out, order->n, items->dim));
  for (int64_t i = 0; i < order->n; i++) {
    const int64_t *at = bsearch(&order->ids[i], items->ids, items->n, sizeof *items->ids, cmp_id);
    out->ids[i] = order->ids[i];
    memcpy(out->emb + i * items->dim, items->emb + (at - items->ids) * items->dim, sizeof(float) * items->dim);
  }
  return ALQ_OK;
}

/* Reduces every leaf held here; keeps the greedy order when a leaf is the root. */
static alq_err reduce_leaves(const alq_select_ctx *ctx, const alq_centers *labeled, const tree *t,
                             const item_set *held, item_set *results, alq_batch *root_order) {
  int64_t at = 0;
  for (int64_t l = t->first_leaf; l < t->end_leaf; l++) {
    int64_t count = (l + 1) * t->leaf < t->n_total ? t->leaf : t->n_total - l * t->leaf;
    item_set items = {count, held->dim, held->ids + at, held->emb + at * held->dim};
    alq_batch order = {0};
    ALQ_CHECK(reduce_to_set(ctx, labeled, &items, ctx->budget, &results[l - t->first_leaf], &order));
    if (t->n_leaves == 1)
      *root_order = order;
    else
      alq_batch_free(&order);
    at += count;
  }
  return ALQ_OK;
}

/* ---- messages: a node's result on its way to its parent ---- */

/* A message: a 4-byte header length, a HierHeader, then count records of
 * (int64 id, dim float32). */
static alq_err pack_result(int level, int64_t node, const item_set *s, unsigned char **buf, int64_t *bytes) {
  Alq__HierHeader h = ALQ__HIER_HEADER__INIT;
  h.level = level;
  h.node = node;
  h.count = s->n;
  h.dim = s->dim;
  size_t hlen = alq__hier_header__get_packed_size(&h);
  int64_t rec = 8 + 4 * s->dim;
  *bytes = 4 + (int64_t)hlen + rec * s->n;
  ALQ_CHECK(alq_malloc(buf, *bytes, "tree message"));
  uint32_t hl = (uint32_t)hlen;
  memcpy(*buf, &hl, 4);
  alq__hier_header__pack(&h, *buf + 4);
  for (int64_t i = 0; i < s->n; i++)
    put_record(*buf + 4 + hlen + i * rec, s->ids[i], s->emb + i * s->dim, s->dim);
  return ALQ_OK;
}

static alq_err unpack_result(const unsigned char *buf, int64_t bytes, int64_t node, int64_t dim, item_set *out) {
  uint32_t hl = 0;
  if (bytes >= 4)
    memcpy(&hl, buf, 4);
  Alq__HierHeader *h = bytes >= 4 && hl <= bytes - 4 ? alq__hier_header__unpack(NULL, hl, buf + 4) : NULL;
  int64_t rec = 8 + 4 * dim;
  alq_err err = !h || h->node != node || h->dim != dim || h->count < 0 || 4 + hl + h->count * rec != bytes
                    ? alq_error_set(ALQ_ERR_MPI, "malformed k-center tree message for node %lld", (long long)node)
                    : set_alloc(out, h->count, dim);
  for (int64_t i = 0; !err && i < out->n; i++)
    get_record(buf + 4 + hl + i * rec, &out->ids[i], out->emb + i * dim, dim);
  if (h)
    alq__hier_header__free_unpacked(h, NULL);
  return err;
}

/* ---- merge: one tree level ---- */

/* One level's traffic.  Children owned here whose parent lives elsewhere are
 * "out"; children of parents owned here that live elsewhere are "in".  Tags
 * name the level and the kind (size or body); within a tag, messages between
 * two ranks arrive in the order sent, and both sides walk children in
 * increasing order. */
typedef struct {
  int64_t n_out, n_in;
  unsigned char **out_buf, **in_buf;
  int64_t *out_bytes, *in_bytes;
  int *out_to, *in_from;
  int64_t *out_node, *in_node;
} level_msgs;

static void msgs_free(level_msgs *m) {
  for (int64_t i = 0; m->out_buf && i < m->n_out; i++)
    free(m->out_buf[i]);
  for (int64_t i = 0; m->in_buf && i < m->n_in; i++)
    free(m->in_buf[i]);
  free(m->out_buf);
  free(m->in_buf);
  free(m->out_bytes);
  free(m->in_bytes);
  free(m->out_to);
  free(m->in_from);
  free(m->out_node);
  free(m->in_node);
  memset(m, 0, sizeof *m);
}

static alq_err msgs_alloc(level_msgs *m, int64_t n_out, int64_t n_in) {
  memset(m, 0, sizeof *m);
  m->n_out = n_out;
  m->n_in = n_in;
  size_t o = n_out ? n_out : 1, i = n_in ? n_in : 1;
  ALQ_CHECK(alq_calloc(&m->out_buf, o, sizeof *m->out_buf, "tree messages"));
  ALQ_CHECK(alq_calloc(&m->in_buf, i, sizeof *m->in_buf, "tree messages"));
  ALQ_CHECK(alq_calloc(&m->out_bytes, o, sizeof *m->out_bytes, "tree message sizes"));
  ALQ_CHECK(alq_calloc(&m->in_bytes, i, sizeof *m->in_bytes, "tree message sizes"));
  ALQ_CHECK(alq_calloc(&m->out_to, o, sizeof *m->out_to, "tree message peers"));
  ALQ_CHECK(alq_calloc(&m->in_from, i, sizeof *m->in_from, "tree message peers"));
  ALQ_CHECK(alq_calloc(&m->out_node, o, sizeof *m->out_node, "tree message nodes"));
  return alq_calloc(&m->in_node, i, sizeof *m->in_node, "tree message nodes");
}

/* A level of the tree: `width` leaves per node, `nodes` nodes. */
typedef struct {
  int level;
  int64_t width, nodes;
  int64_t child_first, n_children; /* nodes of this level owned here */
  int64_t parent_first, n_parents; /* nodes of the next level owned here */
} level_span;

static level_span level_at(const tree *t, int level, int64_t width, int64_t nodes) {
  level_span s = {level, width, nodes, 0, 0, 0, 0};
  nodes_here(t, width, &s.child_first, &s.n_children);
  nodes_here(t, width * t->fan_in, &s.parent_first, &s.n_parents);
  return s;
}

/* Lists this level's messages and packs the outgoing ones. */
static alq_err plan_messages(const tree *t, const level_span *s, const item_set *results, level_msgs *m) {
  int64_t pw = s->width * t->fan_in, n_out = 0, n_in = 0;
  for (int64_t i = 0; i < s->n_children; i++)
    n_out += owner_of_node(t, (s->child_first + i) / t->fan_in, pw) != t->rank;
  for (int64_t p = s->parent_first; p < s->parent_first + s->n_parents; p++)
    for (int64_t c = p * t->fan_in; c < (p + 1) * t->fan_in && c < s->nodes; c++)
      n_in += owner_of_node(t, c, s->width) != t->rank;
  ALQ_CHECK(msgs_alloc(m, n_out, n_in));
  int64_t o = 0, in = 0;
  for (int64_t i = 0; i < s->n_children; i++) {
    int64_t c = s->child_first + i;
    int to = owner_of_node(t, c / t->fan_in, pw);
    if (to == t->rank)
      continue;
    m->out_to[o] = to;
    m->out_node[o] = c;
    ALQ_CHECK(pack_result(s->level, c, &results[i], &m->out_buf[o], &m->out_bytes[o]));
    o++;
  }
  for (int64_t p = s->parent_first; p < s->parent_first + s->n_parents; p++)
    for (int64_t c = p * t->fan_in; c < (p + 1) * t->fan_in && c < s->nodes; c++) {
      int from = owner_of_node(t, c, s->width);
      if (from != t->rank) {
        m->in_from[in] = from;
        m->in_node[in++] = c;
      }
    }
  return ALQ_OK;
}

static int size_tag(int level) { return ALQ_TAG_TREE_FIRST + 2 * level; }
static int body_tag(int level) { return ALQ_TAG_TREE_FIRST + 2 * level + 1; }

/* Every message's size reaches its receiver.  Called by every rank after an
 * agreement, with its requests reserved before it: it posts every send and
 * every receive, so none is left pending. */
static alq_err exchange_sizes(MPI_Comm comm, int level, level_msgs *m, alq_requests *reqs) {
  alq_err err = ALQ_OK;
  for (int64_t i = 0; !err && i < m->n_in; i++)
    err = alq_irecv_bytes(&m->in_bytes[i], sizeof(int64_t), m->in_from[i], size_tag(level), comm, reqs);
  for (int64_t i = 0; !err && i < m->n_out; i++)
    err = alq_isend_bytes(&m->out_bytes[i], sizeof(int64_t), m->out_to[i], size_tag(level), comm, reqs);
  alq_err werr = alq_waitall(reqs);
  return err ? err : werr;
}

/* Receive buffers and requests for the bodies; may fail, and is agreed on
 * before any body moves. */
static alq_err prepare_bodies(level_msgs *m, alq_requests *reqs) {
  ALQ_CHECK(alq_fault_point("hier-merge"));
  int64_t pieces = 0;
  for (int64_t i = 0; i < m->n_in; i++) {
    ALQ_CHECK(alq_malloc(&m->in_buf[i], m->in_bytes[i] ? m->in_bytes[i] : 1, "tree message"));
    pieces += alq_message_pieces(m->in_bytes[i]);
  }
  for (int64_t i = 0; i < m->n_out; i++)
    pieces += alq_message_pieces(m->out_bytes[i]);
  return alq_requests_init(reqs, pieces);
}

static alq_err exchange_bodies(MPI_Comm comm, int level, level_msgs *m, alq_requests *reqs) {
  alq_err err = ALQ_OK;
  for (int64_t i = 0; !err && i < m->n_in; i++)
    err = alq_irecv_bytes(m->in_buf[i], m->in_bytes[i], m->in_from[i], body_tag(level), comm, reqs);
  for (int64_t i = 0; !err && i < m->n_out; i++)
    err = alq_isend_bytes(m->out_buf[i], m->out_bytes[i], m->out_to[i], body_tag(level), comm, reqs);
  alq_err werr = alq_waitall(reqs);
  return err ? err : werr;
}

/* The children of parent p: results held here move, messages are unpacked. */
static alq_err gather_children(const tree *t, const level_span *s, int64_t p, int64_t dim, item_set *results,
                               const level_msgs *m, int64_t *next_in, item_set *kids) {
  int64_t c0 = p * t->fan_in, c1 = c0 + t->fan_in < s->nodes ? c0 + t->fan_in : s->nodes;
  for (int64_t c = c0; c < c1; c++) {
    if (owner_of_node(t, c, s->width) == t->rank) {
      kids[c - c0] = results[c - s->child_first];
      memset(&results[c - s->child_first], 0, sizeof(item_set));
    } else {
      int64_t i = (*next_in)++;
      ALQ_CHECK(unpack_result(m->in_buf[i], m->in_bytes[i], c, dim, &kids[c - c0]));
    }
  }
  return ALQ_OK;
}

/* Greedy on each owned parent's children; a single child passes through. */
static alq_err merge_parents(const alq_select_ctx *ctx, const alq_centers *labeled, const tree *t,
                             const level_span *s, int64_t dim, item_set *results, const level_msgs *m, item_set *next,
                             alq_batch *root_order) {
  int64_t next_in = 0, parents = ceil_div(s->nodes, t->fan_in);
  item_set *kids = NULL;
  ALQ_CHECK(alq_calloc(&kids, t->fan_in, sizeof *kids, "tree children"));
  alq_err err = ALQ_OK;
  for (int64_t j = 0; !err && j < s->n_parents; j++) {
    int64_t p = s->parent_first + j, c0 = p * t->fan_in;
    int64_t n_kids = c0 + t->fan_in < s->nodes ? t->fan_in : s->nodes - c0;
    err = gather_children(t, s, p, dim, results, m, &next_in, kids);
    if (!err && n_kids == 1) {
      next[j] = kids[0];
      memset(&kids[0], 0, sizeof(item_set));
    } else if (!err) {
      item_set u = {0};
      alq_batch order = {0};
      err = union_sorted(kids, n_kids, dim, &u);
      if (!err)
        err = reduce_to_set(ctx, labeled, &u, ctx->budget, &next[j], &order);
      if (parents == 1)
        *root_order = order;
      else
        alq_batch_free(&order);
      set_free(&u);
    }
    for (int64_t c = 0; c < n_kids; c++)
      set_free(&kids[c]);
  }
  free(kids);
  return err;
}

/* One level up: *results (n_children sets) becomes the parents' results.
 * Agreements separate packing, sizes, buffers and bodies, so a rank that
 * fails at any step fails with every other rank before a message it would
 * have to receive is sent. */
static alq_err merge_level(const alq_select_ctx *ctx, const alq_centers *labeled, const tree *t,
                           const level_span *s, int64_t dim, item_set **results, alq_batch *root_order) {
  MPI_Comm comm = ctx->comm;
  level_msgs m;
  item_set *next = NULL;
  alq_requests size_reqs = {0}, body_reqs = {0};
  alq_err err = plan_messages(t, s, *results, &m);
  if (!err)
    err = alq_calloc(&next, s->n_parents ? s->n_parents : 1, sizeof *next, "tree results");
  if (!err)
    err = alq_requests_init(&size_reqs, (m.n_in + m.n_out) * alq_message_pieces(sizeof(int64_t)));
  err = alq_agree(comm, err);
  if (!err)
    err = alq_agree(comm, exchange_sizes(comm, s->level, &m, &size_reqs));
  if (!err)
    err = alq_agree(comm, prepare_bodies(&m, &body_reqs));
  if (!err)
    err = alq_agree(comm, exchange_bodies(comm, s->level, &m, &body_reqs));
  if (!err)
    err = merge_parents(ctx, labeled, t, s, dim, *results, &m, next, root_order);
  /* Reservations a failure left unused hold no posted request: this frees them. */
  alq_waitall(&size_reqs);
  alq_waitall(&body_reqs);
  msgs_free(&m);
  sets_free(*results, s->n_children);
  *results = next;
  return alq_agree(comm, err);
}

/* ---- the batch: from the root's rank to every rank ---- */

static alq_err share_batch(MPI_Comm comm, int root, alq_batch *root_order, alq_batch *batch) {
  int rank;
  MPI_Comm_rank(comm, &rank);
  int64_t n_batch = 0;
  alq_err err = ALQ_OK;
  if (rank == root) {
    *batch = *root_order;
    n_batch = batch->n;
  } else {
    alq_batch_free(root_order);
  }
  memset(root_order, 0, sizeof *root_order);
  err = alq_bcast(&n_batch, sizeof n_batch, root, comm);
  if (!err && rank != root) {
    err = alq_malloc(&batch->ids, sizeof(int64_t) * (n_batch ? n_batch : 1), "batch ids");
    if (!err)
      err = alq_malloc(&batch->scores, sizeof(double) * (n_batch ? n_batch : 1), "batch scores");
    batch->n = n_batch;
  }
  err = alq_agree(comm, err);
  if (!err)
    err = alq_bcast(batch->ids, sizeof(int64_t) * n_batch, root, comm);
  if (!err)
    err = alq_bcast(batch->scores, sizeof(double) * n_batch, root, comm);
  return err;
}

/* Global index of every rank's first candidate (offsets[size] = the total). */
static alq_err candidate_offsets(MPI_Comm comm, int size, int64_t n_local, int64_t **offsets) {
  ALQ_CHECK(alq_agree(comm, alq_calloc(offsets, size + 1, sizeof **offsets, "candidate offsets")));
  alq_err err = alq_allgather_bytes(&n_local, sizeof n_local, *offsets + 1, comm);
  for (int r = 0; !err && r < size; r++)
    (*offsets)[r + 1] += (*offsets)[r];
  if (err) {
    free(*offsets);
    *offsets = NULL;
  }
  return err;
}

alq_err alq_kcenter_hier_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  MPI_Comm comm = ctx->comm;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(batch, 0, sizeof *batch);
  const int64_t dim = cand->dim, B = ctx->budget, F = ctx->fan_in > 1 ? ctx->fan_in : 8;
  const int64_t leaf = 2 * B > LEAF_MIN ? 2 * B : LEAF_MIN;
  int64_t *offsets = NULL;
  ALQ_CHECK(candidate_offsets(comm, size, cand->n, &offsets));
  const tree t = tree_layout(offsets, size, rank, leaf, F);

  item_set mine = {0}, held = {0}, *results = NULL;
  alq_batch root_order = {0};
  alq_err err = alq_agree(comm, sorted_copy(cand->ids, cand->embeddings, cand->n, dim, &mine));
  if (!err)
    err = redistribute(comm, &t, &mine, &held);
  set_free(&mine);
  int64_t n_here = t.end_leaf - t.first_leaf;
  if (!err)
    err = alq_agree(comm, alq_calloc(&results, n_here ? n_here : 1, sizeof *results, "tree results"));
  if (!err) {
    err = reduce_leaves(ctx, labeled, &t, &held, results, &root_order);
    if (!err)
      err = alq_fault_point("hier-leaf");
    err = alq_agree(comm, err);
  }
  set_free(&held);

  int level = 0;
  for (int64_t width = 1, nodes = t.n_leaves; !err && nodes > 1; width *= F, nodes = ceil_div(nodes, F)) {
    level_span s = level_at(&t, level++, width, nodes);
    n_here = s.n_parents;
    err = merge_level(ctx, labeled, &t, &s, dim, &results, &root_order);
  }

  /* The root lives with leaf 0. */
  int root = t.n_total > 0 ? owner_of_index(&t, 0) : 0;
  if (!err)
    err = share_batch(comm, root, &root_order, batch);
  if (!err && ctx->log_view && rank == 0)
    fprintf(stderr, "kcenter-hier: candidates=%lld leaves=%lld leaf_size=%lld fan_in=%lld levels=%d\n",
            (long long)t.n_total, (long long)t.n_leaves, (long long)leaf, (long long)F, level);
  alq_batch_free(&root_order);
  sets_free(results, n_here);
  free(offsets);
  if (err)
    alq_batch_free(batch);
  return err;
}
