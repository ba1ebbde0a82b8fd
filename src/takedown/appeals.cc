#include "takedown/appeals.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "intake/notice.h"

namespace takedown::service {

using nlohmann::json;

namespace {

std::string Str(const json& body, const char* key, size_t max, intake::Problems* p) {
  if (!body.contains(key) || body[key].is_null()) return "";
  if (!body[key].is_string()) {
    p->push_back({key, "must be a string"});
    return "";
  }
  std::string v = body[key].get<std::string>();
  if (v.size() > max) p->push_back({key, fmt::format("longer than {} characters", max)});
  return v;
}

}  // namespace

json Appeals::View(const Appeal& a) {
  json j = ToJson(a);
  j.erase("ukey");
  j.erase("owner_id");
  j.erase("created_ms");
  return j;
}

Result<json> Appeals::File(const Principal& who, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  intake::Problems p;
  int64_t action_id = 0;
  if (!body.contains("action_id") || !body["action_id"].is_number_integer()) {
    p.push_back({"action_id", "missing or not an integer"});
  } else {
    action_id = body["action_id"].get<int64_t>();
  }
  const std::string reason = Str(body, "reason", 5000, &p);
  if (reason.empty()) p.push_back({"reason", "missing: the uploader's grounds"});
  const std::string uploader = Str(body, "uploader_id", 256, &p);
  if (!p.empty()) return intake::ProblemsStatus(p);
  TD_ASSIGN_OR_RETURN(Action a, LoadAction(ctx_->stores.docs, action_id));
  if ((a.kind != ActionKind::kRemove && a.kind != ActionKind::kAccountAction) ||
      a.state != ActionState::kAcknowledged) {
    return FailedPrecondition(
        fmt::format("action {} is not a completed removal or account action", action_id));
  }
  const int64_t now = ctx_->Now();
  if (now - a.acknowledged_ms > int64_t{ctx_->opt.appeal_window_days} * 86400 * 1000) {
    return FailedPrecondition(
        fmt::format("the appeal window ({} days) has closed", ctx_->opt.appeal_window_days));
  }
  Appeal ap;
  ap.action_id = action_id;
  ap.content_id = a.content_id;
  ap.uploader_id = uploader.empty() ? a.uploader_id : uploader;
  ap.reason = reason;
  ap.filed_ms = now;
  ap.filed_by = who.actor();
  // The appeal and its audit record together; one appeal per removal (its ukey).
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(ap));
  TD_ASSIGN_OR_RETURN(auto ids, ctx_->stores.docs->PutDocs(ch.docs));
  if (ids[0] < 0) {
    return FailedPrecondition(fmt::format("action {} already has appeal {}", action_id, -ids[0]));
  }
  ap.id = ids[0];
  TD_RETURN_IF_ERROR(
      ctx_->Audit(who.actor(), "appeal.filed", {{"appeal_id", ap.id}, {"action_id", action_id}}));
  return View(ap);
}

Result<json> Appeals::List(const std::string& status, int64_t limit) {
  if (!status.empty() && !EnumFromName<AppealState>(status)) {
    return InvalidArgument(fmt::format("status must be {}", EnumChoices<AppealState>()));
  }
  TD_ASSIGN_OR_RETURN(auto rows,
                      ctx_->stores.docs->FindDocs({.kind = std::string(kAppealDoc),
                                                   .state = status,
                                                   .limit = std::clamp<int64_t>(limit, 1, 1000)}));
  json out = json::array();
  for (const auto& rec : rows) {
    TD_ASSIGN_OR_RETURN(Appeal a, AppealFromDoc(rec));
    out.push_back(View(a));
  }
  return json{{"appeals", out}};
}

Result<json> Appeals::Decide(const Principal& who, int64_t appeal_id, const json& body) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  intake::Problems p;
  const std::string outcome = Str(body, "outcome", 16, &p);
  if (outcome != "upheld" && outcome != "rejected") {
    p.push_back({"outcome", "must be upheld (the removal was wrong: restore) or rejected"});
  }
  const std::string reason = Str(body, "reason", 5000, &p);
  if (reason.empty()) p.push_back({"reason", "missing (a decision states its reason)"});
  bool disable_entry = false;
  if (body.contains("disable_entry")) {
    if (!body["disable_entry"].is_boolean())
      p.push_back({"disable_entry", "must be true or false"});
    else
      disable_entry = body["disable_entry"].get<bool>();
  }
  if (!p.empty()) return intake::ProblemsStatus(p);

  TD_ASSIGN_OR_RETURN(auto l, ctx_->request_locks.Lock(appeal_id));
  TD_ASSIGN_OR_RETURN(Appeal ap, LoadAppeal(ctx_->stores.docs, appeal_id));
  if (ap.state != AppealState::kOpen) {
    return FailedPrecondition(fmt::format("appeal {} is already {}", appeal_id, NameOf(ap.state)));
  }
  TD_ASSIGN_OR_RETURN(Action a, LoadAction(ctx_->stores.docs, ap.action_id));
  // DSA Art. 20(6): an appeal is decided by someone other than the person who decided the
  // removal (a request's reviewer; an automated decision had none).
  if (a.request_id > 0) {
    TD_ASSIGN_OR_RETURN(Request r, LoadRequest(ctx_->stores.docs, a.request_id));
    if (r.decision && !r.decision->automated && r.decision->by == who.actor()) {
      return FailedPrecondition(fmt::format(
          "appeal {}: you decided request {} that removed this content; another reviewer "
          "decides its appeal",
          appeal_id, a.request_id));
    }
  }
  ap.state = outcome == "upheld" ? AppealState::kUpheld : AppealState::kRejected;
  ap.decided_ms = ctx_->Now();
  ap.decided_by = who.actor();
  ap.decision_reason = reason;
  if (ap.state == AppealState::kUpheld) {
    Action restore;
    restore.kind = ActionKind::kRestore;
    restore.owner_id = a.owner_id;
    restore.request_id = a.request_id;
    restore.appeal_id = appeal_id;
    restore.content_row = a.content_row;
    restore.content_id = a.content_id;
    restore.chat_id = a.chat_id;
    restore.uploader_id = a.uploader_id;
    if (a.kind == ActionKind::kAccountAction) {  // lift the measure from the account
      restore.account_action_id = a.id;
      restore.measure = a.measure;
    }
    restore.ukey = fmt::format("restore:{}", ap.action_id);
    TD_ASSIGN_OR_RETURN(ap.restore_action_id, actions_->Queue(restore));
    if (disable_entry && a.entry_id > 0) {
      TD_RETURN_IF_ERROR(ctx_->svc->SetEntryEnabled(a.entry_id, false, who.actor()));
      ap.disabled_entry_id = a.entry_id;
    }
  }
  store::DocumentStore::Changes ch;
  ch.docs.push_back(ToDoc(ap));
  ch.expect_states.emplace_back(appeal_id, std::string(NameOf(AppealState::kOpen)));
  ch.audits.push_back({who.actor(), "appeal." + outcome,
                       json{{"appeal_id", appeal_id},
                            {"action_id", ap.action_id},
                            {"reason", reason},
                            {"disabled_entry", ap.disabled_entry_id}}
                           .dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  if (ap.state == AppealState::kUpheld && on_upheld_) {
    if (Status st = on_upheld_(a); !st.ok()) {  // the appeal stands; the count is said wrong
      spdlog::error("appeal {}: the uploader's strike for action {} still counts: {}", appeal_id,
                    a.id, st.message());
    }
  }
  return View(ap);
}

}  // namespace takedown::service
