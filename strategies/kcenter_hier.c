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
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alq.pb-c.h"
#include "alq/comm.h"
#include "alq/logview.h"
#include "alq/strategy.h"

/* A leaf holds at least this many candidates (and at least 2B), so that a
 * leaf's greedy has room to choose. */
#define LEAF_MIN 4096

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

typedef struct {
  int64_t id;
  int64_t at;
} id_at;

static int cmp_id_at(const void *pa, const void *pb) {
  const id_at *a = pa, *b = pb;
  return (a->id > b->id) - (a->id < b->id);
}

/* Copies `from` into `to` sorted by id. */
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

/* Greedy on one node's items, on this rank alone, down to `keep` items. */
static alq_err reduce_node(const alq_select_ctx *ctx, const alq_centers *labeled, item_set *items, int64_t keep,
                           alq_batch *order) {
  alq_candidates cand = {items->n, items->dim, items->ids, NULL, items->emb};
  alq_select_ctx local = *ctx;
  local.comm = MPI_COMM_SELF;
  local.budget = keep < items->n ? keep : items->n;
  local.log_view = 0;
  return alq_kcenter_select(&local, &cand, labeled, order);
}

/* The node's result: its chosen items, in greedy order. */
static alq_err reduce_to_set(const alq_select_ctx *ctx, const alq_centers *labeled, item_set *items, int64_t keep,
                             item_set *out, alq_batch *order) {
  ALQ_CHECK(reduce_node(ctx, labeled, items, keep, order));
  ALQ_CHECK(set_alloc(out, order->n, items->dim));
  for (int64_t i = 0; i < order->n; i++) {
    /* items are sorted by id: find each chosen one */
    int64_t lo = 0, hi = items->n;
    while (lo < hi) {
      int64_t mid = lo + (hi - lo) / 2;
      if (items->ids[mid] < order->ids[i])
        lo = mid + 1;
      else
        hi = mid;
    }
    out->ids[i] = order->ids[i];
    memcpy(out->emb + i * items->dim, items->emb + lo * items->dim, sizeof(float) * items->dim);
  }
  return ALQ_OK;
}

/* Moves every candidate to the rank that owns its leaf (the rank holding the
 * leaf's first item in global id order). */
static alq_err redistribute(MPI_Comm comm, const item_set *mine, const int64_t *offsets, int64_t leaf, item_set *got) {
  int size, rank;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  int64_t rec = 8 + 4 * mine->dim;
  int *scount = calloc(size, sizeof *scount), *rcount = calloc(size, sizeof *rcount);
  int *sdisp = calloc(size, sizeof *sdisp), *rdisp = calloc(size, sizeof *rdisp);
  unsigned char *sbuf = malloc(rec * (mine->n ? mine->n : 1)), *rbuf = NULL;
  alq_err err = scount && rcount && sdisp && rdisp && sbuf
                    ? ALQ_OK
                    : alq_error_set(ALQ_ERR_MEMORY, "cannot allocate the k-center redistribution buffers");
  err = alq_agree(comm, err);
  for (int64_t i = 0; !err && i < mine->n; i++) {
    int64_t g = offsets[rank] + i, first = g / leaf * leaf;
    int owner = 0;
    while (owner + 1 < size && offsets[owner + 1] <= first)
      owner++;
    scount[owner] += (int)rec;
    memcpy(sbuf + i * rec, &mine->ids[i], 8);
    memcpy(sbuf + i * rec + 8, mine->emb + i * mine->dim, 4 * mine->dim);
  }
  for (int r = 1; r < size; r++)
    sdisp[r] = sdisp[r - 1] + scount[r - 1];
  if (!err) {
    alq_log_message(sizeof(int) * size);
    MPI_Alltoall(scount, 1, MPI_INT, rcount, 1, MPI_INT, comm);
  }
  int64_t total = 0;
  for (int r = 0; r < size; r++) {
    rdisp[r] = (int)total;
    total += rcount[r];
  }
  if (!err)
    err = alq_agree(comm, alq_malloc(&rbuf, total ? total : 1, "k-center leaves"));
  if (!err) {
    alq_log_message(mine->n * rec);
    MPI_Alltoallv(sbuf, scount, sdisp, MPI_BYTE, rbuf, rcount, rdisp, MPI_BYTE, comm);
    err = alq_agree(comm, set_alloc(got, total / rec, mine->dim));
  }
  for (int64_t i = 0; !err && i < got->n; i++) {
    memcpy(&got->ids[i], rbuf + i * rec, 8);
    memcpy(got->emb + i * mine->dim, rbuf + i * rec + 8, 4 * mine->dim);
  }
  free(scount);
  free(rcount);
  free(sdisp);
  free(rdisp);
  free(sbuf);
  free(rbuf);
  return err;
}

/* A node's result on its way to its parent: a HierHeader, then the items. */
static alq_err send_up(MPI_Comm comm, int to, int level, int64_t node, const item_set *s, MPI_Request req[2],
                       unsigned char **bufs) {
  Alq__HierHeader h = ALQ__HIER_HEADER__INIT;
  h.level = level;
  h.node = node;
  h.count = s->n;
  h.dim = s->dim;
  size_t hlen = alq__hier_header__get_packed_size(&h);
  int64_t rec = 8 + 4 * s->dim, plen = rec * s->n;
  unsigned char *buf = NULL;
  ALQ_CHECK(alq_malloc(&buf, 4 + hlen + plen, "tree message"));
  uint32_t hl = (uint32_t)hlen;
  memcpy(buf, &hl, 4);
  alq__hier_header__pack(&h, buf + 4);
  for (int64_t i = 0; i < s->n; i++) {
    memcpy(buf + 4 + hlen + i * rec, &s->ids[i], 8);
    memcpy(buf + 4 + hlen + i * rec + 8, s->emb + i * s->dim, 4 * s->dim);
  }
  alq_log_message(4 + hlen + plen);
  MPI_Isend(buf, (int)(4 + hlen + plen), MPI_BYTE, to, (int)(node % 30000), comm, &req[0]);
  req[1] = MPI_REQUEST_NULL;
  *bufs = buf;
  return ALQ_OK;
}

static alq_err recv_child(MPI_Comm comm, int from, int64_t child, int64_t dim, item_set *out) {
  MPI_Status st;
  int bytes = 0;
  MPI_Probe(from, (int)(child % 30000), comm, &st);
  MPI_Get_count(&st, MPI_BYTE, &bytes);
  unsigned char *buf = NULL;
  ALQ_CHECK(alq_malloc(&buf, bytes, "tree message"));
  MPI_Recv(buf, bytes, MPI_BYTE, from, (int)(child % 30000), comm, MPI_STATUS_IGNORE);
  uint32_t hl;
  memcpy(&hl, buf, 4);
  Alq__HierHeader *h = alq__hier_header__unpack(NULL, hl, buf + 4);
  alq_err err = !h || h->node != child || h->dim != dim
                    ? alq_error_set(ALQ_ERR_MPI, "malformed k-center tree message for node %lld", (long long)child)
                    : set_alloc(out, h->count, dim);
  int64_t rec = 8 + 4 * dim;
  for (int64_t i = 0; !err && i < out->n; i++) {
    memcpy(&out->ids[i], buf + 4 + hl + i * rec, 8);
    memcpy(out->emb + i * dim, buf + 4 + hl + i * rec + 8, 4 * dim);
  }
  if (h)
    alq__hier_header__free_unpacked(h, NULL);
  free(buf);
  return err;
}

/* Concatenates child results and sorts by id (the node's input set). */
static alq_err union_sorted(item_set *children, int64_t n_children, int64_t dim, item_set *out) {
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

alq_err alq_kcenter_hier_select(const alq_select_ctx *ctx, const alq_candidates *cand, const alq_centers *labeled,
                                alq_batch *batch) {
  MPI_Comm comm = ctx->comm;
  int rank, size;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  memset(batch, 0, sizeof *batch);
  const int64_t dim = cand->dim, B = ctx->budget, F = ctx->fan_in > 1 ? ctx->fan_in : 8;
  const int64_t leaf = 2 * B > LEAF_MIN ? 2 * B : LEAF_MIN;

  /* Global candidate index of this rank's first candidate. */
  int64_t n_local = cand->n, *offsets = NULL, n_total = 0;
  item_set mine = {0}, held = {0};
  alq_err err = alq_agree(comm, alq_malloc(&offsets, sizeof *offsets * (size + 1), "candidate offsets"));
  if (err)
    return err;
  err = alq_allgather_bytes(&n_local, sizeof n_local, offsets + 1, comm);
  offsets[0] = 0;
  for (int r = 0; r < size; r++)
    offsets[r + 1] += offsets[r];
  n_total = offsets[size];
  if (!err)
    err = alq_agree(comm, sorted_copy(cand->ids, cand->embeddings, cand->n, dim, &mine));
  if (!err)
    err = redistribute(comm, &mine, offsets, leaf, &held);
  set_free(&mine);

  /* The tree: level 0 = leaves; node j of level h owns leaves [j F^h, (j+1) F^h). */
  int64_t n_leaves = (n_total + leaf - 1) / leaf, width = 1, level_nodes = n_leaves;
  item_set *results = NULL; /* per owned node of the current level */
  int64_t first_leaf_here = -1, n_here = 0;
  /* Leaves this rank owns: those whose first item lies in its original range. */
  for (int64_t l = 0; l < n_leaves; l++)
    if (l * leaf >= offsets[rank] && l * leaf < offsets[rank + 1]) {
      if (first_leaf_here < 0)
        first_leaf_here = l;
      n_here++;
    }
  if (!err)
    err = alq_agree(comm, alq_calloc(&results, n_here ? n_here : 1, sizeof *results, "tree results"));
  /* The root's greedy order is the batch: kept when this rank computes it. */
  alq_batch order = {0}, root_order = {0};
  for (int64_t i = 0, at = 0; !err && i < n_here; i++) {
    int64_t l = first_leaf_here + i, count = (l + 1) * leaf < n_total ? leaf : n_total - l * leaf;
    item_set items = {count, dim, held.ids + at, held.emb + at * dim};
    err = reduce_to_set(ctx, labeled, &items, B, &results[i], &order);
    if (n_leaves == 1)
      root_order = order;
    else
      alq_batch_free(&order);
    memset(&order, 0, sizeof order);
    at += count;
  }
  set_free(&held);
  err = alq_agree(comm, err);

  /* Owner of node j at a level whose nodes span `width` leaves. */
#define OWNER_OF_LEAF(l, o)                                             \
  do {                                                                  \
    o = 0;                                                              \
    while (o + 1 < size && offsets[o + 1] <= (l) * leaf)                \
      o++;                                                              \
  } while (0)

  int level = 0;
  while (!err && level_nodes > 1) {
    int64_t parent_width = width * F, parents = (level_nodes + F - 1) / F;
    int64_t my_first = -1, my_count = 0; /* parents owned here */
    for (int64_t p = 0; p < parents; p++) {
      int o;
      OWNER_OF_LEAF(p * parent_width, o);
      if (o == rank) {
        if (my_first < 0)
          my_first = p;
        my_count++;
      }
    }
    /* Send the results of owned children whose parent lives elsewhere. */
    int64_t child_first = n_here ? -1 : 0;
    for (int64_t c = 0; c < level_nodes && n_here; c++) {
      int o;
      OWNER_OF_LEAF(c * width, o);
      if (o == rank) {
        child_first = c;
        break;
      }
    }
    MPI_Request *reqs = calloc(2 * (n_here ? n_here : 1), sizeof *reqs);
    unsigned char **bufs = calloc(n_here ? n_here : 1, sizeof *bufs);
    if (!reqs || !bufs)
      err = alq_error_set(ALQ_ERR_MEMORY, "cannot allocate tree send requests");
    for (int64_t i = 0; !err && i < n_here; i++) {
      int64_t c = child_first + i, p = c / F;
      int o;
      OWNER_OF_LEAF(p * parent_width, o);
      reqs[2 * i] = reqs[2 * i + 1] = MPI_REQUEST_NULL;
      if (o != rank)
        err = send_up(comm, o, level, c, &results[i], &reqs[2 * i], &bufs[i]);
    }
    item_set *next = NULL;
    if (!err)
      err = alq_calloc(&next, my_count ? my_count : 1, sizeof *next, "tree results");
    for (int64_t j = 0; !err && j < my_count; j++) {
      int64_t p = my_first + j, c0 = p * F, c1 = c0 + F < level_nodes ? c0 + F : level_nodes;
      item_set *kids = calloc(c1 - c0, sizeof *kids);
      if (!kids) {
        err = alq_error_set(ALQ_ERR_MEMORY, "cannot allocate tree children");
        break;
      }
      for (int64_t c = c0; !err && c < c1; c++) {
        int o;
        OWNER_OF_LEAF(c * width, o);
        if (o == rank) {
          kids[c - c0] = results[c - child_first];
          memset(&results[c - child_first], 0, sizeof(item_set));
        } else {
          err = recv_child(comm, o, c, dim, &kids[c - c0]);
        }
      }
      if (!err && c1 - c0 == 1) {
        next[j] = kids[0]; /* a single child passes through unchanged */
        memset(&kids[0], 0, sizeof(item_set));
      } else if (!err) {
        item_set u;
        err = union_sorted(kids, c1 - c0, dim, &u);
        if (!err)
          err = reduce_to_set(ctx, labeled, &u, B, &next[j], &order);
        if (parents == 1)
          root_order = order;
        else
          alq_batch_free(&order);
        memset(&order, 0, sizeof order);
        set_free(&u);
      }
      for (int64_t c = 0; c < c1 - c0; c++)
        set_free(&kids[c]);
      free(kids);
    }
    if (reqs)
      MPI_Waitall((int)(2 * n_here), reqs, MPI_STATUSES_IGNORE);
    for (int64_t i = 0; bufs && i < n_here; i++)
      free(bufs[i]);
    free(reqs);
    free(bufs);
    for (int64_t i = 0; i < n_here; i++)
      set_free(&results[i]);
    free(results);
    results = next;
    n_here = my_count;
    width = parent_width;
    level_nodes = parents;
    level++;
    err = alq_agree(comm, err);
  }

  /* The root (on the owner of leaf 0) orders the final B; everyone gets the batch. */
  int root = 0;
  if (n_total > 0)
    OWNER_OF_LEAF(0, root);
#undef OWNER_OF_LEAF
  int64_t n_batch = 0;
  if (rank == root) {
    *batch = root_order;
    n_batch = batch->n;
  } else {
    alq_batch_free(&root_order);
  }
  err = alq_agree(comm, err);
  if (!err)
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
  if (!err && ctx->log_view && rank == 0)
    fprintf(stderr, "kcenter-hier: candidates=%lld leaves=%lld leaf_size=%lld fan_in=%lld levels=%d\n",
            (long long)n_total, (long long)n_leaves, (long long)leaf, (long long)F, level);
  for (int64_t i = 0; results && i < n_here; i++)
    set_free(&results[i]);
  free(results);
  free(offsets);
  if (err)
    alq_batch_free(batch);
  return err;
}
