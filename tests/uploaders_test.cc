// Repeat uploaders (issue 25 item 4) over a real SQLite store, the real service and a generated
// platform history: an uploader whose uploads of a category are removed or blocked N times within
// the window gets the policy's account action exactly at N (not at N+1), with its statement of
// reasons; strikes leaving the window stop counting; an upheld appeal takes its strike back; the
// spread view names the repeat uploaders and the transparency report counts the actions.
#include "takedown/uploaders.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <mutex>
#include <thread>

#include "core/fake_env.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/dsa.h"
#include "takedown/workflow.h"

namespace takedown::service {
namespace {

constexpr int64_t kDay = 86400 * 1000;

class RecordingSink : public ActionSink {
 public:
  Result<int> Deliver(const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers) override {
    std::lock_guard lock(mu);
    json b = json::parse(body);
    for (const auto& [k, v] : headers) {
      if (k == "Idempotency-Key") b["header_key"] = v;
    }
    calls.push_back(b);
    return 200;
  }
  std::vector<json> Accounts() {
    std::lock_guard lock(mu);
    std::vector<json> out;
    for (const auto& c : calls) {
      if (c["kind"] == "account_action") out.push_back(c);
    }
    return out;
  }
  std::mutex mu;
  std::vector<json> calls;
};

class UploadersTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  void Open(const std::string& policy, int window_days) {
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db", &env_).value());
    svc_ = std::move(Service::Create(store_.get(), &env_).value());
    WorkflowOptions o;
    o.retry_base_ms = 60'000;
    o.repeat_uploader_policy = policy;
    o.repeat_uploader_window_days = window_days;
    auto sink = std::make_unique<RecordingSink>();
    sink_ = sink.get();
    wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), std::move(sink), o, &env_);
    hotline_ = Key(Role::kRequester, "hotline");
    ASSERT_TRUE(wf_->SetRequesterProfile(hotline_.key_id,
                                         {{"source_type", "hotline"}, {"trusted", true}}, hotline_)
                    .ok());
    reviewer_ = Key(Role::kReviewer, "rev");
    platform_ = Key(Role::kPlatform, "platform");
  }
  void TearDown() override {
    wf_.reset();
    svc_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Principal Key(Role role, const std::string& name) {
    auto k = svc_->CreateKey(role, name, "system");
    return Principal{k->first, role, name};
  }
  std::vector<uint8_t> Jpeg(uint32_t seed, int q = 90) {
    return *media::EncodeJpeg(testing::DetailedPhoto(320, 240, seed), q);
  }
  bool Upload(const std::string& id, const std::string& chat, const std::string& uploader,
              const std::vector<uint8_t>& media) {
    auto r = svc_->Check({id, chat, uploader, {}, media}, "key:platform");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->block;
  }
  // A trusted hotline reports the picture: approved and swept at once; its removals delivered.
  int64_t Report(const std::vector<uint8_t>& photo) {
    json body = {{"category", "ncii"},
                 {"explanation", "an intimate picture shared without consent"},
                 {"notifier", {{"name", "Hotline"}, {"email", "desk@hotline.example"}}},
                 {"accuracy_statement", true},
                 {"evidence", json::array({json::object()})}};
    auto r = wf_->CreateRequest(hotline_, body, {{0, photo}});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    wf_->DeliverDueNow();
    wf_->DeliverDueNow();
    return r.ok() ? (*r)["id"].get<int64_t>() : 0;
  }

  FakeEnv env_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<Workflow> wf_;
  Principal hotline_, reviewer_, platform_;
  RecordingSink* sink_ = nullptr;
};

TEST(RepeatPolicy, ParsesPerCategoryRulesAndNamesEveryMistake) {
  auto p = ParseRepeatPolicy(" ncii = 3:suspend, 2:warn ; csam=1:suspend; *=5:restrict;");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  const auto* ncii = p->For(Category::kNcii);
  ASSERT_NE(ncii, nullptr);
  ASSERT_EQ(ncii->size(), 2u);
  EXPECT_EQ((*ncii)[0].count, 2) << "sorted by count";
  EXPECT_EQ((*ncii)[0].measure, AccountMeasure::kWarn);
  EXPECT_EQ((*ncii)[1].measure, AccountMeasure::kSuspend);
  ASSERT_NE(p->For(Category::kTerrorism), nullptr) << "* covers the categories not named";
  EXPECT_EQ((*p->For(Category::kTerrorism))[0].measure, AccountMeasure::kRestrict);
  EXPECT_TRUE(ParseRepeatPolicy("")->empty());
  EXPECT_EQ(ParseRepeatPolicy("ncii=1:warn")->For(Category::kCsam), nullptr);

  const std::vector<std::pair<std::string, std::string>> bad = {
      {"ncii", "is not CATEGORY=N:MEASURE"},
      {"spam=1:warn", "'spam' is not a category"},
      {"ncii=0:warn", "'0' (ncii) is not a count of strikes in 1..1000"},
      {"ncii=1001:warn", "'1001' (ncii) is not a count"},
      {"ncii=2x:warn", "'2x' (ncii) is not a count"},
      {"ncii=2:ban", "'ban' (ncii) is not a measure (warn, restrict or suspend)"},
      {"ncii=2", "'2' (ncii) is not N:MEASURE"},
      {"ncii=2:warn,2:suspend", "the count 2 is given twice for 'ncii'"},
      {"ncii=2:warn;ncii=3:warn", "the category 'ncii' is given twice"}};
  for (const auto& [text, why] : bad) {
    auto r = ParseRepeatPolicy(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(why), std::string::npos)
        << text << ": " << r.status().message();
  }
}

TEST_F(UploadersTest, TheRuleFiresExactlyAtEachCountWithItsStatementAndShowsInTheSpread) {
  Open("ncii=2:warn,3:suspend; *=9:warn", 30);
  const auto photo = Jpeg(5, 95);
  Upload("m-1", "chat-a", "u-mallory", photo);
  for (int i = 0; i < 4; ++i) Upload(fmt::format("noise-{}", i), "chat-a", "u-noise", Jpeg(50 + i));
  env_.AdvanceMs(kDay);
  const int64_t request = Report(photo);
  // Strike 1: the removal of m-1, acknowledged. No rule at 1.
  EXPECT_TRUE(sink_->Accounts().empty());

  env_.AdvanceMs(kDay);
  EXPECT_TRUE(Upload("m-2", "chat-b", "u-mallory", Jpeg(5, 70)));  // strike 2: warn
  wf_->DeliverDueNow();
  ASSERT_EQ(sink_->Accounts().size(), 1u);
  EXPECT_TRUE(Upload("b-1", "chat-b", "u-bob", Jpeg(5, 60)));    // bob's first: nothing
  EXPECT_FALSE(Upload("x-1", "chat-b", "u-mallory", Jpeg(77)));  // not a strike
  env_.AdvanceMs(kDay);
  EXPECT_TRUE(Upload("m-3", "chat-c", "u-mallory", Jpeg(5, 80)));  // strike 3: suspend
  wf_->DeliverDueNow();
  EXPECT_TRUE(Upload("m-4", "chat-c", "u-mallory", photo));  // strike 4: no rule at 4
  wf_->DeliverDueNow();
  wf_->DeliverDueNow();

  const auto acts = sink_->Accounts();
  ASSERT_EQ(acts.size(), 2u) << "exactly at 2 and 3, not at 1 or 4, never for bob";
  EXPECT_EQ(acts[0]["uploader_id"], "u-mallory");
  EXPECT_EQ(acts[0]["measure"], "warn");
  EXPECT_EQ(acts[0]["strikes"], 2);
  EXPECT_EQ(acts[0]["category"], "ncii");
  EXPECT_EQ(acts[0]["window_days"], 30);
  EXPECT_EQ(acts[0]["content_ids"], json::array({"m-1", "m-2"}));
  EXPECT_EQ(acts[1]["measure"], "suspend");
  EXPECT_EQ(acts[1]["strikes"], 3);
  EXPECT_EQ(acts[1]["content_ids"], json::array({"m-1", "m-2", "m-3"}));
  EXPECT_NE(acts[0]["header_key"], acts[1]["header_key"]);
  EXPECT_EQ(acts[1]["header_key"], acts[1]["idempotency_key"]);
  // The warning explains itself but is no statement for the DSA database; the suspension is one.
  const json& warn = acts[0]["statement_of_reasons"];
  EXPECT_EQ(warn["takedown"]["dsa_database"], false);
  EXPECT_FALSE(warn.contains("decision_account"));
  EXPECT_NE(warn["illegal_content_explanation"].get<std::string>().find("warned because 2"),
            std::string::npos)
      << warn.dump();
  const json& suspend = acts[1]["statement_of_reasons"];
  EXPECT_TRUE(dsa::Validate(suspend).empty()) << suspend.dump();
  EXPECT_EQ(suspend["decision_account"], "DECISION_ACCOUNT_SUSPENDED");
  EXPECT_EQ(suspend["source_type"], "SOURCE_VOLUNTARY");
  EXPECT_EQ(suspend["automated_decision"], "AUTOMATED_DECISION_FULLY");
  EXPECT_EQ(suspend["takedown"]["uploader_id"], "u-mallory");
  const int64_t suspend_id = acts[1]["action_id"];
  auto st = wf_->Statement(suspend_id);
  ASSERT_TRUE(st.ok()) << st.status().ToString();
  EXPECT_EQ((*st)["decision_account"], "DECISION_ACCOUNT_SUSPENDED");

  // The spread view names the repeat uploaders, the most struck first.
  auto sp = wf_->Spread(reviewer_, request);
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  const json& rep = (*sp)["repeat_uploaders"];
  ASSERT_EQ(rep.size(), 2u) << rep.dump();
  EXPECT_EQ(rep[0]["uploader_id"], "u-mallory");
  EXPECT_EQ(rep[0]["strikes"], 4);
  EXPECT_EQ(rep[0]["strikes_by_category"]["ncii"], 4);
  ASSERT_EQ(rep[0]["account_actions"].size(), 2u);
  EXPECT_EQ(rep[0]["account_actions"][1]["measure"], "suspend");
  EXPECT_EQ(rep[1]["uploader_id"], "u-bob");
  EXPECT_EQ(rep[1]["strikes"], 1);
  EXPECT_TRUE(rep[1]["account_actions"].empty());

  // The report counts them; the statements export has the suspension, not the warning.
  auto report = wf_->Report(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*report)["account_actions"]["total"], 2);
  EXPECT_EQ((*report)["account_actions"]["by_measure"]["warn"], 1);
  EXPECT_EQ((*report)["account_actions"]["by_measure"]["suspend"], 1);
  EXPECT_EQ((*report)["account_actions"]["by_measure"]["restrict"], 0);
  EXPECT_EQ((*report)["eu_template"]["restrictions"]["accounts_suspended"], 1);
  auto sts = wf_->Statements(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(sts.ok());
  int accounts = 0;
  for (const auto& s : (*sts)["statements"]) {
    if (s["takedown"].value("kind", "") == "account_action") {
      ++accounts;
      EXPECT_EQ(s["decision_account"], "DECISION_ACCOUNT_SUSPENDED");
    }
  }
  EXPECT_EQ(accounts, 1);
  EXPECT_TRUE((*sts)["invalid"].empty()) << (*sts)["invalid"].dump();

  // The removal of m-1 is reversed on appeal: that strike no longer counts.
  auto view = wf_->GetRequest(hotline_, request);
  ASSERT_TRUE(view.ok());
  int64_t removal = 0;
  for (const auto& r : (*view)["removals"]) {
    if (r["content_id"] == "m-1") removal = r["action_id"];
  }
  ASSERT_GT(removal, 0) << view->dump();
  auto ap = wf_->FileAppeal(platform_, {{"action_id", removal}, {"reason", "not me"}});
  ASSERT_TRUE(ap.ok()) << ap.status().ToString();
  ASSERT_TRUE(
      wf_->DecideAppeal(reviewer_, (*ap)["id"], {{"outcome", "upheld"}, {"reason", "shown wrong"}})
          .ok());
  sp = wf_->Spread(reviewer_, request);
  ASSERT_TRUE(sp.ok());
  EXPECT_EQ((*sp)["repeat_uploaders"][0]["strikes"], 3);
}

TEST_F(UploadersTest, StrikesOutsideTheWindowDoNotCountAndTheRuleFiresAgainWhenReachedAnew) {
  Open("ncii=2:restrict", 30);
  const auto photo = Jpeg(7, 95);
  Report(photo);  // the bank entry; no copy recorded before
  int n = 0;
  auto strike = [&] {
    ++n;
    EXPECT_TRUE(Upload(fmt::format("m-{}", n), "chat", "u-mallory", Jpeg(7, 60 + n)));
    wf_->DeliverDueNow();
  };
  strike();
  env_.AdvanceMs(31 * kDay);
  strike();  // the first left the window: 1
  EXPECT_TRUE(sink_->Accounts().empty());
  env_.AdvanceMs(kDay);
  strike();  // 2 within 30 days: restrict
  ASSERT_EQ(sink_->Accounts().size(), 1u);
  EXPECT_EQ(sink_->Accounts()[0]["measure"], "restrict");
  EXPECT_EQ(sink_->Accounts()[0]["content_ids"], json::array({"m-2", "m-3"}));
  EXPECT_EQ(sink_->Accounts()[0]["statement_of_reasons"]["decision_provision"],
            "DECISION_PROVISION_PARTIAL_SUSPENSION");
  EXPECT_TRUE(dsa::Validate(sink_->Accounts()[0]["statement_of_reasons"]).empty());
  env_.AdvanceMs(kDay);
  strike();  // 3: no rule
  env_.AdvanceMs(40 * kDay);
  strike();  // alone in the window again: 1
  EXPECT_EQ(sink_->Accounts().size(), 1u);
  strike();  // 2 anew: restrict again, its own action
  ASSERT_EQ(sink_->Accounts().size(), 2u);
  EXPECT_NE(sink_->Accounts()[0]["idempotency_key"], sink_->Accounts()[1]["idempotency_key"]);
  // Each once: delivering again sends nothing new.
  wf_->DeliverDueNow();
  EXPECT_EQ(sink_->Accounts().size(), 2u);

  // A restriction is appealed (DSA Art. 20) and upheld: a restore lifts it from the account.
  const int64_t restricted = sink_->Accounts()[0]["action_id"];
  auto ap = wf_->FileAppeal(platform_,
                            {{"action_id", restricted}, {"reason", "my account was taken over"}});
  ASSERT_TRUE(ap.ok()) << ap.status().ToString();
  ASSERT_TRUE(wf_->DecideAppeal(reviewer_, (*ap)["id"],
                                {{"outcome", "upheld"}, {"reason", "the takeover is shown"}})
                  .ok());
  wf_->DeliverDueNow();
  json lift;
  {
    std::lock_guard lock(sink_->mu);
    lift = sink_->calls.back();
  }
  EXPECT_EQ(lift["kind"], "restore");
  EXPECT_EQ(lift["account_action_id"], restricted);
  EXPECT_EQ(lift["measure"], "restrict");
  EXPECT_EQ(lift["uploader_id"], "u-mallory");
  auto report = wf_->Report(0, std::numeric_limits<int64_t>::max());
  ASSERT_TRUE(report.ok());
  EXPECT_EQ((*report)["appeals"]["total"], 1);
  EXPECT_EQ((*report)["appeals"]["upheld_reversed"], 1);
  EXPECT_EQ((*report)["account_actions"]["by_measure"]["restrict"], 2);
}

// Blocks at the gate while no process runs the workflow (a failover, an outage: gate replicas
// keep blocking) reach no hook; the workflow that starts next counts them from its last mark, and
// a start after that counts none of them again.
TEST_F(UploadersTest, BlocksMadeWhileTheWorkflowWasDownAreCountedWhenItStarts) {
  Open("ncii=2:warn", 30);
  const auto photo = Jpeg(11, 95);
  Report(photo);
  wf_->Start();
  env_.AdvanceMs(2 * 60'000);
  wf_.reset();  // the workflow's process is gone; the gate goes on
  EXPECT_TRUE(Upload("down-1", "chat", "u-eve", Jpeg(11, 70)));
  EXPECT_TRUE(Upload("down-2", "chat", "u-eve", Jpeg(11, 75)));
  auto start = [&] {
    WorkflowOptions o;
    o.retry_base_ms = 60'000;
    o.repeat_uploader_policy = "ncii=2:warn";
    o.repeat_uploader_window_days = 30;
    auto sink = std::make_unique<RecordingSink>();
    sink_ = sink.get();
    wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), std::move(sink), o, &env_);
    wf_->Start();
    wf_->DeliverDueNow();
  };
  start();
  // Start() queues the account action and starts the delivery workers: one of them may have
  // claimed it before DeliverDueNow looked, and delivers it on its own thread.
  const auto t0 = std::chrono::steady_clock::now();
  while (sink_->Accounts().empty() &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(sink_->Accounts().size(), 1u) << "the two blocks were not counted";
  EXPECT_EQ(sink_->Accounts()[0]["measure"], "warn");
  EXPECT_EQ(sink_->Accounts()[0]["uploader_id"], "u-eve");
  EXPECT_EQ(sink_->Accounts()[0]["content_ids"], json::array({"down-1", "down-2"}));
  wf_.reset();
  start();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // a worker's delivery, were one due
  EXPECT_TRUE(sink_->Accounts().empty()) << "counted twice";
  auto queued = wf_->ListActions("pending", 0, 100);
  ASSERT_TRUE(queued.ok());
  int warnings = 0;
  for (const auto& a : (*queued)["actions"]) warnings += a["kind"] == "account_action";
  auto sent = wf_->ListActions("acknowledged", 0, 100);
  ASSERT_TRUE(sent.ok());
  for (const auto& a : (*sent)["actions"]) warnings += a["kind"] == "account_action";
  EXPECT_EQ(warnings, 1);
}

TEST_F(UploadersTest, WithoutAPolicyNothingIsCountedOrSent) {
  Open("", 30);
  const auto photo = Jpeg(8, 95);
  Report(photo);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(Upload(fmt::format("m-{}", i), "chat", "u-mallory", photo));
  }
  wf_->DeliverDueNow();
  EXPECT_TRUE(sink_->Accounts().empty());
  auto found = store_->FindDocs({.kind = "uploader", .limit = 10});
  ASSERT_TRUE(found.ok());
  EXPECT_TRUE(found->empty());
}

}  // namespace
}  // namespace takedown::service
