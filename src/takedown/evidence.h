// A request's evidence: the items intake validated, made into EvidenceItems with their signals
// (media hashed and its bytes dropped, locations resolved through the content index), media kept
// encrypted for reviewers when retention is on, shown blurred by default, and deleted when its
// period ends. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "intake/notice.h"
#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

using MediaByItem = std::map<size_t, std::vector<uint8_t>>;

class Evidence {
 public:
  explicit Evidence(WorkflowContext* ctx);

  struct Built {
    std::vector<EvidenceItem> items;
    intake::Problems problems;  // media that cannot be hashed (unless lenient)
  };
  // Hashes media (the bytes are not kept here), resolves locations, and stores the large signals
  // of videos and images as "signals" documents the items refer to. lenient_media: media that
  // cannot be decoded becomes an unusable item with its problem instead of a problem of the
  // request (email: one bad attachment must not lose the others).
  Result<Built> Build(const std::vector<intake::EvidenceClaim>& claims, const MediaByItem& media,
                      bool lenient_media);
  // Whether media is kept for reviewers (retention on, with a key).
  bool retains() const { return retention_s_ > 0; }
  int64_t retention_s() const { return retention_s_; }
  // Keeps a request's media encrypted at rest (XSalsa20-Poly1305, a random nonce each) until
  // expires_ms.
  Status Seal(int64_t request_id, const MediaByItem& media, int64_t expires_ms);
  // A reviewer's look at an item: a blurred greyscale JPEG, or with reveal the clear picture;
  // audited.
  Result<std::vector<uint8_t>> Preview(const Principal& who, int64_t request_id, int item,
                                       bool reveal);
  // Deletes what has outlived its retention; returns how many items went (audited).
  Result<int64_t> PurgeExpired();
  // The signals of an item for the sweep (a video's frames and an image's robust signals are
  // read from their documents).
  Result<Signals> SignalsOf(const EvidenceItem& e);

 private:
  WorkflowContext* ctx_;
  int64_t retention_s_ = 0;
};

}  // namespace takedown::service
