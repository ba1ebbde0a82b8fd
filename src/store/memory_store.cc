// The in-memory store: every interface of store.h over maps under one mutex, nothing durable.
// For fast unit tests of the domain (with a fake clock) and as a second implementation the
// store contract tests run against, beside SQLite.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/mutex.h"
#include "store/store.h"

namespace takedown::store {
namespace {

class MemoryStore final : public Store {
 public:
  explicit MemoryStore(Env* env) : env_(env != nullptr ? env : Env::Default()) {}

  // Keys
  Result<int64_t> CreateKey(const KeyRecord& k) override {
    MutexLock l(&mu_);
    for (const auto& [id, key] : keys_) {
      if (key.key_hash == k.key_hash) return InvalidArgument("a key with this hash exists");
    }
    KeyRecord r = k;
    r.id = ++last_key_;
    r.created_ms = env_->NowMs();
    keys_[r.id] = r;
    return r.id;
  }
  Result<std::optional<KeyRecord>> FindKeyByHash(const std::string& key_hash) override {
    MutexLock l(&mu_);
    for (const auto& [id, key] : keys_) {
      if (key.key_hash == key_hash) return std::optional<KeyRecord>(key);
    }
    return std::optional<KeyRecord>();
  }
  Status RevokeKey(int64_t id) override {
    MutexLock l(&mu_);
    auto it = keys_.find(id);
    if (it == keys_.end()) return NotFound(fmt::format("no key {}", id));
    it->second.revoked = true;
    return Status::Ok();
  }
  Result<std::vector<KeyRecord>> ListKeys() override {
    MutexLock l(&mu_);
    std::vector<KeyRecord> out;
    for (const auto& [id, k] : keys_) out.push_back(k);
    return out;
  }
  Result<std::optional<KeyRecord>> GetKey(int64_t id) override {
    MutexLock l(&mu_);
    auto it = keys_.find(id);
    return it == keys_.end() ? std::optional<KeyRecord>() : std::optional<KeyRecord>(it->second);
  }

  // Banks
  Result<int64_t> CreateBank(const BankRecord& b) override {
    MutexLock l(&mu_);
    for (const auto& [id, bank] : banks_) {
      if (bank.name == b.name)
        return FailedPrecondition(fmt::format("a bank named '{}' exists", b.name));
    }
    BankRecord r = b;
    r.id = static_cast<int64_t>(banks_.size()) + 1;
    r.created_ms = env_->NowMs();
    banks_[r.id] = r;
    return r.id;
  }
  Result<std::vector<BankRecord>> ListBanks() override {
    MutexLock l(&mu_);
    std::vector<BankRecord> out;
    for (const auto& [id, b] : banks_) out.push_back(b);
    return out;
  }
  Result<int64_t> AddBankEntry(const BankEntryRecord& e) override {
    TD_ASSIGN_OR_RETURN(auto ids, AddBankEntries({e}));
    return ids[0];
  }
  Result<std::vector<int64_t>> AddBankEntries(const std::vector<BankEntryRecord>& es) override {
    MutexLock l(&mu_);
    for (const auto& e : es) {
      if (!banks_.count(e.bank_id)) return NotFound(fmt::format("no bank {}", e.bank_id));
    }
    std::vector<int64_t> ids;
    for (const auto& e : es) {
      BankEntryRecord r = e;
      r.id = static_cast<int64_t>(entries_.size()) + 1;
      r.created_ms = env_->NowMs();
      entries_[r.id] = r;
      identities_.insert({r.bank_id, BankEntryIdentity(r)});
      ids.push_back(r.id);
    }
    return ids;
  }
  Status SetBankEntryEnabled(int64_t id, bool enabled) override {
    MutexLock l(&mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return NotFound(fmt::format("no bank entry {}", id));
    it->second.enabled = enabled;
    return Status::Ok();
  }
  Status ScanBankEntries(const std::function<Status(const BankEntryRecord&)>& fn) override {
    std::vector<BankEntryRecord> all;
    {
      MutexLock l(&mu_);
      for (const auto& [id, e] : entries_) all.push_back(e);
    }
    for (const auto& e : all) TD_RETURN_IF_ERROR(fn(e));
    return Status::Ok();
  }

  Result<std::vector<BankEntryRecord>> FindBankEntries(const BankEntryQuery& q) override {
    MutexLock l(&mu_);
    std::vector<BankEntryRecord> out;
    auto starts = [&](const std::string& h) { return h.rfind(q.prefix, 0) == 0 && !h.empty(); };
    for (auto it = entries_.upper_bound(q.after_id);
         it != entries_.end() && static_cast<int64_t>(out.size()) < q.limit; ++it) {
      const BankEntryRecord& e = it->second;
      if (e.bank_id != q.bank_id || (q.enabled && e.enabled != *q.enabled)) continue;
      if (!q.prefix.empty() && !starts(e.pdq) && !starts(e.md5) && !starts(e.sha256)) continue;
      out.push_back(e);
    }
    return out;
  }

  Result<std::optional<BankEntryRecord>> GetBankEntry(int64_t id) override {
    MutexLock l(&mu_);
    auto it = entries_.find(id);
    return it == entries_.end() ? std::optional<BankEntryRecord>()
                                : std::optional<BankEntryRecord>(it->second);
  }

  Result<std::vector<bool>> HasBankEntries(int64_t bank_id,
                                           const std::vector<BankEntryRecord>& es) override {
    std::vector<bool> out;
    out.reserve(es.size());
    MutexLock l(&mu_);
    for (const auto& e : es) out.push_back(identities_.count({bank_id, BankEntryIdentity(e)}) > 0);
    return out;
  }

  // Content
  Result<int64_t> RecordContent(const ContentRecord& c) override {
    TD_ASSIGN_OR_RETURN(auto ids, RecordContentBatch({c}));
    return ids[0];
  }
  Result<std::vector<int64_t>> RecordContentBatch(const std::vector<ContentRecord>& cs) override {
    MutexLock l(&mu_);
    std::vector<int64_t> ids;
    for (const auto& c : cs) {
      if (auto it = content_by_id_.find(c.content_id); it != content_by_id_.end()) {
        ids.push_back(-it->second);  // negative: already recorded (as every backend says it)
        continue;
      }
      ContentRecord r = c;
      r.id = static_cast<int64_t>(content_.size()) + 1;
      if (r.created_ms == 0) r.created_ms = env_->NowMs();
      content_[r.id] = r;
      content_by_id_[r.content_id] = r.id;
      ids.push_back(r.id);
    }
    return ids;
  }
  Result<std::vector<ContentRecord>> ListContent() override {
    MutexLock l(&mu_);
    std::vector<ContentRecord> out;
    for (const auto& [id, c] : content_) out.push_back(c);
    return out;
  }
  Status ScanContent(const std::function<Status(const ContentRecord&)>& fn) override {
    TD_ASSIGN_OR_RETURN(auto all, ListContent());
    for (const auto& c : all) TD_RETURN_IF_ERROR(fn(c));
    return Status::Ok();
  }
  Result<int64_t> CountContent() override {
    MutexLock l(&mu_);
    return static_cast<int64_t>(content_.size());
  }
  Result<std::optional<ContentRecord>> GetContent(int64_t row) override {
    MutexLock l(&mu_);
    auto it = content_.find(row);
    return it == content_.end() ? std::optional<ContentRecord>()
                                : std::optional<ContentRecord>(it->second);
  }
  Result<std::optional<ContentRecord>> FindContent(const std::string& content_id) override {
    MutexLock l(&mu_);
    auto it = content_by_id_.find(content_id);
    if (it == content_by_id_.end()) return std::optional<ContentRecord>();
    return std::optional<ContentRecord>(content_.at(it->second));
  }
  Result<std::vector<ContentRecord>> FindContentByDigest(const std::string& md5,
                                                         const std::string& sha256) override {
    MutexLock l(&mu_);
    std::vector<ContentRecord> out;
    for (const auto& [id, c] : content_) {
      if ((!md5.empty() && c.md5 == md5) || (!sha256.empty() && c.sha256 == sha256))
        out.push_back(c);
    }
    return out;
  }
  Status SetContentState(int64_t row, const std::string& state) override {
    MutexLock l(&mu_);
    return SetContentStateLocked(row, state);
  }

  // Documents
  Result<std::vector<int64_t>> PutDocs(const std::vector<DocRecord>& docs) override {
    return Transact({.docs = docs});
  }
  Result<std::optional<DocRecord>> GetDoc(int64_t id) override {
    MutexLock l(&mu_);
    auto it = docs_.find(id);
    return it == docs_.end() ? std::optional<DocRecord>() : std::optional<DocRecord>(it->second);
  }
  Result<std::vector<int64_t>> Transact(const Changes& c) override {
    MutexLock l(&mu_);
    // All or nothing: check everything first, then apply.
    for (const auto& [id, state] : c.expect_states) {
      auto it = docs_.find(id);
      if (it == docs_.end()) return NotFound(fmt::format("no document {}", id));
      if (it->second.state != state) {
        return FailedPrecondition(
            fmt::format("document {} is {}, no longer {}", id, it->second.state, state));
      }
    }
    for (const auto& d : c.docs) {
      if (d.id != 0) {
        auto it = docs_.find(d.id);
        if (it == docs_.end() || it->second.kind != d.kind)
          return NotFound(fmt::format("no {} {}", d.kind, d.id));
      }
    }
    for (const auto& [row, state] : c.content_states) {
      if (!content_.count(row)) return NotFound(fmt::format("no content row {}", row));
    }
    std::vector<int64_t> ids;
    const int64_t now = env_->NowMs();
    for (const auto& d : c.docs) {
      if (d.id == 0) {
        if (!d.ukey.empty()) {
          if (auto it = by_ukey_.find(d.ukey); it != by_ukey_.end()) {
            ids.push_back(-it->second);
            continue;
          }
        }
        DocRecord r = d;
        r.id = ++last_doc_;
        if (r.created_ms == 0) r.created_ms = now;
        docs_[r.id] = r;
        if (!r.ukey.empty()) by_ukey_[r.ukey] = r.id;
        ids.push_back(r.id);
      } else {
        DocRecord& r = docs_[d.id];
        r.owner = d.owner;
        r.state = d.state;
        r.due_ms = d.due_ms;
        r.doc = d.doc;
        ids.push_back(d.id);
      }
    }
    for (const auto& [row, state] : c.content_states) (void)SetContentStateLocked(row, state);
    for (const auto& a : c.audits) AppendLocked(a.actor, a.kind, a.payload);
    return ids;
  }
  Result<std::vector<DocRecord>> FindDocs(const DocQuery& q) override {
    if (q.desc_field.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
        std::string::npos) {
      return InvalidArgument(fmt::format("desc_field '{}': not a field name", q.desc_field));
    }
    MutexLock l(&mu_);
    std::vector<DocRecord> out;
    for (auto it = docs_.upper_bound(q.after_id); it != docs_.end(); ++it) {
      const DocRecord& d = it->second;
      if (d.kind != q.kind) continue;
      if (q.owner && d.owner != *q.owner) continue;
      if (!q.state.empty() && d.state != q.state) continue;
      if (q.due_before && d.due_ms > *q.due_before) continue;
      if (q.created_from && d.created_ms < *q.created_from) continue;
      if (q.created_to && d.created_ms >= *q.created_to) continue;
      if (!q.ukey.empty() && d.ukey != q.ukey) continue;
      out.push_back(d);
    }
    if (q.by_due) {
      std::map<int64_t, int64_t> rank;  // id -> desc_field
      if (!q.desc_field.empty()) {
        for (const auto& d : out) {
          const auto j = nlohmann::json::parse(d.doc, nullptr, false);
          rank[d.id] =
              j.is_object() && j.contains(q.desc_field) && j[q.desc_field].is_number_integer()
                  ? j[q.desc_field].get<int64_t>()
                  : 0;
        }
      }
      std::stable_sort(out.begin(), out.end(), [&](const DocRecord& a, const DocRecord& b) {
        if (!rank.empty() && rank[a.id] != rank[b.id]) return rank[a.id] > rank[b.id];
        return a.due_ms != b.due_ms ? a.due_ms < b.due_ms : a.id < b.id;
      });
    }
    if (static_cast<int64_t>(out.size()) > q.limit)
      out.resize(static_cast<size_t>(std::max<int64_t>(q.limit, 0)));
    return out;
  }
  Result<std::vector<DocRecord>> ClaimDocs(const std::string& kind, const std::string& state,
                                           int64_t now_ms, int64_t lease_until_ms,
                                           int64_t limit) override {
    MutexLock l(&mu_);
    std::vector<DocRecord*> due;
    for (auto& [id, d] : docs_) {
      if (d.kind == kind && d.state == state && d.due_ms <= now_ms) due.push_back(&d);
    }
    std::stable_sort(due.begin(), due.end(), [](const DocRecord* a, const DocRecord* b) {
      return a->due_ms != b->due_ms ? a->due_ms < b->due_ms : a->id < b->id;
    });
    if (static_cast<int64_t>(due.size()) > limit)
      due.resize(static_cast<size_t>(std::max<int64_t>(limit, 0)));
    std::vector<DocRecord> out;
    for (DocRecord* d : due) {
      d->due_ms = lease_until_ms;
      out.push_back(*d);
    }
    std::sort(out.begin(), out.end(),
              [](const DocRecord& a, const DocRecord& b) { return a.id < b.id; });
    return out;
  }
  Result<int64_t> CountDue(const std::string& kind, const std::string& state,
                           int64_t due_before) override {
    MutexLock l(&mu_);
    int64_t n = 0;
    for (const auto& [id, d] : docs_)
      n += d.kind == kind && d.state == state && d.due_ms <= due_before;
    return n;
  }
  Result<DocCount> CountDocs(const std::string& kind, const std::string& state) override {
    MutexLock l(&mu_);
    DocCount c;
    for (const auto& [id, d] : docs_) {
      if (d.kind != kind || d.state != state) continue;
      c.oldest_created_ms =
          c.count == 0 ? d.created_ms : std::min(c.oldest_created_ms, d.created_ms);
      c.earliest_due_ms = c.count == 0 ? d.due_ms : std::min(c.earliest_due_ms, d.due_ms);
      ++c.count;
    }
    return c;
  }

  // Evidence
  Status PutEvidence(const EvidenceBlob& e) override {
    MutexLock l(&mu_);
    evidence_[{e.request_id, e.item}] = e;
    return Status::Ok();
  }
  Result<std::optional<EvidenceBlob>> GetEvidence(int64_t request_id, int item) override {
    MutexLock l(&mu_);
    auto it = evidence_.find({request_id, item});
    return it == evidence_.end() ? std::optional<EvidenceBlob>()
                                 : std::optional<EvidenceBlob>(it->second);
  }
  Result<bool> ExtendEvidence(int64_t request_id, int item, int64_t until_ms) override {
    MutexLock l(&mu_);
    auto it = evidence_.find({request_id, item});
    if (it == evidence_.end()) return false;
    it->second.expires_ms = std::max(it->second.expires_ms, until_ms);
    return true;
  }
  Result<int64_t> DeleteEvidence(int64_t request_id) override {
    MutexLock l(&mu_);
    int64_t n = 0;
    for (auto it = evidence_.begin(); it != evidence_.end();) {
      if (it->first.first == request_id) {
        it = evidence_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  Result<int64_t> DeleteDocs(const std::string& kind, int64_t created_before) override {
    MutexLock l(&mu_);
    int64_t n = 0;
    for (auto it = docs_.begin(); it != docs_.end();) {
      if (it->second.kind == kind && it->second.created_ms < created_before) {
        if (!it->second.ukey.empty()) by_ukey_.erase(it->second.ukey);
        it = docs_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  Result<int64_t> DeleteExpiredEvidence(int64_t now_ms) override {
    MutexLock l(&mu_);
    int64_t n = 0;
    for (auto it = evidence_.begin(); it != evidence_.end();) {
      if (it->second.expires_ms <= now_ms) {
        it = evidence_.erase(it);
        ++n;
      } else {
        ++it;
      }
    }
    return n;
  }

  // Audit
  Result<AuditRecord> AppendAudit(const std::string& actor, const std::string& kind,
                                  const std::string& payload) override {
    MutexLock l(&mu_);
    return AppendLocked(actor, kind, payload);
  }
  Result<std::vector<AuditRecord>> ReadAudit(int64_t from_seq, int64_t limit) override {
    MutexLock l(&mu_);
    std::vector<AuditRecord> out;
    for (const auto& r : audit_) {
      if (r.seq >= from_seq && static_cast<int64_t>(out.size()) < limit) out.push_back(r);
    }
    return out;
  }

  int64_t WriteQueueDepth() const override { return 0; }

 private:
  Status SetContentStateLocked(int64_t row, const std::string& state) TD_REQUIRES(mu_) {
    auto it = content_.find(row);
    if (it == content_.end()) return NotFound(fmt::format("no content row {}", row));
    it->second.state = state;
    return Status::Ok();
  }
  AuditRecord AppendLocked(const std::string& actor, const std::string& kind,
                           const std::string& payload) TD_REQUIRES(mu_) {
    AuditRecord r;
    r.seq = static_cast<int64_t>(audit_.size()) + 1;
    r.time_ms = env_->NowMs();
    r.actor = actor;
    r.kind = kind;
    r.payload = payload;
    r.prev_hash = audit_.empty() ? std::string(64, '0') : audit_.back().hash;
    r.hash = AuditHash(r);
    audit_.push_back(r);
    return r;
  }

  Env* env_;
  Mutex mu_;
  std::map<int64_t, KeyRecord> keys_ TD_GUARDED_BY(mu_);
  int64_t last_key_ TD_GUARDED_BY(mu_) = 0;
  std::map<int64_t, BankRecord> banks_ TD_GUARDED_BY(mu_);
  std::map<int64_t, BankEntryRecord> entries_ TD_GUARDED_BY(mu_);
  std::set<std::pair<int64_t, std::string>> identities_ TD_GUARDED_BY(mu_);  // bank, identity
  std::map<int64_t, ContentRecord> content_ TD_GUARDED_BY(mu_);
  std::map<std::string, int64_t> content_by_id_ TD_GUARDED_BY(mu_);
  std::map<int64_t, DocRecord> docs_ TD_GUARDED_BY(mu_);
  std::map<std::string, int64_t> by_ukey_ TD_GUARDED_BY(mu_);
  int64_t last_doc_ TD_GUARDED_BY(mu_) = 0;
  std::map<std::pair<int64_t, int>, EvidenceBlob> evidence_ TD_GUARDED_BY(mu_);
  std::vector<AuditRecord> audit_ TD_GUARDED_BY(mu_);
};

}  // namespace

std::unique_ptr<Store> OpenMemoryStore(Env* env) { return std::make_unique<MemoryStore>(env); }

}  // namespace takedown::store
