// A PostgreSQL server of the test's own, in a temporary directory: Debian's initdb and pg_ctl
// (PostgreSQL 15), run as the unprivileged `postgres` user when the test runs as root (the server
// refuses root), listening only on a Unix socket in that directory (no TCP port to clash over),
// trust authentication. Stopped and removed when the object goes.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"

namespace takedown::testing {

class TempPostgres {
 public:
  // Starts a new server. NotFound (naming what is missing) when PostgreSQL's programs are not
  // installed (scripts/setup.sh installs them); other failures carry the server's log.
  static Result<std::unique_ptr<TempPostgres>> Start();
  // One server for the whole test process (ctest runs each test as a process of its own),
  // started on first use and stopped at exit; the same error on every call when it cannot start.
  static Result<TempPostgres*> Shared();
  ~TempPostgres();
  TempPostgres(const TempPostgres&) = delete;
  TempPostgres& operator=(const TempPostgres&) = delete;

  // A libpq connection string for a database of this server.
  std::string Url(const std::string& database = "postgres") const;
  // A new, empty database; returns its connection string.
  Result<std::string> CreateDatabase();
  // Runs SQL (several statements allowed) as the server's superuser in a database.
  Status Sql(const std::string& url, const std::string& sql) const;
  // Stops the server at once (as a crash would: no checkpoint), then starts it again.
  Status Restart();
  const std::string& dir() const { return dir_; }

 private:
  TempPostgres() = default;
  Status Ctl(const std::string& args) const;
  std::string dir_, bin_, as_user_;
  int databases_ = 0;
};

}  // namespace takedown::testing
