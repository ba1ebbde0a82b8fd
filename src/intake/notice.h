// Intake: what a requester sent, by any channel, as one typed notice draft, and its validation.
// The HTTP API turns a JSON body into a draft (DraftFromJson); the email line builds one from a
// parsed message. Validate checks a draft against what the law asks of a notice from the
// requester's kind of source (DSA Art. 16 and 9, the TAKE IT DOWN Act) and returns every field
// problem as data, so that one answer names them all and each channel words it its own way (the
// API as one 400 message, the email line as a list in its reply). No I/O; thread-compatible.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "hash/hash256.h"
#include "hash/pdq.h"
#include "takedown/model.h"

namespace takedown::intake {

struct FieldProblem {
  std::string field;  // "notifier.email", "evidence[2].pdq", ...
  std::string what;   // "not an email address"
  std::string ToString() const { return field + ": " + what; }
};
using Problems = std::vector<FieldProblem>;

// InvalidArgument("invalid request: field: what; field: what").
Status ProblemsStatus(const Problems& problems);

// One evidence item as given. Absent fields are nullopt; the caller supplies media bytes apart
// (by item index), has_media says there are some.
struct EvidenceDraft {
  bool malformed = false;  // not an object: already a problem, nothing more to check
  bool has_media = false;
  std::optional<std::string> pdq;
  std::optional<int64_t> quality;
  std::optional<std::string> md5, sha256;
  std::optional<std::string> content_id, message_link;
  // Robust image signals computed where the picture is (the victims' form, `takedown hash
  // --format jsonl --bank`): {"norm": [pdq, quality], "box": [...], "variants": [[...], ...]}.
  std::optional<nlohmann::json> robust;
  // A video's frame signals computed where the video is (the victims' form, `takedown hash
  // --format jsonl --bank`): "video" ({"frames": [...], "duration", "fps"}, as a hash list's
  // line carries it) or "vpdq" (the reference's "pdqhex,quality,seconds" frames).
  std::optional<nlohmann::json> video, vpdq;
};

struct NoticeDraft {
  std::string category;  // a category name (service::Category), or ""
  std::string explanation;
  std::string notifier_name, notifier_email;
  bool accuracy_statement = false, good_faith_statement = false;
  std::string signature, legal_basis, issuing_authority, case_reference, territorial_scope;
  bool evidence_given = false;  // false: the field was missing or not an array
  // The victims' form: the person may follow the case with its number and PIN alone, so no email
  // address is needed as contact information.
  bool contact_by_case = false;
  std::vector<EvidenceDraft> evidence;
};

// A removal request body from the API. Values of the wrong type are problems (and absent from
// the draft); a body that is not an object is one problem.
NoticeDraft DraftFromJson(const nlohmann::json& body, Problems* problems);

// One evidence item after validation: the signals it names (hex lowercased), its location.
// An image's robust signals sent with its hashes: matched like those of media evidence.
struct RobustClaim {
  std::optional<hash::PdqHash> norm, box;
  std::vector<hash::PdqHash> variants;
};
inline constexpr size_t kMaxRobustVariants = 255;
// An image's robust signals as a request's evidence and a hash list's line carry them:
// {"norm": [hex, quality], "box": [...], "variants": [[hex, quality], ...]} (norm required, at
// most kMaxRobustVariants variants); problems are named under `field`.
std::optional<RobustClaim> ParseRobustClaim(const nlohmann::json& j, const std::string& field,
                                            Problems* problems);

struct EvidenceClaim {
  bool has_media = false;
  std::optional<RobustClaim> robust;
  // A video known by its frames: {"video": ...} or {"vpdq": [...]}, read whole (bounds, every
  // frame and field) by service::VideoFromListLine when the evidence is built.
  std::optional<nlohmann::json> video;
  std::optional<hash::Hash256> pdq;
  int quality = 100;
  std::string md5, sha256;  // lowercase hex or ""
  std::string content_id;   // explicit, or taken from message_link
  std::string message_link;
};

struct ValidNotice {
  service::Category category = service::Category::kOther;
  service::Notice notice;
  std::vector<EvidenceClaim> evidence;
};

inline constexpr size_t kMaxEvidenceItems = 1000;

// Checks a draft from a requester of `source`; `problems` receives every one found (the result
// is meaningful only when none were).
ValidNotice Validate(const NoticeDraft& draft, service::SourceType source, Problems* problems);

// A message link's content id: the `content_id` query parameter, else the last path segment
// ("" when there is none).
std::string ContentIdOfLink(const std::string& link);

}  // namespace takedown::intake
