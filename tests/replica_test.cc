// Replicas on one PostgreSQL (issue 21 item 2): each Service over its own store follows the
// others through the database's change log. An entry added, disabled or enabled at one replica
// blocks (or stops blocking) uploads at the others within a second; content recorded anywhere is
// found by a sweep at any replica (CatchUp); blocks at a gate replica reach the process that
// counts strikes; a replica started while others write misses nothing at the boundary between
// its load and its feed.
//
// Each replica here has its own connections, as separate processes would (serve_test.cc runs
// them as processes). The server is this test process's own (tests/support/postgres_server.h);
// where PostgreSQL is not installed these tests are skipped, saying so.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "store/store.h"
#include "support/postgres_fixture.h"
#include "takedown/service.h"

namespace takedown::service {
namespace {

using Clock = std::chrono::steady_clock;

hash::Hash256 RandomHash(std::mt19937_64& rng) {
  std::string hex;
  for (int i = 0; i < 4; ++i) hex += fmt::format("{:016x}", rng());
  return *hash::Hash256::FromHex(hex);
}

Signals Pdq(const hash::Hash256& h) {
  Signals s;
  s.pdq = h;
  s.quality = 100;
  return s;
}

struct Replica {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<Service> svc;
};

class ReplicaTest : public testing::PostgresDatabaseTest {
 protected:
  Replica Open() {
    Replica r;
    auto s = store::OpenPostgresStore(url_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return r;
    r.store = std::move(s).value();
    auto svc = Service::Create(r.store.get());
    EXPECT_TRUE(svc.ok()) << svc.status().ToString();
    if (svc.ok()) r.svc = std::move(svc).value();
    return r;
  }
  // Checks uploads of h at svc (each a new content id) until the decision is `block`, or for
  // `limit`; returns how long it took (limit when it never came).
  Clock::duration Until(Service& svc, const hash::Hash256& h, bool block, Clock::duration limit) {
    const auto t0 = Clock::now();
    while (Clock::now() - t0 < limit) {
      auto r = svc.Check({fmt::format("probe-{}", probes_++), "chat", "u", Pdq(h), {}}, "test");
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (r.ok() && r->block == block) return Clock::now() - t0;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return limit;
  }
  int probes_ = 0;
  std::mt19937_64 rng_{2026};
};

TEST_F(ReplicaTest, AnEntryChangedAtOneReplicaBlocksOrNotAtTheOthersWithinASecond) {
  Replica a = Open(), b = Open(), c = Open();
  ASSERT_TRUE(a.svc && b.svc && c.svc);
  ASSERT_TRUE(a.svc->CreateBank({"ncii", "ncii", 31, "block"}, "test").ok());
  const hash::Hash256 h = RandomHash(rng_);
  EXPECT_GE(Until(*b.svc, h, true, std::chrono::milliseconds(50)), std::chrono::milliseconds(50))
      << "blocked before the entry exists";
  auto e = a.svc->AddEntry("ncii", {Pdq(h), {}, "test", ""}, "test");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  // The goal is 1 s (the benchmark measures it: takedown-bench replicas); the bound here leaves
  // room for a loaded test machine.
  const auto limit = std::chrono::seconds(5);
  for (Replica* r : {&b, &c}) {
    const auto took = Until(*r->svc, h, true, limit);
    EXPECT_LT(took, limit) << "the entry never reached a replica";
    std::printf("entry added at A blocks at a replica after %.1f ms\n",
                std::chrono::duration<double, std::milli>(took).count());
  }
  ASSERT_TRUE(a.svc->SetEntryEnabled(e->id, false, "test").ok());
  EXPECT_LT(Until(*b.svc, h, false, limit), limit) << "a disabled entry still blocks at B";
  EXPECT_LT(Until(*c.svc, h, false, limit), limit) << "a disabled entry still blocks at C";
  // Enabled again from C: A (where it was added) follows too.
  ASSERT_TRUE(c.svc->SetEntryEnabled(e->id, true, "test").ok());
  EXPECT_LT(Until(*a.svc, h, true, limit), limit) << "enabled at C, A did not follow";
  EXPECT_LT(Until(*b.svc, h, true, limit), limit) << "enabled at C, B did not follow";

  // An import of a hash list at B: every entry reaches A.
  std::vector<Signals> list;
  for (int i = 0; i < 300; ++i) list.push_back(Pdq(RandomHash(rng_)));
  auto imported = b.svc->ImportEntries("ncii", list, "list", "", "test");
  ASSERT_TRUE(imported.ok()) << imported.status().ToString();
  EXPECT_LT(Until(*a.svc, *list.back().pdq, true, limit), limit);
  ASSERT_TRUE(a.svc->CatchUp().ok());
  EXPECT_EQ(a.svc->EntryCounts(), b.svc->EntryCounts());
  EXPECT_EQ(a.svc->EntryCounts().begin()->second.first, 301);
  EXPECT_GT(a.svc->Following().applied, 300u);
  EXPECT_TRUE(a.svc->Following().following);
}

// A sweep at A (CatchUp first, then the content index) finds copies just recorded at B and C,
// with no wait.
TEST_F(ReplicaTest, ASweepAtOneReplicaFindsCopiesRecordedAtTheOthers) {
  Replica a = Open(), b = Open(), c = Open();
  ASSERT_TRUE(a.svc && b.svc && c.svc);
  const hash::Hash256 h = RandomHash(rng_);
  hash::Hash256 near = h;
  near.words[0] ^= 0x9;  // 2 bits off
  near.words[1] ^= 0x1;  // 3
  std::set<int64_t> recorded;
  for (auto [r, id] : {std::pair{&b, "at-b"}, std::pair{&c, "at-c"}}) {
    auto got = r->svc->Check({id, "chat", "u", Pdq(near), {}}, "test");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    recorded.insert(got->content_row);
  }
  ASSERT_TRUE(a.svc->CatchUp().ok());
  std::set<int64_t> found;
  for (const auto& m : a.svc->QueryContentPdq(h, 31)) found.insert(static_cast<int64_t>(m.id));
  EXPECT_EQ(found, recorded);
  // The same content id uploaded again at A is the row B recorded, not a new one.
  auto again = a.svc->Check({"at-b", "chat", "u", Pdq(near), {}}, "test");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->already_recorded);
  EXPECT_TRUE(recorded.count(again->content_row));
}

// Blocks at a gate replica reach the replica that counts strikes (its blocked hook), once each;
// its own blocks are told by its own gate, not again by the log.
TEST_F(ReplicaTest, BlocksAtOtherReplicasReachTheBlockedHookOnce) {
  Replica a = Open(), b = Open();
  ASSERT_TRUE(a.svc && b.svc);
  std::mutex mu;
  std::vector<std::string> told;
  a.svc->SetBlockedHook([&](const Service::Blocked& bl) {
    std::lock_guard<std::mutex> l(mu);
    told.push_back(bl.uploader_id + "/" + bl.category + "/" + bl.content_id);
  });
  ASSERT_TRUE(a.svc->CreateBank({"ncii", "ncii", 31, "block"}, "test").ok());
  const hash::Hash256 h = RandomHash(rng_);
  ASSERT_TRUE(a.svc->AddEntry("ncii", {Pdq(h), {}, "test", ""}, "test").ok());
  ASSERT_LT(Until(*b.svc, h, true, std::chrono::seconds(5)), std::chrono::seconds(5));
  auto at_b = b.svc->Check({"upload-b", "chat", "uploader-b", Pdq(h), {}}, "test");
  ASSERT_TRUE(at_b.ok() && at_b->block);
  auto at_a = a.svc->Check({"upload-a", "chat", "uploader-a", Pdq(h), {}}, "test");
  ASSERT_TRUE(at_a.ok() && at_a->block);
  ASSERT_TRUE(a.svc->CatchUp().ok());
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(std::count(told.begin(), told.end(), "uploader-b/ncii/upload-b"), 1);
  EXPECT_EQ(std::count(told.begin(), told.end(), "uploader-a/ncii/upload-a"), 1);
}

// A replica started while another writes without pause misses nothing between its load and
// its feed, and counts nothing twice in its indexes.
TEST_F(ReplicaTest, AReplicaStartedDuringWritesMissesNothing) {
  Replica a = Open();
  ASSERT_TRUE(a.svc);
  std::atomic<bool> stop{false};
  std::vector<hash::Hash256> written;
  std::mutex mu;
  std::thread writer([&] {
    std::mt19937_64 rng(7);
    for (int i = 0; !stop; ++i) {
      const hash::Hash256 h = RandomHash(rng);
      auto r = a.svc->Check({fmt::format("w{}", i), "chat", "u", Pdq(h), {}}, "test");
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      std::lock_guard<std::mutex> l(mu);
      written.push_back(h);
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Replica b = Open();
  ASSERT_TRUE(b.svc);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  stop = true;
  writer.join();
  ASSERT_TRUE(b.svc->CatchUp().ok());
  ASSERT_GT(written.size(), 20u);
  size_t missing = 0;
  for (const auto& h : written) {
    const auto m = b.svc->QueryContentPdq(h, 0);
    if (m.size() != 1) ++missing;
  }
  EXPECT_EQ(missing, 0u) << "of " << written.size();
}

}  // namespace
}  // namespace takedown::service
