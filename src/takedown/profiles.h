// Requester profiles: what kind of source a requester key is (authority order, trusted flagger,
// hotline, victim, plain notice), whether it is trusted, its deadline, and how its email is
// recognised on the email line. Kept as "requester" documents, one per key; each address and
// domain of an email allowlist also has a "sender" document (ukey "sender:a:ADDRESS" or
// "sender:d:DOMAIN", owner the key), so a sender is found by key lookups, never by a scan, and
// one sender can belong to one requester only. Thread-safe.
#pragma once

#include <optional>
#include <vector>

#include "core/mutex.h"
#include "takedown/context.h"
#include "takedown/model.h"

namespace takedown::service {

class RequesterProfiles {
 public:
  explicit RequesterProfiles(WorkflowContext* ctx) : ctx_(ctx) {}

  // Indexes the senders of profiles stored before the sender index existed (idempotent).
  Status Start() TD_EXCLUDES(mu_);

  // Sets a requester key's profile from an admin's body:
  //   {"source_type": "authority_order|trusted_flagger|hotline|victim|notice|law_enforcement",
  //    "trusted": bool,
  //    "deadline_hours": N (0: the source type's default), "name": "...", "email": {...}}
  // NotFound for a key that does not exist, FailedPrecondition for one that is not a requester's;
  // InvalidArgument naming every bad field.
  Result<RequesterProfile> Set(int64_t key_id, const nlohmann::json& body, const Principal& who)
      TD_EXCLUDES(mu_);
  // A key's profile, or the defaults (a plain notice, untrusted) when it has none.
  Result<RequesterProfile> Get(int64_t key_id);
  // Profiles by key id, after after_key_id, at most limit (1..1000).
  Result<std::vector<RequesterProfile>> List(int64_t after_key_id, int64_t limit);
  // The requester whose allowlist has `address` (lowercase): the address itself first, then its
  // domain and each parent domain, most specific first. None when no profile lists it, or its
  // key is revoked or no longer a requester's.
  struct Sender {
    RequesterProfile profile;
    std::string key_name;
  };
  Result<std::optional<Sender>> FindBySender(const std::string& address);

 private:
  Result<std::optional<store::DocRecord>> ProfileDoc(int64_t key_id);
  // The sender documents a profile's email settings call for.
  static std::vector<std::string> SenderKeys(const EmailSettings& e);

  WorkflowContext* ctx_;
  Mutex mu_;  // serialises Set: the check that a sender is free and the write that takes it
};

// The deadline of a source type when its profile sets none: Korea's 24 hours for orders,
// trusted flaggers and hotlines; the TAKE IT DOWN Act's 48 for victims; 72 otherwise.
int DefaultDeadlineHours(SourceType s);
// Review priority: orders 3; trusted sources, hotlines and victims 2; others 1.
int PriorityOf(SourceType s, bool trusted);

}  // namespace takedown::service
