#include "support/postgres_server.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/synthetic.h"

namespace takedown::testing {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

Result<std::unique_ptr<TempPostgres>> TempPostgres::Start() {
  namespace fs = std::filesystem;
  std::string bin;
  for (const char* v : {"15", "16", "17"}) {
    const std::string b = fmt::format("/usr/lib/postgresql/{}/bin", v);
    if (fs::exists(b + "/initdb") && fs::exists(b + "/pg_ctl")) {
      bin = b;
      break;
    }
  }
  if (bin.empty()) {
    return NotFound(
        "PostgreSQL's server programs (/usr/lib/postgresql/15/bin/initdb, pg_ctl) are not "
        "installed: run scripts/setup.sh (Debian package postgresql)");
  }
  std::unique_ptr<TempPostgres> pg(new TempPostgres());
  pg->bin_ = bin;
  pg->dir_ = MakeTempDir();
  if (::geteuid() == 0) {
    // PostgreSQL will not run as root: the Debian package's own unprivileged user runs it.
    const passwd* pw = ::getpwnam("postgres");
    if (pw == nullptr) {
      return NotFound(
          "running as root, and there is no `postgres` user to run the test's PostgreSQL server "
          "as (the Debian package postgresql creates it)");
    }
    if (::chown(pg->dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0)
      return IoError(fmt::format("cannot hand {} to the postgres user", pg->dir_));
    pg->as_user_ = "runuser -u postgres -- ";
  }
  const std::string init = fmt::format(
      "{}{}/initdb -D {}/data -U takedown --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 "
      "> {}/initdb.log 2>&1",
      pg->as_user_, bin, pg->dir_, pg->dir_);
  if (std::system(init.c_str()) != 0) {
    return IoError(fmt::format("initdb failed: {}", ReadFile(pg->dir_ + "/initdb.log")));
  }
  TD_RETURN_IF_ERROR(pg->Ctl("start"));
  return pg;
}

Result<TempPostgres*> TempPostgres::Shared() {
  static auto* server = new Result<std::unique_ptr<TempPostgres>>(Start());
  static struct StopAtExit {
    ~StopAtExit() {
      if (server->ok()) server->value().reset();
    }
  } stop;
  if (!server->ok()) return server->status();
  return server->value().get();
}

Status TempPostgres::Ctl(const std::string& action) const {
  // Unix socket only, in the test's directory; fsync off: a test's database need not survive
  // the machine (the durability the store promises is PostgreSQL's own, on by default).
  const std::string cmd = fmt::format(
      "{}{}/pg_ctl -D {}/data -l {}/server.log -w -t 60 -m immediate -o \"-c listen_addresses='' "
      "-c unix_socket_directories={} -c fsync=off -c max_connections=200\" {} > {}/pg_ctl.log "
      "2>&1",
      as_user_, bin_, dir_, dir_, dir_, action, dir_);
  if (std::system(cmd.c_str()) != 0) {
    return IoError(fmt::format("pg_ctl {} failed: {}\n{}", action, ReadFile(dir_ + "/pg_ctl.log"),
                               ReadFile(dir_ + "/server.log")));
  }
  return Status::Ok();
}

TempPostgres::~TempPostgres() {
  (void)Ctl("stop");
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string TempPostgres::Url(const std::string& database) const {
  return fmt::format("host={} user=takedown dbname={}", dir_, database);
}

Result<std::string> TempPostgres::CreateDatabase() {
  const std::string name = fmt::format("t{}", ++databases_);
  TD_RETURN_IF_ERROR(Sql(Url(), fmt::format("CREATE DATABASE {}", name)));
  return Url(name);
}

Status TempPostgres::Sql(const std::string& url, const std::string& sql) const {
  PGconn* c = PQconnectdb(url.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(c);
    PQfinish(c);
    return IoError(fmt::format("connecting to {}: {}", url, msg));
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);
  PGresult* r = PQexec(c, sql.c_str());
  const auto st = PQresultStatus(r);
  Status out = (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
                   ? Status::Ok()
                   : IoError(fmt::format("{}: {}", sql, PQresultErrorMessage(r)));
  PQclear(r);
  PQfinish(c);
  return out;
}

Status TempPostgres::Restart() { return Ctl("restart"); }

}  // namespace takedown::testing
