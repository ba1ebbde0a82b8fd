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
#include "takedown/shards.h"
#include "takedown/workflow.h"

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
  Replica Open(ShardSet shards = {}) {
    Replica r;
    auto s = store::OpenPostgresStore(url_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return r;
    r.store = std::move(s).value();
    auto svc = Service::Create(r.store.get(), nullptr, std::move(shards));
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

// A bank made at one replica takes entries at another at once, before that one has read the
// change: two processes filing the first requests of a category at once gave "404 no bank named"
// when the second looked the bank up in the store and then added an entry by its name.
TEST_F(ReplicaTest, ABankMadeAtOneReplicaIsUsableByNameAtAnotherAtOnce) {
  Replica a = Open(), b = Open();
  ASSERT_TRUE(a.svc && b.svc);
  for (int i = 0; i < 20; ++i) {
    const std::string name = fmt::format("made-at-a-{}", i);
    ASSERT_TRUE(a.svc->CreateBank({name, "ncii", 31, "block"}, "test").ok());
    auto e = b.svc->AddEntry(name, {Pdq(RandomHash(rng_)), {}, "test", ""}, "test");
    ASSERT_TRUE(e.ok()) << name << ": " << e.status().ToString();
    auto listed = b.svc->FindEntries(name, {});
    ASSERT_TRUE(listed.ok()) << listed.status().ToString();
    EXPECT_EQ(listed->size(), 1u);
  }
  auto missing = b.svc->AddEntry("never-made", {Pdq(RandomHash(rng_)), {}, "test", ""}, "test");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_NE(missing.status().message().find("never-made"), std::string::npos);
  // The change, read later, adds nothing twice.
  ASSERT_TRUE(b.svc->CatchUp().ok());
  ASSERT_TRUE(a.svc->CatchUp().ok());
  auto banks = b.svc->ListBanks();
  ASSERT_TRUE(banks.ok());
  EXPECT_EQ(banks->size(), 20u);
  EXPECT_EQ(a.svc->EntryCounts(), b.svc->EntryCounts());
}

// Two replicas importing the same hash list at the same moment add each entry once (an import
// holds the store's import lock while it checks what the bank holds and adds the rest).
TEST_F(ReplicaTest, TheSameListImportedAtTwoReplicasAtOnceIsAddedOnce) {
  Replica a = Open(), b = Open();
  ASSERT_TRUE(a.svc && b.svc);
  ASSERT_TRUE(a.svc->CreateBank({"list", "ncii", 31, "block"}, "test").ok());
  std::vector<Signals> list;
  for (int i = 0; i < 2000; ++i) list.push_back(Pdq(RandomHash(rng_)));
  for (int round = 0; round < 3; ++round) {
    Result<Service::ImportResult> at_b = Internal("not run");
    std::thread t([&] { at_b = b.svc->ImportEntries("list", list, "list", "", "test"); });
    auto at_a = a.svc->ImportEntries("list", list, "list", "", "test");
    t.join();
    ASSERT_TRUE(at_a.ok()) << at_a.status().ToString();
    ASSERT_TRUE(at_b.ok()) << at_b.status().ToString();
  }
  int64_t stored = 0;
  store::BankEntryQuery q;
  q.limit = 10000;
  ASSERT_TRUE(a.svc->CatchUp().ok());
  q.bank_id = a.svc->ListBanks()->front().id;
  stored = static_cast<int64_t>(a.store->FindBankEntries(q)->size());
  EXPECT_EQ(stored, 2000) << "entries stored twice";
}

// A replica far behind (a list of more entries than one read of the change log takes, committed
// at once by another process) reads the backlog page by page: every entry arrives, none twice.
TEST_F(ReplicaTest, ABacklogLargerThanOneReadOfTheLogArrivesWhole) {
  Replica a = Open();
  ASSERT_TRUE(a.svc);
  ASSERT_TRUE(a.svc->CreateBank({"ncii", "ncii", 31, "block"}, "test").ok());
  auto other = store::OpenPostgresStore(url_);
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  auto banks = (*other)->ListBanks();
  ASSERT_TRUE(banks.ok() && banks->size() == 1u);
  const size_t n = store::ChangeFeed::kChangesPerRead + 500;
  std::vector<store::BankEntryRecord> recs;
  std::vector<hash::Hash256> hashes;
  for (size_t i = 0; i < n; ++i) {
    hashes.push_back(RandomHash(rng_));
    recs.push_back(
        {0, banks->front().id, hashes.back().ToHex(), 100, "", "", "list", "", true, 0, "", ""});
  }
  auto ids = (*other)->AddBankEntries(recs);  // one transaction: n changes at once
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), n);
  ASSERT_TRUE(a.svc->CatchUp().ok());
  EXPECT_EQ(a.svc->EntryCounts().begin()->second.first, static_cast<int64_t>(n));
  EXPECT_EQ(a.svc->Stats().bank_entries, n);
  EXPECT_GE(a.svc->Following().applied, n);
  for (size_t i : {size_t{0}, n / 2, n - 1}) {
    auto c =
        a.svc->Check({fmt::format("probe-{}", probes_++), "chat", "u", Pdq(hashes[i]), {}}, "test");
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_TRUE(c->block) << "entry " << i << " of the backlog does not block";
  }
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

// The content index split into 4 shards (issue 21 item 4): A holds 0-1, B 2-3, C none (the upload
// gate only). Each indexes only its shards' items; a sweep asked at A, or at C, finds the copies in
// every shard; with B's shards held by no live process the sweep is held back at once, naming
// them, and goes through again once B is back.
// A requester key whose profile makes it a trusted flagger (its requests are swept at once).
Principal TrustedHotline(Service& svc, Workflow& wf) {
  auto key = svc.CreateKey(Role::kRequester, "hotline", "system");
  EXPECT_TRUE(key.ok());
  const Principal p{key.ok() ? key->first : 0, Role::kRequester, "hotline"};
  EXPECT_TRUE(
      wf.SetRequesterProfile(p.key_id, {{"source_type", "trusted_flagger"}, {"trusted", true}}, p)
          .ok());
  return p;
}

// A removal request for a picture known by its PDQ only.
nlohmann::json PdqNotice(const hash::Hash256& h) {
  return {{"category", "ncii"},
          {"explanation", "an intimate image shared without consent"},
          {"notifier", {{"name", "Analyst Kim"}, {"email", "kim@hotline.example"}}},
          {"accuracy_statement", true},
          {"evidence", nlohmann::json::array({{{"pdq", h.ToHex()}, {"quality", 100}}})}};
}

ContentShards::Options FastShards() {
  ContentShards::Options o;
  o.poll = std::chrono::milliseconds(10);
  o.heartbeat = std::chrono::milliseconds(100);
  o.holder_ttl = std::chrono::milliseconds(1000);
  o.answer_timeout = std::chrono::seconds(10);
  return o;
}

TEST_F(ReplicaTest, ASweepAsksEveryContentShardAndIsHeldBackWhileOneHasNoLiveReplica) {
  Replica a = Open(*ParseShardSet(4, "0-1", "hold")), b = Open(*ParseShardSet(4, "2-3", "hold")),
          c = Open(*ParseShardSet(4, "none", "hold"));
  ASSERT_TRUE(a.svc && b.svc && c.svc);
  const hash::Hash256 h = RandomHash(rng_);
  hash::Hash256 near = h;
  near.words[2] ^= 0x31;  // 3 bits off
  std::set<int64_t> recorded;
  std::set<int> shards_used;
  for (int i = 0; i < 24; ++i) {
    const std::string id = fmt::format("upload-{}", i);
    Replica& at = i % 2 == 0 ? c : b;
    auto got = at.svc->Check({id, "chat", "u", Pdq(near), {}}, "test");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    recorded.insert(got->content_row);
    shards_used.insert(ShardOf(id, 4));
  }
  ASSERT_EQ(shards_used.size(), 4u) << "the ids should fall into every shard";
  // Unrelated uploads beside them.
  for (int i = 0; i < 20; ++i)
    ASSERT_TRUE(
        c.svc->Check({fmt::format("other-{}", i), "chat", "u", Pdq(RandomHash(rng_)), {}}, "test")
            .ok());
  for (Replica* r : {&a, &b, &c}) ASSERT_TRUE(r->svc->CatchUp().ok());
  // Each holds its own shards' items only.
  EXPECT_EQ(c.svc->Stats().content_items, 0u);
  EXPECT_GT(a.svc->Stats().content_items, 0u);
  EXPECT_GT(b.svc->Stats().content_items, 0u);
  EXPECT_EQ(a.svc->Stats().content_items + b.svc->Stats().content_items, 44u);
  std::set<int64_t> at_a;
  for (const auto& m : a.svc->QueryContentPdq(h, 31)) at_a.insert(static_cast<int64_t>(m.id));
  EXPECT_LT(at_a.size(), recorded.size()) << "A alone holds only its shards";

  ContentShards sa(a.svc.get(), a.store.get(), nullptr, FastShards());
  auto sb = std::make_unique<ContentShards>(b.svc.get(), b.store.get(), nullptr, FastShards());
  ContentShards sc(c.svc.get(), c.store.get(), nullptr, FastShards());
  for (ContentShards* s : {&sa, sb.get(), &sc}) s->Start();
  auto rows = [](const std::vector<Service::ContentHit>& hits) {
    std::set<int64_t> out;
    for (const auto& hit : hits) {
      EXPECT_EQ(hit.signal, "pdq");
      EXPECT_EQ(hit.distance, 3);
      out.insert(hit.row);
    }
    return out;
  };
  for (ContentShards* asker : {&sa, &sc}) {
    auto found = asker->Match(Pdq(h), 31, 50);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    EXPECT_EQ(rows(*found), recorded) << "asked at " << asker->holder();
  }
  EXPECT_GE(sb->stats().answered, 2u);
  auto cov = sc.Check();
  ASSERT_TRUE(cov.ok());
  EXPECT_TRUE(cov->unheld.empty());
  EXPECT_EQ(cov->holders, 2);

  // B stops: its shards have no live holder; the sweep is held back at once, naming them.
  sb.reset();
  const auto t0 = Clock::now();
  auto held = sa.Match(Pdq(h), 31, 50);
  ASSERT_EQ(held.status().code(), StatusCode::kUnavailable) << held.status().ToString();
  EXPECT_NE(held.status().message().find("content shards 2-3 of 4"), std::string::npos)
      << held.status().message();
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(5)) << "not waited for the timeout";
  EXPECT_EQ(sa.Check()->unheld, (std::vector<int>{2, 3}));
  EXPECT_GE(sa.stats().held_back, 1u);

  // Another process takes B's shards up: sweeps go through again.
  Replica b2 = Open(*ParseShardSet(4, "2-3", "hold"));
  ASSERT_TRUE(b2.svc);
  ContentShards sb2(b2.svc.get(), b2.store.get(), nullptr, FastShards());
  sb2.Start();
  auto again = sa.Match(Pdq(h), 31, 50);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(rows(*again), recorded);
}

// With notices (PostgreSQL LISTEN/NOTIFY), a sweep's query wakes the holders when it is written
// and their answers wake the sweep: with both polls 30 s apart, sweeps still finish at once, each
// finding the copies in every shard.
TEST_F(ReplicaTest, NoticesWakeTheHoldersAndTheSweepInsteadOfPolls) {
  Replica a = Open(*ParseShardSet(4, "0-1", "hold")), b = Open(*ParseShardSet(4, "2-3", "hold")),
          c = Open(*ParseShardSet(4, "none", "hold"));
  ASSERT_TRUE(a.svc && b.svc && c.svc);
  const hash::Hash256 h = RandomHash(rng_);
  std::set<int64_t> recorded;
  for (int i = 0; i < 16; ++i) {
    auto got = c.svc->Check({fmt::format("copy-{}", i), "chat", "u", Pdq(h), {}}, "test");
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    recorded.insert(got->content_row);
  }
  for (Replica* r : {&a, &b}) ASSERT_TRUE(r->svc->CatchUp().ok());
  ContentShards::Options slow;
  slow.poll = slow.notice_poll = std::chrono::seconds(30);
  slow.holder_ttl = std::chrono::seconds(120);  // the first heartbeat keeps them live
  std::vector<std::unique_ptr<ContentShards>> all;
  for (Replica* r : {&a, &b, &c}) {
    all.push_back(std::make_unique<ContentShards>(r->svc.get(), r->store.get(), nullptr, slow));
    auto w = ContentShards::OpenNotices(url_);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    all.back()->SetNotices(std::move(*w));
    all.back()->Start();
  }
  for (int sweep = 0; sweep < 3; ++sweep) {
    const auto t0 = Clock::now();
    auto found = all[2]->Match(Pdq(h), 31, 50);
    ASSERT_TRUE(found.ok()) << found.status().ToString();
    std::set<int64_t> rows;
    for (const auto& hit : *found) rows.insert(hit.row);
    EXPECT_EQ(rows, recorded) << "sweep " << sweep;
    EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10)) << "sweep " << sweep << " polled";
  }
  // Counted once each holder's answer is written (a moment after the sweep may have read it).
  const auto t0 = Clock::now();
  while ((all[0]->stats().answered < 3 || all[1]->stats().answered < 3) &&
         Clock::now() - t0 < std::chrono::seconds(5))
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(all[0]->stats().answered, 3u);
  EXPECT_EQ(all[1]->stats().answered, 3u);
}

// The workflow over shards: a trusted request approved while shards 2-3 have no live process is
// held back (approved, its entry already blocking at the gate), and swept by the workflow itself
// once they are back: one removal per copy in every shard, none twice, one bank entry.
TEST_F(ReplicaTest, AHeldBackSweepIsTakenUpAgainWhenTheShardsAreBack) {
  Replica a = Open(*ParseShardSet(4, "0-1", "hold")), b = Open(*ParseShardSet(4, "2-3", "hold"));
  ASSERT_TRUE(a.svc && b.svc);
  const hash::Hash256 h = RandomHash(rng_);
  std::set<std::string> copies;
  for (int i = 0; i < 12; ++i) {
    const std::string id = fmt::format("copy-{}", i);
    ASSERT_TRUE(b.svc->Check({id, "chat", "u", Pdq(h), {}}, "test").ok());
    copies.insert(id);
  }
  ContentShards sa(a.svc.get(), a.store.get(), nullptr, FastShards());
  sa.Start();
  WorkflowOptions o;
  o.retry_base_ms = 60'000;
  Workflow wf(a.svc.get(), a.store.get(), nullptr, o);
  wf.SetContentShards(&sa);
  wf.Start();
  const Principal hotline = TrustedHotline(*a.svc, wf);
  auto made = wf.CreateRequest(hotline, PdqNotice(h));
  ASSERT_TRUE(made.ok()) << made.status().ToString();
  const int64_t id = (*made)["id"].get<int64_t>();
  EXPECT_EQ((*made)["status"], "approved") << made->dump();
  // Its hash blocks at the gate already (here; at B once it has followed: milliseconds).
  auto gate = a.svc->Check({"new-upload", "chat", "u", Pdq(h), {}}, "test");
  ASSERT_TRUE(gate.ok());
  EXPECT_TRUE(gate->block);

  ContentShards sb(b.svc.get(), b.store.get(), nullptr, FastShards());
  sb.Start();
  // The workflow tries again every few seconds.
  nlohmann::json view;
  const auto t0 = Clock::now();
  while (Clock::now() - t0 < std::chrono::seconds(30)) {
    auto v = wf.GetRequest(hotline, id);
    ASSERT_TRUE(v.ok());
    view = *v;
    if (view["status"] != "approved") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(view["status"], "actioned") << view.dump();
  auto actions = wf.ListActions("pending", 0, 100);
  ASSERT_TRUE(actions.ok());
  std::set<std::string> removed;
  for (const auto& act : (*actions)["actions"])
    removed.insert(act["content_id"].get<std::string>());
  EXPECT_EQ(removed, copies) << "one removal per copy, in every shard";
  EXPECT_EQ((*actions)["actions"].size(), copies.size()) << "none twice";
  EXPECT_EQ(a.svc->Stats().bank_entries, 1u) << "the held-back sweep's entry is reused";
}

// Two processes running the workflow on one store (issue 21 item 3): a reviewer's approval at A
// sweeps while B keeps taking up the approved requests it finds (Requests::Resume, as after a
// stop). The store's document lock makes them take turns on each request: one bank entry and
// one removal per copy each, nothing orphaned that a withdrawal would miss.
TEST_F(ReplicaTest, ADecisionAtOneProcessAndAResumeAtAnotherSweepEachRequestOnce) {
  Replica a = Open(), b = Open();
  ASSERT_TRUE(a.svc && b.svc);
  constexpr int kRequests = 12;
  std::vector<hash::Hash256> pictures;
  std::set<std::string> copies;
  for (int i = 0; i < kRequests; ++i) {
    pictures.push_back(RandomHash(rng_));
    const std::string id = fmt::format("copy-{}", i);
    ASSERT_TRUE(a.svc->Check({id, "chat", "u", Pdq(pictures.back()), {}}, "test").ok());
    copies.insert(id);
  }
  ASSERT_TRUE(b.svc->CatchUp().ok());
  WorkflowOptions o;
  o.retry_base_ms = 60'000;
  o.shared = true;                                      // store.workflow shared
  Workflow wa(a.svc.get(), a.store.get(), nullptr, o);  // not started: driven here
  Workflow wb(b.svc.get(), b.store.get(), nullptr, o);
  auto analyst = a.svc->CreateKey(Role::kRequester, "analyst", "system");
  auto reviewer = a.svc->CreateKey(Role::kReviewer, "reviewer", "system");
  ASSERT_TRUE(analyst.ok() && reviewer.ok());
  const Principal from{analyst->first, Role::kRequester, "analyst"};
  const Principal rev{reviewer->first, Role::kReviewer, "reviewer"};
  std::vector<int64_t> ids;
  for (const auto& h : pictures) {
    auto made = wa.CreateRequest(from, PdqNotice(h));
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ASSERT_EQ((*made)["status"], "pending_review") << made->dump();
    ids.push_back((*made)["id"].get<int64_t>());
  }
  std::atomic<bool> decided{false};
  std::atomic<int> resumes{0};
  std::thread resumer([&] {
    while (!decided) {
      Status st = wb.ResumeNow();
      EXPECT_TRUE(st.ok()) << st.ToString();
      ++resumes;
    }
  });
  for (int64_t id : ids) {
    auto d = wa.Decide(rev, id, true, "the reported picture, shared without consent");
    EXPECT_TRUE(d.ok()) << d.status().ToString();
  }
  decided = true;
  resumer.join();
  EXPECT_GT(resumes.load(), 0);
  for (int64_t id : ids) {
    auto v = wa.GetRequest(rev, id);
    ASSERT_TRUE(v.ok());
    EXPECT_EQ((*v)["status"], "actioned") << v->dump();
  }
  ASSERT_TRUE(a.svc->CatchUp().ok());
  EXPECT_EQ(a.svc->Stats().bank_entries, static_cast<uint64_t>(kRequests))
      << "one entry per request: none added by a second sweep and left on no request";
  auto actions = wa.ListActions("pending", 0, 100);
  ASSERT_TRUE(actions.ok());
  std::multiset<std::string> removed;
  for (const auto& act : (*actions)["actions"])
    removed.insert(act["content_id"].get<std::string>());
  EXPECT_EQ(removed, std::multiset<std::string>(copies.begin(), copies.end()))
      << "one removal per copy";
  EXPECT_TRUE(store::VerifyAuditChain(*a.store).ok());
}

// A scan (Resume, TakeUpStranded, the confirmation pass) passes over a request another process
// holds instead of waiting for it: LockTable::TryLock, at once, and the others are taken.
TEST_F(ReplicaTest, AScanPassesOverWhatAnotherProcessHoldsAtOnce) {
  Replica a = Open(), b = Open();
  ASSERT_TRUE(a.store && b.store);
  LockTable at_b(b.store.get());
  auto held_at_a = a.store->LockDoc(5);
  ASSERT_TRUE(held_at_a.ok()) << held_at_a.status().ToString();
  const auto t0 = Clock::now();
  auto busy = at_b.TryLock(5);
  ASSERT_TRUE(busy.ok()) << busy.status().ToString();
  EXPECT_FALSE(busy->has_value()) << "B took request 5 while A held it";
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2)) << "the try waited";
  {
    auto other = at_b.TryLock(6);
    ASSERT_TRUE(other.ok());
    EXPECT_TRUE(other->has_value()) << "request 6 is free";
    // Held: A's try on 6 passes over it, and B's own mutex for 5 was given back (6 % 64 != 5).
    LockTable at_a(a.store.get());
    auto from_a = at_a.TryLock(6);
    ASSERT_TRUE(from_a.ok());
    EXPECT_FALSE(from_a->has_value());
  }
  held_at_a->reset();
  auto now_free = at_b.TryLock(5);
  ASSERT_TRUE(now_free.ok());
  EXPECT_TRUE(now_free->has_value()) << "given back by A: B takes it";
  // Without a store (one process runs the workflow) a try always takes the id.
  LockTable alone(nullptr);
  auto mine = alone.TryLock(5);
  ASSERT_TRUE(mine.ok() && mine->has_value());
}

// PostgreSQL restarted (as a crash: no checkpoint) while trusted requests are filed and swept: a
// request the workflow accepted is never lost. Each ends actioned with one removal per copy,
// none twice -- a sweep the restart broke is held back and taken up again by the workflow
// (Requests::Resume) -- and the audit chain verifies.
TEST_F(ReplicaTest, APostgresRestartDuringSweepsLosesNoRequest) {
  Replica a = Open();
  ASSERT_TRUE(a.svc);
  constexpr int kPictures = 24, kCopies = 3;
  std::vector<hash::Hash256> pictures;
  for (int p = 0; p < kPictures; ++p) {
    pictures.push_back(RandomHash(rng_));
    for (int k = 0; k < kCopies; ++k) {
      ASSERT_TRUE(
          a.svc
              ->Check({fmt::format("p{}-c{}", p, k), "chat", "u", Pdq(pictures.back()), {}}, "test")
              .ok());
    }
  }
  WorkflowOptions o;
  o.retry_base_ms = 60'000;
  Workflow wf(a.svc.get(), a.store.get(), nullptr, o);
  wf.Start();
  const Principal hotline = TrustedHotline(*a.svc, wf);
  std::vector<int64_t> accepted;
  int refused = 0, during = 0;
  std::atomic<bool> restarting{false};
  std::thread restart;
  for (int p = 0; p < kPictures; ++p) {
    if (p == 6) {
      restarting = true;
      restart = std::thread([&] {
        EXPECT_TRUE(pg_->Restart().ok());
        restarting = false;
      });
    }
    during += restarting ? 1 : 0;
    auto made = wf.CreateRequest(hotline, PdqNotice(pictures[p]));
    if (made.ok()) {
      accepted.push_back((*made)["id"].get<int64_t>());
    } else {
      ++refused;  // not accepted: the requester sees an error and files again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  restart.join();
  std::printf("%zu requests accepted, %d refused; %d filed while PostgreSQL restarted\n",
              accepted.size(), refused, during);
  EXPECT_GE(during, 1) << "the restart overlapped no request";
  ASSERT_GE(accepted.size(), 10u);
  // Every accepted request ends actioned (the workflow retries every few seconds).
  const auto t0 = Clock::now();
  std::map<int64_t, std::string> state;
  while (Clock::now() - t0 < std::chrono::seconds(40)) {
    bool all = true;
    for (int64_t id : accepted) {
      auto v = wf.GetRequest(hotline, id);
      state[id] = v.ok() ? (*v)["status"].get<std::string>() : v.status().ToString();
      all = all && state[id] == "actioned";
    }
    if (all) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  for (int64_t id : accepted) EXPECT_EQ(state[id], "actioned") << "request " << id;
  std::map<int64_t, std::set<std::string>> removed;
  size_t actions = 0;
  for (int64_t after = 0;;) {
    auto page = wf.ListActions("pending", after, 100);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    const auto& list = (*page)["actions"];
    if (list.empty()) break;
    for (const auto& act : list) {
      removed[act["request_id"].get<int64_t>()].insert(act["content_id"].get<std::string>());
      ++actions;
      after = act["action_id"].get<int64_t>();
    }
  }
  for (int64_t id : accepted)
    EXPECT_EQ(removed[id].size(), static_cast<size_t>(kCopies)) << "request " << id;
  size_t expected = 0;
  for (const auto& [id, ids] : removed) expected += ids.size();
  EXPECT_EQ(actions, expected) << "a copy removed twice";
  auto verified = store::VerifyAuditChain(*a.store);
  EXPECT_TRUE(verified.ok()) << verified.status().ToString();
}

}  // namespace
}  // namespace takedown::service
