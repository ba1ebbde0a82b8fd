// Investigators' requests for disclosure (issue 25 item 2). A requester whose profile's
// source_type is law_enforcement names content (platform content ids, or hashes of material it
// holds) under a legal process (kind, reference, issuing authority, jurisdiction, scope,
// emergency, what of the spread it covers). Nothing about the platform's content is said back
// at filing. A reviewer decides each item, approved or refused with a reason; never
// automatically. Once every item is decided and one is approved, the service makes the package:
// for each approved item the spread of the named content (content ids; with what the process
// covers: chats, uploader ids, times, hashes, signals; never media), the legal process, the
// decisions and the audit records of its making, signed with the service's Ed25519 key
// (package.h). The package is stored as made and delivered as those bytes, to the requester that
// filed it (and reviewers, admins); each delivery is audited. Thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>

#include "takedown/context.h"
#include "takedown/model.h"
#include "takedown/package.h"
#include "takedown/profiles.h"
#include "takedown/spread.h"

namespace takedown::service {

class Disclosures {
 public:
  // signer may be null: packages cannot be made (FailedPrecondition naming the setting).
  Disclosures(WorkflowContext* ctx, Sweeper* sweeper, Spread* spread, RequesterProfiles* profiles,
              const PackageSigner* signer)
      : ctx_(ctx), sweeper_(sweeper), spread_(spread), profiles_(profiles), signer_(signer) {}

  static constexpr size_t kMaxItems = 100;
  // An emergency request (a threat to life) is due within this, others by the profile's deadline.
  static constexpr int64_t kEmergencyDueMs = 3600 * 1000;

  // {"legal_process": {"kind", "reference", "issuing_authority", "jurisdiction", "scope",
  //  "emergency", "covers": [...]}, "items": [{"content_id"} | {"pdq", "md5", "sha256"}]}.
  // PermissionDenied for a requester that is not law enforcement; InvalidArgument naming every
  // bad field. idempotency_key: the same filing again returns the first.
  Result<nlohmann::json> File(const Principal& who, const nlohmann::json& body,
                              const std::string& idempotency_key);
  // The requester's own (another's is NotFound), or any for reviewers and admins; preview
  // (reviewers, admins): what each undecided item would disclose (counts and first appearance),
  // audited.
  Result<nlohmann::json> Get(const Principal& who, int64_t id, bool preview);
  Result<nlohmann::json> List(const Principal& who, const std::string& status, int64_t after_id,
                              int64_t limit);
  // A reviewer's decision on some or all undecided items:
  //   {"items": [{"item": N, "decision": "approved"|"refused", "reason": "..."}]}
  // When the last item is decided the disclosure is approved (any item approved: the package is
  // made) or refused.
  Result<nlohmann::json> Decide(const Principal& who, int64_t id, const nlohmann::json& body);
  // The signed package's bytes (made now if a stop came between the decision and its making).
  // FailedPrecondition before approval or when refused; NotFound for another requester's.
  Result<std::string> Package(const Principal& who, int64_t id);

  // Every content row the named items' signals find (all items, decided or not): what a legal
  // hold on the disclosure preserves.
  Result<std::set<int64_t>> CopiesOf(const Disclosure& d);
  // The disclosure if `who` may see it (its requester, reviewers, admins), else NotFound.
  Result<Disclosure> LoadVisible(const Principal& who, int64_t id);

 private:
  Result<Signals> SignalsOf(const DisclosureItem& it, int64_t* located_row);
  nlohmann::json View(const Disclosure& d, bool full) const;
  // The spread of one item, cut to what the process covers.
  Result<nlohmann::json> ItemSpread(const Disclosure& d, const DisclosureItem& it);
  // Makes, signs and stores the package of an approved disclosure (under its lock).
  Status MakePackage(Disclosure& d);
  Result<nlohmann::json> AuditTrail(const Disclosure& d);

  WorkflowContext* ctx_;
  Sweeper* sweeper_;
  Spread* spread_;
  RequesterProfiles* profiles_;
  const PackageSigner* signer_;
};

// Removes from a spread what a process does not cover (model.h LegalProcess::covers).
nlohmann::json CutToCovers(nlohmann::json spread, const std::vector<std::string>& covers);
inline constexpr std::array<std::string_view, 5> kCoverNames = {"chats", "uploaders", "times",
                                                                "hashes", "signals"};

}  // namespace takedown::service
