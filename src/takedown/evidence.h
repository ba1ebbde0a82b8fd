// A request's evidence: the items intake validated, made into EvidenceItems with their signals
// (media hashed and its bytes dropped, locations resolved through the content index), media kept
// encrypted for reviewers when retention is on, shown blurred by default, and deleted when its
// period ends. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string_view>
#include <vector>

#include "core/mutex.h"
#include "intake/notice.h"
#include "store/event_window.h"
#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

using MediaByItem = std::map<size_t, std::vector<uint8_t>>;

// An item whose staged media was not there to hash: the service stopped between storing the
// request and staging its media. The same submission again (its idempotency key: a retried API
// call, an email taken again) brings the media back (Requests::Submit).
inline constexpr std::string_view kMediaLostProblem =
    "the media was lost before it was hashed (the service stopped while accepting it): send it "
    "again";

class Evidence {
 public:
  explicit Evidence(WorkflowContext* ctx);
  // Whether key (32 bytes) opens a stored blob: it is the key the blob was sealed with.
  static bool OpensWith(const std::string& key, const store::EvidenceBlob& blob);

  struct Built {
    std::vector<EvidenceItem> items;
    intake::Problems problems;  // media that cannot be hashed (unless lenient)
  };
  // Hashes media (the bytes are not kept here), resolves locations, and stores the large signals
  // of videos and images as "signals" documents the items refer to. lenient_media: media that
  // cannot be decoded becomes an unusable item with its problem instead of a problem of the
  // request (email: one bad attachment must not lose the others).
  // defer_media: media is not hashed here: its items get hashing=true (and usable=false) and the
  // caller stages the bytes (Seal) to be hashed by HashStaged once the request is stored.
  Result<Built> Build(const std::vector<intake::EvidenceClaim>& claims, const MediaByItem& media,
                      bool lenient_media, bool defer_media = false);
  // Hashes a stored request's staged media items (hashing=true) into their signals, in item
  // order, within budget_ms of hashing (the first item is always hashed; items left when the
  // budget is spent, media that cannot be decoded and media that was lost are unusable with their
  // problem). The caller commits the request and then calls Unstage.
  struct Hashed {
    int hashed = 0, failed = 0, over_budget = 0;
    int64_t ms = 0;
    // Each file that could not be hashed: its item and why (a sandboxed decoder's crash or limit
    // among them), for the audit record.
    std::vector<std::pair<int64_t, std::string>> problems;
  };
  Result<Hashed> HashStaged(Request& r, int64_t budget_ms);
  // Deletes a request's staged media unless it is kept for reviewers.
  Status Unstage(int64_t request_id);
  // Whether media is kept for reviewers (retention on, with a key).
  bool retains() const { return retention_s_ > 0; }
  int64_t retention_s() const { return retention_s_; }
  // Whether media can be staged for hashing after the request is stored (a key is configured).
  bool stages() const;
  // Keeps a request's media encrypted at rest (XSalsa20-Poly1305, a random nonce each) until
  // expires_ms.
  Status Seal(int64_t request_id, const MediaByItem& media, int64_t expires_ms);
  // A reviewer's look at an item: a blurred greyscale JPEG, or with reveal the clear picture,
  // which needs a stated reason and counts against the reviewer's budget of
  // options.reveals_per_hour (over it: ResourceExhausted, nothing shown). Audited with the reason.
  struct Look {
    std::vector<uint8_t> jpeg;
    int reveals_left = -1;  // a reveal: what remains of the budget in this hour
  };
  // A video item is looked at one keyframe at a time (frame 0..kPreviewKeyframes-1, spread over
  // its length; each reveal counts one); it is never played.
  static constexpr int kPreviewKeyframes = 6;
  Result<Look> Preview(const Principal& who, int64_t request_id, int item, bool reveal,
                       const std::string& reason = "", int frame = 0);
  // Deletes what has outlived its retention; returns how many items went (audited).
  Result<int64_t> PurgeExpired();
  // The signals of an item for the sweep (a video's frames and an image's robust signals are
  // read from their documents).
  Result<Signals> SignalsOf(const EvidenceItem& e);

 private:
  void ApplyMedia(EvidenceItem& item, const Result<Signals>& sig,
                  std::vector<std::pair<size_t, nlohmann::json>>* signal_docs);
  Status StoreSignalDocs(std::vector<EvidenceItem>& items,
                         const std::vector<std::pair<size_t, nlohmann::json>>& signal_docs);
  // A staged or kept item's media, decrypted (NotFound when there is none).
  Result<std::vector<uint8_t>> Open(int64_t request_id, int item);

  // Takes one reveal from who's budget at now (false: spent); *left gets what remains.
  Result<bool> TakeReveal(int64_t key_id, int64_t now, int* left) TD_EXCLUDES(reveal_mu_);

  WorkflowContext* ctx_;
  int64_t retention_s_ = 0;
  bool key_ = false;
  // Each reveal is a document in the store (kRevealDoc, owned by the reviewer's key id), so the
  // budget holds across a restart and across the processes sharing a store; those older than an
  // hour are deleted, at most once a minute. reveal_mu_ makes a count and its take one step.
  Mutex reveal_mu_;
  store::EventWindow reveals_;
};

}  // namespace takedown::service
