/* core/hash.c: counter-based hashing (splitmix64 finaliser over a combined key). */
#include "alq/hash.h"

static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t alq_hash3(uint64_t seed, uint64_t id, uint64_t purpose) {
  /* Each input passes through the mixer before the next is folded in, so
   * (seed, id) pairs that differ in either word give unrelated outputs. */
  uint64_t h = mix64(seed + 0x9e3779b97f4a7c15ULL);
  h = mix64(h ^ (id + 0x632be59bd9b4e019ULL));
  return mix64(h ^ (purpose * 0x9e3779b97f4a7c15ULL + 0x85157af5ULL));
}

uint64_t alq_ids_checksum(const int64_t *ids, int64_t n, int64_t first) {
  uint64_t sum = 0;
  for (int64_t i = 0; i < n; i++)
    sum += mix64((uint64_t)ids[i] + (uint64_t)(first + i) * 0x9e3779b97f4a7c15ULL);
  return sum;
}

double alq_hash_unit(uint64_t seed, uint64_t id, uint64_t purpose) {
  return (double)(alq_hash3(seed, id, purpose) >> 11) * 0x1.0p-53;
}
