// The content index split into shards by content id (issue 21): a content item belongs to shard
// ShardOf(content_id, total), and a process (a replica) indexes in memory only the items of the
// shards it holds. With one shard (the default) every process holds everything.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace takedown::service {

// The most shards a content index may be split into.
inline constexpr int kMaxContentShards = 4096;

// The first four bytes of MD5 of the platform's content id, modulo total (store::ContentShardOf):
// the same in every process, every build and in PostgreSQL, so that replicas agree on where an
// item lives and each reads only its shards' rows.
int ShardOf(std::string_view content_id, int total);

struct ShardSet {
  int total = 1;
  std::vector<int> held = {0};  // ascending, each in [0, total)

  static ShardSet All(int total);
  bool Holds(int shard) const;
  bool HoldsAll() const { return static_cast<int>(held.size()) == total; }
  bool HoldsNone() const { return held.empty(); }
  bool HoldsContent(std::string_view content_id) const {
    return total == 1 ? !held.empty() : Holds(ShardOf(content_id, total));
  }
  // "0-3,8 of 16", "all 16", "none of 16".
  std::string Describe() const;
};

// Shard numbers as written in configuration: "all", "none", or a list of numbers and ranges
// ("0-3,8,10-11"), each within [0, total). Errors name `name` and what was wrong.
Result<ShardSet> ParseShardSet(int total, std::string_view spec, std::string_view name);

// Shard numbers as a compact list ("0-3,8"); "" for none.
std::string ShardList(const std::vector<int>& shards);

}  // namespace takedown::service
