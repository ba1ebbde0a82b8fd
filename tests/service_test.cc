// The domain service over a real SQLite store: keys, banks, the upload gate, backfill, restart,
// audit.
#include "takedown/service.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/env.h"
#include "match/signals.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/edits.h"
#include "support/synthetic.h"

namespace takedown::service {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    Open();
  }
  void TearDown() override {
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Open() {
    service_.reset();
    store_.reset();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db").value());
    auto s = Service::Create(store_.get());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    service_ = std::move(s).value();
  }
  std::vector<uint8_t> Jpeg(uint32_t seed, int q = 90) {
    return *media::EncodeJpeg(testing::DetailedPhoto(320, 240, seed), q);
  }
  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<Service> service_;
};

// A video's stored signals: a bank frame's centre crops and an upload frame's probes (its moving
// region's too) survive the store's JSON, and a row stored before crops came in several sizes (one
// "crop", the 80% one) is still read.
TEST(VideoSignalsJson, CropsAndProbesRoundTripAndTheOldSingleCropIsRead) {
  const auto pdq = [](char c, int q) {
    return hash::PdqHash{hash::Hash256::FromHex(std::string(64, c)).value(), q};
  };
  match::VideoItem v;
  v.fps = 25;
  match::VideoFrameSignals f;
  f.seconds = 0.04;
  f.pdq = pdq('a', 90);
  f.norm = pdq('b', 88);
  f.norm_crops = {pdq('c', 80), pdq('d', 70)};
  v.frames.push_back(f);
  auto back = VideoFromJson(VideoToJson(v));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ((*back)->frames.size(), 1u);
  ASSERT_EQ((*back)->frames[0].norm_crops.size(), 2u);
  EXPECT_EQ((*back)->frames[0].norm_crops[1].hash, f.norm_crops[1].hash);
  EXPECT_EQ((*back)->frames[0].norm_crops[1].quality, 70);

  auto old = VideoToJson(v);
  old["frames"][0].erase("crops");
  old["frames"][0]["crop"] = {std::string(64, 'e'), 60};
  auto read = VideoFromJson(old);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ((*read)->frames[0].norm_crops.size(), 1u);
  EXPECT_EQ((*read)->frames[0].norm_crops[0].hash, pdq('e', 60).hash);

  auto bad = VideoToJson(v);
  bad["frames"][0]["crops"] = "not a list";
  EXPECT_FALSE(VideoFromJson(bad).ok());

  // An upload's probes too (a recorded upload is swept against later reports); at most 4.
  match::VideoItem up = v;
  up.frames[0].norm_crops.clear();
  up.frames[0].probes = {pdq('1', 81), pdq('2', 82), pdq('3', 83), pdq('4', 84)};
  auto probed = VideoFromJson(VideoToJson(up));
  ASSERT_TRUE(probed.ok()) << probed.status().ToString();
  ASSERT_EQ((*probed)->frames[0].probes.size(), 4u);
  EXPECT_EQ((*probed)->frames[0].probes[3].hash, pdq('4', 84).hash);
  EXPECT_EQ((*probed)->frames[0].probes[3].quality, 84);
  EXPECT_TRUE((*probed)->frames[0].norm_crops.empty());
  auto many = VideoToJson(up);
  many["frames"][0]["probes"].push_back(many["frames"][0]["probes"][0]);
  EXPECT_FALSE(VideoFromJson(many).ok());
  // And its moving region's probe (a screen recording), read whole or refused naming the field.
  up.frames[0].motion = pdq('5', 77);
  auto moving = VideoFromJson(VideoToJson(up));
  ASSERT_TRUE(moving.ok()) << moving.status().ToString();
  ASSERT_TRUE((*moving)->frames[0].motion.has_value());
  EXPECT_EQ((*moving)->frames[0].motion->hash, pdq('5', 77).hash);
  EXPECT_EQ((*moving)->frames[0].motion->quality, 77);
  auto bad_motion = VideoToJson(up);
  bad_motion["frames"][0]["motion"] = "5555";
  ASSERT_FALSE(VideoFromJson(bad_motion).ok());
  EXPECT_NE(VideoFromJson(bad_motion).status().message().find("frames[0].motion"),
            std::string::npos)
      << VideoFromJson(bad_motion).status().message();
  up.frames[0].motion.reset();

  // A problem names its frame and field, so a long hash list's bad line can be fixed.
  auto at = [&](nlohmann::json j) {
    auto r = VideoFromJson(j);
    return r.ok() ? std::string("ok") : r.status().message();
  };
  nlohmann::json two = VideoToJson(up);
  two["frames"].push_back(two["frames"][0]);
  auto broken = two;
  broken["frames"][1]["probes"][2] = {std::string(64, 'z'), 50};
  EXPECT_EQ(at(broken).rfind("video signals: frames[1].probes[2]: ", 0), 0u) << at(broken);
  broken = two;
  broken["frames"][1]["norm"] = {std::string(64, 'a'), 101};
  EXPECT_EQ(at(broken), "video signals: frames[1].norm: bad frame hash: quality not 0..100");
  broken = two;
  broken["frames"][0]["mirror"] = 7;
  EXPECT_EQ(at(broken), "video signals: frames[0].mirror: not a hash string");
  broken = two;
  broken["frames"][1]["t"] = "soon";
  EXPECT_EQ(at(broken), "video signals: frames[1].t: not a number");
  broken = two;
  broken["fps"] = "25";
  EXPECT_EQ(at(broken), "video signals: fps: not a number");
  broken = two;
  broken["frames"][1] = "x";
  EXPECT_EQ(at(broken), "video signals: frames[1]: not an object");
  EXPECT_EQ(at(bad).rfind("video signals: frames[0].crops: not a list of at most", 0), 0u)
      << at(bad);
}

TEST_F(ServiceTest, KeysAuthenticateUntilRevoked) {
  auto k = service_->CreateKey(Role::kPlatform, "platform-1", "system");
  ASSERT_TRUE(k.ok());
  EXPECT_TRUE(k->second.starts_with("td_"));
  EXPECT_EQ(k->second.size(), 3u + 43u);
  auto p = service_->Authenticate(k->second);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->role, Role::kPlatform);
  EXPECT_EQ(service_->Authenticate("td_wrong").status().code(), StatusCode::kPermissionDenied);
  ASSERT_TRUE(service_->RevokeKey(k->first, "system").ok());
  EXPECT_EQ(service_->Authenticate(k->second).status().code(), StatusCode::kPermissionDenied);
  EXPECT_FALSE(ParseRole("root").ok());
}

TEST_F(ServiceTest, UploadGateBlocksBankedMediaAndItsCopies) {
  ASSERT_TRUE(service_->CreateBank({"deepfakes", "deepfake-sexual", 31, "block"}, "key:1").ok());
  const auto reported = Jpeg(1, 95);
  EntrySpec e;
  e.media = reported;
  e.source = "regulator:kcsc";
  e.request_id = "req-42";
  auto entry = service_->AddEntry("deepfakes", e, "key:1");
  ASSERT_TRUE(entry.ok()) << entry.status().ToString();
  EXPECT_EQ(entry->pdq.size(), 64u);
  // The same file: exact and perceptual. A re-encoded copy: perceptual. Another picture: allowed.
  auto same = service_->Check({"c1", "chat1", "u1", {}, reported}, "key:2");
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same->block);
  ASSERT_EQ(same->matches.size(), 4u);  // sha256, md5, pdq and a robust signal (norm or box)
  EXPECT_EQ(same->matches[0].signal, "sha256");
  EXPECT_EQ(same->matches[1].signal, "md5");
  EXPECT_EQ(same->matches[2].signal, "pdq");
  EXPECT_TRUE(same->matches[3].signal == "norm" || same->matches[3].signal == "box")
      << same->matches[3].signal;
  auto copy = service_->Check({"c2", "chat2", "u2", {}, Jpeg(1, 60)}, "key:2");
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(copy->block);
  EXPECT_EQ(copy->matches.at(0).signal, "pdq");
  EXPECT_EQ(copy->matches.at(0).bank, "deepfakes");
  auto other = service_->Check({"c3", "chat3", "u3", {}, Jpeg(2)}, "key:2");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->block);
  // Disabled: stops matching at once; enabled: matches again.
  ASSERT_TRUE(service_->SetEntryEnabled(entry->id, false, "key:1").ok());
  EXPECT_FALSE(service_->Check({"c4", "chat", "u", {}, Jpeg(1, 60)}, "key:2")->block);
  ASSERT_TRUE(service_->SetEntryEnabled(entry->id, true, "key:1").ok());
  EXPECT_TRUE(service_->Check({"c5", "chat", "u", {}, Jpeg(1, 60)}, "key:2")->block);
}

// An upload's frame layers (a screenshot's picture inside its bubble) are matched by the gate
// against the bank's variants, recorded in the content index for the sweep, and kept across a
// restart.
TEST_F(ServiceTest, FrameLayersAreMatchedByTheGateAndFoundByTheSweep) {
  ASSERT_TRUE(service_->CreateBank({"ncii", "ncii", 31, "block"}, "key:1").ok());
  const auto reported = Jpeg(7, 95);
  EntrySpec e;
  e.media = reported;
  ASSERT_TRUE(service_->AddEntry("ncii", e, "key:1").ok());
  match::SignalHasher hasher;
  auto picture = hasher.HashBytes(reported, false);
  ASSERT_TRUE(picture.ok());
  // An upload whose only robust signal is a layer holding the reported picture.
  auto framed = std::make_shared<RobustImage>();
  framed->layers = {hash::PdqHash{hash::Hash256::FromHex(std::string(64, 'a')).value(), 100},
                    picture->query.norm};
  CheckRequest q{"shot-1", "chat-9", "u-3", {}, {}};
  q.signals.robust = framed;
  q.signals.sha256 = std::string(64, '1');  // not the entry's bytes
  auto r = service_->Check(q, "key:2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->block);
  ASSERT_EQ(r->matches.size(), 1u);
  EXPECT_EQ(r->matches[0].signal, "layer");
  // Without the layers, nothing matches.
  CheckRequest plain{"shot-2", "chat-9", "u-3", {}, {}};
  plain.signals.sha256 = std::string(64, '2');
  EXPECT_FALSE(service_->Check(plain, "key:2")->block);
  // The sweep for the reported picture finds the recorded upload through its layer, also after
  // a restart (the layers are stored with the content item).
  RobustImage sweep;
  sweep.norm = picture->query.norm;
  for (int round = 0; round < 2; ++round) {
    const auto found = service_->QueryContentRobust(sweep, 31);
    ASSERT_EQ(found.size(), 1u) << "round " << round;
    EXPECT_EQ(std::get<1>(found[0]), "layer");
    EXPECT_EQ(std::get<2>(found[0]), 0);
    Open();
  }
}

// A hash list's entry is a PDQ alone. The gate still blocks a mirrored, turned, bordered or
// captioned copy: the upload undoes those by itself (its dihedral PDQs, its box and layers);
// across a restart, and not once the entry is disabled. The sweep for a hash-only report finds
// a recorded bordered copy through its box.
TEST_F(ServiceTest, HashOnlyEntriesBlockTurnedMirroredAndFramedCopies) {
  ASSERT_TRUE(service_->CreateBank({"list", "ncii", 31, "block"}, "key:1").ok());
  const media::Image picture = testing::DetailedPhoto(320, 240, 11);
  hash::ImageHasher plain;
  hash::ImageHashOptions ref;
  ref.mode = hash::HashMode::kReference;
  auto listed = plain.HashBytes(*media::EncodeJpeg(picture, 95), ref);
  ASSERT_TRUE(listed.ok());
  Signals entry;
  entry.pdq = listed->pdq.hash;
  entry.quality = listed->pdq.quality;
  auto imported = service_->ImportEntries("list", {entry}, "hash-list:test", "", "key:1");
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  ASSERT_EQ(imported->ids.size(), 1u);
  const int64_t id = imported->ids[0];
  int uploads = 0;
  auto upload = [&](const std::string& edit) {
    const auto bytes = *media::EncodeJpeg(testing::ApplyEditPixels(edit, picture), 85);
    auto r =
        service_->Check({fmt::format("c-{}-{}", edit, ++uploads), "chat", "u", {}, bytes}, "key:2");
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : CheckResult{};
  };
  for (int round = 0; round < 2; ++round) {
    for (const char* edit : {"mirror", "rotate_90", "border_10", "letterbox_16_9", "caption"}) {
      const auto r = upload(edit);
      EXPECT_TRUE(r.block) << edit << " round " << round;
      ASSERT_EQ(r.matches.size(), 1u) << edit;
      EXPECT_EQ(r.matches[0].entry_id, id);
      EXPECT_NE(r.matches[0].signal, "sha256");
      EXPECT_LE(r.matches[0].distance, 31);
    }
    Open();  // the entry is known hash-only from what is stored
  }
  // Another picture, mirrored or framed, is not blocked.
  const media::Image other = testing::DetailedPhoto(320, 240, 12);
  for (const char* edit : {"mirror", "border_10"}) {
    const auto bytes = *media::EncodeJpeg(testing::ApplyEditPixels(edit, other), 85);
    EXPECT_FALSE(
        service_->Check({std::string("o-") + edit, "chat", "u", {}, bytes}, "key:2")->block);
  }
  // Without its dihedral hashes (a platform sending signals) a mirrored copy is not found: the
  // upload's own hashes are what finds it.
  match::SignalHasher hasher;
  auto mirrored =
      hasher.HashBytes(*media::EncodeJpeg(testing::ApplyEditPixels("mirror", picture), 85), false);
  ASSERT_TRUE(mirrored.ok());
  CheckRequest bare{"bare", "chat", "u", {}, {}};
  bare.signals.pdq = mirrored->plain.pdq.hash;
  bare.signals.quality = mirrored->plain.pdq.quality;
  EXPECT_FALSE(service_->Check(bare, "key:2")->block);
  // Disabled: the upload-side signals stop too.
  ASSERT_TRUE(service_->SetEntryEnabled(id, false, "key:1").ok());
  EXPECT_FALSE(upload("mirror").block);
  EXPECT_FALSE(upload("border_10").block);
  // The sweep for the listed hash alone finds the recorded bordered copies by their box.
  RobustImage reported;
  reported.variants.push_back(listed->pdq);
  const auto found = service_->QueryContentRobust(reported, 31);
  EXPECT_GE(found.size(), 2u);  // two rounds of border_10, at least
  bool box = false;
  for (const auto& f : found) box |= std::get<1>(f) == "box";
  EXPECT_TRUE(box);
}

TEST_F(ServiceTest, SignalsOnlyAndReviewBanksDoNotBlock) {
  ASSERT_TRUE(service_->CreateBank({"watch", "terrorism", 20, "review"}, "key:1").ok());
  auto h = hash::Hash256::FromHex(std::string(64, '5'));
  EntrySpec e;
  e.signals.pdq = *h;
  e.signals.sha256 = std::string(64, 'e');
  ASSERT_TRUE(service_->AddEntry("watch", e, "key:1").ok());
  CheckRequest q{"c1", "chat", "u", {}, {}};
  q.signals.sha256 = std::string(64, 'e');
  auto r = service_->Check(q, "key:2");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->block);  // a review bank reports, it does not block
  ASSERT_EQ(r->matches.size(), 1u);
  EXPECT_EQ(r->matches[0].signal, "sha256");
  EXPECT_EQ(service_->Check({"c2", "chat", "u", {}, {}}, "key:2").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(service_->AddEntry("nope", e, "key:1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(service_->CreateBank({"x", "y", 31, "delete"}, "key:1").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(ServiceTest, StateSurvivesARestartAndTheAuditChainVerifies) {
  ASSERT_TRUE(service_->CreateBank({"ncii", "ncii", 31, "block"}, "key:1").ok());
  EntrySpec e;
  e.media = Jpeg(3);
  auto entry = service_->AddEntry("ncii", e, "key:1");
  ASSERT_TRUE(entry.ok());
  ASSERT_TRUE(service_->Check({"c1", "chat", "u", {}, Jpeg(4)}, "key:2").ok());
  ASSERT_TRUE(service_->SetEntryEnabled(entry->id, false, "key:1").ok());
  Open();  // a new process over the same store
  EXPECT_EQ(service_->Stats().content_items, 1u);
  EXPECT_FALSE(
      service_->Check({"c2", "chat", "u", {}, Jpeg(3)}, "key:2")->block);  // still disabled
  ASSERT_TRUE(service_->SetEntryEnabled(entry->id, true, "key:1").ok());
  EXPECT_TRUE(service_->Check({"c3", "chat", "u", {}, Jpeg(3)}, "key:2")->block);
  auto n = store::VerifyAuditChain(*store_);
  ASSERT_TRUE(n.ok());
  EXPECT_GE(*n, 5);
  auto audit = store_->ReadAudit(1, 100);
  EXPECT_EQ((*audit)[0].kind, "bank.created");
  EXPECT_EQ((*audit)[1].kind, "bank.entry.added");
}

TEST_F(ServiceTest, BackfillRecordsEachContentIdOnce) {
  std::vector<CheckRequest> items;
  for (int i = 0; i < 100; ++i) {
    CheckRequest r{"bf" + std::to_string(i), "chat", "u", {}, {}};
    r.signals.pdq = hash::Hash256::FromHex(std::string(63, '0') + "1").value();
    items.push_back(r);
  }
  EXPECT_EQ(*service_->Backfill(items, "key:2"), 100);
  EXPECT_EQ(*service_->Backfill(items, "key:2"), 0);
  EXPECT_EQ(service_->Stats().content_items, 100u);
  items[5].content_id = "";
  EXPECT_EQ(service_->Backfill(items, "key:2").status().code(), StatusCode::kInvalidArgument);
}

// Video bytes being decoded are never written in the clear to a file system (issue 17 item 7):
// nothing is created in the environment's temporary directory while a video is hashed.
TEST_F(ServiceTest, VideoBytesAreDecodedFromMemoryNotATemporaryFile) {
  const std::string video = dir_ + "/clip.mp4";
  testing::WriteVideo(video, 160, 120, 30, 10, 7);
  std::ifstream in(video, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
  ASSERT_GT(bytes.size(), 1000u);
  const int ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  ASSERT_GE(ino, 0);
  const std::string tmp = dir_ + "/tmp";  // the temporary directory of this test alone
  std::filesystem::create_directory(tmp);
  const char* old = std::getenv("TMPDIR");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("TMPDIR", tmp.c_str(), 1);
  ASSERT_EQ(Env::Default()->TempDir(), tmp);
  ASSERT_GE(inotify_add_watch(ino, tmp.c_str(), IN_CREATE | IN_MODIFY), 0);
  auto s = service_->HashMedia(bytes);
  if (old != nullptr) {
    ::setenv("TMPDIR", saved.c_str(), 1);
  } else {
    ::unsetenv("TMPDIR");
  }
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  ASSERT_NE(s->video, nullptr);
  EXPECT_GT(s->video->frames.size(), 0u);
  EXPECT_EQ(s->sha256.size(), 64u);
  char buf[4096];
  const ssize_t n = ::read(ino, buf, sizeof buf);
  std::string created;
  for (ssize_t off = 0; off < n;) {
    const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
    if (ev->len > 0) created += std::string(ev->name) + " ";
    off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
  }
  ::close(ino);
  EXPECT_LE(n, 0) << "files written while hashing a video: " << created;
}

}  // namespace
}  // namespace takedown::service
