#include "takedown/spread.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "core/clock.h"
#include "core/text.h"
#include "hash/hash256.h"
#include "index/hamming.h"

namespace takedown::service {

using nlohmann::json;

namespace {

struct Copy {
  store::ContentRecord c;
  Sweeper::Hit hit;
  std::optional<hash::Hash256> pdq;
};

}  // namespace

Result<json> Spread::Of(const Principal& who, int64_t request_id) {
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, request_id));
  int threshold = 31;
  if (!r.bank.empty()) {
    TD_ASSIGN_OR_RETURN(auto banks, ctx_->svc->ListBanks());
    for (const auto& b : banks) {
      if (b.name == r.bank) threshold = b.pdq_threshold;
    }
  }
  TD_ASSIGN_OR_RETURN(auto hits, sweeper_->FindCopies(r, threshold));
  return Build(who, {{"request_id", r.id}}, hits);
}

Result<json> Spread::OfEntry(const Principal& who, int64_t entry_id) {
  TD_ASSIGN_OR_RETURN(auto e, ctx_->svc->GetEntry(entry_id));
  if (!e) return NotFound(fmt::format("no bank entry {}", entry_id));
  Signals s;
  if (!e->pdq.empty()) {
    TD_ASSIGN_OR_RETURN(s.pdq, hash::Hash256::FromHex(e->pdq));
    s.quality = e->quality;
  }
  s.md5 = e->md5;
  s.sha256 = e->sha256;
  if (!e->video.empty()) {
    TD_ASSIGN_OR_RETURN(s.video, VideoFromJson(json::parse(e->video, nullptr, false)));
  }
  if (!e->robust.empty()) {
    TD_ASSIGN_OR_RETURN(s.robust, RobustFromJson(json::parse(e->robust, nullptr, false)));
  }
  int threshold = 31;
  std::string bank;
  TD_ASSIGN_OR_RETURN(auto banks, ctx_->svc->ListBanks());
  for (const auto& b : banks) {
    if (b.id == e->bank_id) {
      threshold = b.pdq_threshold;
      bank = b.name;
    }
  }
  TD_ASSIGN_OR_RETURN(auto hits, sweeper_->FindCopies(s, entry_id, threshold));
  return Build(who, {{"entry_id", entry_id}, {"bank", bank}}, hits);
}

Result<json> Spread::OfSignals(const Signals& s, int64_t located_row, json subject, int threshold) {
  TD_ASSIGN_OR_RETURN(auto hits, sweeper_->FindCopies(s, 0, threshold, located_row));
  return Compute(std::move(subject), hits, /*with_hashes=*/true);
}

Result<json> Spread::Build(const Principal& who, json subject,
                           const std::map<int64_t, Sweeper::Hit>& hits) {
  TD_ASSIGN_OR_RETURN(json out, Compute(std::move(subject), hits, /*with_hashes=*/false));
  // The repeat uploaders among the copies' uploaders (the first kMaxUploaders looked up).
  json repeat = json::array();
  if (uploaders_ != nullptr) {
    std::set<std::string> seen;
    for (const auto& c : out["copies"]) {
      const std::string u = c.value("uploader_id", "");
      if (u.empty() || seen.size() >= kMaxUploaders || !seen.insert(u).second) continue;
      TD_ASSIGN_OR_RETURN(auto standing, uploaders_->Standing(u));
      if (standing) repeat.push_back(std::move(*standing));
    }
    std::stable_sort(repeat.begin(), repeat.end(), [](const json& a, const json& b) {
      return a.value("strikes", 0) > b.value("strikes", 0);
    });
  }
  out["repeat_uploaders"] = std::move(repeat);
  // Who looked at whom: the spread names uploaders.
  const bool of_request = out.contains("request_id");
  json audit =
      of_request ? json{{"request_id", out["request_id"]}} : json{{"entry_id", out["entry_id"]}};
  audit["copies"] = out["copies"].size();
  TD_RETURN_IF_ERROR(ctx_->Audit(
      who.actor(), of_request ? "request.spread_viewed" : "entry.spread_viewed", audit));
  return out;
}

Result<json> Spread::Compute(json subject, const std::map<int64_t, Sweeper::Hit>& hits,
                             bool with_hashes) {
  std::vector<Copy> copies;
  copies.reserve(hits.size());
  for (const auto& [row, h] : hits) {
    TD_ASSIGN_OR_RETURN(auto c, ctx_->stores.content->GetContent(row));
    if (!c) continue;
    Copy copy{*c, h, std::nullopt};
    if (auto p = hash::Hash256::FromHex(c->pdq); p.ok()) copy.pdq = *p;
    copies.push_back(std::move(copy));
  }
  std::sort(copies.begin(), copies.end(), [](const Copy& a, const Copy& b) {
    return a.c.created_ms != b.c.created_ms ? a.c.created_ms < b.c.created_ms : a.c.id < b.c.id;
  });
  const bool truncated = copies.size() > kMaxCopies;
  if (truncated) copies.resize(kMaxCopies);

  // Each copy's most likely source among those before it: identical bytes (the most recent such
  // copy), else the closest PDQ (the SIMD kernels over all earlier copies), the most recent on a
  // tie; a copy without a PDQ hash of its own comes from the one just before it (time only).
  const size_t n = copies.size();
  std::vector<int> parent(n, -1), closeness(n, -1);
  std::vector<hash::Hash256> pdqs(n);
  std::vector<char> has_pdq(n, 0);
  for (size_t i = 0; i < n; ++i) {
    if (copies[i].pdq) {
      pdqs[i] = *copies[i].pdq;
      has_pdq[i] = 1;
    }
  }
  const index::HammingKernels& kernels = index::BestKernels();
  std::unordered_map<std::string, int> last_with_sha256;
  std::vector<uint16_t> dist(n);
  constexpr int kTimeOnly = 1 << 29;
  for (size_t i = 0; i < n; ++i) {
    const std::string& sha = copies[i].c.sha256;
    if (i > 0) {
      int best = -1, best_d = 1 << 30;
      if (auto it = sha.empty() ? last_with_sha256.end() : last_with_sha256.find(sha);
          it != last_with_sha256.end()) {
        best = it->second;
        best_d = -1;
      } else if (has_pdq[i]) {
        kernels.distances(pdqs[i], pdqs.data(), i, dist.data());
        for (size_t k = 0; k < i; ++k) {
          const int d = has_pdq[k] ? dist[k] : kTimeOnly;
          if (d <= best_d) {  // <=: the most recent of equals
            best_d = d;
            best = static_cast<int>(k);
          }
        }
      } else {
        best = static_cast<int>(i) - 1;
        best_d = kTimeOnly;
      }
      parent[i] = best;
      closeness[i] = best_d;
    }
    if (!sha.empty()) last_with_sha256[sha] = static_cast<int>(i);
  }

  json list = json::array(), edges = json::array();
  std::map<std::string, json> chats;  // chat -> its entry, in first-appearance order below
  std::vector<std::string> chat_order;
  std::set<std::string> uploaders;
  for (size_t i = 0; i < copies.size(); ++i) {
    const auto& c = copies[i].c;
    json j = {{"content_id", c.content_id},
              {"chat_id", c.chat_id},
              {"uploader_id", c.uploader_id},
              {"recorded_ms", c.created_ms},
              {"recorded_at", IsoUtc(c.created_ms)},
              {"state", c.state},
              {"media", c.video.empty() ? "image" : "video"},
              {"signal", copies[i].hit.signal},
              {"distance", copies[i].hit.distance}};
    if (with_hashes) {
      for (const auto& [k, v] :
           {std::pair{"pdq", &c.pdq}, {"md5", &c.md5}, {"sha256", &c.sha256}}) {
        if (!v->empty()) j[k] = *v;
      }
    }
    if (parent[i] >= 0) {
      const auto& p = copies[static_cast<size_t>(parent[i])].c;
      j["from_content_id"] = p.content_id;
      j["from_how"] = closeness[i] < 0           ? "identical"
                      : closeness[i] < kTimeOnly ? fmt::format("pdq distance {}", closeness[i])
                                                 : "earlier copy (time only)";
      edges.push_back({{"from", p.content_id},
                       {"to", c.content_id},
                       {"from_chat", p.chat_id},
                       {"to_chat", c.chat_id},
                       {"how", j["from_how"]}});
    }
    if (!c.uploader_id.empty()) uploaders.insert(c.uploader_id);
    auto it = chats.find(c.chat_id);
    if (it == chats.end()) {
      json chat = {{"chat_id", c.chat_id},
                   {"first_ms", c.created_ms},
                   {"first_at", IsoUtc(c.created_ms)},
                   {"first_content_id", c.content_id},
                   {"copies", 0},
                   {"uploaders", json::array()}};
      if (parent[i] >= 0) {
        chat["reached_from_chat"] = copies[static_cast<size_t>(parent[i])].c.chat_id;
      }
      it = chats.emplace(c.chat_id, std::move(chat)).first;
      chat_order.push_back(c.chat_id);
    }
    it->second["copies"] = it->second["copies"].get<int64_t>() + 1;
    auto& up = it->second["uploaders"];
    if (!c.uploader_id.empty() &&
        std::find(up.begin(), up.end(), json(c.uploader_id)) == up.end() && up.size() < 100) {
      up.push_back(c.uploader_id);
    }
    list.push_back(std::move(j));
  }
  json chat_list = json::array();
  for (const auto& id : chat_order) chat_list.push_back(std::move(chats[id]));
  json out = std::move(subject);
  out.update(
      {{"computed_at", IsoUtc(ctx_->Now())},
       {"method",
        "copies found by the sweep's signals in the content index; each copy's source is "
        "estimated as the closest earlier copy (identical bytes, then PDQ distance, then "
        "the most recent)"},
       {"totals",
        {{"copies", list.size()}, {"chats", chat_list.size()}, {"uploaders", uploaders.size()}}},
       {"copies", list},
       {"chats", chat_list},
       {"edges", edges},
       {"truncated", truncated}});
  if (!copies.empty()) {
    const auto& f = copies.front().c;
    out["first"] = {{"content_id", f.content_id},
                    {"chat_id", f.chat_id},
                    {"uploader_id", f.uploader_id},
                    {"recorded_at", IsoUtc(f.created_ms)}};
    out["totals"]["first_ms"] = f.created_ms;
    out["totals"]["last_ms"] = copies.back().c.created_ms;
  }
  return out;
}

std::string Spread::Csv(const json& spread) {
  std::string out =
      "content_id,chat_id,uploader_id,recorded_at,state,media,signal,distance,from_content_id,"
      "from_how\r\n";
  for (const auto& c : spread["copies"]) {
    const std::vector<std::string> cells = {
        c.value("content_id", ""),      c.value("chat_id", ""),
        c.value("uploader_id", ""),     c.value("recorded_at", ""),
        c.value("state", ""),           c.value("media", ""),
        c.value("signal", ""),          std::to_string(c.value("distance", 0)),
        c.value("from_content_id", ""), c.value("from_how", "")};
    for (size_t i = 0; i < cells.size(); ++i) {
      if (i > 0) out += ',';
      out += CsvCell(cells[i]);
    }
    out += "\r\n";
  }
  return out;
}

}  // namespace takedown::service
