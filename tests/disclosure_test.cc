// Investigators' disclosure requests (issue 25 item 2) over a real SQLite store, the real service
// and a generated platform history: a reported picture first shared in one chat, forwarded and
// re-encoded into others by several uploaders over days, among unrelated traffic. Only
// law-enforcement requesters file; nothing is said back before a reviewer decides each item;
// the package holds exactly the approved items' spread (cut to what the process covers), is
// signed, and any change to it fails verification.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <algorithm>
#include <filesystem>
#include <mutex>

#include "core/fake_env.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/edits.h"
#include "support/synthetic.h"
#include "takedown/disclosures.h"
#include "takedown/package.h"
#include "takedown/spread.h"
#include "takedown/workflow.h"

namespace takedown::service {
namespace {

constexpr int64_t kDay = 86400 * 1000;

std::string Md5Hex(const std::vector<uint8_t>& b) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(b.data(), b.size(), d, &n, EVP_md5(), nullptr);
  std::string out;
  for (unsigned i = 0; i < n; ++i) out += fmt::format("{:02x}", d[i]);
  return out;
}

// Records every delivery and answers 200.
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
  std::vector<json> Preserves() {
    std::lock_guard lock(mu);
    std::vector<json> out;
    for (const auto& c : calls) {
      if (c["kind"] == "preserve") out.push_back(c);
    }
    return out;
  }
  std::mutex mu;
  std::vector<json> calls;
};

class DisclosureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db", &env_).value());
    svc_ = std::move(Service::Create(store_.get(), &env_).value());
    WorkflowOptions o;
    o.package_signing_seed = std::string(32, '\x07');
    o.evidence_retention_s = 86400;  // reported media kept a day for reviewers
    o.evidence_key = std::string(32, '\x09');
    o.retry_base_ms = 60'000;
    auto sink = std::make_unique<RecordingSink>();
    sink_ = sink.get();
    wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), std::move(sink), o, &env_);
    police_ = Key(Role::kRequester, "police");
    ASSERT_TRUE(wf_->SetRequesterProfile(
                       police_.key_id,
                       {{"source_type", "law_enforcement"}, {"name", "Brigade numerique"}}, police_)
                    .ok());
    reviewer_ = Key(Role::kReviewer, "rev");
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
  void Upload(const std::string& id, const std::string& chat, const std::string& uploader,
              const std::vector<uint8_t>& media) {
    auto r = svc_->Check({id, chat, uploader, {}, media}, "key:platform");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // Days of traffic: the reported picture (seed 5) first in chat-a, forwarded as it is to chat-b,
  // re-encoded into chat-c and again into chat-d (from chat-c's copy), among unrelated pictures.
  void History() {
    const auto photo = Jpeg(5, 95);
    for (int i = 0; i < 6; ++i)
      Upload(fmt::format("noise-{}", i), "chat-a", "u-noise", Jpeg(100 + i));
    Upload("m-1", "chat-a", "u-alice", photo);
    env_.AdvanceMs(kDay);
    Upload("noise-6", "chat-b", "u-noise", Jpeg(106));
    Upload("m-2", "chat-b", "u-bob", photo);
    env_.AdvanceMs(kDay);
    const auto reencoded = Jpeg(5, 60);
    Upload("m-3", "chat-c", "u-carol", reencoded);
    env_.AdvanceMs(kDay / 2);
    Upload("m-4", "chat-d", "u-dave", reencoded);
    Upload("noise-7", "chat-d", "u-noise", Jpeg(107));
    other_ = Jpeg(9, 90);
    Upload("x-1", "chat-z", "u-zed", other_);
    env_.AdvanceMs(kDay);
  }
  json Filing(json items, json covers = nullptr) {
    json lp = {{"kind", "court_order"},
               {"reference", "TJ-Paris 2026/4411"},
               {"issuing_authority", "Tribunal judiciaire de Paris"},
               {"jurisdiction", "FR"},
               {"scope", "origin and spread of the named content"}};
    if (!covers.is_null()) lp["covers"] = covers;
    return {{"legal_process", lp}, {"items", items}};
  }

  FakeEnv env_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<Workflow> wf_;
  Principal police_, reviewer_;
  std::vector<uint8_t> other_;
  RecordingSink* sink_ = nullptr;
};

TEST_F(DisclosureTest, OnlyLawEnforcementFilesAndEveryBadFieldIsNamed) {
  const auto victim_org = Key(Role::kRequester, "hotline");
  auto r = wf_->FileDisclosure(victim_org, Filing({{{"content_id", "m-1"}}}), "");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << r.status().ToString();
  r = wf_->FileDisclosure(reviewer_, Filing({{{"content_id", "m-1"}}}), "");
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  json bad = Filing({{{"pdq", "xyz"}},
                     {{"md5", "abc"}, {"content_id", "m-1"}},
                     json::object(),
                     5,
                     {{"uri", "x"}}});
  bad["legal_process"]["kind"] = "letter";
  bad["legal_process"].erase("reference");
  bad["legal_process"]["covers"] = {"media"};
  bad["legal_process"]["jurisdiction"] = "FR\r\nX-Forged: 1";
  r = wf_->FileDisclosure(police_, bad, "");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  for (const char* f : {"legal_process.kind", "legal_process.reference", "legal_process.covers",
                        "legal_process.jurisdiction", "items[0].pdq", "items[1].md5", "items[1]",
                        "items[2]", "items[3]", "items[4].uri"}) {
    EXPECT_NE(r.status().message().find(f), std::string::npos)
        << f << " not named in: " << r.status().message();
  }
  EXPECT_EQ(wf_->FileDisclosure(police_, Filing(json::array()), "").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(DisclosureTest, ThePackageHoldsTheApprovedSpreadSignedAndAnyChangeFailsVerification) {
  History();
  // Named: a content id of a forwarded copy (its own signals find the rest), and the MD5 of
  // material the investigators hold (the unrelated picture), which the reviewer refuses.
  auto filed = wf_->FileDisclosure(
      police_, Filing({{{"content_id", "m-2"}}, {{"md5", Md5Hex(other_)}}}), "idem-1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  const int64_t id = (*filed)["id"];
  EXPECT_EQ((*filed)["status"], "pending_review");
  EXPECT_EQ((*filed)["due_ms"], env_.NowMs() + 24 * 3600 * 1000) << "law enforcement: 24 hours";
  // Filing says nothing about the platform's content.
  for (const char* leak : {"chat-", "u-", "copies", "resolved", "found"}) {
    EXPECT_EQ(filed->dump().find(leak), std::string::npos) << leak << " in " << filed->dump();
  }
  auto again = wf_->FileDisclosure(
      police_, Filing({{{"content_id", "m-2"}}, {{"md5", Md5Hex(other_)}}}), "idem-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["id"], id) << "the same filing again is the first";

  // Nothing before approval; nothing of another requester's.
  EXPECT_EQ(wf_->DisclosurePackage(police_, id).status().code(), StatusCode::kFailedPrecondition);
  const auto other_police = Key(Role::kRequester, "other-police");
  ASSERT_TRUE(wf_->SetRequesterProfile(other_police.key_id, {{"source_type", "law_enforcement"}},
                                       other_police)
                  .ok());
  EXPECT_EQ(wf_->GetDisclosure(other_police, id, false).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(wf_->DisclosurePackage(other_police, id).status().code(), StatusCode::kNotFound);
  auto others = wf_->ListDisclosures(other_police, "", 0, 100);
  ASSERT_TRUE(others.ok());
  EXPECT_TRUE((*others)["disclosures"].empty());
  auto preview_by_police = wf_->GetDisclosure(police_, id, true);
  ASSERT_TRUE(preview_by_police.ok());
  EXPECT_FALSE(preview_by_police->contains("preview")) << "a requester gets no preview";

  // The reviewer's preview: the spread each item would disclose.
  auto pv = wf_->GetDisclosure(reviewer_, id, true);
  ASSERT_TRUE(pv.ok()) << pv.status().ToString();
  ASSERT_EQ((*pv)["preview"].size(), 2u);
  EXPECT_EQ((*pv)["preview"][0]["totals"]["copies"], 4) << pv->dump();
  EXPECT_EQ((*pv)["preview"][0]["first"]["content_id"], "m-1");
  EXPECT_EQ((*pv)["preview"][1]["totals"]["copies"], 1);

  // Item by item: the first approved, the second refused.
  auto d1 = wf_->DecideDisclosure(
      reviewer_, id,
      {{"items", {{{"item", 0}, {"decision", "approved"}, {"reason", "in scope"}}}}});
  ASSERT_TRUE(d1.ok()) << d1.status().ToString();
  EXPECT_EQ((*d1)["status"], "pending_review");
  EXPECT_EQ(wf_->DisclosurePackage(police_, id).status().code(), StatusCode::kFailedPrecondition);
  auto bad_decision =
      wf_->DecideDisclosure(reviewer_, id,
                            {{"items",
                              {{{"item", 0}, {"decision", "refused"}, {"reason", "x"}},
                               {{"item", 7}, {"decision", "maybe"}}}}});
  ASSERT_EQ(bad_decision.status().code(), StatusCode::kInvalidArgument);
  for (const char* f : {"item 0 is already approved", "items[1].item"}) {
    EXPECT_NE(bad_decision.status().message().find(f), std::string::npos)
        << bad_decision.status().message();
  }
  auto d2 = wf_->DecideDisclosure(
      reviewer_, id,
      {{"items", {{{"item", 1}, {"decision", "refused"}, {"reason", "outside the order"}}}}});
  ASSERT_TRUE(d2.ok()) << d2.status().ToString();
  EXPECT_EQ((*d2)["status"], "approved");
  EXPECT_EQ((*d2)["package_copies"], 4);
  EXPECT_EQ(
      wf_->DecideDisclosure(reviewer_, id,
                            {{"items", {{{"item", 1}, {"decision", "approved"}, {"reason", "x"}}}}})
          .status()
          .code(),
      StatusCode::kFailedPrecondition);

  auto bytes = wf_->DisclosurePackage(police_, id);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  const std::string pub = wf_->package_signer()->public_key_base64();
  auto check = VerifyPackage(*bytes, pub);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  const json& p = check->payload;
  EXPECT_EQ(p["disclosure"]["legal_process"]["reference"], "TJ-Paris 2026/4411");
  ASSERT_EQ(p["items"].size(), 2u);
  const json& sp = p["items"][0]["spread"];
  EXPECT_EQ(p["items"][0]["named"]["content_id"], "m-2");
  ASSERT_EQ(sp["copies"].size(), 4u) << sp.dump();
  std::vector<std::string> order, chats;
  for (const auto& c : sp["copies"]) order.push_back(c["content_id"]);
  for (const auto& c : sp["chats"]) chats.push_back(c["chat_id"]);
  EXPECT_EQ(order, (std::vector<std::string>{"m-1", "m-2", "m-3", "m-4"}));
  EXPECT_EQ(chats, (std::vector<std::string>{"chat-a", "chat-b", "chat-c", "chat-d"}));
  EXPECT_EQ(sp["first"]["content_id"], "m-1");
  EXPECT_EQ(sp["first"]["uploader_id"], "u-alice");
  EXPECT_EQ(sp["copies"][1]["from_content_id"], "m-1");
  EXPECT_EQ(sp["copies"][1]["from_how"], "identical");
  EXPECT_EQ(sp["copies"][3]["from_content_id"], "m-3") << "the re-encode was shared on";
  EXPECT_EQ(sp["copies"][3]["from_how"], "identical");
  EXPECT_EQ(sp["chats"][3]["reached_from_chat"], "chat-c");
  EXPECT_EQ(sp["copies"][0]["md5"].get<std::string>().size(), 32u) << "hashes are covered";
  EXPECT_FALSE(p["items"][1].contains("spread")) << "a refused item discloses nothing";
  // Nothing outside the approved item: no unrelated upload, not the refused item's copy.
  for (const char* absent : {"noise-", "x-1", "chat-z", "u-zed", "u-noise"}) {
    EXPECT_EQ(bytes->find(absent), std::string::npos) << absent;
  }
  // The audit records of its making, as the chain has them.
  std::set<std::string> kinds;
  auto chain = store_->ReadAudit(1, 100000);
  ASSERT_TRUE(chain.ok());
  for (const auto& a : p["audit"]) {
    kinds.insert(a["kind"]);
    const auto& rec = (*chain)[static_cast<size_t>(a["seq"].get<int64_t>() - 1)];
    EXPECT_EQ(rec.hash, a["hash"]);
    EXPECT_EQ(rec.payload, a["payload"]);
  }
  EXPECT_TRUE(kinds.count("disclosure.filed") && kinds.count("disclosure.items_decided"))
      << p["audit"].dump();

  // The same bytes each time; each delivery audited and counted.
  auto bytes2 = wf_->DisclosurePackage(reviewer_, id);
  ASSERT_TRUE(bytes2.ok());
  EXPECT_EQ(*bytes2, *bytes);
  int delivered = 0;
  const auto after = store_->ReadAudit(1, 100000);
  ASSERT_TRUE(after.ok());
  for (const auto& rec : *after) {
    delivered += rec.kind == "disclosure.package_delivered";
  }
  EXPECT_EQ(delivered, 2);
  auto report = wf_->Report(0, env_.NowMs() + 1);
  ASSERT_TRUE(report.ok());
  const json& rd = (*report)["disclosures"];
  EXPECT_EQ(rd["total"], 1);
  EXPECT_EQ(rd["by_process_kind"]["court_order"], 1);
  EXPECT_EQ(rd["items_approved"], 1);
  EXPECT_EQ(rd["items_refused"], 1);
  EXPECT_EQ(rd["packages_made"], 1);
  EXPECT_EQ(rd["package_deliveries"], 2);

  // Any change fails: a value, a copy dropped, another key, a second key of the same name.
  auto fails = [&](std::string text, const std::string& what, const std::string& key) {
    auto c = VerifyPackage(text, key);
    EXPECT_FALSE(c.ok()) << what;
    return c.ok() ? std::string() : c.status().message();
  };
  std::string t = *bytes;
  t.replace(t.find("u-alice"), 7, "u-mallo");
  EXPECT_NE(fails(t, "an uploader changed", pub).find("does not match"), std::string::npos);
  json doc = json::parse(*bytes);
  doc["payload"]["items"][0]["spread"]["copies"].erase(1);
  EXPECT_FALSE(VerifyPackage(doc.dump(), pub).ok()) << "a copy dropped";
  EXPECT_NE(fails(*bytes, "another key",
                  PackageSigner::FromSeed(std::string(32, 'k'))->public_key_base64())
                .find("not by the expected key"),
            std::string::npos);
  std::string dup = *bytes;
  dup.insert(dup.find("\"payload\":{") + 11, "\"items\":[],");
  EXPECT_NE(fails(dup, "a key twice", "").find("twice"), std::string::npos);
  // Re-indented, it still verifies (the signature is over the canonical form).
  EXPECT_TRUE(VerifyPackage(json::parse(*bytes).dump(2), pub).ok());
}

// Issue 25's generated platform history: a reported picture and its edits (forwarded as it is,
// halved, halved and forwarded, framed, greyscale, mirrored) shared over five days by several
// uploaders across chats, among unrelated traffic in the same chats and by the same people. The
// spread names the first appearance, every copy in order with its chat and uploader, each chat
// reached once with its number of copies, and no unrelated upload.
TEST_F(DisclosureTest, TheSpreadOfADaysLongHistoryOfEditsIsInOrderAndHoldsNothingElse) {
  const media::Image original = testing::DetailedPhoto(640, 480, 21);
  const auto photo = *media::EncodeJpeg(original, 95);
  auto edit = [&](const std::string& name) {
    for (const auto& e : testing::ReshareEdits()) {
      if (e.name == name) return e.apply(original);
    }
    ADD_FAILURE() << "no edit " << name;
    return std::vector<uint8_t>();
  };
  const auto halved = edit("resize_50");
  int noise = 0;
  auto unrelated = [&](const std::string& chat, const std::string& uploader) {
    Upload(fmt::format("noise-{}", noise), chat, uploader, Jpeg(200 + noise));
    ++noise;
  };
  const int64_t start = env_.NowMs();
  for (int i = 0; i < 4; ++i) unrelated("chat-a", "u-noise");
  Upload("m-1", "chat-a", "u-alice", photo);  // day 0: first appearance
  env_.AdvanceMs(2 * 3600 * 1000);
  unrelated("chat-b", "u-bob");             // the same people post
  Upload("m-2", "chat-b", "u-bob", photo);  // other pictures too
  env_.AdvanceMs(kDay);
  unrelated("chat-c", "u-noise");
  Upload("m-3", "chat-c", "u-carol", halved);  // day 1: halved
  env_.AdvanceMs(3600 * 1000);
  Upload("m-4", "chat-d", "u-dave", halved);  // its bytes forwarded on
  env_.AdvanceMs(kDay);
  Upload("m-5", "chat-e", "u-erin", edit("border_10"));  // day 2: framed
  unrelated("chat-e", "u-erin");
  env_.AdvanceMs(kDay);
  Upload("m-6", "chat-b", "u-bob", edit("greyscale"));  // day 3: back in chat-b
  unrelated("chat-z", "u-zed");
  env_.AdvanceMs(kDay);
  Upload("m-7", "chat-f", "u-frank", edit("mirror"));  // day 4: mirrored
  for (int i = 0; i < 4; ++i) unrelated("chat-f", "u-noise");
  env_.AdvanceMs(3600 * 1000);

  // A trusted hotline reports the original; the reviewer looks at the spread.
  const auto hotline = Key(Role::kRequester, "hotline");
  ASSERT_TRUE(wf_->SetRequesterProfile(hotline.key_id,
                                       {{"source_type", "hotline"}, {"trusted", true}}, hotline)
                  .ok());
  json notice = {{"category", "ncii"},
                 {"explanation", "an intimate picture shared without consent"},
                 {"notifier", {{"name", "Hotline"}, {"email", "desk@hotline.example"}}},
                 {"accuracy_statement", true},
                 {"evidence", json::array({json::object()})}};
  auto r = wf_->CreateRequest(hotline, notice, {{0, photo}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto sp = wf_->Spread(reviewer_, (*r)["id"]);
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  const json& s = *sp;

  std::vector<std::string> order, uploaders;
  for (const auto& c : s["copies"]) {
    order.push_back(c["content_id"]);
    uploaders.push_back(c["uploader_id"]);
  }
  EXPECT_EQ(order, (std::vector<std::string>{"m-1", "m-2", "m-3", "m-4", "m-5", "m-6", "m-7"}))
      << s.dump();
  EXPECT_EQ(uploaders, (std::vector<std::string>{"u-alice", "u-bob", "u-carol", "u-dave", "u-erin",
                                                 "u-bob", "u-frank"}));
  EXPECT_EQ(s["totals"]["copies"], 7);
  EXPECT_EQ(s["totals"]["chats"], 6);
  EXPECT_EQ(s["totals"]["uploaders"], 6);
  EXPECT_EQ(s["totals"]["first_ms"], start);
  EXPECT_EQ(s["totals"]["last_ms"], start + 2 * 3600 * 1000 + 4 * kDay + 3600 * 1000);
  EXPECT_EQ(s["first"]["content_id"], "m-1");
  EXPECT_EQ(s["first"]["chat_id"], "chat-a");
  EXPECT_EQ(s["first"]["uploader_id"], "u-alice");
  // Each chat once, in the order the picture reached it, with its copies.
  std::vector<std::pair<std::string, int>> chats;
  for (const auto& c : s["chats"]) chats.emplace_back(c["chat_id"], c["copies"].get<int>());
  EXPECT_EQ(chats, (std::vector<std::pair<std::string, int>>{{"chat-a", 1},
                                                             {"chat-b", 2},
                                                             {"chat-c", 1},
                                                             {"chat-d", 1},
                                                             {"chat-e", 1},
                                                             {"chat-f", 1}}));
  // Sources: identical bytes first; an edit from an earlier copy; nothing from a later one.
  const json& copies = s["copies"];
  EXPECT_FALSE(copies[0].contains("from_content_id"));
  EXPECT_EQ(copies[1]["from_content_id"], "m-1");
  EXPECT_EQ(copies[1]["from_how"], "identical");
  EXPECT_EQ(copies[3]["from_content_id"], "m-3") << "the halved copy was forwarded on";
  EXPECT_EQ(copies[3]["from_how"], "identical");
  EXPECT_EQ(s["chats"][3]["reached_from_chat"], "chat-c");
  for (size_t i = 1; i < copies.size(); ++i) {
    const std::string from = copies[i]["from_content_id"];
    const auto at = std::find(order.begin(), order.end(), from);
    ASSERT_NE(at, order.end()) << from;
    EXPECT_LT(static_cast<size_t>(at - order.begin()), i) << copies[i].dump();
  }
  EXPECT_EQ(s["edges"].size(), 6u);
  EXPECT_EQ(s["truncated"], false);
  // Nothing unrelated: not the same people's other pictures, not the other chats' traffic.
  for (const char* absent : {"noise-", "chat-z", "u-zed", "u-noise"}) {
    EXPECT_EQ(s.dump().find(absent), std::string::npos) << absent << " in " << s.dump();
  }
  const std::string csv = Spread::Csv(s);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 8) << csv;
}

TEST_F(DisclosureTest, APackageHoldsOnlyWhatTheProcessCovers) {
  History();
  auto filed = wf_->FileDisclosure(police_, Filing({{{"content_id", "m-1"}}}, {"times"}), "");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  const int64_t id = (*filed)["id"];
  ASSERT_TRUE(wf_->DecideDisclosure(
                     reviewer_, id,
                     {{"items", {{{"item", 0}, {"decision", "approved"}, {"reason", "ok"}}}}})
                  .ok());
  auto bytes = wf_->DisclosurePackage(police_, id);
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  auto check = VerifyPackage(*bytes);
  ASSERT_TRUE(check.ok()) << check.status().ToString();
  const json& sp = check->payload["items"][0]["spread"];
  ASSERT_EQ(sp["copies"].size(), 4u);
  for (const auto& c : sp["copies"]) {
    EXPECT_TRUE(c.contains("content_id") && c.contains("recorded_at"));
    for (const char* k : {"chat_id", "uploader_id", "md5", "pdq", "signal", "distance"}) {
      EXPECT_FALSE(c.contains(k)) << k << " is not covered: " << c.dump();
    }
  }
  EXPECT_FALSE(sp.contains("chats"));
  for (const char* absent : {"chat-a", "u-alice"}) {
    EXPECT_EQ(bytes->find(absent), std::string::npos) << absent;
  }
}

// A hold keeps a request's evidence past its retention and has the platform preserve the spread's
// content and accounts: one preserve action per placement and extension, each delivered once.
TEST_F(DisclosureTest, AHoldKeepsRecordsPastRetentionAndThePlatformIsToldToPreserveOnce) {
  History();
  const auto photo = Jpeg(5, 95);
  const auto hotline = Key(Role::kRequester, "hotline");
  json notice = {{"category", "ncii"},
                 {"explanation", "intimate images shared without consent"},
                 {"notifier", {{"name", "Analyst"}, {"email", "a@hotline.example"}}},
                 {"accuracy_statement", true},
                 {"evidence", json::array({json::object()})}};
  auto held_request = wf_->CreateRequest(hotline, notice, {{0, photo}});
  ASSERT_TRUE(held_request.ok()) << held_request.status().ToString();
  auto other_request = wf_->CreateRequest(hotline, notice, {{0, Jpeg(6, 95)}});
  ASSERT_TRUE(other_request.ok());
  const int64_t rid = (*held_request)["id"], other_rid = (*other_request)["id"];
  ASSERT_TRUE(store_->GetEvidence(rid, 0)->has_value()) << "media kept for a day";

  // Only the request's own requester (or staff) holds it; bad fields are named.
  EXPECT_EQ(wf_->PlaceHold(police_, {{"request_id", rid}, {"days", 30}, {"reason", "x"}}, "")
                .status()
                .code(),
            StatusCode::kNotFound);
  auto bad = wf_->PlaceHold(hotline, {{"request_id", rid}, {"days", 0}, {"note", 1}}, "");
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  for (const char* f : {"days", "reason", "note"}) {
    EXPECT_NE(bad.status().message().find(f), std::string::npos) << bad.status().message();
  }
  auto hold = wf_->PlaceHold(
      hotline, {{"request_id", rid}, {"days", 30}, {"reason", "police inquiry"}}, "hold-1");
  ASSERT_TRUE(hold.ok()) << hold.status().ToString();
  const int64_t hid = (*hold)["id"];
  EXPECT_EQ((*hold)["content_ids"], json({"m-1", "m-2", "m-3", "m-4"})) << hold->dump();
  EXPECT_EQ((*hold)["account_ids"], json({"u-alice", "u-bob", "u-carol", "u-dave"}));
  EXPECT_EQ((*hold)["status"], "active");
  auto again = wf_->PlaceHold(
      hotline, {{"request_id", rid}, {"days", 30}, {"reason", "police inquiry"}}, "hold-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["id"], hid) << "the same placement again is the first";

  wf_->DeliverDueNow();
  wf_->DeliverDueNow();
  auto preserves = sink_->Preserves();
  ASSERT_EQ(preserves.size(), 1u) << "one preserve action, delivered once";
  EXPECT_EQ(preserves[0]["content_ids"].size(), 4u);
  EXPECT_EQ(preserves[0]["account_ids"].size(), 4u);
  EXPECT_EQ(preserves[0]["hold_id"], hid);
  EXPECT_EQ(preserves[0]["preserve_until_ms"], (*hold)["until_ms"]);

  // Past the evidence's retention: the held request's media stays, the other's goes.
  env_.AdvanceMs(2 * kDay);
  ASSERT_TRUE(wf_->PurgeExpiredEvidence().ok());
  EXPECT_TRUE(store_->GetEvidence(rid, 0)->has_value()) << "held past retention";
  EXPECT_FALSE(store_->GetEvidence(other_rid, 0)->has_value()) << "not held: purged";

  // Extended: a new preserve action with the new time; then it ends.
  auto ext = wf_->ExtendHold(hotline, hid, {{"days", 10}, {"reason", "the inquiry goes on"}});
  ASSERT_TRUE(ext.ok()) << ext.status().ToString();
  EXPECT_EQ((*ext)["until_ms"], (*hold)["until_ms"].get<int64_t>() + 10 * kDay);
  wf_->DeliverDueNow();
  preserves = sink_->Preserves();
  ASSERT_EQ(preserves.size(), 2u);
  EXPECT_EQ(preserves[1]["preserve_until_ms"], (*ext)["until_ms"]);
  EXPECT_NE(preserves[1]["header_key"], preserves[0]["header_key"]);
  env_.AdvanceMs(35 * kDay);
  ASSERT_TRUE(wf_->PurgeExpiredEvidence().ok());
  EXPECT_TRUE(store_->GetEvidence(rid, 0)->has_value()) << "day 37 of 40";
  env_.AdvanceMs(4 * kDay);
  ASSERT_TRUE(wf_->PurgeExpiredEvidence().ok());
  EXPECT_FALSE(store_->GetEvidence(rid, 0)->has_value()) << "the hold ended";
  EXPECT_EQ((*wf_->GetHold(reviewer_, hid))["status"], "expired");
  EXPECT_EQ(wf_->ExtendHold(hotline, hid, {{"days", 1}, {"reason", "late"}}).status().code(),
            StatusCode::kFailedPrecondition);
  int audited = 0;
  const auto chain = store_->ReadAudit(1, 100000);
  ASSERT_TRUE(chain.ok());
  for (const auto& r : *chain) audited += r.kind == "hold.placed" || r.kind == "hold.extended";
  EXPECT_EQ(audited, 2);

  // An investigator holds its disclosure's spread, under its process's reference.
  auto filed = wf_->FileDisclosure(police_, Filing({{{"content_id", "m-4"}}}), "");
  ASSERT_TRUE(filed.ok());
  auto dh = wf_->PlaceHold(
      police_, {{"disclosure_id", (*filed)["id"]}, {"days", 90}, {"reason", "order"}}, "");
  ASSERT_TRUE(dh.ok()) << dh.status().ToString();
  EXPECT_EQ((*dh)["legal_reference"], "TJ-Paris 2026/4411");
  EXPECT_EQ((*dh)["content_ids"].size(), 4u);
  EXPECT_EQ(wf_->GetHold(hotline, (*dh)["id"]).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*wf_->ListHolds(police_, 0, 100))["holds"].size(), 1u);
  EXPECT_EQ((*wf_->ListHolds(reviewer_, 0, 100))["holds"].size(), 2u);
}

// A requester keeps at most kMaxRequesterHolds legal holds in force (each sweeps the content index
// and sends the platform a preserve action); a retry of one made still answers; holds that ended
// make room; staff are not bounded.
TEST_F(DisclosureTest, ARequesterKeepsABoundedNumberOfHoldsInForce) {
  History();
  const auto hotline = Key(Role::kRequester, "hotline");
  json notice = {{"category", "ncii"},
                 {"explanation", "intimate images shared without consent"},
                 {"notifier", {{"name", "Analyst"}, {"email", "a@hotline.example"}}},
                 {"accuracy_statement", true},
                 {"evidence", json::array({json::object()})}};
  auto r = wf_->CreateRequest(hotline, notice, {{0, Jpeg(5, 95)}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const int64_t rid = (*r)["id"];
  int64_t first = 0;
  for (int64_t i = 0; i < Holds::kMaxRequesterHolds; ++i) {
    auto h = wf_->PlaceHold(hotline, {{"request_id", rid}, {"days", 1}, {"reason", "inquiry"}},
                            fmt::format("bulk-{}", i));
    ASSERT_TRUE(h.ok()) << i << ": " << h.status().ToString();
    if (i == 0) first = (*h)["id"];
  }
  auto over = wf_->PlaceHold(hotline, {{"request_id", rid}, {"days", 1}, {"reason", "one more"}},
                             "bulk-over");
  ASSERT_EQ(over.status().code(), StatusCode::kFailedPrecondition) << over.status().ToString();
  EXPECT_NE(over.status().message().find("50 legal holds in force"), std::string::npos)
      << over.status().message();
  auto retry =
      wf_->PlaceHold(hotline, {{"request_id", rid}, {"days", 1}, {"reason", "inquiry"}}, "bulk-0");
  ASSERT_TRUE(retry.ok()) << retry.status().ToString();
  EXPECT_EQ((*retry)["id"], first);
  EXPECT_TRUE(
      wf_->PlaceHold(reviewer_, {{"request_id", rid}, {"days", 1}, {"reason", "staff"}}, "").ok());
  env_.AdvanceMs(2 * kDay);  // the one-day holds have ended: room again
  EXPECT_TRUE(
      wf_->PlaceHold(hotline, {{"request_id", rid}, {"days", 1}, {"reason", "again"}}, "").ok());
}

TEST(PackageTest, CanonicalFormIsPythonsSortedCompactJson) {
  const json j = json::parse(R"({"b":[1,{"z":"\u00e9\n","a":-2}],"a":"x\u0001"})");
  // json.dumps(j, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
  EXPECT_EQ(*CanonicalJson(j), "{\"a\":\"x\\u0001\",\"b\":[1,{\"a\":-2,\"z\":\"\xc3\xa9\\n\"}]}");
  EXPECT_EQ(CanonicalJson(json::parse("{\"x\":1.5}")).status().code(),
            StatusCode::kInvalidArgument);
  auto s = PackageSigner::FromSeed(std::string(32, 'a'));
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(PackageSigner::FromSeed("short").ok());
  auto pkg = s->Sign({{"items", {1, 2}}});
  ASSERT_TRUE(pkg.ok());
  EXPECT_TRUE(VerifyPackage(pkg->dump(), s->public_key_base64()).ok());
  EXPECT_EQ(VerifyPackage("not json").status().code(), StatusCode::kInvalidArgument);
  json extra = *pkg;
  extra["note"] = "added";
  EXPECT_EQ(VerifyPackage(extra.dump()).status().code(), StatusCode::kInvalidArgument);
  json part = *pkg;
  part["payload"]["manifest"]["parts"]["items"] = std::string(64, '0');
  EXPECT_FALSE(VerifyPackage(part.dump()).ok()) << "the manifest is under the signature";
}

}  // namespace
}  // namespace takedown::service
