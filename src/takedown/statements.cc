#include "takedown/statements.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <optional>

#include "core/clock.h"
#include "takedown/dsa.h"

namespace takedown::service {
namespace {

using nlohmann::json;

// Art. 9 orders and other notices are "other notifications"; SOURCE_TRUSTED_FLAGGER is for
// flaggers with status under Art. 22 only (a hotline is one only when its profile says trusted
// flagger); the rest are Art. 16 notices.
std::string DsaSourceType(SourceType source) {
  switch (source) {
    case SourceType::kAuthorityOrder:
      return "SOURCE_TYPE_OTHER_NOTIFICATION";
    case SourceType::kTrustedFlagger:
      return "SOURCE_TRUSTED_FLAGGER";
    case SourceType::kHotline:
    case SourceType::kVictim:
    case SourceType::kNotice:
    case SourceType::kLawEnforcement:  // a removal notice from the police: an Art. 16 notice
      break;
  }
  return "SOURCE_ARTICLE_16";
}

std::string SourceText(SourceType source) {
  switch (source) {
    case SourceType::kAuthorityOrder:
      return "an order from an authority";
    case SourceType::kTrustedFlagger:
      return "a notice from a trusted flagger";
    case SourceType::kHotline:
      return "a notice from a hotline";
    case SourceType::kVictim:
      return "a notice from the person depicted";
    case SourceType::kLawEnforcement:
      return "a notice from a law-enforcement authority";
    case SourceType::kNotice:
      break;
  }
  return "a notice";
}

std::string CategoryText(Category c) {
  switch (c) {
    case Category::kNcii:
      return "an intimate image shared without consent";
    case Category::kDeepfakeSexual:
      return "sexual material manipulated or generated without consent (deepfake)";
    case Category::kCsam:
      return "child sexual abuse material";
    case Category::kTerrorism:
      return "terrorist content";
    case Category::kOther:
      break;
  }
  return "illegal content";
}

std::string Day(int64_t ms) { return IsoUtc(ms).substr(0, 10); }

constexpr int64_t kYear2000Ms = 946'684'800'000;

}  // namespace

Statements::Statements(WorkflowContext* ctx)
    : ctx_(ctx), platform_scope_(dsa::ParseTerritorialScope(ctx->opt.territorial_scope)) {}

Result<json> Statements::Of(int64_t action_id) {
  TD_ASSIGN_OR_RETURN(Action a, LoadAction(ctx_->stores.docs, action_id));
  if (a.kind == ActionKind::kRestore || a.kind == ActionKind::kPreserve) {
    return FailedPrecondition(fmt::format(
        "action {} is a {}: a statement of reasons is made for removals and restrictions",
        action_id, NameOf(a.kind)));
  }
  if (a.kind == ActionKind::kRestrictChat && a.request_id == 0) {
    return FailedPrecondition(
        fmt::format("action {} restricted chat '{}' before restrictions kept the removal that "
                    "caused them: its statement of reasons cannot be made",
                    action_id, a.chat_id));
  }
  if (a.kind == ActionKind::kAccountAction && a.request_id == 0) return OfAccount(a, nullptr);
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, a.request_id));
  return Of(a, r);
}

namespace {

// The platform's terms of service, named as the ground of a decision taken on them.
constexpr const char* kTermsOfService =
    "the platform's terms of service: intimate images shared without the consent of the person "
    "shown, sexual deepfakes of real people and sexual material of minors are not allowed";

// The statement's ground and its explanation: `what` (what was found and done) followed by the
// law's sentence, or -- when the request behind it was approved on the platform's terms of
// service (the reviewer's policy ground) -- those terms instead of a legal ground, for a removal,
// a chat restriction, an account action and a block at the upload gate alike. r may be null (no
// request behind it: the law of its category).
void SetGround(json* st, const Request* r, const std::string& what) {
  if (r == nullptr || !r->decision || r->decision->ground != "incompatible_content") {
    (*st)["illegal_content_explanation"] =
        dsa::Utf8Prefix(what + " The material is illegal under the legal ground stated.", 2000);
    return;
  }
  (*st)["decision_ground"] = "DECISION_GROUND_INCOMPATIBLE_CONTENT";
  st->erase("illegal_content_legal_ground");
  st->erase("illegal_content_explanation");
  (*st)["incompatible_content_ground"] = kTermsOfService;
  (*st)["incompatible_content_explanation"] = dsa::Utf8Prefix(
      what + " A reviewer found that the material breaks the terms of service named.", 2000);
}

}  // namespace

dsa::CategoryMapping Statements::CategoryOf(const Request& r) {
  // The reviewer's choice, else the request category's mapping.
  dsa::CategoryMapping cat;
  if (r.decision && !r.decision->dsa_category.empty()) {
    cat.category = r.decision->dsa_category;
    cat.keywords = r.decision->dsa_keywords;
  } else if (auto m = dsa::MapCategory(r.category)) {
    cat = *m;
  }
  return cat;
}

json Statements::Common(const dsa::CategoryMapping& cat, const std::string& legal,
                        const std::vector<std::string>& request_scope) const {
  json st = {{"decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"},
             {"illegal_content_legal_ground", dsa::Utf8Prefix(legal, 500)},
             {"category", cat.category},
             {"redress",
              {{"internal_complaint",
                "appeal within 6 months through the platform (free, decided by a person)"},
               {"out_of_court_settlement",
                "a certified out-of-court dispute settlement body (DSA Art. 21)"},
               {"judicial", "the courts of the member state concerned"}}}};
  if (!cat.keywords.empty()) st["category_specification"] = cat.keywords;
  // The scope: the request's, else the platform's; only EU/EEA member states.
  const auto& scope = request_scope.empty() ? platform_scope_ : request_scope;
  if (!scope.empty()) st["territorial_scope"] = scope;
  return st;
}

Result<json> Statements::Checked(json st, const std::string& what,
                                 const std::string& category_hint) {
  // Never handed out (nor exported) unless the database would take it.
  const auto problems = dsa::Validate(st);
  if (problems.empty()) return st;
  std::vector<std::string> parts;
  for (const auto& p : problems) parts.push_back(p.field + ": " + p.message);
  std::string why = fmt::format("{}", fmt::join(parts, "; "));
  if (st.value("category", "").empty()) why += " (" + category_hint + ")";
  return FailedPrecondition(fmt::format(
      "the statement of reasons for {} would be refused by the DSA Transparency Database: {}", what,
      why));
}

Result<json> Statements::Of(const Action& a, const Request& r) const {
  if (a.kind == ActionKind::kRestrictChat) return OfRestriction(a, r);
  if (a.kind == ActionKind::kAccountAction) return OfAccount(a, &r);
  if (a.kind != ActionKind::kRemove) {
    return FailedPrecondition(
        fmt::format("action {} is a {}, not a removal", a.id, NameOf(a.kind)));
  }
  const bool automated = a.automated_decision;
  const bool video = a.media == "video";
  const dsa::CategoryMapping cat = CategoryOf(r);
  json content_type = json::array({video ? "CONTENT_TYPE_VIDEO" : "CONTENT_TYPE_IMAGE"});
  for (const auto& t : cat.extra_content_types) content_type.push_back(t);
  // Facts and explanation are written here: nothing of the notifier's own text (personal data)
  // is copied into a statement the database publishes.
  const std::string facts = fmt::format(
      "Removed after {} received on {}: the item matched the reported material by {} (distance "
      "{}){}.",
      SourceText(r.source_type), Day(r.received_ms), a.signal, a.distance,
      automated ? "; the request was approved automatically (trusted source, hash match)"
                : "; a reviewer approved the request");
  const std::string what = fmt::format(
      "The {} was reported as {} and identified as a copy of the reported material by its {} "
      "signal.",
      video ? "video" : "image", CategoryText(r.category), a.signal);
  const std::string legal =
      r.notice.legal_basis.empty() ? dsa::DefaultLegalGround(r.category) : r.notice.legal_basis;
  // The content's date: when the platform first recorded it; unknown or impossible dates give
  // way to the request's receipt (the content existed by then).
  const int64_t content_ms =
      a.content_created_ms >= kYear2000Ms ? a.content_created_ms : r.received_ms;
  json st = Common(cat, legal, dsa::ParseTerritorialScope(r.notice.territorial_scope));
  st.update({{"decision_visibility", json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"})},
             {"content_type", content_type},
             {"decision_facts", dsa::Utf8Prefix(facts, 5000)},
             {"source_type", DsaSourceType(r.source_type)},
             {"automated_detection", a.signal == "location" ? "No" : "Yes"},
             {"automated_decision",
              automated ? "AUTOMATED_DECISION_FULLY" : "AUTOMATED_DECISION_PARTIALLY"},
             {"application_date", Day(a.acknowledged_ms != 0 ? a.acknowledged_ms : a.created_ms)},
             {"content_date", Day(content_ms)},
             {"puid", dsa::Puid(a.id)},
             {"takedown",
              {{"action_id", a.id},
               {"request_id", a.request_id},
               {"content_id", a.content_id},
               {"signal", a.signal},
               {"distance", a.distance},
               {"status", NameOf(a.state)}}}});
  if (r.source_type == SourceType::kAuthorityOrder && !r.notice.issuing_authority.empty()) {
    st["source_identity"] = dsa::Utf8Prefix(r.notice.issuing_authority, 500);
  }
  SetGround(&st, &r, what);
  return Checked(std::move(st), fmt::format("action {}", a.id), CategoryHint(r));
}

// A chat restricted after the configured number of confirmed removals in it: a partial
// suspension of the service to that chat, decided automatically on the platform's own initiative
// (its rule, DSA Art. 23), about material of the category of the removal that reached the count.
Result<json> Statements::OfRestriction(const Action& a, const Request& r) const {
  const dsa::CategoryMapping cat = CategoryOf(r);
  const std::string legal =
      r.notice.legal_basis.empty() ? dsa::DefaultLegalGround(r.category) : r.notice.legal_basis;
  const std::string what = fmt::format(
      "The chat was restricted after {} copies of material reported as {} were removed from it. "
      "The platform restricts chats in which such material is shared repeatedly (Regulation (EU) "
      "2022/2065, Art. 23).",
      a.confirmed_removals, CategoryText(r.category));
  const std::string facts = fmt::format(
      "Restricted on {}: the chat reached {} confirmed removals of reported material, the number "
      "at which the platform's rule restricts a chat; the restriction was applied automatically.",
      Day(a.acknowledged_ms != 0 ? a.acknowledged_ms : a.created_ms), a.confirmed_removals);
  const int64_t content_ms =
      a.content_created_ms >= kYear2000Ms ? a.content_created_ms : r.received_ms;
  json st = Common(cat, legal, dsa::ParseTerritorialScope(r.notice.territorial_scope));
  st.update({{"decision_provision", "DECISION_PROVISION_PARTIAL_SUSPENSION"},
             {"content_type", json::array({"CONTENT_TYPE_OTHER"})},
             {"content_type_other", "a chat (group conversation) of the messaging service"},
             {"decision_facts", dsa::Utf8Prefix(facts, 5000)},
             {"source_type", "SOURCE_VOLUNTARY"},
             {"automated_detection", "Yes"},
             {"automated_decision", "AUTOMATED_DECISION_FULLY"},
             {"application_date", Day(a.acknowledged_ms != 0 ? a.acknowledged_ms : a.created_ms)},
             {"content_date", Day(content_ms)},
             {"puid", dsa::Puid(a.id)},
             {"takedown",
              {{"action_id", a.id},
               {"kind", NameOf(a.kind)},
               {"chat_id", a.chat_id},
               {"confirmed_removals", a.confirmed_removals},
               {"request_id", a.request_id},
               {"status", NameOf(a.state)}}}});
  SetGround(&st, &r, what);
  return Checked(std::move(st), fmt::format("action {}", a.id), CategoryHint(r));
}

// A repeat uploader's account action: own-initiative (the platform's rule, DSA Art. 23),
// detected and decided automatically, about material of the category whose strikes reached the
// count; the legal ground and scope of the request of the strike that reached it, if any.
Result<json> Statements::OfAccount(const Action& a, const Request* r) const {
  dsa::CategoryMapping cat;
  if (r != nullptr) {
    cat = CategoryOf(*r);
  } else if (auto m = dsa::MapCategory(a.category)) {
    cat = *m;
  }
  const std::string legal = r != nullptr && !r->notice.legal_basis.empty()
                                ? r->notice.legal_basis
                                : dsa::DefaultLegalGround(a.category);
  const std::string what = a.measure == AccountMeasure::kSuspend    ? "suspended"
                           : a.measure == AccountMeasure::kRestrict ? "restricted"
                                                                    : "warned";
  const int64_t applied = a.acknowledged_ms != 0 ? a.acknowledged_ms : a.created_ms;
  const std::string found = fmt::format(
      "The account was {} because {} of its uploads of material identified as {} were removed or "
      "blocked within {} days. The platform acts against accounts that share such material "
      "repeatedly (Regulation (EU) 2022/2065, Art. 23).",
      what, a.strikes, CategoryText(a.category), a.window_days);
  const std::string facts = fmt::format(
      "{} on {}: the account reached {} removed or blocked uploads of reported material within "
      "{} days, the number at which the platform's rule {} an account; applied automatically.",
      what == "warned" ? "Warned" : (what == "suspended" ? "Suspended" : "Restricted"),
      Day(applied), a.strikes, a.window_days,
      a.measure == AccountMeasure::kSuspend    ? "suspends"
      : a.measure == AccountMeasure::kRestrict ? "restricts"
                                               : "warns");
  const int64_t content_ms = a.content_created_ms >= kYear2000Ms
                                 ? a.content_created_ms
                                 : (r != nullptr ? r->received_ms : a.created_ms);
  json st = Common(cat, legal,
                   r != nullptr ? dsa::ParseTerritorialScope(r->notice.territorial_scope)
                                : std::vector<std::string>{});
  json content_type =
      json::array({a.media == "video" ? "CONTENT_TYPE_VIDEO" : "CONTENT_TYPE_IMAGE"});
  for (const auto& t : cat.extra_content_types) content_type.push_back(t);
  st.update({{"content_type", content_type},
             {"decision_facts", dsa::Utf8Prefix(facts, 5000)},
             {"source_type", "SOURCE_VOLUNTARY"},
             {"automated_detection", "Yes"},
             {"automated_decision", "AUTOMATED_DECISION_FULLY"},
             {"application_date", Day(applied)},
             {"content_date", Day(content_ms)},
             {"puid", dsa::Puid(a.id)},
             {"takedown",
              {{"action_id", a.id},
               {"kind", NameOf(a.kind)},
               {"uploader_id", a.uploader_id},
               {"measure", NameOf(a.measure)},
               {"strikes", a.strikes},
               {"window_days", a.window_days},
               {"request_id", a.request_id},
               {"status", NameOf(a.state)}}}});
  SetGround(&st, r, found);
  if (a.measure == AccountMeasure::kSuspend) {
    st["decision_account"] = "DECISION_ACCOUNT_SUSPENDED";
  } else if (a.measure == AccountMeasure::kRestrict) {
    st["decision_provision"] = "DECISION_PROVISION_PARTIAL_SUSPENSION";
  } else {
    // Nothing is restricted: an explanation for the uploader, not a statement for the database.
    st["takedown"]["dsa_database"] = false;
    return st;
  }
  return Checked(std::move(st), fmt::format("action {}", a.id),
                 r != nullptr
                     ? CategoryHint(*r)
                     : fmt::format("the category '{}' names no DSA category", NameOf(a.category)));
}

Result<json> Statements::OfBlock(int64_t block_id) {
  TD_ASSIGN_OR_RETURN(auto d, ctx_->stores.docs->GetDoc(block_id));
  if (!d || d->kind != kGateBlockDoc) {
    return NotFound(fmt::format("no block {} at the upload gate", block_id));
  }
  return OfBlock(*d);
}

// A re-upload blocked at the upload gate: own-initiative, automated detection and decision. The
// category and legal ground are those of the request the matching entry came from (the
// reviewer's choice included), else of the bank's category.
Result<json> Statements::OfBlock(const store::DocRecord& d) {
  const json b = json::parse(d.doc, nullptr, false);
  if (!b.is_object() || !b.contains("matches") || !b["matches"].is_array() ||
      b["matches"].empty() || !b["matches"][0].is_object()) {
    return DataLoss(fmt::format("block {}: the stored document is damaged", d.id));
  }
  const json& m = b["matches"][0];
  const std::string bank = m.value("bank", ""), bank_category = m.value("category", "");
  std::optional<Request> r;
  if (const int64_t rid = b.value("request_id", int64_t{0}); rid > 0) {
    auto loaded = LoadRequest(ctx_->stores.docs, rid);
    if (loaded.ok()) r = std::move(*loaded);
  }
  const Category category =
      r ? r->category : EnumFromName<Category>(bank_category).value_or(Category::kOther);
  dsa::CategoryMapping cat;
  if (r) {
    cat = CategoryOf(*r);
  } else if (auto mapped = dsa::MapCategory(category)) {
    cat = *mapped;
  }
  const bool video = b.value("media", "") == "video";
  json content_type = json::array({video ? "CONTENT_TYPE_VIDEO" : "CONTENT_TYPE_IMAGE"});
  for (const auto& t : cat.extra_content_types) content_type.push_back(t);
  const std::string legal = r && !r->notice.legal_basis.empty() ? r->notice.legal_basis
                                                                : dsa::DefaultLegalGround(category);
  const int64_t blocked_ms = b.value("blocked_ms", d.created_ms);
  const std::string signal = m.value("signal", "");
  const std::string facts = fmt::format(
      "Blocked when uploaded on {}: the item matched an entry of the platform's list of material "
      "removed before by its {} signal (distance {}). Detected and decided automatically, on the "
      "platform's own initiative.",
      Day(blocked_ms), signal, m.value("distance", 0));
  const std::string what =
      fmt::format("The {} was identified as a copy of material removed before as {}.",
                  video ? "video" : "image", CategoryText(category));
  json st = Common(
      cat, legal,
      r ? dsa::ParseTerritorialScope(r->notice.territorial_scope) : std::vector<std::string>{});
  st.update({{"decision_visibility", json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"})},
             {"content_type", content_type},
             {"decision_facts", dsa::Utf8Prefix(facts, 5000)},
             {"source_type", "SOURCE_VOLUNTARY"},
             {"automated_detection", "Yes"},
             {"automated_decision", "AUTOMATED_DECISION_FULLY"},
             {"application_date", Day(blocked_ms)},
             {"content_date", Day(blocked_ms)},
             {"puid", dsa::BlockPuid(d.id)},
             {"takedown",
              {{"block_id", d.id},
               {"content_id", b.value("content_id", "")},
               {"chat_id", b.value("chat_id", "")},
               {"entry_id", m.value("entry_id", int64_t{0})},
               {"bank", bank},
               {"signal", signal},
               {"distance", m.value("distance", 0)}}}});
  SetGround(&st, r ? &*r : nullptr, what);
  return Checked(std::move(st), fmt::format("block {}", d.id),
                 r ? CategoryHint(*r)
                   : fmt::format("the bank '{}' has the category '{}', which names no DSA "
                                 "category",
                                 bank, bank_category));
}

std::string Statements::CategoryHint(const Request& r) {
  return fmt::format(
      "the request's category '{}' names no DSA category: the reviewer's decision must give "
      "dsa_category",
      NameOf(r.category));
}

Result<json> Statements::Between(int64_t from_ms, int64_t to_ms, bool database_batches) {
  json out = json::array(), invalid = json::array();
  auto add = [&](Result<json> st, const json& which) -> Status {
    if (!st.ok()) {  // never exported: listed with the reason instead
      if (st.status().code() != StatusCode::kFailedPrecondition) return st.status();
      json why = which;
      why["error"] = st.status().message();
      invalid.push_back(std::move(why));
      return Status::Ok();
    }
    if (database_batches) {  // the database's fields only
      st->erase("redress");
      st->erase("takedown");
    }
    out.push_back(std::move(*st));
    return Status::Ok();
  };
  // Removals and chat restrictions acknowledged in the period. A sweep creates a request's
  // removals together, so they come in a run: each run reads its request once (one request held,
  // however long the period).
  std::optional<Request> request;
  TD_RETURN_IF_ERROR(ctx_->stores.docs->ForEachDoc(
      {.kind = std::string(kActionDoc),
       .state = std::string(NameOf(ActionState::kAcknowledged)),
       .limit = 1000},
      [&](const store::DocRecord& rec) -> Status {
        TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(rec));
        if (a.kind == ActionKind::kRestore || a.kind == ActionKind::kPreserve) return Status::Ok();
        if (a.acknowledged_ms < from_ms || a.acknowledged_ms >= to_ms) return Status::Ok();
        if (a.kind == ActionKind::kAccountAction && a.measure == AccountMeasure::kWarn)
          return Status::Ok();
        if ((a.kind == ActionKind::kRestrictChat || a.kind == ActionKind::kAccountAction) &&
            a.request_id == 0) {
          TD_RETURN_IF_ERROR(add(Of(a.id), {{"action_id", a.id}}));
          return Status::Ok();
        }
        if (!request || request->id != a.request_id) {
          TD_ASSIGN_OR_RETURN(request, LoadRequest(ctx_->stores.docs, a.request_id));
        }
        TD_RETURN_IF_ERROR(add(Of(a, *request), {{"action_id", a.id}}));
        return Status::Ok();
      }));
  // Uploads blocked at the gate in the period.
  TD_RETURN_IF_ERROR(
      ctx_->stores.docs->ForEachDoc({.kind = std::string(kGateBlockDoc),
                                     .created_from = from_ms,
                                     .created_to = to_ms,
                                     .limit = 1000},
                                    [&](const store::DocRecord& rec) {
                                      return add(OfBlock(rec), {{"block_id", rec.id}});
                                    }));
  if (!database_batches) return json{{"statements", out}, {"invalid", invalid}};
  // The database's bulk endpoint takes 1 to 100 statements a call: one batch a call.
  json batches = json::array();
  for (size_t i = 0; i < out.size(); i += kBatch) {
    json batch = json::array();
    for (size_t k = i; k < std::min(out.size(), i + kBatch); ++k) {
      batch.push_back(std::move(out[k]));
    }
    batches.push_back({{"statements", std::move(batch)}});
  }
  return json{{"batches", batches}, {"invalid", invalid}};
}

}  // namespace takedown::service
