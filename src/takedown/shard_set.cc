#include "takedown/shard_set.h"

#include <fmt/format.h>

#include <algorithm>

#include "core/numbers.h"
#include "core/text.h"
#include "store/store.h"

namespace takedown::service {

int ShardOf(std::string_view content_id, int total) {
  return store::ContentShardOf(content_id, total);
}

ShardSet ShardSet::All(int total) {
  ShardSet s;
  s.total = total;
  s.held.clear();
  for (int i = 0; i < total; ++i) s.held.push_back(i);
  return s;
}

bool ShardSet::Holds(int shard) const {
  return std::binary_search(held.begin(), held.end(), shard);
}

std::string ShardList(const std::vector<int>& shards) {
  std::string out;
  for (size_t i = 0; i < shards.size();) {
    size_t j = i;
    while (j + 1 < shards.size() && shards[j + 1] == shards[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", shards[i]) : fmt::format("{}-{}", shards[i], shards[j]);
    i = j + 1;
  }
  return out;
}

std::string ShardSet::Describe() const {
  if (HoldsAll()) return total == 1 ? "the whole index" : fmt::format("all {} shards", total);
  if (HoldsNone()) return fmt::format("none of {} shards", total);
  return fmt::format("shards {} of {}", ShardList(held), total);
}

Result<ShardSet> ParseShardSet(int total, std::string_view spec, std::string_view name) {
  if (total < 1 || total > kMaxContentShards) {
    return InvalidArgument(
        fmt::format("content.shards is out of range (1 to {})", kMaxContentShards));
  }
  const std::string text = TrimBlanks(spec);
  if (text == "all" || text.empty()) return ShardSet::All(total);
  ShardSet s;
  s.total = total;
  s.held.clear();
  if (text == "none") return s;
  auto number = [&](std::string_view t) -> Result<int> {
    TD_ASSIGN_OR_RETURN(int64_t v,
                        ParseInt64(t, fmt::format("{}: shard '{}'", name, t), 0, total - 1));
    return static_cast<int>(v);
  };
  std::vector<bool> seen(static_cast<size_t>(total), false);
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    const std::string trimmed = TrimBlanks(rest.substr(0, comma));
    const std::string_view part = trimmed;
    const size_t dash = part.find('-');
    int from, to;
    if (dash == std::string_view::npos) {
      TD_ASSIGN_OR_RETURN(from, number(part));
      to = from;
    } else {
      TD_ASSIGN_OR_RETURN(from, number(part.substr(0, dash)));
      TD_ASSIGN_OR_RETURN(to, number(part.substr(dash + 1)));
      if (to < from) {
        return InvalidArgument(
            fmt::format("{}: the range '{}' runs backwards", name, std::string(part)));
      }
    }
    for (int i = from; i <= to; ++i) seen[static_cast<size_t>(i)] = true;
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  for (int i = 0; i < total; ++i) {
    if (seen[static_cast<size_t>(i)]) s.held.push_back(i);
  }
  return s;
}

}  // namespace takedown::service
