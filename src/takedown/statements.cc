#include "takedown/statements.h"

#include <fmt/format.h>

#include "core/clock.h"

namespace takedown::service {
namespace {

using nlohmann::json;

std::string DsaSourceType(SourceType source, bool trusted) {
  if (source == SourceType::kAuthorityOrder) return "SOURCE_TYPE_OTHER_NOTIFICATION";  // Art. 9
  if (source == SourceType::kTrustedFlagger || source == SourceType::kHotline || trusted) {
    return "SOURCE_TRUSTED_FLAGGER";
  }
  return "SOURCE_ARTICLE_16";
}

std::string DsaCategory(Category c) {
  switch (c) {
    case Category::kCsam:
      return "STATEMENT_CATEGORY_PROTECTION_OF_MINORS";
    case Category::kNcii:
    case Category::kDeepfakeSexual:
      return "STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR";
    case Category::kTerrorism:
      return "STATEMENT_CATEGORY_RISK_FOR_PUBLIC_SECURITY";
    case Category::kOther:
      break;
  }
  return "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH";
}

}  // namespace

Result<json> Statements::Of(int64_t action_id) {
  TD_ASSIGN_OR_RETURN(Action a, LoadAction(ctx_->stores.docs, action_id));
  if (a.kind != ActionKind::kRemove) {
    return FailedPrecondition(
        fmt::format("action {} is a {}, not a removal", action_id, NameOf(a.kind)));
  }
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, a.request_id));
  return Of(a, r);
}

Result<json> Statements::Of(const Action& a, const Request& r) const {
  const bool automated = a.automated_decision;
  const std::string category(NameOf(r.category));
  const std::string facts = fmt::format(
      "Removed after a removal request ({}, category {}) received {}: the item matched the "
      "reported material by {} (distance {}){}.",
      NameOf(r.source_type), category, IsoUtc(r.received_ms), a.signal, a.distance,
      automated ? "; the request was approved automatically (trusted source, hash match)"
                : "; a reviewer approved the request");
  const std::string& legal = r.notice.legal_basis;
  return json{
      {"decision_visibility", json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"})},
      {"decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"},
      {"illegal_content_legal_ground",
       legal.empty() ? "Illegal content as reported (" + category + ")" : legal},
      {"illegal_content_explanation", r.notice.explanation.substr(0, 2000)},
      {"content_type",
       json::array({a.media == "video" ? "CONTENT_TYPE_VIDEO" : "CONTENT_TYPE_IMAGE"})},
      {"category", DsaCategory(r.category)},
      {"decision_facts", facts.substr(0, 5000)},
      {"source_type", DsaSourceType(r.source_type, r.trusted)},
      {"source_identity",
       r.source_type == SourceType::kAuthorityOrder ? r.notice.issuing_authority : std::string()},
      {"automated_detection", a.signal == "location" ? "No" : "Yes"},
      {"automated_decision",
       automated ? "AUTOMATED_DECISION_FULLY" : "AUTOMATED_DECISION_PARTIALLY"},
      {"application_date",
       IsoUtc(a.acknowledged_ms != 0 ? a.acknowledged_ms : a.created_ms).substr(0, 10)},
      {"content_date", IsoUtc(a.content_created_ms).substr(0, 10)},
      {"territorial_scope", r.notice.territorial_scope},
      {"puid", a.content_id},
      {"redress",
       {{"internal_complaint",
         "appeal within 6 months through the platform (free, decided by a person)"},
        {"out_of_court_settlement",
         "a certified out-of-court dispute settlement body (DSA Art. 21)"},
        {"judicial", "the courts of the member state concerned"}}},
      {"takedown",
       {{"action_id", a.id},
        {"request_id", a.request_id},
        {"signal", a.signal},
        {"distance", a.distance},
        {"status", NameOf(a.state)}}}};
}

Result<json> Statements::Between(int64_t from_ms, int64_t to_ms) {
  json out = json::array();
  for (int64_t after = 0;;) {
    TD_ASSIGN_OR_RETURN(auto rows, ctx_->stores.docs->FindDocs(
                                       {.kind = std::string(kActionDoc),
                                        .state = std::string(NameOf(ActionState::kAcknowledged)),
                                        .after_id = after,
                                        .limit = 1000}));
    if (rows.empty()) break;
    after = rows.back().id;
    for (const auto& rec : rows) {
      TD_ASSIGN_OR_RETURN(Action a, ActionFromDoc(rec));
      if (a.kind != ActionKind::kRemove) continue;
      if (a.acknowledged_ms < from_ms || a.acknowledged_ms >= to_ms) continue;
      TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, a.request_id));
      TD_ASSIGN_OR_RETURN(json st, Of(a, r));
      out.push_back(std::move(st));
    }
  }
  return json{{"statements", out}};
}

}  // namespace takedown::service
