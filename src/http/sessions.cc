#include "http/sessions.h"

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "hash/digest.h"
#include "store/store.h"

namespace takedown::http {

namespace {

using nlohmann::json;

constexpr int64_t kMinuteMs = 60'000;

std::string SessionKey(const std::string& digest) { return "console_session:" + digest; }

// A conditional change another process got to first: the session was ended there (its state is
// no longer live) or deleted by a purge. Not an error: the session is gone either way.
bool LostRace(const Status& st) {
  return st.code() == StatusCode::kFailedPrecondition || st.code() == StatusCode::kNotFound;
}

// Marks live sessions ended, all or none: false when another process changed one first.
Result<bool> MarkEnded(store::DocumentStore* docs, std::vector<store::DocRecord> sessions) {
  if (sessions.empty()) return true;
  store::DocumentStore::Changes ch;
  for (auto& d : sessions) {
    ch.expect_states.emplace_back(d.id, "live");
    d.state = "ended";
    ch.docs.push_back(std::move(d));
  }
  auto done = docs->Transact(ch);
  if (!done.ok() && LostRace(done.status())) return false;
  TD_RETURN_IF_ERROR(done.status());
  return true;
}

// At most this many sign-ins by one key an hour with sessions in a store: ended sessions are
// kept until their absolute end, so this bounds what one key's holder can make the store keep.
constexpr int kSignInsPerKeyHour = 200;
// At most this many failed sign-ins recorded by one process a minute (the in-memory throttle
// bounds its table likewise): an attacker rotating addresses does not grow the store at will.
constexpr int kFailuresRecordedPerMinute = 100'000;

json SessionJson(const Sessions::Session& s) {
  return {{"key_hash", s.key_hash},
          {"key_id", s.key_id},
          {"csrf", s.csrf},
          {"created_ms", s.created_ms},
          {"last_ms", s.last_ms}};
}

std::optional<Sessions::Session> SessionOf(const store::DocRecord& d) {
  auto j = json::parse(d.doc, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Sessions::Session s;
  s.key_hash = j.value("key_hash", "");
  s.key_id = j.value("key_id", int64_t{0});
  s.csrf = j.value("csrf", "");
  s.created_ms = j.value("created_ms", int64_t{0});
  s.last_ms = j.value("last_ms", int64_t{0});
  if (s.key_hash.empty() || s.csrf.empty()) return std::nullopt;
  return s;
}

}  // namespace

Sessions::Sessions(SessionOptions options, Env* env, store::DocumentStore* docs)
    : opt_(options), env_(env != nullptr ? env : Env::Default()), docs_(docs) {
  if (docs_ != nullptr) failed_.emplace(docs_, kSignInFailureDoc, kMinuteMs);
}

std::string Sessions::RandomHex(size_t bytes) {
  std::vector<uint8_t> b(bytes);
  env_->RandomBytes(b.data(), b.size());
  return hash::HexOf(b);
}

void Sessions::DropExpired(int64_t now) {
  for (auto it = by_digest_.begin(); it != by_digest_.end();) {
    if (now >= it->second.idle_expires_ms(opt_) || now >= it->second.expires_ms(opt_))
      it = by_digest_.erase(it);
    else
      ++it;
  }
}

Result<Sessions::Issued> Sessions::Create(const std::string& key_hash, int64_t key_id) {
  Issued out;
  out.token = RandomHex(32);
  const int64_t now = env_->NowMs();
  out.session = {key_hash, key_id, RandomHex(32), now, now};
  const std::string digest = hash::Sha256HexOfText(out.token);
  if (docs_ != nullptr) {
    TD_RETURN_IF_ERROR(CreateStored(digest, out.session));
    return out;
  }
  MutexLock l(&mu_);
  DropExpired(now);
  // The key's oldest sessions past max_per_key, then the least recently used past max_sessions.
  std::vector<std::map<std::string, Session>::iterator> of_key;
  for (auto it = by_digest_.begin(); it != by_digest_.end(); ++it) {
    if (it->second.key_id == key_id) of_key.push_back(it);
  }
  std::sort(of_key.begin(), of_key.end(), [](const auto& a, const auto& b) {
    return a->second.created_ms < b->second.created_ms;
  });
  for (size_t i = 0; i + opt_.max_per_key <= of_key.size() && opt_.max_per_key > 0; ++i)
    by_digest_.erase(of_key[i]);
  while (!by_digest_.empty() && by_digest_.size() >= std::max<size_t>(1, opt_.max_sessions)) {
    auto lru = std::min_element(
        by_digest_.begin(), by_digest_.end(),
        [](const auto& a, const auto& b) { return a.second.last_ms < b.second.last_ms; });
    by_digest_.erase(lru);
  }
  by_digest_[digest] = out.session;
  return out;
}

Result<std::optional<Sessions::Session>> Sessions::Use(const std::string& token) {
  if (token.size() != 64) return std::optional<Session>();
  const std::string digest = hash::Sha256HexOfText(token);
  const int64_t now = env_->NowMs();
  if (docs_ != nullptr) return UseStored(digest, now);
  MutexLock l(&mu_);
  auto it = by_digest_.find(digest);
  if (it == by_digest_.end()) return std::optional<Session>();
  if (now >= it->second.idle_expires_ms(opt_) || now >= it->second.expires_ms(opt_)) {
    by_digest_.erase(it);
    return std::optional<Session>();
  }
  it->second.last_ms = now;
  return std::optional<Session>(it->second);
}

Result<bool> Sessions::End(const std::string& token) {
  const std::string digest = hash::Sha256HexOfText(token);
  if (docs_ != nullptr) return EndStored(digest);
  MutexLock l(&mu_);
  return by_digest_.erase(digest) > 0;
}

Result<size_t> Sessions::Count() {
  if (docs_ != nullptr) return CountStored(env_->NowMs());
  MutexLock l(&mu_);
  DropExpired(env_->NowMs());
  return by_digest_.size();
}

bool Sessions::Allowed(const std::string& address) {
  const int64_t now = env_->NowMs();
  if (docs_ != nullptr) {
    auto n = failed_->Count({.state = address}, now, opt_.max_failures_per_minute);
    if (!n.ok()) {
      spdlog::warn("console: failed sign-ins of {} not read: {}", address, n.status().message());
      return true;
    }
    return *n < opt_.max_failures_per_minute;
  }
  MutexLock l(&mu_);
  auto it = failures_.find(address);
  if (it == failures_.end()) return true;
  if (now - it->second.window_start_ms >= kMinuteMs) {
    failures_.erase(it);
    return true;
  }
  return it->second.count < opt_.max_failures_per_minute;
}

void Sessions::Failed(const std::string& address) {
  const int64_t now = env_->NowMs();
  if (docs_ != nullptr) {
    {
      MutexLock l(&mu_);
      if (now - recorded_minute_start_ms_ >= kMinuteMs) {
        recorded_minute_start_ms_ = now;
        recorded_this_minute_ = 0;
      }
      if (++recorded_this_minute_ > kFailuresRecordedPerMinute) return;
    }
    // (Those older than a minute no longer count: deleted at most once a minute.)
    if (Status st = failed_->Add({{.state = address}}, now); !st.ok()) {
      spdlog::warn("console: a failed sign-in of {} not recorded: {}", address, st.message());
    }
    return;
  }
  MutexLock l(&mu_);
  if (failures_.size() >= 100'000) {  // bounded: windows that ended go first
    for (auto it = failures_.begin(); it != failures_.end();) {
      it = now - it->second.window_start_ms >= kMinuteMs ? failures_.erase(it) : std::next(it);
    }
    if (failures_.size() >= 100'000) failures_.clear();
  }
  Failures& f = failures_[address];
  if (now - f.window_start_ms >= kMinuteMs) f = {now, 0};
  ++f.count;
}

// ---- In a store.

Status Sessions::EndExpiredStored(int64_t now) {
  // Live documents due by now ended unused or past their time: marked ended, a page at a time.
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto due, docs_->FindDocs({.kind = kSessionDoc,
                                                   .state = "live",
                                                   .due_before = now,
                                                   .limit = 500,
                                                   .by_due = true}));
    if (due.empty()) return Status::Ok();
    const size_t n = due.size();
    TD_ASSIGN_OR_RETURN(const bool ended, MarkEnded(docs_, std::move(due)));
    if (!ended || n < 500) return Status::Ok();  // (another process is ending them: next time)
  }
}

Status Sessions::CreateStored(const std::string& digest, const Session& s) {
  const int64_t now = s.created_ms;
  MutexLock l(&mu_);
  if (now - last_purge_ms_ >= kMinuteMs) {
    last_purge_ms_ = now;
    TD_RETURN_IF_ERROR(EndExpiredStored(now));
    // Every session made before the absolute lifetime has ended.
    TD_RETURN_IF_ERROR(docs_->DeleteDocs(kSessionDoc, now - opt_.absolute_ms).status());
  }
  auto end = [&](std::vector<store::DocRecord> docs) {  // (or ended elsewhere meanwhile)
    return MarkEnded(docs_, std::move(docs)).status();
  };
  // A key's sign-ins are bounded (each leaves a document until its absolute end).
  TD_ASSIGN_OR_RETURN(auto recent, docs_->FindDocs({.kind = kSessionDoc,
                                                    .owner = s.key_id,
                                                    .created_from = now - 3'600'000 + 1,
                                                    .limit = kSignInsPerKeyHour}));
  if (recent.size() >= static_cast<size_t>(kSignInsPerKeyHour)) {
    return ResourceExhausted(fmt::format(
        "this key has signed in {} times within the last hour: wait, or use the sessions it has",
        kSignInsPerKeyHour));
  }
  // The key's live sessions: those past their time are ended, then the oldest (by id: the order
  // they were made in) past max_per_key.
  if (opt_.max_per_key > 0) {
    TD_ASSIGN_OR_RETURN(
        auto of_key,
        docs_->FindDocs({.kind = kSessionDoc, .owner = s.key_id, .state = "live", .limit = 10000}));
    std::vector<store::DocRecord> old, valid;
    for (auto& d : of_key) (d.due_ms <= now ? old : valid).push_back(std::move(d));
    for (size_t i = 0; i + opt_.max_per_key <= valid.size(); ++i) old.push_back(valid[i]);
    TD_RETURN_IF_ERROR(end(std::move(old)));
  }
  // Then the least recently used (the earliest due) past max_sessions.
  TD_ASSIGN_OR_RETURN(auto live, docs_->CountDocs(kSessionDoc, "live"));
  const int64_t over =
      live.count - static_cast<int64_t>(std::max<size_t>(1, opt_.max_sessions)) + 1;
  if (over > 0) {
    TD_ASSIGN_OR_RETURN(auto lru, docs_->FindDocs({.kind = kSessionDoc,
                                                   .state = "live",
                                                   .limit = std::min<int64_t>(over, 10000),
                                                   .by_due = true}));
    TD_RETURN_IF_ERROR(end(std::move(lru)));
  }
  store::DocRecord d;
  d.kind = kSessionDoc;
  d.owner = s.key_id;
  d.state = "live";
  d.due_ms = std::min(s.idle_expires_ms(opt_), s.expires_ms(opt_));
  d.ukey = SessionKey(digest);
  d.doc = SessionJson(s).dump();
  return docs_->PutDocs({d}).status();
}

Result<std::optional<Sessions::Session>> Sessions::UseStored(const std::string& digest,
                                                             int64_t now) {
  TD_ASSIGN_OR_RETURN(
      auto found, docs_->FindDocs({.kind = kSessionDoc, .limit = 1, .ukey = SessionKey(digest)}));
  if (found.empty() || found[0].state != "live") return std::optional<Session>();
  store::DocRecord d = std::move(found[0]);
  auto s = SessionOf(d);
  if (!s) return Internal(fmt::format("console session document {} is unreadable", d.id));
  if (now >= s->idle_expires_ms(opt_) || now >= s->expires_ms(opt_)) {
    TD_RETURN_IF_ERROR(MarkEnded(docs_, {std::move(d)}).status());
    return std::optional<Session>();
  }
  // The idle expiry moves on in the store at most every idle/30: a use is a read, not a write.
  if (now - s->last_ms >= std::max<int64_t>(1, opt_.idle_ms / 30)) {
    store::DocumentStore::Changes ch;
    ch.expect_states.emplace_back(d.id, "live");
    s->last_ms = now;
    d.due_ms = std::min(s->idle_expires_ms(opt_), s->expires_ms(opt_));
    d.doc = SessionJson(*s).dump();
    ch.docs.push_back(std::move(d));
    auto done = docs_->Transact(ch);
    if (!done.ok() && LostRace(done.status()))
      return std::optional<Session>();  // ended at another process meanwhile
    TD_RETURN_IF_ERROR(done.status());
  }
  return s;
}

Result<bool> Sessions::EndStored(const std::string& digest) {
  TD_ASSIGN_OR_RETURN(
      auto found, docs_->FindDocs({.kind = kSessionDoc, .limit = 1, .ukey = SessionKey(digest)}));
  if (found.empty() || found[0].state != "live") return false;
  return MarkEnded(docs_, std::move(found));
}

Result<size_t> Sessions::CountStored(int64_t now) {
  TD_RETURN_IF_ERROR(EndExpiredStored(now));
  TD_ASSIGN_OR_RETURN(auto live, docs_->CountDocs(kSessionDoc, "live"));
  return static_cast<size_t>(live.count);
}

bool Sessions::SameSecret(const std::string& a, const std::string& b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string CookieValue(const std::string& header, const std::string& name) {
  size_t pos = 0;
  while (pos < header.size()) {
    size_t end = header.find(';', pos);
    if (end == std::string::npos) end = header.size();
    std::string_view part(header.data() + pos, end - pos);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    const size_t eq = part.find('=');
    if (eq != std::string_view::npos && part.substr(0, eq) == name) {
      return std::string(part.substr(eq + 1));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace takedown::http
