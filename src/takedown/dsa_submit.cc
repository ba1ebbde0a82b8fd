#include "takedown/dsa_submit.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <map>

namespace takedown::service {

using nlohmann::json;

store::DocRecord DsaStatementQueued(int64_t action_id, int64_t now_ms) {
  store::DocRecord d;
  d.kind = std::string(kDsaStatementDoc);
  d.owner = action_id;
  d.state = "queued";
  d.due_ms = now_ms;
  d.ukey = fmt::format("dsa:{}", action_id);
  d.doc = json{{"kind", kDsaStatementDoc},
               {"action_id", action_id},
               {"status", "queued"},
               {"attempts", 0},
               {"queued_ms", now_ms}}
              .dump();
  return d;
}

store::DocRecord DsaBlockStatementQueued(int64_t content_row, int64_t now_ms) {
  store::DocRecord d;
  d.kind = std::string(kDsaStatementDoc);
  d.owner = content_row;
  d.state = "queued";
  d.due_ms = now_ms;
  d.ukey = fmt::format("dsa:block:{}", content_row);
  d.doc = json{{"kind", kDsaStatementDoc}, {"subject", "gate_block"}, {"content_row", content_row},
               {"status", "queued"},       {"attempts", 0},           {"queued_ms", now_ms}}
              .dump();
  return d;
}

Result<json> DsaSubmitter::StatementOf(const store::DocRecord& queued) {
  const json j = json::parse(queued.doc, nullptr, false);
  if (j.is_object() && j.value("subject", "") == "gate_block") {
    TD_ASSIGN_OR_RETURN(
        auto blocks,
        ctx_->stores.docs->FindDocs(
            {.kind = std::string(kGateBlockDoc), .limit = 1, .ukey = GateBlockKey(queued.owner)}));
    if (blocks.empty()) {
      return NotFound(fmt::format("the block of content row {} is not stored", queued.owner));
    }
    return statements_->OfBlock(blocks.front());
  }
  return statements_->Of(queued.owner);
}

namespace {

// What is kept of the database's answer: its uuid and puid for a statement it created; its
// message and the errors by field for a refusal; the first 4,000 bytes of a body that is not a
// JSON object.
json KeptAnswer(const json& body, const std::string& raw) {
  if (!body.is_object()) return json{{"body", raw.substr(0, 4000)}};
  json kept = json::object();
  for (const char* k : {"uuid", "puid", "message"}) {
    if (body.contains(k) && body[k].is_string())
      kept[k] = body[k].get<std::string>().substr(0, 1000);
  }
  if (body.contains("errors") && body["errors"].is_object()) {
    json errors = json::object();
    for (const auto& [field, list] : body["errors"].items()) {
      json messages = json::array();
      for (const auto& m : list.is_array() ? list : json::array({list})) {
        messages.push_back(m.is_string() ? m.get<std::string>().substr(0, 1000) : m.dump());
      }
      errors[field.substr(0, 200)] = std::move(messages);
    }
    kept["errors"] = std::move(errors);
  }
  if (kept.empty()) kept["body"] = raw.substr(0, 4000);
  return kept;
}

}  // namespace

DsaSubmitter::DsaSubmitter(WorkflowContext* ctx, Statements* statements,
                           std::unique_ptr<ActionSink> database)
    : ctx_(ctx), statements_(statements), database_(std::move(database)) {
  backoff_.base_ms = ctx_->opt.retry_base_ms;
  backoff_.max_ms = ctx_->opt.retry_max_ms;
  auto* m = ctx_->metrics;
  const std::string help =
      "Statements of reasons sent to the DSA Transparency Database, by result.";
  submitted_ = m->Counter("takedown_dsa_statements_total", help, {{"result", "submitted"}});
  refused_ = m->Counter("takedown_dsa_statements_total", help, {{"result", "refused"}});
  invalid_ = m->Counter("takedown_dsa_statements_total", help, {{"result", "invalid"}});
  retried_ = m->Counter("takedown_dsa_statements_total", help, {{"result", "retried"}});
}

DsaSubmitter::~DsaSubmitter() {
  {
    MutexLock l(&mu_);
    stopping_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void DsaSubmitter::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void DsaSubmitter::Loop() {
  MutexLock l(&mu_);
  while (!stopping_) {
    mu_.Unlock();
    auto round = SubmitDue();
    if (!round.ok()) spdlog::warn("dsa database: {}", round.status().message());
    const bool full =
        round.ok() &&
        round->submitted + round->refused + round->invalid + round->retried >= Statements::kBatch;
    mu_.Lock();
    if (stopping_) break;
    if (!full) {
      cv_.WaitFor(&mu_, std::chrono::milliseconds(
                            std::max<int64_t>(100, ctx_->opt.dsa_submit_interval_ms)));
    }
  }
}

Status DsaSubmitter::Reschedule(std::vector<store::DocRecord> docs, const std::string& error) {
  store::DocumentStore::Changes ch;
  for (auto& d : docs) {
    json j = json::parse(d.doc, nullptr, false);
    if (!j.is_object()) j = json::object();
    const int attempts = j.value("attempts", 0) + 1;
    j["attempts"] = attempts;
    j["last_error"] = error.substr(0, 1000);
    j["last_attempt_ms"] = ctx_->Now();
    d.due_ms = ctx_->Now() + backoff_.DelayMs(attempts, ctx_->env);
    d.doc = j.dump();
    ch.expect_states.emplace_back(d.id, d.state);
    ch.docs.push_back(std::move(d));
  }
  return ctx_->stores.docs->Transact(ch).status();
}

Result<DsaSubmitter::Round> DsaSubmitter::SubmitDue() {
  MutexLock one(&round_mu_);
  Round round;
  // Claimed, not only read: every process sharing the store submits, and a statement claimed by
  // one is passed over by the others until its lease ends (a claimer that died leaves it due
  // again then).
  const int64_t now = ctx_->Now();
  TD_ASSIGN_OR_RETURN(auto due,
                      ctx_->stores.docs->ClaimDocs(std::string(kDsaStatementDoc), "queued", now,
                                                   now + kClaimMs, Statements::kBatch));
  if (due.empty()) return round;
  // The statements, as the database takes them; one the validator refuses is never sent.
  json batch = json::array();
  std::vector<store::DocRecord> sent;
  store::DocumentStore::Changes invalid;
  for (auto& d : due) {
    Result<json> st = StatementOf(d);
    if (!st.ok()) {
      if (st.status().code() != StatusCode::kFailedPrecondition &&
          st.status().code() != StatusCode::kNotFound)
        return st.status();
      json j = json::parse(d.doc, nullptr, false);
      if (!j.is_object()) j = json::object();
      j["status"] = "invalid";
      j["error"] = st.status().message();
      invalid.expect_states.emplace_back(d.id, d.state);
      d.state = "invalid";
      d.doc = j.dump();
      invalid.docs.push_back(d);
      invalid.audits.push_back(
          {"system", "dsa.statement.invalid",
           json{{"statement", d.id}, {"error", st.status().message()}}.dump()});
      ++round.invalid;
      continue;
    }
    st->erase("redress");  // the database's fields only
    st->erase("takedown");
    batch.push_back(std::move(*st));
    sent.push_back(d);
  }
  if (!invalid.docs.empty()) {
    TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(invalid).status());
    invalid_->Inc(round.invalid);
    spdlog::error(
        "dsa database: {} statements not sent: the validator refuses them (see the audit)",
        round.invalid);
  }
  if (sent.empty()) return round;
  // Sent only well within the claim: past it another process may claim and send the same
  // statements (the call itself is bounded by the sink's timeouts, seconds).
  if (const int64_t spent = ctx_->Now() - now; spent > kClaimMs / 2) {
    TD_RETURN_IF_ERROR(Reschedule(
        std::move(sent), fmt::format("not sent: preparing the round took {} s of its {} s claim",
                                     spent / 1000, kClaimMs / 1000)));
    round.retried = batch.size();
    retried_->Inc(round.retried);
    spdlog::warn("dsa database: {} statements not sent: the round took {} s to prepare; retried",
                 round.retried, spent / 1000);
    return round;
  }

  std::vector<std::pair<std::string, std::string>> headers = {{"Accept", "application/json"}};
  if (!ctx_->opt.dsa_database_token.empty())
    headers.emplace_back("Authorization", "Bearer " + ctx_->opt.dsa_database_token);
  auto answer = database_->Exchange(json{{"statements", batch}}.dump(), headers);
  const int status = answer.ok() ? answer->status : 0;
  if (!answer.ok() || (status != 400 && status != 422 && (status < 200 || status >= 300))) {
    const std::string error =
        answer.ok() ? fmt::format("HTTP {}", status) : answer.status().message();
    TD_RETURN_IF_ERROR(Reschedule(std::move(sent), error));
    round.retried = batch.size();
    retried_->Inc(round.retried);
    spdlog::warn("dsa database: {} statements not submitted ({}); retried later", round.retried,
                 error);
    return round;
  }
  const json body = json::parse(answer->body, nullptr, false);
  const bool accepted = status >= 200 && status < 300;
  // The database's answer for each statement, by puid when it lists them.
  std::map<std::string, json> by_puid;
  if (body.is_object() && body.contains("statements") && body["statements"].is_array()) {
    for (const auto& s : body["statements"]) {
      if (s.is_object() && s.contains("puid") && s["puid"].is_string())
        by_puid[s["puid"].get<std::string>()] = s;
    }
  }
  store::DocumentStore::Changes ch;
  for (size_t i = 0; i < sent.size(); ++i) {
    store::DocRecord d = sent[i];
    json j = json::parse(d.doc, nullptr, false);
    if (!j.is_object()) j = json::object();
    const std::string puid = batch[i].value("puid", "");
    j["status"] = accepted ? "submitted" : "refused";
    j["puid"] = puid;
    j["answered_ms"] = ctx_->Now();
    j["http_status"] = status;
    if (auto it = by_puid.find(puid); it != by_puid.end()) {
      j["answer"] = KeptAnswer(it->second, "");
    } else if (!accepted) {
      j["answer"] = KeptAnswer(body, answer->body);
    }
    ch.expect_states.emplace_back(d.id, d.state);
    d.state = accepted ? "submitted" : "refused";
    d.doc = j.dump();
    ch.docs.push_back(std::move(d));
  }
  ch.audits.push_back({"system", accepted ? "dsa.statements.submitted" : "dsa.statements.refused",
                       json{{"count", sent.size()},
                            {"http_status", status},
                            {"first_puid", batch.front().value("puid", "")},
                            {"last_puid", batch.back().value("puid", "")}}
                           .dump()});
  TD_RETURN_IF_ERROR(ctx_->stores.docs->Transact(ch).status());
  if (accepted) {
    round.submitted = sent.size();
    submitted_->Inc(round.submitted);
  } else {
    round.refused = sent.size();
    refused_->Inc(round.refused);
    spdlog::error("dsa database: HTTP {}: {} statements refused: {}", status, sent.size(),
                  answer->body.substr(0, 300));
  }
  return round;
}

}  // namespace takedown::service
