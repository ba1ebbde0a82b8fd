#include "takedown/workflow.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "core/clock.h"
#include "core/text.h"

namespace takedown::service {
namespace {

// A block at the upload gate as an uploader's strike (counted once: its ref is the block's).
std::pair<std::string, Uploaders::Strike> StrikeOf(const Service::Blocked& b) {
  const Category category = EnumFromName<Category>(b.category).value_or(Category::kOther);
  return {b.uploader_id,
          {fmt::format("blocked:{}", b.block_id), category, b.blocked_ms, b.content_id, b.chat_id,
           b.media, b.request_id, b.blocked_ms}};
}

// How far blocks at the gate are known to be counted as strikes (a document of its own): a
// workflow starting counts the blocks made since, less a margin -- those made while no process
// ran the workflow (a failover, an outage), which no hook was told of.
constexpr std::string_view kBlocksCountedDoc = "strikes_counted";
constexpr int64_t kBlocksCountedMarginMs = 300'000;
constexpr int64_t kBlocksCountedFirstMs = 86'400'000;  // no mark yet: the last day

}  // namespace

Workflow::Workflow(Service* svc, WorkflowStores stores, std::unique_ptr<ActionSink> sink,
                   WorkflowOptions options, Env* env, MetricsRegistry* metrics)
    : own_metrics_(metrics == nullptr ? std::make_unique<MetricsRegistry>() : nullptr),
      ctx_{env != nullptr ? env : Env::Default(), svc, stores, std::move(options),
           metrics != nullptr ? metrics : own_metrics_.get()} {
  profiles_ = std::make_unique<RequesterProfiles>(&ctx_);
  evidence_ = std::make_unique<Evidence>(&ctx_);
  sweeper_ = std::make_unique<Sweeper>(&ctx_, evidence_.get());
  statements_ = std::make_unique<service::Statements>(&ctx_);
  uploaders_ = std::make_unique<Uploaders>(&ctx_, [this] { actions_->Wake(); });
  spread_ = std::make_unique<service::Spread>(&ctx_, sweeper_.get(), uploaders_.get());
  requests_ = std::make_unique<Requests>(&ctx_, profiles_.get(), evidence_.get(), sweeper_.get(),
                                         [this] { actions_->Wake(); });
  actions_ = std::make_unique<Actions>(
      &ctx_, std::move(sink), statements_.get(),
      [this](int64_t request_id) { return requests_->MaybeConfirm(request_id); });
  appeals_ = std::make_unique<Appeals>(&ctx_, actions_.get());
  if (uploaders_->on()) {
    // Repeat uploaders: strikes from removals the platform acknowledged and uploads blocked at
    // the gate; an upheld appeal takes its strike back.
    Uploaders* uploaders = uploaders_.get();
    actions_->SetOnRemovals([uploaders](const std::vector<Action>& removals) {
      std::vector<std::pair<std::string, Uploaders::Strike>> strikes;
      for (const Action& a : removals) {
        strikes.push_back({a.uploader_id,
                           {fmt::format("removed:{}", a.id), a.category, a.acknowledged_ms,
                            a.content_id, a.chat_id, a.media, a.request_id, a.content_created_ms}});
      }
      return uploaders->Count(strikes);
    });
    appeals_->SetOnUpheld([uploaders](const Action& removal) {
      return uploaders->Void(removal.uploader_id, fmt::format("removed:{}", removal.id));
    });
    ctx_.svc->SetBlockedHook([uploaders](const Service::Blocked& b) {
      Status st = uploaders->Count({StrikeOf(b)});
      if (!st.ok()) {
        spdlog::error("uploaders: block {} of '{}' not counted: {}", b.block_id, b.uploader_id,
                      st.message());
      }
    });
  }
  report_ = std::make_unique<TransparencyReport>(&ctx_);
  if (!ctx_.opt.package_signing_seed.empty()) {
    auto signer = PackageSigner::FromSeed(ctx_.opt.package_signing_seed);
    if (signer.ok()) {
      signer_ = std::make_unique<PackageSigner>(std::move(*signer));
      RecordPackageKey();
    } else {
      spdlog::error("packages: {}; no package can be made", signer.status().message());
    }
  }
  disclosures_ = std::make_unique<Disclosures>(&ctx_, sweeper_.get(), spread_.get(),
                                               profiles_.get(), signer_.get());
  holds_ = std::make_unique<Holds>(&ctx_, sweeper_.get(), disclosures_.get(), actions_.get());
  victims_ = std::make_unique<VictimCases>(&ctx_, requests_.get(), profiles_.get());
  RegisterMetrics();
}

Workflow::~Workflow() {
  {
    MutexLock l(&stop_mu_);
    stopping_ = true;
  }
  stop_cv_.SignalAll();
  if (retention_.joinable()) retention_.join();
  if (resume_.joinable()) resume_.join();
  requests_->StopHashing();
  if (dsa_) ctx_.svc->SetBlockHook(nullptr);
  if (uploaders_->on()) ctx_.svc->SetBlockedHook(nullptr);
  dsa_.reset();
  actions_->Stop();
  for (const char* m :
       {"takedown_outbox_pending", "takedown_outbox_oldest_pending_seconds",
        "takedown_review_queue_pending", "takedown_review_queue_oldest_deadline_seconds",
        "takedown_requests", "takedown_evidence_hash_backlog"}) {
    ctx_.metrics->RemoveCallback(m);
  }
}

void Workflow::RegisterMetrics() {
  store::DocumentStore* docs = ctx_.stores.docs;
  Env* env = ctx_.env;
  using Samples = MetricsRegistry::Samples;
  ctx_.metrics->Callback(
      "takedown_outbox_pending", "Actions waiting for delivery.", "gauge", [docs] {
        auto c = docs->CountDocs(std::string(kActionDoc), "pending");
        return c.ok() ? Samples{{{{"outbox", "webhook"}}, static_cast<double>(c->count)}}
                      : Samples{};
      });
  ctx_.metrics->Callback("takedown_outbox_oldest_pending_seconds",
                         "Age of the oldest action waiting for delivery.", "gauge", [docs, env] {
                           auto c = docs->CountDocs(std::string(kActionDoc), "pending");
                           if (!c.ok()) return Samples{};
                           const double age =
                               c->count == 0 ? 0 : (env->NowMs() - c->oldest_created_ms) / 1000.0;
                           return Samples{{{{"outbox", "webhook"}}, age}};
                         });
  ctx_.metrics->Callback(
      "takedown_review_queue_pending", "Requests waiting for a reviewer.", "gauge", [docs] {
        auto c = docs->CountDocs(std::string(kRequestDoc),
                                 std::string(NameOf(RequestState::kPendingReview)));
        return c.ok() ? Samples{{{}, static_cast<double>(c->count)}} : Samples{};
      });
  ctx_.metrics->Callback(
      "takedown_review_queue_oldest_deadline_seconds",
      "Seconds until the earliest deadline in the review queue (negative: overdue).", "gauge",
      [docs, env] {
        auto c = docs->CountDocs(std::string(kRequestDoc),
                                 std::string(NameOf(RequestState::kPendingReview)));
        if (!c.ok() || c->count == 0) return Samples{};
        return Samples{{{}, (c->earliest_due_ms - env->NowMs()) / 1000.0}};
      });
  Requests* requests = requests_.get();
  ctx_.metrics->Callback(
      "takedown_evidence_hash_backlog",
      "Requests whose media waits to be hashed in the background, or is being hashed.", "gauge",
      [requests] {
        return Samples{{{}, static_cast<double>(requests->HashingBacklog())}};
      });
  ctx_.metrics->Callback("takedown_requests", "Removal requests by status.", "gauge", [docs] {
    Samples out;
    for (const auto& [state, name] : EnumNames<RequestState>::kNames) {
      auto c = docs->CountDocs(std::string(kRequestDoc), std::string(name));
      if (c.ok()) out.push_back({{{"status", std::string(name)}}, static_cast<double>(c->count)});
    }
    return out;
  });
}

void Workflow::Start() {
  if (Status st = profiles_->Start(); !st.ok())
    spdlog::error("workflow: indexing senders: {}", st.message());
  requests_->StartHashing();
  if (Status st = requests_->Recover(); !st.ok())
    spdlog::error("workflow: recovery: {}", st.message());
  if (uploaders_->on()) {
    if (Status st = CountMissedBlocks(); !st.ok())
      spdlog::error("uploaders: counting the blocks made while the workflow was down: {}",
                    st.message());
  }
  if (evidence_->retains()) retention_ = std::thread([this] { RetentionLoop(); });
  resume_ = std::thread([this] { ResumeLoop(); });
  actions_->Start();
  if (dsa_) dsa_->Start();
}

void Workflow::EnableDsaSubmission(std::unique_ptr<ActionSink> database) {
  dsa_ = std::make_unique<DsaSubmitter>(&ctx_, statements_.get(), std::move(database));
  // Blocks at the upload gate queue their statements in the block's own transaction.
  Env* env = ctx_.env;
  ctx_.svc->SetBlockHook([env](int64_t content_row, store::DocumentStore::Changes* ch) {
    ch->docs.push_back(DsaBlockStatementQueued(content_row, env->NowMs()));
  });
}

Result<DsaSubmitter::Round> Workflow::SubmitStatementsNow() {
  if (!dsa_) return FailedPrecondition("submission to the DSA Transparency Database is off");
  return dsa_->SubmitDue();
}

void Workflow::RetentionLoop() {
  MutexLock l(&stop_mu_);
  while (!stopping_) {
    stop_mu_.Unlock();
    if (auto n = evidence_->PurgeExpired(); !n.ok()) {
      spdlog::warn("evidence: deleting expired media: {}", n.status().message());
    }
    stop_mu_.Lock();
    if (stopping_) break;
    stop_cv_.WaitFor(&stop_mu_, std::chrono::seconds(std::max(1, ctx_.opt.retention_sweep_s)));
  }
}

Status Workflow::ResumeNow() {
  TD_RETURN_IF_ERROR(requests_->Resume(kResumeAfter.count()));
  return ctx_.opt.shared ? requests_->TakeUpStranded() : Status::Ok();
}

void Workflow::ResumeLoop() {
  MutexLock l(&stop_mu_);
  int64_t marked = ctx_.Now(), stranded = ctx_.Now();
  while (!stopping_) {
    stop_cv_.WaitFor(&stop_mu_, kResumeEvery);
    if (stopping_) break;
    stop_mu_.Unlock();
    if (Status st = requests_->Resume(kResumeAfter.count()); !st.ok())
      spdlog::warn("workflow: taking up requests left behind: {} (tried again)", st.message());
    if (ctx_.opt.shared && ctx_.Now() - stranded >= 60'000) {
      stranded = ctx_.Now();
      if (Status st = requests_->TakeUpStranded(); !st.ok())
        spdlog::warn("workflow: taking up work other processes left: {} (tried again)",
                     st.message());
    }
    // Blocks reach the strike count within a second (the hooks): a minute ago is counted.
    if (uploaders_->on() && ctx_.Now() - marked >= 60'000) {
      marked = ctx_.Now();
      if (Status st = MarkBlocksCounted(marked - 60'000); !st.ok())
        spdlog::warn("uploaders: recording how far blocks are counted: {}", st.message());
    }
    stop_mu_.Lock();
  }
}

Result<std::optional<store::DocRecord>> Workflow::BlocksCountedMark() {
  TD_ASSIGN_OR_RETURN(auto rows,
                      ctx_.stores.docs->FindDocs({.kind = std::string(kBlocksCountedDoc),
                                                  .limit = 1,
                                                  .ukey = std::string(kBlocksCountedDoc)}));
  if (rows.empty()) return std::optional<store::DocRecord>();
  return std::optional<store::DocRecord>(rows[0]);
}

Status Workflow::MarkBlocksCounted(int64_t to_ms) {
  TD_ASSIGN_OR_RETURN(auto mark, BlocksCountedMark());
  store::DocRecord d = mark.value_or(store::DocRecord{});
  d.kind = std::string(kBlocksCountedDoc);
  d.ukey = std::string(kBlocksCountedDoc);
  d.state = "counted";
  d.due_ms = std::max(d.due_ms, to_ms);  // never back
  d.doc = json{{"counted_to_ms", d.due_ms}}.dump();
  return ctx_.stores.docs->PutDocs({d}).status();
}

Status Workflow::CountMissedBlocks() {
  TD_ASSIGN_OR_RETURN(auto mark, BlocksCountedMark());
  const int64_t now = ctx_.Now();
  const int64_t from = mark ? mark->due_ms - kBlocksCountedMarginMs : now - kBlocksCountedFirstMs;
  int64_t blocks = 0;
  for (int64_t after = 0;;) {
    TD_ASSIGN_OR_RETURN(auto rows, ctx_.stores.docs->FindDocs({.kind = std::string(kGateBlockDoc),
                                                               .created_from = from,
                                                               .after_id = after,
                                                               .limit = 500}));
    if (rows.empty()) break;
    after = rows.back().id;
    std::vector<std::pair<std::string, Uploaders::Strike>> strikes;
    for (const auto& rec : rows) {
      if (auto b = Service::BlockedOf(rec)) strikes.push_back(StrikeOf(*b));
    }
    blocks += static_cast<int64_t>(strikes.size());
    TD_RETURN_IF_ERROR(uploaders_->Count(strikes));  // each block counted once, whenever told
  }
  if (blocks > 0) {
    spdlog::info("uploaders: {} blocks at the gate since {} looked at for strikes", blocks,
                 IsoUtc(from));
  }
  return MarkBlocksCounted(now);
}

// ---------------------------------------------------------------------------------------------
// Package signing keys

void Workflow::RecordPackageKey() {
  const std::string key_id = signer_->key_id();
  store::DocRecord d;
  d.kind = std::string(kPackageKeyDoc);
  d.ukey = fmt::format("{}:{}", kPackageKeyDoc, key_id);
  d.state = "recorded";
  json j = signer_->PublicKeyJson();
  j["first_used_ms"] = ctx_.Now();
  d.doc = j.dump();
  auto put = ctx_.stores.docs->PutDocs({d});
  // Audited once, by the process that recorded it (an existing key's insert changes nothing).
  Status st = put.status();
  if (st.ok() && put->at(0) > 0)
    st = ctx_.Audit("system", "package_key.recorded", {{"key_id", key_id}});
  if (!st.ok()) {
    spdlog::error("packages: the signing key {} not recorded in the store: {}", key_id,
                  st.message());
    return;
  }
  auto keys = RecordedPackageKeys();
  if (!keys.ok()) return;
  std::vector<std::string> others;
  for (const auto& k : *keys) {
    if (k["key_id"] != key_id) others.push_back(k["key_id"]);
  }
  if (others.size() > 5) {
    const size_t more = others.size() - 4;
    others.resize(4);
    others.push_back(fmt::format("{} more", more));
  }
  if (!others.empty()) {
    spdlog::warn(
        "packages: this process signs with key {}; the store also knows key(s) {} (an earlier "
        "key, or another process's packages.signing_key_file). Packages signed with any of them "
        "are checked against /.well-known/takedown-package-key's \"keys\"; for one key, give "
        "every process the same key file",
        key_id, fmt::join(others, ", "));
  }
}

Result<std::vector<json>> Workflow::RecordedPackageKeys() {
  std::vector<json> keys;
  // In id order (the order they were first used in), a page at a time; at most 1,000 (a key file
  // made anew at every start would otherwise grow this without bound: the newest are then left
  // out, save this process's own).
  for (int64_t after = 0; keys.size() < 1000;) {
    TD_ASSIGN_OR_RETURN(
        auto page, ctx_.stores.docs->FindDocs(
                       {.kind = std::string(kPackageKeyDoc), .after_id = after, .limit = 200}));
    if (page.empty()) break;
    after = page.back().id;
    for (const auto& k : page) {
      auto o = json::parse(k.doc, nullptr, false);
      if (!o.is_object() || !o.contains("public_key") || !o["public_key"].is_string() ||
          !o.contains("key_id") || !o["key_id"].is_string())
        continue;
      keys.push_back(std::move(o));
    }
  }
  return keys;
}

Result<json> Workflow::PackageKeys() {
  if (signer_ == nullptr) {
    return FailedPrecondition("this service signs no packages (packages.signing_key_file)");
  }
  const int64_t now = ctx_.Now();
  auto answer = [&]() TD_REQUIRES(keys_mu_) {
    json out = signer_->PublicKeyJson();
    out["keys"] = keys_.is_array() ? keys_ : json::array({signer_->PublicKeyJson()});
    return out;
  };
  {
    // One caller reads the store at most every 10 s, whether the read succeeds or not; the others
    // answer from what was read last meanwhile (this endpoint needs no key: a flood of it must
    // not become a flood of store reads, nor wait on one).
    MutexLock l(&keys_mu_);
    if (keys_read_ms_ >= 0 && now - keys_read_ms_ < 10'000) return answer();
    keys_read_ms_ = now;
  }
  auto found = RecordedPackageKeys();
  MutexLock l(&keys_mu_);
  if (found.ok()) {
    json keys = json::array();
    bool mine = false;
    for (auto& k : *found) {
      mine = mine || k["key_id"] == signer_->key_id();
      keys.push_back(std::move(k));
    }
    if (!mine) keys.push_back(signer_->PublicKeyJson());  // (not recorded: the store failed)
    keys_ = std::move(keys);
  }  // else the last read stands (or this process's own key alone) until the store answers
  return answer();
}

// ---------------------------------------------------------------------------------------------
// Profiles

Result<json> Workflow::SetRequesterProfile(int64_t key_id, const json& profile,
                                           const Principal& who) {
  TD_ASSIGN_OR_RETURN(auto p, profiles_->Set(key_id, profile, who));
  return ToJson(p);
}

Result<json> Workflow::GetRequesterProfile(int64_t key_id) {
  // As for setting one: a key that does not exist has no profile (404), another role's key
  // cannot have one (409); a requester key without one has the defaults.
  TD_ASSIGN_OR_RETURN(auto key, ctx_.svc->GetKey(key_id));
  if (!key) return NotFound(fmt::format("no API key {}", key_id));
  if (key->role != "requester") {
    return FailedPrecondition(
        fmt::format("key {} is a {} key: profiles are for requester keys", key_id, key->role));
  }
  TD_ASSIGN_OR_RETURN(auto p, profiles_->Get(key_id));
  return ToJson(p);
}

Result<json> Workflow::ListRequesterProfiles(int64_t after_key_id, int64_t limit) {
  TD_ASSIGN_OR_RETURN(auto list, profiles_->List(after_key_id, limit));
  json out = json::array();
  for (const auto& p : list) out.push_back(ToJson(p));
  return json{{"requesters", out},
              {"next_after_id", list.empty() ? after_key_id : list.back().key_id}};
}

// ---------------------------------------------------------------------------------------------
// Requests

Result<json> Workflow::CreateRequest(const Principal& who, const json& body,
                                     const MediaByItem& media, const SubmitOptions& options) {
  if (!body.is_object()) return InvalidArgument("the body must be a JSON object");
  intake::Problems problems;
  intake::NoticeDraft draft = intake::DraftFromJson(body, &problems);
  for (const auto& [i, bytes] : media) {
    if (i < draft.evidence.size()) draft.evidence[i].has_media = true;
  }
  if (!problems.empty()) {
    // Type errors first; the rest of the validation names what else is wrong.
    if (auto p = profiles_->Get(who.key_id); p.ok())
      intake::Validate(draft, p->source_type, &problems);
    return intake::ProblemsStatus(problems);
  }
  TD_ASSIGN_OR_RETURN(Submission s, requests_->Submit(who, draft, media, options));
  if (!s.problems.empty()) return intake::ProblemsStatus(s.problems);
  return requests_->View(*s.request, who);
}

Result<Submission> Workflow::Submit(const Principal& who, const intake::NoticeDraft& draft,
                                    const MediaByItem& media, const SubmitOptions& options) {
  return requests_->Submit(who, draft, media, options);
}

Result<json> Workflow::GetRequest(const Principal& who, int64_t id) {
  TD_ASSIGN_OR_RETURN(Request r, requests_->Get(who, id));
  return requests_->View(r, who);
}

Result<json> Workflow::ListRequests(const Principal& who, const std::string& status,
                                    int64_t after_id, int64_t limit) {
  return requests_->List(who, status, after_id, limit);
}

Result<json> Workflow::ReviewQueue(int64_t limit) { return requests_->ReviewQueue(limit); }

Result<json> Workflow::ClaimRequest(const Principal& who, int64_t request_id, bool release) {
  TD_ASSIGN_OR_RETURN(Request r, requests_->Claim(who, request_id, release));
  return json{{"request_id", r.id}, {"claim", requests_->ClaimView(r)}};
}

Result<json> Workflow::Confirmation(const Principal& who, int64_t request_id) {
  TD_ASSIGN_OR_RETURN(Request r, requests_->Get(who, request_id));
  if (r.state != RequestState::kConfirmed) {
    return FailedPrecondition(
        fmt::format("request {} is {}: a confirmation is made once every removal is acknowledged",
                    request_id, NameOf(r.state)));
  }
  TD_ASSIGN_OR_RETURN(json v, requests_->View(r, who));
  json out = {{"request_id", r.id},
              {"status", "confirmed"},
              {"requester", r.requester_name},
              {"category", NameOf(r.category)},
              {"received_at", IsoUtc(r.received_ms)},
              {"deadline_at", IsoUtc(r.deadline_ms)},
              {"confirmed_at", IsoUtc(r.confirmed_ms)},
              {"removals", v["removals"]}};
  if (r.decision) {
    out["decision"] = {{"approved", r.decision->approved},
                       {"automated", r.decision->automated},
                       {"decided_at", IsoUtc(r.decision->time_ms)},
                       {"reason", r.decision->reason},
                       {"ground", r.decision->ground.empty() ? std::string("illegal_content")
                                                             : r.decision->ground}};
  }
  if (r.sweep) out["copies_found"] = r.sweep->matched;
  out["copies_removed"] = v["removals"].size();
  return out;
}

std::string Workflow::ConfirmationCsv(const json& c) {
  std::string out = "request_id,content_id,chat_id,removed_at,signal,distance,confirmed_at\r\n";
  for (const auto& r : c["removals"]) {
    out += fmt::format("{},{},{},{},{},{},{}\r\n", c["request_id"].get<int64_t>(),
                       CsvCell(r.value("content_id", "")), CsvCell(r.value("chat_id", "")),
                       CsvCell(r.value("removed_at", "")), CsvCell(r.value("signal", "")),
                       r.value("distance", 0), CsvCell(c.value("confirmed_at", "")));
  }
  return out;
}

Result<json> Workflow::Decide(const Principal& who, int64_t request_id, bool approve,
                              const std::string& reason, const DsaChoice& dsa) {
  TD_ASSIGN_OR_RETURN(Request r, requests_->Decide(who, request_id, approve, reason, dsa));
  return requests_->View(r, who);
}

void Workflow::SetClosedListener(std::function<void(int64_t)> fn) {
  requests_->SetClosedListener(std::move(fn));
}

// ---------------------------------------------------------------------------------------------
// Actions, statements, appeals, evidence, report

Result<json> Workflow::Acknowledge(const Principal& who, int64_t action_id) {
  return actions_->Acknowledge(who, action_id);
}

Result<json> Workflow::ListActions(const std::string& state, int64_t after_id, int64_t limit) {
  auto s = EnumFromName<ActionState>(state);
  if (!s) return InvalidArgument(fmt::format("state must be {}", EnumChoices<ActionState>()));
  return actions_->List(*s, after_id, limit);
}

void Workflow::DeliverDueNow() { actions_->DeliverDueNow(); }

Result<json> Workflow::Statement(int64_t action_id) {
  TD_ASSIGN_OR_RETURN(json st, statements_->Of(action_id));
  TD_RETURN_IF_ERROR(AddSubmission(&st, fmt::format("dsa:{}", action_id)));
  return st;
}

Result<json> Workflow::Spread(const Principal& who, int64_t request_id) {
  return spread_->Of(who, request_id);
}

Result<json> Workflow::EntrySpread(const Principal& who, int64_t entry_id) {
  return spread_->OfEntry(who, entry_id);
}

Result<json> Workflow::BlockStatement(int64_t block_id) {
  TD_ASSIGN_OR_RETURN(json st, statements_->OfBlock(block_id));
  TD_ASSIGN_OR_RETURN(auto block, ctx_.stores.docs->GetDoc(block_id));
  if (block) TD_RETURN_IF_ERROR(AddSubmission(&st, fmt::format("dsa:block:{}", block->owner)));
  return st;
}

// Where the statement stands with the DSA Transparency Database, when submission queued it:
// status (queued | submitted | refused | invalid), attempts, the last error, the database's answer.
Status Workflow::AddSubmission(json* st, const std::string& queue_key) {
  TD_ASSIGN_OR_RETURN(auto q,
                      ctx_.stores.docs->FindDocs(
                          {.kind = std::string(kDsaStatementDoc), .limit = 1, .ukey = queue_key}));
  if (q.empty()) return Status::Ok();
  const json j = json::parse(q.front().doc, nullptr, false);
  if (!j.is_object()) return Status::Ok();
  json sub = {{"status", q.front().state}, {"attempts", j.value("attempts", 0)}};
  for (const char* k : {"last_error", "http_status", "answered_ms", "answer"}) {
    if (j.contains(k)) sub[k] = j[k];
  }
  (*st)["takedown"]["database_submission"] = std::move(sub);
  return Status::Ok();
}

Result<json> Workflow::Statements(int64_t from_ms, int64_t to_ms, bool database_batches) {
  return statements_->Between(from_ms, to_ms, database_batches);
}

Result<json> Workflow::FileAppeal(const Principal& who, const json& body) {
  return appeals_->File(who, body);
}

Result<json> Workflow::ListAppeals(const std::string& status, int64_t limit) {
  return appeals_->List(status, limit);
}

Result<json> Workflow::DecideAppeal(const Principal& who, int64_t appeal_id, const json& body) {
  return appeals_->Decide(who, appeal_id, body);
}

Result<Evidence::Look> Workflow::Preview(const Principal& who, int64_t request_id, int item,
                                         bool reveal, const std::string& reason, int frame) {
  return evidence_->Preview(who, request_id, item, reveal, reason, frame);
}

Result<int64_t> Workflow::PurgeExpiredEvidence() { return evidence_->PurgeExpired(); }

Result<json> Workflow::Report(int64_t from_ms, int64_t to_ms) {
  return report_->Build(from_ms, to_ms);
}

}  // namespace takedown::service
