#include "takedown/uploaders.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <set>

#include "core/clock.h"
#include "core/text.h"

namespace takedown::service {

using nlohmann::json;

namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t b = 0;
  for (size_t e; (e = s.find(sep, b)) != std::string_view::npos; b = e + 1)
    out.push_back(TrimBlanks(s.substr(b, e - b)));
  out.push_back(TrimBlanks(s.substr(b)));
  return out;
}

constexpr int64_t kDayMs = 86'400'000;

}  // namespace

const std::vector<RepeatRule>* RepeatPolicy::For(Category c) const {
  if (auto it = rules.find(std::string(NameOf(c))); it != rules.end()) return &it->second;
  if (auto it = rules.find("*"); it != rules.end()) return &it->second;
  return nullptr;
}

Result<RepeatPolicy> ParseRepeatPolicy(const std::string& text) {
  RepeatPolicy p;
  if (TrimBlanks(text).empty()) return p;
  for (const std::string& part : Split(text, ';')) {
    if (part.empty()) continue;  // a trailing ';'
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument(
          fmt::format("repeat uploader policy: '{}' is not CATEGORY=N:MEASURE,...", part));
    }
    const std::string category = TrimBlanks(std::string_view(part).substr(0, eq));
    if (category != "*" && !EnumFromName<Category>(category)) {
      return InvalidArgument(fmt::format("repeat uploader policy: '{}' is not a category ({} or *)",
                                         category, EnumChoices<Category>()));
    }
    if (p.rules.count(category)) {
      return InvalidArgument(
          fmt::format("repeat uploader policy: the category '{}' is given twice", category));
    }
    std::vector<RepeatRule> rules;
    std::set<int> counts;
    for (const std::string& rule : Split(std::string_view(part).substr(eq + 1), ',')) {
      const size_t colon = rule.find(':');
      if (colon == std::string::npos) {
        return InvalidArgument(
            fmt::format("repeat uploader policy: '{}' ({}) is not N:MEASURE", rule, category));
      }
      const std::string n_text = TrimBlanks(std::string_view(rule).substr(0, colon));
      const std::string m_text = TrimBlanks(std::string_view(rule).substr(colon + 1));
      int n = 0;
      const auto [end, ec] = std::from_chars(n_text.data(), n_text.data() + n_text.size(), n);
      if (ec != std::errc() || end != n_text.data() + n_text.size() || n < 1 || n > 1000) {
        return InvalidArgument(
            fmt::format("repeat uploader policy: '{}' ({}) is not a count of strikes in 1..1000",
                        n_text, category));
      }
      const auto measure = EnumFromName<AccountMeasure>(m_text);
      if (!measure) {
        return InvalidArgument(
            fmt::format("repeat uploader policy: '{}' ({}) is not a measure ({})", m_text, category,
                        EnumChoices<AccountMeasure>()));
      }
      if (!counts.insert(n).second) {
        return InvalidArgument(fmt::format(
            "repeat uploader policy: the count {} is given twice for '{}'", n, category));
      }
      rules.push_back({n, *measure});
    }
    std::sort(rules.begin(), rules.end(),
              [](const RepeatRule& a, const RepeatRule& b) { return a.count < b.count; });
    p.rules[category] = std::move(rules);
  }
  return p;
}

Uploaders::Uploaders(WorkflowContext* ctx, std::function<void()> wake)
    : ctx_(ctx), wake_(std::move(wake)) {
  auto p = ParseRepeatPolicy(ctx_->opt.repeat_uploader_policy);
  if (p.ok()) {
    policy_ = std::move(*p);
  } else {  // the configuration checks it first: only a caller that did not can be here
    spdlog::error("uploaders: {}; no account actions will be taken", p.status().message());
  }
}

int64_t Uploaders::window_ms() const {
  return std::max(1, ctx_->opt.repeat_uploader_window_days) * kDayMs;
}

Result<store::DocRecord> Uploaders::LoadOrNew(const std::string& uploader) {
  const std::string ukey = "uploader:" + uploader;
  TD_ASSIGN_OR_RETURN(auto found, ctx_->stores.docs->FindDocs(
                                      {.kind = std::string(kDoc), .limit = 1, .ukey = ukey}));
  if (!found.empty()) {
    const json j = json::parse(found[0].doc, nullptr, false);
    if (!j.is_object() || !j.value("strikes", json::array()).is_array() ||
        !j.value("account_actions", json::array()).is_array()) {
      return DataLoss(fmt::format("uploader document {} is damaged", found[0].id));
    }
    return found[0];
  }
  store::DocRecord rec;
  rec.kind = std::string(kDoc);
  rec.state = "counting";
  rec.ukey = ukey;
  rec.doc = json{{"kind", kDoc},
                 {"uploader_id", uploader},
                 {"strikes", json::array()},
                 {"account_actions", json::array()}}
                .dump();
  return rec;
}

Status Uploaders::Count(const std::vector<std::pair<std::string, Strike>>& strikes) {
  if (policy_.empty()) return Status::Ok();
  // By uploader, each in the order given.
  std::map<std::string, std::vector<const Strike*>> by;
  for (const auto& [u, s] : strikes) {
    if (!u.empty()) by[u].push_back(&s);
  }
  if (by.empty()) return Status::Ok();
  MutexLock l(&mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kUploadersLock));
  store::DocumentStore::Changes ch;
  const int64_t now = ctx_->Now();
  const int64_t window = window_ms();
  size_t queued = 0;
  for (const auto& [uploader, list] : by) {
    TD_ASSIGN_OR_RETURN(store::DocRecord rec, LoadOrNew(uploader));
    json u = json::parse(rec.doc);
    json& kept = u["strikes"];
    std::set<std::string> refs;
    for (const auto& k : kept) refs.insert(k.value("ref", ""));
    for (const Strike* s : list) {
      if (!refs.insert(s->ref).second) continue;  // counted before
      kept.push_back({{"ref", s->ref},
                      {"category", NameOf(s->category)},
                      {"at_ms", s->at_ms},
                      {"content_id", s->content_id},
                      {"chat_id", s->chat_id},
                      {"request_id", s->request_id}});
      // Strikes of this category within the window ending now, void ones aside.
      const std::string cat(NameOf(s->category));
      json content_ids = json::array();
      int64_t n = 0;
      for (const auto& k : kept) {
        if (k.value("category", "") != cat || k.value("void", false)) continue;
        if (k.value("at_ms", int64_t{0}) < s->at_ms - window) continue;
        ++n;
        content_ids.push_back(k.value("content_id", ""));
      }
      const auto* rules = policy_.For(s->category);
      if (rules == nullptr) continue;
      for (const RepeatRule& rule : *rules) {
        if (rule.count != n) continue;
        Action a;
        a.kind = ActionKind::kAccountAction;
        a.state = ActionState::kPending;
        a.due_ms = now;
        a.uploader_id = uploader;
        a.measure = rule.measure;
        a.category = s->category;
        a.strikes = n;
        a.window_days = std::max(1, ctx_->opt.repeat_uploader_window_days);
        for (const auto& id : content_ids) a.content_ids.push_back(id.get<std::string>());
        a.request_id = s->request_id;
        a.chat_id = s->chat_id;
        a.media = s->media;
        a.content_created_ms = s->content_created_ms;
        // Once per reaching of the count: the strike that reached it names it.
        a.ukey = fmt::format("account:{}:{}:{}:{}", uploader, cat, n, s->ref);
        ch.docs.push_back(ToDoc(a));
        u["account_actions"].push_back({{"measure", NameOf(rule.measure)},
                                        {"category", cat},
                                        {"strikes", n},
                                        {"at_ms", now},
                                        {"idempotency_key", a.ukey}});
        ch.audits.push_back({"system", "uploader.repeat",
                             json{{"uploader_id", uploader},
                                  {"category", cat},
                                  {"strikes", n},
                                  {"window_days", a.window_days},
                                  {"measure", NameOf(rule.measure)},
                                  {"idempotency_key", a.ukey}}
                                 .dump()});
        ++queued;
      }
    }
    // Only what a later count can need: the window's strikes, at most kMaxStrikes (the newest).
    json pruned = json::array();
    for (auto& k : kept) {
      if (k.value("at_ms", int64_t{0}) >= now - window) pruned.push_back(std::move(k));
    }
    if (pruned.size() > kMaxStrikes) pruned.erase(pruned.begin(), pruned.end() - kMaxStrikes);
    u["strikes"] = std::move(pruned);
    u["last_strike_ms"] = list.back()->at_ms;
    rec.doc = u.dump();
    ch.docs.push_back(std::move(rec));
  }
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  if (queued > 0 && wake_) wake_();
  return Status::Ok();
}

Status Uploaders::Void(const std::string& uploader, const std::string& ref) {
  if (uploader.empty()) return Status::Ok();
  MutexLock l(&mu_);
  TD_ASSIGN_OR_RETURN(auto held, ctx_->LockShared(kUploadersLock));
  TD_ASSIGN_OR_RETURN(store::DocRecord rec, LoadOrNew(uploader));
  if (rec.id == 0) return Status::Ok();  // never counted
  json u = json::parse(rec.doc);
  bool changed = false;
  for (auto& k : u["strikes"]) {
    if (k.value("ref", "") == ref && !k.value("void", false)) {
      k["void"] = true;
      changed = true;
    }
  }
  if (!changed) return Status::Ok();
  rec.doc = u.dump();
  return ctx_->stores.docs->PutDocs({rec}).status();
}

Result<std::optional<json>> Uploaders::Standing(const std::string& uploader) {
  if (uploader.empty()) return std::optional<json>();
  TD_ASSIGN_OR_RETURN(auto found,
                      ctx_->stores.docs->FindDocs(
                          {.kind = std::string(kDoc), .limit = 1, .ukey = "uploader:" + uploader}));
  if (found.empty()) return std::optional<json>();
  const json u = json::parse(found[0].doc, nullptr, false);
  if (!u.is_object()) return DataLoss(fmt::format("uploader document {} is damaged", found[0].id));
  const int64_t since = ctx_->Now() - window_ms();
  json by_category = json::object();
  int64_t total = 0;
  for (const auto& k : u.value("strikes", json::array())) {
    if (k.value("void", false) || k.value("at_ms", int64_t{0}) < since) continue;
    const std::string cat = k.value("category", "other");
    by_category[cat] = by_category.value(cat, 0) + 1;
    ++total;
  }
  json actions = json::array();
  for (const auto& a : u.value("account_actions", json::array())) {
    actions.push_back({{"measure", a.value("measure", "")},
                       {"category", a.value("category", "")},
                       {"strikes", a.value("strikes", 0)},
                       {"at", IsoUtc(a.value("at_ms", int64_t{0}))},
                       {"idempotency_key", a.value("idempotency_key", "")}});
  }
  if (total == 0 && actions.empty()) return std::optional<json>();
  json out = {{"uploader_id", uploader},
              {"strikes", total},
              {"strikes_by_category", by_category},
              {"window_days", std::max(1, ctx_->opt.repeat_uploader_window_days)},
              {"account_actions", actions}};
  if (const int64_t last = u.value("last_strike_ms", int64_t{0}); last > 0)
    out["last_strike"] = IsoUtc(last);
  return std::optional<json>(std::move(out));
}

}  // namespace takedown::service
