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
  if (a.kind != ActionKind::kRemove) {
    return FailedPrecondition(
        fmt::format("action {} is a {}, not a removal", action_id, NameOf(a.kind)));
  }
  TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, a.request_id));
  return Of(a, r);
}

Result<json> Statements::Of(const Action& a, const Request& r) const {
  const bool automated = a.automated_decision;
  const bool video = a.media == "video";
  // The category: the reviewer's choice, else the request category's mapping.
  dsa::CategoryMapping cat;
  if (r.decision && !r.decision->dsa_category.empty()) {
    cat.category = r.decision->dsa_category;
    cat.keywords = r.decision->dsa_keywords;
  } else if (auto m = dsa::MapCategory(r.category)) {
    cat = *m;
  }
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
  const std::string explanation = fmt::format(
      "The {} was reported as {} and identified as a copy of the reported material by its {} "
      "signal. Sharing it is illegal under the legal ground stated.",
      video ? "video" : "image", CategoryText(r.category), a.signal);
  const std::string legal =
      r.notice.legal_basis.empty() ? dsa::DefaultLegalGround(r.category) : r.notice.legal_basis;
  // The scope: the request's, else the platform's; only EU/EEA member states.
  std::vector<std::string> scope = dsa::ParseTerritorialScope(r.notice.territorial_scope);
  if (scope.empty()) scope = platform_scope_;
  // The content's date: when the platform first recorded it; unknown or impossible dates give
  // way to the request's receipt (the content existed by then).
  const int64_t content_ms =
      a.content_created_ms >= kYear2000Ms ? a.content_created_ms : r.received_ms;
  json st = {{"decision_visibility", json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"})},
             {"decision_ground", "DECISION_GROUND_ILLEGAL_CONTENT"},
             {"illegal_content_legal_ground", dsa::Utf8Prefix(legal, 500)},
             {"illegal_content_explanation", dsa::Utf8Prefix(explanation, 2000)},
             {"content_type", content_type},
             {"category", cat.category},
             {"decision_facts", dsa::Utf8Prefix(facts, 5000)},
             {"source_type", DsaSourceType(r.source_type)},
             {"automated_detection", a.signal == "location" ? "No" : "Yes"},
             {"automated_decision",
              automated ? "AUTOMATED_DECISION_FULLY" : "AUTOMATED_DECISION_PARTIALLY"},
             {"application_date", Day(a.acknowledged_ms != 0 ? a.acknowledged_ms : a.created_ms)},
             {"content_date", Day(content_ms)},
             {"puid", dsa::Puid(a.id)},
             {"redress",
              {{"internal_complaint",
                "appeal within 6 months through the platform (free, decided by a person)"},
               {"out_of_court_settlement",
                "a certified out-of-court dispute settlement body (DSA Art. 21)"},
               {"judicial", "the courts of the member state concerned"}}},
             {"takedown",
              {{"action_id", a.id},
               {"request_id", a.request_id},
               {"content_id", a.content_id},
               {"signal", a.signal},
               {"distance", a.distance},
               {"status", NameOf(a.state)}}}};
  if (!cat.keywords.empty()) st["category_specification"] = cat.keywords;
  if (!scope.empty()) st["territorial_scope"] = scope;
  if (r.source_type == SourceType::kAuthorityOrder && !r.notice.issuing_authority.empty()) {
    st["source_identity"] = dsa::Utf8Prefix(r.notice.issuing_authority, 500);
  }
  // Never handed out (nor exported) unless the database would take it.
  const auto problems = dsa::Validate(st);
  if (!problems.empty()) {
    std::vector<std::string> parts;
    for (const auto& p : problems) parts.push_back(p.field + ": " + p.message);
    std::string why = fmt::format("{}", fmt::join(parts, "; "));
    if (cat.category.empty()) {
      why += fmt::format(
          " (the request's category '{}' names no DSA category: the reviewer's decision must "
          "give dsa_category)",
          NameOf(r.category));
    }
    return FailedPrecondition(fmt::format(
        "the statement of reasons for action {} would be refused by the DSA Transparency "
        "Database: {}",
        a.id, why));
  }
  return st;
}

Result<json> Statements::Between(int64_t from_ms, int64_t to_ms, bool database_batches) {
  json out = json::array(), invalid = json::array();
  // A sweep creates a request's removals together, so they come in a run: each run reads its
  // request once (one request held, however long the period).
  std::optional<Request> request;
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
      if (!request || request->id != a.request_id) {
        TD_ASSIGN_OR_RETURN(request, LoadRequest(ctx_->stores.docs, a.request_id));
      }
      auto st = Of(a, *request);
      if (!st.ok()) {  // never exported: listed with the reason instead
        if (st.status().code() != StatusCode::kFailedPrecondition) return st.status();
        invalid.push_back({{"action_id", a.id}, {"error", st.status().message()}});
        continue;
      }
      if (database_batches) {  // the database's fields only
        st->erase("redress");
        st->erase("takedown");
      }
      out.push_back(std::move(*st));
    }
  }
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
