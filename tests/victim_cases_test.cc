// The victims' form's cases (issue 19) over a real SQLite store, the real service and workflow:
// a case filed from hashes alone (what the page computes on the device) becomes a request from the
// victim source that waits for a person; its number and PIN open it and nothing else does; wrong
// PINs, filings and proofs of work are bounded (a fake clock moves the hour); a reviewer's approval
// removes the platform's copies, mirrored ones too (the robust signals the page sent are matched as
// media evidence's are), and the case says so; withdrawal disables every entry the case made, so a
// re-upload is allowed again.
#include "takedown/victim_cases.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "core/clock.h"
#include "core/fake_env.h"
#include "core/file.h"
#include "core/text.h"
#include "hash/digest.h"
#include "match/signals.h"
#include "match/video_match.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/workflow.h"

namespace takedown::service {
namespace {

constexpr int64_t kHour = 3'600'000;

class NullSink : public ActionSink {
 public:
  Result<int> Deliver(const std::string&,
                      const std::vector<std::pair<std::string, std::string>>&) override {
    return 200;  // the platform acknowledges every action
  }
};

media::Image Mirror(const media::Image& in) {
  media::Image out = in;
  const int c = in.channels();
  for (int y = 0; y < in.height; ++y) {
    for (int x = 0; x < in.width; ++x) {
      for (int k = 0; k < c; ++k) out.row(y)[x * c + k] = in.row(y)[(in.width - 1 - x) * c + k];
    }
  }
  return out;
}

// What the page sends for a picture: its hashes and robust signals, never its bytes.
json ItemOf(const std::vector<uint8_t>& jpeg, bool robust = true) {
  match::SignalHasher hasher;
  auto f = hasher.HashBytes(jpeg, /*bank=*/true);
  EXPECT_TRUE(f.ok()) << f.status().ToString();
  json item = {{"kind", "image"},
               {"pdq", f->plain.pdq.hash.ToHex()},
               {"quality", f->plain.pdq.quality},
               {"md5", f->plain.md5},
               {"sha256", f->plain.sha256}};
  json dihedral = json::array();
  for (const auto& h : *f->plain.dihedral) dihedral.push_back(h.ToHex());
  item["dihedral"] = dihedral;
  if (robust) {
    json r = {{"norm", {f->query.norm.hash.ToHex(), f->query.norm.quality}}};
    if (f->query.box_hash) r["box"] = {f->query.box_hash->hash.ToHex(), f->query.box_hash->quality};
    json variants = json::array();
    for (const auto& v : f->variants) {
      if (variants.size() < 127) variants.push_back({v.hash.hash.ToHex(), v.hash.quality});
    }
    r["variants"] = variants;
    item["robust"] = r;
  }
  return item;
}

class VictimCasesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db", &env_).value());
    svc_ = std::move(Service::Create(store_.get(), &env_).value());
    WorkflowOptions o;
    o.retry_base_ms = 60'000;
    o.report.pow_bits = 6;  // a few dozen hashes: the rule, not the cost
    o.report.cases_per_hour_per_address = 3;
    o.report.cases_per_hour = 5;
    o.report.max_items = 4;
    o.report.public_url = "https://platform.example";
    wf_ = std::make_unique<Workflow>(svc_.get(), store_.get(), std::make_unique<NullSink>(), o,
                                     &env_);
    reviewer_ = Key(Role::kReviewer, "rev");
    photo_ = testing::DetailedPhoto(320, 240, 7);
    jpeg_ = *media::EncodeJpeg(photo_, 90);
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
  VictimCases& cases() { return wf_->victims(); }
  // A challenge and a nonce that solves it, as the page's worker finds them.
  std::pair<std::string, std::string> Work() {
    const json c = cases().Challenge().value();
    const std::string ch = c["challenge"];
    for (int n = 0;; ++n) {
      const std::string h = hash::Sha256HexOfText(ch + ":" + std::to_string(n));
      int bits = 0;
      for (char x : h) {
        const int v = x >= 'a' ? x - 'a' + 10 : x - '0';
        if (v == 0) {
          bits += 4;
          continue;
        }
        for (int b = 3; b >= 0 && ((v >> b) & 1) == 0; --b) ++bits;
        break;
      }
      if (bits >= c["bits"].get<int>()) return {ch, std::to_string(n)};
    }
  }
  json Filing(const std::vector<json>& items) {
    auto [ch, nonce] = Work();
    json list = json::array();
    for (const auto& i : items) list.push_back(i);
    return {{"challenge", ch},   {"nonce", nonce},          {"category", "ncii"},
            {"statement", true}, {"signature", "Jane Doe"}, {"items", list}};
  }
  bool Upload(const std::string& id, const std::vector<uint8_t>& media) {
    auto r = svc_->Check({id, "chat-1", "uploader-1", {}, media}, "key:platform");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r->block;
  }

  FakeEnv env_;
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> svc_;
  std::unique_ptr<Workflow> wf_;
  Principal reviewer_;
  media::Image photo_;
  std::vector<uint8_t> jpeg_;
};

TEST_F(VictimCasesTest, ACaseFromHashesWaitsForAPersonAndOpensOnlyWithItsNumberAndPin) {
  auto filed = cases().File(Filing({ItemOf(jpeg_)}), "10.0.0.1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  const std::string number = (*filed)["case"], pin = (*filed)["pin"];
  EXPECT_TRUE(number.rfind("TD-", 0) == 0 && number.size() == 17) << number;
  EXPECT_EQ(pin.size(), 14u) << pin;
  EXPECT_EQ((*filed)["status"], "in_review") << "untrusted: never approved without a person";
  EXPECT_EQ((*filed)["items"], 1);

  // The request: from the victim source, 48 hours, the robust signals kept as media's are.
  auto queue = wf_->ReviewQueue(10);
  ASSERT_TRUE(queue.ok());
  ASSERT_EQ((*queue)["queue"].size(), 1u);
  const json& r = (*queue)["queue"][0];
  EXPECT_EQ(r["source_type"], "victim");
  EXPECT_EQ(r["trusted"], false);
  EXPECT_EQ(r["deadline_at"], IsoUtc(env_.NowMs() + 48 * kHour));
  EXPECT_TRUE(r["evidence"][0].contains("image_signals")) << r.dump();

  // The number and PIN open it, however they are typed; anything else gets one answer.
  json spaced = {{"case", "td " + number.substr(3)}, {"pin", pin}};
  for (char& ch : spaced["pin"].get_ref<std::string&>()) ch = static_cast<char>(std::tolower(ch));
  auto status = cases().CaseStatus(spaced, "10.0.0.1");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ((*status)["case"], number);
  EXPECT_FALSE(status->contains("pin")) << "the PIN is shown once";
  auto wrong_pin = cases().CaseStatus({{"case", number}, {"pin", "AAAA-BBBB-CCCC"}}, "10.0.0.2");
  auto no_case = cases().CaseStatus({{"case", "TD-AAAA-BBBB-CCCC"}, {"pin", pin}}, "10.0.0.2");
  ASSERT_EQ(wrong_pin.status().code(), StatusCode::kNotFound);
  ASSERT_EQ(no_case.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(wrong_pin.status().message(), no_case.status().message())
      << "the answer says nothing about whether a case number exists";
  auto malformed = cases().CaseStatus({{"case", "TD-12"}, {"pin", "x"}}, "10.0.0.2");
  EXPECT_EQ(malformed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(malformed.status().message().find("case: not a case number"), std::string::npos);
}

TEST_F(VictimCasesTest, ApprovedTheCopiesGoMirroredOnesTooAndWithdrawnTheyMayComeBack) {
  // On the platform before the report: the picture re-encoded, and a mirrored copy.
  const auto copy = *media::EncodeJpeg(photo_, 70);
  const auto mirrored = *media::EncodeJpeg(Mirror(photo_), 85);
  ASSERT_FALSE(Upload("c1", copy));
  ASSERT_FALSE(Upload("c2", mirrored));

  auto filed = cases().File(Filing({ItemOf(jpeg_)}), "10.0.0.1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  const json access = {{"case", (*filed)["case"]}, {"pin", (*filed)["pin"]}};
  auto queue = wf_->ReviewQueue(10);
  const int64_t id = (*queue)["queue"][0]["id"];
  ASSERT_TRUE(wf_->Decide(reviewer_, id, true, "the depicted person's report").ok());
  wf_->DeliverDueNow();
  auto status = cases().CaseStatus(access, "10.0.0.1");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ((*status)["copies_removed"], 2) << "the mirrored copy is found by the robust signals";
  EXPECT_EQ((*status)["status"], "confirmed") << status->dump();
  EXPECT_TRUE(Upload("c3", copy)) << "a re-upload is blocked at the gate";

  auto withdrawn = cases().Withdraw(access, "10.0.0.1");
  ASSERT_TRUE(withdrawn.ok()) << withdrawn.status().ToString();
  EXPECT_EQ((*withdrawn)["status"], "withdrawn");
  EXPECT_TRUE(withdrawn->contains("withdrawn_at"));
  EXPECT_FALSE(Upload("c4", copy)) << "withdrawn: its hashes block nothing more";
  auto audit = store_->ReadAudit(0, 1000);
  ASSERT_TRUE(audit.ok());
  int withdrawals = 0;
  for (const auto& a : *audit)
    withdrawals += a.kind == "request.withdrawn" || a.kind == "report_case.withdrawn";
  EXPECT_EQ(withdrawals, 2);
  auto more = cases().AddItems(
      [&] {
        json b = Filing({ItemOf(jpeg_)});
        b.erase("category");
        b.erase("statement");
        b.erase("signature");
        b["case"] = access["case"];
        b["pin"] = access["pin"];
        return b;
      }(),
      "10.0.0.1");
  EXPECT_EQ(more.status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(VictimCasesTest, PlainHashesAloneMissTheMirroredCopyWhichIsWhyThePageSendsRobustSignals) {
  const auto mirrored = *media::EncodeJpeg(Mirror(photo_), 85);
  ASSERT_FALSE(Upload("m1", mirrored));
  auto filed = cases().File(Filing({ItemOf(jpeg_, /*robust=*/false)}), "10.0.0.1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  auto queue = wf_->ReviewQueue(10);
  ASSERT_TRUE(wf_->Decide(reviewer_, (*queue)["queue"][0]["id"], true, "report").ok());
  wf_->DeliverDueNow();
  auto status = cases().CaseStatus({{"case", (*filed)["case"]}, {"pin", (*filed)["pin"]}}, "a");
  ASSERT_TRUE(status.ok());
  EXPECT_EQ((*status)["copies_removed"], 0) << status->dump();
}

// What the page sends for a video its browser can decode: the digests, and the frames it sampled
// (a few a second) hashed as the server hashes a bank video's frames. Here the native pipeline
// stands in for the page's <video> element and WebAssembly module (the browser test compares the
// two on one file).
json VideoItemOf(const std::string& path, double rate) {
  match::VideoHashOptions o;
  o.bank = true;
  o.bank_rate = rate;
  auto v = match::HashVideoForMatching(path, o);
  EXPECT_TRUE(v.ok()) << v.status().ToString();
  auto d = hash::DigestFile(path);
  json video = VideoToJson(*v);
  video.erase("sha256");
  return {{"kind", "video"}, {"md5", d->md5}, {"sha256", d->sha256}, {"video", video}};
}

TEST_F(VictimCasesTest, AVideosFramesHashedOnTheDeviceFindItsReEncodedCopies) {
  // The person's video and the platform's copies: the same frames in other containers and
  // encodes, so no digest is shared and only the frames can find them.
  const auto frames = testing::PanFrames(320, 240, 0, 80, 21);  // 8 s at 10 fps
  testing::WriteVideoFrames(dir_ + "/mine.mp4", frames, 10);
  testing::WriteVideoFrames(dir_ + "/copy.avi", frames, 10);
  testing::WriteVideoFrames(dir_ + "/again.mkv", frames, 10);
  auto bytes = [](const std::string& path) {
    auto b = ReadFileLimited(path, 64 << 20);
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return std::vector<uint8_t>(b->begin(), b->end());
  };
  ASSERT_FALSE(Upload("v1", bytes(dir_ + "/copy.avi")));
  const std::string other_seed = dir_ + "/other.mp4";
  testing::WriteVideoFrames(other_seed, testing::PanFrames(320, 240, 0, 80, 77), 10);
  ASSERT_FALSE(Upload("v2", bytes(other_seed)));

  json item = VideoItemOf(dir_ + "/mine.mp4", 2);
  ASSERT_GE(item["video"]["frames"].size(), 15u);
  // Without its frames a video item finds only byte-identical copies: none here.
  json digests_only = item;
  digests_only.erase("video");
  auto plain = cases().File(Filing({digests_only}), "10.0.0.9");
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();

  // A bad frame is named, through the form's item.
  json bad = item;
  bad["video"]["frames"][1]["pdq"] = json::array({"zz", 80});
  auto refused = cases().File(Filing({bad}), "10.0.0.1");
  ASSERT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("items[0].video: video signals: frames[1].pdq"),
            std::string::npos)
      << refused.status().message();

  auto filed = cases().File(Filing({item}), "10.0.0.1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  auto queue = wf_->ReviewQueue(10);
  ASSERT_TRUE(queue.ok());
  for (const auto& q : (*queue)["queue"]) {
    ASSERT_TRUE(wf_->Decide(reviewer_, q["id"], true, "the depicted person's report").ok());
  }
  wf_->DeliverDueNow();
  auto status = cases().CaseStatus({{"case", (*filed)["case"]}, {"pin", (*filed)["pin"]}}, "a");
  ASSERT_TRUE(status.ok()) << status.status().ToString();
  EXPECT_EQ((*status)["copies_removed"], 1)
      << "the re-encoded copy, and not the other video: " << status->dump();
  auto digest_case =
      cases().CaseStatus({{"case", (*plain)["case"]}, {"pin", (*plain)["pin"]}}, "a");
  ASSERT_TRUE(digest_case.ok());
  EXPECT_EQ((*digest_case)["copies_removed"], 0) << digest_case->dump();
  EXPECT_TRUE(Upload("v3", bytes(dir_ + "/again.mkv"))) << "a re-upload is blocked by its frames";
}

// Robust signals sent without their variants (a client that computes the norm and box only) leave
// the entry known by its PDQ: the gate then turns and unframes the upload itself, as for a plain
// hash, and a mirrored re-upload is blocked.
TEST_F(VictimCasesTest, RobustSignalsWithoutVariantsAreMatchedAsAPlainHashAtTheGate) {
  json item = ItemOf(jpeg_);
  item["robust"].erase("variants");
  auto filed = cases().File(Filing({item}), "10.0.0.1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  auto queue = wf_->ReviewQueue(10);
  ASSERT_TRUE(wf_->Decide(reviewer_, (*queue)["queue"][0]["id"], true, "report").ok());
  wf_->DeliverDueNow();
  EXPECT_TRUE(Upload("r1", *media::EncodeJpeg(Mirror(photo_), 85)))
      << "the upload's own mirrored PDQ meets the entry's";
  EXPECT_FALSE(Upload("r2", *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 55), 85)));
}

TEST_F(VictimCasesTest, AdditionsJoinTheCaseUpToItsCap) {
  auto filed = cases().File(Filing({ItemOf(jpeg_)}), "10.0.0.1");
  ASSERT_TRUE(filed.ok());
  const auto other = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 99), 90);
  json add = Filing({ItemOf(other), ItemOf(other)});
  add = {{"case", (*filed)["case"]},
         {"pin", (*filed)["pin"]},
         {"challenge", add["challenge"]},
         {"nonce", add["nonce"]},
         {"items", add["items"]}};
  auto added = cases().AddItems(add, "10.0.0.1");
  ASSERT_TRUE(added.ok()) << added.status().ToString();
  EXPECT_EQ((*added)["items"], 3);
  EXPECT_EQ((*added)["requests"].size(), 2u);
  auto reopened = cases().CaseStatus({{"case", (*filed)["case"]}, {"pin", (*filed)["pin"]}}, "b");
  ASSERT_TRUE(reopened.ok()) << reopened.status().ToString();
  EXPECT_EQ((*reopened)["items"], 3) << "the addition is kept with the case";
  json again = Filing({ItemOf(other), ItemOf(other)});
  add["challenge"] = again["challenge"];
  add["nonce"] = again["nonce"];
  auto over = cases().AddItems(add, "10.0.0.1");
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(over.status().message().find("at most 4"), std::string::npos)
      << over.status().message();
}

TEST_F(VictimCasesTest, EveryBadFieldIsNamedAndARefusalCostsNoNewWork) {
  const auto plain = *media::EncodeJpeg(testing::DetailedPhoto(64, 64, 3), 90);
  json item = ItemOf(jpeg_);
  item["quality"] = 20;
  item["filename"] = "me.jpg";
  json body = Filing({item});
  body["category"] = "spam";
  body.erase("statement");
  body["signature"] = "  ";
  body["locations"] = json::array({std::string(2001, 'x')});
  auto r = cases().File(body, "10.0.0.1");
  ASSERT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  const std::string m = r.status().message();
  for (const char* field :
       {"items[0].quality: 20 is below 50", "items[0].filename: is not a field",
        "category:", "statement: must be true", "signature: missing", "locations[0]:"}) {
    EXPECT_NE(m.find(field), std::string::npos) << field << " in " << m;
  }
  // The same challenge serves the corrected filing: refused fields spent nothing.
  body["category"] = "ncii";
  body["statement"] = true;
  body["signature"] = "Jane Doe";
  body.erase("locations");
  body["items"] = json::array({ItemOf(jpeg_)});
  auto ok = cases().File(body, "10.0.0.1");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  auto replay = cases().File(body, "10.0.0.1");
  EXPECT_NE(replay.status().message().find("already used"), std::string::npos)
      << replay.status().message();
  body["challenge"] = Work().first;
  body["nonce"] = "x1";
  EXPECT_NE(cases().File(body, "10.0.0.1").status().message().find("nonce"), std::string::npos);
  const auto expired = Filing({ItemOf(jpeg_)});
  env_.AdvanceMs(601'000);
  EXPECT_NE(cases().File(expired, "10.0.0.1").status().message().find("expired"),
            std::string::npos);
  (void)plain;
}

// Behind a load balancer the page's challenge comes from one replica and its filing may reach
// another, or the same one after a restart: the challenge is good there, and spent once for all.
TEST_F(VictimCasesTest, AChallengeIsGoodAtEveryProcessOfTheStoreAndSpentOnceForAll) {
  const json first = Filing({ItemOf(jpeg_)});
  const json second = Filing({ItemOf(jpeg_)});
  ASSERT_TRUE(cases().File(first, "10.0.0.1").ok());
  // "Another process": a second workflow on the same store (it shares nothing in memory).
  WorkflowOptions o;
  o.report.pow_bits = 6;
  o.report.public_url = "https://platform.example";
  auto other =
      std::make_unique<Workflow>(svc_.get(), store_.get(), std::make_unique<NullSink>(), o, &env_);
  auto replay = other->victims().File(first, "10.0.0.2");
  EXPECT_EQ(replay.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(replay.status().message().find("challenge: already used"), std::string::npos)
      << replay.status().message();
  auto elsewhere = other->victims().File(second, "10.0.0.2");
  EXPECT_TRUE(elsewhere.ok()) << "a challenge the first gave is good at the second: "
                              << elsewhere.status().ToString();
  EXPECT_EQ(other->victims().Challenge().value()["challenge"].get<std::string>().substr(0, 3),
            "v1.");
  json forged = Filing({ItemOf(jpeg_)});
  std::string c = forged["challenge"];
  c.back() = c.back() == '0' ? '1' : '0';
  forged["challenge"] = c;
  EXPECT_NE(other->victims()
                .File(forged, "10.0.0.2")
                .status()
                .message()
                .find("not one this service gave"),
            std::string::npos);
}

TEST_F(VictimCasesTest, WrongPinsFilingsAndAddressesAreBoundedByTheHour) {
  auto filed = cases().File(Filing({ItemOf(jpeg_)}), "10.0.0.1");
  ASSERT_TRUE(filed.ok());
  const json right = {{"case", (*filed)["case"]}, {"pin", (*filed)["pin"]}};
  json wrong = right;
  wrong["pin"] = "AAAA-BBBB-CCCC";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(cases().CaseStatus(wrong, fmt::format("10.1.0.{}", i)).status().code(),
              StatusCode::kNotFound);
  }
  // Five wrong PINs for the case, from five addresses: the case waits an hour, right PIN or not.
  EXPECT_EQ(cases().CaseStatus(right, "10.0.0.9").status().code(), StatusCode::kResourceExhausted);
  env_.AdvanceMs(kHour + 1);
  EXPECT_TRUE(cases().CaseStatus(right, "10.0.0.9").ok());
  // One address guessing at many cases.
  for (int i = 0; i < 20; ++i) {
    (void)cases().CaseStatus(
        {{"case", fmt::format("TD-AAAA-BBBB-{:04}", i)}, {"pin", "AAAA-BBBB-CCCC"}}, "10.2.0.1");
  }
  EXPECT_EQ(cases().CaseStatus(right, "10.2.0.1").status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(cases().CaseStatus(right, "10.2.0.2").ok());

  // Filings: 3 an hour from one address (1 made above, then in a new hour), 5 from all.
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(cases().File(Filing({ItemOf(jpeg_)}), "10.3.0.1").ok());
  auto fourth = cases().File(Filing({ItemOf(jpeg_)}), "10.3.0.1");
  EXPECT_EQ(fourth.status().code(), StatusCode::kResourceExhausted);
  ASSERT_TRUE(cases().File(Filing({ItemOf(jpeg_)}), "10.3.0.2").ok());
  ASSERT_TRUE(cases().File(Filing({ItemOf(jpeg_)}), "10.3.0.3").ok());
  EXPECT_EQ(cases().File(Filing({ItemOf(jpeg_)}), "10.3.0.4").status().code(),
            StatusCode::kResourceExhausted)
      << "five in an hour from all addresses";
  env_.AdvanceMs(kHour + 1);
  EXPECT_TRUE(cases().File(Filing({ItemOf(jpeg_)}), "10.3.0.4").ok());
}

// The hourly budgets and spent challenges are kept in the store (issue 21): every process on it
// counts the same filings and wrong PINs, no address is stored, and what is older than the hour
// (or than a challenge's lifetime) is deleted.
TEST_F(VictimCasesTest, HourlyBudgetsAreSharedByEveryProcessOfTheStoreAndForgottenAfterTheHour) {
  WorkflowOptions o;
  o.report.pow_bits = 6;
  o.report.cases_per_hour_per_address = 3;
  o.report.cases_per_hour = 5;
  o.report.public_url = "https://platform.example";
  auto other =
      std::make_unique<Workflow>(svc_.get(), store_.get(), std::make_unique<NullSink>(), o, &env_);
  VictimCases& a = cases();
  VictimCases& b = other->victims();
  // Filings from one address: 3 an hour, wherever they land.
  ASSERT_TRUE(a.File(Filing({ItemOf(jpeg_)}), "10.3.0.1").ok());
  auto filed = b.File(Filing({ItemOf(jpeg_)}), "10.3.0.1");
  ASSERT_TRUE(filed.ok());
  ASSERT_TRUE(a.File(Filing({ItemOf(jpeg_)}), "10.3.0.1").ok());
  EXPECT_EQ(b.File(Filing({ItemOf(jpeg_)}), "10.3.0.1").status().code(),
            StatusCode::kResourceExhausted)
      << "the fourth from one address in an hour, counted across processes";
  // Wrong PINs for one case (5 an hour), alternating between the processes.
  const json right = {{"case", (*filed)["case"]}, {"pin", (*filed)["pin"]}};
  json wrong = right;
  wrong["pin"] = "AAAA-BBBB-CCCC";
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ((i % 2 == 0 ? a : b).CaseStatus(wrong, fmt::format("10.1.0.{}", i)).status().code(),
              StatusCode::kNotFound);
  }
  EXPECT_EQ(a.CaseStatus(right, "10.0.0.9").status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(b.CaseStatus(right, "10.0.0.9").status().code(), StatusCode::kResourceExhausted);
  // What the store keeps: keyed budgets, never an address or a case number.
  auto events = store_->FindDocs({.kind = "report_event", .limit = 100});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(),
            3u * 2 + 5 * 2);  // each filing: address and all; each PIN: address and case
  const std::string number = (*filed)["case"];
  for (const auto& e : *events) {
    EXPECT_EQ(e.state.find("10."), std::string::npos) << e.state;
    EXPECT_EQ(e.state.find(number.substr(number.size() - 4)), std::string::npos) << e.state;
  }
  auto spent = [&] {
    return store_->FindDocs({.kind = "report_challenge_spent", .limit = 100}).value().size();
  };
  EXPECT_EQ(spent(), 3u);
  // An hour on: the budgets are whole again, and the next event deletes what is older.
  env_.AdvanceMs(kHour + 1);
  EXPECT_TRUE(b.CaseStatus(right, "10.0.0.9").ok());
  ASSERT_TRUE(b.File(Filing({ItemOf(jpeg_)}), "10.3.0.1").ok());
  events = store_->FindDocs({.kind = "report_event", .limit = 100});
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 2u) << "only the new filing's events are left";
  EXPECT_EQ(spent(), 1u) << "spent challenges past their lifetime are deleted";
}

// Recovery (issue 19 item 3): a person who lost the PIN asks for a link with the case number and
// the address given when filing; the link, mailed only to that address, works once and for a
// limited time, and gives a new PIN (the old one stops working). The answer is the same whether
// or not the case exists or has that address; links per case and day are bounded.
TEST_F(VictimCasesTest, ALostPinIsReplacedThroughALinkMailedOnlyToTheCasesAddress) {
  auto recover = [&](const std::string& number, const std::string& email,
                     const std::string& address) {
    auto [ch, nonce] = Work();
    return cases().Recover(
        {{"challenge", ch}, {"nonce", nonce}, {"case", number}, {"email", email}}, address);
  };
  // Without a way to send mail it is not offered, and the page is told so.
  EXPECT_EQ(cases().Challenge().value()["recovery_by_email"], false);
  EXPECT_EQ(recover("TD-AAAA-BBBB-CCCC", "jane@example.org", "10.0.0.1").status().code(),
            StatusCode::kFailedPrecondition);

  std::vector<json> mails;  // what the mail line was asked to compose
  int wakes = 0;
  cases().SetRecoveryMailer(
      [&](const std::string& to, const std::string& lang, const json& data,
          const std::string& ukey) -> Result<MailOut> {
        mails.push_back({{"to", to}, {"lang", lang}, {"data", data}});
        MailOut m;
        m.ukey = ukey;
        m.kind = "case_recovery";
        m.to = to;
        m.subject = "Your removal case";
        m.raw = "Subject: Your removal case\r\n\r\n" + data["link"].get<std::string>();
        m.queued_ms = m.due_ms = env_.NowMs();
        return m;
      },
      [&] { ++wakes; });
  EXPECT_EQ(cases().Challenge().value()["recovery_by_email"], true);

  json filing = Filing({ItemOf(jpeg_)});
  filing["email"] = "Jane@Example.org";
  filing["language"] = "ko";
  auto filed = cases().File(filing, "10.0.0.1");
  ASSERT_TRUE(filed.ok()) << filed.status().ToString();
  const std::string number = (*filed)["case"], old_pin = (*filed)["pin"];
  auto other = cases().File(Filing({ItemOf(jpeg_)}), "10.0.0.1");  // no address at all
  ASSERT_TRUE(other.ok());

  // An unknown case, a wrong address, a case without one: the same answer, and no mail.
  auto unknown = recover("TD-AAAA-BBBB-CCCC", "jane@example.org", "10.0.1.1");
  auto wrong = recover(number, "john@example.org", "10.0.1.2");
  auto none = recover((*other)["case"], "jane@example.org", "10.0.1.3");
  ASSERT_TRUE(unknown.ok() && wrong.ok() && none.ok()) << wrong.status().ToString();
  EXPECT_EQ(*unknown, *wrong);
  EXPECT_EQ(*unknown, *none);
  EXPECT_TRUE(mails.empty()) << mails.size();
  // Bad fields are named.
  auto bad = recover("TD-12", "not-an-address", "10.0.1.4");
  ASSERT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("case: not a case number"), std::string::npos);
  EXPECT_NE(bad.status().message().find("email: not an email address"), std::string::npos);

  // The case's address, however it is cased: a link to the address on file, in the case's
  // language, queued as a mail_out document; the audit record names neither address nor link.
  auto sent = recover(number, "jane@EXAMPLE.org", "10.0.2.1");
  ASSERT_TRUE(sent.ok()) << sent.status().ToString();
  EXPECT_EQ(*sent, *unknown) << "the answer says nothing about the case";
  ASSERT_EQ(mails.size(), 1u);
  EXPECT_EQ(mails[0]["to"], "Jane@Example.org");
  EXPECT_EQ(mails[0]["lang"], "ko");
  const std::string link = mails[0]["data"]["link"];
  const std::string prefix = "https://platform.example/report/case#recover=" + number + ".";
  ASSERT_EQ(link.rfind(prefix, 0), 0u) << link;
  const std::string token = link.substr(prefix.size());
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(wakes, 1);
  auto out = store_->FindDocs({.kind = std::string(kMailOutDoc)});
  ASSERT_TRUE(out.ok());
  ASSERT_EQ(out->size(), 1u);
  EXPECT_EQ(out->front().state, "pending");
  auto audit = store_->ReadAudit(1, 10000);
  ASSERT_TRUE(audit.ok());
  int recorded = 0;
  for (const auto& a : *audit) {
    if (a.kind != "report_case.recovery_sent") continue;
    ++recorded;
    EXPECT_EQ(a.actor, "report:" + number);
    EXPECT_EQ(AsciiLower(a.payload).find("jane"), std::string::npos) << a.payload;
    EXPECT_EQ(a.payload.find(token), std::string::npos);
  }
  EXPECT_EQ(recorded, 1);

  // The link: a new PIN, once; the old PIN stops working.
  EXPECT_EQ(cases().ResetPin({{"case", number}, {"token", "xyz"}}, "10.0.3.1").status().code(),
            StatusCode::kInvalidArgument);
  auto reset = cases().ResetPin({{"case", number}, {"token", token}}, "10.0.3.1");
  ASSERT_TRUE(reset.ok()) << reset.status().ToString();
  const std::string new_pin = (*reset)["pin"];
  EXPECT_NE(new_pin, old_pin);
  EXPECT_EQ((*reset)["case"], number);
  EXPECT_EQ((*reset)["status"], "in_review");
  EXPECT_EQ(cases().CaseStatus({{"case", number}, {"pin", old_pin}}, "10.0.3.2").status().code(),
            StatusCode::kNotFound);
  EXPECT_TRUE(cases().CaseStatus({{"case", number}, {"pin", new_pin}}, "10.0.3.2").ok());
  EXPECT_EQ(cases().ResetPin({{"case", number}, {"token", token}}, "10.0.3.3").status().code(),
            StatusCode::kNotFound)
      << "a link works once";

  // A link works for an hour.
  ASSERT_TRUE(recover(number, "jane@example.org", "10.0.4.1").ok());
  ASSERT_EQ(mails.size(), 2u);
  const std::string second = mails[1]["data"]["link"].get<std::string>().substr(prefix.size());
  env_.AdvanceMs(kHour + 1);
  EXPECT_EQ(cases().ResetPin({{"case", number}, {"token", second}}, "10.0.4.2").status().code(),
            StatusCode::kNotFound);

  // Three links a day for one case (two sent above); the fourth is not sent, with the same answer.
  ASSERT_TRUE(recover(number, "jane@example.org", "10.0.5.1").ok());
  EXPECT_EQ(mails.size(), 3u);
  auto fourth = recover(number, "jane@example.org", "10.0.5.2");
  ASSERT_TRUE(fourth.ok());
  EXPECT_EQ(*fourth, *unknown);
  EXPECT_EQ(mails.size(), 3u) << "at most three links a day";
  env_.AdvanceMs(24 * kHour);
  ASSERT_TRUE(recover(number, "jane@example.org", "10.0.5.3").ok());
  EXPECT_EQ(mails.size(), 4u);

  // Guessed tokens count as wrong PINs: five for the case, and the case waits an hour.
  const std::string last = mails[3]["data"]["link"].get<std::string>().substr(prefix.size());
  for (int i = 0; i < 5; ++i) {
    (void)cases().ResetPin({{"case", number}, {"token", std::string(64, 'a' + i)}},
                           fmt::format("10.0.6.{}", i));
  }
  EXPECT_EQ(cases().ResetPin({{"case", number}, {"token", last}}, "10.0.6.9").status().code(),
            StatusCode::kResourceExhausted);
  // One address asking for many links is bounded like filings (3 an hour here).
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(recover(number, "x@example.org", "10.0.7.1").ok());
  EXPECT_EQ(recover(number, "x@example.org", "10.0.7.1").status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace takedown::service
