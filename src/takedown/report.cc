#include "takedown/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>

#include "core/clock.h"
#include "takedown/model.h"

namespace takedown::service {

using nlohmann::json;

namespace {

double Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double idx = p * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(idx);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return static_cast<double>(v[lo]) +
         (idx - static_cast<double>(lo)) * static_cast<double>(v[hi] - v[lo]);
}

void Count(json& j, std::string_view key) {
  const std::string k(key);
  j[k] = j.value(k, 0) + 1;
}

}  // namespace

Result<json> TransparencyReport::Build(int64_t from_ms, int64_t to_ms) {
  store::DocumentStore* docs = ctx_->stores.docs;
  json by_category = json::object(), by_source = json::object(), by_status = json::object();
  json removals_by_category = json::object(), removals_by_source = json::object();
  int64_t requests = 0, automated = 0, removals = 0, appeals = 0, upheld = 0, rejected = 0,
          open = 0, restricted = 0;
  std::vector<int64_t> to_removal, to_decision;
  for (int64_t after = 0;;) {
    TD_ASSIGN_OR_RETURN(auto rows, docs->FindDocs({.kind = std::string(kRequestDoc),
                                                   .created_from = from_ms,
                                                   .created_to = to_ms,
                                                   .after_id = after,
                                                   .limit = 1000}));
    if (rows.empty()) break;
    after = rows.back().id;
    for (const auto& rec : rows) {
      TD_ASSIGN_OR_RETURN(Request r, RequestFromDoc(rec));
      ++requests;
      Count(by_category, NameOf(r.category));
      Count(by_source, NameOf(r.source_type));
      Count(by_status, NameOf(r.state));
      if (r.decision) {
        if (r.decision->automated) ++automated;
        to_decision.push_back(r.decision->time_ms - r.received_ms);
      }
      TD_ASSIGN_OR_RETURN(auto actions,
                          docs->FindDocs({.kind = std::string(kActionDoc),
                                          .owner = rec.id,
                                          .state = std::string(NameOf(ActionState::kAcknowledged)),
                                          .limit = 10'000'000}));
      for (const auto& ar : actions) {
        TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(ar));
        if (a.kind != ActionKind::kRemove) continue;
        ++removals;
        Count(removals_by_category, NameOf(r.category));
        Count(removals_by_source, NameOf(r.source_type));
        to_removal.push_back(a.acknowledged_ms - r.received_ms);
        TD_ASSIGN_OR_RETURN(
            auto aps,
            docs->FindDocs({.kind = std::string(kAppealDoc), .owner = ar.id, .limit = 10}));
        for (const auto& ap : aps) {
          ++appeals;
          if (ap.state == NameOf(AppealState::kUpheld))
            ++upheld;
          else if (ap.state == NameOf(AppealState::kRejected))
            ++rejected;
          else
            ++open;
        }
      }
    }
  }
  for (int64_t after = 0;;) {
    TD_ASSIGN_OR_RETURN(auto rows, docs->FindDocs({.kind = std::string(kActionDoc),
                                                   .created_from = from_ms,
                                                   .created_to = to_ms,
                                                   .after_id = after,
                                                   .limit = 1000}));
    if (rows.empty()) break;
    after = rows.back().id;
    for (const auto& ar : rows) {
      TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(ar));
      if (a.kind == ActionKind::kRestrictChat) ++restricted;
    }
  }
  auto times = [](const std::vector<int64_t>& v) {
    return json{{"median", Percentile(v, 0.5)}, {"p95", Percentile(v, 0.95)}};
  };
  return json{
      {"period",
       {{"from", IsoUtc(from_ms)}, {"to", IsoUtc(to_ms)}, {"from_ms", from_ms}, {"to_ms", to_ms}}},
      {"requests",
       {{"total", requests},
        {"by_category", by_category},
        {"by_source_type", by_source},
        {"by_status", by_status},
        {"decided_automatically", automated}}},
      {"removals",
       {{"total", removals},
        {"by_category", removals_by_category},
        {"by_source_type", removals_by_source},
        {"time_to_removal_ms", times(to_removal)},
        {"time_to_decision_ms", times(to_decision)}}},
      {"chats_restricted", restricted},
      {"appeals",
       {{"total", appeals}, {"upheld_reversed", upheld}, {"rejected", rejected}, {"open", open}}}};
}

std::string TransparencyReport::Csv(const json& report) {
  std::string out = "section,key,value\n";
  std::function<void(const std::string&, const json&)> walk = [&](const std::string& prefix,
                                                                  const json& j) {
    for (const auto& [k, v] : j.items()) {
      const std::string key = prefix.empty() ? k : prefix + "." + k;
      if (v.is_object()) {
        walk(key, v);
        continue;
      }
      const auto dot = key.find('.');
      const std::string val = v.is_string() ? v.get<std::string>() : v.dump();
      out += fmt::format("{},{},{}\n", key.substr(0, dot),
                         dot == std::string::npos ? "" : key.substr(dot + 1), val);
    }
  };
  walk("", report);
  return out;
}

}  // namespace takedown::service
