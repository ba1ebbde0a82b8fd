// The takedown domain: API keys and roles, banks of known-bad hashes, the upload gate, the
// content index, and the audit chain. Knows nothing of HTTP or SQL: it talks to a store::Store
// and keeps the live indexes (bank entries by PDQ and by exact digest, content by PDQ) in memory,
// rebuilt from the store at start-up.
//
// Every state change is written to the store (durably) and then to the audit chain before the
// call returns; a bank change is live in the index before it returns. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/env.h"
#include "core/mutex.h"
#include "core/status.h"
#include "hash/hash256.h"
#include "index/hash_index.h"
#include "match/video_match.h"
#include "media/preview.h"
#include "store/store.h"
#include "takedown/roles.h"
#include "takedown/shard_set.h"

namespace takedown::match {
struct FileSignals;
}  // namespace takedown::match

namespace takedown::service {

struct Principal {
  int64_t key_id = 0;
  Role role = Role::kPlatform;
  std::string name;
  std::string actor() const { return "key:" + std::to_string(key_id); }
};

// An image's robust signals (match/signals.h): the whole picture normalised ("norm") and its
// content box ("box"), and for bank entries and evidence the variants a copy may have been cut,
// turned or flipped to. They find copies with borders, letterboxes, caption bars, crops, small
// rotations and screenshots, which plain PDQ misses. Computed only from media bytes.
struct RobustImage {
  std::optional<hash::PdqHash> norm, box;
  std::vector<hash::PdqHash> variants;
  // An upload's frame layers (match::FrameBoxes): a screenshot's picture inside its bubble.
  std::vector<hash::PdqHash> layers;
  // An upload's 8 dihedral plain PDQs, and those of its norm and box: hash-only bank entries (a
  // hash list's PDQ, no picture to make variants from) find turned and mirrored copies through
  // them.
  std::optional<hash::DihedralHashes> dihedral, norm_dihedral, box_dihedral;
};

// Signals a platform or a requester may send instead of media.
struct Signals {
  std::optional<hash::Hash256> pdq;
  int quality = 100;
  std::string md5, sha256;  // lowercase hex, or ""
  // A video's frame signals (vPDQ frames with the robust per-frame signals of match/video_match):
  // sampled densely for bank entries and evidence, once a second for uploads.
  std::shared_ptr<const match::VideoItem> video;
  std::shared_ptr<const RobustImage> robust;
};

nlohmann::json RobustToJson(const RobustImage& r);
Result<std::shared_ptr<const RobustImage>> RobustFromJson(const nlohmann::json& j);
// A hashed picture's robust signals as the service keeps them: norm, box and the bank-side
// variants (at most intake::kMaxRobustVariants); an upload's also its layers (kMaxLayers) and
// its dihedral hashes.
std::shared_ptr<const RobustImage> RobustOfFile(const match::FileSignals& f, bool upload);

// A video's signals as JSON (stored with content and bank entries) and back.
nlohmann::json VideoToJson(const match::VideoItem& v);
Result<std::shared_ptr<const match::VideoItem>> VideoFromJson(const nlohmann::json& j);

// A hash list's video line (`takedown hash --format jsonl [--bank]`, an export): one with "vpdq"
// frames or "type": "video".
bool IsVideoLine(const nlohmann::json& line);
// Its signals, checked as input from outside: "video" (the frames' robust signals, as `--bank`
// writes them and the store keeps them: matched as a media entry's are) or else "vpdq" (plain
// frame PDQs); every hash and quality checked, times and duration within a week, at most
// kMaxListVideoFrames frames. Errors name the field.
inline constexpr size_t kMaxListVideoFrames = 500'000;  // a day at 5 fps, 4.6 hours at 30
Result<std::shared_ptr<const match::VideoItem>> VideoFromListLine(const nlohmann::json& line);

inline constexpr size_t kMaxLayers = 16;  // an upload's frame layers kept

// The signals of media bytes, hashed in this process: an image's PDQ, digests and robust signals
// (bank side: with the variants), or a video's frames (bank side: sampled densely), decoded from
// memory. video_threads: FFmpeg's decoder threads (0: its choice; a sandboxed worker uses 1).
// What the service runs when it has no sandbox, and what a sandbox worker runs.
Result<Signals> HashMediaInProcess(std::span<const uint8_t> media, bool bank_side,
                                   int video_threads = 0);
// Signals as JSON and back (a sandbox worker's answer); what comes back is checked whole.
nlohmann::json SignalsToJson(const Signals& s);
Result<Signals> SignalsFromJson(const nlohmann::json& j);

struct BankSpec {
  std::string name;
  std::string category;
  int pdq_threshold = 31;
  std::string action = "block";  // block | sweep | review
};

struct EntrySpec {
  Signals signals;             // used when media is empty
  std::vector<uint8_t> media;  // hashed, then dropped
  std::string source;
  std::string request_id;
};

struct CheckRequest {
  std::string content_id, chat_id, uploader_id;
  Signals signals;
  std::vector<uint8_t> media;
};

struct CheckMatch {
  int64_t entry_id;
  std::string bank;
  std::string signal;  // "sha256", "md5", "pdq", "vpdq", "norm", "box" or "layer"
  int distance;
};

// A possible copy the gate does not act on, for the platform's own review: "edge_clip", the first
// or last seconds of a bank video (under video.edge_clip_seconds) at the same edge of the upload.
// A channel's intro or a platform's end card shared by unrelated videos looks exactly like that,
// so it is not a match; but so does the reported video's own opening at the start of a
// compilation.
struct ReviewHint {
  int64_t entry_id;
  std::string bank;
  std::string reason;                                     // "edge_clip"
  double seconds = 0;                                     // how long the shared stretch is
  double upload_from = 0, upload_to = 0, entry_from = 0;  // where it is in each video
  int distance = 0;
};

struct CheckResult {
  bool block = false;
  std::vector<CheckMatch> matches;
  std::vector<ReviewHint> review;  // never decides the block
  int64_t content_row = 0;         // the content index's id for this upload
  bool already_recorded = false;
  int64_t block_id = 0;  // blocked: the gate_block document (its statement of reasons)
};

// A block at the upload gate is kept as a document of this kind (one per content item, unique key
// "block:<content row>"), written in the transaction of its audit record: the DSA statement of
// reasons of an own-initiative, automated decision is made from it (statements.h). Its JSON:
// content_id, chat_id, uploader_id, media ("image" | "video"), blocked_ms, request_id (of the
// first match's entry, or 0) and matches [{entry_id, bank, category, signal, distance}].
inline constexpr std::string_view kGateBlockDoc = "gate_block";
// The store's lock (DocumentStore::LockDoc) held by an import of entries, in every process that
// imports (the workflow's whole-kind locks are listed in context.h).
inline constexpr int64_t kImportLock = -6;
std::string GateBlockKey(int64_t content_row);

struct ServiceStats {
  uint64_t bank_entries = 0;
  uint64_t content_items = 0;  // in this process's content shards (all of them by default)
  uint64_t checks = 0;
  uint64_t blocked = 0;
  uint64_t review = 0;  // allowed or blocked uploads with a ReviewHint
};

class Service {
 public:
  // env: the randomness of new keys and the temporary storage of videos being hashed
  // (Env::Default() when null).
  // With a store several processes share (store::Store::changes: PostgreSQL), the service also
  // follows the others (CatchUp). shards: the content index's shards this process holds in
  // memory (shard_set.h; all by default). bank: whether it holds the bank indexes (whole) too;
  // without them (a content-shard holder, `store.role shard`) it answers sweeps over its shards
  // and refuses the upload gate and entry changes (Unavailable), and loads and follows no entry.
  static Result<std::unique_ptr<Service>> Create(store::Store* store, Env* env = nullptr,
                                                 ShardSet shards = {}, bool bank = true);
  // Whether this process holds the bank indexes (Create's `bank`).
  bool HoldsBank() const { return bank_; }
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Replicas. With a store's change log (store::ChangeFeed), what other processes change (banks,
  // entries added, disabled or enabled, content recorded, uploads blocked) reaches this one's
  // indexes through a follower thread: woken at once by bank changes (LISTEN/NOTIFY), and
  // polling every kFollowPoll for the rest. CatchUp applies everything committed until now: a
  // sweep calls it first, so copies another replica recorded before the sweep began are found.
  // A follower that could not read the log for longer than half of kChangeRetentionMs (the
  // oldest changes are pruned after that) loads the whole store anew, idempotently. Without a
  // change log (SQLite, memory): nothing to follow, CatchUp does nothing.
  static constexpr std::chrono::milliseconds kFollowPoll{250};
  static constexpr int64_t kChangeRetentionMs = 3'600'000;
  Status CatchUp() TD_EXCLUDES(follow_mu_, mu_);
  struct FollowStats {
    bool following = false;
    uint64_t applied = 0;  // changes from other processes applied
    uint64_t resyncs = 0;  // whole-store loads after falling too far behind
    uint64_t errors = 0;   // failed reads of the log (retried)
    int64_t lag_ms = 0;    // since the last successful read
  };
  FollowStats Following() const;

  // Keys. The key is returned once; only its hash is stored.
  Result<std::pair<int64_t, std::string>> CreateKey(Role role, const std::string& name,
                                                    const std::string& actor);
  Status RevokeKey(int64_t id, const std::string& actor);
  // Unauthenticated (PermissionDenied) for unknown or revoked keys.
  Result<Principal> Authenticate(const std::string& key);
  // The same by the key's hash (KeyHash): a console session keeps the hash, never the key.
  Result<Principal> AuthenticateHash(const std::string& key_hash);
  // A key's record (never the key itself), revoked ones included; none for an unknown id.
  Result<std::optional<store::KeyRecord>> GetKey(int64_t id) { return store_->GetKey(id); }
  // Every key's record (hashes only), revoked ones included.
  Result<std::vector<store::KeyRecord>> ListKeys() { return store_->ListKeys(); }

  Result<store::BankRecord> CreateBank(const BankSpec& spec, const std::string& actor);
  Result<std::vector<store::BankRecord>> ListBanks();
  Result<store::BankEntryRecord> AddEntry(const std::string& bank, const EntrySpec& spec,
                                          const std::string& actor);
  Status SetEntryEnabled(int64_t entry_id, bool enabled, const std::string& actor);
  // Bulk import of signals (a hash list from another exchange): written in transactions of up to
  // kImportChunk entries, each live and audited (one record a chunk, with the entry id range)
  // before the next. An entry whose signals (pdq, md5, sha256; a frames-only video's frames) are
  // already in the bank, enabled or not, or earlier in the same list, is counted as existing and
  // not stored again: asked of the store by identity (store::BankEntryIdentity), so the import
  // reads only what it sends. Imports into one service run one at a time, so two at once cannot
  // store the same entry twice (two replicas importing one list at the same moment can).
  static constexpr size_t kImportChunk = 10000;
  struct ImportResult {
    std::vector<int64_t> ids;  // the new entries, in list order
    size_t existing = 0;
  };
  Result<ImportResult> ImportEntries(const std::string& bank, const std::vector<Signals>& signals,
                                     const std::string& source, const std::string& request_id,
                                     const std::string& actor);
  // One bank entry (disabled ones too), or none.
  Result<std::optional<store::BankEntryRecord>> GetEntry(int64_t id) {
    return store_->GetBankEntry(id);
  }
  // A bank's entries, oldest first.
  Result<std::vector<store::BankEntryRecord>> ExportEntries(const std::string& bank);
  // A page of a bank's entries (store::BankEntryQuery; bank_id is looked up from `bank`).
  Result<std::vector<store::BankEntryRecord>> FindEntries(const std::string& bank,
                                                          store::BankEntryQuery q);
  // Each bank's entries by state (bank id -> enabled, disabled), from the live index.
  std::map<int64_t, std::pair<int64_t, int64_t>> EntryCounts() const TD_EXCLUDES(mu_);

  // The upload gate: block or allow, with the matching entries; the upload is recorded in the
  // content index either way (a content_id seen before keeps its first record).
  Result<CheckResult> Check(const CheckRequest& req, const std::string& actor);
  // Check in steps, for a caller that must not wait for the store (the HTTP front's I/O threads):
  // PrepareCheck matches (and hashes media, when sent); an upload it allows is recorded by
  // RecordAllowed without waiting, and one it blocks by FinishCheck, which waits (its block is
  // a document and an audit record). Check() is PrepareCheck then FinishCheck.
  struct PreparedCheck {
    std::string content_id, chat_id, uploader_id;
    Signals signals;
    CheckResult result;  // matches and block so far
  };
  Result<PreparedCheck> PrepareCheck(const CheckRequest& req);
  Result<CheckResult> FinishCheck(PreparedCheck p, const std::string& actor);
  // p.result.block must be false. done gets Check's result once the upload is durably recorded
  // (and in the content indexes), on the thread that committed it: it must not block.
  void RecordAllowed(PreparedCheck p, std::function<void(Result<CheckResult>)> done);
  // Adds more to the transaction that records a block (the workflow queues the block's statement
  // for the DSA Transparency Database with it). May be set while the gate serves (a standby
  // taking over the workflow).
  using BlockHook = std::function<void(int64_t content_row, store::DocumentStore::Changes*)>;
  void SetBlockHook(BlockHook hook) TD_EXCLUDES(hooks_mu_) {
    WriterLock l(&hooks_mu_);
    block_hook_ = std::move(hook);
  }
  // Told of each new block once it is stored (the workflow counts the uploader's strikes); a
  // content item blocked before is not told again. May be set while the gate serves.
  struct Blocked {
    int64_t block_id = 0, content_row = 0, request_id = 0, blocked_ms = 0;
    std::string content_id, chat_id, uploader_id, category, media;
  };
  // A gate_block document (kGateBlockDoc) as the hook is told of it; none for one unreadable.
  static std::optional<Blocked> BlockedOf(const store::DocRecord& d);
  using BlockedHook = std::function<void(const Blocked&)>;
  void SetBlockedHook(BlockedHook hook) TD_EXCLUDES(hooks_mu_) {
    WriterLock l(&hooks_mu_);
    blocked_hook_ = std::move(hook);
  }
  // Who hashes media from outside (uploads, evidence, bank entries from media): a sandbox's
  // workers (takedown/sandbox.h) in `takedown serve`; unset, this process. Set before serving.
  using MediaHasher =
      std::function<Result<Signals>(std::span<const uint8_t> media, bool bank_side)>;
  void SetMediaHasher(MediaHasher hasher) { media_hasher_ = std::move(hasher); }
  // When a video copies a bank video (config [video]; match/video_match.h): the bank videos'
  // matcher is rebuilt with it, and sweeps over recorded videos use it.
  void SetVideoRule(const match::VideoMatchOptions& rule) TD_EXCLUDES(mu_);
  // Who makes reviewers' previews of evidence media (a picture, a video's keyframe): the same
  // sandboxed workers in `takedown serve`; unset, this process. Set before serving.
  using MediaPreviewer = std::function<Result<std::vector<uint8_t>>(
      std::span<const uint8_t> media, const media::PreviewRequest& r)>;
  void SetMediaPreviewer(MediaPreviewer previewer) { media_previewer_ = std::move(previewer); }
  // A preview of media bytes (a JPEG) as `r` asks, by the previewer when one is set.
  Result<std::vector<uint8_t>> PreviewMedia(std::span<const uint8_t> media,
                                            const media::PreviewRequest& r) const;
  // Backfill: records existing content (signals only) in bulk; returns how many were new.
  Result<int64_t> Backfill(const std::vector<CheckRequest>& items, const std::string& actor);

  // Signals of media bytes (PDQ, MD5, SHA-256; a video's frames sampled densely, as for a bank
  // entry); the bytes are not kept.
  Result<Signals> HashMedia(const std::vector<uint8_t>& media) {
    return SignalsOf({}, media, true);
  }
  // Recorded videos of the content index that copy `reported` (the vPDQ rule: 80% of either
  // video's frames matched), with the best frame distance. Scans every recorded video.
  std::vector<std::pair<int64_t, int>> QueryContentVideos(const match::VideoItem& reported) const;
  // Recorded images whose norm or box signal is within r of one of `reported`'s variants (or its
  // own norm/box): (row, signal, distance), best per row.
  std::vector<std::tuple<int64_t, std::string, int>> QueryContentRobust(const RobustImage& reported,
                                                                        int r) const;
  // Content rows whose PDQ is within r of h (the sweep).
  std::vector<index::Match> QueryContentPdq(const hash::Hash256& h, int r) const {
    return content_pdq_->Query(h, r);
  }
  // What a sweep finds of reported signals in this process's content index (the shards it
  // holds): its PDQ (quality at least min_quality) within threshold, its video by the video
  // rule, its robust signals (or, for a plain PDQ, the recorded uploads' boxes and frame layers).
  // One hit per row, the best signal by distance. Exact digests are not here: they are looked
  // up in the store, which holds every shard.
  struct ContentHit {
    int64_t row = 0;
    std::string signal;
    int distance = 0;
  };
  std::vector<ContentHit> MatchContent(const Signals& s, int threshold, int min_quality) const;
  // The content shards this process holds.
  const ShardSet& shards() const { return shards_; }

  ServiceStats Stats() const;

 private:
  struct EntryMeta {
    int64_t bank_id;
    bool enabled;
    int64_t request_id = 0;  // the removal request the entry came from, or 0
    // Only a PDQ is known (a hash list's entry, hashes sent instead of media): matched by what
    // the upload can undo by itself (its dihedral PDQs, its norm, box and layers).
    bool hash_only = false;
  };
  Service(store::Store* store, Env* env, ShardSet shards, bool bank);
  // Unavailable where this process holds no bank (the upload gate, entry changes).
  Status NeedsBank() const;
  // A bank's id by its name, from the store when another process made it and this one has not read
  // that change yet; NotFound when the store has none.
  Result<int64_t> BankIdOf(const std::string& name) TD_EXCLUDES(mu_);
  // Adds the banks this process does not know yet (by id) to its maps.
  void LearnBanks(std::vector<store::BankRecord> banks) TD_REQUIRES(mu_);
  Status Load();
  // The follower (Follow, CatchUp): a read of the change log and what it applies, one at a time.
  void Follow() TD_EXCLUDES(follow_mu_, mu_);
  Status ReadAndApply(std::vector<Blocked>* blocks) TD_REQUIRES(follow_mu_) TD_EXCLUDES(mu_);
  Status Apply(const std::vector<store::ChangeRecord>& changes, std::vector<Blocked>* blocks)
      TD_REQUIRES(follow_mu_) TD_EXCLUDES(mu_);
  Status Resync() TD_REQUIRES(follow_mu_) TD_EXCLUDES(mu_);
  // Puts one bank entry or content record in the indexes, unless it is there already. from_feed:
  // another process's record, whose enabled state wins over what this process holds.
  Status IndexEntry(const store::BankEntryRecord& e, bool from_feed) TD_EXCLUDES(mu_);
  Status IndexContent(const store::ContentRecord& c) TD_EXCLUDES(mu_);
  // bank_side: a video is sampled densely (bank entries, evidence); else once a second (uploads).
  Result<Signals> SignalsOf(const Signals& given, const std::vector<uint8_t>& media,
                            bool bank_side = false);
  void RebuildBankVideos() TD_REQUIRES(mu_);
  // `review`, when given, gets the possible copies that are not matches (ReviewHint).
  std::vector<CheckMatch> FindMatches(const Signals& s,
                                      std::vector<ReviewHint>* review = nullptr) const;
  // What Check records of an upload; then, once recorded at `row` (negative: before), puts it in
  // the content indexes.
  static store::ContentRecord ContentOf(const PreparedCheck& p);
  void IndexChecked(const PreparedCheck& p, int64_t row, CheckResult* r) TD_EXCLUDES(mu_);

  store::Store* store_;
  Env* env_;
  const ShardSet shards_;
  const bool bank_;  // holds the bank indexes
  // The hooks run with hooks_mu_ held for reading: calls run side by side (a hook that waits,
  // say for the store's lock on the strike counts, holds up no other caller), and setting one
  // (the writer) waits for the calls in progress, so what a hook uses may go once it is unset.
  SharedMutex hooks_mu_;
  BlockHook block_hook_ TD_GUARDED_BY(hooks_mu_);
  BlockedHook blocked_hook_ TD_GUARDED_BY(hooks_mu_);
  void CallBlockHook(int64_t content_row, store::DocumentStore::Changes* ch)
      TD_EXCLUDES(hooks_mu_) {
    ReaderLock l(&hooks_mu_);
    if (block_hook_) block_hook_(content_row, ch);
  }
  void CallBlockedHook(const std::vector<Blocked>& blocks) TD_EXCLUDES(hooks_mu_) {
    ReaderLock l(&hooks_mu_);
    if (blocked_hook_) {
      for (const Blocked& b : blocks) blocked_hook_(b);
    }
  }
  bool HasBlockedHook() TD_EXCLUDES(hooks_mu_) {
    ReaderLock l(&hooks_mu_);
    return static_cast<bool>(blocked_hook_);
  }
  MediaHasher media_hasher_;
  MediaPreviewer media_previewer_;
  std::unique_ptr<index::HashIndex> bank_pdq_;                    // id: bank entry id
  std::unique_ptr<index::HashIndex> content_pdq_;                 // id: content row id
  std::unique_ptr<index::HashIndex> content_norm_, content_box_;  // id: content row id
  std::unique_ptr<index::HashIndex> content_layer_;  // id: content row id << 4 | layer (< 16)
  std::unique_ptr<index::HashIndex> bank_whole_;     // id: entry id << 7 | variant number
  mutable SharedMutex mu_;
  Mutex import_mu_;  // one import at a time (its duplicate check reads what is stored)
  std::unordered_map<int64_t, store::BankRecord> banks_ TD_GUARDED_BY(mu_);
  std::unordered_map<std::string, int64_t> bank_by_name_ TD_GUARDED_BY(mu_);
  std::unordered_map<int64_t, EntryMeta> entries_ TD_GUARDED_BY(mu_);
  std::unordered_multimap<std::string, int64_t> exact_ TD_GUARDED_BY(mu_);  // digest -> entry
  // Video bank entries and the matcher over them (rebuilt when one is added); recorded videos.
  std::vector<std::pair<int64_t, std::shared_ptr<const match::VideoItem>>> bank_videos_
      TD_GUARDED_BY(mu_);
  std::shared_ptr<const match::VideoMatcher> bank_video_matcher_ TD_GUARDED_BY(mu_);
  match::VideoMatchOptions video_rule_ TD_GUARDED_BY(mu_);  // PDQ.md: 31 bits a frame, 80%
  std::vector<std::pair<int64_t, std::shared_ptr<const match::VideoItem>>> content_videos_
      TD_GUARDED_BY(mu_);
  struct CachedKey {
    Principal principal;
    std::chrono::steady_clock::time_point checked;
  };
  // Keys are looked up again after kKeyCacheTtl: a key revoked by another process (the CLI beside
  // a running server) is refused within that time; one revoked through this Service at once.
  static constexpr std::chrono::seconds kKeyCacheTtl{10};
  std::unordered_map<std::string, CachedKey> key_cache_
      TD_GUARDED_BY(mu_);  // key hash -> principal
  std::atomic<uint64_t> checks_{0}, blocked_{0}, content_{0}, review_{0};
  // Recorded videos' rows (content_videos_ holds each once).
  std::unordered_set<int64_t> content_video_rows_ TD_GUARDED_BY(mu_);

  store::ChangeFeed* feed_ = nullptr;  // null: nothing to follow
  // Held by the follower across a read of the change log and its application, and by this
  // process's bank-entry state changes across their store write and index update: a state read
  // from the log never overwrites a newer one written here. Taken before mu_.
  Mutex follow_mu_;
  std::thread follower_;
  std::atomic<bool> stop_following_{false};
  std::atomic<uint64_t> applied_{0}, resyncs_{0}, follow_errors_{0};
  std::atomic<int64_t> last_read_{0};  // steady clock, ms: the last successful read of the log
};

// A new API key: "td_" and 43 base64url characters (32 random bytes from env).
std::string NewApiKey(Env* env);
std::string KeyHash(const std::string& key);

}  // namespace takedown::service
