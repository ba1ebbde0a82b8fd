// The workflow over a real SQLite store and the real service: intake validation, the approval
// policy, review, the sweep over the content index, the outbox (signed, retried, idempotent),
// confirmation, statements of reasons, appeals, the transparency report, restarts.
#include "takedown/workflow.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/hmac.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "http/webhook.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/edits.h"
#include "support/synthetic.h"
#include "takedown/dsa.h"

namespace takedown::service {
namespace {

// Records every delivery; answers with `status` (or fails to connect when status is 0).
class FakeSink : public ActionSink {
 public:
  struct Call {
    json body;
    std::map<std::string, std::string> headers;
    std::string raw;
  };
  Result<int> Deliver(const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers) override {
    std::lock_guard lock(mu);
    Call c{json::parse(body), {}, body};
    for (const auto& [k, v] : headers) c.headers[k] = v;
    calls.push_back(c);
    if (status == 0) return IoError("connection refused");
    return status;
  }
  std::mutex mu;
  std::vector<Call> calls;
  int status = 200;
};

std::string Hmac(const std::string& key, const std::string& msg) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
  std::string h;
  for (unsigned i = 0; i < len; ++i) h += fmt::format("{:02x}", mac[i]);
  return h;
}

class WorkflowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    Open();
  }
  void TearDown() override {
    wf_.reset();
    svc_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open(int restrict_after = 0, std::unique_ptr<ActionSink> dsa_database = nullptr) {
    wf_.reset();
    svc_.reset();
    store_.reset();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db").value());
    svc_ = std::move(Service::Create(store_.get()).value());
    auto sink = std::make_unique<FakeSink>();
    sink_ = sink.get();
    WorkflowOptions o;
    o.webhook_secret = "s3cret";
    o.retry_base_ms = 60'000;  // retries far in the future unless a test moves them
    o.restrict_chat_after = restrict_after;
    if (dsa_database) {
      o.dsa_submission = true;
      o.dsa_database_token = "db-token";
      o.retry_base_ms = 1;  // the database's retries come at once
    }
    wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), std::move(sink),
                                     o);  // not started: tests deliver by hand
    if (dsa_database) wf_->EnableDsaSubmission(std::move(dsa_database));
  }
  Principal Key(Role role, const std::string& name) {
    auto k = svc_->CreateKey(role, name, "system");
    return Principal{k->first, role, name};
  }
  // A requester whose profile makes it a trusted flagger (its requests are actioned at once).
  Principal TrustedFlagger(const std::string& name) {
    const Principal p = Key(Role::kRequester, name);
    auto set = wf_->SetRequesterProfile(p.key_id,
                                        {{"source_type", "trusted_flagger"}, {"trusted", true}}, p);
    EXPECT_TRUE(set.ok()) << set.status().ToString();
    return p;
  }
  std::vector<uint8_t> Jpeg(uint32_t seed, int q = 90) {
    return *media::EncodeJpeg(testing::DetailedPhoto(320, 240, seed), q);
  }
  // Records an upload in the content index through the upload gate.
  int64_t Upload(const std::string& id, const std::string& chat,
                 const std::vector<uint8_t>& media) {
    auto r = svc_->Check({id, chat, "uploader-" + id, {}, media}, "key:platform");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->content_row;
  }
  json Notice(const std::string& category) {
    return {{"category", category},
            {"explanation", "a sexual deepfake of a real person, shared without consent"},
            {"notifier", {{"name", "Analyst Kim"}, {"email", "kim@regulator.example"}}},
            {"accuracy_statement", true}};
  }
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<Workflow> wf_;
  FakeSink* sink_ = nullptr;
};

// What a statement of reasons is about: a chat "restriction", a "block" at the upload gate, or a
// "removal".
std::string StatementKind(const json& st) {
  return st.contains("decision_provision")     ? "restriction"
         : st["takedown"].contains("block_id") ? "block"
                                               : "removal";
}

TEST_F(WorkflowTest, ValidationNamesEveryMissingOrBadField) {
  const auto req = Key(Role::kRequester, "victim-org");
  auto r = wf_->CreateRequest(req, json::object());
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  for (const char* f : {"category", "explanation", "notifier.name", "notifier.email",
                        "accuracy_statement", "evidence"}) {
    EXPECT_NE(r.status().message().find(f), std::string::npos)
        << f << " not named in: " << r.status().message();
  }
  json bad = Notice("ncii");
  bad["category"] = "spam";
  bad["notifier"]["email"] = "not-an-address";
  bad["evidence"] =
      json::array({{{"pdq", "xyz"}}, {{"md5", "abc"}}, {{"sha256", 5}}, json::object(), "str"});
  r = wf_->CreateRequest(req, bad);
  ASSERT_FALSE(r.ok());
  for (const char* f : {"category", "notifier.email", "evidence[0].pdq", "evidence[1].md5",
                        "evidence[2].sha256", "evidence[3]", "evidence[4]"}) {
    EXPECT_NE(r.status().message().find(f), std::string::npos)
        << f << " not named in: " << r.status().message();
  }
  // Anonymous notices are accepted for CSAM only.
  json anon = {{"category", "csam"},
               {"explanation", "child sexual abuse material"},
               {"accuracy_statement", true},
               {"evidence", json::array({{{"md5", std::string(32, 'a')}}})}};
  auto ok = wf_->CreateRequest(req, anon);
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE((*ok)["notice"]["anonymous"].get<bool>());
  anon["category"] = "ncii";
  EXPECT_FALSE(wf_->CreateRequest(req, anon).ok());
  // Authority orders need their legal basis and issuing authority; victims a signature.
  const auto reg = Key(Role::kRequester, "regulator");
  ASSERT_TRUE(wf_->SetRequesterProfile(reg.key_id,
                                       {{"source_type", "authority_order"}, {"trusted", true}}, reg)
                  .ok());
  auto order =
      wf_->CreateRequest(reg, {{"category", "deepfake-sexual"},
                               {"explanation", "x"},
                               {"evidence", json::array({{{"md5", std::string(32, 'b')}}})}});
  ASSERT_FALSE(order.ok());
  EXPECT_NE(order.status().message().find("legal_basis"), std::string::npos);
  EXPECT_NE(order.status().message().find("issuing_authority"), std::string::npos);
  const auto victim = Key(Role::kRequester, "victim");
  ASSERT_TRUE(wf_->SetRequesterProfile(victim.key_id, {{"source_type", "victim"}}, victim).ok());
  json v = Notice("ncii");
  v["evidence"] = json::array({{{"md5", std::string(32, 'c')}}});
  auto vr = wf_->CreateRequest(victim, v);
  ASSERT_FALSE(vr.ok());
  EXPECT_NE(vr.status().message().find("signature"), std::string::npos);
  EXPECT_NE(vr.status().message().find("good_faith_statement"), std::string::npos);
  EXPECT_EQ(
      wf_->SetRequesterProfile(victim.key_id, {{"source_type", "king"}}, victim).status().code(),
      StatusCode::kInvalidArgument);
}

// The mission: a trusted regulator reports an image; it and every copy in every chat (re-encoded,
// exact, located by link) become removals, delivered signed, acknowledged, confirmed back.
TEST_F(WorkflowTest, TrustedRequestIsSweptDeliveredAndConfirmed) {
  const auto reported = Jpeg(7, 95);
  const int64_t exact = Upload("m-1", "group-220k", reported);
  const int64_t reencoded = Upload("m-2", "group-other", Jpeg(7, 55));
  const int64_t linked = Upload("m-3", "dm-9", Jpeg(8));  // another picture, reported by its link
  const int64_t unrelated = Upload("m-4", "group-220k", Jpeg(9));
  const auto reg = Key(Role::kRequester, "kcsc");
  ASSERT_TRUE(wf_->SetRequesterProfile(
                     reg.key_id,
                     {{"source_type", "authority_order"}, {"trusted", true}, {"name", "KCSC"}}, reg)
                  .ok());
  json body = Notice("deepfake-sexual");
  body["legal_basis"] = "Act on the Establishment of the KCSC, Art. 21";
  body["issuing_authority"] = "Korea Communications Standards Commission";
  body["evidence"] = json::array({{{"message_link", "https://chat.example/c/dm-9/m/m-3"}}});
  std::map<size_t, std::vector<uint8_t>> media = {{1, reported}};
  body["evidence"].push_back(json::object());  // evidence[1]: the media (decoded by the HTTP layer)
  auto r = wf_->CreateRequest(reg, body, media);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status"], "actioned");
  EXPECT_EQ((*r)["decision"]["by"], "policy");
  EXPECT_EQ((*r)["priority"], 3);
  EXPECT_EQ((*r)["deadline_ms"].get<int64_t>() - (*r)["received_ms"].get<int64_t>(),
            24 * 3600 * 1000);
  EXPECT_EQ((*r)["sweep"]["actions"], 3);
  EXPECT_EQ((*r)["removals_pending"], 3);
  // From now on the upload gate blocks new copies.
  EXPECT_TRUE(svc_->Check({"m-5", "group-new", "u", {}, Jpeg(7, 70)}, "key:platform")->block);

  wf_->DeliverDueNow();
  ASSERT_EQ(sink_->calls.size(), 3u);
  std::set<int64_t> rows;
  for (const auto& c : sink_->calls) {
    EXPECT_EQ(c.body["kind"], "remove");
    EXPECT_EQ(c.headers.at("Idempotency-Key"), c.body["idempotency_key"]);
    const std::string ts = c.headers.at("X-Takedown-Timestamp");
    EXPECT_EQ(c.headers.at("X-Takedown-Signature"), "v1=" + Hmac("s3cret", ts + "." + c.raw));
    const json& st = c.body["statement_of_reasons"];
    EXPECT_EQ(st["decision_ground"], "DECISION_GROUND_ILLEGAL_CONTENT");
    EXPECT_EQ(st["automated_decision"], "AUTOMATED_DECISION_FULLY");
    // As the DSA Transparency Database takes it (issue 24): the 2025 category and keyword of a
    // sexual deepfake, synthetic media, an Art. 9-style order as "other notification" naming the
    // authority, a safe unique puid, the request's legal basis, no notifier text.
    EXPECT_TRUE(dsa::Validate(st).empty()) << st.dump();
    EXPECT_EQ(st["category"], "STATEMENT_CATEGORY_CYBER_VIOLENCE");
    EXPECT_EQ(st["category_specification"],
              json::array({"KEYWORD_NON_CONSENSUAL_MATERIAL_DEEPFAKE"}));
    EXPECT_EQ(st["content_type"],
              json::array({"CONTENT_TYPE_IMAGE", "CONTENT_TYPE_SYNTHETIC_MEDIA"}));
    EXPECT_EQ(st["source_type"], "SOURCE_TYPE_OTHER_NOTIFICATION");
    EXPECT_EQ(st["source_identity"], "Korea Communications Standards Commission");
    EXPECT_EQ(st["illegal_content_legal_ground"], "Act on the Establishment of the KCSC, Art. 21");
    EXPECT_EQ(st["puid"], fmt::format("takedown-action-{}", c.body["action_id"].get<int64_t>()));
    EXPECT_EQ(st["takedown"]["content_id"], c.body["content_id"]);
    EXPECT_GE(st["content_date"].get<std::string>(), "2000-01-01");
    EXPECT_EQ(st.dump().find(body["explanation"].get<std::string>()), std::string::npos)
        << "the notifier's own text is not copied into a published statement";
    rows.insert(store_->FindContent(c.body["content_id"].get<std::string>())->value().id);
  }
  EXPECT_EQ(rows, (std::set<int64_t>{exact, reencoded, linked}));
  EXPECT_EQ(store_->GetContent(unrelated)->value().state, "live");
  EXPECT_EQ(store_->GetContent(exact)->value().state, "removed");

  auto view = wf_->GetRequest(reg, (*r)["id"].get<int64_t>());
  ASSERT_TRUE(view.ok());
  EXPECT_EQ((*view)["status"], "confirmed");
  ASSERT_EQ((*view)["removals"].size(), 3u);
  std::set<std::string> chats;
  for (const auto& m : (*view)["removals"]) chats.insert(m["chat_id"]);
  EXPECT_EQ(chats, (std::set<std::string>{"group-220k", "group-other", "dm-9"}));
  // A second delivery round sends nothing: every action is acknowledged.
  wf_->DeliverDueNow();
  EXPECT_EQ(sink_->calls.size(), 3u);
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
}

// A stand-in for the DSA Transparency Database's bulk endpoint that applies the same rules: the
// token, 1 to 100 statements a call, each statement valid (dsa::Validate, the database's published
// rules), each puid once. Answers 201 with a uuid per statement, 422 naming what was refused, or
// `fail_with` when set (an outage).
class FakeDsaDatabase {
 public:
  FakeDsaDatabase() {
    server_.Post("/api/v1/statements", [this](const httplib::Request& req, httplib::Response& res) {
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      std::lock_guard l(mu);
      ++calls;
      if (fail_with != 0) {
        res.status = fail_with;
        return;
      }
      if (req.get_header_value("Authorization") != "Bearer db-token") {
        res.status = 401;
        return;
      }
      const json body = json::parse(req.body, nullptr, false);
      if (!body.is_object() || !body["statements"].is_array() || body["statements"].empty() ||
          body["statements"].size() > 100) {
        res.status = 422;
        res.set_content(R"({"message":"statements: 1 to 100"})", "application/json");
        return;
      }
      json errors = json::object(), created = json::array();
      for (const auto& st : body["statements"]) {
        for (const auto& p : dsa::Validate(st)) errors[p.field].push_back(p.message);
        const std::string puid = st.value("puid", "");
        if (puids.count(puid) || refuse_next) errors["puid"].push_back("already taken: " + puid);
        created.push_back(
            {{"uuid", fmt::format("uuid-{}", puids.size() + created.size())}, {"puid", puid}});
      }
      refuse_next = false;
      if (!errors.empty()) {
        res.status = 422;
        res.set_content(json{{"message", "invalid"}, {"errors", errors}}.dump(),
                        "application/json");
        return;
      }
      for (const auto& c : created) puids.insert(c["puid"].get<std::string>());
      batches.push_back(body["statements"].size());
      res.status = 201;
      res.set_content(json{{"statements", created}}.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~FakeDsaDatabase() {
    server_.stop();
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/api/v1/statements", port_); }
  std::mutex mu;
  int calls = 0, fail_with = 0;
  std::atomic<int> delay_ms{0};  // before each answer: a slow database
  bool refuse_next = false;
  std::set<std::string> puids;
  std::vector<size_t> batches;

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

// Two processes sharing the store both submit statements: each round claims what it sends, so a
// slow database call at one is not repeated by the other (each statement sent once, none
// refused as a duplicate of itself).
TEST_F(WorkflowTest, TwoSubmittersSharingTheStoreSendEachStatementOnce) {
  FakeDsaDatabase db;
  Open(0, std::move(http::MakeWebhookSink(db.url()).value()));
  for (int i = 0; i < 3; ++i)
    Upload(fmt::format("m-{}", i), fmt::format("chat-{}", i), Jpeg(7, 60 + 10 * i));
  const auto reg = TrustedFlagger("hotline");
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  ASSERT_TRUE(wf_->CreateRequest(reg, body, {{0, Jpeg(7, 95)}}).ok());
  wf_->DeliverDueNow();
  ASSERT_EQ(store_->FindDocs({.kind = "dsa_statement", .state = "queued"})->size(), 3u);

  WorkflowOptions o;
  o.webhook_secret = "s3cret";
  o.dsa_submission = true;
  o.dsa_database_token = "db-token";
  o.retry_base_ms = 1;
  Workflow other(svc_.get(), store_.get(), std::make_unique<FakeSink>(), o);
  other.EnableDsaSubmission(std::move(http::MakeWebhookSink(db.url()).value()));
  db.delay_ms = 300;
  Result<DsaSubmitter::Round> there = Internal("not run");
  std::thread t([&] { there = other.SubmitStatementsNow(); });
  auto here = wf_->SubmitStatementsNow();
  t.join();
  ASSERT_TRUE(here.ok()) << here.status().ToString();
  ASSERT_TRUE(there.ok()) << there.status().ToString();
  EXPECT_EQ(here->submitted + there->submitted, 3u);
  EXPECT_EQ(here->refused + there->refused, 0u);
  EXPECT_EQ(db.calls, 1) << "one call: the other round found everything claimed";
  EXPECT_EQ(store_->FindDocs({.kind = "dsa_statement", .state = "submitted"})->size(), 3u);
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
}

// A round that took more than half its claim to prepare sends nothing (another process could
// claim the same statements once the claim ends); they are retried in a later round.
TEST_F(WorkflowTest, AStatementRoundPastHalfItsClaimSendsNothing) {
  FakeDsaDatabase db;
  Open(0, std::move(http::MakeWebhookSink(db.url()).value()));
  Upload("m-1", "chat-1", Jpeg(7, 70));
  const auto reg = TrustedFlagger("hotline");
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  ASSERT_TRUE(wf_->CreateRequest(reg, body, {{0, Jpeg(7, 95)}}).ok());
  wf_->DeliverDueNow();
  ASSERT_EQ(store_->FindDocs({.kind = "dsa_statement", .state = "queued"})->size(), 1u);
  // A clock that moves on 61 s each time it is read: the round's claim is read first, so the
  // check before the call finds more than half of the 120 s claim spent.
  class Slow final : public Env {
   public:
    int64_t NowMs() override { return Env::Default()->NowMs() + 61'000 * reads_++; }
    void RandomBytes(void* out, size_t n) override { Env::Default()->RandomBytes(out, n); }
    std::string TempDir() override { return Env::Default()->TempDir(); }

   private:
    std::atomic<int64_t> reads_{0};
  } slow;
  WorkflowOptions o;
  o.webhook_secret = "s3cret";
  o.dsa_submission = true;
  o.retry_base_ms = 1;
  Workflow other(svc_.get(), store_.get(), std::make_unique<FakeSink>(), o, &slow);
  other.EnableDsaSubmission(std::move(http::MakeWebhookSink(db.url()).value()));
  auto round = other.SubmitStatementsNow();
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_EQ(round->submitted, 0u);
  EXPECT_EQ(round->retried, 1u);
  EXPECT_EQ(db.calls, 0) << "sent after half its claim was spent";
  auto queued = store_->FindDocs({.kind = "dsa_statement", .state = "queued"});
  ASSERT_EQ(queued->size(), 1u);
  EXPECT_NE(queued->front().doc.find("of its 120 s claim"), std::string::npos)
      << queued->front().doc;
}

// With other processes running the workflow (shared), one that died after committing the
// platform's acknowledgement of a request's last removal, before confirming the request, leaves
// it actioned; another process confirms it when it takes up what others left. A workflow alone
// on its store does that at its start only (Recover).
TEST_F(WorkflowTest, ASharedWorkflowConfirmsARequestAnotherProcessLeftActioned) {
  Upload("m-1", "chat-1", Jpeg(7, 70));
  const auto reg = TrustedFlagger("hotline");
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, Jpeg(7, 95)}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"].get<int64_t>();
  ASSERT_EQ((*r)["status"], "actioned") << r->dump();
  // The acknowledgement as the dead process committed it.
  auto acts = store_->FindDocs({.kind = "action", .owner = id});
  ASSERT_TRUE(acts.ok());
  ASSERT_EQ(acts->size(), 1u);
  for (auto d : *acts) {
    d.state = "acknowledged";
    json j = json::parse(d.doc);
    j["status"] = "acknowledged";
    d.doc = j.dump();
    ASSERT_TRUE(store_->PutDocs({d}).ok());
  }
  ASSERT_TRUE(wf_->ResumeNow().ok());
  EXPECT_EQ((*wf_->GetRequest(reg, id))["status"], "actioned");
  WorkflowOptions o;
  o.webhook_secret = "s3cret";
  o.shared = true;
  Workflow other(svc_.get(), store_.get(), nullptr, o);
  ASSERT_TRUE(other.ResumeNow().ok());
  EXPECT_EQ((*wf_->GetRequest(reg, id))["status"], "confirmed");
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
}

TEST_F(WorkflowTest, StatementsGoToTheDsaDatabaseOnceInBatchesWithItsAnswerKept) {
  FakeDsaDatabase db;
  Open(0, std::move(http::MakeWebhookSink(db.url()).value()));
  auto states = [&] {
    std::map<std::string, int> n;
    auto docs = store_->FindDocs({.kind = "dsa_statement"});
    for (const auto& d : *docs) ++n[d.state];
    return n;
  };
  for (int i = 0; i < 3; ++i)
    Upload(fmt::format("m-{}", i), fmt::format("chat-{}", i), Jpeg(7, 60 + 10 * i));
  const auto reg = Key(Role::kRequester, "kcsc");
  ASSERT_TRUE(wf_->SetRequesterProfile(reg.key_id,
                                       {{"source_type", "authority_order"}, {"trusted", true}}, reg)
                  .ok());
  json body = Notice("ncii");
  body["legal_basis"] = "Act on the Establishment of the KCSC, Art. 21";
  body["issuing_authority"] = "Korea Communications Standards Commission";
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, Jpeg(7, 95)}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ((*r)["sweep"]["actions"], 3);
  EXPECT_TRUE(states().empty()) << "nothing is queued before the platform has removed the item";
  wf_->DeliverDueNow();  // the platform acknowledges: each statement is queued with it
  EXPECT_EQ(states(), (std::map<std::string, int>{{"queued", 3}}));

  // An outage: nothing submitted, everything kept and retried.
  db.fail_with = 503;
  auto round = wf_->SubmitStatementsNow();
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_EQ(round->retried, 3u);
  EXPECT_EQ(states(), (std::map<std::string, int>{{"queued", 3}}));
  auto queued = store_->FindDocs({.kind = "dsa_statement"});
  EXPECT_EQ(json::parse(queued->at(0).doc)["last_error"], "HTTP 503");
  EXPECT_EQ(json::parse(queued->at(0).doc)["attempts"], 1);

  // Back: the three in one call, each with the database's uuid kept.
  db.fail_with = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // past the (1 ms) backoff
  round = wf_->SubmitStatementsNow();
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_EQ(round->submitted, 3u);
  EXPECT_EQ(db.batches, std::vector<size_t>{3});
  EXPECT_EQ(states(), (std::map<std::string, int>{{"submitted", 3}}));
  const auto submitted = store_->FindDocs({.kind = "dsa_statement"});
  for (const auto& d : *submitted) {
    const json j = json::parse(d.doc);
    EXPECT_EQ(j["answer"]["puid"], fmt::format("takedown-action-{}", d.owner));
    EXPECT_EQ(j["answer"]["uuid"].get<std::string>().rfind("uuid-", 0), 0u);
    EXPECT_EQ(j["http_status"], 201);
  }
  // Submitted once: another round sends nothing, and acknowledging again queues nothing.
  const int calls = db.calls;
  round = wf_->SubmitStatementsNow();
  EXPECT_EQ(round->submitted + round->retried, 0u);
  EXPECT_EQ(db.calls, calls);
  for (const auto& d : *submitted) {
    const auto again = wf_->Acknowledge(reg, d.owner);
    (void)again;  // a requester may not acknowledge; either way nothing is queued again
  }
  EXPECT_EQ(states(), (std::map<std::string, int>{{"submitted", 3}}));

  // A batch the database refuses is kept with its answer and not sent again.
  Upload("m-9", "chat-9", Jpeg(8, 70));
  json second = body;
  second["evidence"] = json::array({json::object()});
  ASSERT_TRUE(wf_->CreateRequest(reg, second, {{0, Jpeg(8, 95)}}).ok());
  wf_->DeliverDueNow();
  db.refuse_next = true;
  round = wf_->SubmitStatementsNow();
  ASSERT_TRUE(round.ok());
  EXPECT_EQ(round->refused, 1u);
  EXPECT_EQ(states(), (std::map<std::string, int>{{"submitted", 3}, {"refused", 1}}));
  const auto refused = store_->FindDocs({.kind = "dsa_statement", .state = "refused"});
  for (const auto& d : *refused) {
    EXPECT_NE(json::parse(d.doc)["answer"].dump().find("already taken"), std::string::npos);
  }
  EXPECT_EQ(wf_->SubmitStatementsNow()->refused, 0u);
  // Two orders from an authority in the report, both carried out within their 24 hours.
  auto rep = wf_->Report(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ((*rep)["eu_template"]["orders_from_authorities"]["total"], 2);
  EXPECT_EQ(
      (*rep)["eu_template"]["orders_from_authorities"]["by_member_state"]["not_stated"]["ncii"], 2);
  EXPECT_GE(
      (*rep)["eu_template"]["orders_from_authorities"]["median_hours_to_give_effect"].get<double>(),
      0);
  EXPECT_EQ((*rep)["deadlines"]["within_24h"],
            json({{"requests", 2}, {"met", 2}, {"missed", 0}, {"open", 0}}));
  // A statement says where it stands with the database.
  const auto sub = wf_->Statement(submitted->at(0).owner);
  ASSERT_TRUE(sub.ok()) << sub.status().ToString();
  EXPECT_EQ((*sub)["takedown"]["database_submission"]["status"], "submitted");
  EXPECT_EQ((*sub)["takedown"]["database_submission"]["http_status"], 201);
  // A re-upload blocked at the gate queues its own statement in the block's transaction, once
  // however often the same item is checked, and it is submitted like the others.
  auto blocked = svc_->Check({"m-re", "chat-x", "u-x", {}, Jpeg(7, 75)}, "key:platform");
  ASSERT_TRUE(blocked.ok() && blocked->block) << blocked.status().ToString();
  ASSERT_GT(blocked->block_id, 0);
  auto again = svc_->Check({"m-re", "chat-x", "u-x", {}, Jpeg(7, 75)}, "key:platform");
  EXPECT_EQ(again->block_id, blocked->block_id) << "one block per content item";
  EXPECT_EQ(states(),
            (std::map<std::string, int>{{"submitted", 3}, {"refused", 1}, {"queued", 1}}));
  round = wf_->SubmitStatementsNow();
  ASSERT_TRUE(round.ok()) << round.status().ToString();
  EXPECT_EQ(round->submitted, 1u);
  EXPECT_EQ(db.puids.count(fmt::format("takedown-block-{}", blocked->block_id)), 1u);
  const auto bst = wf_->BlockStatement(blocked->block_id);
  ASSERT_TRUE(bst.ok()) << bst.status().ToString();
  EXPECT_EQ((*bst)["source_type"], "SOURCE_VOLUNTARY");
  EXPECT_FALSE(bst->contains("source_identity")) << "own-initiative: no notifier";
  EXPECT_EQ((*bst)["illegal_content_legal_ground"], body["legal_basis"])
      << "the legal ground of the request its entry came from";
  EXPECT_EQ((*bst)["takedown"]["database_submission"]["status"], "submitted");
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
  wf_.reset();  // its connection to the stand-in closes before the stand-in stops
}

// The EU template counts an authority's orders under its member state: the requester profile's,
// else the request's territorial scope. Only EU/EEA codes are a member state.
TEST_F(WorkflowTest, OrdersAreCountedUnderTheAuthoritysMemberState) {
  const auto de = Key(Role::kRequester, "bnetza");
  const auto any = Key(Role::kRequester, "other-authority");
  for (const char* bad : {"KR", "de", "DEU", "EU"}) {
    auto r = wf_->SetRequesterProfile(
        de.key_id, {{"source_type", "authority_order"}, {"member_state", bad}}, de);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("member_state"), std::string::npos) << r.status().message();
  }
  ASSERT_TRUE(wf_->SetRequesterProfile(
                     de.key_id, {{"source_type", "authority_order"}, {"member_state", "DE"}}, de)
                  .ok());
  EXPECT_EQ((*wf_->GetRequesterProfile(de.key_id))["member_state"], "DE");
  ASSERT_TRUE(wf_->SetRequesterProfile(any.key_id, {{"source_type", "authority_order"}}, any).ok());
  json order = Notice("csam");
  order["legal_basis"] = "StGB 184b";
  order["issuing_authority"] = "an authority";
  order["evidence"] = json::array({{{"md5", std::string(32, 'a')}}});
  ASSERT_TRUE(wf_->CreateRequest(de, order).ok());
  order["territorial_scope"] = "FR";
  auto scoped = wf_->CreateRequest(any, order);
  ASSERT_TRUE(scoped.ok()) << scoped.status().ToString();
  order.erase("territorial_scope");
  ASSERT_TRUE(wf_->CreateRequest(any, order).ok());
  auto view = wf_->GetRequest(any, (*scoped)["id"]);
  EXPECT_FALSE((*view)["requester"].contains("member_state"));
  auto rep = wf_->Report(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(rep.ok()) << rep.status().ToString();
  EXPECT_EQ((*rep)["eu_template"]["orders_from_authorities"]["by_member_state"],
            json({{"DE", {{"csam", 1}}}, {"FR", {{"csam", 1}}}, {"not_stated", {{"csam", 1}}}}))
      << (*rep)["eu_template"].dump();
}

// Media evidence is hashed after its request is stored (issue 17 item 7): the submission answers
// at once with the items "hashing", the media waits encrypted, background workers hash it and put
// the request through the policy, and the staged copy is deleted when it is not kept.
TEST_F(WorkflowTest, MediaEvidenceIsHashedInTheBackgroundAfterTheRequestIsStored) {
  WorkflowOptions o;
  o.evidence_key = std::string(32, 'k');
  o.evidence_hash_workers = 1;
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  wf_->Start();
  Upload("m-1", "chat", Jpeg(31, 60));
  const auto reg = Key(Role::kRequester, "hotline");
  ASSERT_TRUE(
      wf_->SetRequesterProfile(reg.key_id, {{"source_type", "hotline"}, {"trusted", true}}, reg)
          .ok());
  const auto photo = Jpeg(31, 95);
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  EXPECT_EQ((*r)["status"], "received") << r->dump();
  EXPECT_EQ((*r)["evidence"][0]["hashing"], true) << r->dump();
  EXPECT_FALSE((*r)["evidence"][0].contains("pdq")) << "not hashed before the answer";
  json view;
  for (int i = 0; i < 500; ++i) {
    view = *wf_->GetRequest(reg, id);
    if (view["status"] != "received" && view["status"] != "approved") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(view["status"], "actioned") << view.dump();
  EXPECT_FALSE(view["evidence"][0].contains("hashing"));
  EXPECT_EQ(view["evidence"][0]["usable"], true);
  EXPECT_EQ(view["evidence"][0]["pdq"].get<std::string>().size(), 64u);
  EXPECT_EQ(view["removals_pending"], 1) << "the copy in the chat was found";
  EXPECT_FALSE(store_->GetEvidence(id, 0)->has_value()) << "the staged media is not kept";
  std::set<std::string> kinds;
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& rec : *audit) kinds.insert(rec.kind);
  EXPECT_TRUE(kinds.count("request.evidence_hashed"));
  wf_.reset();
}

// A file whose sandboxed decoder dies (the media hasher `takedown serve` sets answers DataLoss
// naming why) is one unusable item with that reason, recorded in the audit record; the other
// files of the request are hashed.
TEST_F(WorkflowTest, AFileThatKillsItsDecoderIsOneUnusableItemRecordedInTheAudit) {
  const std::string why =
      "the media could not be decoded: the sandboxed decoder crashed (SIGSEGV); the job was "
      "stopped, other work goes on";
  const auto poison = Jpeg(51);
  svc_->SetMediaHasher([&](std::span<const uint8_t> media, bool bank_side) -> Result<Signals> {
    if (std::equal(media.begin(), media.end(), poison.begin(), poison.end())) return DataLoss(why);
    return service::HashMediaInProcess(media, bank_side);
  });
  WorkflowOptions o;
  o.evidence_key = std::string(32, 'k');
  o.evidence_hash_workers = 1;
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  wf_->Start();
  const auto reg = Key(Role::kRequester, "hotline");
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object(), json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, poison}, {1, Jpeg(52)}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  json view;
  for (int i = 0; i < 500; ++i) {
    view = *wf_->GetRequest(reg, id);
    if (!view["evidence"][0].contains("hashing") && !view["evidence"][1].contains("hashing")) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(view["evidence"][0]["usable"], false) << view.dump();
  EXPECT_EQ(view["evidence"][0]["problem"], why);
  EXPECT_EQ(view["evidence"][1]["usable"], true) << view.dump();
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  bool recorded = false;
  for (const auto& rec : *audit) {
    if (rec.kind != "request.evidence_hashed") continue;
    const json d = json::parse(rec.payload);
    EXPECT_EQ(d["failed"], 1);
    EXPECT_EQ(d["problems"], json::array({{{"item", 0}, {"problem", why}}})) << d.dump();
    recorded = true;
  }
  EXPECT_TRUE(recorded);
  wf_.reset();
}

// A stop between storing a request and staging its media loses the media; the same submission
// again (its idempotency key: an email taken again, a retried call) stages it again, hashes it and
// puts the request through the policy.
TEST_F(WorkflowTest, MediaLostByAStopComesBackWithTheSameSubmission) {
  WorkflowOptions o;
  o.evidence_key = std::string(32, 'k');
  o.evidence_hash_workers = 1;  // not started: the hashing waits in the queue, then the "crash"
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  const auto reg = Key(Role::kRequester, "hotline");
  ASSERT_TRUE(
      wf_->SetRequesterProfile(reg.key_id, {{"source_type", "hotline"}, {"trusted", true}}, reg)
          .ok());
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  SubmitOptions so;
  so.idempotency_key = "mail:lost-1";
  auto a = wf_->CreateRequest(reg, body, {{0, Jpeg(61)}}, so);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const int64_t id = (*a)["id"];
  ASSERT_TRUE(store_->DeleteEvidence(id).ok());  // the stop came before the media was staged
  wf_.reset();
  o.evidence_hash_workers = 0;
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  wf_->Start();
  json view = *wf_->GetRequest(reg, id);
  EXPECT_EQ(view["status"], "pending_review") << view.dump();
  EXPECT_EQ(view["evidence"][0]["problem"], std::string(kMediaLostProblem));
  auto again = wf_->CreateRequest(reg, body, {{0, Jpeg(61)}}, so);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)["id"], id) << "the same request, not a second one";
  view = *wf_->GetRequest(reg, id);
  EXPECT_EQ(view["evidence"][0]["usable"], true) << view.dump();
  EXPECT_FALSE(view["evidence"][0].contains("problem")) << view.dump();
  EXPECT_NE(view["status"], "pending_review") << view.dump();
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
  wf_.reset();
}

// Hashing that a stop interrupted is taken up again at the next start from the staged copy; a file
// that cannot be decoded, one whose staged copy is gone, and files past the request's hashing
// budget are unusable items with their reason, and the request waits for a reviewer.
TEST_F(WorkflowTest, HashingInterruptedByAStopResumesAndBadOrLostMediaIsSaid) {
  WorkflowOptions o;
  o.evidence_key = std::string(32, 'k');
  o.evidence_hash_workers = 1;  // not started: the work waits in the queue, then the "crash"
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  const auto reg = Key(Role::kRequester, "hotline");
  ASSERT_TRUE(
      wf_->SetRequesterProfile(reg.key_id, {{"source_type", "hotline"}, {"trusted", true}}, reg)
          .ok());
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object(), json::object(), json::object()});
  const std::string junk = "this is not an image or a video";
  auto a = wf_->CreateRequest(
      reg, body,
      {{0, std::vector<uint8_t>(junk.begin(), junk.end())}, {1, Jpeg(41)}, {2, Jpeg(42)}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  body["evidence"] = json::array({json::object()});
  auto b = wf_->CreateRequest(reg, body, {{0, Jpeg(43)}});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  ASSERT_TRUE(store_->DeleteEvidence((*b)["id"]).ok());  // the staged copy lost
  wf_.reset();                    // stopped with both requests received and not hashed
  o.evidence_hash_workers = 0;    // at the next start: hashed by the start itself
  o.evidence_hash_budget_ms = 0;  // the first file that decodes, then the budget is spent
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  wf_->Start();
  const json va = *wf_->GetRequest(reg, (*a)["id"]);
  EXPECT_EQ(va["status"], "pending_review") << va.dump();
  const json& ev = va["evidence"];
  EXPECT_EQ(ev[0]["usable"], false);
  EXPECT_FALSE(ev[0].value("problem", "").empty()) << ev[0].dump();
  EXPECT_EQ(ev[1]["usable"], true) << ev[1].dump();
  EXPECT_EQ(ev[1]["pdq"].get<std::string>().size(), 64u);
  EXPECT_EQ(ev[2]["usable"], false);
  EXPECT_NE(ev[2].value("problem", "").find("budget"), std::string::npos) << ev[2].dump();
  for (const auto& e : ev) EXPECT_FALSE(e.contains("hashing"));
  const json vb = *wf_->GetRequest(reg, (*b)["id"]);
  EXPECT_EQ(vb["status"], "pending_review");
  EXPECT_NE(vb["evidence"][0].value("problem", "").find("send it again"), std::string::npos)
      << vb.dump();
  EXPECT_FALSE(store_->GetEvidence((*a)["id"], 1)->has_value());
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
}

// The spread of a reported picture (issue 25 item 1): every copy in the content index in the
// order recorded, the chats it reached, and each copy's most likely source; audited; CSV safe to
// open in a spreadsheet.
TEST_F(WorkflowTest, TheSpreadOfAReportedPictureIsItsCopiesInOrderWithTheirLikelySources) {
  const auto photo = Jpeg(5, 95);
  Upload("m-1", "chat-a", photo);
  Upload("m-2", "chat-b", photo);  // the same bytes, forwarded
  ASSERT_TRUE(svc_->Check({"m-3", "chat-c", "=HYPERLINK(\"x\")", {}, Jpeg(5, 60)}, "key:p").ok());
  Upload("unrelated", "chat-a", Jpeg(9, 90));
  const auto reg = Key(Role::kRequester, "hotline");
  const auto reviewer = Key(Role::kReviewer, "rev");
  ASSERT_TRUE(
      wf_->SetRequesterProfile(reg.key_id, {{"source_type", "hotline"}, {"trusted", true}}, reg)
          .ok());
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto sp = wf_->Spread(reviewer, (*r)["id"]);
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  const json& s = *sp;
  EXPECT_EQ(s["totals"]["copies"], 3) << s.dump();
  EXPECT_EQ(s["totals"]["chats"], 3);
  EXPECT_EQ(s["totals"]["uploaders"], 3);
  EXPECT_EQ(s["first"]["content_id"], "m-1");
  ASSERT_EQ(s["copies"].size(), 3u);
  EXPECT_FALSE(s["copies"][0].contains("from_content_id"));
  EXPECT_EQ(s["copies"][1]["from_content_id"], "m-1");
  EXPECT_EQ(s["copies"][1]["from_how"], "identical");
  EXPECT_EQ(s["copies"][2]["from_content_id"], "m-2") << "the most recent of equally close copies";
  EXPECT_EQ(s["copies"][2]["from_how"].get<std::string>().rfind("pdq distance", 0), 0u);
  EXPECT_EQ(s["chats"][1]["chat_id"], "chat-b");
  EXPECT_EQ(s["chats"][1]["reached_from_chat"], "chat-a");
  EXPECT_EQ(s["edges"].size(), 2u);
  EXPECT_EQ(s["truncated"], false);
  const std::string csv = Spread::Csv(s);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 4) << csv;
  EXPECT_NE(csv.find("\"'=HYPERLINK(\"\"x\"\")\""), std::string::npos)
      << "a formula is not run by a spreadsheet: " << csv;
  bool audited = false;
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& rec : *audit) audited |= rec.kind == "request.spread_viewed";
  EXPECT_TRUE(audited) << "every look at who shared what is audited";
  EXPECT_EQ(wf_->Spread(reviewer, 999999).status().code(), StatusCode::kNotFound);
  // The same from the bank entry the sweep made of the evidence.
  const int64_t entry = (*wf_->GetRequest(reviewer, (*r)["id"]))["evidence"][0]["entry_id"];
  auto es = wf_->EntrySpread(reviewer, entry);
  ASSERT_TRUE(es.ok()) << es.status().ToString();
  EXPECT_EQ((*es)["entry_id"], entry);
  EXPECT_EQ((*es)["totals"]["copies"], 3) << es->dump();
  EXPECT_EQ((*es)["first"]["content_id"], "m-1");
  EXPECT_EQ(wf_->EntrySpread(reviewer, entry + 1000).status().code(), StatusCode::kNotFound);
}

TEST_F(WorkflowTest, UntrustedRequestsWaitForAReviewerAndRequestersSeeOnlyTheirOwn) {
  Upload("m-1", "chat", Jpeg(3));
  const auto a = Key(Role::kRequester, "a");
  const auto b = Key(Role::kRequester, "b");
  const auto reviewer = Key(Role::kReviewer, "rev");
  json body = Notice("ncii");
  body["evidence"] = json::array({{{"content_id", "m-1"}}, {{"content_id", "nowhere"}}});
  auto r = wf_->CreateRequest(a, body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status"], "pending_review");
  // The requester learns nothing about the platform's content it did not send (issue 17 item 6):
  // not whether each named item exists, nor its hashes or row; its own answer is the same for an
  // item that exists and one that does not.
  for (const auto& ev : (*r)["evidence"]) {
    for (const char* k : {"resolved", "content_row", "pdq", "quality", "md5", "sha256", "usable",
                          "problem", "from_index"}) {
      EXPECT_FALSE(ev.contains(k)) << k << " shown to the requester: " << ev.dump();
    }
  }
  json first = (*r)["evidence"][0], second = (*r)["evidence"][1];
  first.erase("content_id");
  first.erase("index");
  second.erase("content_id");
  second.erase("index");
  EXPECT_EQ(first, second);
  const int64_t id = (*r)["id"];
  EXPECT_EQ((*wf_->GetRequest(a, id))["evidence"], (*r)["evidence"]);
  // The reviewer sees the resolution, and the located item's hashes.
  const json full = *wf_->GetRequest(reviewer, id);
  EXPECT_EQ(full["evidence"][1]["resolved"], false);  // reported, not dropped
  EXPECT_EQ(full["evidence"][1]["problem"], "not in the content index");
  EXPECT_EQ(full["evidence"][0]["resolved"], true);
  EXPECT_EQ(full["evidence"][0]["pdq"].get<std::string>().size(), 64u);
  EXPECT_EQ(full["evidence"][0]["from_index"], json::array({"pdq", "md5", "sha256"}));
  EXPECT_EQ(wf_->GetRequest(b, id).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*wf_->ListRequests(b, "", 0, 100))["requests"].size(), 0u);
  EXPECT_EQ((*wf_->ListRequests(a, "", 0, 100))["requests"].size(), 1u);
  auto q = wf_->ReviewQueue(10);
  ASSERT_EQ((*q)["queue"].size(), 1u);
  EXPECT_EQ(wf_->Decide(reviewer, id, true, "").status().code(), StatusCode::kInvalidArgument);
  auto d = wf_->Decide(reviewer, id, true, "the located item is the reported image");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)["status"], "actioned");
  EXPECT_EQ(wf_->Decide(reviewer, id, false, "again").status().code(),
            StatusCode::kFailedPrecondition);
  wf_->DeliverDueNow();
  EXPECT_EQ((*wf_->GetRequest(a, id))["status"], "confirmed");
  auto st = wf_->Statement((*wf_->GetRequest(a, id))["removals"][0]["action_id"]);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ((*st)["automated_decision"], "AUTOMATED_DECISION_PARTIALLY");
  EXPECT_EQ((*st)["source_type"], "SOURCE_ARTICLE_16");
  EXPECT_EQ((*st)["category"], "STATEMENT_CATEGORY_CYBER_VIOLENCE");
  EXPECT_EQ((*st)["category_specification"], json::array({"KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"}));
  EXPECT_TRUE(dsa::Validate(*st).empty()) << st->dump();
}

// Issue 18 item 3: the decision's policy ground is a field of its own: an approval on the
// platform's terms of service gives a statement of reasons with that ground instead of a legal
// one; a ground of the other outcome is refused naming the field; the confirmation states it.
TEST_F(WorkflowTest, TheDecisionsPolicyGroundFeedsTheStatementAndTheConfirmation) {
  Upload("m-1", "chat", Jpeg(3));
  Upload("m-2", "chat", Jpeg(4));
  const auto a = Key(Role::kRequester, "a");
  const auto reviewer = Key(Role::kReviewer, "rev");
  auto file = [&](const std::string& content_id) {
    json body = Notice("ncii");
    body["evidence"] = json::array({{{"content_id", content_id}}});
    auto r = wf_->CreateRequest(a, body);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return (*r)["id"].get<int64_t>();
  };
  const int64_t tos = file("m-1"), rejected = file("m-2");
  auto wrong = wf_->Decide(reviewer, tos, true, "breaks the rules", {.ground = "not_illegal"});
  ASSERT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(wrong.status().message().find("ground: 'not_illegal' is not a ground for approving"),
            std::string::npos)
      << wrong.status().message();
  EXPECT_EQ(wf_->Decide(reviewer, tos, true, "x", {.ground = "because"}).status().code(),
            StatusCode::kInvalidArgument);
  auto d = wf_->Decide(reviewer, tos, true, "an intimate picture shared without consent",
                       {.ground = "incompatible_content"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)["decision"]["ground"], "incompatible_content");
  wf_->DeliverDueNow();
  const json view = *wf_->GetRequest(a, tos);
  ASSERT_EQ(view["status"], "confirmed") << view.dump();
  auto st = wf_->Statement(view["removals"][0]["action_id"]);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)["decision_ground"], "DECISION_GROUND_INCOMPATIBLE_CONTENT");
  EXPECT_FALSE(st->contains("illegal_content_legal_ground"));
  EXPECT_NE((*st)["incompatible_content_ground"].get<std::string>().find("terms of service"),
            std::string::npos);
  EXPECT_TRUE(dsa::Validate(*st).empty()) << st->dump();
  auto conf = wf_->Confirmation(a, tos);
  ASSERT_TRUE(conf.ok()) << conf.status().ToString();
  EXPECT_EQ((*conf)["decision"]["ground"], "incompatible_content");

  EXPECT_EQ(
      wf_->Decide(reviewer, rejected, false, "x", {.ground = "illegal_content"}).status().code(),
      StatusCode::kInvalidArgument);
  auto no = wf_->Decide(reviewer, rejected, false, "the picture is not of the person",
                        {.ground = "not_illegal"});
  ASSERT_TRUE(no.ok()) << no.status().ToString();
  EXPECT_EQ((*wf_->GetRequest(a, rejected))["decision"]["ground"], "not_illegal");
}

// The terms-of-service ground carries to everything the request's decision leads to: the removals,
// the chat restriction they bring about and a re-upload blocked at the gate each state the
// platform's terms instead of a legal ground, and each is a statement the database would take.
TEST_F(WorkflowTest, ATermsOfServiceGroundCarriesToRestrictionsAndBlocks) {
  Open(/*restrict_after=*/2);
  const auto photo = Jpeg(5, 95);
  Upload("m-1", "group", photo);
  Upload("m-2", "group", Jpeg(5, 60));
  const auto a = Key(Role::kRequester, "a");
  const auto reviewer = Key(Role::kReviewer, "rev");
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(a, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  auto d = wf_->Decide(reviewer, id, true, "an intimate picture shared without consent",
                       {.ground = "incompatible_content"});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  wf_->DeliverDueNow();  // two removals, then the chat reaches 2: a restrict_chat action
  wf_->DeliverDueNow();
  auto blocked = svc_->Check({"m-5", "elsewhere", "u", {}, Jpeg(5, 70)}, "key:platform");
  ASSERT_TRUE(blocked.ok() && blocked->block) << blocked.status().ToString();
  auto sts = wf_->Statements(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(sts.ok()) << sts.status().ToString();
  EXPECT_EQ((*sts)["invalid"].size(), 0u) << (*sts)["invalid"].dump();
  std::map<std::string, int> kinds;
  for (const auto& st : (*sts)["statements"]) {
    const std::string kind = StatementKind(st);
    ++kinds[kind];
    EXPECT_EQ(st["decision_ground"], "DECISION_GROUND_INCOMPATIBLE_CONTENT") << st.dump();
    EXPECT_FALSE(st.contains("illegal_content_legal_ground")) << kind;
    EXPECT_FALSE(st.contains("illegal_content_explanation")) << kind;
    EXPECT_NE(st.value("incompatible_content_ground", "").find("terms of service"),
              std::string::npos)
        << kind;
    EXPECT_NE(st.value("incompatible_content_explanation", "").find("breaks the terms of service"),
              std::string::npos)
        << kind;
    EXPECT_TRUE(dsa::Validate(st).empty()) << st.dump();
  }
  EXPECT_EQ(kinds, (std::map<std::string, int>{{"block", 1}, {"removal", 2}, {"restriction", 1}}));
  // The block's statement as the uploader is given it (GET /v1/blocks/{id}/statement).
  const auto bst = wf_->BlockStatement(blocked->block_id);
  ASSERT_TRUE(bst.ok()) << bst.status().ToString();
  EXPECT_EQ((*bst)["decision_ground"], "DECISION_GROUND_INCOMPATIBLE_CONTENT");
}

// "other" names no DSA statement category: even a trusted source's request waits for a reviewer,
// whose approval must choose the category (and may choose keywords of it); the statement then
// states that choice.
TEST_F(WorkflowTest, OtherRequestsNeedTheReviewersDsaCategory) {
  Upload("m-1", "chat", Jpeg(3));
  const auto hotline = TrustedFlagger("hotline");
  const auto reviewer = Key(Role::kReviewer, "rev");
  json body = Notice("other");
  body["evidence"] = json::array({{{"content_id", "m-1"}}});
  auto r = wf_->CreateRequest(hotline, body);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status"], "pending_review");
  const int64_t id = (*r)["id"];
  auto no_category = wf_->Decide(reviewer, id, true, "defamation of a private person");
  ASSERT_EQ(no_category.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_category.status().message().find("dsa_category"), std::string::npos);
  auto unknown =
      wf_->Decide(reviewer, id, true, "x", {"STATEMENT_CATEGORY_NON_CONSENSUAL_BEHAVIOUR", {}});
  ASSERT_EQ(unknown.status().code(), StatusCode::kInvalidArgument) << "removed in 2025";
  auto foreign_keyword =
      wf_->Decide(reviewer, id, true, "x",
                  {"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", {"KEYWORD_TERRORIST_CONTENT"}});
  ASSERT_EQ(foreign_keyword.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(foreign_keyword.status().message().find("RISK_FOR_PUBLIC_SECURITY"), std::string::npos);
  auto d = wf_->Decide(reviewer, id, true, "defamation of a private person",
                       {"STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", {"KEYWORD_DEFAMATION"}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ((*d)["decision"]["dsa_category"], "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH");
  auto actions = wf_->ListActions("pending", 0, 10);
  ASSERT_TRUE(actions.ok()) << actions.status().ToString();
  ASSERT_EQ((*actions)["actions"].size(), 1u);
  auto st = wf_->Statement((*actions)["actions"][0]["action_id"].get<int64_t>());
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)["category"], "STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH");
  EXPECT_EQ((*st)["category_specification"], json::array({"KEYWORD_DEFAMATION"}));
  EXPECT_EQ((*st)["source_type"], "SOURCE_TRUSTED_FLAGGER");
  EXPECT_TRUE(dsa::Validate(*st).empty()) << st->dump();
}

// A dead endpoint: the action is retried later with backoff, keeps its idempotency key across
// attempts and restarts, and is delivered once the endpoint answers.
TEST_F(WorkflowTest, FailedDeliveriesAreRetriedWithTheSameKeyAcrossRestarts) {
  Upload("m-1", "chat", Jpeg(4));
  const auto reg = TrustedFlagger("reg");
  json body = Notice("ncii");
  body["evidence"] = json::array({{{"content_id", "m-1"}}});
  ASSERT_TRUE(wf_->CreateRequest(reg, body).ok());
  sink_->status = 0;
  wf_->DeliverDueNow();
  sink_->status = 503;
  wf_->DeliverDueNow();  // not due yet: backoff
  ASSERT_EQ(sink_->calls.size(), 1u);
  const std::string key = sink_->calls[0].body["idempotency_key"];
  auto pending = wf_->ListActions("pending", 0, 10);
  ASSERT_EQ((*pending)["actions"].size(), 1u);
  EXPECT_EQ((*pending)["actions"][0]["attempts"], 1);
  EXPECT_EQ((*pending)["actions"][0]["last_error"], "connection refused");
  // Restart: the action is still queued; make it due and deliver.
  Open();
  {
    auto rows = store_->FindDocs({.kind = "action", .state = "pending"});
    ASSERT_EQ(rows->size(), 1u);
    auto rec = rows->front();
    rec.due_ms = 0;
    ASSERT_TRUE(store_->PutDocs({rec}).ok());
  }
  wf_->DeliverDueNow();
  ASSERT_EQ(sink_->calls.size(), 1u);
  EXPECT_EQ(sink_->calls[0].body["idempotency_key"], key);
  EXPECT_EQ(sink_->calls[0].body["attempt"], 2);
  EXPECT_EQ((*wf_->ListActions("pending", 0, 10))["actions"].size(), 0u);
}

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

// A reported video: its copies (identical, re-encoded at another size) are found by vPDQ and
// digests and removed; an unrelated video stays; a new copy is blocked at the gate.
TEST_F(WorkflowTest, ReportedVideoAndItsCopiesAreFoundByVpdq) {
  testing::WriteVideo(dir_ + "/reported.mp4", 320, 240, 40, 10, 5);
  {  // the same frames at half size, re-encoded
    auto frames = testing::PanFrames(320, 240, 0, 40, 5);
    for (auto& f : frames) f = testing::ApplyEditPixels("resize_50", f);
    testing::WriteVideoFrames(dir_ + "/resized.mp4", frames, 10);
  }
  testing::WriteVideo(dir_ + "/other.mp4", 320, 240, 40, 10, 6);
  const auto reported = ReadBytes(dir_ + "/reported.mp4");
  const int64_t same = Upload("v-1", "group", reported);
  const int64_t resized = Upload("v-2", "chat-2", ReadBytes(dir_ + "/resized.mp4"));
  const int64_t other = Upload("v-3", "chat-3", ReadBytes(dir_ + "/other.mp4"));
  const auto reg = TrustedFlagger("reg");
  json body = Notice("deepfake-sexual");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, reported}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_GT((*r)["evidence"][0]["video"]["frames"].get<int>(), 10);
  EXPECT_EQ((*r)["status"], "actioned");
  wf_->DeliverDueNow();
  std::set<int64_t> removed;
  for (const auto& c : sink_->calls) {
    removed.insert(store_->FindContent(c.body["content_id"].get<std::string>())->value().id);
    EXPECT_EQ(c.body["statement_of_reasons"]["content_type"][0], "CONTENT_TYPE_VIDEO") << c.raw;
  }
  EXPECT_EQ(removed, (std::set<int64_t>{same, resized}));
  EXPECT_EQ(store_->GetContent(other)->value().state, "live");
  EXPECT_EQ((*wf_->GetRequest(reg, (*r)["id"]))["status"], "confirmed");
  // The gate blocks a new copy, by its frames (another size, so not by digest).
  auto again =
      svc_->Check({"v-4", "chat-9", "u", {}, ReadBytes(dir_ + "/resized.mp4")}, "key:platform");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->block);
  bool by_vpdq = false;
  for (const auto& m : again->matches) by_vpdq |= m.signal == "vpdq";
  EXPECT_TRUE(by_vpdq);
  // And after a restart (signals reloaded from the store).
  Open();
  auto after =
      svc_->Check({"v-5", "chat-9", "u", {}, ReadBytes(dir_ + "/resized.mp4")}, "key:platform");
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->block);
  EXPECT_FALSE(
      svc_->Check({"v-6", "chat-9", "u", {}, ReadBytes(dir_ + "/other.mp4")}, "key:platform")
          ->block);
}

// A clip: five seconds of a reported video between ten seconds of other footage and ten more.
// Neither share reaches 80% (a fifth of the upload, under half of the reported video), so the clip
// rule finds it: removed in the sweep, and a new upload holding the clip is blocked at the gate;
// with the rule off (video.clip_seconds = 0) the gate lets it through.
TEST_F(WorkflowTest, AFiveSecondClipOfAReportedVideoInsideAnotherIsFoundAndBlocked) {
  auto clip_inside = [&](const std::string& path, uint32_t seed) {
    auto frames = testing::PanFrames(256, 192, 0, 100, seed);  // 10 s at 10 fps
    for (auto& f : testing::PanFrames(256, 192, 40, 50, 5)) frames.push_back(std::move(f));
    for (auto& f : testing::PanFrames(256, 192, 100, 100, seed)) frames.push_back(std::move(f));
    testing::WriteVideoFrames(path, frames, 10);
  };
  testing::WriteVideoFrames(dir_ + "/reported.mp4", testing::PanFrames(256, 192, 0, 120, 5), 10);
  clip_inside(dir_ + "/clip.mp4", 6);
  clip_inside(dir_ + "/clip2.mp4", 7);
  testing::WriteVideoFrames(dir_ + "/other.mp4", testing::PanFrames(256, 192, 0, 250, 6), 10);
  const int64_t clip = Upload("c-1", "group", ReadBytes(dir_ + "/clip.mp4"));
  const int64_t other = Upload("c-2", "chat-2", ReadBytes(dir_ + "/other.mp4"));
  const auto reg = TrustedFlagger("reg");
  json body = Notice("deepfake-sexual");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, ReadBytes(dir_ + "/reported.mp4")}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["status"], "actioned");
  wf_->DeliverDueNow();
  std::set<int64_t> removed;
  for (const auto& c : sink_->calls)
    removed.insert(store_->FindContent(c.body["content_id"].get<std::string>())->value().id);
  EXPECT_EQ(removed, (std::set<int64_t>{clip}));
  EXPECT_EQ(store_->GetContent(other)->value().state, "live");
  // The gate: another upload holding the clip (other footage around it).
  const auto clip2 = ReadBytes(dir_ + "/clip2.mp4");
  auto gate = svc_->Check({"c-3", "chat-9", "u", {}, clip2}, "key:platform");
  ASSERT_TRUE(gate.ok()) << gate.status().ToString();
  EXPECT_TRUE(gate->block);
  EXPECT_FALSE(
      svc_->Check({"c-4", "chat-9", "u", {}, ReadBytes(dir_ + "/other.mp4")}, "key:platform")
          ->block);
  match::VideoMatchOptions off;
  off.clip_seconds = 0;
  svc_->SetVideoRule(off);
  auto ungated = svc_->Check({"c-5", "chat-9", "u", {}, clip2}, "key:platform");
  ASSERT_TRUE(ungated.ok());
  EXPECT_FALSE(ungated->block) << "the clip rule was off";
}

// Copies re-shared with a border, a caption bar, a 15% crop, a 4-degree rotation, inside a phone
// screenshot: plain PDQ misses them; the robust signals find them in the sweep and at the gate.
TEST_F(WorkflowTest, EditedCopiesAreFoundByTheRobustSignals) {
  const media::Image photo = testing::DetailedPhoto(480, 360, 31);
  const auto original = *media::EncodeJpeg(photo, 95);
  std::vector<std::string> edits = {"border_10", "caption", "crop_15", "rotate_4", "screenshot"};
  std::map<int64_t, std::string> rows;
  for (const auto& name : edits) {
    for (const auto& e : testing::ReshareEdits()) {
      if (e.name == name) rows[Upload("edit-" + name, "chat-" + name, e.apply(photo))] = name;
    }
  }
  ASSERT_EQ(rows.size(), edits.size());
  const int64_t unrelated = Upload("other", "chat-x", Jpeg(99));
  const auto reg = Key(Role::kRequester, "reg");
  ASSERT_TRUE(
      wf_->SetRequesterProfile(reg.key_id, {{"source_type", "hotline"}, {"trusted", true}}, reg)
          .ok());
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, original}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  wf_->DeliverDueNow();
  std::set<std::string> found;
  for (const auto& c : sink_->calls) {
    const int64_t row = store_->FindContent(c.body["content_id"].get<std::string>())->value().id;
    EXPECT_NE(row, unrelated);
    if (rows.count(row)) found.insert(rows[row]);
  }
  std::printf("robust sweep: found %zu of %zu edited copies:", found.size(), edits.size());
  for (const auto& f : found) std::printf(" %s", f.c_str());
  std::printf("\n");
  EXPECT_GE(found.size(), 4u) << "most edited copies should be found";
  EXPECT_EQ(store_->GetContent(unrelated)->value().state, "live");
  // The gate: a new bordered copy is blocked by a robust signal.
  for (const auto& e : testing::ReshareEdits()) {
    if (e.name != "border_10") continue;
    auto again = svc_->Check({"edit-again", "chat-y", "u", {}, e.apply(photo)}, "key:platform");
    ASSERT_TRUE(again.ok());
    EXPECT_TRUE(again->block);
  }
}

double GradientEnergy(const std::vector<uint8_t>& jpeg) {
  media::DecodeOptions o;
  auto d = media::DecodeImage(jpeg, o);
  EXPECT_TRUE(d.ok());
  const auto& im = d->image;
  double e = 0;
  for (int y = 0; y < im.height; ++y)
    for (int x = 1; x < im.width; ++x)
      e += std::abs(im.row(y)[x * im.channels()] - im.row(y)[(x - 1) * im.channels()]);
  return e / (static_cast<double>(im.width) * im.height);
}

TEST_F(WorkflowTest,
       EvidenceIsKeptEncryptedShownBlurredRevealedOnlyAuditedAndDeletedWhenItsPeriodEnds) {
  WorkflowOptions o;
  o.evidence_retention_s = 3600;
  o.evidence_key = std::string(32, 'k');
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, o);
  const auto photo = Jpeg(21, 95);
  const auto req = Key(Role::kRequester, "r");
  const auto reviewer = Key(Role::kReviewer, "rev");
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object(), {{"md5", std::string(32, 'd')}}});
  auto r = wf_->CreateRequest(req, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t id = (*r)["id"];
  EXPECT_TRUE((*r)["evidence"][0].contains("retained_until"));
  auto blob = store_->GetEvidence(id, 0);
  ASSERT_TRUE(blob.ok() && blob->has_value());
  const std::string plain(photo.begin(), photo.end());
  EXPECT_EQ((*blob)->data.find(plain.substr(0, 32)), std::string::npos) << "stored in the clear";
  EXPECT_EQ((*blob)->data.size(), photo.size() + 16);  // secretbox: ciphertext + MAC
  // Blurred greyscale by default; the clear picture on request with a reason; both audited.
  auto blurred = wf_->Preview(reviewer, id, 0, false, "");
  ASSERT_TRUE(blurred.ok()) << blurred.status().ToString();
  EXPECT_EQ(blurred->reveals_left, -1);
  media::DecodeOptions dopt;
  EXPECT_EQ(media::DecodeImage(blurred->jpeg, dopt)->image.format, media::PixelFormat::kGray8);
  EXPECT_EQ(wf_->Preview(reviewer, id, 0, true, " \n").status().code(),
            StatusCode::kInvalidArgument)
      << "a reveal without a reason";
  auto clear = wf_->Preview(reviewer, id, 0, true, "compare with the reported chat's copy");
  ASSERT_TRUE(clear.ok());
  EXPECT_EQ(clear->reveals_left, o.reveals_per_hour - 1);
  EXPECT_EQ(media::DecodeImage(clear->jpeg, dopt)->image.format, media::PixelFormat::kRgb8);
  EXPECT_LT(GradientEnergy(blurred->jpeg) * 4, GradientEnergy(clear->jpeg))
      << "the preview is not blurred";
  std::set<std::string> kinds;
  bool reason_audited = false;
  const auto audit = store_->ReadAudit(1, 1000);
  ASSERT_TRUE(audit.ok());
  for (const auto& a : *audit) {
    kinds.insert(a.kind);
    if (a.kind == "evidence.revealed")
      reason_audited =
          json::parse(a.payload).value("reason", "") == "compare with the reported chat's copy";
  }
  EXPECT_TRUE(kinds.count("evidence.previewed") && kinds.count("evidence.revealed"))
      << ::testing::PrintToString(kinds);
  EXPECT_TRUE(reason_audited);
  EXPECT_EQ(wf_->Preview(reviewer, id, 1, false, "").status().code(),
            StatusCode::kNotFound);  // a hash, not media
  // Altered ciphertext is refused, not shown.
  auto bad = **blob;
  bad.data[10] ^= 1;
  ASSERT_TRUE(store_->PutEvidence(bad).ok());
  EXPECT_EQ(wf_->Preview(reviewer, id, 0, false, "").status().code(), StatusCode::kDataLoss);
  // The period ends: deleted, audited, gone.
  bad.expires_ms = 1;
  ASSERT_TRUE(store_->PutEvidence(bad).ok());
  EXPECT_EQ(*wf_->PurgeExpiredEvidence(), 1);
  EXPECT_FALSE(store_->GetEvidence(id, 0)->has_value());
  EXPECT_EQ(wf_->Preview(reviewer, id, 0, false, "").status().code(), StatusCode::kNotFound);
  // Without retention nothing is kept.
  wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), nullptr, WorkflowOptions{});
  auto r2 = wf_->CreateRequest(req, body, {{0, photo}});
  ASSERT_TRUE(r2.ok());
  EXPECT_FALSE(store_->GetEvidence((*r2)["id"], 0)->has_value());
  EXPECT_FALSE((*r2)["evidence"][0].contains("retained_until"));
}

// A crash after a decision was stored but before the sweep: the next start sweeps it.
TEST_F(WorkflowTest, ARestartTakesUpApprovedRequestsThatWereNotSwept) {
  Upload("m-1", "chat", Jpeg(6));
  const auto req = Key(Role::kRequester, "r");
  json body = Notice("ncii");
  body["evidence"] = json::array({{{"content_id", "m-1"}}});
  auto r = wf_->CreateRequest(req, body);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ((*r)["status"], "pending_review");
  auto rec = store_->GetDoc((*r)["id"]);
  json doc = json::parse((*rec)->doc);
  doc["status"] = "approved";
  doc["decision"] = {{"approved", true}, {"by", "key:9"}, {"automated", false}, {"reason", "ok"}};
  (*rec)->state = "approved";
  (*rec)->doc = doc.dump();
  ASSERT_TRUE(store_->PutDocs({**rec}).ok());
  Open();
  wf_->Start();  // recovery: sweeps, and the delivery workers send the removal
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline &&
         (*wf_->GetRequest(req, (*r)["id"]))["status"] != "confirmed") {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ((*wf_->GetRequest(req, (*r)["id"]))["status"], "confirmed");
  EXPECT_EQ(sink_->calls.size(), 1u);
}

TEST_F(WorkflowTest, UpheldAppealRestoresAndDisablesTheEntryAndTheReportCountsIt) {
  Open(/*restrict_after=*/2);
  const auto photo = Jpeg(5, 95);
  Upload("m-1", "group", photo);
  Upload("m-2", "group", Jpeg(5, 60));
  const auto reg = Key(Role::kRequester, "reg");
  const auto platform = Key(Role::kPlatform, "platform");
  const auto reviewer = Key(Role::kReviewer, "rev");
  ASSERT_TRUE(
      wf_->SetRequesterProfile(reg.key_id, {{"source_type", "hotline"}, {"trusted", true}}, reg)
          .ok());
  json body = Notice("ncii");
  body["evidence"] = json::array({json::object()});
  auto r = wf_->CreateRequest(reg, body, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  wf_->DeliverDueNow();  // two removals, then the chat reaches 2: a restrict_chat action
  wf_->DeliverDueNow();
  ASSERT_EQ(sink_->calls.size(), 3u);
  EXPECT_EQ(sink_->calls[2].body["kind"], "restrict_chat");
  EXPECT_EQ(sink_->calls[2].body["chat_id"], "group");
  // A re-upload blocked at the gate: own-initiative, automated moderation in the report.
  EXPECT_TRUE(svc_->Check({"m-5", "elsewhere", "u", {}, Jpeg(5, 70)}, "key:platform")->block);
  auto view = *wf_->GetRequest(reg, (*r)["id"]);
  const int64_t action = view["removals"][0]["action_id"];
  EXPECT_EQ(wf_->FileAppeal(platform, {{"action_id", action}}).status().code(),
            StatusCode::kInvalidArgument);
  auto ap =
      wf_->FileAppeal(platform, {{"action_id", action}, {"reason", "this is me, and I consented"}});
  ASSERT_TRUE(ap.ok()) << ap.status().ToString();
  EXPECT_EQ(wf_->FileAppeal(platform, {{"action_id", action}, {"reason", "again"}}).status().code(),
            StatusCode::kFailedPrecondition);
  auto d = wf_->DecideAppeal(
      reviewer, (*ap)["id"],
      {{"outcome", "upheld"}, {"reason", "consent documented"}, {"disable_entry", true}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  wf_->DeliverDueNow();
  EXPECT_EQ(sink_->calls.back().body["kind"], "restore");
  const auto restored =
      store_->GetContent(store_->FindContent(sink_->calls.back().body["content_id"])->value().id);
  EXPECT_EQ(restored->value().state, "restored");
  // The entry is disabled: the picture passes the upload gate again.
  EXPECT_FALSE(svc_->Check({"m-9", "g", "u", {}, photo}, "key:platform")->block);
  auto rep = wf_->Report(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(rep.ok());
  EXPECT_EQ((*rep)["requests"]["total"], 1);
  EXPECT_EQ((*rep)["requests"]["by_source_type"]["hotline"], 1);
  EXPECT_EQ((*rep)["removals"]["total"], 2);
  EXPECT_EQ((*rep)["appeals"]["upheld_reversed"], 1);
  EXPECT_EQ((*rep)["chats_restricted"], 1);
  EXPECT_GE((*rep)["removals"]["time_to_removal_ms"]["p95"].get<double>(), 0);
  // The EU template's sections and the deadlines.
  const json& eu = (*rep)["eu_template"];
  EXPECT_EQ(eu["orders_from_authorities"]["total"], 0);
  EXPECT_EQ(eu["notices"]["total"], 1);
  EXPECT_EQ(eu["notices"]["from_trusted_flaggers"], 0) << "a hotline is not an Art. 22 flagger";
  EXPECT_EQ(eu["notices"]["from_others"], 1);
  EXPECT_EQ(eu["notices"]["actioned_on_legal_grounds"], 1);
  EXPECT_EQ(eu["own_initiative"]["upload_blocks"], 1);
  EXPECT_EQ(eu["own_initiative"]["by_category"]["ncii"], 1);
  EXPECT_EQ(eu["own_initiative"]["automated_share"], 1.0);
  EXPECT_EQ(eu["restrictions"], json({{"content_removed", 2},
                                      {"uploads_blocked", 1},
                                      {"chats_restricted", 1},
                                      {"accounts_restricted", 0},
                                      {"accounts_suspended", 0}}));
  EXPECT_EQ(eu["complaints"]["total"], 1);
  EXPECT_EQ(eu["complaints"]["upheld_reversed"], 1);
  EXPECT_GE(eu["complaints"]["median_hours_to_decide"].get<double>(), 0);
  const json& dl = (*rep)["deadlines"];
  ASSERT_EQ(dl["by_requester"].size(), 1u);
  EXPECT_EQ(dl["by_requester"][0]["requests"], 1);
  EXPECT_EQ(dl["by_requester"][0]["removals"], 2);
  EXPECT_EQ(dl["by_requester"][0]["removed_within_24h"], 2);
  for (const char* w : {"within_24h", "within_48h"}) {
    EXPECT_EQ(dl[w]["requests"].get<int>(),
              dl[w]["met"].get<int>() + dl[w]["missed"].get<int>() + dl[w]["open"].get<int>());
  }
  // An empty period counts nothing, the block included.
  auto none = wf_->Report(0, 1);
  EXPECT_EQ((*none)["eu_template"]["own_initiative"]["upload_blocks"], 0);
  const std::string csv = Workflow::ReportCsv(*rep);
  EXPECT_NE(csv.find("removals,total,2"), std::string::npos) << csv;
  EXPECT_NE(csv.find("eu_template,own_initiative.upload_blocks,1"), std::string::npos) << csv;
  EXPECT_NE(csv.find("deadlines,by_requester[0].removals,2"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"hash matching at upload (PDQ, vPDQ, MD5, SHA-256)\""), std::string::npos)
      << "a value with commas is quoted";
  // Statements: two removals, the chat restriction and the block at the gate, each valid.
  auto sts = wf_->Statements(0, std::numeric_limits<int64_t>::max());
  EXPECT_EQ((*sts)["statements"].size(), 4u);
  EXPECT_EQ((*sts)["invalid"].size(), 0u) << (*sts)["invalid"].dump();
  std::set<std::string> puids;
  std::map<std::string, json> by_kind;
  for (const auto& st : (*sts)["statements"]) {
    EXPECT_TRUE(dsa::Validate(st).empty()) << st.dump();
    puids.insert(st["puid"].get<std::string>());
    const std::string kind = StatementKind(st);
    by_kind[kind] = st;
  }
  EXPECT_EQ(puids.size(), 4u) << "a puid is never reused, even for content removed again";
  ASSERT_EQ(by_kind.size(), 3u);
  for (const auto& [kind, st] : by_kind) {
    EXPECT_EQ(st["category"], "STATEMENT_CATEGORY_CYBER_VIOLENCE") << kind;
    EXPECT_EQ(st["category_specification"], json::array({"KEYWORD_NON_CONSENSUAL_IMAGE_SHARING"}))
        << kind;
  }
  const json& restriction = by_kind["restriction"];
  EXPECT_EQ(restriction["decision_provision"], "DECISION_PROVISION_PARTIAL_SUSPENSION");
  EXPECT_FALSE(restriction.contains("decision_visibility"));
  EXPECT_EQ(restriction["content_type"], json::array({"CONTENT_TYPE_OTHER"}));
  EXPECT_EQ(restriction["source_type"], "SOURCE_VOLUNTARY");
  EXPECT_EQ(restriction["automated_decision"], "AUTOMATED_DECISION_FULLY");
  EXPECT_EQ(restriction["takedown"]["chat_id"], "group");
  EXPECT_EQ(restriction["takedown"]["confirmed_removals"], 2);
  EXPECT_NE(restriction["illegal_content_explanation"].get<std::string>().find("2 copies"),
            std::string::npos);
  EXPECT_EQ(sink_->calls[2].body["statement_of_reasons"]["puid"], restriction["puid"])
      << "the restriction's statement travels with it to the platform";
  const json& block = by_kind["block"];
  EXPECT_EQ(block["source_type"], "SOURCE_VOLUNTARY");
  EXPECT_EQ(block["automated_detection"], "Yes");
  EXPECT_EQ(block["automated_decision"], "AUTOMATED_DECISION_FULLY");
  EXPECT_EQ(block["decision_visibility"], json::array({"DECISION_VISIBILITY_CONTENT_REMOVED"}));
  EXPECT_EQ(block["takedown"]["content_id"], "m-5");
  EXPECT_EQ(block["puid"],
            fmt::format("takedown-block-{}", block["takedown"]["block_id"].get<int64_t>()));
  EXPECT_EQ(*wf_->BlockStatement(block["takedown"]["block_id"]), block);
  EXPECT_EQ(wf_->BlockStatement(restriction["takedown"]["action_id"]).status().code(),
            StatusCode::kNotFound)
      << "an action's id is not a block's";
  EXPECT_EQ(wf_->Statement(sink_->calls.back().body["action_id"]).status().code(),
            StatusCode::kFailedPrecondition)
      << "a restore restricts nothing: no statement";
  // A period without the block leaves it out.
  EXPECT_EQ((*wf_->Statements(0, 1))["statements"].size(), 0u);
  auto batches = wf_->Statements(0, std::numeric_limits<int64_t>::max(), true);
  ASSERT_EQ((*batches)["batches"].size(), 1u);
  for (const auto& st : (*batches)["batches"][0]["statements"]) {
    EXPECT_FALSE(st.contains("takedown")) << "the database's fields only";
    EXPECT_TRUE(dsa::Validate(st).empty()) << st.dump();
  }
  EXPECT_TRUE(store::VerifyAuditChain(*store_).ok());
}

}  // namespace
}  // namespace takedown::service
