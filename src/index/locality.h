// The slot order of a bulk-loaded index (HashIndex::Build, Save): near-copies together.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "hash/hash256.h"

namespace takedown::index {

// Bulk-loaded slots are stored so that near-copies sit together (ids are explicit, so slot order
// is free). Two hashes that are equal in one of the eight 32-bit words of the hash and within
// distance 32 of each other join one group (union-find); near-copies of one picture, a few bits
// apart, nearly always share a word with some other copy, so a cluster of re-shares becomes one
// group. (The distance check matters: unrelated hashes share a word by chance -- ~12,000 pairs a
// word among 10M random hashes -- and without it such pairs chained every cluster of the
// realistic benchmark set into one group of 9.1M.) Groups are laid out one after another, in the
// order of their first member's part 0; a hash in no group is a group of one, so unrelated
// hashes keep the order of their part 0 and the candidates a query collects through part 0 sit
// together. A query inside a cluster then reads the hashes, states and ids of its thousands of
// candidates from one region of the store instead of from all over it (`takedown-bench index`,
// realistic 10M: hits ~10% faster, p99 -10%; uniform data unchanged). Cost: 2-4 s of a 10M
// build on the project's 2-core VM (eight radix sorts of 10M words and the distance checks).
//
// Returns the input positions in slot order (a permutation of 0..n-1).
std::vector<uint32_t> LocalityOrder(std::span<const hash::Hash256> hashes);

}  // namespace takedown::index
