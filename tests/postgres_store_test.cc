// What is the PostgreSQL store's own (its contract with the others is store_contract_test.cc):
// schema versions (a newer database refused by name, two processes migrating one new database at
// once), several processes on one database writing one audit chain, tampering found, a restart
// of PostgreSQL losing nothing committed, binary evidence whole, and clear errors.
//
// The server is this test process's own (tests/support/postgres_server.h); where PostgreSQL is
// not installed these tests are skipped, saying so.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "store/store.h"
#include "support/postgres_fixture.h"

namespace takedown::store {
namespace {

// Another connection's transaction, begun with a content row inserted and left open until
// Commit: its change's seq is lower than those written meanwhile, yet it commits after them.
class OpenTransaction {
 public:
  OpenTransaction(const std::string& url, const std::string& content_id)
      : conn_(PQconnectdb(url.c_str())) {
    ok_ = PQstatus(conn_) == CONNECTION_OK && Exec("BEGIN") &&
          Exec(
              "INSERT INTO content(content_id, chat_id, uploader_id, pdq, quality, md5, sha256, "
              "state, created_ms) VALUES('" +
              content_id + "', '', '', '', 0, 'aa', '', 'live', 0)");
  }
  ~OpenTransaction() { PQfinish(conn_); }
  OpenTransaction(const OpenTransaction&) = delete;
  OpenTransaction& operator=(const OpenTransaction&) = delete;
  bool ok() const { return ok_; }
  bool Commit() { return Exec("COMMIT"); }

 private:
  bool Exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    const auto st = PQresultStatus(r);
    PQclear(r);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
  }
  PGconn* conn_;
  bool ok_ = false;
};

class PostgresStoreTest : public testing::PostgresDatabaseTest {
 protected:
  std::unique_ptr<Store> Open() {
    auto s = OpenPostgresStore(url_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s).value() : nullptr;
  }
};

TEST_F(PostgresStoreTest, ASchemaNewerThanThisBuildIsRefusedByName) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  ASSERT_TRUE(s->CreateBank({0, "ncii", "ncii", 31, "block", 0}).ok());
  s.reset();
  ASSERT_TRUE(pg_->Sql(url_, "UPDATE schema_version SET version = 99").ok());
  auto again = OpenPostgresStore(url_);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kUnsupported);
  EXPECT_NE(again.status().message().find("schema is version 99, newer than this build"),
            std::string::npos)
      << again.status().message();
  // Put back (this build's version: 7), the data is all there.
  ASSERT_TRUE(pg_->Sql(url_, "UPDATE schema_version SET version = 7").ok());
  auto back = Open();
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back->ListBanks()->size(), 1u);
}

// A database made before bank entries had a stored identity gets one for each entry from
// migration 4 (its SQL function, which must agree with BankEntryIdentity): an import then knows
// them without reading the bank.
TEST_F(PostgresStoreTest, EntriesStoredBeforeTheIdentityColumnAreKnownAfterTheMigration) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  auto b = s->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(b.ok());
  s.reset();
  // Back to schema 3 (its row triggers, no identity), with entries written as it wrote them.
  ASSERT_TRUE(
      pg_->Sql(url_,
               "DROP TRIGGER shard_query_added ON docs; DROP TRIGGER shard_answer_added ON "
               "docs; DROP FUNCTION takedown_notice; "
               "DROP TRIGGER entries_added ON bank_entries; DROP TRIGGER content_added ON "
               "content; DROP FUNCTION takedown_changes_of; CREATE TRIGGER entries_added "
               "AFTER INSERT ON bank_entries FOR EACH ROW EXECUTE FUNCTION "
               "takedown_change('entry', 'notify'); CREATE TRIGGER content_added AFTER "
               "INSERT ON content FOR EACH ROW EXECUTE FUNCTION takedown_change('content'); "
               "ALTER TABLE content DROP COLUMN shard_hash; "
               "ALTER TABLE bank_entries DROP COLUMN ident; DROP FUNCTION "
               "takedown_entry_identity; UPDATE schema_version SET version = 3; "
               "INSERT INTO bank_entries(bank_id, pdq, quality, md5, sha256, source, "
               "request_id, enabled, created_ms, video, robust) VALUES (" +
                   std::to_string(*b) + ", '" + std::string(64, 'a') +
                   "', 90, '', '', 'old', '', true, 0, '', ''), (" + std::to_string(*b) +
                   ", '', 0, '', '', 'old', '', true, 0, '{\"frames\":[]}', '')")
          .ok());
  auto again = Open();
  ASSERT_NE(again, nullptr);
  BankEntryRecord pdq, frames, other;
  pdq.pdq = std::string(64, 'a');
  frames.video = R"({"frames":[]})";
  other.pdq = std::string(64, 'b');
  auto known = again->HasBankEntries(*b, {pdq, frames, other});
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  EXPECT_EQ(*known, (std::vector<bool>{true, true,
                                       false}));  // Migration 5's statement triggers log what
                                                  // schema 3's row triggers did: each entry of a
  // multi-row insert once, in id order.
  auto other_process = Open();
  ASSERT_NE(other_process, nullptr);
  ChangeFeed* feed = again->changes();
  ASSERT_NE(feed, nullptr);
  ASSERT_TRUE(feed->StartFeed().ok());
  std::vector<BankEntryRecord> list(3);
  for (size_t i = 0; i < list.size(); ++i) {
    list[i].bank_id = *b;
    list[i].md5 = std::string(31, 'a') + std::to_string(i);
  }
  auto ids = other_process->AddBankEntries(list);
  ASSERT_TRUE(ids.ok()) << ids.status().ToString();
  auto changes = feed->ReadChanges(100);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  std::vector<int64_t> refs;
  for (const auto& c : *changes) {
    if (c.kind == "entry") refs.push_back(c.ref);
  }
  EXPECT_EQ(refs, *ids);
}

// The change log replicas follow: what another store (process) changed comes back once, with its
// record; this store's own changes are marked own (and carry no record, except state changes);
// a transaction that committed after a later-numbered one is not skipped; StartFeed leaves out
// what was committed before it.
TEST_F(PostgresStoreTest, TheChangeLogReturnsEveryOtherWriteOnceWhateverOrderTheyCommitIn) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ChangeFeed* feed = a->changes();
  ASSERT_NE(feed, nullptr);
  auto bank = b->CreateBank({0, "before", "ncii", 31, "block", 0});
  ASSERT_TRUE(bank.ok());
  EXPECT_FALSE(feed->ReadChanges(100).ok()) << "read before StartFeed";
  ASSERT_TRUE(feed->StartFeed().ok());
  auto none = feed->ReadChanges(100);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_TRUE(none->empty()) << "the bank made before StartFeed came back";

  // A transaction opened now and committed last: its content row's seq is lower than the rows
  // written meanwhile.
  OpenTransaction long_txn(url_, "late");
  ASSERT_TRUE(long_txn.ok());

  auto entry = b->AddBankEntry({0, *bank, std::string(64, 'a'), 100, "", "", "test", "", true, 0});
  ASSERT_TRUE(entry.ok());
  auto row = b->RecordContent({0, "c1", "chat", "u", std::string(64, 'b'), 100, "", "", "live", 0});
  ASSERT_TRUE(row.ok());
  ASSERT_TRUE(b->SetBankEntryEnabled(*entry, false).ok());
  DocumentStore::Changes ch;
  ch.docs.push_back({0, "gate_block", *row, "blocked", 0, "block:1", 0, R"({"content_id":"c1"})"});
  auto blocked = b->Transact(ch);
  ASSERT_TRUE(blocked.ok());
  auto own = a->RecordContent({0, "mine", "", "", std::string(64, 'c'), 100, "", "", "live", 0});
  ASSERT_TRUE(own.ok());

  auto got = feed->ReadChanges(100);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::vector<std::string> kinds;
  for (const auto& c : *got) kinds.push_back(c.kind + (c.own ? "(own)" : ""));
  EXPECT_EQ(kinds,
            (std::vector<std::string>{"entry", "content", "entry_state", "block", "content(own)"}));
  ASSERT_EQ(got->size(), 5u);
  ASSERT_TRUE((*got)[0].entry.has_value());
  // The record as of the read: the entry is disabled by then.
  EXPECT_EQ((*got)[0].entry->pdq, std::string(64, 'a'));
  EXPECT_FALSE((*got)[0].entry->enabled);
  ASSERT_TRUE((*got)[1].content.has_value());
  EXPECT_EQ((*got)[1].content->content_id, "c1");
  ASSERT_TRUE((*got)[3].doc.has_value());
  EXPECT_EQ((*got)[3].doc->kind, "gate_block");
  EXPECT_FALSE((*got)[4].content.has_value()) << "an own change carries no record";
  for (size_t i = 1; i < got->size(); ++i) EXPECT_LT((*got)[i - 1].seq, (*got)[i].seq);

  // Read again: nothing twice. Then the long transaction commits: its row comes, though its seq
  // is lower than those read before.
  auto again = feed->ReadChanges(100);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  ASSERT_TRUE(long_txn.Commit());
  auto late = feed->ReadChanges(100);
  ASSERT_TRUE(long_txn.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ((*late)[0].kind, "content");
  EXPECT_LT((*late)[0].seq, (*got)[1].seq);
  ASSERT_TRUE((*late)[0].content.has_value());
  EXPECT_EQ((*late)[0].content->content_id, "late");

  // Pruning by age: nothing is that old yet; everything is older than 0 ms.
  auto kept = feed->PruneChanges(3'600'000);
  ASSERT_TRUE(kept.ok()) << kept.status().ToString();
  EXPECT_EQ(*kept, 0);
  auto pruned = feed->PruneChanges(0);
  ASSERT_TRUE(pruned.ok());
  EXPECT_GT(*pruned, 0);
}

// A reader far behind reads its backlog in pages of at most max, in seq order: none skipped or
// repeated, though a transaction that was open when the backlog's first page was read commits
// between pages, and changes keep coming while it pages.
// A reader's interest (ChangeFeed::SetInterest): a holder of content shard 1 of 2 without the
// bank gets every change, in order, but the records of its own shard's content rows only.
TEST_F(PostgresStoreTest, AFeedReadsTheRecordsItsReaderHoldsAndPassesTheRestWithout) {
  auto writer = Open();
  auto reader = Open();
  ASSERT_TRUE(writer && reader);
  ChangeFeed* feed = reader->changes();
  feed->SetInterest({/*entries=*/false, /*shards_total=*/2, /*shards=*/{1}});
  ASSERT_TRUE(feed->StartFeed().ok());
  auto bank = writer->CreateBank({0, "list", "ncii", 31, "block", 0});
  ASSERT_TRUE(bank.ok());
  BankEntryRecord e;
  e.bank_id = *bank;
  e.md5 = std::string(32, 'a');
  ASSERT_TRUE(writer->AddBankEntry(e).ok());
  std::map<int64_t, int> shard_of;  // content row -> its shard
  for (int i = 0; i < 12; ++i) {
    const std::string id = fmt::format("item-{}", i);
    auto row =
        writer->RecordContent({0, id, "chat", "u", std::string(64, 'b'), 100, "", "", "live", 0});
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    shard_of[*row] = ContentShardOf(id, 2);
  }
  std::set<int> shards;
  for (const auto& [row, shard] : shard_of) shards.insert(shard);
  ASSERT_EQ(shards.size(), 2u) << "the ids fall in one shard only";
  auto changes = feed->ReadChanges(100);
  ASSERT_TRUE(changes.ok()) << changes.status().ToString();
  ASSERT_EQ(changes->size(), 1u + 1u + shard_of.size());  // nothing left out of the order
  for (const auto& ch : *changes) {
    if (ch.kind == "bank") {
      EXPECT_TRUE(ch.bank.has_value());
    } else if (ch.kind == "entry") {
      EXPECT_FALSE(ch.entry.has_value()) << "an entry's record, read by a reader without the bank";
    } else {
      ASSERT_EQ(ch.kind, "content");
      EXPECT_EQ(ch.content.has_value(), shard_of.at(ch.ref) == 1) << "row " << ch.ref;
    }
  }
}

// A start reads entries in pages of 10,000 by the primary key and its content shards in windows
// of 10,000 ids: rows whose ids jump past whole pages and windows (a sequence skips after a
// rolled-back batch or a restore) are each read once, in order; a jump of a trillion ids costs
// one lookup (a window at a time it would never end).
TEST_F(PostgresStoreTest, AStartsScansCrossEmptyWindowsOfIdsAndReadEachRowOnce) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  auto bank = s->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(bank.ok());
  std::vector<int64_t> added;
  std::vector<std::string> contents;
  // The last jump is past a trillion ids: crossed with one lookup, not 10^8 empty windows.
  for (const int64_t restart :
       {int64_t{0}, int64_t{10000}, int64_t{34567}, int64_t{90001}, int64_t{1'000'000'000'000}}) {
    if (restart > 0) {
      ASSERT_TRUE(pg_->Sql(url_, fmt::format("ALTER TABLE bank_entries ALTER COLUMN id RESTART "
                                             "WITH {0}; ALTER TABLE content ALTER COLUMN id "
                                             "RESTART WITH {0}",
                                             restart))
                      .ok());
    }
    for (int i = 0; i < 3; ++i) {
      auto e = s->AddBankEntry(
          {0, *bank, fmt::format("{:064x}", added.size() + 1), 90, "", "", "t", "", i != 1, 0});
      ASSERT_TRUE(e.ok()) << e.status().ToString();
      added.push_back(*e);
      contents.push_back(fmt::format("c{}", contents.size()));
      ASSERT_TRUE(s->RecordContent({0, contents.back(), "chat", "u"}).ok());
    }
  }
  ASSERT_EQ(added[3], 10000);
  std::vector<int64_t> scanned;
  ASSERT_TRUE(s->ScanBankEntries([&](const BankEntryRecord& e) {
                 scanned.push_back(e.id);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(scanned, added);
  // Every content shard of 2 together: each row once, in id order.
  std::vector<std::string> got;
  int64_t last = 0;
  ASSERT_TRUE(s->ScanContentShards(2, {0, 1}, [&](const ContentRecord& c) {
                 EXPECT_GT(c.id, last);
                 last = c.id;
                 got.push_back(c.content_id);
                 return Status::Ok();
               }).ok());
  EXPECT_EQ(got, contents);
}

// Migration 7: a content row's shard hash is stored with it, and a holder's start filters on it;
// rows recorded before the migration (no stored hash) are hashed when read. Every shard's scan
// returns exactly the rows ContentShardOf gives it, old and new alike, in id order.
TEST_F(PostgresStoreTest, ContentRowsFromBeforeTheShardColumnAndAfterLandInTheirShards) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  s.reset();
  // Back to schema 6, with 40 rows written as it wrote them (no shard hash).
  std::string values;
  for (int i = 0; i < 40; ++i) {
    values += fmt::format("{}('old-{}', 'chat', 'u', '', 0, '', '', 'live', 0)", i ? "," : "", i);
  }
  ASSERT_TRUE(pg_->Sql(url_,
                       "ALTER TABLE content DROP COLUMN shard_hash; UPDATE schema_version "
                       "SET version = 6; INSERT INTO content(content_id, chat_id, "
                       "uploader_id, pdq, quality, md5, sha256, state, created_ms) VALUES " +
                           values)
                  .ok());
  auto again = Open();
  ASSERT_NE(again, nullptr);
  std::vector<ContentRecord> batch;
  for (int i = 0; i < 40; ++i) batch.push_back({0, fmt::format("new-{}", i), "chat", "u"});
  ASSERT_TRUE(again->RecordContentBatch(batch).ok());
  ASSERT_TRUE(again->RecordContent({0, "new-one", "chat", "u"}).ok());
  // The new rows carry the hash the store computes, equal to SQL's MD5 of their id (a division
  // by zero otherwise); the old ones none.
  Status stored = pg_->Sql(
      url_,
      "SELECT 1 / (CASE WHEN (SELECT count(*) FROM content WHERE content_id LIKE 'new-%' AND "
      "shard_hash = ('x' || substr(md5(content_id), 1, 8))::bit(32)::bigint) = 41 AND (SELECT "
      "count(*) FROM content WHERE content_id LIKE 'old-%' AND shard_hash IS NULL) = 40 THEN 1 "
      "ELSE 0 END)");
  EXPECT_TRUE(stored.ok()) << "new rows hashed on insert as SQL hashes, old ones left as they "
                              "were: "
                           << stored.ToString();
  for (const int total : {3, 4}) {
    std::vector<std::string> whole;
    for (int shard = 0; shard < total; ++shard) {
      std::vector<std::string> got, want;
      int64_t last = 0;
      ASSERT_TRUE(again
                      ->ScanContentShards(total, {shard},
                                          [&](const ContentRecord& c) {
                                            EXPECT_GT(c.id, last);
                                            last = c.id;
                                            got.push_back(c.content_id);
                                            return Status::Ok();
                                          })
                      .ok());
      ASSERT_TRUE(again
                      ->ScanContent([&](const ContentRecord& c) {
                        if (ContentShardOf(c.content_id, total) == shard)
                          want.push_back(c.content_id);
                        return Status::Ok();
                      })
                      .ok());
      EXPECT_EQ(got, want) << "shard " << shard << " of " << total;
      EXPECT_FALSE(got.empty());
      whole.insert(whole.end(), got.begin(), got.end());
    }
    EXPECT_EQ(whole.size(), 81u) << "every row in one shard of " << total;
  }
}

// A content shard query or answer wakes the processes listening for it when its transaction
// commits (store.h NoticeWaiter); other documents wake nobody; a notice that came while nobody
// waited is there for the next wait; a waiter newly listening reports every channel (it cannot
// know what it missed); a channel that is not a plain name is refused.
TEST_F(PostgresStoreTest, ShardQueriesAndAnswersWakeTheirListenersWhenCommitted) {
  using std::chrono::milliseconds;
  auto s = Open();
  ASSERT_NE(s, nullptr);
  const std::string queries(kShardQueryChannel), answers(kShardAnswerChannel);
  auto w = OpenNoticeWaiter(url_, {queries, answers});
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_EQ((*w)->Wait(milliseconds(10)), (std::vector<std::string>{queries, answers}));
  EXPECT_TRUE((*w)->Wait(milliseconds(50)).empty());
  auto doc = [](const std::string& kind) {
    DocRecord d;
    d.kind = kind;
    d.state = "open";
    d.doc = "{}";
    return d;
  };
  ASSERT_TRUE(s->PutDocs({doc("request")}).ok());
  EXPECT_TRUE((*w)->Wait(milliseconds(300)).empty()) << "other documents wake nobody";
  for (const auto& [kind, channel] :
       {std::pair{"content_shard_query", queries}, std::pair{"content_shard_answer", answers}}) {
    ASSERT_TRUE(s->PutDocs({doc(kind)}).ok());
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_EQ((*w)->Wait(milliseconds(20000)), std::vector<std::string>{channel}) << kind;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10)) << kind;
  }
  // Two at once, in one transaction: one wake-up naming both.
  ASSERT_TRUE(s->PutDocs({doc("content_shard_answer"), doc("content_shard_query")}).ok());
  auto both = (*w)->Wait(milliseconds(20000));
  std::sort(both.begin(), both.end());
  EXPECT_EQ(both, (std::vector<std::string>{answers, queries}));
  EXPECT_TRUE((*w)->Wait(milliseconds(50)).empty());
  auto bad = OpenNoticeWaiter(url_, {"x; DROP TABLE docs"});
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PostgresStoreTest, ABacklogIsReadInBoundedPagesWithNoneSkippedOrRepeated) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  ChangeFeed* feed = a->changes();
  ASSERT_TRUE(feed->StartFeed().ok());
  EXPECT_FALSE(feed->ReadChanges(0).ok()) << "max 0 is refused";
  OpenTransaction open_long(url_, "open-long");
  ASSERT_TRUE(open_long.ok());
  std::set<std::string> written;
  auto record = [&](const std::string& id) {
    auto row = b->RecordContent({0, id, "chat", "u", std::string(64, 'b'), 100, "", "", "live", 0});
    ASSERT_TRUE(row.ok()) << row.status().ToString();
    written.insert(id);
  };
  for (int i = 0; i < 7; ++i) record("backlog-" + std::to_string(i));

  std::vector<std::string> read;
  std::vector<size_t> pages;
  int64_t last_seq = 0;
  bool committed = false;
  for (int round = 0; round < 20; ++round) {
    auto page = feed->ReadChanges(3);
    ASSERT_TRUE(page.ok()) << page.status().ToString();
    pages.push_back(page->size());
    for (const auto& ch : *page) {
      ASSERT_TRUE(ch.content.has_value());
      read.push_back(ch.content->content_id);
      if (ch.content->content_id != "open-long") {
        EXPECT_GT(ch.seq, last_seq) << "out of order within the backlog";
        last_seq = ch.seq;
      }
    }
    if (round == 0) {
      // Between pages: the long transaction commits, and more is written.
      ASSERT_TRUE(open_long.Commit());
      committed = true;
      written.insert("open-long");
      record("during-0");
      record("during-1");
    }
    if (page->empty() && committed) break;
  }
  ASSERT_GE(pages.size(), 3u);
  EXPECT_EQ(pages[0], 3u);
  EXPECT_EQ(pages[1], 3u);
  EXPECT_EQ(pages[2], 1u) << "the backlog's last page: what committed after its first is not in it";
  for (size_t n : pages) EXPECT_LE(n, 3u);
  // Everything once: 7 + 1 + 2.
  std::multiset<std::string> once(read.begin(), read.end());
  for (const auto& id : written) EXPECT_EQ(once.count(id), 1u) << id;
  EXPECT_EQ(read.size(), written.size());
  // The backlog's 7 came before what was committed after the first page was read.
  ASSERT_GE(read.size(), 7u);
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(read[i].rfind("backlog-", 0), 0u) << i << " " << read[i];
  auto nothing = feed->ReadChanges(3);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
}

// A bank change wakes the waiting reader at once (NOTIFY), not at the end of its timeout.
TEST_F(PostgresStoreTest, ABankChangeWakesTheFollowerAtOnce) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  ChangeFeed* feed = a->changes();
  ASSERT_TRUE(feed->StartFeed().ok());
  feed->WaitForChanges(std::chrono::milliseconds(10));  // connects and LISTENs
  std::thread writer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_TRUE(b->CreateBank({0, "woken", "ncii", 31, "block", 0}).ok());
  });
  const auto t0 = std::chrono::steady_clock::now();
  feed->WaitForChanges(std::chrono::seconds(20));
  const auto waited = std::chrono::steady_clock::now() - t0;
  writer.join();
  EXPECT_LT(waited, std::chrono::seconds(10)) << "not woken by the bank change";
  auto got = feed->ReadChanges(100);
  ASSERT_TRUE(got.ok());
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].kind, "bank");
  ASSERT_TRUE((*got)[0].bank.has_value());
  EXPECT_EQ((*got)[0].bank->name, "woken");
}

// A document's lock (DocumentStore::LockDoc) is one process's at a time: another store waits for
// it, other documents' locks are free meanwhile, and a holder whose connection goes (a process
// that died) frees it at the server.
TEST_F(PostgresStoreTest, ADocumentsLockIsOneProcesssAtATimeAndFreedWhenItsHolderGoes) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  auto held = a->LockDoc(7);
  ASSERT_TRUE(held.ok()) << held.status().ToString();
  ASSERT_NE(*held, nullptr) << "PostgreSQL locks across processes";
  auto other = b->LockDoc(8);
  ASSERT_TRUE(other.ok()) << "another document's lock is free";
  other->reset();
  // A scan's try passes over a held document at once, takes a free one, and leaves no lock
  // behind when it passes.
  for (int i = 0; i < 40; ++i) {  // more tries than the pool has connections: each goes back
    auto busy = b->TryLockDoc(7);
    ASSERT_TRUE(busy.ok()) << busy.status().ToString();
    EXPECT_FALSE(busy->has_value()) << "B took document 7 while A held it";
  }
  auto free_one = b->TryLockDoc(9);
  ASSERT_TRUE(free_one.ok() && free_one->has_value() && **free_one != nullptr);
  auto blocked = a->TryLockDoc(9);
  ASSERT_TRUE(blocked.ok());
  EXPECT_FALSE(blocked->has_value()) << "A took document 9 while B held it";
  free_one->reset();
  auto freed = a->TryLockDoc(9);
  ASSERT_TRUE(freed.ok());
  EXPECT_TRUE(freed->has_value()) << "document 9 free again";
  freed->reset();

  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto l = b->LockDoc(7);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(got) << "B took document 7 while A held it";
  held->reset();  // A gives it back
  waiter.join();
  EXPECT_TRUE(got);

  // A holder whose connection is cut, as when its process dies: the server frees the lock.
  auto again = a->LockDoc(7);
  ASSERT_TRUE(again.ok());
  got = false;
  std::thread second([&] {
    auto l = b->LockDoc(7);
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(got);
  PGconn* admin = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
  PGresult* r = PQexec(admin,
                       "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
                       "AND granted AND objid = 7");
  EXPECT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(admin);
  EXPECT_EQ(PQntuples(r), 1) << "one holder of document 7";
  PQclear(r);
  PQfinish(admin);
  second.join();
  EXPECT_TRUE(got);
  again->reset();  // its connection is gone: given up without an error
  auto after = a->LockDoc(7);
  EXPECT_TRUE(after.ok()) << "A locks again on a new connection: " << after.status().ToString();
}

// Locks a thread takes while holding one stack on its connection (a sweep under a request's lock
// that counts strikes under the uploaders' lock): 40 nested locks on one thread, more than the
// pool's 16 connections, never wait for a connection; each is another process's to wait for until
// given back, the whole-kind locks (negative ids) too.
TEST_F(PostgresStoreTest, LocksTakenWhileHoldingOneStackOnTheThreadsConnection) {
  auto a = Open();
  auto b = Open();
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  std::vector<std::unique_ptr<DocumentStore::DocLock>> held;
  for (int64_t id = -3; id <= 36; ++id) {
    auto l = a->LockDoc(id == 0 ? 1000 : id);
    ASSERT_TRUE(l.ok()) << "lock " << id << ": " << l.status().ToString();
    held.push_back(std::move(l).value());
  }
  PGconn* admin = PQconnectdb(url_.c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK);
  PGresult* r = PQexec(admin,
                       "SELECT count(*), count(DISTINCT pid) FROM pg_locks WHERE locktype = "
                       "'advisory' AND granted");
  ASSERT_EQ(PQresultStatus(r), PGRES_TUPLES_OK) << PQerrorMessage(admin);
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 0)), "40");
  EXPECT_EQ(std::string(PQgetvalue(r, 0, 1)), "1") << "all on the thread's one connection";
  PQclear(r);
  PQfinish(admin);
  std::atomic<bool> got{false};
  std::thread other([&] {
    auto l = b->LockDoc(-1);  // the uploaders' lock, held by A
    EXPECT_TRUE(l.ok()) << l.status().ToString();
    got = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(got);
  while (!held.empty()) held.pop_back();  // given back innermost first
  other.join();
  EXPECT_TRUE(got);
  auto again = a->LockDoc(5);
  EXPECT_TRUE(again.ok()) << "the connection went back to the pool whole";
}

TEST_F(PostgresStoreTest, TwoProcessesMigratingOneNewDatabaseAtOnceBothOpenIt) {
  std::vector<std::thread> threads;
  std::vector<Status> results(4);
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] { results[i] = OpenPostgresStore(url_).status(); });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_TRUE(r.ok()) << r.ToString();
}

// Two stores on one database are two replicas: their writes interleave, their ids never collide,
// and their audit records form one chain that verifies.
TEST_F(PostgresStoreTest, TwoReplicasWriteDistinctIdsAndOneAuditChain) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a && b);
  std::vector<std::thread> threads;
  std::mutex mu;
  std::set<int64_t> ids;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      Store* s = t % 2 ? a.get() : b.get();
      for (int i = 0; i < 40; ++i) {
        auto id = s->RecordContent(
            {0, fmt::format("c{}", t * 1000 + i), "chat", "u", "", 0, "", "", "live", 0});
        ASSERT_TRUE(id.ok()) << id.status().ToString();
        DocumentStore::Changes ch;
        ch.content_states = {{*id, "removed"}};
        ch.audits = {{"replica", "content.removed", "{}"}, {"replica", "again", "{}"}};
        ASSERT_TRUE(s->Transact(ch).ok());
        std::lock_guard lock(mu);
        ids.insert(*id);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ids.size(), 240u);
  auto n = VerifyAuditChain(*a);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 480);
  EXPECT_EQ(*VerifyAuditChain(*b), 480);
}

TEST_F(PostgresStoreTest, AuditVerificationNamesAlteredAndRemovedRecords) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        s->AppendAudit("admin", "bank.entry.added", "{\"i\":" + std::to_string(i) + "}").ok());
  EXPECT_EQ(*VerifyAuditChain(*s), 10);
  ASSERT_TRUE(pg_->Sql(url_, "UPDATE audit SET payload = '{\"i\":99}' WHERE seq = 4").ok());
  auto r = VerifyAuditChain(*s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit record 4 was altered"), std::string::npos)
      << r.status().message();
  ASSERT_TRUE(pg_->Sql(url_, "UPDATE audit SET payload = '{\"i\":3}' WHERE seq = 4").ok());
  EXPECT_TRUE(VerifyAuditChain(*s).ok());
  // The last record removed: the chain's head still knows it, the next append follows it, and
  // the gap shows.
  ASSERT_TRUE(pg_->Sql(url_, "DELETE FROM audit WHERE seq = 10").ok());
  ASSERT_TRUE(s->AppendAudit("admin", "next", "{}").ok());
  r = VerifyAuditChain(*s);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit record 10 is missing"), std::string::npos)
      << r.status().message();
}

TEST_F(PostgresStoreTest, ARestartOfPostgresLosesNothingCommittedAndTheStoreCarriesOn) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  auto bank = s->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(bank.ok());
  std::vector<int64_t> entries;
  for (int i = 0; i < 20; ++i) {
    auto e = s->AddBankEntry({0, *bank, std::string(64, 'a'), 90, "", "", "t", "", true, 0});
    ASSERT_TRUE(e.ok());
    entries.push_back(*e);
  }
  ASSERT_TRUE(s->AppendAudit("admin", "before", "{}").ok());
  ASSERT_TRUE(pg_->Restart().ok());  // immediate: as a crash of the server would
  // Reads and writes go on over new connections.
  auto listed = s->ListBankEntries();
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  EXPECT_EQ(listed->size(), 20u);
  auto after = s->AppendAudit("admin", "after", "{}");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->seq, 2);
  EXPECT_EQ(*VerifyAuditChain(*s), 2);
  // And another process opening it finds all of it.
  s.reset();
  auto again = Open();
  ASSERT_NE(again, nullptr);
  EXPECT_EQ(again->ListBankEntries()->size(), 20u);
}

// The workflow's lease (store.h WorkflowLease): one holder at a time, named to the others; given
// up, it is free at once; a holder that stops renewing loses it when it lapses (by the
// database's clock), and then finds it taken (told through on_lost); renewals ride out a restart
// of PostgreSQL.
TEST_F(PostgresStoreTest, TheWorkflowLeaseHasOneHolderLapsesAndOutlivesARestart) {
  std::mutex mu;  // before the leases: their threads may use these until the leases go
  std::string lost_c;
  ASSERT_NE(Open(), nullptr);  // the schema, leases included
  auto a = OpenWorkflowLease(url_, 2000);
  auto b = OpenWorkflowLease(url_, 2000);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString() << b.status().ToString();
  EXPECT_NE((*a)->holder(), (*b)->holder()) << "one process, two holders";
  ASSERT_TRUE((*a)->TryAcquire().ok());
  EXPECT_TRUE((*a)->TryAcquire().ok()) << "its own lease: renewed";
  Status other = (*b)->TryAcquire();
  EXPECT_EQ(other.code(), StatusCode::kFailedPrecondition) << other.ToString();
  EXPECT_NE(other.message().find("held by " + (*a)->holder()), std::string::npos)
      << other.message();
  a->reset();  // given up: free at once
  ASSERT_TRUE((*b)->TryAcquire().ok());
  // b stops renewing (as a stalled process would): c takes over once it lapses, not before.
  auto c = OpenWorkflowLease(url_, 8000);  // long enough to ride out the restart below
  ASSERT_TRUE(c.ok());
  EXPECT_EQ((*c)->TryAcquire().code(), StatusCode::kFailedPrecondition);
  const auto t0 = std::chrono::steady_clock::now();
  while (!(*c)->TryAcquire().ok() &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  const auto waited = std::chrono::steady_clock::now() - t0;
  EXPECT_GE(waited, std::chrono::milliseconds(1000)) << "taken before b's lease could lapse";
  EXPECT_LT(waited, std::chrono::seconds(6));
  ASSERT_TRUE((*c)->TryAcquire().ok());
  // b finds it taken, naming c.
  other = (*b)->TryAcquire();
  EXPECT_NE(other.message().find("held by " + (*c)->holder()), std::string::npos)
      << other.message();
  // c renews across a restart of PostgreSQL and keeps it.
  (*c)->KeepRenewing([&](const std::string& why) {
    std::lock_guard l(mu);
    lost_c = why;
  });
  ASSERT_TRUE(pg_->Restart().ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(3000));
  {
    std::lock_guard l(mu);
    EXPECT_EQ(lost_c, "") << "the lease was kept across the restart";
  }
  auto d = OpenWorkflowLease(url_, 2000);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ((*d)->TryAcquire().code(), StatusCode::kFailedPrecondition) << "c still holds it";
  EXPECT_EQ(OpenWorkflowLease(url_, 500).status().code(), StatusCode::kInvalidArgument);
  c->reset();
  b->reset();
}

// A holder whose database stops answering is told to stop before its lease can lapse (a margin
// ahead of its end), so that no standby takes over while it still runs the workflow.
TEST_F(PostgresStoreTest, AHolderThatCannotRenewIsToldToStopBeforeItsLeaseLapses) {
  ASSERT_NE(Open(), nullptr);
  std::mutex mu;  // before the lease: its threads may use these until it goes
  std::string lost;
  std::chrono::steady_clock::time_point lost_at;
  auto a = OpenWorkflowLease(url_, 2000);
  ASSERT_TRUE(a.ok());
  ASSERT_TRUE((*a)->TryAcquire().ok());
  const auto t0 = std::chrono::steady_clock::now();
  (*a)->KeepRenewing([&](const std::string& why) {
    std::lock_guard l(mu);
    lost = why;
    lost_at = std::chrono::steady_clock::now();
  });
  // Every connection to this database is refused from now on (the server itself stays up).
  const std::string db = url_.substr(url_.rfind("dbname=") + 7);
  ASSERT_TRUE(pg_->Sql(pg_->Url(),
                       "UPDATE pg_database SET datallowconn = false WHERE datname = '" + db + "'")
                  .ok());
  ASSERT_TRUE(pg_->Sql(pg_->Url(),
                       "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE datname = '" +
                           db + "'")
                  .ok());
  const auto cut = std::chrono::steady_clock::now();  // no renewal can succeed after this
  for (int i = 0; i < 100; ++i) {
    {
      std::lock_guard l(mu);
      if (!lost.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::lock_guard l(mu);
  ASSERT_NE(lost, "") << "never told";
  // Its last renewal was sent before the cut, so the lease ends after cut + 2 s at the earliest.
  EXPECT_LT(lost_at - cut, std::chrono::milliseconds(2000)) << "told only after it could lapse";
  EXPECT_GT(lost_at - t0, std::chrono::milliseconds(1000)) << "told while its lease was fresh";
}

TEST_F(PostgresStoreTest, EvidenceBytesComeBackWhole) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  std::string bytes;
  for (int i = 0; i < 1024; ++i) bytes.push_back(static_cast<char>(i % 256));
  ASSERT_TRUE(s->PutEvidence({7, 0, std::string("\0\1\2", 3), bytes, 9'000}).ok());
  auto got = s->GetEvidence(7, 0);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->nonce, std::string("\0\1\2", 3));
  EXPECT_EQ((*got)->data, bytes);
  // Replaced whole, not added beside.
  ASSERT_TRUE(s->PutEvidence({7, 0, "n", "other", 9'500}).ok());
  EXPECT_EQ((*s->GetEvidence(7, 0))->data, "other");
  EXPECT_EQ((*s->GetEvidence(7, 0))->expires_ms, 9'500);
}

TEST_F(PostgresStoreTest, TextThatIsNotUtf8OrHoldsNulIsRefusedAndNothingIsWritten) {
  auto s = Open();
  ASSERT_NE(s, nullptr);
  auto r = s->RecordContent({0, std::string("bad\xff\xfe", 5), "chat", "u", "", 0, "", "", "live"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("UTF8"), std::string::npos) << r.status().message();
  // A NUL byte would cut a text value short (two ids stored as one): refused, not truncated.
  auto nul = s->RecordContent({0, std::string("a\0b", 3), "chat", "u", "", 0, "", "", "live"});
  EXPECT_EQ(nul.status().code(), StatusCode::kInvalidArgument) << nul.status().ToString();
  EXPECT_NE(nul.status().message().find("NUL"), std::string::npos) << nul.status().message();
  // A lookup with one is refused at once: not taken for a lost connection and retried.
  const auto t0 = std::chrono::steady_clock::now();
  auto found = s->FindContent(std::string("a\0b", 3));
  EXPECT_EQ(found.status().code(), StatusCode::kInvalidArgument) << found.status().ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(1000))
      << "retried as if the connection were lost (its pauses add up to 1.4 s)";
  EXPECT_EQ(*s->CountContent(), 0);
  EXPECT_TRUE(s->RecordContent({0, "fine", "chat", "u", "", 0, "", "", "live"}).ok());
}

TEST(PostgresStoreOpen, AnUnreachableServerIsAClearErrorAndAnEmptyUrlToo) {
  auto s = OpenPostgresStore("host=/nonexistent-takedown-dir dbname=x connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("cannot connect to the PostgreSQL store"), std::string::npos)
      << s.status().message();
  auto empty = OpenPostgresStore("");
  EXPECT_EQ(empty.status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace takedown::store
