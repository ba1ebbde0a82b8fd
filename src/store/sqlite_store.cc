// The SQLite store: WAL journal, synchronous=FULL (a commit is on disk when it returns), and group
// commit -- writes from concurrent requests are queued and committed by one of the requesting
// threads (the leader), many to a transaction and one sync, each inside its own savepoint so one
// failing write does not undo the others. Reads use a second connection (WAL lets them run beside
// the writer); checkpoints a third, on their own thread. Prepared statements are reused.
#include <fcntl.h>
#include <fmt/format.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/mutex.h"
#include "core/text.h"
#include "core/thread.h"
#include "store/store.h"

namespace takedown::store {
namespace {

std::string Sha256(const std::string& s) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(s.data(), s.size(), out, &len, EVP_sha256(), nullptr);
  return LowerHex(std::string_view(reinterpret_cast<const char*>(out), len));
}

// Schema migrations, applied in order; the database records how many it has.
const char* const kMigrations[] = {
    R"sql(
CREATE TABLE api_keys (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
  key_hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE banks (
  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, category TEXT NOT NULL,
  pdq_threshold INTEGER NOT NULL, action TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE bank_entries (
  id INTEGER PRIMARY KEY, bank_id INTEGER NOT NULL REFERENCES banks(id),
  pdq TEXT NOT NULL, quality INTEGER NOT NULL, md5 TEXT NOT NULL, sha256 TEXT NOT NULL,
  source TEXT NOT NULL, request_id TEXT NOT NULL, enabled INTEGER NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE content (
  id INTEGER PRIMARY KEY, content_id TEXT NOT NULL UNIQUE, chat_id TEXT NOT NULL,
  uploader_id TEXT NOT NULL, pdq TEXT NOT NULL, quality INTEGER NOT NULL, md5 TEXT NOT NULL,
  sha256 TEXT NOT NULL, state TEXT NOT NULL, created_ms INTEGER NOT NULL);
CREATE TABLE audit (
  seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL, actor TEXT NOT NULL, kind TEXT NOT NULL,
  payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
)sql",
    R"sql(
CREATE TABLE docs (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, owner INTEGER NOT NULL, state TEXT NOT NULL,
  due_ms INTEGER NOT NULL, ukey TEXT, created_ms INTEGER NOT NULL, doc TEXT NOT NULL);
CREATE UNIQUE INDEX docs_ukey ON docs(ukey) WHERE ukey IS NOT NULL;
CREATE INDEX docs_by_state ON docs(kind, state, due_ms);
CREATE INDEX docs_by_owner ON docs(kind, owner, state);
CREATE INDEX docs_by_time ON docs(kind, created_ms);
CREATE INDEX content_md5 ON content(md5) WHERE md5 != '';
CREATE INDEX content_sha256 ON content(sha256) WHERE sha256 != '';
)sql",
    R"sql(
CREATE TABLE evidence (
  request_id INTEGER NOT NULL, item INTEGER NOT NULL, nonce BLOB NOT NULL, data BLOB NOT NULL,
  expires_ms INTEGER NOT NULL, PRIMARY KEY (request_id, item));
CREATE INDEX evidence_expiry ON evidence(expires_ms);
)sql",
    R"sql(
ALTER TABLE content ADD COLUMN video TEXT NOT NULL DEFAULT '';
ALTER TABLE bank_entries ADD COLUMN video TEXT NOT NULL DEFAULT '';
)sql",
    R"sql(
ALTER TABLE content ADD COLUMN robust TEXT NOT NULL DEFAULT '';
ALTER TABLE bank_entries ADD COLUMN robust TEXT NOT NULL DEFAULT '';
)sql",
    // Each entry's identity (store.h BankEntryIdentity), indexed with its bank: an import asks
    // for the entries it sends instead of reading every entry. Computed for the entries already
    // there by takedown_entry_identity (registered in Open), the same code as for new ones.
    R"sql(
ALTER TABLE bank_entries ADD COLUMN ident BLOB;
UPDATE bank_entries SET ident = takedown_entry_identity(pdq, md5, sha256, video);
CREATE INDEX bank_entries_by_identity ON bank_entries(bank_id, ident);
)sql",
};

// takedown_entry_identity(pdq, md5, sha256, video): BankEntryIdentity of those columns, for the
// migration that fills the column in.
void EntryIdentityFunction(sqlite3_context* ctx, int argc, sqlite3_value** argv) {
  if (argc != 4) {
    sqlite3_result_error(ctx, "takedown_entry_identity takes 4 arguments", -1);
    return;
  }
  auto text = [&](int i) {
    const unsigned char* t = sqlite3_value_text(argv[i]);
    return t == nullptr ? std::string()
                        : std::string(reinterpret_cast<const char*>(t),
                                      static_cast<size_t>(sqlite3_value_bytes(argv[i])));
  };
  BankEntryRecord e;
  e.pdq = text(0);
  e.md5 = text(1);
  e.sha256 = text(2);
  e.video = text(3);
  const std::string id = BankEntryIdentity(e);
  sqlite3_result_blob(ctx, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
}

// Prepared statements are kept per connection and reused: parsing SQL on every write cost more
// than the write. A Stmt hands its statement back (reset, bindings cleared) when it goes out of
// scope; two Stmts for the same SQL at once get two statements.
class StmtPool {
 public:
  static StmtPool& Get() {
    static StmtPool pool;
    return pool;
  }
  sqlite3_stmt* Take(sqlite3* db, const char* sql) {
    {
      MutexLock lock(&mu_);
      auto it = free_.find(Key{db, sql});
      if (it != free_.end() && !it->second.empty()) {
        sqlite3_stmt* s = it->second.back();
        it->second.pop_back();
        return s;
      }
    }
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
      sqlite3_finalize(s);
      return nullptr;
    }
    return s;
  }
  void Give(sqlite3_stmt* s) {
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    MutexLock lock(&mu_);
    free_[Key{sqlite3_db_handle(s), sqlite3_sql(s)}].push_back(s);
  }
  // Before sqlite3_close: finalizes every pooled statement of db.
  void Forget(sqlite3* db) {
    MutexLock lock(&mu_);
    for (auto it = free_.begin(); it != free_.end();) {
      if (it->first.db == db) {
        for (auto* s : it->second) sqlite3_finalize(s);
        it = free_.erase(it);
      } else {
        ++it;
      }
    }
  }

 private:
  struct Key {
    sqlite3* db;
    std::string sql;
    bool operator==(const Key&) const = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<std::string>()(k.sql) ^ std::hash<void*>()(k.db);
    }
  };
  Mutex mu_;
  std::unordered_map<Key, std::vector<sqlite3_stmt*>, KeyHash> free_ TD_GUARDED_BY(mu_);
};

class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* s) : s_(s) {}
  Stmt(Stmt&& o) noexcept : s_(std::exchange(o.s_, nullptr)) {}
  Stmt& operator=(Stmt&& o) noexcept {
    if (this != &o) {
      reset();
      s_ = std::exchange(o.s_, nullptr);
    }
    return *this;
  }
  ~Stmt() { reset(); }
  sqlite3_stmt* get() const { return s_; }
  void reset() {
    if (s_ != nullptr) StmtPool::Get().Give(std::exchange(s_, nullptr));
  }

 private:
  sqlite3_stmt* s_ = nullptr;
};

Status SqlError(sqlite3* db, const char* what) {
  return IoError(fmt::format("{}: {}", what, sqlite3_errmsg(db)));
}

Result<Stmt> Prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = StmtPool::Get().Take(db, sql);
  if (s == nullptr) return SqlError(db, "prepare");
  return Stmt(s);
}

void Bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
}
void Bind(sqlite3_stmt* s, int i, int64_t v) { sqlite3_bind_int64(s, i, v); }
void Bind(sqlite3_stmt* s, int i, int v) { sqlite3_bind_int(s, i, v); }
std::string Text(sqlite3_stmt* s, int i) {
  const auto* p = sqlite3_column_text(s, i);
  return p == nullptr ? std::string()
                      : std::string(reinterpret_cast<const char*>(p),
                                    static_cast<size_t>(sqlite3_column_bytes(s, i)));
}

Status Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    Status st = IoError(fmt::format("{}: {}", sql, err ? err : "?"));
    sqlite3_free(err);
    return st;
  }
  return Status::Ok();
}

// One statement, prepared once per connection (BEGIN, COMMIT, SAVEPOINT... on every write).
Status Run(sqlite3* db, const char* sql) {
  TD_ASSIGN_OR_RETURN(auto s, Prepare(db, sql));
  const int rc = sqlite3_step(s.get());
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return IoError(fmt::format("{}: {}", sql, sqlite3_errmsg(db)));
  return Status::Ok();
}

#define TD_ENTRY_COLUMNS                                                                     \
  "id, bank_id, pdq, quality, md5, sha256, source, request_id, enabled, created_ms, video, " \
  "robust"
BankEntryRecord EntryFrom(sqlite3_stmt* s) {
  return {sqlite3_column_int64(s, 0),
          sqlite3_column_int64(s, 1),
          Text(s, 2),
          sqlite3_column_int(s, 3),
          Text(s, 4),
          Text(s, 5),
          Text(s, 6),
          Text(s, 7),
          sqlite3_column_int(s, 8) != 0,
          sqlite3_column_int64(s, 9),
          Text(s, 10),
          Text(s, 11)};
}

#define TD_CONTENT_COLUMNS                                                                      \
  "id, content_id, chat_id, uploader_id, pdq, quality, md5, sha256, state, created_ms, video, " \
  "robust"
ContentRecord ContentFrom(sqlite3_stmt* s) {
  return {sqlite3_column_int64(s, 0),
          Text(s, 1),
          Text(s, 2),
          Text(s, 3),
          Text(s, 4),
          sqlite3_column_int(s, 5),
          Text(s, 6),
          Text(s, 7),
          Text(s, 8),
          sqlite3_column_int64(s, 9),
          Text(s, 10),
          Text(s, 11)};
}

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(Env* env) : env_(env != nullptr ? env : Env::Default()) {}
  ~SqliteStore() override {
    {
      MutexLock lock(&mu_);  // writes in flight finish; none start (stopping_)
      stopping_ = true;
      while (committing_) idle_cv_.Wait(&mu_);
    }
    ckpt_cv_.SignalAll();
    committer_cv_.SignalAll();
    if (checkpointer_.joinable()) checkpointer_.join();
    if (committer_.joinable()) committer_.join();
    if (cdb_ != nullptr)
      (void)sqlite3_wal_checkpoint_v2(cdb_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    StmtPool::Get().Forget(cdb_);
    sqlite3_close(cdb_);
    {
      MutexLock lock(&readers_mu_);
      for (sqlite3* r : readers_) {
        StmtPool::Get().Forget(r);
        sqlite3_close(r);
      }
      readers_.clear();
    }
    StmtPool::Get().Forget(wdb_);
    sqlite3_close(wdb_);
  }

  Status Open(const std::string& path, bool create) {
    const int flags =
        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if (sqlite3_open_v2(path.c_str(), &wdb_, flags, nullptr) != SQLITE_OK) {
      if (!create) {
        return NotFound(fmt::format("no store at {}", path));
      }
      return IoError(
          fmt::format("cannot open store {}: {}", path, wdb_ ? sqlite3_errmsg(wdb_) : "?"));
    }
    sqlite3_busy_timeout(wdb_, 5000);
    TD_RETURN_IF_ERROR(
        Exec(wdb_,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA "
             "journal_size_limit=67108864; PRAGMA cache_size=-65536;"));
    if (sqlite3_create_function_v2(wdb_, "takedown_entry_identity", 4,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC, nullptr,
                                   &EntryIdentityFunction, nullptr, nullptr, nullptr) != SQLITE_OK)
      return SqlError(wdb_, "register takedown_entry_identity");
    TD_RETURN_IF_ERROR(Migrate());
    // Start from an empty WAL: a WAL left large by a crash or another process would otherwise be
    // copied into the database by the first checkpoints, under load (seconds of I/O stalls).
    (void)sqlite3_wal_checkpoint_v2(wdb_, nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
    // Readers: a few connections, each used by one thread at a time (WAL lets them read beside
    // the writer and each other; one connection behind a mutex serialised every read of the
    // service).
    for (int i = 0; i < kReaders; ++i) {
      sqlite3* r = nullptr;
      if (sqlite3_open_v2(path.c_str(), &r, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr) !=
          SQLITE_OK) {
        sqlite3_close(r);
        return IoError("cannot open a read connection");
      }
      sqlite3_busy_timeout(r, 5000);
      MutexLock lock(&readers_mu_);
      readers_.push_back(r);
    }
    TD_RETURN_IF_ERROR(LoadChainHead());
    // Checkpoints run on their own connection and thread, so the writer never stalls copying the
    // WAL into the database (it did, in the request path, every 1000 pages).
    if (sqlite3_open_v2(path.c_str(), &cdb_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      return IoError("cannot open a checkpoint connection");
    }
    sqlite3_busy_timeout(cdb_, 5000);
    TD_RETURN_IF_ERROR(Exec(cdb_, "PRAGMA synchronous=FULL; PRAGMA journal_size_limit=67108864;"));
    sqlite3_wal_hook(
        wdb_,
        [](void* self, sqlite3*, const char*, int pages) {
          static_cast<SqliteStore*>(self)->wal_pages_.store(pages, std::memory_order_relaxed);
          return SQLITE_OK;
        },
        this);  // replaces the automatic checkpoint
    checkpointer_ = std::thread([this] { CheckpointLoop(); });
    committer_ = std::thread([this] { CommitterLoop(); });

    return Status::Ok();
  }

  Result<int64_t> CreateKey(const KeyRecord& k) override {
    int64_t id = 0;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(
          auto s,
          Prepare(db, "INSERT INTO api_keys(name, role, key_hash, created_ms) VALUES(?,?,?,?)"));
      Bind(s.get(), 1, k.name);
      Bind(s.get(), 2, k.role);
      Bind(s.get(), 3, k.key_hash);
      Bind(s.get(), 4, env_->NowMs());
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "insert key");
      id = sqlite3_last_insert_rowid(db);
      return Status::Ok();
    }));
    return id;
  }

  Result<std::optional<KeyRecord>> GetKey(int64_t id) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s,
        Prepare(reader.db,
                "SELECT id, name, role, key_hash, created_ms, revoked FROM api_keys WHERE id = ?"));
    Bind(s.get(), 1, id);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<KeyRecord>();
    return std::optional<KeyRecord>(KeyFrom(s.get()));
  }

  Result<std::optional<KeyRecord>> FindKeyByHash(const std::string& key_hash) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db,
                                        "SELECT id, name, role, key_hash, created_ms, revoked FROM "
                                        "api_keys WHERE key_hash = ?"));
    Bind(s.get(), 1, key_hash);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<KeyRecord>();
    return std::optional<KeyRecord>(KeyFrom(s.get()));
  }

  Status RevokeKey(int64_t id) override {
    return Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db, "UPDATE api_keys SET revoked = 1 WHERE id = ?"));
      Bind(s.get(), 1, id);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "revoke key");
      if (sqlite3_changes(db) == 0) return NotFound(fmt::format("no key {}", id));
      return Status::Ok();
    });
  }

  Result<std::vector<KeyRecord>> ListKeys() override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s,
        Prepare(reader.db,
                "SELECT id, name, role, key_hash, created_ms, revoked FROM api_keys ORDER BY id"));
    std::vector<KeyRecord> out;
    while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(KeyFrom(s.get()));
    return out;
  }

  Result<int64_t> CreateBank(const BankRecord& b) override {
    int64_t id = 0;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                          "INSERT INTO banks(name, category, pdq_threshold, "
                                          "action, created_ms) VALUES(?,?,?,?,?)"));
      Bind(s.get(), 1, b.name);
      Bind(s.get(), 2, b.category);
      Bind(s.get(), 3, b.pdq_threshold);
      Bind(s.get(), 4, b.action);
      Bind(s.get(), 5, env_->NowMs());
      const int rc = sqlite3_step(s.get());
      if (rc == SQLITE_CONSTRAINT)
        return FailedPrecondition(fmt::format("a bank named '{}' exists", b.name));
      if (rc != SQLITE_DONE) return SqlError(db, "insert bank");
      id = sqlite3_last_insert_rowid(db);
      return Status::Ok();
    }));
    return id;
  }

  Result<std::vector<BankRecord>> ListBanks() override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s,
        Prepare(
            reader.db,
            "SELECT id, name, category, pdq_threshold, action, created_ms FROM banks ORDER BY id"));
    std::vector<BankRecord> out;
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      out.push_back({sqlite3_column_int64(s.get(), 0), Text(s.get(), 1), Text(s.get(), 2),
                     sqlite3_column_int(s.get(), 3), Text(s.get(), 4),
                     sqlite3_column_int64(s.get(), 5)});
    }
    return out;
  }

  Result<int64_t> AddBankEntry(const BankEntryRecord& e) override {
    TD_ASSIGN_OR_RETURN(auto ids, AddBankEntries({e}));
    return ids.at(0);
  }

  Result<std::vector<int64_t>> AddBankEntries(const std::vector<BankEntryRecord>& es) override {
    std::vector<int64_t> ids(es.size(), 0);
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(
          auto s, Prepare(db,
                          "INSERT INTO bank_entries(bank_id, pdq, quality, md5, sha256, source, "
                          "request_id, enabled, created_ms, video, robust, ident) "
                          "VALUES(?,?,?,?,?,?,?,?,?,?,?,?)"));
      const int64_t now = env_->NowMs();
      for (size_t i = 0; i < es.size(); ++i) {
        const auto& e = es[i];
        sqlite3_reset(s.get());
        Bind(s.get(), 1, e.bank_id);
        Bind(s.get(), 2, e.pdq);
        Bind(s.get(), 3, e.quality);
        Bind(s.get(), 4, e.md5);
        Bind(s.get(), 5, e.sha256);
        Bind(s.get(), 6, e.source);
        Bind(s.get(), 7, e.request_id);
        Bind(s.get(), 8, e.enabled ? 1 : 0);
        Bind(s.get(), 9, now);
        Bind(s.get(), 10, e.video);
        Bind(s.get(), 11, e.robust);
        const std::string ident = BankEntryIdentity(e);
        sqlite3_bind_blob(s.get(), 12, ident.data(), static_cast<int>(ident.size()),
                          SQLITE_TRANSIENT);
        const int rc = sqlite3_step(s.get());
        if (rc == SQLITE_CONSTRAINT) return NotFound(fmt::format("no bank {}", e.bank_id));
        if (rc != SQLITE_DONE) return SqlError(db, "insert bank entry");
        ids[i] = sqlite3_last_insert_rowid(db);
      }
      return Status::Ok();
    }));
    return ids;
  }

  Status SetBankEntryEnabled(int64_t id, bool enabled) override {
    return Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db, "UPDATE bank_entries SET enabled = ? WHERE id = ?"));
      Bind(s.get(), 1, enabled ? 1 : 0);
      Bind(s.get(), 2, id);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "update bank entry");
      if (sqlite3_changes(db) == 0) return NotFound(fmt::format("no bank entry {}", id));
      return Status::Ok();
    });
  }

  Status ScanBankEntries(const std::function<Status(const BankEntryRecord&)>& fn) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s, Prepare(reader.db, "SELECT " TD_ENTRY_COLUMNS " FROM bank_entries ORDER BY id"));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) TD_RETURN_IF_ERROR(fn(EntryFrom(s.get())));
    if (rc != SQLITE_DONE) return SqlError(reader.db, "read bank entries");
    return Status::Ok();
  }

  Result<std::vector<BankEntryRecord>> FindBankEntries(const BankEntryQuery& q) override {
    Reader reader(this);
    // The prefix is hex (checked by the caller): no LIKE wildcard can be in it; substr keeps the
    // comparison exact whatever SQLite's LIKE does with case.
    TD_ASSIGN_OR_RETURN(
        auto s,
        Prepare(reader.db,
                "SELECT " TD_ENTRY_COLUMNS " FROM bank_entries WHERE bank_id = ?1 AND id > ?2 "
                "AND (?3 = '' OR substr(pdq, 1, length(?3)) = ?3 OR substr(md5, 1, length(?3)) = "
                "?3 OR substr(sha256, 1, length(?3)) = ?3) AND (?4 < 0 OR enabled = ?4) "
                "ORDER BY id LIMIT ?5"));
    Bind(s.get(), 1, q.bank_id);
    Bind(s.get(), 2, q.after_id);
    Bind(s.get(), 3, q.prefix);
    Bind(s.get(), 4, static_cast<int64_t>(q.enabled ? (*q.enabled ? 1 : 0) : -1));
    Bind(s.get(), 5, q.limit);
    std::vector<BankEntryRecord> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(EntryFrom(s.get()));
    if (rc != SQLITE_DONE) return SqlError(reader.db, "find bank entries");
    return out;
  }

  Result<std::optional<BankEntryRecord>> GetBankEntry(int64_t id) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s, Prepare(reader.db, "SELECT " TD_ENTRY_COLUMNS " FROM bank_entries WHERE id = ?"));
    Bind(s.get(), 1, id);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<BankEntryRecord>();
    return std::optional<BankEntryRecord>(EntryFrom(s.get()));
  }

  Result<std::vector<bool>> HasBankEntries(int64_t bank_id,
                                           const std::vector<BankEntryRecord>& es) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db,
                                        "SELECT 1 FROM bank_entries WHERE bank_id = ? AND "
                                        "ident = ? LIMIT 1"));
    std::vector<bool> out;
    out.reserve(es.size());
    for (const auto& e : es) {
      sqlite3_reset(s.get());
      Bind(s.get(), 1, bank_id);
      const std::string ident = BankEntryIdentity(e);
      sqlite3_bind_blob(s.get(), 2, ident.data(), static_cast<int>(ident.size()), SQLITE_TRANSIENT);
      const int rc = sqlite3_step(s.get());
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return SqlError(reader.db, "find bank entries");
      out.push_back(rc == SQLITE_ROW);
    }
    return out;
  }

  Result<int64_t> RecordContent(const ContentRecord& c) override {
    TD_ASSIGN_OR_RETURN(auto ids, RecordContentBatch({c}));
    return ids.at(0);
  }

  void RecordContentAsync(const ContentRecord& c,
                          std::function<void(Result<int64_t>)> done) override {
    auto id = std::make_shared<int64_t>(0);
    WriteAsync(
        [c, id, env = env_](sqlite3* db) -> Status {
          std::vector<int64_t> ids(1, 0);
          TD_RETURN_IF_ERROR(InsertContent(db, {c}, env->NowMs(), &ids));
          *id = ids[0];
          return Status::Ok();
        },
        [id, done = std::move(done)](const Status& st) {
          if (!st.ok()) return done(st);
          done(*id);
        });
  }

  Result<std::vector<int64_t>> RecordContentBatch(
      const std::vector<ContentRecord>& items) override {
    std::vector<int64_t> ids(items.size(), 0);
    TD_RETURN_IF_ERROR(Write(
        [&](sqlite3* db) -> Status { return InsertContent(db, items, env_->NowMs(), &ids); }));
    return ids;
  }

  // Inserts each item not recorded yet: ids[i] its new row, or minus the row it already has.
  static Status InsertContent(sqlite3* db, const std::vector<ContentRecord>& items, int64_t now,
                              std::vector<int64_t>* ids) {
    TD_ASSIGN_OR_RETURN(
        auto ins, Prepare(db,
                          "INSERT INTO content(content_id, chat_id, uploader_id, pdq, quality, "
                          "md5, sha256, state, created_ms, video, robust) "
                          "VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(content_id) DO NOTHING"));
    TD_ASSIGN_OR_RETURN(auto sel, Prepare(db, "SELECT id FROM content WHERE content_id = ?"));
    for (size_t i = 0; i < items.size(); ++i) {
      const auto& c = items[i];
      sqlite3_reset(ins.get());
      Bind(ins.get(), 1, c.content_id);
      Bind(ins.get(), 2, c.chat_id);
      Bind(ins.get(), 3, c.uploader_id);
      Bind(ins.get(), 4, c.pdq);
      Bind(ins.get(), 5, c.quality);
      Bind(ins.get(), 6, c.md5);
      Bind(ins.get(), 7, c.sha256);
      Bind(ins.get(), 8, c.state);
      Bind(ins.get(), 9, now);
      Bind(ins.get(), 10, c.video);
      Bind(ins.get(), 11, c.robust);
      if (sqlite3_step(ins.get()) != SQLITE_DONE) return SqlError(db, "insert content");
      if (sqlite3_changes(db) == 1) {
        (*ids)[i] = sqlite3_last_insert_rowid(db);
      } else {
        sqlite3_reset(sel.get());
        Bind(sel.get(), 1, c.content_id);
        if (sqlite3_step(sel.get()) != SQLITE_ROW) return SqlError(db, "find content");
        (*ids)[i] = -sqlite3_column_int64(sel.get(), 0);  // negative: already recorded
      }
    }
    return Status::Ok();
  }

  Result<std::vector<ContentRecord>> ListContent() override {
    std::vector<ContentRecord> out;
    TD_RETURN_IF_ERROR(ScanContent([&](const ContentRecord& c) {
      out.push_back(c);
      return Status::Ok();
    }));
    return out;
  }

  Status ScanContent(const std::function<Status(const ContentRecord&)>& fn) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s, Prepare(reader.db, "SELECT " TD_CONTENT_COLUMNS " FROM content ORDER BY id"));
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) TD_RETURN_IF_ERROR(fn(ContentFrom(s.get())));
    if (rc != SQLITE_DONE) return SqlError(reader.db, "read content");
    return Status::Ok();
  }

  Result<int64_t> CountContent() override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db, "SELECT COUNT(*) FROM content"));
    if (sqlite3_step(s.get()) != SQLITE_ROW) return SqlError(reader.db, "count content");
    return sqlite3_column_int64(s.get(), 0);
  }

  Result<std::optional<ContentRecord>> GetContent(int64_t row) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s, Prepare(reader.db, "SELECT " TD_CONTENT_COLUMNS " FROM content WHERE id = ?"));
    Bind(s.get(), 1, row);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<ContentRecord>();
    return std::optional<ContentRecord>(ContentFrom(s.get()));
  }

  Result<std::optional<ContentRecord>> FindContent(const std::string& content_id) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db, "SELECT " TD_CONTENT_COLUMNS
                                                   " FROM content WHERE content_id = ?"));
    Bind(s.get(), 1, content_id);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<ContentRecord>();
    return std::optional<ContentRecord>(ContentFrom(s.get()));
  }

  Result<std::vector<ContentRecord>> FindContentByDigest(const std::string& md5,
                                                         const std::string& sha256) override {
    Reader reader(this);
    std::vector<ContentRecord> out;
    if (!md5.empty()) {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db, "SELECT " TD_CONTENT_COLUMNS
                                                     " FROM content WHERE md5 = ? AND md5 != ''"));
      Bind(s.get(), 1, md5);
      while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(ContentFrom(s.get()));
    }
    if (!sha256.empty()) {
      TD_ASSIGN_OR_RETURN(auto s,
                          Prepare(reader.db, "SELECT " TD_CONTENT_COLUMNS
                                             " FROM content WHERE sha256 = ? AND sha256 != ''"));
      Bind(s.get(), 1, sha256);
      while (sqlite3_step(s.get()) == SQLITE_ROW) out.push_back(ContentFrom(s.get()));
    }
    std::sort(out.begin(), out.end(),
              [](const ContentRecord& a, const ContentRecord& b) { return a.id < b.id; });
    out.erase(
        std::unique(out.begin(), out.end(),
                    [](const ContentRecord& a, const ContentRecord& b) { return a.id == b.id; }),
        out.end());
    return out;
  }

  Status SetContentState(int64_t row, const std::string& state) override {
    return Write([&](sqlite3* db) { return SetContentStateIn(db, row, state); });
  }

  Status SetContentStateIn(sqlite3* db, int64_t row, const std::string& state) {
    TD_ASSIGN_OR_RETURN(auto s, Prepare(db, "UPDATE content SET state = ? WHERE id = ?"));
    Bind(s.get(), 1, state);
    Bind(s.get(), 2, row);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "update content");
    if (sqlite3_changes(db) == 0) return NotFound(fmt::format("no content row {}", row));
    return Status::Ok();
  }

  Result<std::vector<int64_t>> PutDocs(const std::vector<DocRecord>& docs) override {
    std::vector<int64_t> ids(docs.size(), 0);
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) { return PutDocsIn(db, docs, &ids); }));
    return ids;
  }

  Result<std::vector<int64_t>> Transact(const Changes& c) override {
    std::vector<int64_t> ids(c.docs.size(), 0);
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      for (const auto& [id, state] : c.expect_states) {
        TD_ASSIGN_OR_RETURN(auto q, Prepare(db, "SELECT state FROM docs WHERE id = ?"));
        Bind(q.get(), 1, id);
        if (sqlite3_step(q.get()) != SQLITE_ROW) return NotFound(fmt::format("no document {}", id));
        if (Text(q.get(), 0) != state) {
          return FailedPrecondition(
              fmt::format("document {} is {}, no longer {}", id, Text(q.get(), 0), state));
        }
      }
      TD_RETURN_IF_ERROR(PutDocsIn(db, c.docs, &ids));
      for (const auto& [row, state] : c.content_states)
        TD_RETURN_IF_ERROR(SetContentStateIn(db, row, state));
      for (const auto& a : c.audits) {
        AuditRecord r;
        TD_RETURN_IF_ERROR(InsertAudit(db, a.actor, a.kind, a.payload, &r));
      }
      return Status::Ok();
    }));
    return ids;
  }

  Status PutDocsIn(sqlite3* db, const std::vector<DocRecord>& docs, std::vector<int64_t>* out) {
    std::vector<int64_t>& ids = *out;
    const int64_t now = env_->NowMs();
    for (size_t i = 0; i < docs.size(); ++i) {
      const auto& d = docs[i];
      if (d.id == 0) {
        TD_ASSIGN_OR_RETURN(
            auto s, Prepare(db,
                            "INSERT INTO docs(kind, owner, state, due_ms, ukey, created_ms, doc) "
                            "VALUES(?,?,?,?,?,?,?) ON CONFLICT DO NOTHING"));
        Bind(s.get(), 1, d.kind);
        Bind(s.get(), 2, d.owner);
        Bind(s.get(), 3, d.state);
        Bind(s.get(), 4, d.due_ms);
        if (d.ukey.empty())
          sqlite3_bind_null(s.get(), 5);
        else
          Bind(s.get(), 5, d.ukey);
        Bind(s.get(), 6, d.created_ms != 0 ? d.created_ms : now);
        Bind(s.get(), 7, d.doc);
        if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "insert document");
        if (sqlite3_changes(db) == 1) {
          ids[i] = sqlite3_last_insert_rowid(db);
        } else {
          TD_ASSIGN_OR_RETURN(auto q, Prepare(db, "SELECT id FROM docs WHERE ukey = ?"));
          Bind(q.get(), 1, d.ukey);
          if (sqlite3_step(q.get()) != SQLITE_ROW) return SqlError(db, "find document");
          ids[i] = -sqlite3_column_int64(q.get(), 0);
        }
      } else {
        TD_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                            "UPDATE docs SET owner = ?, state = ?, due_ms = ?, doc "
                                            "= ? WHERE id = ? AND kind = ?"));
        Bind(s.get(), 1, d.owner);
        Bind(s.get(), 2, d.state);
        Bind(s.get(), 3, d.due_ms);
        Bind(s.get(), 4, d.doc);
        Bind(s.get(), 5, d.id);
        Bind(s.get(), 6, d.kind);
        if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "update document");
        if (sqlite3_changes(db) == 0) return NotFound(fmt::format("no {} {}", d.kind, d.id));
        ids[i] = d.id;
      }
    }
    return Status::Ok();
  }

  static DocRecord DocFrom(sqlite3_stmt* s) {
    return {sqlite3_column_int64(s, 0), Text(s, 1), sqlite3_column_int64(s, 2), Text(s, 3),
            sqlite3_column_int64(s, 4), Text(s, 5), sqlite3_column_int64(s, 6), Text(s, 7)};
  }

  Result<std::optional<DocRecord>> GetDoc(int64_t id) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db,
                                        "SELECT id, kind, owner, state, due_ms, ifnull(ukey, ''), "
                                        "created_ms, doc FROM docs WHERE id = ?"));
    Bind(s.get(), 1, id);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<DocRecord>();
    return std::optional<DocRecord>(DocFrom(s.get()));
  }

  Result<std::vector<DocRecord>> FindDocs(const DocQuery& q) override {
    std::string sql =
        "SELECT id, kind, owner, state, due_ms, ifnull(ukey, ''), created_ms, doc FROM docs WHERE "
        "kind = ?1 AND id > ?2";
    if (q.owner) sql += " AND owner = ?3";
    if (!q.state.empty()) sql += " AND state = ?4";
    if (q.due_before) sql += " AND due_ms <= ?5";
    if (q.created_from) sql += " AND created_ms >= ?6";
    if (q.created_to) sql += " AND created_ms < ?7";
    if (!q.ukey.empty()) sql += " AND ukey = ?9";
    if (q.by_due && !q.desc_field.empty()) {
      // A field name of letters, digits and '_' only (checked below): never from a request.
      sql += " ORDER BY ifnull(json_extract(doc, '$." + q.desc_field + "'), 0) DESC, due_ms, id";
    } else {
      sql += q.by_due ? " ORDER BY due_ms, id" : " ORDER BY id";
    }
    if (q.desc_field.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_") !=
        std::string::npos) {
      return InvalidArgument(fmt::format("desc_field '{}': not a field name", q.desc_field));
    }
    sql += " LIMIT ?8";
    Reader reader(this);
    // One of a few shapes: prepared once each (the pool keys statements by their text).
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db, sql.c_str()));
    Bind(s.get(), 1, q.kind);
    Bind(s.get(), 2, q.after_id);
    if (q.owner) Bind(s.get(), 3, *q.owner);
    if (!q.state.empty()) Bind(s.get(), 4, q.state);
    if (q.due_before) Bind(s.get(), 5, *q.due_before);
    if (q.created_from) Bind(s.get(), 6, *q.created_from);
    if (q.created_to) Bind(s.get(), 7, *q.created_to);
    Bind(s.get(), 8, q.limit);
    if (!q.ukey.empty()) Bind(s.get(), 9, q.ukey);
    std::vector<DocRecord> out;
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(DocFrom(s.get()));
    if (rc != SQLITE_DONE) return SqlError(reader.db, "find documents");
    return out;
  }

  Result<std::vector<DocRecord>> ClaimDocs(const std::string& kind, const std::string& state,
                                           int64_t now_ms, int64_t lease_until_ms,
                                           int64_t limit) override {
    std::vector<DocRecord> out;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      out.clear();  // a retried transaction starts again
      TD_ASSIGN_OR_RETURN(
          auto s, Prepare(db,
                          "UPDATE docs SET due_ms = ?1 WHERE id IN (SELECT id FROM docs WHERE "
                          "kind = ?2 AND state = ?3 AND due_ms <= ?4 ORDER BY due_ms, id LIMIT ?5) "
                          "RETURNING id, kind, owner, state, due_ms, ifnull(ukey, ''), "
                          "created_ms, doc"));
      Bind(s.get(), 1, lease_until_ms);
      Bind(s.get(), 2, kind);
      Bind(s.get(), 3, state);
      Bind(s.get(), 4, now_ms);
      Bind(s.get(), 5, limit);
      int rc;
      while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(DocFrom(s.get()));
      if (rc != SQLITE_DONE) return SqlError(db, "claim documents");
      return Status::Ok();
    }));
    std::sort(out.begin(), out.end(),
              [](const DocRecord& a, const DocRecord& b) { return a.id < b.id; });
    return out;
  }

  Result<int64_t> CountDue(const std::string& kind, const std::string& state,
                           int64_t due_before) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s, Prepare(reader.db,
                        "SELECT count(*) FROM docs WHERE kind = ? AND state = ? AND due_ms <= ?"));
    Bind(s.get(), 1, kind);
    Bind(s.get(), 2, state);
    Bind(s.get(), 3, due_before);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return SqlError(reader.db, "count due documents");
    return sqlite3_column_int64(s.get(), 0);
  }

  Result<DocCount> CountDocs(const std::string& kind, const std::string& state) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s,
                        Prepare(reader.db,
                                "SELECT count(*), ifnull(min(created_ms), 0), ifnull(min(due_ms), "
                                "0) FROM docs WHERE kind = ? AND state = ?"));
    Bind(s.get(), 1, kind);
    Bind(s.get(), 2, state);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return SqlError(reader.db, "count documents");
    return DocCount{sqlite3_column_int64(s.get(), 0), sqlite3_column_int64(s.get(), 1),
                    sqlite3_column_int64(s.get(), 2)};
  }

  Status PutEvidence(const EvidenceBlob& e) override {
    return Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                          "INSERT OR REPLACE INTO evidence(request_id, item, "
                                          "nonce, data, expires_ms) VALUES(?,?,?,?,?)"));
      Bind(s.get(), 1, e.request_id);
      Bind(s.get(), 2, e.item);
      sqlite3_bind_blob(s.get(), 3, e.nonce.data(), static_cast<int>(e.nonce.size()),
                        SQLITE_TRANSIENT);
      sqlite3_bind_blob(s.get(), 4, e.data.data(), static_cast<int>(e.data.size()),
                        SQLITE_TRANSIENT);
      Bind(s.get(), 5, e.expires_ms);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "store evidence");
      return Status::Ok();
    });
  }

  Result<std::optional<EvidenceBlob>> GetEvidence(int64_t request_id, int item) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(
        auto s,
        Prepare(reader.db,
                "SELECT nonce, data, expires_ms FROM evidence WHERE request_id = ? AND item = ?"));
    Bind(s.get(), 1, request_id);
    Bind(s.get(), 2, item);
    if (sqlite3_step(s.get()) != SQLITE_ROW) return std::optional<EvidenceBlob>();
    auto blob = [&](int i) {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(s.get(), i));
      return p == nullptr ? std::string()
                          : std::string(p, static_cast<size_t>(sqlite3_column_bytes(s.get(), i)));
    };
    return std::optional<EvidenceBlob>(
        EvidenceBlob{request_id, item, blob(0), blob(1), sqlite3_column_int64(s.get(), 2)});
  }

  Result<int64_t> DeleteDocs(const std::string& kind, int64_t created_before) override {
    int64_t n = 0;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s,
                          Prepare(db, "DELETE FROM docs WHERE kind = ? AND created_ms < ?"));
      Bind(s.get(), 1, kind);
      Bind(s.get(), 2, created_before);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "delete documents");
      n = sqlite3_changes(db);
      return Status::Ok();
    }));
    return n;
  }

  Result<bool> ExtendEvidence(int64_t request_id, int item, int64_t until_ms) override {
    bool stored = false;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                          "UPDATE evidence SET expires_ms = max(expires_ms, ?) "
                                          "WHERE request_id = ? AND item = ?"));
      Bind(s.get(), 1, until_ms);
      Bind(s.get(), 2, request_id);
      Bind(s.get(), 3, item);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "extend evidence");
      stored = sqlite3_changes(db) > 0;
      return Status::Ok();
    }));
    return stored;
  }

  Result<int64_t> DeleteExpiredEvidence(int64_t now_ms) override {
    int64_t n = 0;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db, "DELETE FROM evidence WHERE expires_ms <= ?"));
      Bind(s.get(), 1, now_ms);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "delete evidence");
      n = sqlite3_changes(db);
      return Status::Ok();
    }));
    return n;
  }

  Result<int64_t> DeleteEvidence(int64_t request_id) override {
    int64_t n = 0;
    TD_RETURN_IF_ERROR(Write([&](sqlite3* db) -> Status {
      TD_ASSIGN_OR_RETURN(auto s, Prepare(db, "DELETE FROM evidence WHERE request_id = ?"));
      Bind(s.get(), 1, request_id);
      if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "delete evidence");
      n = sqlite3_changes(db);
      return Status::Ok();
    }));
    return n;
  }

  Result<AuditRecord> AppendAudit(const std::string& actor, const std::string& kind,
                                  const std::string& payload) override {
    AuditRecord r;
    TD_RETURN_IF_ERROR(
        Write([&](sqlite3* db) { return InsertAudit(db, actor, kind, payload, &r); }));
    return r;
  }

  // Appends one record to the chain inside the current transaction (writer thread).
  Status InsertAudit(sqlite3* db, const std::string& actor, const std::string& kind,
                     const std::string& payload, AuditRecord* out) {
    AuditRecord& r = *out;
    r.seq = last_seq_ + 1;
    r.time_ms = env_->NowMs();
    r.actor = actor;
    r.kind = kind;
    r.payload = payload;
    r.prev_hash = last_hash_.empty() ? std::string(64, '0') : last_hash_;
    r.hash = AuditHash(r);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(db,
                                        "INSERT INTO audit(seq, time_ms, actor, kind, payload, "
                                        "prev_hash, hash) VALUES(?,?,?,?,?,?,?)"));
    Bind(s.get(), 1, r.seq);
    Bind(s.get(), 2, r.time_ms);
    Bind(s.get(), 3, r.actor);
    Bind(s.get(), 4, r.kind);
    Bind(s.get(), 5, r.payload);
    Bind(s.get(), 6, r.prev_hash);
    Bind(s.get(), 7, r.hash);
    if (sqlite3_step(s.get()) != SQLITE_DONE) return SqlError(db, "append audit");
    last_seq_ = r.seq;
    last_hash_ = r.hash;
    return Status::Ok();
  }

  Result<std::vector<AuditRecord>> ReadAudit(int64_t from_seq, int64_t limit) override {
    Reader reader(this);
    TD_ASSIGN_OR_RETURN(auto s, Prepare(reader.db,
                                        "SELECT seq, time_ms, actor, kind, payload, prev_hash, "
                                        "hash FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?"));
    Bind(s.get(), 1, from_seq);
    Bind(s.get(), 2, limit);
    std::vector<AuditRecord> out;
    while (sqlite3_step(s.get()) == SQLITE_ROW) {
      out.push_back({sqlite3_column_int64(s.get(), 0), sqlite3_column_int64(s.get(), 1),
                     Text(s.get(), 2), Text(s.get(), 3), Text(s.get(), 4), Text(s.get(), 5),
                     Text(s.get(), 6)});
    }
    return out;
  }

 private:
  struct Job {
    std::function<Status(sqlite3*)> fn;
    // Set for a write nobody waits for (WriteAsync): called with its result instead of Wake().
    std::function<void(const Status&)> done;
    Status result;
    bool lead = false;  // woken to commit the next batch, not with a result
    // A mutex and condition variable, not std::binary_semaphore: libstdc++'s semaphore spins with
    // sched_yield before it sleeps, and two dozen waiting writers yielding to each other took an
    // eighth of the server's CPU under load (perf, scripts/bench-serve.sh).
    Mutex m;
    CondVar cv;
    bool woken TD_GUARDED_BY(m) = false;
    void Wake() {
      {
        MutexLock l(&m);
        woken = true;
      }
      cv.Signal();
    }
    void Wait() {
      MutexLock l(&m);
      while (!woken) cv.Wait(&m);
    }
  };

  static KeyRecord KeyFrom(sqlite3_stmt* s) {
    return {sqlite3_column_int64(s, 0),
            Text(s, 1),
            Text(s, 2),
            Text(s, 3),
            sqlite3_column_int64(s, 4),
            sqlite3_column_int(s, 5) != 0};
  }

  Status Migrate() {
    TD_RETURN_IF_ERROR(
        Exec(wdb_, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"));
    TD_ASSIGN_OR_RETURN(auto s, Prepare(wdb_, "SELECT version FROM schema_version"));
    int version = 0;
    if (sqlite3_step(s.get()) == SQLITE_ROW) version = sqlite3_column_int(s.get(), 0);
    s.reset();
    const int latest = static_cast<int>(std::size(kMigrations));
    if (version > latest)
      return Unsupported(
          fmt::format("store schema {} is newer than this build ({})", version, latest));
    for (int v = version; v < latest; ++v) {
      TD_RETURN_IF_ERROR(Exec(wdb_, "BEGIN IMMEDIATE"));
      Status st = Exec(wdb_, kMigrations[v]);
      if (st.ok())
        st = Exec(wdb_, v == 0
                            ? "INSERT INTO schema_version VALUES (1)"
                            : fmt::format("UPDATE schema_version SET version = {}", v + 1).c_str());
      if (!st.ok()) {
        (void)Exec(wdb_, "ROLLBACK");
        return st.WithContext(fmt::format("migration {}", v + 1));
      }
      TD_RETURN_IF_ERROR(Exec(wdb_, "COMMIT"));
    }
    return Status::Ok();
  }

  // The chain's head, for appends. Read again inside each write transaction: another process
  // (`takedown admin create-key` beside a running server) may have appended since.
  Status LoadChainHead() {
    TD_ASSIGN_OR_RETURN(auto last,
                        Prepare(wdb_, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1"));
    if (sqlite3_step(last.get()) == SQLITE_ROW) {
      last_seq_ = sqlite3_column_int64(last.get(), 0);
      last_hash_ = Text(last.get(), 1);
    } else {
      last_seq_ = 0;
      last_hash_.clear();
    }
    return Status::Ok();
  }

  // Queues fn and waits until its transaction is committed and synced. Group commit without a
  // writer thread: the first write to find no commit running leads -- it takes every queued write
  // (its own included) into one transaction and one sync, wakes each follower with its result,
  // and hands the lead to the oldest write queued meanwhile. No thread hand-off for the leader,
  // one wake-up for each follower.
  Status Write(std::function<Status(sqlite3*)> fn) {
    auto job = std::make_shared<Job>();
    job->fn = std::move(fn);
    bool lead = false;
    {
      MutexLock lock(&mu_);
      if (stopping_) return IoError("store is closing");
      queue_.push_back(job);
      if (!committing_) lead = committing_ = true;
    }
    pending_.fetch_add(1, std::memory_order_relaxed);
    if (!lead) {
      job->Wait();
      lead = job->lead;
    }
    if (lead) Lead(job.get());
    pending_.fetch_sub(1, std::memory_order_relaxed);
    return job->result;
  }

  // Queues fn without waiting: done(result) once its transaction is committed and synced, on the
  // thread that led that commit. A write that finds no commit running wakes the committer thread
  // to lead: the caller (an I/O thread) never commits itself.
  void WriteAsync(std::function<Status(sqlite3*)> fn, std::function<void(const Status&)> done) {
    auto job = std::make_shared<Job>();
    job->fn = std::move(fn);
    job->done = std::move(done);
    bool wake = false;
    pending_.fetch_add(1, std::memory_order_relaxed);
    {
      MutexLock lock(&mu_);
      if (!stopping_) {
        queue_.push_back(job);
        if (!committing_) wake = committing_ = committer_lead_ = true;
        job = nullptr;
      }
    }
    if (job != nullptr) {  // not queued
      pending_.fetch_sub(1, std::memory_order_relaxed);
      return job->done(IoError("store is closing"));
    }
    if (wake) committer_cv_.Signal();
  }

  // Commits every queued write (own: the leader's, when it is a waiting write) in one transaction,
  // gives each its result, and hands the lead on: to the oldest write queued meanwhile when it
  // waits, to the committer thread when nobody waits for it.
  void Lead(const Job* own) {
    std::deque<std::shared_ptr<Job>> batch;
    {
      MutexLock lock(&mu_);
      batch.swap(queue_);
    }
    CommitBatch(batch);
    std::shared_ptr<Job> next;
    {
      MutexLock lock(&mu_);
      if (queue_.empty()) {
        committing_ = false;
        idle_cv_.SignalAll();
      } else {
        next = queue_.front();
        if (next->done) committer_lead_ = true;
      }
    }
    for (auto& j : batch) {
      if (j.get() == own) continue;
      if (j->done) {
        j->done(j->result);
        pending_.fetch_sub(1, std::memory_order_relaxed);
      } else {
        j->Wake();
      }
    }
    if (next && next->done) {
      committer_cv_.Signal();
    } else if (next) {
      next->lead = true;
      next->Wake();
    }
  }

  // Leads the commits of writes nobody waits for (WriteAsync).
  void CommitterLoop() {
    MutexLock lock(&mu_);
    while (true) {
      while (!committer_lead_ && !stopping_) committer_cv_.Wait(&mu_);
      if (!committer_lead_) break;  // stopping, and nothing left to commit
      committer_lead_ = false;
      mu_.Unlock();
      Lead(nullptr);
      mu_.Lock();
    }
  }

 public:
  int64_t WriteQueueDepth() const override { return pending_.load(std::memory_order_relaxed); }

 private:
  // Copies committed WAL pages into the database when the WAL has grown past kCheckpointPages,
  // or every few seconds. PASSIVE: never waits for, nor blocks, readers and the writer.
  void CheckpointLoop() {
    LowerThisThreadPriority();
    MutexLock lock(&mu_);
    while (!stopping_) {
      ckpt_cv_.WaitFor(&mu_, std::chrono::seconds(5));
      if (stopping_) break;
      if (wal_pages_.load(std::memory_order_relaxed) == 0) continue;
      mu_.Unlock();
      int log = 0, done = 0;
      (void)sqlite3_wal_checkpoint_v2(cdb_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
      if (log >= 0 && done >= log) wal_pages_.store(0, std::memory_order_relaxed);
      mu_.Lock();
      if (!stopping_) ckpt_cv_.WaitFor(&mu_, std::chrono::milliseconds(50));  // no busy loop
    }
  }

  // One transaction for a batch of writes, each in its own savepoint so one failing write does not
  // undo the others (a lone write needs none: its failure rolls the transaction back).
  void CommitBatch(std::deque<std::shared_ptr<Job>>& batch) {
    std::vector<Status> results(batch.size());
    Status tx = Run(wdb_, "BEGIN IMMEDIATE");
    if (tx.ok()) tx = LoadChainHead();
    const int64_t seq_before = last_seq_;
    const std::string hash_before = last_hash_;
    const bool savepoints = batch.size() > 1;
    for (size_t i = 0; tx.ok() && i < batch.size(); ++i) {
      if (savepoints) (void)Run(wdb_, "SAVEPOINT job");
      const int64_t seq = last_seq_;
      const std::string hash = last_hash_;
      results[i] = batch[i]->fn(wdb_);
      if (!savepoints) {
        if (!results[i].ok()) tx = results[i];
      } else if (results[i].ok()) {
        (void)Run(wdb_, "RELEASE job");
      } else {
        (void)Run(wdb_, "ROLLBACK TO job");
        (void)Run(wdb_, "RELEASE job");
        last_seq_ = seq;
        last_hash_ = hash;
      }
    }
    if (tx.ok()) tx = Run(wdb_, "COMMIT");
    if (!tx.ok()) {
      (void)Run(wdb_, "ROLLBACK");
      last_seq_ = seq_before;
      last_hash_ = hash_before;
    }
    if (wal_pages_.load(std::memory_order_relaxed) >= kRestartPages) {
      // The log starts over only when a write begins with every frame copied into the database,
      // and under steady load the background checkpoint never catches up with the commits: the
      // log grew without bound (240 MB after 40 s of checks; journal_size_limit acts only on a
      // restart). Here no other write can run, and the background pass has copied all but the
      // last few frames: this pass is ~1 ms, and the next transaction writes the log from its
      // start.
      (void)sqlite3_wal_checkpoint_v2(wdb_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    }
    if (wal_pages_.load(std::memory_order_relaxed) >= kCheckpointPages) ckpt_cv_.Signal();
    for (size_t i = 0; i < batch.size(); ++i) batch[i]->result = tx.ok() ? results[i] : tx;
  }

  sqlite3* wdb_ = nullptr;
  // Read connections not in use (Reader borrows one; waits when all are busy).
  static constexpr int kReaders = 8;
  Mutex readers_mu_;
  CondVar readers_cv_;
  std::vector<sqlite3*> readers_ TD_GUARDED_BY(readers_mu_);

  // A read connection for the current scope.
  class Reader {
   public:
    explicit Reader(SqliteStore* s) : s_(s) {
      MutexLock lock(&s_->readers_mu_);
      while (s_->readers_.empty()) s_->readers_cv_.Wait(&s_->readers_mu_);
      db = s_->readers_.back();
      s_->readers_.pop_back();
    }
    ~Reader() {
      {
        MutexLock lock(&s_->readers_mu_);
        s_->readers_.push_back(db);
      }
      s_->readers_cv_.Signal();
    }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    sqlite3* db = nullptr;

   private:
    SqliteStore* s_;
  };
  Mutex mu_;
  std::deque<std::shared_ptr<Job>> queue_ TD_GUARDED_BY(mu_);
  bool stopping_ TD_GUARDED_BY(mu_) = false;
  bool committing_ TD_GUARDED_BY(mu_) = false;  // a leader is committing
  CondVar idle_cv_;                             // with mu_: committing_ went false
  // The committer thread is to lead the next commit (its first write is one nobody waits for).
  bool committer_lead_ TD_GUARDED_BY(mu_) = false;
  CondVar committer_cv_;  // with mu_
  std::thread committer_;
  static constexpr int kCheckpointPages = 1000;
  static constexpr int kRestartPages = 4 * kCheckpointPages;
  sqlite3* cdb_ = nullptr;         // checkpoint connection
  CondVar ckpt_cv_;                // with mu_
  std::atomic<int> wal_pages_{0};  // pages in the WAL after the last commit
  std::thread checkpointer_;
  std::atomic<int64_t> pending_{0};
  int64_t last_seq_ = 0;  // writer thread only (and Open)
  Env* env_;
  std::string last_hash_;
};

}  // namespace

std::string AuditHash(const AuditRecord& r) {
  std::string s;
  auto field = [&](const std::string& v) { s += fmt::format("{}:{};", v.size(), v); };
  field(r.prev_hash);
  field(std::to_string(r.seq));
  field(std::to_string(r.time_ms));
  field(r.actor);
  field(r.kind);
  field(r.payload);
  return Sha256(s);
}

Result<int64_t> VerifyAuditChain(AuditLog& store) {
  std::string prev(64, '0');
  int64_t expect = 1;
  for (;;) {
    TD_ASSIGN_OR_RETURN(auto page, store.ReadAudit(expect, 10000));
    if (page.empty()) return expect - 1;
    for (const auto& r : page) {
      if (r.seq != expect) {
        return DataLoss(
            fmt::format("audit record {} is missing (next present is {})", expect, r.seq));
      }
      if (r.prev_hash != prev) {
        return DataLoss(fmt::format("audit record {} does not follow record {} (chain broken)",
                                    r.seq, r.seq - 1));
      }
      if (AuditHash(r) != r.hash) {
        return DataLoss(fmt::format(
            "audit record {} was altered (its hash does not match its contents)", r.seq));
      }
      prev = r.hash;
      ++expect;
    }
  }
}

Result<int64_t> CopySqliteDatabase(const std::string& from, const std::string& to) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(from, ec)) return NotFound(fmt::format("{}: no such file", from));
  if (fs::exists(to, ec) && fs::equivalent(from, to, ec))
    return InvalidArgument(fmt::format("{} is the database itself", to));
  const std::string partial = to + ".partial";
  fs::remove(partial, ec);
  sqlite3* src = nullptr;
  sqlite3* dst = nullptr;
  auto close_both = [&] {
    if (src != nullptr) sqlite3_close(src);
    if (dst != nullptr) sqlite3_close(dst);
    src = dst = nullptr;
  };
  auto fail = [&](sqlite3* db, const std::string& what) {
    std::string msg = fmt::format("{}: {}", what, db != nullptr ? sqlite3_errmsg(db) : "");
    close_both();
    fs::remove(partial, ec);
    return IoError(msg);
  };
  if (sqlite3_open_v2(from.c_str(), &src, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK)
    return fail(src, fmt::format("opening {}", from));
  if (sqlite3_open_v2(partial.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    return fail(dst, fmt::format("creating {}", partial));
  sqlite3_busy_timeout(src, 10000);
  sqlite3_busy_timeout(dst, 10000);
  sqlite3_backup* b = sqlite3_backup_init(dst, "main", src, "main");
  if (b == nullptr) return fail(dst, "starting the copy");
  const int rc = sqlite3_backup_step(b, -1);  // every page in one read transaction: consistent
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) return fail(dst, fmt::format("copying {}", from));
  std::string check;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(dst, "PRAGMA quick_check", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    check = reinterpret_cast<const char*>(sqlite3_column_text(st, 0));
  }
  sqlite3_finalize(st);
  if (check != "ok") {
    close_both();
    fs::remove(partial, ec);
    return DataLoss(fmt::format("the copy of {} does not check: {}", from, check));
  }
  // Checkpointed into the one file: the copy travels without -wal or -shm.
  if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return fail(dst, "finishing the copy");
  close_both();
  const int fd = ::open(partial.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    if (fd >= 0) ::close(fd);
    fs::remove(partial, ec);
    return IoError(fmt::format("syncing {}", partial));
  }
  ::close(fd);
  if (std::rename(partial.c_str(), to.c_str()) != 0) {
    fs::remove(partial, ec);
    return IoError(fmt::format("renaming {} to {}: {}", partial, to, std::strerror(errno)));
  }
  const std::string dir =
      fs::path(to).parent_path().empty() ? "." : fs::path(to).parent_path().string();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  const auto size = fs::file_size(to, ec);
  return ec ? int64_t{0} : static_cast<int64_t>(size);
}

Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, Env* env, bool create) {
  auto s = std::make_unique<SqliteStore>(env);
  TD_RETURN_IF_ERROR(s->Open(path, create));
  return std::unique_ptr<Store>(std::move(s));
}

}  // namespace takedown::store
