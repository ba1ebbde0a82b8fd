// The store's contract, run against every backend (SQLite, PostgreSQL and the in-memory one):
// keys, banks and entries, content recorded once per id, writes from many threads at once,
// documents and their unique keys, transactions that are all or nothing (conditions on a
// document's state included), queries, counts, evidence expiry, and the audit chain.
//
// PostgreSQL runs as a server of this test process's own (tests/support/postgres_server.h), a
// new database for each test; where PostgreSQL is not installed its cases are skipped, saying so.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "core/fake_env.h"
#include "store/event_window.h"
#include "store/store.h"
#include "support/postgres_server.h"
#include "support/synthetic.h"

namespace takedown::store {
namespace {

struct Backend {
  std::string name;
  // A new, empty store; an error names why none could be made (Unsupported: skip, loudly).
  std::function<Result<std::unique_ptr<Store>>(const std::string& dir, Env* env)> open;
};

class StoreContract : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    auto s = GetParam().open(dir_, &env_);
    if (!s.ok() && s.status().code() == StatusCode::kUnsupported) {
      GTEST_SKIP() << "SKIPPED, the " << GetParam().name
                   << " backend cannot run here: " << s.status().message();
    }
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  static DocRecord Doc(const std::string& kind, const std::string& state, int64_t owner = 0,
                       const std::string& ukey = "", int64_t due = 0) {
    DocRecord d;
    d.kind = kind;
    d.state = state;
    d.owner = owner;
    d.ukey = ukey;
    d.due_ms = due;
    d.doc = R"({"x":1})";
    return d;
  }
  FakeEnv env_{1'800'000'000'000};
  std::string dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreContract, KeysBanksAndEntries) {
  auto k = store_->CreateKey({0, "platform-1", "platform", "abc", 0, false});
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  auto found = store_->FindKeyByHash("abc");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->role, "platform");
  EXPECT_EQ((*found)->created_ms, 1'800'000'000'000);
  EXPECT_FALSE(store_->FindKeyByHash("nope")->has_value());
  ASSERT_TRUE(store_->RevokeKey(*k).ok());
  EXPECT_TRUE((*store_->FindKeyByHash("abc"))->revoked);
  EXPECT_EQ(store_->RevokeKey(999).code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->ListKeys()->size(), 1u);

  auto b = store_->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(store_->ListBanks()->at(0).pdq_threshold, 31);
  auto e =
      store_->AddBankEntry({0, *b, std::string(64, 'a'), 100, "", "", "test", "req-1", true, 0});
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  auto missing = store_->AddBankEntry({0, 12345, "", 0, "", "", "", "", true, 0});
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  ASSERT_TRUE(store_->SetBankEntryEnabled(*e, false).ok());
  EXPECT_EQ(store_->SetBankEntryEnabled(*e + 100, false).code(), StatusCode::kNotFound);
  auto entries = store_->ListBankEntries();
  ASSERT_EQ(entries->size(), 1u);
  EXPECT_FALSE((*entries)[0].enabled);
  EXPECT_EQ((*entries)[0].request_id, "req-1");
  // A batch is all or nothing: one entry of a missing bank, none of the batch is kept.
  BankEntryRecord good{0, *b, std::string(64, 'c'), 90, "", "", "list", "", true, 0};
  BankEntryRecord bad = good;
  bad.bank_id = 777;
  EXPECT_FALSE(store_->AddBankEntries({good, bad}).ok());
  EXPECT_EQ(store_->ListBankEntries()->size(), 1u);
  auto two = store_->AddBankEntries({good, good});
  ASSERT_TRUE(two.ok());
  EXPECT_EQ((*two)[1], (*two)[0] + 1) << "ids in order";
  // A list larger than one statement's rows: every entry kept with its own fields, ids rising in
  // the list's order; a missing bank anywhere in it is NotFound, and nothing of it is kept.
  std::vector<BankEntryRecord> list;
  for (int i = 0; i < 1203; ++i) {
    BankEntryRecord r = good;
    r.pdq = fmt::format("{:064x}", i);
    r.source = fmt::format("list-{}", i);
    r.enabled = i % 7 != 0;
    list.push_back(r);
  }
  list[1100].bank_id = 778;
  auto refused = store_->AddBankEntries(list);
  EXPECT_EQ(refused.status().code(), StatusCode::kNotFound) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("778"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(store_->ListBankEntries()->size(), 3u);
  list[1100].bank_id = *b;
  auto many = store_->AddBankEntries(list);
  ASSERT_TRUE(many.ok()) << many.status().ToString();
  ASSERT_EQ(many->size(), list.size());
  for (size_t i = 1; i < many->size(); ++i) ASSERT_LT((*many)[i - 1], (*many)[i]) << i;
  auto all = store_->ListBankEntries();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u + list.size());
  std::map<int64_t, BankEntryRecord> by_id;
  for (const auto& e : *all) by_id[e.id] = e;
  for (size_t i = 0; i < list.size(); ++i) {
    const auto& got = by_id[(*many)[i]];
    EXPECT_EQ(got.pdq, list[i].pdq) << i;
    EXPECT_EQ(got.source, list[i].source) << i;
    EXPECT_EQ(got.enabled, list[i].enabled) << i;
    EXPECT_EQ(got.bank_id, *b) << i;
  }
  // The scan a start reads (ListBankEntries gathers it): every entry of every bank once, in id
  // order, disabled ones too; it stops at the function's first error and returns it.
  auto other = store_->CreateBank({0, "csam", "csam", 31, "block", 0});
  ASSERT_TRUE(other.ok());
  auto theirs =
      store_->AddBankEntry({0, *other, std::string(64, 'e'), 90, "", "", "t", "", true, 0});
  ASSERT_TRUE(theirs.ok());
  std::vector<int64_t> order;
  int disabled = 0;
  ASSERT_TRUE(store_
                  ->ScanBankEntries([&](const BankEntryRecord& e) {
                    order.push_back(e.id);
                    disabled += e.enabled ? 0 : 1;
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(order.size(), 4u + list.size());
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  EXPECT_EQ(std::set<int64_t>(order.begin(), order.end()).size(), order.size());
  EXPECT_EQ(order.back(), *theirs);
  EXPECT_EQ(disabled, 1 + static_cast<int>((list.size() + 6) / 7));
  int calls = 0;
  const Status stop = store_->ScanBankEntries(
      [&](const BankEntryRecord&) { return ++calls == 5 ? DataLoss("stop here") : Status::Ok(); });
  EXPECT_EQ(stop.code(), StatusCode::kDataLoss);
  EXPECT_EQ(calls, 5);
}

TEST_P(StoreContract, ContentIsRecordedOncePerContentIdAndFoundByDigest) {
  auto a = store_->RecordContent(
      {0, "c1", "chat", "user", std::string(64, 'b'), 90, std::string(32, 'd'), "", "live", 0});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_GT(*a, 0);
  auto again = store_->RecordContent({0, "c1", "chat2", "user2", "", 0, "", "", "live", 0});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, -*a);  // already there: the same row, unchanged
  auto batch = store_->RecordContentBatch({{0, "c2", "chat", "u", "", 0, "", "", "live", 0},
                                           {0, "c1", "x", "y", "", 0, "", "", "live", 0},
                                           {0, "c2", "x", "y", "", 0, "", "", "live", 0}});
  ASSERT_TRUE(batch.ok());
  EXPECT_GT((*batch)[0], 0);
  EXPECT_EQ((*batch)[1], -*a);
  EXPECT_EQ((*batch)[2], -(*batch)[0]) << "a second of the same id in one batch";
  EXPECT_EQ(*store_->CountContent(), 2);
  EXPECT_EQ((*store_->ListContent())[0].chat_id, "chat");
  EXPECT_EQ((*store_->FindContent("c1"))->pdq, std::string(64, 'b'));
  EXPECT_FALSE(store_->FindContent("c9")->has_value());
  auto by_md5 = store_->FindContentByDigest(std::string(32, 'd'), "");
  ASSERT_EQ(by_md5->size(), 1u);
  EXPECT_EQ((*by_md5)[0].content_id, "c1");
  EXPECT_TRUE(store_->FindContentByDigest("", "")->empty()) << "an empty digest matches nothing";
  ASSERT_TRUE(store_->SetContentState(*a, "removed").ok());
  EXPECT_EQ((*store_->GetContent(*a))->state, "removed");
  EXPECT_EQ(store_->SetContentState(*a + 100, "removed").code(), StatusCode::kNotFound);
  int seen = 0;
  ASSERT_TRUE(store_
                  ->ScanContent([&](const ContentRecord&) {
                    ++seen;
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(seen, 2);
  // A large batch (a backfill's): every item answered in order, the one recorded before negated.
  std::vector<ContentRecord> many;
  for (int i = 0; i < 1200; ++i) many.push_back({0, "m" + std::to_string(i), "chat", "u"});
  many[700].content_id = "c2";
  auto big = store_->RecordContentBatch(many);
  ASSERT_TRUE(big.ok()) << big.status().ToString();
  ASSERT_EQ(big->size(), 1200u);
  EXPECT_EQ((*big)[700], (*batch)[2]);
  EXPECT_EQ(std::count_if(big->begin(), big->end(), [](int64_t id) { return id < 0; }), 1);
  EXPECT_EQ(std::set<int64_t>(big->begin(), big->end()).size(), 1200u);
  EXPECT_EQ((*store_->FindContent("m1199"))->id, (*big)[1199]);
  EXPECT_EQ((*store_->FindContent("m3"))->id, (*big)[3]);
  EXPECT_EQ(*store_->CountContent(), 2 + 1199);

  // A replica's load of some shards (PostgreSQL filters in SQL): exactly the records whose
  // ContentShardOf is one of them, every one once, in id order.
  for (const auto& shards : std::vector<std::vector<int>>{{0}, {1, 3}, {0, 1, 2, 3}, {}}) {
    std::set<std::string> want, got;
    ASSERT_TRUE(store_
                    ->ScanContent([&](const ContentRecord& c) {
                      if (std::count(shards.begin(), shards.end(), ContentShardOf(c.content_id, 4)))
                        want.insert(c.content_id);
                      return Status::Ok();
                    })
                    .ok());
    int64_t last = 0;
    size_t calls = 0;
    ASSERT_TRUE(store_
                    ->ScanContentShards(4, shards,
                                        [&](const ContentRecord& c) {
                                          EXPECT_GT(c.id, last) << "in id order";
                                          last = c.id;
                                          ++calls;
                                          got.insert(c.content_id);
                                          return Status::Ok();
                                        })
                    .ok());
    EXPECT_EQ(got, want);
    EXPECT_EQ(calls, got.size());
    if (shards.size() == 4) {
      EXPECT_EQ(got.size(), 1201u);
    }
  }
  // The shard function is MD5's first four bytes (PostgreSQL computes the same).
  EXPECT_EQ(ContentIdHash(""), 0xd41d8cd9u);
  EXPECT_EQ(ContentIdHash("upload-1"), 0x3d751e14u);
}

TEST_P(StoreContract, ConcurrentWritesAreAllCommittedWithDistinctIds) {
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> ids;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 50; ++i) {
        auto id = store_->RecordContent(
            {0, fmt::format("c{}", t * 1000 + i), "chat", "u", "", 0, "", "", "live", 0});
        ASSERT_TRUE(id.ok()) << id.status().ToString();
        auto a = store_->AppendAudit("test", "content.recorded", "{}");
        ASSERT_TRUE(a.ok()) << a.status().ToString();
        std::lock_guard lock(mu);
        ids.insert(*id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ids.size(), 400u);
  EXPECT_EQ(*store_->CountContent(), 400);
  auto n = VerifyAuditChain(*store_);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 400);
}

// The upload gate's record without a waiting thread, beside writes that wait: every record is
// answered once, durable when answered, with the id a waited RecordContent would give.
TEST_P(StoreContract, RecordsNobodyWaitsForAreAnsweredOnceAndDurablyBesideWaitedWrites) {
  constexpr int kAsync = 600;
  std::mutex mu;
  std::condition_variable cv;
  std::map<std::string, std::vector<int64_t>> answers;  // content id -> ids answered
  int answered = 0;
  auto record = [&](const std::string& id) {
    store_->RecordContentAsync({0, id, "chat", "u", "", 0, "", "", "live", 0},
                               [&, id](Result<int64_t> row) {
                                 std::lock_guard lock(mu);
                                 answers[id].push_back(row.ok() ? *row : 0);
                                 ++answered;
                                 cv.notify_all();
                               });
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAsync / 4; ++i) record(fmt::format("a{}-{}", t, i));
    });
  }
  // Waited writes between them: content, and audit records whose chain must stay whole.
  for (int i = 0; i < 40; ++i) {
    auto id =
        store_->RecordContent({0, fmt::format("w{}", i), "chat", "u", "", 0, "", "", "live", 0});
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ASSERT_TRUE(store_->AppendAudit("test", "content.recorded", "{}").ok());
  }
  for (auto& th : threads) th.join();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return answered == kAsync; }))
        << answered << " of " << kAsync << " records answered";
  }
  std::set<int64_t> rows;
  for (const auto& [id, got] : answers) {
    ASSERT_EQ(got.size(), 1u) << id << " answered " << got.size() << " times";
    ASSERT_GT(got[0], 0) << id;
    rows.insert(got[0]);
    auto c = store_->FindContent(id);
    ASSERT_TRUE(c.ok() && c->has_value()) << id << " not in the store when answered";
    EXPECT_EQ((*c)->id, got[0]) << id;
  }
  EXPECT_EQ(rows.size(), static_cast<size_t>(kAsync));
  EXPECT_EQ(*store_->CountContent(), kAsync + 40);
  // A content id recorded before: minus its row, as RecordContent answers.
  std::promise<Result<int64_t>> again;
  store_->RecordContentAsync({0, "w3", "chat2", "u2", "", 0, "", "", "live", 0},
                             [&](Result<int64_t> row) { again.set_value(std::move(row)); });
  auto got = again.get_future().get();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(-*got, (*store_->FindContent("w3"))->id);
  auto n = VerifyAuditChain(*store_);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 40);
}

// Documents kept only for a while are deleted by kind and age; their unique keys are free again.
TEST_P(StoreContract, DocumentsAreDeletedByKindAndAge) {
  auto first =
      store_->PutDocs({Doc("event", "k1", 0, "u1"), Doc("event", "k2"), Doc("keep", "k1")});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  env_.AdvanceMs(1000);
  const int64_t cut = env_.NowMs();
  ASSERT_TRUE(store_->PutDocs({Doc("event", "k1")}).ok());
  auto n = store_->DeleteDocs("event", cut);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  auto left = store_->FindDocs({.kind = "event"});
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 1u);
  EXPECT_EQ(left->front().created_ms, cut);
  EXPECT_EQ(store_->FindDocs({.kind = "keep"})->size(), 1u) << "another kind is untouched";
  EXPECT_FALSE(store_->GetDoc(first->at(0))->has_value());
  auto again = store_->PutDocs({Doc("event", "k1", 0, "u1")});
  ASSERT_TRUE(again.ok());
  EXPECT_GT(again->at(0), 0) << "the deleted document's unique key is free again";
  EXPECT_EQ(*store_->DeleteDocs("event", cut), 0);
}

// The rate budgets built on documents (the victims' form, clear looks, failed sign-ins).
TEST_P(StoreContract, EventsCountWithinTheirWindowPerWhoseAndOldOnesArePurgedOncePerPeriod) {
  EventWindow w(store_.get(), "rate", /*window_ms=*/10'000, /*purge_every_ms=*/5'000);
  const EventWindow::Of a{.state = "a"}, b{.state = "b"}, a_key7{.state = "a", .owner = 7};
  auto count = [&](const EventWindow::Of& who, int at_most = 100) {
    auto n = w.Count(who, env_.NowMs(), at_most);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  };
  ASSERT_TRUE(w.Add({a, a, b}, env_.NowMs()).ok());
  env_.AdvanceMs(6'000);
  ASSERT_TRUE(w.Add({a_key7}, env_.NowMs()).ok());
  EXPECT_EQ(count(a), 3) << "a state counts every owner's";
  EXPECT_EQ(count(a_key7), 1) << "an owner counts only its own";
  EXPECT_EQ(count(b), 1);
  EXPECT_EQ(count(a, 2), 2) << "counted no further than asked";
  EXPECT_EQ(count({.state = "c"}), 0);
  // The first three are 10 s old at 10 s: out of the window, though not yet deleted.
  env_.AdvanceMs(4'000);
  EXPECT_EQ(count(a), 1);
  EXPECT_EQ(count(b), 0);
  EXPECT_EQ(store_->FindDocs({.kind = "rate"})->size(), 4u);
  // A purge deletes them, once a period: the first Add purged (nothing old then), the second
  // came 6 s later and purged too; at 10 s the period since has not passed.
  EXPECT_FALSE(*w.Purge(env_.NowMs()));
  env_.AdvanceMs(1'000);
  auto purged = w.Purge(env_.NowMs());
  ASSERT_TRUE(purged.ok()) << purged.status().ToString();
  EXPECT_TRUE(*purged);
  EXPECT_EQ(store_->FindDocs({.kind = "rate"})->size(), 1u) << "only the event within the window";
  EXPECT_EQ(store_->FindDocs({.kind = "rate"})->front().owner, 7);
  // A second window on the same kind (another process) counts the same events.
  EventWindow other(store_.get(), "rate", 10'000);
  EXPECT_EQ(*other.Count(a_key7, env_.NowMs(), 100), 1);
  EXPECT_EQ(*other.Count(a_key7, env_.NowMs() + 5'000, 100), 0) << "its window passed";
}

TEST_P(StoreContract, DocumentsInsertReplaceAndTheirUniqueKeys) {
  auto ids =
      store_->PutDocs({Doc("request", "received", 7, "request:a"), Doc("request", "received", 7)});
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_EQ(ids->size(), 2u);
  EXPECT_GT((*ids)[0], 0);
  EXPECT_GT((*ids)[1], (*ids)[0]);
  auto got = store_->GetDoc((*ids)[0]);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->created_ms, 1'800'000'000'000) << "the store's time comes from its Env";
  EXPECT_EQ((*got)->ukey, "request:a");
  // An insert of a known unique key changes nothing and names the existing document, negated.
  auto again = store_->PutDocs({Doc("request", "other", 9, "request:a")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)[0], -(*ids)[0]);
  EXPECT_EQ((*store_->GetDoc((*ids)[0]))->state, "received");
  // Replacing: by id and kind; another kind or an unknown id is NotFound.
  DocRecord upd = **got;
  upd.state = "approved";
  upd.doc = R"({"x":2})";
  ASSERT_TRUE(store_->PutDocs({upd}).ok());
  EXPECT_EQ((*store_->GetDoc(upd.id))->doc, R"({"x":2})");
  upd.kind = "action";
  EXPECT_EQ(store_->PutDocs({upd}).status().code(), StatusCode::kNotFound);
  upd.kind = "request";
  upd.id = 999'999;
  EXPECT_EQ(store_->PutDocs({upd}).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(store_->GetDoc(999'999)->has_value());
}

TEST_P(StoreContract, ATransactionWithAFailedConditionWritesNothing) {
  auto row = store_->RecordContent({.content_id = "m-1", .chat_id = "chat", .uploader_id = "u"});
  ASSERT_TRUE(row.ok()) << row.status().ToString();
  ASSERT_EQ(*row, 1);
  auto ids = store_->PutDocs({Doc("request", "approved")});
  ASSERT_TRUE(ids.ok());
  const int64_t id = (*ids)[0];
  DocRecord next = store_->GetDoc(id)->value();
  next.state = "actioned";
  DocumentStore::Changes ch;
  ch.docs = {next, Doc("action", "pending", id, "remove:1:1")};
  ch.content_states = {{1, "removed"}};
  ch.audits = {{"system", "request.swept", "{}"}};
  ch.expect_states = {{id, "pending_review"}};  // it is approved: the condition fails
  auto r = store_->Transact(ch);
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status().ToString();
  EXPECT_EQ((*store_->GetDoc(id))->state, "approved");
  EXPECT_TRUE(store_->FindDocs({.kind = "action"})->empty());
  EXPECT_EQ((*store_->GetContent(1))->state, "live");
  EXPECT_TRUE(store_->ReadAudit(1, 10)->empty());
  // The same with the right condition: all of it.
  ch.expect_states = {{id, "approved"}};
  ASSERT_TRUE(store_->Transact(ch).ok());
  EXPECT_EQ((*store_->GetDoc(id))->state, "actioned");
  EXPECT_EQ(store_->FindDocs({.kind = "action"})->size(), 1u);
  EXPECT_EQ((*store_->GetContent(1))->state, "removed");
  EXPECT_EQ(store_->ReadAudit(1, 10)->size(), 1u);
  EXPECT_EQ(*VerifyAuditChain(*store_), 1);
}

TEST_P(StoreContract, QueriesFilterPageOrderAndCount) {
  for (int i = 0; i < 10; ++i) {
    env_.SetNowMs(1'000 + i);
    ASSERT_TRUE(
        store_->PutDocs({Doc("action", i % 2 ? "pending" : "acknowledged", i % 3, "", 100 - i)})
            .ok());
  }
  auto pending = store_->FindDocs({.kind = "action", .state = "pending"});
  ASSERT_EQ(pending->size(), 5u);
  for (const auto& d : *pending) EXPECT_EQ(d.state, "pending");
  auto by_due =
      store_->FindDocs({.kind = "action", .state = "pending", .due_before = 95, .by_due = true});
  ASSERT_EQ(by_due->size(), 3u);  // due 91, 93, 95
  EXPECT_EQ((*by_due)[0].due_ms, 91);
  EXPECT_EQ((*by_due)[2].due_ms, 95);
  auto page = store_->FindDocs({.kind = "action", .after_id = (*pending)[1].id, .limit = 2});
  ASSERT_EQ(page->size(), 2u);
  EXPECT_GT((*page)[0].id, (*pending)[1].id);
  EXPECT_EQ(store_->FindDocs({.kind = "action", .owner = 0})->size(), 4u);
  EXPECT_EQ(
      store_->FindDocs({.kind = "action", .created_from = 1'003, .created_to = 1'006})->size(), 3u);
  auto c = store_->CountDocs("action", "pending");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->count, 5);
  EXPECT_EQ(c->oldest_created_ms, 1'001);
  EXPECT_EQ(c->earliest_due_ms, 91);
  EXPECT_EQ(store_->CountDocs("action", "failed")->count, 0);
  EXPECT_EQ(*store_->CountDue("action", "pending", 95), 3);
  EXPECT_EQ(*store_->CountDue("action", "pending", 90), 0);
  // Every document a query finds, a page of 2 at a time, in id order; the first error stops it.
  std::vector<int64_t> each;
  ASSERT_TRUE(store_
                  ->ForEachDoc({.kind = "action", .state = "pending", .limit = 2},
                               [&](const DocRecord& d) {
                                 each.push_back(d.id);
                                 return Status::Ok();
                               })
                  .ok());
  std::vector<int64_t> want;
  for (const auto& d : *pending) want.push_back(d.id);
  EXPECT_EQ(each, want);
  int seen = 0;
  Status st = store_->ForEachDoc({.kind = "action", .limit = 3}, [&](const DocRecord&) {
    return ++seen == 4 ? DataLoss("the fourth") : Status::Ok();
  });
  EXPECT_EQ(st.code(), StatusCode::kDataLoss);
  EXPECT_EQ(seen, 4) << "stopped at the first error, in the second page";
  EXPECT_EQ(store_
                ->ForEachDoc({.kind = "action", .by_due = true},
                             [](const DocRecord&) { return Status::Ok(); })
                .code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreContract, ClaimedWorkIsLeasedUntilItsLeaseRunsOut) {
  // Due at 10..50; one in another state; one of another kind.
  std::vector<int64_t> ids;
  for (int64_t due : {50, 10, 30, 20, 40}) {
    auto id = store_->PutDocs({Doc("action", "pending", 0, "", due)});
    ASSERT_TRUE(id.ok()) << id.status().ToString();
    ids.push_back((*id)[0]);
  }
  ASSERT_TRUE(store_->PutDocs({Doc("action", "acknowledged", 0, "", 1)}).ok());
  ASSERT_TRUE(store_->PutDocs({Doc("mail_out", "pending", 0, "", 1)}).ok());
  // Due at or before 35, earliest first, at most 2: due 10 and 20, returned by id.
  auto first = store_->ClaimDocs("action", "pending", 35, 1'000, 2);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[1]);
  EXPECT_EQ((*first)[1].id, ids[3]);
  for (const auto& d : *first) {
    EXPECT_EQ(d.due_ms, 1'000) << "returned as stored after the claim";
    EXPECT_EQ(d.state, "pending");
    EXPECT_EQ(d.doc, R"({"x":1})");
    EXPECT_EQ((*store_->GetDoc(d.id))->due_ms, 1'000);
  }
  // Claimed ones are not due again until their lease runs out: the next claim gets due 30 only.
  auto second = store_->ClaimDocs("action", "pending", 35, 2'000, 10);
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->size(), 1u);
  EXPECT_EQ((*second)[0].id, ids[2]);
  // At 999: the unclaimed ones due at 40 and 50, not the two leased until 1000.
  auto later = store_->ClaimDocs("action", "pending", 999, 3'000, 10);
  ASSERT_TRUE(later.ok());
  std::set<int64_t> got;
  for (const auto& d : *later) got.insert(d.id);
  EXPECT_EQ(got, (std::set<int64_t>{ids[0], ids[4]}));
  // A claimer that died: at 1000 the first claim's two come back.
  auto again = store_->ClaimDocs("action", "pending", 1'000, 4'000, 3);
  ASSERT_TRUE(again.ok());
  got.clear();
  for (const auto& d : *again) got.insert(d.id);
  EXPECT_EQ(got, (std::set<int64_t>{ids[1], ids[3]}));
  EXPECT_TRUE(store_->ClaimDocs("action", "pending", 1'999, 5'000, 10)->empty());
  EXPECT_EQ(store_->ClaimDocs("mail_out", "pending", 5, 6'000, 10)->size(), 1u);
}

TEST_P(StoreContract, ConcurrentClaimersNeverGetTheSameDocument) {
  std::vector<DocRecord> docs;
  for (int i = 0; i < 300; ++i) docs.push_back(Doc("action", "pending", 0, "", i % 7));
  ASSERT_TRUE(store_->PutDocs(docs).ok());
  std::mutex mu;
  std::multiset<int64_t> claimed;
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&] {
      for (;;) {
        auto c = store_->ClaimDocs("action", "pending", 100, 1'000'000, 7);
        ASSERT_TRUE(c.ok()) << c.status().ToString();
        if (c->empty()) return;
        std::lock_guard lock(mu);
        for (const auto& d : *c) claimed.insert(d.id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(claimed.size(), 300u) << "every document claimed";
  EXPECT_EQ(std::set<int64_t>(claimed.begin(), claimed.end()).size(), 300u) << "none claimed twice";
}

TEST_P(StoreContract, DocumentsOrderByAFieldHighestFirstThenDue) {
  const std::vector<std::pair<int, int64_t>> docs = {{1, 10}, {2, 30}, {1, 5}, {2, 20}, {0, 1}};
  for (const auto& [priority, due] : docs) {
    DocRecord d = Doc("request", "pending_review", 0, "", due);
    d.doc = priority == 0 ? R"({"x":1})" : R"({"priority":)" + std::to_string(priority) + "}";
    ASSERT_TRUE(store_->PutDocs({d}).ok());
  }
  auto q = store_->FindDocs({.kind = "request",
                             .state = "pending_review",
                             .limit = 3,
                             .by_due = true,
                             .desc_field = "priority"});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::vector<int64_t> due;
  for (const auto& d : *q) due.push_back(d.due_ms);
  EXPECT_EQ(due, (std::vector<int64_t>{20, 30, 5})) << "priority 2 by due, then priority 1";
  EXPECT_FALSE(store_->FindDocs({.kind = "request", .by_due = true, .desc_field = "x') --"}).ok());
}

TEST_P(StoreContract, EvidenceExpiresAndKeysAreFoundById) {
  ASSERT_TRUE(store_->PutEvidence({1, 0, "nonce", "box", 5'000}).ok());
  ASSERT_TRUE(store_->PutEvidence({1, 1, "nonce", "box", 9'000}).ok());
  EXPECT_EQ((*store_->GetEvidence(1, 0))->data, "box");
  EXPECT_EQ(*store_->DeleteExpiredEvidence(5'000), 1);
  EXPECT_FALSE(store_->GetEvidence(1, 0)->has_value());
  EXPECT_TRUE(store_->GetEvidence(1, 1)->has_value());
  // A request's media deleted at once (staged for hashing, not kept); another request's stays.
  ASSERT_TRUE(store_->PutEvidence({2, 0, "nonce", "box", 9'000}).ok());
  EXPECT_EQ(*store_->DeleteEvidence(1), 1);
  EXPECT_FALSE(store_->GetEvidence(1, 1)->has_value());
  EXPECT_TRUE(store_->GetEvidence(2, 0)->has_value());
  EXPECT_EQ(*store_->DeleteEvidence(1), 0);
  // Kept longer (a hold): the expiry only ever moves later; deleted media is not brought back.
  ASSERT_TRUE(*store_->ExtendEvidence(2, 0, 20'000));
  ASSERT_TRUE(*store_->ExtendEvidence(2, 0, 12'000)) << "stored, and kept until 20,000";
  EXPECT_EQ((*store_->GetEvidence(2, 0))->expires_ms, 20'000);
  EXPECT_EQ((*store_->GetEvidence(2, 0))->data, "box");
  EXPECT_FALSE(*store_->ExtendEvidence(1, 1, 30'000));
  EXPECT_FALSE(store_->GetEvidence(1, 1)->has_value());
  EXPECT_EQ(*store_->DeleteExpiredEvidence(19'999), 0);
  auto k = store_->CreateKey({0, "kcsc", "requester", "hash-1", 0, false});
  ASSERT_TRUE(k.ok());
  auto got = store_->GetKey(*k);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->name, "kcsc");
  EXPECT_FALSE(store_->GetKey(*k + 100)->has_value());
}

TEST_P(StoreContract, BankNamesAreUniqueAndASecondIsAConflict) {
  auto b = store_->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto again = store_->CreateBank({0, "ncii", "csam", 20, "block", 0});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);  // 409, not 400
  EXPECT_NE(again.status().message().find("'ncii'"), std::string::npos);
}

TEST_P(StoreContract, BankEntriesAreFoundByIdDisabledOnesToo) {
  auto b = store_->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(b.ok());
  BankEntryRecord e;
  e.bank_id = *b;
  e.pdq = std::string(64, 'a');
  e.quality = 90;
  e.sha256 = std::string(64, 'b');
  e.request_id = "7";
  auto id = store_->AddBankEntry(e);
  ASSERT_TRUE(id.ok());
  ASSERT_TRUE(store_->SetBankEntryEnabled(*id, false).ok());
  auto got = store_->GetBankEntry(*id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->pdq, e.pdq);
  EXPECT_EQ((*got)->sha256, e.sha256);
  EXPECT_EQ((*got)->request_id, "7");
  EXPECT_FALSE((*got)->enabled);
  EXPECT_FALSE(store_->GetBankEntry(*id + 100)->has_value());
}

// An import asks the store which of its entries a bank already holds (BankStore::HasBankEntries):
// by the identity of their PDQ, MD5 and SHA-256, and for a video known only by its frames by those
// frames, in that bank only, disabled entries too.
TEST_P(StoreContract, BankEntriesAreKnownByTheirSignalsInTheirOwnBankOnly) {
  auto b = store_->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  auto other = store_->CreateBank({0, "csam", "csam", 31, "block", 0});
  ASSERT_TRUE(b.ok() && other.ok());
  auto entry = [&](std::string pdq, std::string md5, std::string sha256, std::string video) {
    BankEntryRecord e;
    e.bank_id = *b;
    e.pdq = std::move(pdq);
    e.quality = e.pdq.empty() ? 0 : 90;
    e.md5 = std::move(md5);
    e.sha256 = std::move(sha256);
    e.video = std::move(video);
    e.source = "list";
    return e;
  };
  const std::string p1(64, 'a'), p2(64, 'c'), m1(32, 'd'), s1(64, 'e');
  const std::string frames = R"({"frames":[{"pdq":"0f","q":100,"t":0}]})";
  std::vector<BankEntryRecord> stored = {
      entry(p1, "", "", ""),           // a plain PDQ
      entry("", m1, "", ""),           // an MD5 only
      entry(p2, "", s1, ""),           // a PDQ and its file's SHA-256
      entry("", "", "", frames),       // a video known only by its frames
      entry(p1, m1, "", "{\"x\":1}"),  // a video with a PDQ: its frames are not its identity
  };
  auto ids = store_->AddBankEntries(stored);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  ASSERT_TRUE(store_->SetBankEntryEnabled(ids->at(1), false).ok());  // disabled: still known

  BankEntryRecord same_pdq = entry(p1, "", "", "");
  same_pdq.quality = 40;
  same_pdq.source = "another list";
  same_pdq.robust = R"({"norm":"x"})";  // fields outside the identity do not matter
  std::vector<BankEntryRecord> asked = {
      same_pdq,                         // known
      entry("", m1, "", ""),            // known (disabled)
      entry(p2, "", s1, ""),            // known
      entry(p2, "", "", ""),            // not: that PDQ is stored only with a SHA-256
      entry("", "", s1, ""),            // not: the same SHA-256 alone
      entry("", "", "", frames),        // known: the same frames
      entry("", "", "", frames + " "),  // not: other frames
      entry(p1, m1, "", "{\"x\":2}"),   // known: its PDQ and MD5 are its identity
      entry(p1, "", "", ""),            // known: asked twice in one list
  };
  auto known = store_->HasBankEntries(*b, asked);
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  EXPECT_EQ(*known, (std::vector<bool>{true, true, true, false, false, true, false, true, true}));
  auto elsewhere = store_->HasBankEntries(*other, asked);
  ASSERT_TRUE(elsewhere.ok());
  EXPECT_EQ(*elsewhere, std::vector<bool>(asked.size(), false));
  auto none = store_->HasBankEntries(*b, {});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());

  // A list longer than one statement's worth (PostgreSQL asks 500 a statement): every stored
  // one is found wherever it falls, the others not.
  std::vector<BankEntryRecord> many;
  std::vector<BankEntryRecord> more;
  for (int i = 0; i < 1203; ++i) {
    char pdq[65];
    std::snprintf(pdq, sizeof pdq, "%064x", i + 1);
    many.push_back(entry(pdq, "", "", ""));
    if (i % 3 == 0) more.push_back(many.back());
  }
  ASSERT_TRUE(store_->AddBankEntries(more).ok());
  auto found = store_->HasBankEntries(*b, many);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_EQ(found->size(), many.size());
  for (size_t i = 0; i < many.size(); ++i) EXPECT_EQ((*found)[i], i % 3 == 0) << i;
}

TEST_P(StoreContract, BankEntriesAreSearchedByHashPrefixStateAndPage) {
  auto b = store_->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  auto other = store_->CreateBank({0, "csam", "csam", 31, "block", 0});
  ASSERT_TRUE(b.ok() && other.ok());
  std::vector<int64_t> ids;
  for (const char* h : {"ab", "ac", "bd"}) {
    BankEntryRecord e;
    e.bank_id = *b;
    e.md5 = std::string(h) + std::string(30, '0');
    ids.push_back(*store_->AddBankEntry(e));
  }
  BankEntryRecord pdq;
  pdq.bank_id = *b;
  pdq.pdq = "ab" + std::string(62, '1');
  ids.push_back(*store_->AddBankEntry(pdq));
  BankEntryRecord elsewhere;
  elsewhere.bank_id = *other;
  elsewhere.md5 = "ab" + std::string(30, '0');
  ASSERT_TRUE(store_->AddBankEntry(elsewhere).ok());
  ASSERT_TRUE(store_->SetBankEntryEnabled(ids[1], false).ok());
  auto find = [&](BankEntryQuery q) {
    q.bank_id = *b;
    std::vector<int64_t> out;
    const auto found = store_->FindBankEntries(q);
    EXPECT_TRUE(found.ok()) << found.status().ToString();
    if (found.ok()) {
      for (const auto& e : *found) out.push_back(e.id);
    }
    return out;
  };
  EXPECT_EQ(find({}), ids);
  EXPECT_EQ(find({.prefix = "ab"}), (std::vector<int64_t>{ids[0], ids[3]})) << "md5 and pdq";
  EXPECT_EQ(find({.prefix = "a"}), (std::vector<int64_t>{ids[0], ids[1], ids[3]}));
  EXPECT_EQ(find({.prefix = "a", .enabled = false}), (std::vector<int64_t>{ids[1]}));
  EXPECT_EQ(find({.prefix = "a", .enabled = true, .after_id = ids[0], .limit = 1}),
            (std::vector<int64_t>{ids[3]}));
  EXPECT_TRUE(find({.prefix = "ff"}).empty());
}

Result<std::unique_ptr<Store>> OpenSqlite(const std::string& dir, Env* env) {
  return OpenSqliteStore(dir + "/db", env);
}

// One server for this process (each test is a process of its own under ctest), a new database
// for each test.
Result<std::unique_ptr<Store>> OpenPostgres(const std::string&, Env* env) {
  auto server = testing::TempPostgres::Shared();
  if (!server.ok()) {
    if (server.status().code() == StatusCode::kNotFound)
      return Unsupported(server.status().message());
    return server.status();
  }
  TD_ASSIGN_OR_RETURN(auto url, (*server)->CreateDatabase());
  return OpenPostgresStore(url, env);
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreContract,
                         ::testing::Values(Backend{"sqlite", &OpenSqlite},
                                           Backend{"postgres", &OpenPostgres},
                                           Backend{"memory",
                                                   [](const std::string&, Env* env) {
                                                     return Result<std::unique_ptr<Store>>(
                                                         OpenMemoryStore(env));
                                                   }}),
                         [](const auto& info) { return info.param.name; });

TEST(SqliteOpen, WithoutCreateAMissingPathIsNotFoundAndNothingIsMade) {
  const std::string dir = testing::MakeTempDir();
  auto s = OpenSqliteStore(dir + "/nowhere.db", nullptr, /*create=*/false);
  EXPECT_EQ(s.status().code(), StatusCode::kNotFound);
  EXPECT_NE(s.status().message().find("nowhere.db"), std::string::npos) << s.status().message();
  EXPECT_FALSE(std::filesystem::exists(dir + "/nowhere.db"));
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace takedown::store
