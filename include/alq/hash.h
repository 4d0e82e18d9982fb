/* alq/hash.h: counter-based randomness.
 *
 * alq never advances a random stream in rank order: every random choice is a
 * pure function of (seed, item id, purpose), so any rank computes the same value
 * for the same item whatever the shard boundaries are.
 */
#ifndef ALQ_HASH_H
#define ALQ_HASH_H
#include <stdint.h>

/* Purposes keep independent draws for the same item apart. */
enum {
  ALQ_PURPOSE_RANDOM_SCORE = 1, /* the `random` strategy's key */
  ALQ_PURPOSE_FIRST_CENTER = 2, /* k-center's first center when nothing is labeled */
  ALQ_PURPOSE_GEN = 3,          /* synthetic pools (alq gen): an item's class */
  ALQ_PURPOSE_LABELED_DRAW = 4, /* initial stratified labeled sets */
  ALQ_PURPOSE_GEN_MEAN = 5,     /* synthetic pools: class mean coordinates */
  ALQ_PURPOSE_GEN_NOISE = 6,    /* synthetic pools: an item's embedding noise */
  ALQ_PURPOSE_GEN_BLEND = 7,    /* synthetic pools: how far an item leans to a partner class */
  /* 8, 9: retired (generator version 1's partner class and logit noise); not to be reused */
  ALQ_PURPOSE_ANCHOR = 10,      /* AnchorAL: k-means++ draws (id = class << 32 | step) */
  ALQ_PURPOSE_ANCHOR_RANDOM = 11, /* AnchorAL: random anchors' keys */
  /* 12: retired (AnchorAL's old cold-start subpool keys); not to be reused */
  ALQ_PURPOSE_MODEL_INIT = 20,   /* model heads: initial weights (id = parameter index) */
  ALQ_PURPOSE_DROPOUT_TRAIN = 21, /* model heads: dropout masks while training */
  ALQ_PURPOSE_DROPOUT_MC = 22,    /* model heads: dropout masks of MC passes when applied */
  ALQ_PURPOSE_TEST_SPLIT = 23,    /* alq simulate: the held-out test split */
  ALQ_PURPOSE_FIT_SAMPLE = 30,    /* geometry: the rows a covariance fit reads (--fit-sample) */
  ALQ_PURPOSE_KMEANSPP = 40,       /* k-means++ draws (cluster/): id = step (0 = the first center) */
  ALQ_PURPOSE_BADGE = 41,          /* BADGE's D^2 draws in gradient space: id = step */
  ALQ_PURPOSE_CLUSTER_SAMPLE = 42, /* Cluster-Margin: which pool items the clustering reads */
  ALQ_PURPOSE_CLUSTER_PICK = 43,   /* Cluster-Margin: the random order inside a cluster */
  ALQ_PURPOSE_VESSAL = 50,        /* VeSSAL: an item's acceptance draw */
  ALQ_PURPOSE_PROBCOVER = 51,     /* ProbCover: the purity sample's keys */
  ALQ_PURPOSE_ANNOTATOR = 60,     /* alq simulate: the first annotator an item goes to */
  ALQ_PURPOSE_ANSWER_WRONG = 61,  /* alq simulate: whether answer #k is wrong (seed = hash of seed, id) */
  ALQ_PURPOSE_ANSWER_CLASS = 62,  /* alq simulate: the class a wrong answer (or a confusion row) gives */
  ALQ_PURPOSE_OOS_FOLD = 63,      /* alq simulate: a labeled item's cross-validation fold (activelab) */
};

/* 64 well-mixed bits from (seed, id, purpose). */
uint64_t alq_hash3(uint64_t seed, uint64_t id, uint64_t purpose);

/* Uniform double in [0, 1) with 53 random bits. */
double alq_hash_unit(uint64_t seed, uint64_t id, uint64_t purpose);

/* Checksum of a list of ids in order: the sum over positions i of
 * mix64(id_i + i * 0x9e3779b97f4a7c15) modulo 2^64, mix64 being the splitmix64
 * finaliser.  A sum of per-position terms, so a long list can be hashed block by
 * block (`first` = the position of ids[0]), by every rank for its own rows, and
 * recomputed with numpy's uint64 arithmetic (docs/format.md has the reference). */
uint64_t alq_ids_checksum(const int64_t *ids, int64_t n, int64_t first);

#endif
