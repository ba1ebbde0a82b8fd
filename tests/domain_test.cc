// The domain's pieces, fast: on the in-memory store and a fake clock, without sleeps or edits of
// the database. The typed records' codecs, intake's field problems, the outbox's backoff and
// giving up, the appeal window, evidence retention, deadlines, retries of actions, and one
// confirmation per request under concurrent acknowledgements.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>

#include "core/fake_env.h"
#include "core/metrics.h"
#include "core/numbers.h"
#include "core/text.h"
#include "intake/notice.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/model.h"
#include "takedown/outbox.h"
#include "takedown/workflow.h"

namespace takedown::service {
namespace {

constexpr int64_t kDay = 86'400'000;

// ------------------------------------------------------------------------------------------
// Codecs

TEST(Model, ARequestRoundTripsThroughItsDocument) {
  Request r;
  r.id = 12;
  r.state = RequestState::kActioned;
  r.owner_id = r.requester_key_id = 3;
  r.requester_name = "kcsc";
  r.source_type = SourceType::kAuthorityOrder;
  r.trusted = true;
  r.priority = 3;
  r.category = Category::kDeepfakeSexual;
  r.notice.explanation = "설명";
  r.notice.notifier_email = "a@b.c";
  r.notice.legal_basis = "Art. 21";
  EvidenceItem e;
  e.kind = EvidenceKind::kHash;
  e.pdq = std::string(64, 'a');
  e.quality = 90;
  e.usable = true;
  e.content_id = "m-1";
  e.resolved = false;
  e.problem = "not in the content index";
  r.evidence = {e};
  r.received_ms = 1000;
  r.deadline_ms = r.due_ms = 2000;
  r.history = {{RequestState::kReceived, 1000}, {RequestState::kActioned, 1500}};
  r.decision = Decision{true, "policy", true, 1200, "trusted"};
  r.sweep = SweepSummary{"deepfake-sexual", {4, 5}, 2, 2, 0, 7};
  const store::DocRecord d = ToDoc(r);
  EXPECT_EQ(d.kind, "request");
  EXPECT_EQ(d.state, "actioned");
  EXPECT_EQ(d.owner, 3);
  EXPECT_EQ(d.due_ms, 2000);
  auto back = RequestFromDoc(d);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToJson(*back), ToJson(r));
  // The stored field names are those the documents always had.
  const json j = json::parse(d.doc);
  EXPECT_EQ(j["status"], "actioned");
  EXPECT_EQ(j["category"], "deepfake-sexual");
  EXPECT_EQ(j["evidence"][0]["resolved"], false);
  EXPECT_EQ(j["history"][1]["status"], "actioned");
}

TEST(Model, ADocumentOfTheWrongShapeIsAnErrorNamingTheField) {
  store::DocRecord d;
  d.id = 7;
  d.kind = "request";
  d.doc = R"({"status": "aproved", "category": "ncii"})";  // misspelt state
  auto r = RequestFromDoc(d);
  ASSERT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("request 7"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("status"), std::string::npos) << r.status().message();
  d.doc = R"({"status": "received", "evidence": [{"quality": "high"}]})";
  r = RequestFromDoc(d);
  ASSERT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("evidence[0].quality"), std::string::npos)
      << r.status().message();
  d.doc = "not json";
  EXPECT_EQ(RequestFromDoc(d).status().code(), StatusCode::kDataLoss);
  d.doc = "[1,2]";
  EXPECT_EQ(RequestFromDoc(d).status().code(), StatusCode::kDataLoss);
  d.kind = "action";
  EXPECT_EQ(RequestFromDoc(d).status().code(), StatusCode::kNotFound)
      << "another kind is not a request";
  d.doc = R"({"kind": "remove", "status": "pending", "attempts": 1e99})";
  EXPECT_EQ(ActionFromDoc(d).status().code(), StatusCode::kDataLoss);
}

TEST(Model, EnumNamesAreTheDocumentsStrings) {
  EXPECT_EQ(NameOf(RequestState::kPendingReview), "pending_review");
  EXPECT_EQ(EnumFromName<Category>("deepfake-sexual"), Category::kDeepfakeSexual);
  EXPECT_FALSE(EnumFromName<Category>("Deepfake").has_value());
  EXPECT_EQ(EnumChoices<AppealState>(), "open, upheld or rejected");
}

// CSV exports (report, spread): RFC 4180 quoting, and values from outside that a spreadsheet
// would run as formulas are neutralised; plain numbers are left as they are.
TEST(Csv, CellsAreQuotedAndFormulasNeutralised) {
  EXPECT_EQ(CsvCell("plain"), "plain");
  EXPECT_EQ(CsvCell("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvCell("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvCell("=HYPERLINK(\"http://x\")"), "\"'=HYPERLINK(\"\"http://x\"\")\"");
  EXPECT_EQ(CsvCell("+1+cmd"), "'+1+cmd");
  EXPECT_EQ(CsvCell("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvCell("-1.5"), "-1.5");
  EXPECT_EQ(CsvCell("-3"), "-3");
  EXPECT_EQ(CsvCell("-"), "'-");
  EXPECT_EQ(CsvCell(""), "");
}

TEST(Numbers, AreParsedWholeOrRefused) {
  EXPECT_EQ(*ParseId("12", "id"), 12);
  for (const char* bad :
       {"", "1e3", "2abc", " 1", "+1", "-1", "0", "99999999999999999999", "0x10"}) {
    EXPECT_FALSE(ParseId(bad, "key_id").ok()) << bad;
  }
  EXPECT_NE(ParseId("1e3", "key_id").status().message().find("key_id"), std::string::npos);
  EXPECT_EQ(*ParseInt64("-5", "from_ms"), -5);
  EXPECT_EQ(*ParseInt64("9223372036854775807", "n"), INT64_MAX);
  EXPECT_FALSE(ParseInt64("9223372036854775808", "n").ok());
  EXPECT_DOUBLE_EQ(*ParseDecimal("0.040", "t", 0, 1e9), 0.04);
  EXPECT_DOUBLE_EQ(*ParseDecimal("12", "t", 0, 1e9), 12);
  EXPECT_DOUBLE_EQ(*ParseDecimal("-2.5", "x", -10, 10), -2.5);
  for (const char* bad : {"", "1e3", "2.5s", " 1", "+1", "-1", "nan", "inf", "1.2.3", "2e9"}) {
    EXPECT_FALSE(ParseDecimal(bad, "timestamp", 0, 1e9).ok()) << bad;
  }
  EXPECT_NE(ParseDecimal("1e3", "timestamp", 0, 1).status().message().find("timestamp"),
            std::string::npos);
}

// ------------------------------------------------------------------------------------------
// Intake

TEST(Intake, EveryProblemIsAFieldAndAReason) {
  intake::Problems p;
  auto draft = intake::DraftFromJson(
      json{{"category", 5},
           {"notifier", "x"},
           {"evidence", json::array({{{"pdq", "zz"}}, "str", {{"message_link", "not-a-link"}}})}},
      &p);
  intake::Validate(draft, SourceType::kVictim, &p);
  std::set<std::string> fields;
  for (const auto& f : p) fields.insert(f.field);
  for (const char* f :
       {"category", "notifier", "explanation", "accuracy_statement", "signature",
        "good_faith_statement", "evidence[0].pdq", "evidence[1]", "evidence[2].message_link"}) {
    EXPECT_TRUE(fields.count(f)) << f << " missing from " << ::testing::PrintToString(fields);
  }
  const Status st = intake::ProblemsStatus(p);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message().rfind("invalid request: ", 0), 0u);
}

TEST(Intake, AnAuthorityOrderNeedsItsLegalBasisAndALinkGivesItsContentId) {
  intake::NoticeDraft d;
  d.category = "ncii";
  d.explanation = "x";
  d.evidence_given = true;
  d.evidence = {{.message_link = "https://chat.example/c/9/m/m-3?x=1"},
                {.message_link = "https://h/p?content_id=abc&z"}};
  intake::Problems p;
  auto v = intake::Validate(d, SourceType::kAuthorityOrder, &p);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].field, "legal_basis");
  EXPECT_EQ(p[1].field, "issuing_authority");
  EXPECT_EQ(v.evidence[0].content_id, "m-3");
  EXPECT_EQ(v.evidence[1].content_id, "abc");
}

// ------------------------------------------------------------------------------------------
// The outbox

class CountingHandler : public Outbox::Handler {
 public:
  Status Deliver(const store::DocRecord& item) override {
    std::lock_guard l(mu);
    ++calls[item.id];
    return fail ? IoError("connection refused") : Status::Ok();
  }
  Status Delivered(const store::DocRecord& item) override {
    if (fail_record) return IoError("disk full");
    auto d = item;
    d.state = "done";
    return docs->PutDocs({d}).status();
  }
  std::string GiveUpAudit(const store::DocRecord& item, const std::string& error) override {
    return json{{"item", item.id}, {"error", error}}.dump();
  }
  store::DocumentStore* docs = nullptr;
  std::mutex mu;
  std::map<int64_t, int> calls;
  bool fail = false, fail_record = false;
};

class OutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = store::OpenMemoryStore(&env_);
    handler_.docs = store_.get();
  }
  std::unique_ptr<Outbox> Make(int max_attempts, bool alone = true) {
    OutboxOptions o;
    o.reclaim_at_start = alone;
    o.kind = "job";
    o.name = "test";
    o.backoff = {1000, 60'000, 0.5};
    o.max_attempts = max_attempts;
    o.give_up_audit_kind = "job.failed";
    return std::make_unique<Outbox>(&env_, store_.get(), o, &handler_, &metrics_);
  }
  int64_t Queue() {
    store::DocRecord d;
    d.kind = "job";
    d.state = "pending";
    d.due_ms = env_.NowMs();
    d.doc = json{{"status", "pending"}, {"attempts", 0}, {"due_ms", d.due_ms}}.dump();
    return store_->PutDocs({d}).value()[0];
  }
  json Doc(int64_t id) { return json::parse(store_->GetDoc(id)->value().doc); }
  FakeEnv env_;
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  CountingHandler handler_;
};

TEST_F(OutboxTest, FailuresBackOffByTheClockAndSucceedLater) {
  auto box = Make(0);
  const int64_t id = Queue();
  handler_.fail = true;
  EXPECT_EQ(*box->DeliverDue(), 0);
  json d = Doc(id);
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_EQ(d["last_error"], "connection refused");
  const int64_t first = d["due_ms"].get<int64_t>() - env_.NowMs();
  EXPECT_GE(first, 500);  // 1 s with +-50% jitter
  EXPECT_LE(first, 1500);
  EXPECT_EQ(*box->DeliverDue(), 0);
  EXPECT_EQ(handler_.calls[id], 1) << "not due yet: not tried again";
  env_.AdvanceMs(first);
  EXPECT_EQ(*box->DeliverDue(), 0);
  d = Doc(id);
  EXPECT_EQ(d["attempts"], 2);
  const int64_t second = d["due_ms"].get<int64_t>() - env_.NowMs();
  EXPECT_GE(second, 1000);  // 2 s with jitter: the delay doubles
  EXPECT_LE(second, 3000);
  handler_.fail = false;
  env_.AdvanceMs(second);
  EXPECT_EQ(*box->DeliverDue(), 1);
  EXPECT_EQ(store_->GetDoc(id)->value().state, "done");
  EXPECT_EQ(*box->DeliverDue(), 0);
  EXPECT_EQ(handler_.calls[id], 3);
  EXPECT_NE(metrics_.Render().find(
                R"(takedown_outbox_deliveries_total{outbox="test",outcome="failed"} 2)"),
            std::string::npos)
      << metrics_.Render();
}

TEST_F(OutboxTest, AfterMaxAttemptsAnItemIsGivenUpWithAnAuditRecord) {
  auto box = Make(3);
  const int64_t id = Queue();
  handler_.fail = true;
  for (int i = 0; i < 3; ++i) {
    (void)box->DeliverDue();
    env_.AdvanceMs(10 * 60'000);
  }
  EXPECT_EQ(store_->GetDoc(id)->value().state, "failed");
  EXPECT_EQ(handler_.calls[id], 3);
  (void)box->DeliverDue();
  EXPECT_EQ(handler_.calls[id], 3) << "a failed item is not tried again";
  auto audit = store_->ReadAudit(1, 10).value();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].kind, "job.failed");
  EXPECT_NE(audit[0].payload.find("connection refused"), std::string::npos);
}

TEST_F(OutboxTest, AnOutcomeThatCannotBeRecordedIsCountedAndTheItemStaysPending) {
  auto box = Make(0);
  const int64_t id = Queue();
  handler_.fail_record = true;
  EXPECT_EQ(*box->DeliverDue(), 0);
  EXPECT_EQ(store_->GetDoc(id)->value().state, "pending");
  EXPECT_NE(metrics_.Render().find(R"(takedown_outbox_record_errors_total{outbox="test"} 1)"),
            std::string::npos);
  handler_.fail_record = false;
  // Still claimed (the claim's lease is in the store): delivered again once the lease runs out,
  // under the same document (the same idempotency key), not before.
  EXPECT_EQ(*box->DeliverDue(), 0);
  env_.AdvanceMs(OutboxOptions{}.lease_ms - 1);
  EXPECT_EQ(*box->DeliverDue(), 0);
  env_.AdvanceMs(1);
  EXPECT_EQ(*box->DeliverDue(), 1);
  EXPECT_EQ(handler_.calls[id], 2);
}

TEST_F(OutboxTest, TwoProcessesDeliveringOneStoreDeliverEachItemOnce) {
  // Two outboxes on one store, as two replicas' would be: their claims are leases in the store.
  auto a = Make(0, /*alone=*/false);
  auto b = Make(0, /*alone=*/false);
  std::vector<int64_t> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(Queue());
  a->Start();
  b->Start();
  for (int spin = 0; spin < 5000 && store_->CountDocs("job", "done")->count < 300; ++spin) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  a->Stop();
  b->Stop();
  EXPECT_EQ(store_->CountDocs("job", "done")->count, 300);
  for (int64_t id : ids) EXPECT_EQ(handler_.calls[id], 1) << id;
}

TEST_F(OutboxTest, StartingAloneTakesOverTheClaimsOfAnEarlierRun) {
  auto box = Make(0);
  const int64_t claimed = Queue();
  ASSERT_EQ(store_->ClaimDocs("job", "pending", env_.NowMs(), env_.NowMs() + 60'000, 10)->size(),
            1u);  // by a run that was killed
  // One backing off (due in 10 s: within a lease, so brought forward) and one due far later.
  const int64_t soon = Queue(), later = Queue();
  auto d = store_->GetDoc(soon)->value();
  d.due_ms = env_.NowMs() + 10'000;
  ASSERT_TRUE(store_->PutDocs({d}).ok());
  d = store_->GetDoc(later)->value();
  d.due_ms = env_.NowMs() + 10 * OutboxOptions{}.lease_ms;
  ASSERT_TRUE(store_->PutDocs({d}).ok());
  box->Start();
  for (int spin = 0; spin < 5000 && store_->CountDocs("job", "done")->count < 2; ++spin)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  box->Stop();
  EXPECT_EQ(store_->GetDoc(claimed)->value().state, "done");
  EXPECT_EQ(store_->GetDoc(soon)->value().state, "done");
  EXPECT_EQ(store_->GetDoc(later)->value().state, "pending") << "not due within a lease";
}

TEST_F(OutboxTest, WorkClaimedByAProcessThatDiedIsDeliveredWhenItsLeaseRunsOut) {
  auto box = Make(0);
  const int64_t id = Queue();
  // Another process claimed it and died before delivering.
  const int64_t lease_end = env_.NowMs() + 30'000;
  ASSERT_EQ(store_->ClaimDocs("job", "pending", env_.NowMs(), lease_end, 10)->size(), 1u);
  EXPECT_EQ(*box->DeliverDue(), 0) << "claimed elsewhere: not delivered twice at once";
  EXPECT_EQ(handler_.calls[id], 0);
  env_.SetNowMs(lease_end);
  EXPECT_EQ(*box->DeliverDue(), 1);
  EXPECT_EQ(store_->GetDoc(id)->value().state, "done");
}

TEST_F(OutboxTest, WorkersDeliverEachItemOnce) {
  auto box = Make(0);
  std::vector<int64_t> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(Queue());
  box->Start();
  for (int spin = 0; spin < 5000 && store_->CountDocs("job", "done")->count < 200; ++spin) {
    box->Wake();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  box->Stop();
  EXPECT_EQ(store_->CountDocs("job", "done")->count, 200);
  for (int64_t id : ids) EXPECT_EQ(handler_.calls[id], 1) << id;
}

// A handler that records deliveries in batches; the batch fails when one of its items was
// "acknowledged meanwhile", and the outbox falls back to recording them one by one.
class BatchingHandler : public CountingHandler {
 public:
  bool batches() const override { return true; }
  Status DeliveredBatch(const std::vector<store::DocRecord>& items) override {
    {
      std::lock_guard l(mu);
      batch_sizes.push_back(items.size());
      for (const auto& i : items) {
        if (i.id == poisoned) return FailedPrecondition("acknowledged meanwhile");
      }
    }
    std::vector<store::DocRecord> done;
    for (auto d : items) {
      d.state = "done";
      done.push_back(d);
    }
    return docs->PutDocs(done).status();
  }
  std::vector<size_t> batch_sizes;
  int64_t poisoned = -1;
};

TEST_F(OutboxTest, BatchedRecordingRecordsEachDeliveryOnceAndFallsBackItemByItem) {
  BatchingHandler batching;
  batching.docs = store_.get();
  OutboxOptions o;
  o.kind = "job";
  o.name = "batched";
  o.workers = 4;
  Outbox box(&env_, store_.get(), o, &batching, &metrics_);
  std::vector<int64_t> ids;
  for (int i = 0; i < 300; ++i) ids.push_back(Queue());
  batching.poisoned = ids[150];
  box.Start();
  for (int spin = 0; spin < 5000 && store_->CountDocs("job", "done")->count < 300; ++spin) {
    box.Wake();
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  box.Stop();
  EXPECT_EQ(store_->CountDocs("job", "done")->count, 300);
  EXPECT_EQ(store_->CountDocs("job", "pending")->count, 0);
  for (int64_t id : ids) EXPECT_EQ(batching.calls[id], 1) << "delivered once: " << id;
  size_t recorded = 0;
  for (size_t n : batching.batch_sizes) recorded += n;
  EXPECT_GE(recorded, 300u);
}

// ------------------------------------------------------------------------------------------
// The workflow on a fake clock

class RecordingSink : public ActionSink {
 public:
  Result<int> Deliver(const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>&) override {
    std::lock_guard l(mu);
    bodies.push_back(json::parse(body));
    if (status == 0) return IoError("connection refused");
    return status.load();
  }
  std::mutex mu;
  std::vector<json> bodies;
  std::atomic<int> status{200};
};

class FakeClockWorkflow : public ::testing::Test {
 protected:
  void SetUp() override { Open({}); }
  void Open(WorkflowOptions o) {
    wf_.reset();
    if (!store_) {
      store_ = store::OpenMemoryStore(&env_);
      svc_ = std::move(Service::Create(store_.get(), &env_).value());
    }
    auto sink = std::make_unique<RecordingSink>();
    sink_ = sink.get();
    o.webhook_secret = std::string(1, 's');  // (a literal here trips GCC 12's -Wrestrict)
    wf_ =
        std::make_unique<Workflow>(svc_.get(), store_.get(), std::move(sink), o, &env_, &metrics_);
  }
  Principal Requester(const std::string& name, const json& profile) {
    auto k = svc_->CreateKey(Role::kRequester, name, "system");
    Principal p{k->first, Role::kRequester, name};
    if (!profile.is_null()) {
      EXPECT_TRUE(wf_->SetRequesterProfile(p.key_id, profile, admin_).ok());
    }
    return p;
  }
  Principal Reviewer(const std::string& name) {
    return Principal{svc_->CreateKey(Role::kReviewer, name, "system")->first, Role::kReviewer,
                     name};
  }
  // An upload recorded in the content index by its MD5 (no media to decode).
  void Upload(const std::string& id, const std::string& chat, const std::string& md5) {
    Signals s;
    s.md5 = md5;
    ASSERT_TRUE(svc_->Check({id, chat, "uploader-" + id, s, {}}, "key:platform").ok());
  }
  json Notice(const std::string& md5) {
    return {{"category", "ncii"},
            {"explanation", "shared without consent"},
            {"notifier", {{"name", "Kim"}, {"email", "kim@example.org"}}},
            {"accuracy_statement", true},
            {"signature", "Kim"},
            {"good_faith_statement", true},
            {"evidence", json::array({{{"md5", md5}}})}};
  }
  FakeEnv env_{1'800'000'000'000};
  MetricsRegistry metrics_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<Workflow> wf_;
  RecordingSink* sink_ = nullptr;
  Principal admin_{1, Role::kAdmin, "admin"};
  const std::string md5_ = std::string(32, 'a');
};

TEST_F(FakeClockWorkflow, DeadlinesFollowTheSourceAndTheReviewQueueShowsWhatIsOverdue) {
  const auto victim = Requester("victim", {{"source_type", "victim"}});
  const auto hotline = Requester("hotline", {{"source_type", "hotline"}});
  const auto custom = Requester("custom", {{"source_type", "notice"}, {"deadline_hours", 6}});
  const auto plain = Requester("plain", json());
  std::map<std::string, int64_t> hours;
  for (const auto& [who, name] :
       {std::pair{victim, "victim"}, {hotline, "hotline"}, {custom, "custom"}, {plain, "plain"}}) {
    auto r = wf_->CreateRequest(who, Notice(md5_));
    ASSERT_TRUE(r.ok()) << name << ": " << r.status().ToString();
    EXPECT_EQ((*r)["received_ms"], env_.NowMs());
    hours[name] = ((*r)["deadline_ms"].get<int64_t>() - env_.NowMs()) / 3'600'000;
  }
  EXPECT_EQ(hours["victim"], 48);   // TAKE IT DOWN Act
  EXPECT_EQ(hours["hotline"], 24);  // Korea
  EXPECT_EQ(hours["custom"], 6);
  EXPECT_EQ(hours["plain"], 72);
  auto q = wf_->ReviewQueue(10);
  ASSERT_EQ((*q)["queue"].size(), 4u);
  EXPECT_EQ((*q)["queue"][0]["source_type"], "hotline") << "priority 2, earliest deadline";
  EXPECT_EQ((*q)["queue"][3]["source_type"], "notice");
  EXPECT_EQ((*q)["due"], (json{{"overdue", 0}, {"within_24h", 2}, {"within_48h", 1}})) << *q;
  auto page = wf_->ReviewQueue(1);
  EXPECT_EQ((*page)["queue"].size(), 1u);
  EXPECT_EQ((*page)["total"], 4) << "the total counts every pending request, not the page";
  EXPECT_EQ((*page)["queue"][0]["source_type"], "hotline");
  env_.AdvanceMs(7 * 3'600'000);  // the custom deadline has passed
  EXPECT_EQ((*wf_->ReviewQueue(10))["due"],
            (json{{"overdue", 1}, {"within_24h", 1}, {"within_48h", 1}}));
  const std::string m = metrics_.Render();
  EXPECT_NE(m.find("takedown_review_queue_pending 4"), std::string::npos) << m;
  EXPECT_NE(m.find("takedown_review_queue_oldest_deadline_seconds -3600"), std::string::npos) << m;
  EXPECT_NE(m.find(R"(takedown_requests{status="pending_review"} 4)"), std::string::npos) << m;
}

TEST_F(FakeClockWorkflow, TheAppealWindowClosesAfterItsDays) {
  WorkflowOptions o;
  o.appeal_window_days = 183;
  Open(o);
  Upload("m-1", "chat", md5_);
  Upload("m-2", "chat", md5_);
  const auto reg = Requester("reg", {{"source_type", "trusted_flagger"}, {"trusted", true}});
  auto r = wf_->CreateRequest(reg, Notice(md5_));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)["status"], "actioned");
  wf_->DeliverDueNow();
  auto view = *wf_->GetRequest(reg, (*r)["id"]);
  ASSERT_EQ(view["status"], "confirmed");
  ASSERT_EQ(view["removals"].size(), 2u);
  const int64_t a1 = view["removals"][0]["action_id"], a2 = view["removals"][1]["action_id"];
  const Principal platform{99, Role::kPlatform, "platform"};
  env_.AdvanceMs(183 * kDay);  // the last day of the window
  auto ok = wf_->FileAppeal(platform, {{"action_id", a1}, {"reason", "mine, consented"}});
  EXPECT_TRUE(ok.ok()) << ok.status().ToString();
  env_.AdvanceMs(1);
  auto late = wf_->FileAppeal(platform, {{"action_id", a2}, {"reason", "mine"}});
  EXPECT_EQ(late.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(late.status().message().find("183 days"), std::string::npos) << late.status().message();
}

TEST_F(FakeClockWorkflow, RetainedEvidenceIsShownUntilItsPeriodEndsAndThenDeleted) {
  WorkflowOptions o;
  o.evidence_retention_s = 3600;
  o.evidence_key = std::string(32, 'k');
  Open(o);
  const auto req = Requester("r", {{"source_type", "victim"}});
  json body = Notice(md5_);
  body["evidence"] = json::array({json::object()});
  const auto photo = *media::EncodeJpeg(testing::DetailedPhoto(160, 120, 5), 90);
  auto r = wf_->CreateRequest(req, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  const Principal reviewer{50, Role::kReviewer, "rev"};
  EXPECT_TRUE(wf_->Preview(reviewer, id, 0, false, "").ok());
  EXPECT_EQ(*wf_->PurgeExpiredEvidence(), 0);
  env_.AdvanceMs(3600 * 1000 - 1);
  EXPECT_TRUE(wf_->Preview(reviewer, id, 0, false, "").ok()) << "one millisecond left";
  env_.AdvanceMs(1);
  EXPECT_EQ(wf_->Preview(reviewer, id, 0, false, "").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*wf_->PurgeExpiredEvidence(), 1);
  EXPECT_FALSE(store_->GetEvidence(id, 0)->has_value());
  int deleted = 0;
  const auto audit = store_->ReadAudit(1, 1000).value();
  for (const auto& a : audit) deleted += a.kind == "evidence.deleted";
  EXPECT_EQ(deleted, 1);
}

// Issue 21: package signing keys are recorded in the store, so every process publishes every key
// a process of the store has signed with (an earlier key, another process's file), and a package
// made anywhere is checked against its own key.
TEST_F(FakeClockWorkflow, EveryPackageKeyOfTheStoreIsPublishedAtEveryProcess) {
  WorkflowOptions first;
  first.package_signing_seed = std::string(32, '\x01');
  Open(first);
  auto one = wf_->PackageKeys();
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  const std::string first_id = (*one)["key_id"];
  ASSERT_EQ((*one)["keys"].size(), 1u);
  EXPECT_EQ((*one)["keys"][0]["key_id"], first_id);
  EXPECT_EQ((*one)["keys"][0]["public_key"], (*one)["public_key"]);
  // Another process (or a restart) with another key file: both keys, oldest first, at once.
  WorkflowOptions second;
  second.package_signing_seed = std::string(32, '\x02');
  auto other = std::make_unique<Workflow>(svc_.get(), store_.get(),
                                          std::make_unique<RecordingSink>(), second, &env_);
  auto two = other->PackageKeys();
  ASSERT_TRUE(two.ok()) << two.status().ToString();
  const std::string second_id = (*two)["key_id"];
  EXPECT_NE(first_id, second_id);
  ASSERT_EQ((*two)["keys"].size(), 2u) << two->dump();
  EXPECT_EQ((*two)["keys"][0]["key_id"], first_id);
  EXPECT_EQ((*two)["keys"][1]["key_id"], second_id);
  // The first process reads the store again within 10 s.
  EXPECT_EQ((*wf_->PackageKeys())["keys"].size(), 1u) << "(read at most every 10 s)";
  env_.AdvanceMs(10'000);
  EXPECT_EQ((*wf_->PackageKeys())["keys"].size(), 2u);
  // A restart with a key already recorded records nothing new; each key audited once.
  other.reset();
  Open(first);
  EXPECT_EQ((*wf_->PackageKeys())["keys"].size(), 2u);
  int recorded = 0;
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& a : *audit) recorded += a.kind == "package_key.recorded";
  EXPECT_EQ(recorded, 2);
  // Without a key file: no key to publish.
  Open({});
  EXPECT_EQ(wf_->PackageKeys().status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(FakeClockWorkflow, ClearLooksNeedAReasonAndAreBoundedPerReviewerAndHour) {
  WorkflowOptions o;
  o.evidence_retention_s = 7 * 86400;
  o.evidence_key = std::string(32, 'k');
  o.reveals_per_hour = 2;
  Open(o);
  const auto req = Requester("r", {{"source_type", "victim"}});
  json body = Notice(md5_);
  body["evidence"] = json::array({json::object()});
  const auto photo = *media::EncodeJpeg(testing::DetailedPhoto(160, 120, 6), 90);
  auto r = wf_->CreateRequest(req, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  const Principal rev{50, Role::kReviewer, "rev"}, other{51, Role::kReviewer, "other"};
  auto no_reason = wf_->Preview(rev, id, 0, true, "");
  EXPECT_EQ(no_reason.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_reason.status().message().find("reason"), std::string::npos);
  EXPECT_EQ(wf_->Preview(rev, id, 0, true, "check the face")->reveals_left, 1);
  env_.AdvanceMs(30 * 60'000);
  EXPECT_EQ(wf_->Preview(rev, id, 0, true, "check the tattoo")->reveals_left, 0);
  auto over = wf_->Preview(rev, id, 0, true, "once more");
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_NE(over.status().message().find("2 clear looks an hour"), std::string::npos);
  EXPECT_TRUE(wf_->Preview(rev, id, 0, false, "").ok()) << "the blurred look is never refused";
  EXPECT_EQ(wf_->Preview(other, id, 0, true, "second opinion")->reveals_left, 1)
      << "each reviewer has a budget";
  env_.AdvanceMs(30 * 60'000);  // the first reveal is an hour old: room for one
  EXPECT_EQ(wf_->Preview(rev, id, 0, true, "again")->reveals_left, 0);
  int refused = 0, revealed = 0;
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& a : *audit) {
    refused += a.kind == "evidence.reveal_refused";
    revealed += a.kind == "evidence.revealed";
  }
  EXPECT_EQ(refused, 1);
  EXPECT_EQ(revealed, 4);
  // The budget is kept in the store: a restart (or another process on the same store) does not
  // give a fresh hour.
  Open(o);
  EXPECT_EQ(wf_->Preview(rev, id, 0, true, "after a restart").status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(wf_->Preview(other, id, 0, true, "after a restart")->reveals_left, 0);
  // Reveals older than an hour are deleted from the store.
  env_.AdvanceMs(61 * 60'000);
  EXPECT_EQ(wf_->Preview(rev, id, 0, true, "a new hour")->reveals_left, 1);
  EXPECT_EQ(store_->FindDocs({.kind = "evidence_reveal"})->size(), 1u);
}

// Issue 18: a video is looked at as keyframes spread over its length (never played), each blurred
// by default; a reveal is one keyframe, counted and audited with its number.
TEST_F(FakeClockWorkflow, AVideoIsLookedAtAsBlurredKeyframesOneRevealAtATime) {
  WorkflowOptions o;
  o.evidence_retention_s = 7 * 86400;
  o.evidence_key = std::string(32, 'k');
  o.reveals_per_hour = 5;
  Open(o);
  const std::string dir = testing::MakeTempDir();
  const std::string path = dir + "/evidence.mp4";
  testing::WriteVideo(path, 160, 120, 120, 10, 3);  // 12 s, a keyframe every 12 frames
  std::ifstream in(path, std::ios::binary);
  const std::vector<uint8_t> video((std::istreambuf_iterator<char>(in)), {});
  std::filesystem::remove_all(dir);
  ASSERT_GT(video.size(), 1000u);
  const auto req = Requester("r", {{"source_type", "victim"}});
  json body = Notice(md5_);
  body["evidence"] = json::array({json::object(), json::object()});
  const auto photo = *media::EncodeJpeg(testing::DetailedPhoto(160, 120, 5), 90);
  auto r = wf_->CreateRequest(req, body, {{0, video}, {1, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  const Principal rev = Reviewer("rev");

  std::vector<std::vector<uint8_t>> frames;
  Status beyond = Status::Ok();
  for (int f = 0; f < Evidence::kPreviewKeyframes; ++f) {
    auto look = wf_->Preview(rev, id, 0, false, "", f);
    if (!look.ok()) {
      beyond = look.status();
      break;
    }
    auto d = media::DecodeImage(look->jpeg, {});
    ASSERT_TRUE(d.ok()) << "keyframe " << f << " is a JPEG";
    EXPECT_EQ(d->image.channels(), 1) << "blurred previews are grey";
    frames.push_back(look->jpeg);
  }
  ASSERT_GE(frames.size(), 4u) << beyond.ToString();
  EXPECT_NE(frames.front(), frames.back()) << "keyframes from across the video, not one";
  if (frames.size() < static_cast<size_t>(Evidence::kPreviewKeyframes)) {
    EXPECT_EQ(beyond.code(), StatusCode::kNotFound);
    EXPECT_NE(beyond.message().find(fmt::format("has {} keyframes", frames.size())),
              std::string::npos)
        << beyond.message();
  }
  EXPECT_EQ(wf_->Preview(rev, id, 0, false, "", 6).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wf_->Preview(rev, id, 0, false, "", -1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(wf_->Preview(rev, id, 1, false, "", 1).status().code(), StatusCode::kInvalidArgument)
      << "a picture has no keyframes";
  EXPECT_TRUE(wf_->Preview(rev, id, 1, false, "", 0).ok());

  // A reveal is one keyframe, in colour; a keyframe that is not there spends nothing.
  auto clear = wf_->Preview(rev, id, 0, true, "is this the reported scene", 2);
  ASSERT_TRUE(clear.ok()) << clear.status().ToString();
  EXPECT_EQ(clear->reveals_left, 4);
  EXPECT_EQ(media::DecodeImage(clear->jpeg, {})->image.channels(), 3);
  if (!beyond.ok()) {
    EXPECT_FALSE(wf_->Preview(rev, id, 0, true, "again", static_cast<int>(frames.size())).ok());
    EXPECT_EQ(wf_->Preview(rev, id, 0, true, "again", 0)->reveals_left, 3)
        << "the missing keyframe spent no reveal";
  }
  bool audited = false;
  const auto audit = store_->ReadAudit(1, 1000).value();
  for (const auto& a : audit) {
    if (a.kind != "evidence.revealed") continue;
    const json p = json::parse(a.payload);
    audited |= p.value("frame", -1) == 2 && p.value("reason", "") == "is this the reported scene";
  }
  EXPECT_TRUE(audited) << "the reveal is audited with its keyframe and reason";
}

TEST_F(FakeClockWorkflow, OneReviewerAtATimeClaimsARequestUntilTheLeaseEnds) {
  WorkflowOptions o;
  o.review_claim_s = 600;
  Open(o);
  const auto req = Requester("r", json());
  auto r = wf_->CreateRequest(req, Notice(md5_));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)["status"], "pending_review");
  const int64_t id = (*r)["id"];
  const Principal kim = Reviewer("kim"), lee = Reviewer("lee");
  auto c = wf_->ClaimRequest(kim, id, false);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)["claim"]["name"], "kim");
  EXPECT_EQ((*wf_->ReviewQueue(10))["queue"][0]["claim"]["key_id"], kim.key_id);
  EXPECT_EQ((*wf_->GetRequest(lee, id))["claim"]["name"], "kim");
  EXPECT_FALSE((*wf_->GetRequest(req, id)).contains("claim")) << "not the requester's business";
  // Another reviewer can neither claim, release nor decide it while the lease lasts.
  auto taken = wf_->ClaimRequest(lee, id, false);
  EXPECT_EQ(taken.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(taken.status().message().find("claimed by kim"), std::string::npos);
  EXPECT_EQ(wf_->ClaimRequest(lee, id, true).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(wf_->Decide(lee, id, true, "mine now").status().code(),
            StatusCode::kFailedPrecondition);
  // Claiming again extends the lease; when it ends, another may claim.
  env_.AdvanceMs(500'000);
  ASSERT_TRUE(wf_->ClaimRequest(kim, id, false).ok());
  env_.AdvanceMs(500'000);
  EXPECT_FALSE(wf_->ClaimRequest(lee, id, false).ok()) << "extended by the second claim";
  env_.AdvanceMs(100'001);
  EXPECT_TRUE((*wf_->ReviewQueue(10))["queue"][0]["claim"].is_null()) << "the lease ended";
  ASSERT_TRUE(wf_->ClaimRequest(lee, id, false).ok());
  // Released, anyone may claim; the decision clears the claim; a decided request is not claimed.
  EXPECT_TRUE((*wf_->ClaimRequest(lee, id, true))["claim"].is_null());
  ASSERT_TRUE(wf_->ClaimRequest(kim, id, false).ok());
  ASSERT_TRUE(wf_->Decide(kim, id, false, "not the reported person").ok());
  EXPECT_TRUE((*wf_->GetRequest(kim, id))["claim"].is_null());
  EXPECT_EQ(wf_->ClaimRequest(lee, id, false).status().code(), StatusCode::kFailedPrecondition);
  std::multiset<std::string> kinds;
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& a : *audit) kinds.insert(a.kind);
  EXPECT_EQ(kinds.count("request.claimed"), 4u);
  EXPECT_EQ(kinds.count("request.released"), 1u);
}

TEST_F(FakeClockWorkflow, TheConfirmationListsEveryRemovalOnceConfirmedAndOnlyForItsRequester) {
  Upload("m-1", "chat-a", md5_);
  Upload("m-2", "chat-b", md5_);
  const auto reg = Requester("reg", {{"source_type", "trusted_flagger"}, {"trusted", true}});
  const auto stranger = Requester("stranger", json());
  auto r = wf_->CreateRequest(reg, Notice(md5_));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  auto early = wf_->Confirmation(reg, id);
  EXPECT_EQ(early.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(early.status().message().find("actioned"), std::string::npos);
  wf_->DeliverDueNow();
  auto c = wf_->Confirmation(reg, id);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ((*c)["copies_removed"], 2);
  EXPECT_EQ((*c)["removals"].size(), 2u);
  EXPECT_EQ(wf_->Confirmation(stranger, id).status().code(), StatusCode::kNotFound);
  const std::string csv = Workflow::ConfirmationCsv(*c);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 3) << csv;
  EXPECT_NE(csv.find(",m-1,chat-a,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",m-2,chat-b,"), std::string::npos) << csv;
}

TEST_F(FakeClockWorkflow, AFailedWebhookIsRetriedWhenItsBackoffHasPassed) {
  WorkflowOptions o;
  o.retry_base_ms = 1000;
  Open(o);
  Upload("m-1", "chat", md5_);
  const auto reg = Requester("reg", {{"source_type", "hotline"}, {"trusted", true}});
  ASSERT_TRUE(wf_->CreateRequest(reg, Notice(md5_)).ok());
  sink_->status = 503;
  wf_->DeliverDueNow();
  auto pending = (*wf_->ListActions("pending", 0, 10))["actions"];
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0]["last_error"], "HTTP 503");
  sink_->status = 200;
  env_.AdvanceMs(400);  // under the shortest jittered delay (500 ms)
  wf_->DeliverDueNow();
  EXPECT_EQ(sink_->bodies.size(), 1u);
  env_.AdvanceMs(1100);  // past the longest (1,500 ms)
  wf_->DeliverDueNow();
  ASSERT_EQ(sink_->bodies.size(), 2u);
  EXPECT_EQ(sink_->bodies[1]["attempt"], 2);
  EXPECT_EQ(sink_->bodies[1]["idempotency_key"], sink_->bodies[0]["idempotency_key"]);
  EXPECT_EQ((*wf_->ListActions("pending", 0, 10))["actions"].size(), 0u);
}

TEST_F(FakeClockWorkflow, ConcurrentAcknowledgementsConfirmTheRequestOnce) {
  for (int i = 0; i < 64; ++i) Upload(fmt::format("m-{}", i), fmt::format("chat-{}", i % 5), md5_);
  const auto reg = Requester("reg", {{"source_type", "hotline"}, {"trusted", true}});
  auto r = wf_->CreateRequest(reg, Notice(md5_));
  ASSERT_TRUE(r.ok());
  auto actions = (*wf_->ListActions("pending", 0, 1000))["actions"];
  ASSERT_EQ(actions.size(), 64u);
  const Principal platform{99, Role::kPlatform, "platform"};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      // Each action acknowledged twice, by two threads: once changes it.
      for (size_t i = 0; i < actions.size(); ++i) {
        if (i % 4 == static_cast<size_t>(t % 4)) {
          EXPECT_TRUE(wf_->Acknowledge(platform, actions[i]["action_id"]).ok());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ((*wf_->GetRequest(reg, (*r)["id"]))["status"], "confirmed");
  std::map<std::string, int> kinds;
  const auto audit = store_->ReadAudit(1, 10000).value();
  for (const auto& a : audit) ++kinds[a.kind];
  EXPECT_EQ(kinds["request.confirmed"], 1);
  EXPECT_EQ(kinds["content.removed"], 64);
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
}

}  // namespace
}  // namespace takedown::service
