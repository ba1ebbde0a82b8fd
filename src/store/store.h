// The system of record, behind an interface that knows nothing of SQL: the embedded SQLite
// backend (the default) and a PostgreSQL one (several processes on one database) implement it.
//
// Every write that returns OK is durable (committed, synced) before it returns. Implementations
// are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/env.h"
#include "core/status.h"

namespace takedown::store {

struct KeyRecord {
  int64_t id = 0;
  std::string name;
  std::string role;      // platform | requester | reviewer | admin
  std::string key_hash;  // SHA-256 hex of the key; the key itself is never stored
  int64_t created_ms = 0;
  bool revoked = false;
};

struct BankRecord {
  int64_t id = 0;
  std::string name;
  std::string category;    // ncii, csam, deepfake-sexual, terrorism, ...
  int pdq_threshold = 31;  // match policy
  std::string action;      // block | sweep | review
  int64_t created_ms = 0;
};

struct BankEntryRecord {
  int64_t id = 0;
  int64_t bank_id = 0;
  std::string pdq;  // 64 hex digits, or ""
  int quality = 0;
  std::string md5, sha256;  // of the file, or ""
  std::string source;       // who or what added it
  std::string request_id;   // the removal request behind it, if any
  bool enabled = true;
  int64_t created_ms = 0;
  std::string video;   // a video's frame signals (JSON), or ""
  std::string robust;  // an image's robust signals (JSON: norm, box, bank variants), or ""
};

// What makes two entries of one bank the same entry (an import adds only those its bank lacks):
// their PDQ, MD5 and SHA-256 as stored, and for a video known only by its frames (no PDQ and no
// digest), its frame signals' text. 16 bytes: the first half of the SHA-256 of
// "pdq|md5|sha256|F", F being the lowercase hex SHA-256 of `video` for such a video and ""
// otherwise. Every backend keeps it with each entry, indexed with the bank
// (BankStore::HasBankEntries).
std::string BankEntryIdentity(const BankEntryRecord& e);

// A page of one bank's entries (BankStore::FindBankEntries): those whose PDQ, MD5 or SHA-256
// starts with `prefix` (lowercase hex; "" all), enabled or disabled only when asked, after
// `after_id`, oldest first.
struct BankEntryQuery {
  int64_t bank_id = 0;
  std::string prefix;
  std::optional<bool> enabled;
  int64_t after_id = 0;
  int64_t limit = 100;
};

struct ContentRecord {
  int64_t id = 0;          // the store's row id (the content index's id)
  std::string content_id;  // the platform's id
  std::string chat_id, uploader_id;
  std::string pdq;
  int quality = 0;
  std::string md5, sha256;
  std::string state = "live";  // live | removed | restored
  int64_t created_ms = 0;
  std::string video;   // a video's frame signals (JSON), or ""
  std::string robust;  // an image's robust signals (JSON: norm, box, bank variants), or ""
};

// The content index's shard of a content id when it is split into `total` shards: the first four
// bytes of MD5(content_id), big-endian, modulo total. MD5 because PostgreSQL computes the same
// (ScanContentShards filters on the server); any process, build or backend agrees.
uint32_t ContentIdHash(std::string_view content_id);
inline int ContentShardOf(std::string_view content_id, int total) {
  return total <= 1 ? 0
                    : static_cast<int>(ContentIdHash(content_id) % static_cast<uint32_t>(total));
}

struct AuditRecord {
  int64_t seq = 0;
  int64_t time_ms = 0;
  std::string actor;      // "key:12", "system", ...
  std::string kind;       // "key.created", "bank.entry.added", ...
  std::string payload;    // JSON
  std::string prev_hash;  // hash of the record before (64 zeros for the first)
  std::string hash;       // SHA-256 over prev_hash and this record's fields
};

// A document of the workflow (a removal request, an action for the platform, an appeal, a
// requester's profile): a JSON body the domain owns, plus the few columns it is looked up by.
struct DocRecord {
  int64_t id = 0;
  std::string kind;    // request | action | appeal | requester
  int64_t owner = 0;   // request: requester key; action: request; appeal: action; requester: key
  std::string state;   // the document's status
  int64_t due_ms = 0;  // request: deadline; action: next delivery attempt
  std::string ukey;    // unique key or "" (action: idempotency key; requester: "requester:ID")
  int64_t created_ms = 0;  // set by the store on insert
  std::string doc;         // JSON
};

struct DocQuery {
  std::string kind;
  std::optional<int64_t> owner;
  std::string state;                                // "" for any
  std::optional<int64_t> due_before;                // due_ms <= this
  std::optional<int64_t> created_from, created_to;  // [from, to)
  int64_t after_id = 0;                             // paging: ids greater than this
  int64_t limit = 1000;
  bool by_due = false;  // order by due_ms, id (else by id)
  // With by_due: first by this top-level integer field of the document, highest first (the review
  // queue's "priority"); documents without it count as 0. Paging by after_id still filters.
  std::string desc_field;
  std::string ukey;  // "" for any; else the one document with this unique key
};

struct DocCount {
  int64_t count = 0;
  int64_t oldest_created_ms = 0;
  int64_t earliest_due_ms = 0;
};

// Reported media kept for a retention period, encrypted by the domain (the store sees ciphertext).
struct EvidenceBlob {
  int64_t request_id = 0;
  int item = 0;             // the evidence item's index in the request
  std::string nonce, data;  // binary
  int64_t expires_ms = 0;
};

// The store is one system of record seen through narrow interfaces, one per use: a module is
// handed only the ones it needs (the workflow never sees API keys; the HTTP edge only the audit
// log). The SQLite and PostgreSQL backends implement them all in one object (Store).

// API keys (hashes only).
class KeyStore {
 public:
  virtual ~KeyStore() = default;
  virtual Result<int64_t> CreateKey(const KeyRecord& k) = 0;
  virtual Result<std::optional<KeyRecord>> FindKeyByHash(const std::string& key_hash) = 0;
  virtual Status RevokeKey(int64_t id) = 0;
  virtual Result<std::vector<KeyRecord>> ListKeys() = 0;
  // One key by id (revoked ones too), or none.
  virtual Result<std::optional<KeyRecord>> GetKey(int64_t id) = 0;
};

// Banks of known-bad signals and their entries.
class BankStore {
 public:
  virtual ~BankStore() = default;
  virtual Result<int64_t> CreateBank(const BankRecord& b) = 0;
  virtual Result<std::vector<BankRecord>> ListBanks() = 0;
  virtual Result<int64_t> AddBankEntry(const BankEntryRecord& e) = 0;
  // All in one transaction, or none; ids in order.
  virtual Result<std::vector<int64_t>> AddBankEntries(const std::vector<BankEntryRecord>& es) = 0;
  virtual Status SetBankEntryEnabled(int64_t id, bool enabled) = 0;
  // Calls fn for every entry of every bank (disabled ones too) in id order without holding them
  // all (a start over 100M entries); stops at, and returns, fn's first error. fn must not call
  // the store.
  virtual Status ScanBankEntries(const std::function<Status(const BankEntryRecord&)>& fn) = 0;
  // ScanBankEntries gathered into one vector: for small stores (tests, tools).
  Result<std::vector<BankEntryRecord>> ListBankEntries() {
    std::vector<BankEntryRecord> out;
    TD_RETURN_IF_ERROR(ScanBankEntries([&](const BankEntryRecord& e) {
      out.push_back(e);
      return Status::Ok();
    }));
    return out;
  }
  virtual Result<std::vector<BankEntryRecord>> FindBankEntries(const BankEntryQuery& q) = 0;
  // One entry by id (disabled ones too), or none.
  virtual Result<std::optional<BankEntryRecord>> GetBankEntry(int64_t id) = 0;
  // For each of `es`, whether bank `bank_id` holds an entry (enabled or not) with its identity
  // (BankEntryIdentity; the records' other fields are not read). By the bank's identity index:
  // an import into a bank of 100M entries reads only what it asks about.
  virtual Result<std::vector<bool>> HasBankEntries(int64_t bank_id,
                                                   const std::vector<BankEntryRecord>& es) = 0;
};

// The content index: every media item the platform has checked or backfilled.
class ContentStore {
 public:
  virtual ~ContentStore() = default;
  // Inserts or, for a content_id already recorded, returns its existing row id unchanged.
  virtual Result<int64_t> RecordContent(const ContentRecord& c) = 0;
  virtual Result<std::vector<int64_t>> RecordContentBatch(const std::vector<ContentRecord>& c) = 0;
  // RecordContent without a waiting thread (the upload gate on the HTTP front's I/O threads):
  // `done` gets what RecordContent would return, once the record is durable, on the thread that
  // committed it (or on the caller's when the store has nothing to wait for). It must not block
  // or call the store. This default waits in the caller; a backend with a group commit queues.
  virtual void RecordContentAsync(const ContentRecord& c,
                                  std::function<void(Result<int64_t>)> done) {
    done(RecordContent(c));
  }
  virtual Result<std::vector<ContentRecord>> ListContent() = 0;
  // Calls fn for every content record in id order without holding them all (start-up over tens
  // of millions); stops at, and returns, fn's first error. fn must not call the store.
  virtual Status ScanContent(const std::function<Status(const ContentRecord&)>& fn) = 0;
  // The same over the records of some shards only (ContentShardOf(content_id, total) in `shards`,
  // ascending): a replica loading its shards. PostgreSQL filters on the server; this default
  // reads every record and filters here.
  virtual Status ScanContentShards(int total, const std::vector<int>& shards,
                                   const std::function<Status(const ContentRecord&)>& fn) {
    return ScanContent([&](const ContentRecord& c) {
      const int s = ContentShardOf(c.content_id, total);
      for (const int held : shards) {
        if (held == s) return fn(c);
      }
      return Status::Ok();
    });
  }
  virtual Result<int64_t> CountContent() = 0;

  // One content record by row id, by the platform's content id, or by file digest (md5 or sha256,
  // either may be ""); the state a removal or restore moves it to.
  virtual Result<std::optional<ContentRecord>> GetContent(int64_t row) = 0;
  virtual Result<std::optional<ContentRecord>> FindContent(const std::string& content_id) = 0;
  virtual Result<std::vector<ContentRecord>> FindContentByDigest(const std::string& md5,
                                                                 const std::string& sha256) = 0;
  virtual Status SetContentState(int64_t row, const std::string& state) = 0;
};

// The workflow's documents, and the one unit of work that spans documents, content states and
// audit records.
class DocumentStore {
 public:
  virtual ~DocumentStore() = default;
  // PutDocs writes all in one transaction: id 0 inserts (the new id is returned), any other id
  // replaces that document; an insert whose ukey exists changes nothing and returns the existing
  // document's id negated (idempotent inserts).
  virtual Result<std::vector<int64_t>> PutDocs(const std::vector<DocRecord>& docs) = 0;
  virtual Result<std::optional<DocRecord>> GetDoc(int64_t id) = 0;
  // Documents, content states and audit records in one transaction: all of them or none, and one
  // sync. Returns the documents' ids as PutDocs does. A document with expect_state set is
  // replaced only if its stored state is still that one; otherwise nothing of the transaction is
  // written and the result is FailedPrecondition (optimistic concurrency between writers).
  struct Changes {
    std::vector<DocRecord> docs;
    std::vector<std::pair<int64_t, std::string>> content_states;  // content row -> state
    struct Audit {
      std::string actor, kind, payload;
    };
    std::vector<Audit> audits;
    // Conditions: document id -> the state it must still have.
    std::vector<std::pair<int64_t, std::string>> expect_states;
  };
  virtual Result<std::vector<int64_t>> Transact(const Changes& changes) = 0;
  virtual Result<std::vector<DocRecord>> FindDocs(const DocQuery& q) = 0;
  // Calls fn for every document q finds past q.after_id, in id order, reading q.limit a page (so
  // a period of a million documents is never held at once); stops at, and returns, fn's first
  // error. fn may call the store. (by_due is not for paging: it is refused.)
  Status ForEachDoc(DocQuery q, const std::function<Status(const DocRecord&)>& fn) {
    if (q.by_due) return InvalidArgument("ForEachDoc pages by id: by_due cannot be paged");
    for (;;) {
      TD_ASSIGN_OR_RETURN(auto page, FindDocs(q));
      if (page.empty()) return Status::Ok();
      q.after_id = page.back().id;
      for (const auto& d : page) TD_RETURN_IF_ERROR(fn(d));
    }
  }
  // Claims work: up to `limit` documents of `kind` in `state` due at or before now_ms (earliest
  // due first) and moves their due_ms to lease_until_ms, in one transaction. Until then no other
  // claim returns them; a claimer that dies leaves them due again at lease_until_ms (nothing is
  // skipped). Documents another process is claiming at this very moment are passed over, not
  // waited for (PostgreSQL: FOR UPDATE SKIP LOCKED). Returned as stored after the claim, by id.
  virtual Result<std::vector<DocRecord>> ClaimDocs(const std::string& kind,
                                                   const std::string& state, int64_t now_ms,
                                                   int64_t lease_until_ms, int64_t limit) = 0;
  // How many documents of a kind are in a state, and the oldest creation and earliest due time
  // among them (0 when there are none).
  virtual Result<DocCount> CountDocs(const std::string& kind, const std::string& state) = 0;
  // How many documents of a kind in a state are due at or before due_before (indexed).
  virtual Result<int64_t> CountDue(const std::string& kind, const std::string& state,
                                   int64_t due_before) = 0;
  // Deletes the documents of a kind created before created_before (records kept only for a while:
  // the victims' form's rate events and spent challenges); returns how many. Their unique keys
  // are free again.
  virtual Result<int64_t> DeleteDocs(const std::string& kind, int64_t created_before) = 0;

  // Held while one document's change spans several transactions and side effects (a request's
  // decision and sweep, an appeal's outcome): the processes sharing the store take turns on it.
  // Released by its destructor; also freed if the process dies. Null where one process owns
  // the store (SQLite's file lock, the memory store): the caller's own mutex is enough there.
  class DocLock {
   public:
    virtual ~DocLock() = default;
  };
  // Waits until no other process holds the document's lock (PostgreSQL: a session advisory
  // lock; Unavailable after a minute's wait, naming the document). Two ids may share a lock.
  // Ids below 0 name locks no document has (a whole kind's: takedown/context.h lists them). A
  // caller holding one lock takes another only in one fixed order (a victim's case, then its
  // requests), so processes never wait on each other in a circle.
  virtual Result<std::unique_ptr<DocLock>> LockDoc(int64_t id) {
    (void)id;
    return std::unique_ptr<DocLock>();
  }
  // As LockDoc, but never waits: nullopt when another process holds the lock at this moment (a
  // scan passes that document over; its holder moves it on).
  virtual Result<std::optional<std::unique_ptr<DocLock>>> TryLockDoc(int64_t id) {
    (void)id;
    return std::optional<std::unique_ptr<DocLock>>(std::unique_ptr<DocLock>());
  }
};

// Reported media kept for a retention period, encrypted by the domain (the store sees
// ciphertext). One blob per (request, item); expired ones deleted in bulk (returns how many).
class EvidenceStore {
 public:
  virtual ~EvidenceStore() = default;
  virtual Status PutEvidence(const EvidenceBlob& e) = 0;
  virtual Result<std::optional<EvidenceBlob>> GetEvidence(int64_t request_id, int item) = 0;
  virtual Result<int64_t> DeleteExpiredEvidence(int64_t now_ms) = 0;
  // Keeps a stored blob at least until until_ms: its expiry is never moved earlier, and a blob
  // not stored (never kept, or deleted) stays absent. Returns whether the blob is stored.
  virtual Result<bool> ExtendEvidence(int64_t request_id, int item, int64_t until_ms) = 0;
  // Deletes a request's media (staged for hashing and not kept): returns how many items went.
  virtual Result<int64_t> DeleteEvidence(int64_t request_id) = 0;
};

// The tamper-evident audit chain.
class AuditLog {
 public:
  virtual ~AuditLog() = default;
  // Appends to the hash chain (assigns seq, prev_hash, hash) in a transaction of its own:
  // callers record a state change, then its audit record (or both through Transact).
  virtual Result<AuditRecord> AppendAudit(const std::string& actor, const std::string& kind,
                                          const std::string& payload) = 0;
  virtual Result<std::vector<AuditRecord>> ReadAudit(int64_t from_seq, int64_t limit) = 0;
};

// One change to what every process keeps in memory (banks, their entries, the content index) or
// must be told of (blocks at the upload gate), as the change log (ChangeFeed) returns it, with the
// record it names as it was when read.
struct ChangeRecord {
  int64_t seq = 0;   // the log's order (commit order is not seq order; ReadChanges handles that)
  std::string kind;  // bank | entry | entry_state | content | block
  int64_t ref = 0;   // the bank, bank entry, content row or gate_block document
  bool own = false;  // written through this store object (this process already applied it)
  // The named record, read in the same snapshot; absent for own bank, entry and content changes
  // (not needed) and for a record that is gone.
  std::optional<BankRecord> bank;
  std::optional<BankEntryRecord> entry;
  std::optional<ContentRecord> content;
  std::optional<DocRecord> doc;
};

// The change log of a store several processes share (PostgreSQL): every change to banks, bank
// entries and the content index, and every block at the upload gate, with a sequence number,
// written by the store in the change's own transaction. Each process reads what the others
// changed since it last read, and is woken (LISTEN/NOTIFY) when a bank changes. Used by one
// reader (the service's follower) at a time.
class ChangeFeed {
 public:
  virtual ~ChangeFeed() = default;
  // Starts here: ReadChanges returns every change committed after this call. Call it before
  // loading what the store holds; a change committed while loading comes back again (apply
  // changes idempotently).
  virtual Status StartFeed() = 0;
  // Which records this reader needs (set before StartFeed; by default every one). Changes outside
  // it still come, in order and counted in pages, without their record (the reader passes over
  // them): a holder of some content shards reads the content rows of those shards only, and one
  // without the bank (store.role shard) no entry.
  struct Interest {
    bool entries = true;
    int shards_total = 1;     // above 1: content rows of `shards` only (ContentShardOf)
    std::vector<int> shards;  // ascending
  };
  virtual void SetInterest(const Interest& interest) = 0;
  // Every change committed since the last call (or StartFeed) and not returned before, by seq;
  // none is skipped, whatever order their transactions committed in. At most max a call, so a
  // reader that fell far behind holds one page at a time: a call that returns max changes may
  // have left more (call again); fewer than max means it has read up to the call.
  virtual Result<std::vector<ChangeRecord>> ReadChanges(size_t max) = 0;
  // What the service reads a call: ~30 MB of changes with their records at most.
  static constexpr size_t kChangesPerRead = 20'000;
  // Returns when a bank change was committed (a wake-up only: read with ReadChanges), or after
  // timeout.
  virtual void WaitForChanges(std::chrono::milliseconds timeout) = 0;
  // Deletes changes committed more than max_age_ms ago; returns how many. A reader that has not
  // read for that long must load the store anew (Service does).
  virtual Result<int64_t> PruneChanges(int64_t max_age_ms) = 0;
};

// All of them: what a backend implements and what the process wiring holds.
class Store : public KeyStore,
              public BankStore,
              public ContentStore,
              public DocumentStore,
              public EvidenceStore,
              public AuditLog {
 public:
  ~Store() override = default;
  // Writes waiting for (or in) the current commit: the queue depth /metrics reports.
  virtual int64_t WriteQueueDepth() const = 0;
  // The change log, for a store that several processes share (PostgreSQL); null for one that a
  // single process owns (SQLite, memory).
  virtual ChangeFeed* changes() { return nullptr; }
};

// The chain hash of a record: SHA-256 hex of prev_hash, seq, time, actor, kind and payload,
// each length-prefixed so that no two records can hash alike by shifting text between fields.
std::string AuditHash(const AuditRecord& r);

// Walks the chain from the first record: each record's prev_hash must be the hash of the one
// before, its seq one more, and its hash AuditHash of its fields. Returns the number of records,
// or DataLoss naming the first record that was altered, removed or inserted.
Result<int64_t> VerifyAuditChain(AuditLog& log);

// A store in memory (nothing durable): for tests of the domain, and the second implementation
// the store's contract tests run against.
std::unique_ptr<Store> OpenMemoryStore(Env* env = nullptr);

// Opens (creating and migrating as needed) the SQLite store at path, in WAL mode with
// synchronous=FULL. Times (created_ms, audit times) come from env (Env::Default() when null).
// With create = false, a path that does not exist is NotFound instead of a new, empty store.
Result<std::unique_ptr<Store>> OpenSqliteStore(const std::string& path, Env* env = nullptr,
                                               bool create = true);

// Opens the PostgreSQL store at url (a libpq connection string or postgresql:// URL), applying
// the schema migrations it lacks under an advisory lock; a database whose schema is newer than
// this build is Unsupported. Several processes may open one database at once (replicas).
Result<std::unique_ptr<Store>> OpenPostgresStore(const std::string& url, Env* env = nullptr);

// The workflow's lease on a PostgreSQL database: one `takedown serve` at a time runs the workflow
// (reviews, sweeps, deliveries, the email line) on a database, as one serves a SQLite file. The
// lease is a row in the database (table leases) with its holder and an end time by the database's
// clock, taken when free or lapsed and renewed well before it ends. Unlike a session lock it
// outlives a restart of PostgreSQL; and a holder that could not renew it in time (the database
// unreachable, the process stalled) is told to stop before it can lapse, so two processes never
// run the workflow at once. Other `store.role all` processes wait as standbys (serving the upload
// gate) and the first to find it lapsed takes over; gate replicas take no lease.
class WorkflowLease {
 public:
  virtual ~WorkflowLease() = default;  // stops renewing; gives the lease up if held
  // Takes the lease if it is free, lapsed or already this object's: OK. FailedPrecondition
  // naming the holder and how long its lease has left while another process holds it.
  virtual Status TryAcquire() = 0;
  // Renews the held lease on a thread of its own (every quarter of its length). on_lost(why) is
  // called once, from that thread, when the lease could not be renewed before a margin ahead of
  // its end, or was found taken: the caller must stop running the workflow at once.
  virtual void KeepRenewing(std::function<void(const std::string& why)> on_lost) = 0;
  // This holder's name: "takedown serve pid P on H".
  virtual const std::string& holder() const = 0;
};
// Opens a connection to url for the lease (ttl_ms long, at least 2 s); takes nothing yet.
Result<std::unique_ptr<WorkflowLease>> OpenWorkflowLease(const std::string& url, int64_t ttl_ms);

// Wake-ups between the processes of one PostgreSQL database (LISTEN/NOTIFY): a nudge, never a
// message; the woken reads the store as it would on a timer, so a notice lost (a dropped
// connection) costs only the caller's fallback interval. Channels are announced by triggers in
// the writing transaction (on commit): kShardQueryChannel when a content_shard_query document is
// inserted, kShardAnswerChannel for a content_shard_answer.
inline constexpr std::string_view kShardQueryChannel = "takedown_shard_queries";
inline constexpr std::string_view kShardAnswerChannel = "takedown_shard_answers";
class NoticeWaiter {
 public:
  virtual ~NoticeWaiter() = default;
  // Waits up to `timeout` for a notice on one of its channels and returns the channels that had
  // one (empty when the time passed). Every channel after (re)connecting: what came while it was
  // not listening is unknown. One thread at a time.
  virtual std::vector<std::string> Wait(std::chrono::milliseconds timeout) = 0;
};
// Listens on `channels` over a connection of its own (made on the first Wait, and again after a
// broken one).
Result<std::unique_ptr<NoticeWaiter>> OpenNoticeWaiter(const std::string& url,
                                                       std::vector<std::string> channels);

// A PostgreSQL connection string as logs may show it: "PostgreSQL database D on H:P as U", never
// its password or other options.
std::string DescribePostgresUrl(const std::string& url);

// A consistent copy of the SQLite database at `from` as a new file `to`, by SQLite's online
// backup in one read transaction: the service may go on writing, and the copy is the store as it
// was at one moment (its WAL included). Written to `to`.partial, checked (PRAGMA quick_check),
// synced and renamed, so `to` is whole or absent. Returns the copy's size in bytes.
Result<int64_t> CopySqliteDatabase(const std::string& from, const std::string& to);

}  // namespace takedown::store
