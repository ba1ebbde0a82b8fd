#include "takedown/service.h"

#include <fmt/format.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_set>

#include "core/numbers.h"
#include "core/text.h"
#include "hash/digest.h"
#include "hash/image_signals.h"
#include "match/signals.h"
#include "media/format.h"

namespace takedown::service {
namespace {

constexpr int kMinQuality = 50;  // PDQ.md: hashes of lower quality are not acted on

// content_layer_'s id of layer k (< kMaxLayers) of content row `row`, and back.
uint64_t LayerId(int64_t row, size_t k) { return static_cast<uint64_t>(row) << 4 | k; }
int64_t LayerRow(uint64_t id) { return static_cast<int64_t>(id >> 4); }

std::string Json(const nlohmann::json& j) { return j.dump(); }

// A bank entry's request, as its record names it ("" or not a request id: 0).
int64_t RequestIdOf(const std::string& request_id) {
  auto id = ParseId(request_id, "request_id");
  return id.ok() ? *id : 0;
}

// An entry known by its PDQ without the bank-side variants made from its picture (an imported
// list's hash, a request's hashes, robust signals sent without variants): the upload's own
// dihedral hashes, box and layers are matched against its PDQ instead (FindMatches).
bool HashOnly(const store::BankEntryRecord& e, size_t variants) {
  return !e.pdq.empty() && e.video.empty() && variants == 0;
}

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// A stored record's signals (JSON) parsed whole; DataLoss naming the record when they do not
// parse. what: "bank entry" or "content".
Result<std::shared_ptr<const RobustImage>> StoredRobust(std::string_view what, int64_t id,
                                                        const std::string& text) {
  auto r = RobustFromJson(nlohmann::json::parse(text, nullptr, false));
  if (!r.ok())
    return DataLoss(
        fmt::format("{} {}: bad stored robust signals: {}", what, id, r.status().message()));
  return r;
}
Result<std::shared_ptr<const match::VideoItem>> StoredVideo(std::string_view what, int64_t id,
                                                            const std::string& text) {
  auto v = VideoFromJson(nlohmann::json::parse(text, nullptr, false));
  if (!v.ok())
    return DataLoss(
        fmt::format("{} {}: bad stored video signals: {}", what, id, v.status().message()));
  return v;
}

}  // namespace

std::string GateBlockKey(int64_t content_row) { return fmt::format("block:{}", content_row); }

std::string NewApiKey(Env* env) {
  unsigned char raw[32];
  env->RandomBytes(raw, sizeof(raw));
  static constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string key = "td_";
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : raw) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      key += kB64[(acc >> bits) & 63];
    }
  }
  if (bits > 0) key += kB64[(acc << (6 - bits)) & 63];
  return key;
}

std::string KeyHash(const std::string& key) {
  return hash::Sha256Hex(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(key.data()), key.size()));
}

Service::Service(store::Store* store, Env* env, ShardSet shards, bool bank)
    : store_(store),
      env_(env != nullptr ? env : Env::Default()),
      shards_(std::move(shards)),
      bank_(bank) {}

Result<std::unique_ptr<Service>> Service::Create(store::Store* store, Env* env, ShardSet shards,
                                                 bool bank) {
  std::unique_ptr<Service> s(new Service(store, env, std::move(shards), bank));
  s->feed_ = store->changes();
  // The log is read from before the load: nothing committed meanwhile is missed (what the load
  // also saw comes again, and is applied idempotently).
  if (s->feed_ != nullptr) {
    // Only the records this process keeps: its shards' content, entries where it holds the bank.
    s->feed_->SetInterest({bank, s->shards_.total, s->shards_.held});
    TD_RETURN_IF_ERROR(s->feed_->StartFeed());
  }
  TD_RETURN_IF_ERROR(s->Load());
  if (s->feed_ != nullptr) {
    s->last_read_ = SteadyMs();
    s->follower_ = std::thread([p = s.get()] { p->Follow(); });
  }
  return s;
}

Service::~Service() {
  stop_following_ = true;
  if (follower_.joinable()) follower_.join();
}

Status Service::CatchUp() {
  if (feed_ == nullptr) return Status::Ok();
  std::vector<Blocked> blocks;
  Status st;
  {
    MutexLock lock(&follow_mu_);
    st = ReadAndApply(&blocks);
  }
  CallBlockedHook(blocks);
  return st;
}

void Service::Follow() {
  int64_t last_prune = 0;
  while (!stop_following_) {
    feed_->WaitForChanges(kFollowPoll);
    if (stop_following_) break;
    std::vector<Blocked> blocks;
    {
      MutexLock lock(&follow_mu_);
      // Not read for so long that changes it has not seen may be pruned: everything anew.
      if (SteadyMs() - last_read_.load() > kChangeRetentionMs / 2) {
        spdlog::warn("replica: the change log was not read for {} s; loading the store anew",
                     (SteadyMs() - last_read_.load()) / 1000);
        if (Status st = Resync(); !st.ok()) {
          follow_errors_.fetch_add(1);
          spdlog::error("replica: loading the store anew: {}", st.message());
          continue;
        }
      }
      if (Status st = ReadAndApply(&blocks); !st.ok()) {
        if (follow_errors_.fetch_add(1) % 20 == 0)
          spdlog::error("replica: reading the change log: {} (retried)", st.message());
      }
    }
    CallBlockedHook(blocks);
    if (SteadyMs() - last_prune > 60'000) {
      last_prune = SteadyMs();
      auto pruned = feed_->PruneChanges(kChangeRetentionMs);
      if (!pruned.ok())
        spdlog::warn("replica: pruning the change log: {}", pruned.status().message());
    }
  }
}

Status Service::ReadAndApply(std::vector<Blocked>* blocks) {
  // Page by page until a page is short: everything committed until the last read.
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto changes, feed_->ReadChanges(store::ChangeFeed::kChangesPerRead));
    last_read_ = SteadyMs();
    TD_RETURN_IF_ERROR(Apply(changes, blocks));
    if (changes.size() < store::ChangeFeed::kChangesPerRead) return Status::Ok();
  }
}

Status Service::Apply(const std::vector<store::ChangeRecord>& changes,
                      std::vector<Blocked>* blocks) {
  for (const store::ChangeRecord& ch : changes) {
    if (ch.own && ch.kind != "entry_state") continue;  // applied by this process as it wrote it
    if (ch.kind == "bank" && ch.bank) {
      WriterLock lock(&mu_);
      if (!banks_.count(ch.bank->id)) {
        banks_[ch.bank->id] = *ch.bank;
        bank_by_name_[ch.bank->name] = ch.bank->id;
      }
    } else if ((ch.kind == "entry" || ch.kind == "entry_state") && ch.entry) {
      if (!bank_) continue;  // a shard-only holder keeps no entry
      TD_RETURN_IF_ERROR(IndexEntry(*ch.entry, /*from_feed=*/true));
    } else if (ch.kind == "content" && ch.content) {
      TD_RETURN_IF_ERROR(IndexContent(*ch.content));
    } else if (ch.kind == "block" && ch.doc && HasBlockedHook()) {
      auto b = BlockedOf(*ch.doc);
      if (!b) continue;
      blocks->push_back(std::move(*b));
    } else {
      continue;
    }
    applied_.fetch_add(1);
  }
  return Status::Ok();
}

std::optional<Service::Blocked> Service::BlockedOf(const store::DocRecord& d) {
  auto j = nlohmann::json::parse(d.doc, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  Blocked b;
  b.block_id = d.id;
  b.content_row = d.owner;
  b.request_id = j.value("request_id", int64_t{0});
  b.blocked_ms = j.value("blocked_ms", int64_t{0});
  b.content_id = j.value("content_id", "");
  b.chat_id = j.value("chat_id", "");
  b.uploader_id = j.value("uploader_id", "");
  b.media = j.value("media", "");
  if (j.contains("matches") && j["matches"].is_array() && !j["matches"].empty() &&
      j["matches"][0].is_object())
    b.category = j["matches"][0].value("category", "");
  return b;
}

Status Service::NeedsBank() const {
  if (bank_) return Status::Ok();
  return Unavailable(
      "this process holds content shards only (store.role shard) and no bank: send uploads and "
      "bank changes to a process with store.role gate or all");
}

void Service::LearnBanks(std::vector<store::BankRecord> banks) {
  for (auto& b : banks) {
    if (banks_.count(b.id)) continue;
    bank_by_name_[b.name] = b.id;
    banks_[b.id] = std::move(b);
  }
}

Status Service::Resync() {
  TD_RETURN_IF_ERROR(feed_->StartFeed());
  TD_ASSIGN_OR_RETURN(auto banks, store_->ListBanks());
  {
    WriterLock lock(&mu_);
    LearnBanks(std::move(banks));
  }
  if (bank_) {
    TD_RETURN_IF_ERROR(store_->ScanBankEntries(
        [&](const store::BankEntryRecord& e) { return IndexEntry(e, /*from_feed=*/true); }));
  }
  TD_RETURN_IF_ERROR(store_->ScanContentShards(
      shards_.total, shards_.held, [&](const store::ContentRecord& c) { return IndexContent(c); }));
  last_read_ = SteadyMs();
  resyncs_.fetch_add(1);
  return Status::Ok();
}

Status Service::IndexEntry(const store::BankEntryRecord& e, bool from_feed) {
  const bool pdq_indexed = !e.pdq.empty() && e.quality >= kMinQuality;
  {
    WriterLock lock(&mu_);
    if (auto it = entries_.find(e.id); it != entries_.end()) {
      if (from_feed && it->second.enabled != e.enabled) {
        it->second.enabled = e.enabled;
        if (pdq_indexed) (void)bank_pdq_->SetEnabled(static_cast<uint64_t>(e.id), e.enabled);
      }
      return Status::Ok();
    }
  }
  std::shared_ptr<const RobustImage> robust;
  std::shared_ptr<const match::VideoItem> video;
  if (!e.robust.empty()) {
    TD_ASSIGN_OR_RETURN(auto r, StoredRobust("bank entry", e.id, e.robust));
    robust = std::move(r);
  }
  if (!e.video.empty()) {
    TD_ASSIGN_OR_RETURN(auto v, StoredVideo("bank entry", e.id, e.video));
    video = std::move(v);
  }
  std::optional<hash::Hash256> pdq;
  if (pdq_indexed) {
    auto h = hash::Hash256::FromHex(e.pdq);
    if (!h.ok()) return DataLoss(fmt::format("bank entry {}: bad stored hash", e.id));
    pdq = *h;
  }
  // The hashes first, the entry last: a check that finds the hash before the entry is known
  // skips it (bank_of), and never sees an entry without its signals.
  if (pdq && bank_pdq_->AddIfAbsent(static_cast<uint64_t>(e.id), *pdq) && !e.enabled)
    (void)bank_pdq_->SetEnabled(static_cast<uint64_t>(e.id), false);
  if (robust) {
    for (size_t i = 0; i < robust->variants.size(); ++i)
      (void)bank_whole_->AddIfAbsent(static_cast<uint64_t>(e.id) << 8 | i,
                                     robust->variants[i].hash);
  }
  WriterLock lock(&mu_);
  if (entries_.count(e.id)) return Status::Ok();  // added meanwhile by the other path
  entries_[e.id] = {e.bank_id, e.enabled, RequestIdOf(e.request_id),
                    HashOnly(e, robust ? robust->variants.size() : 0)};
  if (!e.md5.empty()) exact_.emplace(e.md5, e.id);
  if (!e.sha256.empty()) exact_.emplace(e.sha256, e.id);
  if (video) {
    bank_videos_.emplace_back(e.id, std::move(video));
    RebuildBankVideos();
  }
  return Status::Ok();
}

Status Service::IndexContent(const store::ContentRecord& c) {
  if (!shards_.HoldsContent(c.content_id)) return Status::Ok();  // another replica's shard
  bool added = c.pdq.empty();
  if (!c.pdq.empty()) {
    auto h = hash::Hash256::FromHex(c.pdq);
    if (!h.ok()) return DataLoss(fmt::format("content {}: bad stored hash", c.id));
    added = content_pdq_->AddIfAbsent(static_cast<uint64_t>(c.id), *h);
  }
  if (!c.robust.empty()) {
    TD_ASSIGN_OR_RETURN(auto r, StoredRobust("content", c.id, c.robust));
    if (r->norm) (void)content_norm_->AddIfAbsent(static_cast<uint64_t>(c.id), r->norm->hash);
    if (r->box) (void)content_box_->AddIfAbsent(static_cast<uint64_t>(c.id), r->box->hash);
    for (size_t k = 0; k < r->layers.size() && k < kMaxLayers; ++k)
      (void)content_layer_->AddIfAbsent(LayerId(c.id, k), r->layers[k].hash);
  }
  if (!c.video.empty()) {
    TD_ASSIGN_OR_RETURN(auto v, StoredVideo("content", c.id, c.video));
    WriterLock lock(&mu_);
    if (content_video_rows_.insert(c.id).second) content_videos_.emplace_back(c.id, std::move(v));
  }
  if (added) content_.fetch_add(1);
  return Status::Ok();
}

Service::FollowStats Service::Following() const {
  FollowStats f;
  f.following = feed_ != nullptr;
  f.applied = applied_.load();
  f.resyncs = resyncs_.load();
  f.errors = follow_errors_.load();
  if (f.following) f.lag_ms = SteadyMs() - last_read_.load();
  return f;
}

Status Service::Load() {
  WriterLock lock(&mu_);  // no reader yet; the analysis sees the fields written under it
  TD_ASSIGN_OR_RETURN(auto banks, store_->ListBanks());
  LearnBanks(std::move(banks));
  // Entry by entry, never all records at once (100M entries are tens of GB of records): only
  // the hashes the indexes are built from are gathered. A shard-only holder reads no entry (the
  // bank indexes stay empty).
  std::vector<hash::Hash256> hs, whole_hs;
  std::vector<uint64_t> ids, whole_ids, disabled;
  // Gathered outside the members (the scan's function is not seen holding mu_), moved in after.
  std::unordered_map<int64_t, EntryMeta> entries;
  std::unordered_multimap<std::string, int64_t> exact;
  std::vector<std::pair<int64_t, std::shared_ptr<const match::VideoItem>>> bank_videos;
  if (bank_) {
    TD_RETURN_IF_ERROR(store_->ScanBankEntries([&](const store::BankEntryRecord& e) -> Status {
      size_t variants = 0;
      if (!e.robust.empty()) {
        TD_ASSIGN_OR_RETURN(auto r, StoredRobust("bank entry", e.id, e.robust));
        variants = r->variants.size();
        for (size_t i = 0; i < r->variants.size(); ++i) {
          whole_hs.push_back(r->variants[i].hash);
          whole_ids.push_back(static_cast<uint64_t>(e.id) << 8 | i);
        }
      }
      entries[e.id] = {e.bank_id, e.enabled, RequestIdOf(e.request_id), HashOnly(e, variants)};
      if (!e.md5.empty()) exact.emplace(e.md5, e.id);
      if (!e.sha256.empty()) exact.emplace(e.sha256, e.id);
      if (!e.video.empty()) {
        TD_ASSIGN_OR_RETURN(auto v, StoredVideo("bank entry", e.id, e.video));
        bank_videos.emplace_back(e.id, std::move(v));
      }
      if (!e.pdq.empty() && e.quality >= kMinQuality) {
        auto h = hash::Hash256::FromHex(e.pdq);
        if (!h.ok()) return DataLoss(fmt::format("bank entry {}: bad stored hash", e.id));
        hs.push_back(*h);
        ids.push_back(static_cast<uint64_t>(e.id));
        if (!e.enabled) disabled.push_back(static_cast<uint64_t>(e.id));
      }
      return Status::Ok();
    }));
  }
  entries_ = std::move(entries);
  exact_ = std::move(exact);
  bank_videos_ = std::move(bank_videos);
  TD_ASSIGN_OR_RETURN(bank_pdq_, index::HashIndex::Build(hs, ids, {}));
  TD_ASSIGN_OR_RETURN(bank_whole_, index::HashIndex::Build(whole_hs, whole_ids, {}));
  RebuildBankVideos();
  for (const uint64_t id : disabled) (void)bank_pdq_->SetEnabled(id, false);
  hs.clear();
  ids.clear();
  std::vector<hash::Hash256> norm_hs, box_hs, layer_hs;
  std::vector<uint64_t> norm_ids, box_ids, layer_ids;
  uint64_t content = 0;
  std::vector<std::pair<int64_t, std::shared_ptr<const match::VideoItem>>> videos;
  // This process's shards only (all of them by default): PostgreSQL sends no other row.
  TD_RETURN_IF_ERROR(store_->ScanContentShards(
      shards_.total, shards_.held, [&](const store::ContentRecord& c) -> Status {
        ++content;
        if (!c.video.empty()) {
          TD_ASSIGN_OR_RETURN(auto v, StoredVideo("content", c.id, c.video));
          videos.emplace_back(c.id, std::move(v));
        }
        if (!c.robust.empty()) {
          TD_ASSIGN_OR_RETURN(auto r, StoredRobust("content", c.id, c.robust));
          if (r->norm) {
            norm_hs.push_back(r->norm->hash);
            norm_ids.push_back(static_cast<uint64_t>(c.id));
          }
          if (r->box) {
            box_hs.push_back(r->box->hash);
            box_ids.push_back(static_cast<uint64_t>(c.id));
          }
          for (size_t k = 0; k < r->layers.size(); ++k) {
            layer_hs.push_back(r->layers[k].hash);
            layer_ids.push_back(LayerId(c.id, k));
          }
        }
        if (c.pdq.empty()) return Status::Ok();
        auto h = hash::Hash256::FromHex(c.pdq);
        if (!h.ok()) return DataLoss(fmt::format("content {}: bad stored hash", c.id));
        hs.push_back(*h);
        ids.push_back(static_cast<uint64_t>(c.id));
        return Status::Ok();
      }));
  TD_ASSIGN_OR_RETURN(content_pdq_, index::HashIndex::Build(hs, ids, {}));
  TD_ASSIGN_OR_RETURN(content_norm_, index::HashIndex::Build(norm_hs, norm_ids, {}));
  TD_ASSIGN_OR_RETURN(content_box_, index::HashIndex::Build(box_hs, box_ids, {}));
  TD_ASSIGN_OR_RETURN(content_layer_, index::HashIndex::Build(layer_hs, layer_ids, {}));
  for (const auto& [row, v] : videos) content_video_rows_.insert(row);
  content_videos_ = std::move(videos);
  content_ = content;
  return Status::Ok();
}

Result<std::pair<int64_t, std::string>> Service::CreateKey(Role role, const std::string& name,
                                                           const std::string& actor) {
  if (name.empty()) return InvalidArgument("a key needs a name");
  if (name.size() > 100) return InvalidArgument("key name: longer than 100 characters");
  // A name with a line break would print as a forged line in `admin list-keys` and in logs.
  if (HasControlCharacter(name))
    return InvalidArgument("key name: control characters are not allowed");
  std::string key = NewApiKey(env_);
  TD_ASSIGN_OR_RETURN(int64_t id, store_->CreateKey({0, name, std::string(RoleName(role)),
                                                     KeyHash(key), 0, false}));
  TD_RETURN_IF_ERROR(
      store_
          ->AppendAudit(actor, "key.created",
                        Json({{"key_id", id}, {"name", name}, {"role", RoleName(role)}}))
          .status());
  return std::make_pair(id, std::move(key));
}

Status Service::RevokeKey(int64_t id, const std::string& actor) {
  TD_RETURN_IF_ERROR(store_->RevokeKey(id));
  {
    WriterLock lock(&mu_);
    for (auto it = key_cache_.begin(); it != key_cache_.end();) {
      it = it->second.principal.key_id == id ? key_cache_.erase(it) : std::next(it);
    }
  }
  return store_->AppendAudit(actor, "key.revoked", Json({{"key_id", id}})).status();
}

Result<Principal> Service::Authenticate(const std::string& key) {
  return AuthenticateHash(KeyHash(key));
}

Result<Principal> Service::AuthenticateHash(const std::string& h) {
  {
    ReaderLock lock(&mu_);
    if (auto it = key_cache_.find(h);
        it != key_cache_.end() &&
        std::chrono::steady_clock::now() - it->second.checked < kKeyCacheTtl) {
      return it->second.principal;
    }
  }
  TD_ASSIGN_OR_RETURN(auto rec, store_->FindKeyByHash(h));
  if (!rec || rec->revoked) {
    WriterLock lock(&mu_);
    key_cache_.erase(h);
    return PermissionDenied("unknown or revoked API key");
  }
  TD_ASSIGN_OR_RETURN(Role role, ParseRole(rec->role));
  Principal p{rec->id, role, rec->name};
  WriterLock lock(&mu_);
  key_cache_[h] = {p, std::chrono::steady_clock::now()};
  return p;
}

Result<store::BankRecord> Service::CreateBank(const BankSpec& spec, const std::string& actor) {
  if (spec.name.empty() || spec.name.size() > 100)
    return InvalidArgument("bank name must be 1..100 characters");
  // A bank is addressed by its name in URLs (/v1/banks/NAME/entries): a path segment.
  if (spec.name.find_first_not_of(
          "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
          std::string::npos ||
      spec.name == "." || spec.name == "..") {
    return InvalidArgument(
        "bank name: letters, digits, '.', '-' and '_' only (it is part of the bank's URL)");
  }
  if (spec.category.empty()) return InvalidArgument("a bank needs a category");
  if (HasControlCharacter(spec.category)) {
    return InvalidArgument("bank category: control characters are not allowed");
  }
  if (spec.pdq_threshold < 0 || spec.pdq_threshold > 64)
    return InvalidArgument("pdq_threshold must be 0..64");
  if (spec.action != "block" && spec.action != "sweep" && spec.action != "review") {
    return InvalidArgument("action must be block, sweep or review");
  }
  store::BankRecord b{0, spec.name, spec.category, spec.pdq_threshold, spec.action, 0};
  TD_ASSIGN_OR_RETURN(b.id, store_->CreateBank(b));
  {
    WriterLock lock(&mu_);
    banks_[b.id] = b;
    bank_by_name_[b.name] = b.id;
  }
  TD_RETURN_IF_ERROR(store_
                         ->AppendAudit(actor, "bank.created",
                                       Json({{"bank_id", b.id},
                                             {"name", b.name},
                                             {"category", b.category},
                                             {"pdq_threshold", b.pdq_threshold},
                                             {"action", b.action}}))
                         .status());
  return b;
}

Result<std::vector<store::BankRecord>> Service::ListBanks() { return store_->ListBanks(); }

Result<int64_t> Service::BankIdOf(const std::string& name) {
  {
    ReaderLock lock(&mu_);
    auto it = bank_by_name_.find(name);
    if (it != bank_by_name_.end()) return it->second;
  }
  // Not known here yet: another process may have made it a moment ago, and its change may not have
  // been read (the change log is read every few hundred ms, and a change committed behind a slower
  // one waits for it). The store is the record: banks it holds that this process lacks are learnt
  // from it, so a bank made at one replica can take entries at another at once.
  TD_ASSIGN_OR_RETURN(auto banks, store_->ListBanks());
  WriterLock lock(&mu_);
  LearnBanks(std::move(banks));
  auto it = bank_by_name_.find(name);
  if (it == bank_by_name_.end()) return NotFound(fmt::format("no bank named '{}'", name));
  return it->second;
}

Result<Signals> Service::SignalsOf(const Signals& given, const std::vector<uint8_t>& media,
                                   bool bank_side) {
  if (media.empty()) {
    if (!given.pdq && given.md5.empty() && given.sha256.empty() && !given.video) {
      return InvalidArgument("no media and no signals (pdq, md5 or sha256)");
    }
    return given;
  }
  if (media_hasher_) return media_hasher_(media, bank_side);
  return HashMediaInProcess(media, bank_side);
}

Result<std::vector<uint8_t>> Service::PreviewMedia(std::span<const uint8_t> media,
                                                   const media::PreviewRequest& r) const {
  if (media_previewer_) return media_previewer_(media, r);
  return media::PreviewOf(media, r);
}

void Service::SetVideoRule(const match::VideoMatchOptions& rule) {
  WriterLock lock(&mu_);
  video_rule_ = rule;
  RebuildBankVideos();
}

void Service::RebuildBankVideos() {
  auto m = std::make_shared<match::VideoMatcher>(video_rule_);
  for (const auto& [entry, item] : bank_videos_) m->Add(*item);
  m->Build();
  bank_video_matcher_ = std::move(m);
}

std::vector<std::tuple<int64_t, std::string, int>> Service::QueryContentRobust(
    const RobustImage& reported, int r) const {
  std::vector<hash::PdqHash> probes = reported.variants;
  if (reported.norm) probes.push_back(*reported.norm);
  if (reported.box) probes.push_back(*reported.box);
  std::map<int64_t, std::pair<std::string, int>> best;
  auto offer = [&](int64_t row, const char* name, int distance) {
    auto it = best.find(row);
    if (it == best.end() || distance < it->second.second) best[row] = {name, distance};
  };
  for (const auto& p : probes) {
    if (p.quality < kMinQuality) continue;
    for (const auto& [name, idx] :
         {std::pair{"norm", content_norm_.get()}, std::pair{"box", content_box_.get()}}) {
      for (const auto& m : idx->Query(p.hash, r))
        offer(static_cast<int64_t>(m.id), name, m.distance);
    }
    // A screenshot or captioned copy whose picture is one of its frame layers.
    for (const auto& m : content_layer_->Query(p.hash, r))
      offer(LayerRow(m.id), "layer", m.distance);
  }
  std::vector<std::tuple<int64_t, std::string, int>> out;
  for (const auto& [row, b] : best) out.emplace_back(row, b.first, b.second);
  return out;
}

std::vector<std::pair<int64_t, int>> Service::QueryContentVideos(
    const match::VideoItem& reported) const {
  std::vector<std::pair<int64_t, std::shared_ptr<const match::VideoItem>>> videos;
  match::VideoMatchOptions rule;
  {
    ReaderLock lock(&mu_);
    videos = content_videos_;
    rule = video_rule_;
  }
  match::VideoMatcher m(rule);
  m.Add(reported);
  m.Build();
  std::vector<std::pair<int64_t, int>> out;
  for (const auto& [row, item] : videos) {
    for (const auto& vm : m.Match(*item)) {
      if (vm.match) out.emplace_back(row, vm.best_distance);
    }
  }
  return out;
}

std::vector<Service::ContentHit> Service::MatchContent(const Signals& s, int threshold,
                                                       int min_quality) const {
  std::map<int64_t, std::pair<std::string, int>> best;
  auto hit = [&](int64_t row, const std::string& signal, int d) {
    auto it = best.find(row);
    if (it == best.end() || d < it->second.second) best[row] = {signal, d};
  };
  const bool pdq_usable = s.pdq && s.quality >= min_quality;
  if (pdq_usable) {
    for (const auto& m : QueryContentPdq(*s.pdq, threshold))
      hit(static_cast<int64_t>(m.id), "pdq", m.distance);
  }
  if (s.video) {
    for (const auto& [row, d] : QueryContentVideos(*s.video)) hit(row, "vpdq", d);
  }
  if (s.robust) {  // crops, borders, captions, screenshots
    for (const auto& [row, name, d] : QueryContentRobust(*s.robust, threshold)) hit(row, name, d);
  } else if (pdq_usable && !s.video) {
    // Only a PDQ was reported (a hash list's, a hash-only form's): recorded uploads whose box or
    // frame layers are that picture -- bordered, captioned, screenshotted copies.
    RobustImage reported;
    reported.variants.push_back({*s.pdq, s.quality});
    for (const auto& [row, name, d] : QueryContentRobust(reported, threshold)) hit(row, name, d);
  }
  std::vector<ContentHit> out;
  out.reserve(best.size());
  for (auto& [row, b] : best) out.push_back({row, std::move(b.first), b.second});
  return out;
}

Result<store::BankEntryRecord> Service::AddEntry(const std::string& bank, const EntrySpec& spec,
                                                 const std::string& actor) {
  TD_RETURN_IF_ERROR(NeedsBank());
  TD_ASSIGN_OR_RETURN(const int64_t bank_id, BankIdOf(bank));
  TD_ASSIGN_OR_RETURN(Signals s, SignalsOf(spec.signals, spec.media, true));
  store::BankEntryRecord e{0,
                           bank_id,
                           s.pdq ? s.pdq->ToHex() : "",
                           s.pdq ? s.quality : 0,
                           s.md5,
                           s.sha256,
                           spec.source,
                           spec.request_id,
                           true,
                           0,
                           s.video ? VideoToJson(*s.video).dump() : "",
                           s.robust ? RobustToJson(*s.robust).dump() : ""};
  TD_ASSIGN_OR_RETURN(e.id, store_->AddBankEntry(e));
  TD_RETURN_IF_ERROR(IndexEntry(e, /*from_feed=*/false));
  TD_RETURN_IF_ERROR(store_
                         ->AppendAudit(actor, "bank.entry.added",
                                       Json({{"entry_id", e.id},
                                             {"bank", bank},
                                             {"pdq", e.pdq},
                                             {"md5", e.md5},
                                             {"sha256", e.sha256},
                                             {"source", e.source},
                                             {"request_id", e.request_id},
                                             {"from_media", !spec.media.empty()}}))
                         .status());
  return e;
}

Result<Service::ImportResult> Service::ImportEntries(const std::string& bank,
                                                     const std::vector<Signals>& signals,
                                                     const std::string& source,
                                                     const std::string& request_id,
                                                     const std::string& actor) {
  TD_RETURN_IF_ERROR(NeedsBank());
  TD_ASSIGN_OR_RETURN(const int64_t bank_id, BankIdOf(bank));
  for (size_t i = 0; i < signals.size(); ++i) {
    const Signals& s = signals[i];
    if (!s.pdq && s.md5.empty() && s.sha256.empty() && !s.video)
      return InvalidArgument(fmt::format("entry {} has no signal", i + 1));
  }
  // Each entry's robust and video signals as stored (JSON), made once.
  std::vector<std::pair<std::string, std::string>> stored(signals.size());
  for (size_t i = 0; i < signals.size(); ++i) {
    if (signals[i].video) stored[i].first = VideoToJson(*signals[i].video).dump();
    if (signals[i].robust) stored[i].second = RobustToJson(*signals[i].robust).dump();
  }
  MutexLock one_import(&import_mu_);
  // And one at a time among the processes sharing the store (PostgreSQL; none with SQLite, which
  // one process owns): two replicas importing the same list at once would each add its entries.
  auto one_anywhere = store_->LockDoc(kImportLock);
  if (!one_anywhere.ok() && one_anywhere.status().code() == StatusCode::kUnavailable) {
    return Unavailable(
        "another import of entries is running at another takedown process and has not finished "
        "within a minute: try again when it has (the entries of a list already imported are "
        "counted as existing)");
  }
  TD_RETURN_IF_ERROR(one_anywhere.status());
  ImportResult result;
  std::vector<int64_t>& ids = result.ids;
  // What the bank holds already is asked of the store by identity (store.h BankEntryIdentity,
  // indexed with the bank), a chunk at a time: an import reads only what it sends, however large
  // the bank. A list naming one entry twice adds it once.
  std::unordered_set<std::string> listed;
  for (size_t start = 0; start < signals.size(); start += kImportChunk) {
    const size_t end = std::min(signals.size(), start + kImportChunk);
    std::vector<store::BankEntryRecord> recs;
    recs.reserve(end - start);
    for (size_t i = start; i < end; ++i) {
      const Signals& s = signals[i];
      recs.push_back({0, bank_id, s.pdq ? s.pdq->ToHex() : "", s.pdq ? s.quality : 0, s.md5,
                      s.sha256, source, request_id, true, 0, std::move(stored[i].first),
                      std::move(stored[i].second)});
    }
    TD_ASSIGN_OR_RETURN(std::vector<bool> known, store_->HasBankEntries(bank_id, recs));
    std::vector<store::BankEntryRecord> fresh;
    fresh.reserve(recs.size());
    for (size_t i = 0; i < recs.size(); ++i) {
      if (!known[i] && listed.insert(store::BankEntryIdentity(recs[i])).second)
        fresh.push_back(std::move(recs[i]));
      else
        ++result.existing;
    }
    if (fresh.empty()) continue;
    TD_ASSIGN_OR_RETURN(auto chunk_ids, store_->AddBankEntries(fresh));
    for (size_t i = 0; i < fresh.size(); ++i) {
      fresh[i].id = chunk_ids[i];
      TD_RETURN_IF_ERROR(IndexEntry(fresh[i], /*from_feed=*/false));
    }
    TD_RETURN_IF_ERROR(store_
                           ->AppendAudit(actor, "bank.entries.imported",
                                         Json({{"bank", bank},
                                               {"count", fresh.size()},
                                               {"first_entry_id", chunk_ids.front()},
                                               {"last_entry_id", chunk_ids.back()},
                                               {"source", source},
                                               {"request_id", request_id}}))
                           .status());
    ids.insert(ids.end(), chunk_ids.begin(), chunk_ids.end());
  }
  if (ids.empty()) {
    TD_RETURN_IF_ERROR(store_
                           ->AppendAudit(actor, "bank.entries.imported",
                                         Json({{"bank", bank},
                                               {"count", 0},
                                               {"existing", result.existing},
                                               {"source", source},
                                               {"request_id", request_id}}))
                           .status());
  }
  return result;
}

Result<std::vector<store::BankEntryRecord>> Service::ExportEntries(const std::string& bank) {
  TD_ASSIGN_OR_RETURN(const int64_t bank_id, BankIdOf(bank));
  // The bank's own entries, page by page (not every bank's at once).
  std::vector<store::BankEntryRecord> out;
  store::BankEntryQuery q;
  q.bank_id = bank_id;
  q.limit = 10000;
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto page, store_->FindBankEntries(q));
    if (page.empty()) break;
    q.after_id = page.back().id;
    const bool last = static_cast<int64_t>(page.size()) < q.limit;
    std::move(page.begin(), page.end(), std::back_inserter(out));
    if (last) break;
  }
  return out;
}

Result<std::vector<store::BankEntryRecord>> Service::FindEntries(const std::string& bank,
                                                                 store::BankEntryQuery q) {
  TD_ASSIGN_OR_RETURN(q.bank_id, BankIdOf(bank));
  return store_->FindBankEntries(q);
}

std::map<int64_t, std::pair<int64_t, int64_t>> Service::EntryCounts() const {
  std::map<int64_t, std::pair<int64_t, int64_t>> out;
  ReaderLock lock(&mu_);
  for (const auto& [id, e] : entries_) (e.enabled ? out[e.bank_id].first : out[e.bank_id].second)++;
  return out;
}

Status Service::SetEntryEnabled(int64_t entry_id, bool enabled, const std::string& actor) {
  TD_RETURN_IF_ERROR(NeedsBank());
  {
    // The store and the index change together as far as the follower can tell (follow_mu_).
    MutexLock follow(&follow_mu_);
    TD_RETURN_IF_ERROR(store_->SetBankEntryEnabled(entry_id, enabled));
    {
      WriterLock lock(&mu_);
      if (auto it = entries_.find(entry_id); it != entries_.end()) it->second.enabled = enabled;
    }
    (void)bank_pdq_->SetEnabled(static_cast<uint64_t>(entry_id),
                                enabled);  // absent when it has no PDQ
  }
  return store_
      ->AppendAudit(actor, enabled ? "bank.entry.enabled" : "bank.entry.disabled",
                    Json({{"entry_id", entry_id}}))
      .status();
}

std::vector<CheckMatch> Service::FindMatches(const Signals& s,
                                             std::vector<ReviewHint>* review) const {
  std::vector<CheckMatch> out;
  ReaderLock lock(&mu_);
  auto bank_of = [&](int64_t entry) -> const store::BankRecord* {
    mu_.AssertReaderHeld();  // called below, under the lock
    auto e = entries_.find(entry);
    if (e == entries_.end() || !e->second.enabled) return nullptr;
    auto b = banks_.find(e->second.bank_id);
    return b == banks_.end() ? nullptr : &b->second;
  };
  // PDQ and the robust signals query at the widest bank threshold, then each match is held to its
  // own bank's.
  int widest = 0;
  for (const auto& [id, b] : banks_) widest = std::max(widest, b.pdq_threshold);
  for (const auto* digest : {&s.sha256, &s.md5}) {
    if (digest->empty()) continue;
    auto [a, b] = exact_.equal_range(*digest);
    for (auto it = a; it != b; ++it) {
      if (const auto* bank = bank_of(it->second))
        out.push_back({it->second, bank->name, digest == &s.sha256 ? "sha256" : "md5", 0});
    }
  }
  if (s.video && bank_video_matcher_) {
    for (const auto& vm : bank_video_matcher_->Match(*s.video)) {
      if (vm.item >= bank_videos_.size()) continue;
      const int64_t entry = bank_videos_[vm.item].first;
      const auto* bank = bank_of(entry);
      if (bank == nullptr) continue;
      if (vm.match) {
        out.push_back({entry, bank->name, "vpdq", vm.best_distance});
      } else if (review != nullptr && vm.edge_clip_seconds > 0) {
        review->push_back({entry, bank->name, "edge_clip", vm.edge_clip_seconds, vm.edge_clip_from,
                           vm.edge_clip_to, vm.edge_clip_bank_from, vm.best_distance});
      }
    }
  }
  std::set<int64_t> by_pdq;
  if (s.pdq && s.quality >= kMinQuality) {
    for (const auto& m : bank_pdq_->Query(*s.pdq, widest)) {
      const auto* bank = bank_of(static_cast<int64_t>(m.id));
      if (bank != nullptr && m.distance <= bank->pdq_threshold) {
        out.push_back({static_cast<int64_t>(m.id), bank->name, "pdq", m.distance});
        by_pdq.insert(static_cast<int64_t>(m.id));
      }
    }
  }
  if (s.robust) {
    std::map<int64_t, CheckMatch> best;
    auto offer = [&](int64_t entry, const store::BankRecord* bank, const char* name, int d) {
      if (bank == nullptr || d > bank->pdq_threshold) return;
      auto it = best.find(entry);
      if (it == best.end() || d < it->second.distance) best[entry] = {entry, bank->name, name, d};
    };
    // The upload's norm, box and layers against every media entry's variants, each at its
    // bank's threshold.
    std::vector<std::pair<const char*, hash::PdqHash>> probes;
    if (s.robust->norm) probes.emplace_back("norm", *s.robust->norm);
    if (s.robust->box) probes.emplace_back("box", *s.robust->box);
    for (const auto& l : s.robust->layers) probes.emplace_back("layer", l);
    for (const auto& [name, h] : probes) {
      if (h.quality < kMinQuality) continue;
      for (const auto& m : bank_whole_->Query(h.hash, widest)) {
        const int64_t entry = static_cast<int64_t>(m.id >> 8);
        offer(entry, bank_of(entry), name, m.distance);
      }
    }
    // Hash-only entries have no variants: the upload undoes what it can by itself -- turned or
    // mirrored (its dihedral PDQs), framed, captioned or screenshotted (its box and layers) --
    // against their PDQ (match::Matcher's rule; takedown-bench match --hash-only).
    auto turned = [&](const char* name, const std::optional<hash::DihedralHashes>& d, int quality) {
      if (!d) return;
      for (size_t k = 1; k < d->size(); ++k)
        probes.emplace_back(name, hash::PdqHash{(*d)[k], quality});
    };
    turned("pdq", s.robust->dihedral, s.quality);
    if (s.robust->norm) turned("norm", s.robust->norm_dihedral, s.robust->norm->quality);
    if (s.robust->box) turned("box", s.robust->box_dihedral, s.robust->box->quality);
    for (const auto& [name, h] : probes) {
      if (h.quality < kMinQuality) continue;
      for (const auto& m : bank_pdq_->Query(h.hash, widest)) {
        const int64_t entry = static_cast<int64_t>(m.id);
        auto meta = entries_.find(entry);
        if (meta == entries_.end() || !meta->second.hash_only || by_pdq.count(entry)) continue;
        offer(entry, bank_of(entry), name, m.distance);
      }
    }
    for (const auto& [entry, m] : best) out.push_back(m);
  }
  return out;
}

namespace {
// The platform's ids of an upload: content_id 1..256 bytes, chat_id and uploader_id at most 256;
// each well-formed UTF-8 without control characters (they go into logs, CSV exports, statements
// of reasons and JSON, where a stray byte or line break would break or forge a line). `where`
// prefixes the message ("item 3: ").
Status CheckIds(const CheckRequest& r, const std::string& where) {
  if (r.content_id.empty() || r.content_id.size() > 256)
    return InvalidArgument(where + "content_id must be 1..256 characters");
  for (const auto& [name, v] :
       {std::pair<const char*, const std::string*>{"content_id", &r.content_id},
        {"chat_id", &r.chat_id},
        {"uploader_id", &r.uploader_id}}) {
    if (v->size() > 256)
      return InvalidArgument(fmt::format("{}{} must be at most 256 characters", where, name));
    if (!IsUtf8(*v)) return InvalidArgument(fmt::format("{}{} is not valid UTF-8", where, name));
    if (HasControlCharacter(*v))
      return InvalidArgument(fmt::format("{}{} has control characters", where, name));
  }
  return Status::Ok();
}
}  // namespace

Result<CheckResult> Service::Check(const CheckRequest& req, const std::string& actor) {
  TD_ASSIGN_OR_RETURN(PreparedCheck p, PrepareCheck(req));
  return FinishCheck(std::move(p), actor);
}

Result<Service::PreparedCheck> Service::PrepareCheck(const CheckRequest& req) {
  TD_RETURN_IF_ERROR(NeedsBank());
  TD_RETURN_IF_ERROR(CheckIds(req, ""));
  PreparedCheck p{req.content_id, req.chat_id, req.uploader_id, {}, {}};
  TD_ASSIGN_OR_RETURN(p.signals, SignalsOf(req.signals, req.media));
  CheckResult& r = p.result;
  r.matches = FindMatches(p.signals, &r.review);
  ReaderLock lock(&mu_);
  for (const auto& m : r.matches) {
    if (banks_.at(entries_.at(m.entry_id).bank_id).action == "block") r.block = true;
  }
  return p;
}

store::ContentRecord Service::ContentOf(const PreparedCheck& p) {
  const Signals& s = p.signals;
  return {
      0,
      p.content_id,
      p.chat_id,
      p.uploader_id,
      s.pdq ? s.pdq->ToHex() : "",
      s.quality,
      s.md5,
      s.sha256,
      p.result.block ? "blocked" : "live",
      0,
      s.video ? VideoToJson(*s.video).dump() : "",
      s.robust
          ? RobustToJson(RobustImage{s.robust->norm, s.robust->box, {}, s.robust->layers}).dump()
          : ""};
}

void Service::IndexChecked(const PreparedCheck& p, int64_t row, CheckResult* r) {
  const Signals& s = p.signals;
  r->already_recorded = row < 0;
  r->content_row = row < 0 ? -row : row;
  if (!r->already_recorded && shards_.HoldsContent(p.content_id)) {
    content_.fetch_add(1);
    // IfAbsent: a replica's whole-store reload (Resync) may have put it there first.
    if (s.pdq) (void)content_pdq_->AddIfAbsent(static_cast<uint64_t>(r->content_row), *s.pdq);
    if (s.video) {
      WriterLock lock(&mu_);
      if (content_video_rows_.insert(r->content_row).second)
        content_videos_.emplace_back(r->content_row, s.video);
    }
    if (s.robust && s.robust->norm)
      (void)content_norm_->AddIfAbsent(static_cast<uint64_t>(r->content_row), s.robust->norm->hash);
    if (s.robust && s.robust->box)
      (void)content_box_->AddIfAbsent(static_cast<uint64_t>(r->content_row), s.robust->box->hash);
    if (s.robust) {
      for (size_t k = 0; k < s.robust->layers.size(); ++k)
        (void)content_layer_->AddIfAbsent(LayerId(r->content_row, k), s.robust->layers[k].hash);
    }
  }
  checks_.fetch_add(1);
  if (!r->review.empty()) review_.fetch_add(1);
}

void Service::RecordAllowed(PreparedCheck p, std::function<void(Result<CheckResult>)> done) {
  if (p.result.block) return done(FailedPrecondition("RecordAllowed: the upload is blocked"));
  const store::ContentRecord c = ContentOf(p);
  auto prepared = std::make_shared<PreparedCheck>(std::move(p));
  store_->RecordContentAsync(c, [this, prepared, done = std::move(done)](Result<int64_t> row) {
    if (!row.ok()) return done(row.status());
    CheckResult r = std::move(prepared->result);
    IndexChecked(*prepared, *row, &r);
    done(std::move(r));
  });
}

Result<CheckResult> Service::FinishCheck(PreparedCheck p, const std::string& actor) {
  TD_ASSIGN_OR_RETURN(int64_t row, store_->RecordContent(ContentOf(p)));
  CheckResult r = std::move(p.result);
  IndexChecked(p, row, &r);
  const Signals& s = p.signals;
  if (r.block) {
    blocked_.fetch_add(1);
    nlohmann::json ms = nlohmann::json::array();
    int64_t request_id = 0;
    std::string category;
    {
      ReaderLock lock(&mu_);
      for (const auto& m : r.matches) {
        const EntryMeta& e = entries_.at(m.entry_id);
        if (ms.empty()) {
          request_id = e.request_id;
          category = banks_.at(e.bank_id).category;
        }
        ms.push_back({{"entry_id", m.entry_id},
                      {"bank", m.bank},
                      {"category", banks_.at(e.bank_id).category},
                      {"signal", m.signal},
                      {"distance", m.distance}});
      }
    }
    // The block (what its statement of reasons is made of) and its audit record: one transaction.
    const int64_t blocked_ms = env_->NowMs();
    store::DocumentStore::Changes ch;
    store::DocRecord d;
    d.kind = std::string(kGateBlockDoc);
    d.owner = r.content_row;
    d.state = "blocked";
    d.ukey = GateBlockKey(r.content_row);
    d.doc = Json({{"kind", std::string(kGateBlockDoc)},
                  {"content_id", p.content_id},
                  {"chat_id", p.chat_id},
                  {"uploader_id", p.uploader_id},
                  {"media", s.video ? "video" : "image"},
                  {"blocked_ms", blocked_ms},
                  {"request_id", request_id},
                  {"matches", ms}});
    ch.docs.push_back(std::move(d));
    ch.audits.push_back({actor, "upload.blocked",
                         Json({{"content_id", p.content_id},
                               {"chat_id", p.chat_id},
                               {"uploader_id", p.uploader_id},
                               {"matches", ms}})});
    CallBlockHook(r.content_row, &ch);
    TD_ASSIGN_OR_RETURN(auto ids, store_->Transact(ch));
    r.block_id = std::abs(ids.at(0));  // negated: blocked before (the same content item)
    if (ids.at(0) > 0) {
      CallBlockedHook({{r.block_id, r.content_row, request_id, blocked_ms, p.content_id, p.chat_id,
                        p.uploader_id, category, s.video ? "video" : "image"}});
    }
  }
  return r;
}

Result<int64_t> Service::Backfill(const std::vector<CheckRequest>& items,
                                  const std::string& actor) {
  std::vector<store::ContentRecord> rows;
  rows.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    TD_RETURN_IF_ERROR(CheckIds(it, fmt::format("item {}: ", i)));
    if (!it.signals.pdq && it.signals.md5.empty() && it.signals.sha256.empty()) {
      return InvalidArgument(fmt::format("item {}: no signals (pdq, md5 or sha256)", i));
    }
    rows.push_back({0, it.content_id, it.chat_id, it.uploader_id,
                    it.signals.pdq ? it.signals.pdq->ToHex() : "", it.signals.quality,
                    it.signals.md5, it.signals.sha256, "live", 0});
  }
  TD_ASSIGN_OR_RETURN(auto ids, store_->RecordContentBatch(rows));
  int64_t added = 0, indexed = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] <= 0) continue;
    ++added;
    if (!shards_.HoldsContent(items[i].content_id)) continue;  // another replica's shard
    ++indexed;
    if (items[i].signals.pdq)
      (void)content_pdq_->AddIfAbsent(static_cast<uint64_t>(ids[i]), *items[i].signals.pdq);
  }
  content_.fetch_add(static_cast<uint64_t>(indexed));
  TD_RETURN_IF_ERROR(store_
                         ->AppendAudit(actor, "content.backfilled",
                                       Json({{"items", items.size()}, {"new", added}}))
                         .status());
  return added;
}

ServiceStats Service::Stats() const {
  ServiceStats s;
  ReaderLock lock(&mu_);
  s.bank_entries = entries_.size();
  s.content_items = content_.load();
  s.checks = checks_.load();
  s.blocked = blocked_.load();
  s.review = review_.load();
  return s;
}

}  // namespace takedown::service
