/* subpool/keeper.h: the retrieval's per-anchor keeper of its best k records
 * (internal to subpool/).
 *
 * A binary heap pays a sift through k cold records for every record that
 * enters, and a streaming top-k over N items admits about k ln(N / k) of them
 * per anchor.  The keeper instead appends every record that reaches its floor
 * to a buffer of KEEPER_SLACK x k records and, when the buffer is full, keeps
 * its best k by selection (a quickselect on the scores' bits, ties by id: higher score
 * first, equal scores lower id first), which raises the floor to the k-th
 * best.  Appends are sequential writes; a compaction costs O(buffer) and
 * frees (KEEPER_SLACK - 1) k places.  The kept set after keeper_finish is the
 * best k of everything offered, exactly what the heap kept: ids are unique,
 * so alq's order is total and "the best k" does not depend on the order of
 * the offers.  Each record's payload (the item's row) stays in its slot; a
 * record carries its slot through the selection, and the slots of the
 * records a compaction drops are the free ones behind the kept records.
 */
#ifndef ALQ_SUBPOOL_KEEPER_H
#define ALQ_SUBPOOL_KEEPER_H
#include <math.h>
#include <stdint.h>

#include "alq/error.h"

/* The buffer holds KEEPER_SLACK x k records (and payload slots):
 * coordinator/memory_plan.c counts them. */
#define KEEPER_SLACK 2

typedef struct {
  float score;  /* the exact similarity */
  int32_t slot; /* its payload is payload + slot * payload_bytes */
  int64_t id;
} keeper_rec;

typedef struct {
  int64_t k, cap, n;
  keeper_rec *rec;        /* cap records: [0, n) offered and not dropped, [n, cap) free slots */
  unsigned char *payload; /* cap slots, NULL when payload_bytes is 0 */
  int64_t payload_bytes;
  float floor;            /* the k-th best score at the last compaction (-inf before) */
  int64_t floor_id;       /* and its id: a record not before (floor, floor_id) cannot be kept */
  uint32_t *keys;         /* cap entries of scratch (keeper_init) */
  int64_t k_share;        /* 0, or the rank of share_floor: ceil(k / P) with P ranks */
  float share_floor;      /* the k_share-th best score at the last compaction (-inf before) */
} keeper;

/* keys: scratch of KEEPER_SLACK x k entries for the compactions, which
 * keepers driven by one thread may share. */
alq_err keeper_init(keeper *kp, int64_t k, int64_t payload_bytes, uint32_t *keys);
void keeper_free(keeper *kp);

/* Keeps the best k in [0, k) and raises the floor (the buffer is full); with
 * k_share set (by the caller, after keeper_init), also share_floor: this
 * rank has seen at least k_share records at or above it, so if every one of
 * P ranks has, with P k_share >= k, no score below the lowest of their
 * share_floors is among the best k of all of them. */
void keeper_compact(keeper *kp);

/* 1 when (score, id) could still be among the best k. */
static inline int keeper_admits(const keeper *kp, float score, int64_t id) {
  return kp->k > 0 && (score > kp->floor || (score == kp->floor && id < kp->floor_id));
}

/* Appends an admitted record; returns its payload slot (NULL without
 * payloads) for the caller to fill. */
static inline unsigned char *keeper_append(keeper *kp, float score, int64_t id) {
  if (kp->n == kp->cap)
    keeper_compact(kp);
  keeper_rec *r = &kp->rec[kp->n++];
  r->score = score;
  r->id = id;
  return kp->payload ? kp->payload + (int64_t)r->slot * kp->payload_bytes : NULL;
}

/* Keeps the best min(n, k) and sorts them into alq's order: rec[0, n).  The
 * last call before keeper_free: the free records are its sort's buffer. */
void keeper_finish(keeper *kp);

#endif
