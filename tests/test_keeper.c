/* tests/test_keeper.c: the retrieval's keeper (subpool/keeper.h) keeps the
 * best k of everything offered, in alq's order (higher score first, equal
 * scores lower id first), as a full sort of the offers does: offers in
 * random order through keeper_admits / keeper_append as the retrieval makes
 * them, with many equal scores, signed zeros and infinities; every kept
 * record's payload slot still holds what was written for it; the share
 * floor (k_share set as for 2 and 3 ranks) has at least k_share offers at or
 * above it and is not above the k_share-th best offer. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "keeper.h"

typedef struct {
  float score;
  int64_t id;
} offer;

static uint32_t next(uint32_t *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state >> 8;
}

static int cmp_offer(const void *pa, const void *pb) {
  const offer *a = pa, *b = pb;
  if (a->score != b->score)
    return a->score > b->score ? -1 : 1;
  return (a->id > b->id) - (a->id < b->id);
}

/* kind 0: distinct-ish scores; 1: eight distinct values (ties at the floor);
 * 2: signed zeros, infinities and a few ordinary values. */
static float score_of(int kind, uint32_t *st) {
  uint32_t u = next(st);
  if (kind == 0)
    return (float)u * 0x1p-24f * 2.0f - 1.0f;
  if (kind == 1)
    return 0.125f * (float)(u % 8);
  static const float v[] = {0.0f, -0.0f, INFINITY, -INFINITY, 0.5f, -0.5f, 0x1p-149f};
  return v[u % 7];
}

static void keeps_the_best_k(void **unused) {
  (void)unused;
  const int64_t ks[] = {1, 2, 3, 7, 50, 1000}, ns[] = {0, 1, 5, 999, 1000, 1001, 2000, 2001, 20000};
  uint32_t st = 5;
  for (int kind = 0; kind < 3; kind++)
    for (size_t a = 0; a < sizeof ks / sizeof ks[0]; a++)
      for (size_t b = 0; b < sizeof ns / sizeof ns[0]; b++) {
        int64_t k = ks[a], n = ns[b];
        offer *o = malloc(sizeof *o * (size_t)(n ? n : 1));
        for (int64_t i = 0; i < n; i++) /* unique ids in random order */
          o[i] = (offer){score_of(kind, &st), i * 7 + 3};
        for (int64_t i = n - 1; i > 0; i--) {
          int64_t j = (int64_t)(next(&st) % (uint32_t)(i + 1));
          offer t = o[i];
          o[i] = o[j];
          o[j] = t;
        }
        keeper kp;
        uint32_t *keys = malloc(sizeof *keys * (size_t)(KEEPER_SLACK * k));
        assert_int_equal(keeper_init(&kp, k, sizeof(int64_t), keys), 0);
        int ranks = 1 + (int)(b % 3); /* 1: k_share unset */
        if (ranks > 1)
          kp.k_share = (k + ranks - 1) / ranks;
        for (int64_t i = 0; i < n; i++)
          if (keeper_admits(&kp, o[i].score, o[i].id)) {
            unsigned char *p = keeper_append(&kp, o[i].score, o[i].id);
            memcpy(p, &o[i].id, sizeof o[i].id);
          }
        keeper_finish(&kp);
        qsort(o, (size_t)n, sizeof *o, cmp_offer);
        int64_t want = n < k ? n : k;
        assert_int_equal(kp.n, want);
        for (int64_t j = 0; j < want; j++) {
          assert_int_equal(kp.rec[j].id, o[j].id);
          assert_memory_equal(&kp.rec[j].score, &o[j].score, sizeof(float)); /* the offered bits */
          int64_t held;
          memcpy(&held, kp.payload + (int64_t)kp.rec[j].slot * kp.payload_bytes, sizeof held);
          assert_int_equal(held, kp.rec[j].id);
        }
        if (kp.k_share > 0 && kp.share_floor > -INFINITY) {
          int64_t at_or_above = 0;
          for (int64_t i = 0; i < n; i++)
            at_or_above += o[i].score >= kp.share_floor;
          assert_true(at_or_above >= kp.k_share);
          assert_true(kp.share_floor <= o[kp.k_share - 1].score); /* o is sorted now */
        }
        keeper_free(&kp);
        free(keys);
        free(o);
      }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(keeps_the_best_k)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
