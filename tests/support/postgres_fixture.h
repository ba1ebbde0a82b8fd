// A test with a new, empty database of its own on the test process's PostgreSQL server
// (postgres_server.h): url_ names it, pg_ is the server. Skipped, saying so, where PostgreSQL is
// not installed; any other failure to start the server or make the database fails the test.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "support/postgres_server.h"

namespace takedown::testing {

class PostgresDatabaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto server = TempPostgres::Shared();
    if (!server.ok() && server.status().code() == StatusCode::kNotFound)
      GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << server.status().message();
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    pg_ = *server;
    auto url = pg_->CreateDatabase();
    ASSERT_TRUE(url.ok()) << url.status().ToString();
    url_ = *url;
  }
  TempPostgres* pg_ = nullptr;
  std::string url_;
};

}  // namespace takedown::testing
