// What is the SQLite store's own: its write-ahead log kept bounded, persistence across reopening,
// and the audit chain catching records altered or removed in the file. What every backend must do
// is in store_contract_test.cc.
#include "store/store.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
#include <thread>

#include "support/synthetic.h"

namespace takedown::store {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    path_ = dir_ + "/takedown.db";
    auto s = OpenSqliteStore(path_);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s).value();
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  void Sql(const std::string& sql) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK)
        << sqlite3_errmsg(db);
    sqlite3_close(db);
  }
  std::string dir_, path_;
  std::unique_ptr<Store> store_;
};

// Under steady writes the write-ahead log must start over now and then: the background
// checkpoint alone never caught up with the commits, and the log grew without bound.
TEST_F(StoreTest, WriteAheadLogStaysBoundedUnderSteadyWrites) {
  const std::string payload(3000, 'x');  // about one page a row
  std::vector<std::thread> threads;
  for (int t = 0; t < 3; ++t) {
    threads.emplace_back([&, t] {
      for (int b = 0; b < 40; ++b) {
        std::vector<ContentRecord> rows;
        for (int i = 0; i < 100; ++i) {
          rows.push_back({0, fmt::format("w{}", (t * 100 + b) * 1000 + i), "chat", "u", "", 0, "",
                          "", "live", 0, "", payload});
        }
        ASSERT_TRUE(store_->RecordContentBatch(rows).ok());
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(*store_->CountContent(), 12000);  // ~12,000 pages (~50 MB) through the log in all
  // A log that starts over is rewritten from its beginning: the file stays near the restart
  // point (4,000 pages, 16 MB) instead of holding everything written.
  const auto wal_bytes = std::filesystem::file_size(path_ + "-wal");
  std::printf("write-ahead log file: %.1f MB\n", static_cast<double>(wal_bytes) / 1e6);
  EXPECT_LT(wal_bytes, 30'000'000u);
}

TEST_F(StoreTest, DataSurvivesReopening) {
  ASSERT_TRUE(store_->CreateBank({0, "csam", "csam", 20, "block", 0}).ok());
  ASSERT_TRUE(store_->AppendAudit("test", "bank.created", "{\"name\":\"csam\"}").ok());
  store_.reset();
  auto s = OpenSqliteStore(path_);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->ListBanks()->at(0).pdq_threshold, 20);
  ASSERT_TRUE((*s)->AppendAudit("test", "again", "{}").ok());  // the chain continues
  EXPECT_EQ(*VerifyAuditChain(**s), 2);
}

TEST_F(StoreTest, AuditVerificationNamesTheFirstAlteredRemovedOrInsertedRecord) {
  for (int i = 0; i < 10; ++i)
    ASSERT_TRUE(
        store_->AppendAudit("admin", "bank.entry.added", "{\"i\":" + std::to_string(i) + "}").ok());
  EXPECT_EQ(*VerifyAuditChain(*store_), 10);
  Sql("UPDATE audit SET payload = '{\"i\":99}' WHERE seq = 4");
  auto r = VerifyAuditChain(*store_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit record 4 was altered"), std::string::npos)
      << r.status().message();
  Sql("UPDATE audit SET payload = '{\"i\":3}' WHERE seq = 4");
  EXPECT_TRUE(VerifyAuditChain(*store_).ok());
  Sql("DELETE FROM audit WHERE seq = 7");
  r = VerifyAuditChain(*store_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("audit record 7 is missing"), std::string::npos)
      << r.status().message();
}

// A store made before bank entries had a stored identity gets one for each entry when it is
// opened (migration 6): an import then knows them without reading the bank.
TEST_F(StoreTest, EntriesStoredBeforeTheIdentityColumnAreKnownAfterTheMigration) {
  auto b = store_->CreateBank({0, "ncii", "ncii", 31, "block", 0});
  ASSERT_TRUE(b.ok());
  store_.reset();
  // Back to the schema before it, with entries written as that version wrote them.
  Sql("DROP INDEX bank_entries_by_identity; ALTER TABLE bank_entries DROP COLUMN ident; "
      "UPDATE schema_version SET version = 5;"
      "INSERT INTO bank_entries(bank_id, pdq, quality, md5, sha256, source, request_id, enabled, "
      "created_ms, video, robust) VALUES (1, '" +
      std::string(64, 'a') +
      "', 90, '', '', 'old', '', 1, 0, '', ''), (1, '', 0, '', '', 'old', "
      "'', 1, 0, '{\"frames\":[]}', '')");
  auto s = OpenSqliteStore(path_);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  BankEntryRecord pdq, frames, other;
  pdq.pdq = std::string(64, 'a');
  frames.video = R"({"frames":[]})";
  other.pdq = std::string(64, 'b');
  auto known = (*s)->HasBankEntries(*b, {pdq, frames, other});
  ASSERT_TRUE(known.ok()) << known.status().ToString();
  EXPECT_EQ(*known, (std::vector<bool>{true, true, false}));
}

TEST(StoreOpen, BadPathIsAnError) {
  auto s = OpenSqliteStore("/nonexistent/dir/takedown.db");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("cannot open store"), std::string::npos);
}

}  // namespace
}  // namespace takedown::store
