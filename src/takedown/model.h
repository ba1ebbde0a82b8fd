// The workflow's records, typed: a removal request with its notice and evidence, an action for
// the platform, an appeal, a requester's profile, a message of the email line and its replies.
// Each state is an enum class (a misspelt state does not compile), and each record has one codec
// to and from the JSON document the store keeps (store::DocRecord): the field names are those
// the documents have always had, so existing stores open without a migration.
//
// Decoding never throws: a document of the wrong shape is DataLoss naming the document and the
// field ("request 12: notice.explanation is not a string"). Encoding fills the record's indexed
// columns (owner, state, due_ms, ukey) from the record.
//
// Plain values; thread-compatible.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"
#include "store/store.h"

namespace takedown::service {

using nlohmann::json;

// ------------------------------------------------------------------------------------------
// Enumerations and their names in documents and the API.

enum class RequestState { kReceived, kPendingReview, kApproved, kRejected, kActioned, kConfirmed };
enum class Category { kNcii, kCsam, kDeepfakeSexual, kTerrorism, kOther };
enum class SourceType {
  kAuthorityOrder,
  kTrustedFlagger,
  kHotline,
  kVictim,
  kNotice,
  kLawEnforcement
};
enum class EvidenceKind { kNone, kMedia, kHash, kLocation };
enum class ActionKind { kRemove, kRestore, kRestrictChat, kPreserve, kAccountAction };
// What an account_action asks of the platform (by policy: workflow.repeat_uploader_policy).
enum class AccountMeasure { kWarn, kRestrict, kSuspend };
enum class ActionState { kPending, kAcknowledged, kFailed };
enum class AppealState { kOpen, kUpheld, kRejected };
enum class MailInState { kOpen, kClosed, kRefused, kQuarantined, kUnreadable, kTooLarge };
enum class MailOutState { kPending, kSent, kFailed };
enum class DisclosureState { kPendingReview, kApproved, kRefused };
enum class HoldState { kActive, kExpired };
enum class ItemDecision { kPending, kApproved, kRefused };
enum class ProcessKind {
  kSubpoena,
  kCourtOrder,
  kWarrant,
  kProductionOrder,
  kMutualLegalAssistance,
  kEmergencyRequest,
  kOther
};

template <typename E>
struct EnumNames;  // specialised below: kWhat (for messages) and kNames

#define TD_ENUM_NAMES(E, what, ...)                                                              \
  template <>                                                                                    \
  struct EnumNames<E> {                                                                          \
    static constexpr std::string_view kWhat = what;                                              \
    static constexpr auto kNames = std::to_array<std::pair<E, std::string_view>>({__VA_ARGS__}); \
  }

TD_ENUM_NAMES(RequestState, "request status", {RequestState::kReceived, "received"},
              {RequestState::kPendingReview, "pending_review"},
              {RequestState::kApproved, "approved"}, {RequestState::kRejected, "rejected"},
              {RequestState::kActioned, "actioned"}, {RequestState::kConfirmed, "confirmed"});
TD_ENUM_NAMES(Category, "category", {Category::kNcii, "ncii"}, {Category::kCsam, "csam"},
              {Category::kDeepfakeSexual, "deepfake-sexual"}, {Category::kTerrorism, "terrorism"},
              {Category::kOther, "other"});
TD_ENUM_NAMES(SourceType, "source type", {SourceType::kAuthorityOrder, "authority_order"},
              {SourceType::kTrustedFlagger, "trusted_flagger"}, {SourceType::kHotline, "hotline"},
              {SourceType::kVictim, "victim"}, {SourceType::kNotice, "notice"},
              {SourceType::kLawEnforcement, "law_enforcement"});
TD_ENUM_NAMES(EvidenceKind, "evidence kind", {EvidenceKind::kNone, ""},
              {EvidenceKind::kMedia, "media"}, {EvidenceKind::kHash, "hash"},
              {EvidenceKind::kLocation, "location"});
TD_ENUM_NAMES(ActionKind, "action kind", {ActionKind::kRemove, "remove"},
              {ActionKind::kRestore, "restore"}, {ActionKind::kRestrictChat, "restrict_chat"},
              {ActionKind::kPreserve, "preserve"}, {ActionKind::kAccountAction, "account_action"});
TD_ENUM_NAMES(AccountMeasure, "account measure", {AccountMeasure::kWarn, "warn"},
              {AccountMeasure::kRestrict, "restrict"}, {AccountMeasure::kSuspend, "suspend"});
TD_ENUM_NAMES(ActionState, "action status", {ActionState::kPending, "pending"},
              {ActionState::kAcknowledged, "acknowledged"}, {ActionState::kFailed, "failed"});
TD_ENUM_NAMES(AppealState, "appeal status", {AppealState::kOpen, "open"},
              {AppealState::kUpheld, "upheld"}, {AppealState::kRejected, "rejected"});
TD_ENUM_NAMES(MailInState, "message status", {MailInState::kOpen, "open"},
              {MailInState::kClosed, "closed"}, {MailInState::kRefused, "refused"},
              {MailInState::kQuarantined, "quarantined"}, {MailInState::kUnreadable, "unreadable"},
              {MailInState::kTooLarge, "too_large"});
TD_ENUM_NAMES(MailOutState, "reply status", {MailOutState::kPending, "pending"},
              {MailOutState::kSent, "sent"}, {MailOutState::kFailed, "failed"});
TD_ENUM_NAMES(DisclosureState, "disclosure status",
              {DisclosureState::kPendingReview, "pending_review"},
              {DisclosureState::kApproved, "approved"}, {DisclosureState::kRefused, "refused"});
TD_ENUM_NAMES(HoldState, "hold status", {HoldState::kActive, "active"},
              {HoldState::kExpired, "expired"});
TD_ENUM_NAMES(ItemDecision, "item decision", {ItemDecision::kPending, "pending"},
              {ItemDecision::kApproved, "approved"}, {ItemDecision::kRefused, "refused"});
TD_ENUM_NAMES(ProcessKind, "legal process kind", {ProcessKind::kSubpoena, "subpoena"},
              {ProcessKind::kCourtOrder, "court_order"}, {ProcessKind::kWarrant, "warrant"},
              {ProcessKind::kProductionOrder, "production_order"},
              {ProcessKind::kMutualLegalAssistance, "mutual_legal_assistance"},
              {ProcessKind::kEmergencyRequest, "emergency_request"},
              {ProcessKind::kOther, "other"});
#undef TD_ENUM_NAMES

template <typename E>
constexpr std::string_view NameOf(E e) {
  for (const auto& [v, n] : EnumNames<E>::kNames) {
    if (v == e) return n;
  }
  return "?";
}

template <typename E>
std::optional<E> EnumFromName(std::string_view name) {
  for (const auto& [v, n] : EnumNames<E>::kNames) {
    if (n == name) return v;
  }
  return std::nullopt;
}

// "a, b, c or d": the names a field accepts, for error messages.
template <typename E>
std::string EnumChoices(bool skip_empty = true) {
  std::string out;
  const auto& names = EnumNames<E>::kNames;
  size_t n = 0, total = 0;
  for (const auto& [v, name] : names) total += !(skip_empty && name.empty());
  for (const auto& [v, name] : names) {
    if (skip_empty && name.empty()) continue;
    out += n == 0 ? "" : (n + 1 == total ? " or " : ", ");
    out += name;
    ++n;
  }
  return out;
}

// ------------------------------------------------------------------------------------------
// Removal requests.

// The DSA Art. 16 / TAKE IT DOWN Act notice as validated at intake.
struct Notice {
  std::string explanation;
  std::string notifier_name, notifier_email;
  bool anonymous = false;
  bool accuracy_statement = false, good_faith_statement = false;
  std::string signature, legal_basis, issuing_authority, case_reference, territorial_scope;
};

// One evidence item after intake: what it is, its signals, and whether it can be matched.
struct EvidenceItem {
  int64_t index = 0;
  EvidenceKind kind = EvidenceKind::kNone;
  std::optional<int64_t> media_bytes;  // media: the size of the file (its bytes are not kept)
  bool usable = false;
  std::string problem;  // why it cannot be used (or a warning), "" if none
  struct Video {
    int64_t frames = 0;
    double duration_s = 0;
  };
  std::optional<Video> video;
  std::string pdq;  // 64 hex digits, or ""
  int quality = 0;  // with pdq
  std::string md5, sha256;
  std::string message_link, content_id;
  std::optional<bool> resolved;  // with content_id: found in the content index
  int64_t content_row = 0;       // the located content item, 0 if none
  // Signals taken from the located content item ("pdq", "md5", "sha256"): the platform's, so
  // never shown to a requester (RequesterView).
  std::vector<std::string> from_index;
  int64_t video_signals = 0;   // the "signals" document of a video's frames, 0 if none
  int64_t image_signals = 0;   // the "signals" document of an image's robust signals
  std::string retained_until;  // media kept encrypted until this time (ISO 8601)
  // Media accepted and staged (encrypted), to be hashed in the background after the request was
  // stored; usable is false until then.
  bool hashing = false;
  int64_t entry_id = 0;  // the bank entry the sweep made of it
};

// What a requester may see of its own evidence item: what it sent and what was computed from
// the media it sent, never whether a named content item exists or the platform's signals of it
// (no content row, no resolution, no hashes taken from the content index, no usability of a
// location). Reviewers and administrators see the whole item (ToJson).
nlohmann::json RequesterView(const EvidenceItem& e);
inline constexpr std::string_view kNotInContentIndex = "not in the content index";

struct Decision {
  bool approved = false;
  std::string by;  // "policy" or "key:ID"
  bool automated = false;
  int64_t time_ms = 0;
  std::string reason;
  // The reviewer's choice of the DSA statement category and keywords ("": the request
  // category's own mapping; a request of category "other" needs one).
  std::string dsa_category;
  std::vector<std::string> dsa_keywords;
  // The policy ground (kApproveGrounds / kRejectGrounds); "" in decisions made before it was
  // recorded (then: illegal_content for an approval).
  std::string ground;
};

// Why a request was approved: its content is illegal (the statement of reasons names the legal
// ground), or it breaks the platform's terms of service (the statement says so instead).
inline constexpr std::array<std::string_view, 2> kApproveGrounds = {"illegal_content",
                                                                    "incompatible_content"};
// Why one was rejected.
inline constexpr std::array<std::string_view, 4> kRejectGrounds = {
    "not_illegal", "insufficient_information", "content_not_found", "other"};

struct SweepSummary {
  std::string bank;
  std::vector<int64_t> entries;
  int64_t matched = 0, actions = 0, skipped_already_gone = 0, ms = 0;
};

struct Request {
  int64_t id = 0;          // from the store
  int64_t created_ms = 0;  // from the store
  RequestState state = RequestState::kReceived;
  int64_t owner_id = 0;  // the requester's key
  int64_t requester_key_id = 0;
  std::string requester_name, requester_profile;
  std::string requester_member_state;  // the profile's member_state at intake, or ""
  SourceType source_type = SourceType::kNotice;
  bool trusted = false;
  int priority = 1;
  Category category = Category::kOther;
  Notice notice;
  std::vector<EvidenceItem> evidence;
  int64_t received_ms = 0, deadline_ms = 0, due_ms = 0;
  std::vector<std::pair<RequestState, int64_t>> history;  // state, time
  std::string ukey;                                       // "request:" + idempotency key, or ""
  std::optional<Decision> decision;
  std::string bank;  // the bank the sweep used
  std::optional<SweepSummary> sweep;
  int64_t confirmed_ms = 0;
  // A reviewer's claim while the request waits for review (Requests::Claim): one reviewer at a
  // time, until expires_ms (a lease; claiming again extends it). Cleared by the decision.
  struct Claim {
    int64_t key_id = 0;
    std::string name;
    int64_t expires_ms = 0;
  };
  std::optional<Claim> claim;
  // The claim in force at `now`, held by someone other than `key_id`; nullptr when none.
  const Claim* ClaimedByOther(int64_t key_id, int64_t now) const {
    return claim && claim->expires_ms > now && claim->key_id != key_id ? &*claim : nullptr;
  }

  // Moves to `s` at `now`, recorded in the history.
  void SetState(RequestState s, int64_t now) {
    state = s;
    history.emplace_back(s, now);
  }
};

// ------------------------------------------------------------------------------------------
// Actions for the platform (the outbox's items).

struct Action {
  int64_t id = 0, created_ms = 0;
  ActionKind kind = ActionKind::kRemove;
  ActionState state = ActionState::kPending;
  int64_t owner_id = 0;  // remove, restore: the request; restrict_chat: 0
  int64_t request_id = 0;
  std::optional<int64_t> content_row;
  std::string content_id, chat_id, uploader_id;
  // remove: what the removal is based on (for the statement of reasons)
  int64_t content_created_ms = 0;
  std::string media;  // image | video
  std::string signal;
  int distance = 0;
  int64_t entry_id = 0;
  std::string bank;
  Category category = Category::kOther;
  SourceType source_type = SourceType::kNotice;
  bool trusted = false, automated_decision = false;
  int64_t appeal_id = 0;           // restore
  int64_t account_action_id = 0;   // restore: the account action lifted (0: content put back)
  int64_t confirmed_removals = 0;  // restrict_chat
  // preserve: what the platform keeps (its own copies and account data) until preserve_until_ms,
  // under legal hold hold_id.
  std::vector<std::string> content_ids, account_ids;
  int64_t hold_id = 0, preserve_until_ms = 0;
  std::string legal_reference;
  // account_action: the measure against uploader_id's account, taken because its uploads of
  // `category` were removed or blocked `strikes` times within window_days (content_ids: those
  // uploads; request_id, media, content_created_ms: of the one that reached the count).
  AccountMeasure measure = AccountMeasure::kWarn;
  int64_t strikes = 0;
  int window_days = 0;
  // delivery
  std::string ukey;  // also the idempotency key the platform sees
  int attempts = 0;
  int64_t due_ms = 0;
  std::string last_error;
  int64_t last_attempt_ms = 0;
  int64_t acknowledged_ms = 0;
  std::string acknowledged_via;  // webhook | ack
};

// ------------------------------------------------------------------------------------------
// Appeals (DSA Art. 20).

struct Appeal {
  int64_t id = 0, created_ms = 0;
  AppealState state = AppealState::kOpen;
  int64_t action_id = 0;
  std::string content_id, uploader_id, reason;
  int64_t filed_ms = 0;
  std::string filed_by;
  int64_t decided_ms = 0;
  std::string decided_by, decision_reason;
  int64_t restore_action_id = 0, disabled_entry_id = 0;
};

// ------------------------------------------------------------------------------------------
// Requester profiles: who a requester key is, and how its email is recognised.

struct EmailSettings {
  std::vector<std::string> addresses, domains;  // lowercase
  std::string dkim = "required";                // required | optional | off
  std::string language = "en";                  // en | ko
  std::string default_category;                 // a category name, or ""
  std::string legal_basis, issuing_authority, template_name;
  bool standing_statements = false;
  std::string secret_sha256;  // the shared secret's SHA-256 hex, or ""
};

struct RequesterProfile {
  int64_t id = 0;  // the document, 0 when the key has no profile (the defaults)
  int64_t key_id = 0;
  SourceType source_type = SourceType::kNotice;
  bool trusted = false;
  int deadline_hours = 0;  // 0: the source type's default
  std::string name;
  // Authority orders (DSA Art. 9): the EU/EEA member state of the issuing authority, or "".
  std::string member_state;
  std::optional<EmailSettings> email;
};

// ------------------------------------------------------------------------------------------
// The email line's messages and replies.

struct MailIn {
  int64_t id = 0, created_ms = 0;
  MailInState state = MailInState::kOpen;
  std::string ukey;  // "mail:" + Message-ID, or a digest of the message for the distrusted
  std::string mailbox, message_id, from, subject, references, reason;
  int64_t received_ms = 0, size = 0;
  int64_t requester_key_id = 0;  // the owner column
  int64_t request_id = 0;
  int64_t closed_ms = 0;
};

struct MailOut {
  int64_t id = 0, created_ms = 0;
  MailOutState state = MailOutState::kPending;
  std::string ukey, kind, to, subject, raw, in_reply_to, last_error;
  int64_t request_id = 0;
  int attempts = 0;
  int64_t queued_ms = 0, due_ms = 0, sent_ms = 0;
};

// ------------------------------------------------------------------------------------------
// Investigators' disclosure requests (issue 25 item 2): a law-enforcement requester names content
// under a legal process; a reviewer approves or refuses each item; what is approved is delivered
// as a signed package (package.h), once made kept as it is.

struct LegalProcess {
  ProcessKind kind = ProcessKind::kOther;
  std::string reference, issuing_authority, jurisdiction, scope;
  bool emergency = false;
  // What of the spread the process covers: any of "chats", "uploaders", "times", "hashes",
  // "signals" (content ids of the copies always). Empty: all of them.
  std::vector<std::string> covers;
};

struct DisclosureItem {
  int64_t index = 0;
  std::string content_id;        // a platform content id the investigators name, or ""
  std::string pdq, md5, sha256;  // hashes of material they hold (lowercase hex), or ""
  ItemDecision decision = ItemDecision::kPending;
  std::string reason, decided_by;
  int64_t decided_ms = 0;
  int64_t copies = 0;  // approved: the copies the package lists for it
};

struct Disclosure {
  int64_t id = 0, created_ms = 0;
  DisclosureState state = DisclosureState::kPendingReview;
  int64_t owner_id = 0;  // the requester's key
  std::string requester_name;
  LegalProcess process;
  std::vector<DisclosureItem> items;
  int64_t filed_ms = 0, due_ms = 0;
  std::string ukey;            // "disclosure:KEY:" + idempotency key, or ""
  int64_t audit_from_seq = 0;  // the filing's audit record (the package's trail starts there)
  int64_t decided_ms = 0;
  std::string decided_by;
  int64_t package_doc = 0;  // the stored package, 0 until made
  std::string package_sha256;
  int64_t package_made_ms = 0, package_copies = 0, deliveries = 0;
};

// A legal hold (issue 25 item 3): the records of a spread (a request's or a disclosure's) kept
// past their normal retention until until_ms, extendable; the platform is sent a preserve action
// for the content and accounts at each placement and extension.
struct HoldExtension {
  int64_t at_ms = 0, until_ms = 0;
  std::string by, reason;
};

struct Hold {
  int64_t id = 0, created_ms = 0;
  HoldState state = HoldState::kActive;  // stored; expired once until_ms has passed
  int64_t owner_id = 0;                  // the requester whose request or disclosure it is, or 0
  int64_t request_id = 0, disclosure_id = 0;
  std::string reason, placed_by, legal_reference;
  int64_t placed_ms = 0, until_ms = 0;
  std::vector<std::string> content_ids, account_ids;
  std::vector<HoldExtension> extensions;
  std::vector<int64_t> preserve_action_ids;
  std::string ukey;
};

// ------------------------------------------------------------------------------------------
// Codecs. Kinds of document in the store: "request", "action", "appeal", "requester",
// "mail_in", "mail_out", "disclosure", "package", "hold", "evidence_reveal" (a reviewer's clear
// look, kept an hour) and "signals", "chat", "sender", kept by the pieces that own them.

inline constexpr std::string_view kRequestDoc = "request", kActionDoc = "action",
                                  kAppealDoc = "appeal", kRequesterDoc = "requester",
                                  kMailInDoc = "mail_in", kMailOutDoc = "mail_out",
                                  kDisclosureDoc = "disclosure", kPackageDoc = "package",
                                  kHoldDoc = "hold", kRevealDoc = "evidence_reveal",
                                  kPackageKeyDoc = "package_signing_key";

json ToJson(const EvidenceItem& e);
json ToJson(const Request& r);
json ToJson(const Action& a);
json ToJson(const Appeal& a);
json ToJson(const RequesterProfile& p);
json ToJson(const EmailSettings& e);
json ToJson(const MailIn& m);
json ToJson(const MailOut& m);
json ToJson(const Disclosure& d);
json ToJson(const Hold& h);

store::DocRecord ToDoc(const Request& r);
store::DocRecord ToDoc(const Action& a);
store::DocRecord ToDoc(const Appeal& a);
store::DocRecord ToDoc(const RequesterProfile& p);
store::DocRecord ToDoc(const MailIn& m);
store::DocRecord ToDoc(const MailOut& m);
store::DocRecord ToDoc(const Disclosure& d);
store::DocRecord ToDoc(const Hold& h);

// From a stored document (its kind checked: another kind is NotFound, as if absent).
Result<Request> RequestFromDoc(const store::DocRecord& d);
Result<Action> ActionFromDoc(const store::DocRecord& d);
Result<Appeal> AppealFromDoc(const store::DocRecord& d);
Result<RequesterProfile> ProfileFromDoc(const store::DocRecord& d);
Result<MailIn> MailInFromDoc(const store::DocRecord& d);
Result<MailOut> MailOutFromDoc(const store::DocRecord& d);
Result<Disclosure> DisclosureFromDoc(const store::DocRecord& d);
Result<Hold> HoldFromDoc(const store::DocRecord& d);
Result<EmailSettings> EmailSettingsFromJson(const json& j, const std::string& where);

// A document by id, decoded; NotFound when there is none of that kind with this id.
Result<Request> LoadRequest(store::DocumentStore* docs, int64_t id);
Result<Action> LoadAction(store::DocumentStore* docs, int64_t id);
Result<Appeal> LoadAppeal(store::DocumentStore* docs, int64_t id);
Result<Disclosure> LoadDisclosure(store::DocumentStore* docs, int64_t id);
Result<Hold> LoadHold(store::DocumentStore* docs, int64_t id);

}  // namespace takedown::service
