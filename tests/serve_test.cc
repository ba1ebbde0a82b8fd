// `takedown serve` as operators run it: the real binary in its own process, configured by file,
// environment and flags; killed with SIGKILL mid-load and restarted (nothing acknowledged is
// lost); stopped with SIGTERM (in-flight requests answered, clean exit); the admin and audit
// commands beside it.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sodium.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <thread>

#include "cli/serve_config.h"
#include "core/file.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/postgres_server.h"
#include "support/synthetic.h"
#include "takedown/model.h"

namespace takedown {
namespace {

using nlohmann::json;

std::string Slurp(const std::string& path) {
  std::ifstream f(path);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

// Runs the takedown binary to completion; returns its exit status and stdout.
std::pair<int, std::string> RunTakedown(const std::string& args, const std::string& dir) {
  const std::string out = dir + "/cmd.out", err = dir + "/cmd.err";
  const int status =
      // Under a time limit: a command that should refuse to start must not hang the test if it
      // starts after all.
      std::system(
          ("timeout 120 " + std::string(TAKEDOWN_BINARY) + " " + args + " >" + out + " 2>" + err)
              .c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, Slurp(out) + Slurp(err)};
}

class ServerProcess {
 public:
  // Starts `takedown serve ARGS` and waits until /readyz answers 200.
  ServerProcess(const std::vector<std::string>& args, const std::string& dir,
                const std::vector<std::string>& env = {}) {
    out_ = dir + "/serve.out";
    err_ = dir + "/serve.err";
    pid_ = fork();
    if (pid_ == 0) {
      freopen(out_.c_str(), "w", stdout);
      freopen(err_.c_str(), "w", stderr);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<char*> argv = {const_cast<char*>(TAKEDOWN_BINARY), const_cast<char*>("serve")};
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(TAKEDOWN_BINARY, argv.data());
      _exit(127);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const std::string o = Slurp(out_);
      if (const auto p = o.find("listening on http://127.0.0.1:");
          p != std::string::npos && o.find('\n', p) != std::string::npos) {
        port_ = std::stoi(o.substr(p + 30));
        httplib::Client c("127.0.0.1", port_);
        auto r = c.Get("/readyz");
        if (r && r->status == 200) return;
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        ADD_FAILURE() << "takedown serve exited at start: " << Slurp(err_);
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ADD_FAILURE() << "takedown serve not ready in 30 s: " << Slurp(err_);
  }
  ~ServerProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string log() const { return Slurp(err_); }
  // Waits up to timeout_s for the process to exit by itself: its exit status (or -signal), or
  // -1000 when it is still running.
  int Wait(int timeout_s) {
    if (pid_ <= 0) return -1000;  // (never started, or reaped: nothing to wait for)
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1000;
  }
  // Sends sig and returns the exit status (or -signal).
  int Signal(int sig) {
    if (pid_ <= 0) return -1000;  // (kill(-1) would signal every process of the user)
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  int port_ = 0;
  std::string out_, err_;
};

// The platform's webhook receiver for the kill tests: every removal's deliveries and the
// idempotency keys they came with, by "request/content"; each answered 200 after delay_ms (slow
// enough for a kill to land mid-delivery).
class RemovalReceiver {
 public:
  explicit RemovalReceiver(int delay_ms) {
    server_.Post("/hook", [this, delay_ms](const httplib::Request& req, httplib::Response& res) {
      const json a = json::parse(req.body, nullptr, false);
      if (!a.is_discarded() && a.value("kind", std::string()) == "remove") {
        std::lock_guard l(mu);
        const std::string item = fmt::format("{}/{}", a.value("request_id", int64_t{0}),
                                             a.value("content_id", std::string()));
        keys_by_item[item].insert(req.get_header_value("Idempotency-Key"));
        ++deliveries[item];
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      res.status = 200;
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~RemovalReceiver() { Stop(); }
  RemovalReceiver(const RemovalReceiver&) = delete;
  RemovalReceiver& operator=(const RemovalReceiver&) = delete;
  void Stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }
  std::string url() const { return fmt::format("http://127.0.0.1:{}/hook", port_); }

  std::mutex mu;
  std::map<std::string, std::set<std::string>> keys_by_item;  // "request/content" -> keys seen
  std::map<std::string, int> deliveries;                      // "request/content" -> deliveries

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
};

class ServeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    db_ = dir_ + "/takedown.db";
    admin_ = CreateKey("admin", "ops");
    platform_ = CreateKey("platform", "uploads");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  // A new database on the test process's PostgreSQL server (support/postgres_server.h); NotFound
  // where PostgreSQL cannot run here (the caller skips, saying so).
  static Result<std::string> NewPostgresDatabase() {
    TD_ASSIGN_OR_RETURN(testing::TempPostgres * pg, testing::TempPostgres::Shared());
    return pg->CreateDatabase();
  }
  // The flags of a `takedown serve` on the PostgreSQL database `url` with content.shards 2, as
  // `role` holding `hold`; its working directory dir_/sub is made.
  std::vector<std::string> ShardedServeArgs(const std::string& url, const std::string& role,
                                            const std::string& hold, const std::string& sub) {
    std::filesystem::create_directories(dir_ + "/" + sub);
    return {"--store.backend",
            "postgres",
            "--store.url",
            url,
            "--store.role",
            role,
            "--server.port",
            "0",
            "--content.shards",
            "2",
            "--content.hold",
            hold,
            "--evidence.key_file",
            dir_ + "/evidence.key",
            "--packages.signing_key_file",
            dir_ + "/package-signing.key"};
  }
  // A key of `role` made with `takedown admin` on the store `store_flags` names; no password of
  // the connection string in what it prints.
  std::string PostgresKey(const std::string& store_flags, const std::string& role) {
    auto [rc, out] = RunTakedown(
        "admin create-key --role " + role + " --name " + role + " " + store_flags, dir_);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(out.find("pw-never-logged"), std::string::npos) << out;
    return out.substr(0, out.find('\n'));
  }
  std::string CreateKey(const std::string& role, const std::string& name) {
    auto [rc, out] = RunTakedown(
        "admin create-key --create --role " + role + " --name " + name + " --store " + db_, dir_);
    EXPECT_EQ(rc, 0) << out;
    return out.substr(0, out.find('\n'));
  }
  std::vector<std::string> Args() {
    return {"--store.path", db_, "--server.port", "0", "--server.threads", "16"};
  }
  static httplib::Headers Auth(const std::string& k) { return {{"Authorization", "Bearer " + k}}; }
  // A bank "ncii" (blocking) with one entry, Pdq(1), added through c with the admin key.
  static void BankPdqOne(httplib::Client& c, const std::string& admin) {
    auto b = c.Post("/v1/banks", Auth(admin), R"({"name":"ncii","category":"ncii"})",
                    "application/json");
    ASSERT_TRUE(b);
    ASSERT_EQ(b->status, 201) << b->body;
    auto e = c.Post("/v1/banks/ncii/entries", Auth(admin), json{{"pdq", Pdq(1)}}.dump(),
                    "application/json");
    ASSERT_TRUE(e);
    ASSERT_EQ(e->status, 201) << e->body;
  }
  static std::string Pdq(int i) {
    // Well-separated hashes: distinct 16-bit words repeated.
    return fmt::format("{:04x}", (i * 40503 + 12345) & 0xffff) +
           std::string(60, "0123456789abcdef"[i % 16]);
  }

  // Hammers /v1/check from several threads until stop; records every content_id acknowledged.
  void Hammer(int port, std::atomic<bool>& stop, std::set<std::string>& acked, std::mutex& mu,
              std::string key = "") {
    if (key.empty()) key = platform_;
    std::vector<std::thread> ts;
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&, t] {
        httplib::Client c("127.0.0.1", port);
        c.set_read_timeout(5, 0);
        for (int i = 0; !stop.load(); ++i) {
          const std::string id = fmt::format("t{}-{}", t, i);
          json body = {{"content_id", id},
                       {"chat_id", "g"},
                       {"uploader_id", "u"},
                       {"signals", {{"pdq", Pdq(1000 + i)}}}};
          auto r = c.Post("/v1/check", Auth(key), body.dump(), "application/json");
          if (!r) break;  // the server is gone
          if (r->status == 200) {
            std::lock_guard l(mu);
            acked.insert(id);
          }
        }
      });
    }
    for (auto& t : ts) t.join();
  }
  // After a restart: every acknowledged content_id is already recorded.
  void ExpectAllRecorded(int port, const std::set<std::string>& acked, std::string key = "") {
    if (key.empty()) key = platform_;
    httplib::Client c("127.0.0.1", port);
    int missing = 0;
    for (const auto& id : acked) {
      auto r = c.Post("/v1/check", Auth(key),
                      json{{"content_id", id}, {"signals", {{"md5", std::string(32, '0')}}}}.dump(),
                      "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      if (json::parse(r->body)["recorded"] != false) ++missing;
    }
    EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged uploads";
  }

  std::string dir_, db_, admin_, platform_;
};

TEST_F(ServeTest, KillDashNineLosesNothingAcknowledged) {
  std::set<std::string> acked;
  std::vector<std::pair<std::string, int64_t>> entries;
  {
    ServerProcess server(Args(), dir_);
    ASSERT_GT(server.port(), 0);
    httplib::Client c("127.0.0.1", server.port());
    ASSERT_EQ(c.Post("/v1/banks", Auth(admin_), R"({"name":"ncii","category":"ncii"})",
                     "application/json")
                  ->status,
              201);
    for (int i = 0; i < 20; ++i) {
      auto r = c.Post("/v1/banks/ncii/entries", Auth(admin_),
                      json{{"pdq", Pdq(i)}, {"request_id", "req-" + std::to_string(i)}}.dump(),
                      "application/json");
      ASSERT_EQ(r->status, 201) << r->body;
      entries.emplace_back(Pdq(i), json::parse(r->body)["entry_id"].get<int64_t>());
    }
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread load([&] { Hammer(server.port(), stop, acked, mu); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(server.Signal(SIGKILL), -SIGKILL);  // mid-load: requests in flight
    stop = true;
    load.join();
  }
  ASSERT_GT(acked.size(), 50u) << "the load did not get going";
  ServerProcess again(Args(), dir_);
  ASSERT_GT(again.port(), 0);
  ExpectAllRecorded(again.port(), acked);
  // Every bank entry survived and still blocks.
  httplib::Client c("127.0.0.1", again.port());
  for (const auto& [pdq, id] : entries) {
    auto r = c.Post("/v1/check", Auth(platform_),
                    json{{"content_id", "after-" + pdq}, {"signals", {{"pdq", pdq}}}}.dump(),
                    "application/json");
    const json j = json::parse(r->body);
    EXPECT_EQ(j["decision"], "block");
    ASSERT_FALSE(j["matches"].empty());
    EXPECT_EQ(j["matches"][0]["entry_id"], id);
  }
  EXPECT_EQ(again.Signal(SIGTERM), 0);
  auto [rc, out] = RunTakedown("audit verify --store " + db_, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;
}

// The workflow under kill -9: requests filed by a trusted regulator are swept and their removals
// delivered to a webhook receiver while the service is killed at random moments, again and again.
// After the last restart: every request the API accepted (201) exists and is confirmed with all
// of its removals, every content item was delivered, and a removal delivered more than once
// always carried the same idempotency key.
TEST_F(ServeTest, KillDashNineDuringSweepsAndDeliveriesLosesNoRequestAndNoAction) {
  RemovalReceiver receiver(30);
  std::mutex mu;
  const std::string requester = CreateKey("requester", "regulator");
  auto args = Args();
  for (const std::string& a : {std::string("--webhook.url"), receiver.url()}) args.push_back(a);

  constexpr int kCopies = 6;
  std::vector<int64_t> accepted;
  std::mt19937 rng(20261128);
  int next_request = 0;
  {
    ServerProcess server(args, dir_);
    ASSERT_GT(server.port(), 0);
    httplib::Client c("127.0.0.1", server.port());
    const json me = json::parse(c.Get("/v1/whoami", Auth(requester))->body);
    ASSERT_EQ(c.Post(fmt::format("/v1/requesters/{}", me["key_id"].get<int64_t>()), Auth(admin_),
                     R"({"source_type":"authority_order","trusted":true})", "application/json")
                  ->status,
              200);
    // The content index: kCopies items of each of 40 reported files, in different chats.
    json items = json::array();
    for (int r = 0; r < 40; ++r) {
      for (int k = 0; k < kCopies; ++k) {
        items.push_back({{"content_id", fmt::format("c{}-{}", r, k)},
                         {"chat_id", fmt::format("chat-{}", k)},
                         {"uploader_id", "u"},
                         {"signals", {{"md5", fmt::format("{:032x}", 0xabc000 + r)}}}});
      }
    }
    ASSERT_EQ(c.Post("/v1/content/batch", Auth(platform_), json{{"items", items}}.dump(),
                     "application/json")
                  ->status,
              200);
    server.Signal(SIGKILL);
  }
  // TAKEDOWN_CRASH_ROUNDS raises the number of kills (default 8) for a longer run.
  const int rounds = std::getenv("TAKEDOWN_CRASH_ROUNDS")
                         ? std::max(8, std::atoi(std::getenv("TAKEDOWN_CRASH_ROUNDS")))
                         : 8;
  for (int round = 0; round < rounds; ++round) {
    ServerProcess server(args, dir_);
    ASSERT_GT(server.port(), 0) << "round " << round;
    std::atomic<bool> stop{false};
    std::thread filer([&, round] {
      httplib::Client c("127.0.0.1", server.port());
      c.set_read_timeout(5, 0);
      while (!stop && next_request < std::min(40, 5 * (round + 1) * 8 / rounds +
                                                      1)) {  // spread over the rounds
        const int r = next_request;
        json body = {{"category", "deepfake-sexual"},
                     {"explanation", "deepfake sexual video"},
                     {"legal_basis", "Art. 21"},
                     {"issuing_authority", "KCSC"},
                     {"evidence", json::array({{{"md5", fmt::format("{:032x}", 0xabc000 + r)}}})}};
        auto res = c.Post("/v1/requests", Auth(requester), body.dump(), "application/json");
        if (!res) break;  // killed
        if (res->status == 201) {
          std::lock_guard l(mu);
          accepted.push_back(json::parse(res->body)["id"].get<int64_t>());
          ++next_request;
        }
      }
    });
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(30, 400)(rng)));
    EXPECT_EQ(server.Signal(SIGKILL), -SIGKILL);
    stop = true;
    filer.join();
  }
  // The last run: file what is left, then wait until every accepted request is confirmed.
  ServerProcess server(args, dir_);
  ASSERT_GT(server.port(), 0);
  httplib::Client c("127.0.0.1", server.port());
  while (next_request < 40) {
    json body = {
        {"category", "deepfake-sexual"},
        {"explanation", "deepfake sexual video"},
        {"legal_basis", "Art. 21"},
        {"issuing_authority", "KCSC"},
        {"evidence", json::array({{{"md5", fmt::format("{:032x}", 0xabc000 + next_request)}}})}};
    auto res = c.Post("/v1/requests", Auth(requester), body.dump(), "application/json");
    ASSERT_TRUE(res && res->status == 201);
    accepted.push_back(json::parse(res->body)["id"].get<int64_t>());
    ++next_request;
  }
  ASSERT_GE(accepted.size(), 40u);
  // Every request stored (accepted ones, and any whose 201 was lost to a kill) must end confirmed.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t confirmed = 0, total = 0;
  std::map<int64_t, json> views;
  while (std::chrono::steady_clock::now() < deadline) {
    const json list =
        json::parse(c.Get("/v1/requests?limit=1000", Auth(requester))->body)["requests"];
    total = list.size();
    confirmed = 0;
    for (const auto& item : list) {
      const int64_t id = item["id"];
      auto r = c.Get(fmt::format("/v1/requests/{}", id).c_str(), Auth(requester));
      ASSERT_TRUE(r && r->status == 200);
      views[id] = json::parse(r->body);
      confirmed += views[id]["status"] == "confirmed" ? 1 : 0;
    }
    if (confirmed == total) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(confirmed, total);
  for (int64_t id : accepted)
    EXPECT_TRUE(views.count(id)) << "accepted request " << id << " is gone";
  // Each reported file's copies were removed (by the first request that reached them; one filed
  // again after a kill lost its answer finds them already gone).
  std::set<std::string> removed;
  for (const auto& [id, v] : views) {
    for (const auto& m : v["removals"]) removed.insert(m["content_id"].get<std::string>());
  }
  EXPECT_EQ(removed.size(), 40u * kCopies);
  std::lock_guard l(receiver.mu);
  int twice = 0;
  for (const auto& [item, keys] : receiver.keys_by_item) {
    EXPECT_EQ(keys.size(), 1u) << item << " was delivered with different idempotency keys";
    twice += receiver.deliveries[item] > 1 ? 1 : 0;
  }
  std::printf(
      "crash test: %zu requests accepted (%zu stored) over %d runs (%d killed), %zu removals "
      "delivered, %d delivered more than once\n",
      accepted.size(), total, rounds + 1, rounds, receiver.keys_by_item.size(), twice);
  EXPECT_EQ(server.Signal(SIGTERM), 0);
  receiver.Stop();
  auto [rc, out] = RunTakedown("audit verify --store " + db_, dir_);
  EXPECT_EQ(rc, 0) << out;
}

TEST_F(ServeTest, SigtermAnswersInFlightRequestsAndExitsCleanly) {
  std::set<std::string> acked;
  {
    ServerProcess server(Args(), dir_);
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread load([&] { Hammer(server.port(), stop, acked, mu); });
    std::this_thread::sleep_for(std::chrono::milliseconds(800));
    EXPECT_EQ(server.Signal(SIGTERM), 0) << server.log();
    stop = true;
    load.join();
    EXPECT_NE(server.log().find("SIGTERM: stopping"), std::string::npos) << server.log();
    EXPECT_NE(server.log().find("stopped"), std::string::npos) << server.log();
  }
  ASSERT_GT(acked.size(), 20u);
  ServerProcess again(Args(), dir_);
  ExpectAllRecorded(again.port(), acked);
}

TEST_F(ServeTest, ConfigFileEnvironmentAndFlagsInThatOrder) {
  const std::string cfg = dir_ + "/takedown.toml";
  std::ofstream(cfg) << "[store]\npath = \"" << dir_
                     << "/from-file.db\"\n[server]\nport = 1\nthreads = 3\n";
  // The file sets port 1 (not ours to bind), the environment 0, so the environment wins; the flag
  // beats both for the store.
  ServerProcess server({"--config", cfg, "--store.path", db_}, dir_, {"TAKEDOWN_SERVER_PORT=0"});
  ASSERT_GT(server.port(), 1);
  EXPECT_NE(server.log().find("with 3 threads"), std::string::npos) << server.log();
  EXPECT_NE(server.log().find("store " + db_), std::string::npos) << server.log();
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/from-file.db"));
  // The admin key made with --store db_ works: the flag's store is the one served.
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v1/whoami", Auth(admin_))->status, 200);
}

TEST_F(ServeTest, ConfigMistakesAreNamed) {
  const std::string cfg = dir_ + "/bad.toml";
  std::ofstream(cfg) << "[server]\nprot = 8080\n";
  auto [rc, out] = RunTakedown("serve --config " + cfg, dir_);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("unknown key 'server.prot'"), std::string::npos) << out;
  std::ofstream(cfg) << "[server]\nport = \"eighty\"\n";
  std::tie(rc, out) = RunTakedown("serve --config " + cfg, dir_);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("'server.port' must be an integer"), std::string::npos) << out;
  std::ofstream(cfg) << "[server\n";
  std::tie(rc, out) = RunTakedown("serve --config " + cfg, dir_);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("bad.toml:1:"), std::string::npos) << out;
  std::tie(rc, out) = RunTakedown("serve --server.port 70000 --store.path " + db_, dir_);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("flag --server.port"), std::string::npos) << out;
  EXPECT_NE(out.find("outside 0..65535"), std::string::npos) << out;
  std::tie(rc, out) = RunTakedown("admin create-key --role root --name x --store " + db_, dir_);
  EXPECT_EQ(rc, 2);
  EXPECT_NE(out.find("--role"), std::string::npos) << out;
}

TEST_F(ServeTest, AdminKeysAreShownOnceAndRevocable) {
  auto [rc, list] = RunTakedown("admin list-keys --store " + db_, dir_);
  ASSERT_EQ(rc, 0);
  EXPECT_NE(list.find("admin\tops\tactive"), std::string::npos) << list;
  EXPECT_EQ(list.find(admin_), std::string::npos) << "a key must never be shown again";
  // The store holds no key in clear.
  const std::string db = Slurp(db_) + Slurp(db_ + "-wal");
  EXPECT_EQ(db.find(admin_), std::string::npos);
  EXPECT_EQ(db.find(platform_), std::string::npos);
  ServerProcess server(Args(), dir_);
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v1/whoami", Auth(platform_))->status, 200);
  std::tie(rc, list) = RunTakedown("admin revoke-key 2 --store " + db_, dir_);
  EXPECT_EQ(rc, 0) << list;
  // A running server refuses a key revoked by the CLI within its cache time (10 s).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  int status = 200;
  while (status == 200 && std::chrono::steady_clock::now() < deadline) {
    status = c.Get("/v1/whoami", Auth(platform_))->status;
    if (status == 200) std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  EXPECT_EQ(status, 401);
  // The CLI wrote audit records beside the running server: the chain is still one chain.
  ASSERT_EQ(
      c.Post("/v1/banks", Auth(admin_), R"({"name":"b","category":"ncii"})", "application/json")
          ->status,
      201);
  auto verify = json::parse(c.Get("/v1/audit/verify", Auth(admin_))->body);
  EXPECT_EQ(verify["ok"], true) << verify.dump();
}

// Found from outside (issue 17): a second server took the same port and the kernel split
// requests between two stores; the admin tools made an empty store of a mistyped path; a key
// name with a line break printed as a forged line of list-keys.
TEST_F(ServeTest, ASecondServerOnAPortInUseRefusesToStart) {
  ServerProcess first(Args(), dir_);
  const std::string other = dir_ + "/other.db";
  auto [rc, out] = RunTakedown(
      "serve --store.path " + other + " --server.port " + std::to_string(first.port()), dir_);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find(std::to_string(first.port())), std::string::npos) << out;
  EXPECT_NE(out.find("in use"), std::string::npos) << out;
  httplib::Client c("127.0.0.1", first.port());
  EXPECT_EQ(c.Get("/v1/whoami", Auth(admin_))->status, 200) << "the first one still serves";
}

// `takedown admin` takes the store as --store or --store.path; so does serve (it took only
// --store.path, and `serve --store t.db` was refused as an unexpected argument).
TEST_F(ServeTest, ServeTakesTheStoreAsTheAdminToolsSpellIt) {
  ServerProcess server({"--store", db_, "--server.port", "0"}, dir_);
  httplib::Client c("127.0.0.1", server.port());
  EXPECT_EQ(c.Get("/v1/whoami", Auth(admin_))->status, 200) << "the admin tools' store is served";
}

// The children of a process (its sandboxed decoder workers).
std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  for (const auto& t : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid))) {
    std::ifstream f(t.path() / "children");
    for (pid_t c; f >> c;) out.push_back(c);
  }
  return out;
}

double Metric(const std::string& text, const std::string& name) {
  const auto p = text.find("\n" + name + " ");
  return p == std::string::npos ? -1 : std::stod(text.substr(p + name.size() + 2));
}

TEST_F(ServeTest, MediaIsDecodedBySandboxedWorkersThatAreReplacedWhenTheyDie) {
  const std::string requester = CreateKey("requester", "hotline");
  const std::string reviewer = CreateKey("reviewer", "rev");
  auto args = Args();
  args.insert(args.end(), {"--sandbox.workers", "2", "--evidence.retention_days", "1"});
  ServerProcess serve(args, dir_);
  ASSERT_GT(serve.port(), 0);
  EXPECT_NE(serve.log().find("sandbox: media decoded by 2 worker processes"), std::string::npos)
      << serve.log();
  auto workers = ChildrenOf(serve.pid());
  ASSERT_EQ(workers.size(), 2u);
  const auto jpeg = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 5), 90);
  const std::string body(jpeg.begin(), jpeg.end());
  httplib::Client c("127.0.0.1", serve.port());
  auto check = [&](const std::string& id) {
    return c.Post("/v1/check/media?content_id=" + id, Auth(platform_), body,
                  "application/octet-stream");
  };
  auto r = check("a");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  // A worker dies (a decoder bug's SIGSEGV, from outside here): the service goes on, the worker
  // is replaced, and no upload fails for it.
  ASSERT_EQ(::kill(workers[0], SIGSEGV), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int i = 0; i < 4; ++i) {
    r = check(fmt::format("b{}", i));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << r->body;
  }
  const auto now = ChildrenOf(serve.pid());
  EXPECT_EQ(now.size(), 2u);
  EXPECT_EQ(std::count(now.begin(), now.end(), workers[0]), 0);
  auto m = c.Get("/metrics", Auth(admin_));
  ASSERT_TRUE(m);
  EXPECT_EQ(Metric(m->body, "takedown_sandbox_workers"), 2) << m->body;
  EXPECT_EQ(Metric(m->body, "takedown_sandbox_workers_replaced_total"), 1);
  EXPECT_EQ(Metric(m->body, "takedown_sandbox_jobs_total{outcome=\"ok\"}"), 5);
  // Garbage is the decoder's answer (400), not a dead worker.
  r = c.Post("/v1/check/media?content_id=g", Auth(platform_), std::string(3000, 'x'),
             "application/octet-stream");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400) << r->body;
  EXPECT_EQ(ChildrenOf(serve.pid()).size(), 2u);
  // A reviewer's look at reported media is decoded by a worker too, never beside the keys: the
  // evidence is hashed (one job), then each preview, blurred or a reveal, is one more job.
  const json notice = {{"category", "ncii"},
                       {"explanation", "an intimate picture shared without consent"},
                       {"notifier", {{"name", "Kim"}, {"email", "kim@example.org"}}},
                       {"accuracy_statement", true},
                       {"evidence", json::array({{{"media", testing::Base64(jpeg)}}})}};
  r = c.Post("/v1/requests", Auth(requester), notice.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const int64_t id = json::parse(r->body)["id"];
  // The request's status once its media is hashed (or after 10 s).
  auto hashed = [&](int64_t request) {
    std::string status;
    for (int i = 0; i < 200 && status != "pending_review"; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      auto v = c.Get(fmt::format("/v1/requests/{}", request), Auth(reviewer));
      status = v ? json::parse(v->body).value("status", "") : "no answer";
    }
    return status;
  };
  ASSERT_EQ(hashed(id), "pending_review");
  auto jobs = [&] {
    auto mm = c.Get("/metrics", Auth(admin_));
    return mm ? Metric(mm->body, "takedown_sandbox_jobs_total{outcome=\"ok\"}") : -1;
  };
  const double before = jobs();
  for (const char* q : {"", "?reveal=true&reason=checking%20the%20report"}) {
    auto p = c.Get(fmt::format("/v1/requests/{}/evidence/0/preview{}", id, q), Auth(reviewer));
    ASSERT_TRUE(p);
    ASSERT_EQ(p->status, 200) << p->body;
    EXPECT_EQ(p->get_header_value("Content-Type"), "image/jpeg");
    ASSERT_GT(p->body.size(), 2u);
    EXPECT_EQ(static_cast<uint8_t>(p->body[0]), 0xFF);
    EXPECT_EQ(static_cast<uint8_t>(p->body[1]), 0xD8);
  }
  EXPECT_EQ(jobs(), before + 2) << "each preview was made by a sandboxed worker";
  // A video's keyframe too (a worker may start no decoder thread: its filter would kill it).
  const std::string video_path = dir_ + "/evidence.mp4";
  testing::WriteVideo(video_path, 160, 120, 50, 25, 7);
  auto video = ReadFileLimited(video_path, 10 << 20);
  ASSERT_TRUE(video.ok()) << video.status().ToString();
  json video_notice = notice;
  video_notice["evidence"] = json::array({{{"media", testing::Base64(*video)}}});
  r = c.Post("/v1/requests", Auth(requester), video_notice.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const int64_t vid = json::parse(r->body)["id"];
  ASSERT_EQ(hashed(vid), "pending_review");
  const double before_video = jobs();
  auto kf = c.Get(fmt::format("/v1/requests/{}/evidence/0/preview?frame=0", vid), Auth(reviewer));
  ASSERT_TRUE(kf);
  ASSERT_EQ(kf->status, 200) << kf->body;
  EXPECT_EQ(kf->get_header_value("Content-Type"), "image/jpeg");
  EXPECT_EQ(jobs(), before_video + 1);
  EXPECT_EQ(ChildrenOf(serve.pid()), now) << "no worker died making the previews";
  // At SIGTERM the workers end with the service.
  EXPECT_EQ(serve.Signal(SIGTERM), 0);
  for (pid_t w : now) EXPECT_NE(::kill(w, 0), 0) << "worker " << w << " outlived the service";
}

// The evidence key seals kept evidence and staged media; the store records its fingerprint at the
// first start. A start whose key file is missing is refused (no new key made), as is one with
// another key; the right file starts again; after `admin forget-evidence-key` (audited) a start
// makes a new key.
TEST_F(ServeTest, AStoreRefusesAMissingOrOtherEvidenceKeyUntilTheOperatorForgetsIt) {
  CreateKey("admin", "ops");
  const std::string key_file = dir_ + "/evidence.key";
  {
    ServerProcess first(Args(), dir_);
    ASSERT_GT(first.port(), 0);
    EXPECT_EQ(first.Signal(SIGTERM), 0);
  }
  const std::string key = Slurp(key_file);
  ASSERT_EQ(key.size(), 32u);
  const std::string serve = "serve --store.path " + db_ + " --server.port 0";
  std::filesystem::remove(key_file);
  {
    auto [rc, out] = RunTakedown(serve, dir_);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find(key_file + " is missing"), std::string::npos) << out;
    EXPECT_NE(out.find("forget-evidence-key"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(key_file)) << "no new key was made";
  }
  {
    std::ofstream(key_file, std::ios::binary) << std::string(32, 'x');
    auto [rc, out] = RunTakedown(serve, dir_);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("is not the evidence key of this store"), std::string::npos) << out;
    EXPECT_EQ(out.find(key), std::string::npos) << "no key is printed";
  }
  std::ofstream(key_file, std::ios::binary | std::ios::trunc) << key;
  {
    ServerProcess again(Args(), dir_);
    EXPECT_GT(again.port(), 0) << "the right key starts";
    EXPECT_EQ(again.Signal(SIGTERM), 0);
  }
  std::filesystem::remove(key_file);
  {
    auto [rc, out] = RunTakedown("admin forget-evidence-key --store " + db_, dir_);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("forgotten"), std::string::npos) << out;
  }
  std::string made;
  {
    ServerProcess renewed(Args(), dir_);
    ASSERT_GT(renewed.port(), 0);
    made = Slurp(key_file);
    // Forgotten again while it runs: it stops within seconds (nothing more sealed with the
    // forgotten key), exit 2, saying why.
    auto [rc, out] = RunTakedown("admin forget-evidence-key --store " + db_, dir_);
    EXPECT_EQ(rc, 0) << out;
    EXPECT_EQ(renewed.Wait(30), 2) << renewed.log();
    EXPECT_NE(renewed.log().find("was forgotten in the store"), std::string::npos) << renewed.log();
  }
  EXPECT_EQ(made.size(), 32u);
  EXPECT_NE(made, key);
  // The file of the forgotten key starts again (recorded anew: the operator said it is lost).
  {
    ServerProcess again(Args(), dir_);
    ASSERT_GT(again.port(), 0);
    EXPECT_EQ(again.Signal(SIGTERM), 0);
  }
  auto [rc, out] = RunTakedown("audit verify --store " + db_, dir_);
  EXPECT_EQ(rc, 0) << out;
  auto opened = store::OpenSqliteStore(db_);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto audit = (*opened)->ReadAudit(1, 10000);
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> kinds;
  for (const auto& a : *audit) {
    if (a.kind.rfind("evidence_key.", 0) == 0) kinds.push_back(a.kind);
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"evidence_key.recorded", "evidence_key.forgotten",
                                             "evidence_key.recorded", "evidence_key.forgotten",
                                             "evidence_key.recorded"}));
}

// A store from before the key's fingerprint was recorded (an upgrade) keeps media sealed with a
// key: its first start with this build refuses a missing key file (and makes no new key) or
// another key, naming the request and item it tried; the right file starts and is recorded.
// `forget-evidence-key` on such a store (no record) lets a start make a new key.
TEST_F(ServeTest, AnUpgradedStoreWithSealedMediaRefusesAMissingOrOtherKeyBeforeRecordingOne) {
  ASSERT_EQ(sodium_init() < 0, false);
  std::string key(crypto_secretbox_KEYBYTES, '\0');
  randombytes_buf(key.data(), key.size());
  // The old store: a request with one media item, kept sealed with `key`; no key record.
  auto seal = [&](const std::string& db) {
    auto st = store::OpenSqliteStore(db);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    service::Request r;
    r.category = service::Category::kNcii;
    service::EvidenceItem e;
    e.kind = service::EvidenceKind::kMedia;
    e.index = 0;
    r.evidence.push_back(e);
    auto ids = (*st)->PutDocs({service::ToDoc(r)});
    ASSERT_TRUE(ids.ok()) << ids.status().ToString();
    const std::string plain = "the reported picture";
    std::string nonce(crypto_secretbox_NONCEBYTES, '\0');
    randombytes_buf(nonce.data(), nonce.size());
    std::string box(plain.size() + crypto_secretbox_MACBYTES, '\0');
    crypto_secretbox_easy(reinterpret_cast<unsigned char*>(box.data()),
                          reinterpret_cast<const unsigned char*>(plain.data()), plain.size(),
                          reinterpret_cast<const unsigned char*>(nonce.data()),
                          reinterpret_cast<const unsigned char*>(key.data()));
    ASSERT_TRUE((*st)->PutEvidence({ids->at(0), 0, nonce, box, 4'000'000'000'000}).ok());
  };
  ASSERT_NO_FATAL_FAILURE(seal(db_));
  const std::string key_file = dir_ + "/evidence.key";
  const std::string serve = "serve --store.path " + db_ + " --server.port 0";
  {
    auto [rc, out] = RunTakedown(serve, dir_);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find(key_file + " is missing, and this store keeps media sealed"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("item 0"), std::string::npos) << out;
    EXPECT_FALSE(std::filesystem::exists(key_file)) << "no new key was made";
  }
  {
    std::ofstream(key_file, std::ios::binary) << std::string(32, 'x');
    auto [rc, out] = RunTakedown(serve, dir_);
    EXPECT_EQ(rc, 2) << out;
    EXPECT_NE(out.find("does not open the media the store kept"), std::string::npos) << out;
  }
  std::ofstream(key_file, std::ios::binary | std::ios::trunc) << key;
  {
    ServerProcess right(Args(), dir_);
    ASSERT_GT(right.port(), 0) << "the right key starts";
    EXPECT_NE(right.log().find("recorded in the store"), std::string::npos) << right.log();
    EXPECT_EQ(right.Signal(SIGTERM), 0);
  }
  // Another old store whose key is lost for good: forgotten, then a new key is made.
  const std::string lost = dir_ + "/lost";
  std::filesystem::create_directories(lost);
  const std::string lost_db = lost + "/takedown.db";
  RunTakedown("admin create-key --create --role admin --name ops --store " + lost_db, dir_);
  ASSERT_NO_FATAL_FAILURE(seal(lost_db));
  auto [rc, out] = RunTakedown("serve --store.path " + lost_db + " --server.port 0", lost);
  EXPECT_EQ(rc, 2) << out;
  std::tie(rc, out) = RunTakedown("admin forget-evidence-key --store " + lost_db, lost);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("forgotten"), std::string::npos) << out;
  ServerProcess renewed({"--store.path", lost_db, "--server.port", "0"}, lost);
  ASSERT_GT(renewed.port(), 0);
  EXPECT_EQ(Slurp(lost + "/evidence.key").size(), 32u);
  EXPECT_EQ(renewed.Signal(SIGTERM), 0);
}

// An investigator's package end to end: the service's key made beside the store (mode 600) and
// published, a package downloaded, and `takedown verify-package` that accepts it with the
// published key and refuses it changed, or with another key.
TEST_F(ServeTest, ADownloadedPackageVerifiesWithThePublishedKeyAndNotOnceChanged) {
  const std::string police = CreateKey("requester", "police");
  const std::string reviewer = CreateKey("reviewer", "rev");
  ServerProcess serve(Args(), dir_);
  ASSERT_GT(serve.port(), 0);
  const auto st = std::filesystem::status(dir_ + "/package-signing.key");
  ASSERT_TRUE(std::filesystem::exists(st)) << "the signing key is made beside the store";
  EXPECT_EQ(st.permissions() & std::filesystem::perms::all,
            std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  httplib::Client c("127.0.0.1", serve.port());
  const auto jpeg = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 5), 90);
  const std::string body(jpeg.begin(), jpeg.end());
  for (const char* id : {"m-1", "m-2"}) {
    auto r = c.Post(
        fmt::format("/v1/check/media?content_id={}&chat_id=chat-{}&uploader_id=u-{}", id, id, id),
        Auth(platform_), body, "application/octet-stream");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
  }
  auto who = c.Get("/v1/whoami", Auth(police));
  ASSERT_TRUE(who);
  const int64_t police_id = json::parse(who->body)["key_id"];
  auto r = c.Post(fmt::format("/v1/requesters/{}", police_id), Auth(admin_),
                  R"({"source_type": "law_enforcement"})", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json filing = {{"legal_process",
                        {{"kind", "court_order"},
                         {"reference", "R-7"},
                         {"issuing_authority", "Court"},
                         {"jurisdiction", "FR"},
                         {"scope", "spread"}}},
                       {"items", json::array({{{"content_id", "m-2"}}})}};
  r = c.Post("/v1/disclosures", Auth(police), filing.dump(), "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 201) << r->body;
  const int64_t id = json::parse(r->body)["id"];
  r = c.Post(fmt::format("/v1/disclosures/{}/decision", id), Auth(reviewer),
             R"({"items": [{"item": 0, "decision": "approved", "reason": "in scope"}]})",
             "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  r = c.Get(fmt::format("/v1/disclosures/{}/package", id), Auth(police));
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_NE(r->get_header_value("Content-Disposition").find("attachment"), std::string::npos);
  const std::string package = r->body;
  auto k = c.Get("/.well-known/takedown-package-key");
  ASSERT_TRUE(k);
  ASSERT_EQ(k->status, 200) << k->body;
  const std::string pub = json::parse(k->body)["public_key"];
  const std::string file = dir_ + "/package.json";
  std::ofstream(file) << package;
  auto [rc, out] = RunTakedown("verify-package " + file + " --public-key " + pub, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("package verified"), std::string::npos) << out;
  EXPECT_NE(out.find("2 copies"), std::string::npos) << out;
  std::string changed = package;
  changed.replace(changed.find("u-m-1"), 5, "u-m-9");
  std::ofstream(file, std::ios::trunc) << changed;
  std::tie(rc, out) = RunTakedown("verify-package " + file + " --public-key " + pub, dir_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("does not match"), std::string::npos) << out;
  std::ofstream(file, std::ios::trunc) << package;
  std::tie(rc, out) = RunTakedown(
      "verify-package " + file + " --public-key AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
      dir_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("not by the expected key"), std::string::npos) << out;
  // The published keys saved as they are served: the package's key is one of them.
  const std::string keys_file = dir_ + "/keys.json";
  std::ofstream(keys_file) << k->body;
  EXPECT_EQ(json::parse(k->body)["keys"].size(), 1u) << k->body;
  std::tie(rc, out) = RunTakedown("verify-package " + file + " --keys " + keys_file, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("one of the published keys"), std::string::npos) << out;
  json others = json::parse(k->body);
  others["public_key"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
  others["keys"][0]["public_key"] = others["public_key"];
  std::ofstream(keys_file, std::ios::trunc) << others.dump();
  std::tie(rc, out) = RunTakedown("verify-package " + file + " --keys " + keys_file, dir_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("not among the keys"), std::string::npos) << out;
  std::ofstream(file, std::ios::trunc) << "{\"format\": 1}";
  std::tie(rc, out) = RunTakedown("verify-package " + file, dir_);
  EXPECT_EQ(rc, 1) << out;
  EXPECT_NE(out.find("not a package"), std::string::npos) << out;
}

TEST_F(ServeTest, TurningTheSandboxOffIsLoggedAsAWarning) {
  auto args = Args();
  args.insert(args.end(), {"--sandbox.enabled", "false"});
  ServerProcess serve(args, dir_);
  ASSERT_GT(serve.port(), 0);
  EXPECT_NE(serve.log().find("warning: sandbox.enabled is false"), std::string::npos)
      << serve.log();
  EXPECT_TRUE(ChildrenOf(serve.pid()).empty());
}

TEST_F(ServeTest, AdminToolsOnAMissingStoreNameThePathAndCreateNothing) {
  const std::string missing = dir_ + "/typo.db";
  for (const std::string& cmd :
       {"admin create-key --role admin --name x --store " + missing,
        "admin list-keys --store " + missing, "admin revoke-key 1 --store " + missing,
        "audit verify --store " + missing}) {
    auto [rc, out] = RunTakedown(cmd, dir_);
    EXPECT_NE(rc, 0) << cmd << ": " << out;
    EXPECT_NE(out.find("typo.db"), std::string::npos) << cmd << ": " << out;
    EXPECT_FALSE(std::filesystem::exists(missing)) << cmd;
  }
  auto [rc, out] =
      RunTakedown("admin create-key --create --role admin --name x --store " + missing, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::filesystem::exists(missing));
}

TEST_F(ServeTest, KeyNamesWithControlCharactersAreRefused) {
  auto [rc, out] = RunTakedown(
      "admin create-key --role admin --name \"$(printf 'ops\\n4\\tadmin\\tforged\\tactive')\" "
      "--store " +
          db_,
      dir_);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("control characters"), std::string::npos) << out;
  std::tie(rc, out) = RunTakedown("admin list-keys --store " + db_, dir_);
  EXPECT_EQ(out.find("forged"), std::string::npos) << out;
}

// store.backend postgres (PostgreSQL of the test's own): the admin tools on the database; one
// `takedown serve` runs the workflow per database, holding its lease: a second store.role all
// process waits as a standby (naming the holder), serving the upload gate and answering the
// workflow's routes with 503; a kill -9 of the first mid-load loses nothing acknowledged, and the
// standby takes the workflow over once the lease lapses (seconds: store.lease_s 5 here) and finds
// everything; the audit chain verifies; the connection string's password is in no log; admin
// backup names PostgreSQL's own tools instead.
TEST_F(ServeTest, OnPostgresOneWorkflowPerDatabaseAStandbyTakesOverAfterKillDashNine) {
  auto url = NewPostgresDatabase();
  if (!url.ok() && url.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << url.status().message();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  // Trust authentication ignores the password; it is there to be looked for in the logs.
  const std::string conn = *url + " password=pw-never-logged";
  const std::string store = "--store.backend postgres --store.url '" + conn + "'";
  const std::string admin = PostgresKey(store, "admin"), platform = PostgresKey(store, "platform");
  // With PostgreSQL the key files are the working directory's unless given.
  const std::vector<std::string> args = {"--store.backend",
                                         "postgres",
                                         "--store.url",
                                         conn,
                                         "--server.port",
                                         "0",
                                         "--evidence.key_file",
                                         dir_ + "/evidence.key",
                                         "--packages.signing_key_file",
                                         dir_ + "/package-signing.key",
                                         "--store.lease_s",
                                         "5"};
  std::set<std::string> acked;
  std::string logs;
  std::unique_ptr<ServerProcess> standby;
  std::chrono::steady_clock::time_point killed;
  {
    ServerProcess a(args, dir_);
    ASSERT_GT(a.port(), 0);
    EXPECT_NE(a.log().find("PostgreSQL database t"), std::string::npos) << a.log();
    std::filesystem::create_directories(dir_ + "/standby");  // its own serve.out and .err
    standby = std::make_unique<ServerProcess>(args, dir_ + "/standby");
    ASSERT_GT(standby->port(), 0);
    EXPECT_NE(standby->log().find("standby: the workflow lease is held by takedown serve pid " +
                                  std::to_string(a.pid())),
              std::string::npos)
        << standby->log();
    {
      httplib::Client s("127.0.0.1", standby->port());
      auto r = s.Get("/v1/actions", Auth(platform));
      ASSERT_TRUE(r);
      EXPECT_EQ(r->status, 503) << r->body;
      EXPECT_NE(r->body.find("waits as a standby"), std::string::npos) << r->body;
      // Ready for the gate, and saying that the workflow runs elsewhere; the holder runs it.
      auto ready = s.Get("/readyz");
      ASSERT_TRUE(ready);
      EXPECT_EQ(ready->status, 200);
      EXPECT_EQ(json::parse(ready->body).value("workflow", ""), "not here") << ready->body;
      httplib::Client holder("127.0.0.1", a.port());
      auto held = holder.Get("/readyz");
      ASSERT_TRUE(held);
      EXPECT_EQ(json::parse(held->body).value("workflow", ""), "running") << held->body;
    }
    httplib::Client c("127.0.0.1", a.port());
    ASSERT_NO_FATAL_FAILURE(BankPdqOne(c, admin));
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread load([&] { Hammer(a.port(), stop, acked, mu, platform); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(a.Signal(SIGKILL), -SIGKILL);  // mid-load
    killed = std::chrono::steady_clock::now();
    stop = true;
    load.join();
    logs += a.log();
  }
  ASSERT_GT(acked.size(), 20u) << "the load did not get going";
  // The standby takes the workflow over once the killed one's lease lapses (5 s).
  ServerProcess& b = *standby;
  httplib::Client c("127.0.0.1", b.port());
  int status = 0;
  while (std::chrono::steady_clock::now() - killed < std::chrono::seconds(20)) {
    auto r = c.Get("/v1/actions", Auth(platform));
    status = r ? r->status : 0;
    if (status == 200) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(status, 200) << b.log();
  EXPECT_EQ(json::parse(c.Get("/readyz")->body).value("workflow", ""), "running");
  const double took =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  std::printf("standby took the workflow over %.1f s after the kill -9 (lease 5 s)\n", took);
  EXPECT_GE(took, 1.0) << "taken over before the holder's lease could lapse";
  EXPECT_NE(b.log().find("standby: took over the workflow lease"), std::string::npos) << b.log();
  ExpectAllRecorded(b.port(), acked, platform);
  auto blocked = c.Post("/v1/check", Auth(platform),
                        json{{"content_id", "again"}, {"signals", {{"pdq", Pdq(1)}}}}.dump(),
                        "application/json");
  ASSERT_EQ(blocked->status, 200) << blocked->body;
  EXPECT_EQ(json::parse(blocked->body)["decision"], "block");
  EXPECT_EQ(b.Signal(SIGTERM), 0);
  logs += b.log();
  auto [rc, out] = RunTakedown("audit verify " + store, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;
  std::tie(rc, out) =
      RunTakedown("admin backup --to " + dir_ + "/copy.db --store.backend postgres", dir_);
  EXPECT_NE(rc, 0) << out;
  EXPECT_NE(out.find("pg_dump"), std::string::npos) << out;
  EXPECT_EQ(logs.find("pw-never-logged"), std::string::npos) << logs;
}

// An evidence key forgotten while processes run with it (PostgreSQL, a holder and a standby with
// the same key file): the holder stops (exit 2) within seconds, and the standby that takes the
// workflow over stops too, rather than record the forgotten key again; the record stays
// forgotten, so the next start with a new file makes a new key.
TEST_F(ServeTest, OnPostgresAForgottenEvidenceKeyStopsTheHolderAndTheStandbyTakingOver) {
  auto url = NewPostgresDatabase();
  if (!url.ok() && url.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << url.status().message();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const std::string store = "--store.backend postgres --store.url '" + *url + "'";
  PostgresKey(store, "admin");
  const std::string key_file = dir_ + "/evidence.key";
  const std::vector<std::string> args = {
      "--store.backend",     "postgres", "--store.url",     *url, "--server.port", "0",
      "--evidence.key_file", key_file,   "--store.lease_s", "3"};
  ServerProcess a(args, dir_);
  ASSERT_GT(a.port(), 0);
  std::filesystem::create_directories(dir_ + "/standby");
  ServerProcess b(args, dir_ + "/standby");
  ASSERT_GT(b.port(), 0);
  ASSERT_NE(b.log().find("standby:"), std::string::npos) << b.log();
  auto [rc, out] = RunTakedown("admin forget-evidence-key " + store, dir_);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_EQ(a.Wait(30), 2) << a.log();
  EXPECT_NE(a.log().find("was forgotten in the store"), std::string::npos) << a.log();
  EXPECT_EQ(b.Wait(30), 2) << b.log();
  EXPECT_NE(b.log().find("standby: took over the workflow lease"), std::string::npos) << b.log();
  EXPECT_NE(b.log().find("was forgotten in the store"), std::string::npos) << b.log();
  // Still forgotten: a start without the old file makes a new key and records it.
  const std::string old_key = Slurp(key_file);
  std::filesystem::remove(key_file);
  {
    ServerProcess renewed(args, dir_);
    ASSERT_GT(renewed.port(), 0);
    EXPECT_EQ(renewed.Signal(SIGTERM), 0);
  }
  EXPECT_EQ(Slurp(key_file).size(), 32u);
  EXPECT_NE(Slurp(key_file), old_key);
  std::tie(rc, out) = RunTakedown("audit verify " + store, dir_);
  EXPECT_EQ(rc, 0) << out;
}

// Several active workflows (issue 21 item 3, store.workflow shared): two store.role all processes
// on one PostgreSQL both run the workflow, with no lease and no standby. Requests filed at
// either are swept at the one that took them, with copies recorded at both; every removal
// reaches the platform's webhook once; a kill -9 of one mid-delivery loses nothing (what it had
// claimed is delivered by the other once its claim lapses, same idempotency key); the audit
// chain verifies.
TEST_F(ServeTest, OnPostgresTwoSharedWorkflowsDeliverEachRemovalOnceAndSurviveAKill) {
  auto url = NewPostgresDatabase();
  if (!url.ok() && url.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << url.status().message();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const std::string store = "--store.backend postgres --store.url '" + *url + "'";
  const std::string admin = PostgresKey(store, "admin"), platform = PostgresKey(store, "platform");
  const std::string requester = PostgresKey(store, "requester");
  RemovalReceiver receiver(20);
  auto args = [&](const std::string& sub) {
    std::filesystem::create_directories(dir_ + "/" + sub);
    return std::vector<std::string>{"--store.backend",
                                    "postgres",
                                    "--store.url",
                                    *url,
                                    "--store.workflow",
                                    "shared",
                                    "--server.port",
                                    "0",
                                    "--webhook.url",
                                    receiver.url(),
                                    "--webhook.claim_s",
                                    "15",
                                    "--evidence.key_file",
                                    dir_ + "/evidence.key",
                                    "--packages.signing_key_file",
                                    dir_ + "/package-signing.key"};
  };
  auto a = std::make_unique<ServerProcess>(args("a"), dir_ + "/a");
  ServerProcess b(args("b"), dir_ + "/b");
  ASSERT_GT(a->port(), 0);
  ASSERT_GT(b.port(), 0);
  for (ServerProcess* p : {a.get(), &b}) {
    EXPECT_NE(p->log().find("store.workflow shared"), std::string::npos) << p->log();
    EXPECT_EQ(p->log().find("standby"), std::string::npos) << p->log();
    httplib::Client c("127.0.0.1", p->port());
    EXPECT_EQ(json::parse(c.Get("/readyz")->body).value("workflow", ""), "running");
  }
  httplib::Client ca("127.0.0.1", a->port()), cb("127.0.0.1", b.port());
  // A console session made at A is known at B (kept in the database: no sticky sessions), and
  // signing out at B ends it at A.
  {
    auto in = ca.Post("/console/session", Auth(admin), "", "application/json");
    ASSERT_TRUE(in);
    ASSERT_EQ(in->status, 201) << in->body;
    const std::string set = in->get_header_value("Set-Cookie");
    const httplib::Headers cookie = {{"Cookie", set.substr(0, set.find(';'))}};
    auto at_b = cb.Get("/console/session", cookie);
    ASSERT_TRUE(at_b);
    EXPECT_EQ(at_b->status, 200) << at_b->body;
    EXPECT_EQ(json::parse(at_b->body).value("csrf_token", ""),
              json::parse(in->body).value("csrf_token", ""));
    httplib::Headers out = cookie;
    out.emplace("X-CSRF-Token", json::parse(in->body).value("csrf_token", ""));
    ASSERT_EQ(cb.Delete("/console/session", out)->status, 200);
    EXPECT_EQ(ca.Get("/console/session", cookie)->status, 401) << "signed out at B, still in at A";
  }
  const json me = json::parse(ca.Get("/v1/whoami", Auth(requester))->body);
  ASSERT_EQ(ca.Post(fmt::format("/v1/requesters/{}", me["key_id"].get<int64_t>()), Auth(admin),
                    R"({"source_type":"authority_order","trusted":true})", "application/json")
                ->status,
            200);
  // 3 copies of each of 16 files: two recorded at A, one at B.
  constexpr int kFiles = 16, kCopies = 3;
  for (int f = 0; f < kFiles; ++f) {
    for (int k = 0; k < kCopies; ++k) {
      httplib::Client& at = k < 2 ? ca : cb;
      auto r = at.Post("/v1/check", Auth(platform),
                       json{{"content_id", fmt::format("c{}-{}", f, k)},
                            {"chat_id", fmt::format("chat-{}", k)},
                            {"uploader_id", "u"},
                            {"signals", {{"md5", fmt::format("{:032x}", 0xfeed00 + f)}}}}
                           .dump(),
                       "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
    }
  }
  // Filed alternately at A and B, at once from two threads; A is killed half-way.
  std::mutex mu;
  std::vector<int64_t> ids(kFiles, 0);
  std::vector<std::string> refused;
  auto file = [&](int f, httplib::Client& at) {
    json body = {{"category", "deepfake-sexual"},
                 {"explanation", "deepfake sexual video"},
                 {"legal_basis", "Art. 21"},
                 {"issuing_authority", "KCSC"},
                 {"evidence", json::array({{{"md5", fmt::format("{:032x}", 0xfeed00 + f)}}})}};
    auto r = at.Post("/v1/requests", Auth(requester), body.dump(), "application/json");
    if (r && r->status == 201) {
      ids[static_cast<size_t>(f)] = json::parse(r->body)["id"].get<int64_t>();
    } else {
      std::lock_guard l(mu);
      refused.push_back(fmt::format(
          "file {}: {}", f,
          r ? fmt::format("HTTP {} {}", r->status, r->body) : httplib::to_string(r.error())));
    }
  };
  std::thread at_a([&] {
    for (int f = 0; f < kFiles / 2; f += 2) file(f, ca);
  });
  for (int f = 1; f < kFiles; f += 2) file(f, cb);
  at_a.join();
  EXPECT_EQ(a->Signal(SIGKILL), -SIGKILL);  // whatever it was delivering is left claimed
  a.reset();
  for (int f = kFiles / 2; f < kFiles; f += 2) file(f, cb);
  EXPECT_TRUE(refused.empty()) << fmt::format("{}", fmt::join(refused, "\n"));
  // Every removal delivered: B takes up A's claims once they lapse (webhook.claim_s 15).
  const auto t0 = std::chrono::steady_clock::now();
  size_t delivered = 0;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(60)) {
    {
      std::lock_guard l(receiver.mu);
      delivered = receiver.deliveries.size();
    }
    if (delivered == static_cast<size_t>(kFiles * kCopies)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(delivered, static_cast<size_t>(kFiles * kCopies)) << b.log();
  int twice = 0;
  {
    std::lock_guard l(receiver.mu);
    for (const auto& [item, n] : receiver.deliveries) {
      twice += n > 1;
      EXPECT_EQ(receiver.keys_by_item[item].size(), 1u)
          << item << ": one idempotency key however often sent";
    }
  }
  // Only what the killed process sent and had not recorded comes twice.
  std::printf("removals delivered more than once (after the kill -9): %d of %d\n", twice,
              kFiles * kCopies);
  EXPECT_LE(twice, 16);
  for (int64_t id : ids) {
    auto v = cb.Get(fmt::format("/v1/requests/{}", id), Auth(requester));
    ASSERT_TRUE(v);
    EXPECT_NE(json::parse(v->body).value("status", ""), "approved") << v->body;
  }
  EXPECT_EQ(b.Signal(SIGTERM), 0);
  receiver.Stop();
  auto [rc, out] = RunTakedown("audit verify " + store, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;
}

// Replicas (issue 21 item 2): one `takedown serve` running everything (store.role all) and two
// gate replicas (store.role gate) on one PostgreSQL. An entry added at the first blocks uploads
// at both replicas within a second or so; a gate replica answers the workflow's routes with a
// 503 that says where to go; a kill -9 of a replica mid-load loses no acknowledged upload (the
// first one finds every one recorded) and it starts again; the audit chain verifies. A gate
// replica on SQLite is refused.
TEST_F(ServeTest, OnPostgresGateReplicasFollowTheWorkflowsProcessAndServeTheGate) {
  auto url = NewPostgresDatabase();
  if (!url.ok() && url.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << url.status().message();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const std::string store = "--store.backend postgres --store.url '" + *url + "'";
  const std::string admin = PostgresKey(store, "admin"), platform = PostgresKey(store, "platform"),
                    requester = PostgresKey(store, "requester");
  auto args = [&](const std::string& role, const std::string& sub) {
    std::filesystem::create_directories(dir_ + "/" + sub);
    return std::vector<std::string>{"--store.backend",
                                    "postgres",
                                    "--store.url",
                                    *url,
                                    "--store.role",
                                    role,
                                    "--server.port",
                                    "0",
                                    "--evidence.key_file",
                                    dir_ + "/evidence.key",
                                    "--packages.signing_key_file",
                                    dir_ + "/package-signing.key"};
  };
  ServerProcess a(args("all", "a"), dir_ + "/a");
  ASSERT_GT(a.port(), 0) << a.log();
  auto b = std::make_unique<ServerProcess>(args("gate", "b"), dir_ + "/b");
  ServerProcess c(args("gate", "c"), dir_ + "/c");
  ASSERT_GT(b->port(), 0) << b->log();
  ASSERT_GT(c.port(), 0) << c.log();
  EXPECT_NE(b->log().find("store.role gate"), std::string::npos) << b->log();

  httplib::Client ca("127.0.0.1", a.port());
  ASSERT_NO_FATAL_FAILURE(BankPdqOne(ca, admin));
  const auto added = std::chrono::steady_clock::now();
  int probe = 0;
  for (int port : {b->port(), c.port()}) {
    httplib::Client cl("127.0.0.1", port);
    std::string decision;
    while (std::chrono::steady_clock::now() - added < std::chrono::seconds(5)) {
      auto r = cl.Post(
          "/v1/check", Auth(platform),
          json{{"content_id", fmt::format("probe-{}", probe++)}, {"signals", {{"pdq", Pdq(1)}}}}
              .dump(),
          "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      decision = json::parse(r->body)["decision"];
      if (decision == "block") break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_EQ(decision, "block") << "the entry added at the first process never blocked at port "
                                 << port;
  }
  std::printf(
      "an entry added at the workflow's process blocked at both gate replicas after %.0f ms\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - added).count());
  // The workflow lives in the first process only; a replica says so.
  httplib::Client cb("127.0.0.1", b->port());
  auto req = cb.Post("/v1/requests", Auth(requester), R"({"category":"ncii"})", "application/json");
  ASSERT_TRUE(req);
  EXPECT_EQ(req->status, 503);
  EXPECT_NE(req->body.find("store.role gate"), std::string::npos) << req->body;
  // Bank reads are served by a replica too, from the shared store.
  auto banks = cb.Get("/v1/banks", Auth(admin));
  ASSERT_TRUE(banks);
  EXPECT_EQ(banks->status, 200) << banks->body;
  auto metrics = cb.Get("/metrics", Auth(admin));
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("takedown_replica_changes_applied_total"), std::string::npos);
  EXPECT_NE(metrics->body.find("takedown_replica_lag_seconds"), std::string::npos);

  // kill -9 of a replica mid-load: every upload it acknowledged is recorded (asked at the first
  // process); it starts again and serves.
  std::set<std::string> acked;
  {
    std::atomic<bool> stop{false};
    std::mutex mu;
    std::thread load([&] { Hammer(b->port(), stop, acked, mu, platform); });
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    EXPECT_EQ(b->Signal(SIGKILL), -SIGKILL);
    stop = true;
    load.join();
  }
  ASSERT_GT(acked.size(), 20u) << "the load did not get going";
  ExpectAllRecorded(a.port(), acked, platform);
  b = std::make_unique<ServerProcess>(args("gate", "b"), dir_ + "/b");
  ASSERT_GT(b->port(), 0) << b->log();
  httplib::Client cb2("127.0.0.1", b->port());
  auto again =
      cb2.Post("/v1/check", Auth(platform),
               json{{"content_id", "after-restart"}, {"signals", {{"pdq", Pdq(1)}}}}.dump(),
               "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(json::parse(again->body)["decision"], "block") << again->body;
  EXPECT_EQ(b->Signal(SIGTERM), 0);
  EXPECT_EQ(c.Signal(SIGTERM), 0);
  EXPECT_EQ(a.Signal(SIGTERM), 0);
  auto [rc, out] = RunTakedown("audit verify " + store, dir_);
  EXPECT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("intact"), std::string::npos) << out;

  // A gate replica needs a store other processes share.
  std::tie(rc, out) =
      RunTakedown("serve --store.role gate --server.port 0 --store.path " + db_, dir_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("store.role gate needs store.backend postgres"), std::string::npos) << out;
}

std::string ReadSource(const std::string& rel) {
  std::ifstream f(std::string(TAKEDOWN_SOURCE_DIR) + "/" + rel, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

TEST(ServeConfig, TheShippedFileLoadsAndItsValuesAreTheDefaults) {
  auto none = [](const char*) -> const char* { return nullptr; };
  auto shipped =
      cli::LoadServeConfig(std::string(TAKEDOWN_SOURCE_DIR) + "/config/takedown.toml", none, {});
  ASSERT_TRUE(shipped.ok()) << shipped.status().message();
  auto defaults = cli::LoadServeConfig("", none, {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(shipped->store_path, defaults->store_path);
  EXPECT_EQ(shipped->server.port, defaults->server.port);
  EXPECT_EQ(shipped->server.threads, defaults->server.threads);
  EXPECT_EQ(shipped->server.max_body_bytes, defaults->server.max_body_bytes);
  EXPECT_EQ(shipped->webhook_workers, defaults->webhook_workers);
  EXPECT_EQ(shipped->evidence_key_file, defaults->evidence_key_file);
  EXPECT_EQ(shipped->mail.max_message_bytes, defaults->mail.max_message_bytes);
  EXPECT_EQ(shipped->mail.templates_dir, "");
  EXPECT_EQ(shipped->log_level, defaults->log_level);
  EXPECT_EQ(shipped->video.frame_threshold, defaults->video.frame_threshold);
  EXPECT_EQ(shipped->video.match_percent, defaults->video.match_percent);
  EXPECT_EQ(shipped->video.clip_seconds, defaults->video.clip_seconds);
  EXPECT_EQ(shipped->video.clip_percent, defaults->video.clip_percent);
  EXPECT_EQ(shipped->video.clip_min_frames, defaults->video.clip_min_frames);
  EXPECT_EQ(shipped->video.edge_clip_seconds, defaults->video.edge_clip_seconds);
}

// The video rule's settings: read whole, in range, or refused naming the key.
TEST(ServeConfig, TheVideoRuleIsConfigurableAndBounded) {
  auto none = [](const char*) -> const char* { return nullptr; };
  auto c = cli::LoadServeConfig("", none,
                                {{"video.clip_seconds", "0"},
                                 {"video.frame_threshold", "24"},
                                 {"video.edge_clip_seconds", "0"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->video.clip_seconds, 0.0);
  EXPECT_EQ(c->video.frame_threshold, 24);
  EXPECT_EQ(c->video.edge_clip_seconds, 0.0);
  for (const auto& [key, value] :
       std::vector<std::pair<std::string, std::string>>{{"video.clip_percent", "20"},
                                                        {"video.match_percent", "80%"},
                                                        {"video.clip_seconds", "5.5"},
                                                        {"video.frame_threshold", "65"},
                                                        {"video.clip_min_frames", "1"},
                                                        {"video.edge_clip_seconds", "-1"},
                                                        {"video.edge_clip_seconds", "3601"}}) {
    auto bad = cli::LoadServeConfig("", none, {{key, value}});
    ASSERT_FALSE(bad.ok()) << key << "=" << value;
    EXPECT_NE(bad.status().message().find(key), std::string::npos) << bad.status().message();
  }
}

// Content shards (issue 21 item 4), as processes: A runs the workflow and holds shard 0 of 2, B is
// a gate replica holding shard 1. A trusted request at A removes the copies recorded in both
// shards. B killed with kill -9: /readyz and /metrics at A show shard 1 unheld within the
// heartbeat's lifetime, and a request approved meanwhile stays approved (its hash blocks at the
// gate); B started again, the workflow sweeps it by itself. The audit chain verifies.
TEST_F(ServeTest, OnPostgresASweepCoversEveryContentShardAndWaitsForOneWithNoProcess) {
  auto url = NewPostgresDatabase();
  if (!url.ok() && url.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << url.status().message();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const std::string store = "--store.backend postgres --store.url '" + *url + "'";
  const std::string admin = PostgresKey(store, "admin"), platform = PostgresKey(store, "platform"),
                    requester = PostgresKey(store, "requester");
  auto args = [&](const std::string& role, const std::string& hold, const std::string& sub) {
    return ShardedServeArgs(*url, role, hold, sub);
  };
  ServerProcess a(args("all", "0", "a"), dir_ + "/a");
  ASSERT_GT(a.port(), 0) << a.log();
  auto b = std::make_unique<ServerProcess>(args("gate", "1", "b"), dir_ + "/b");
  ASSERT_GT(b->port(), 0) << b->log();
  EXPECT_NE(a.log().find("content shards: this process holds shards 0 of 2"), std::string::npos)
      << a.log();
  httplib::Client ca("127.0.0.1", a.port()), cb("127.0.0.1", b->port());
  const json me = json::parse(ca.Get("/v1/whoami", Auth(requester))->body);
  ASSERT_EQ(ca.Post(fmt::format("/v1/requesters/{}", me["key_id"].get<int64_t>()), Auth(admin),
                    R"({"source_type":"trusted_flagger","trusted":true})", "application/json")
                ->status,
            200);
  // Copies of two pictures uploaded through both processes; their ids fall into both shards.
  std::map<int, std::set<std::string>> copies;
  std::set<int> shards_used;
  for (int pic : {1, 2}) {
    for (int i = 0; i < 8; ++i) {
      const std::string id = fmt::format("pic{}-copy{}", pic, i);
      auto r = (i % 2 ? ca : cb)
                   .Post("/v1/check", Auth(platform),
                         json{{"content_id", id}, {"signals", {{"pdq", Pdq(pic)}}}}.dump(),
                         "application/json");
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      copies[pic].insert(id);
      shards_used.insert(service::ShardOf(id, 2));
    }
  }
  ASSERT_EQ(shards_used.size(), 2u);
  auto ready = [&] { return json::parse(ca.Get("/readyz")->body); };
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // /readyz reads it once a second
  EXPECT_EQ(ready()["content_shards"]["status"], "complete") << ready().dump() << b->log();
  auto file = [&](int pic) {
    json body = {{"category", "ncii"},
                 {"explanation", "an intimate picture shared without consent"},
                 {"notifier", {{"name", "Analyst Kim"}, {"email", "kim@hotline.example"}}},
                 {"accuracy_statement", true},
                 {"evidence", json::array({{{"pdq", Pdq(pic)}}})}};
    auto r = ca.Post("/v1/requests", Auth(requester), body.dump(), "application/json");
    EXPECT_TRUE(r && r->status == 201) << (r ? r->body : "no answer");
    return r ? json::parse(r->body) : json();
  };
  auto removed = [&](int64_t request) {
    std::set<std::string> out;
    auto r = ca.Get("/v1/actions?state=pending&limit=100", Auth(platform));
    EXPECT_TRUE(r && r->status == 200) << (r ? r->body : "no answer");
    if (!r) return out;
    const json listed = json::parse(r->body);
    for (const auto& act : listed["actions"]) {
      if (act["request_id"].get<int64_t>() == request)
        out.insert(act["content_id"].get<std::string>());
    }
    return out;
  };
  const json first = file(1);
  EXPECT_EQ(first["status"], "actioned") << first.dump();
  EXPECT_EQ(removed(first["id"].get<int64_t>()), copies[1])
      << "a copy in some shard was missed: " << first.dump();

  // B gone: shard 1 has no live process; a sweep waits for it.
  EXPECT_EQ(b->Signal(SIGKILL), -SIGKILL);
  const auto t0 = std::chrono::steady_clock::now();
  while (ready()["content_shards"]["status"] != "incomplete" &&
         std::chrono::steady_clock::now() - t0 < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(ready()["content_shards"]["unheld"], json::array({1})) << ready().dump();
  auto metrics = ca.Get("/metrics", Auth(admin));
  ASSERT_TRUE(metrics);
  EXPECT_NE(metrics->body.find("takedown_content_shards_unheld 1"), std::string::npos)
      << metrics->body;
  const json second = file(2);
  const int64_t second_id = second["id"];
  EXPECT_EQ(second["status"], "approved") << second.dump();
  auto gate = ca.Post("/v1/check", Auth(platform),
                      json{{"content_id", "pic2-new"}, {"signals", {{"pdq", Pdq(2)}}}}.dump(),
                      "application/json");
  ASSERT_TRUE(gate);
  EXPECT_EQ(json::parse(gate->body)["decision"], "block") << "held back, yet blocking";
  EXPECT_NE(a.log().find("content shard 1 of 2 has no live replica"), std::string::npos) << a.log();

  b = std::make_unique<ServerProcess>(args("gate", "1", "b2"), dir_ + "/b2");
  ASSERT_GT(b->port(), 0) << b->log();
  json view;
  const auto t1 = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - t1 < std::chrono::seconds(30)) {
    view = json::parse(ca.Get(fmt::format("/v1/requests/{}", second_id), Auth(requester))->body);
    if (view["status"] != "approved") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_EQ(view["status"], "actioned") << view.dump();
  EXPECT_EQ(removed(second_id), copies[2]);
  EXPECT_EQ(ready()["content_shards"]["status"], "complete");
  EXPECT_EQ(b->Signal(SIGTERM), 0);
  EXPECT_EQ(a.Signal(SIGTERM), 0);
  auto [rc, out] = RunTakedown("audit verify " + store, dir_);
  EXPECT_EQ(rc, 0) << out;
  // Shards need a store other processes share.
  std::tie(rc, out) =
      RunTakedown("serve --content.shards 2 --server.port 0 --store.path " + db_, dir_);
  EXPECT_EQ(rc, 2) << out;
  EXPECT_NE(out.find("content.shards 2 needs store.backend postgres"), std::string::npos) << out;
}

// A content-shard holder that loads no bank (store.role shard): A runs everything and holds shard
// 0 of 2, C holds shard 1 only. C starts with none of the bank's entries in memory, yet a sweep
// at A finds the copies recorded (through A) in C's shard; C refuses uploads and entry changes
// with 503, naming its role.
TEST_F(ServeTest, OnPostgresAShardHolderWithoutTheBankAnswersSweepsAndRefusesUploads) {
  auto url = NewPostgresDatabase();
  if (!url.ok() && url.status().code() == StatusCode::kNotFound)
    GTEST_SKIP() << "SKIPPED, PostgreSQL cannot run here: " << url.status().message();
  ASSERT_TRUE(url.ok()) << url.status().ToString();
  const std::string store = "--store.backend postgres --store.url '" + *url + "'";
  const std::string admin = PostgresKey(store, "admin"), platform = PostgresKey(store, "platform"),
                    requester = PostgresKey(store, "requester");
  auto args = [&](const std::string& role, const std::string& hold, const std::string& sub) {
    return ShardedServeArgs(*url, role, hold, sub);
  };
  ServerProcess a(args("all", "0", "a"), dir_ + "/a");
  ASSERT_GT(a.port(), 0) << a.log();
  httplib::Client ca("127.0.0.1", a.port());
  ASSERT_EQ(
      ca.Post("/v1/banks", Auth(admin), R"({"name":"list","category":"ncii"})", "application/json")
          ->status,
      201);
  ASSERT_EQ(ca.Post("/v1/banks/list/entries", Auth(admin), json{{"pdq", Pdq(9)}}.dump(),
                    "application/json")
                ->status,
            201);
  ServerProcess c(args("shard", "1", "c"), dir_ + "/c");
  ASSERT_GT(c.port(), 0) << c.log();
  const auto started = std::chrono::steady_clock::now();
  while (c.log().find("store.role shard: holding content shards 1 of 2") == std::string::npos &&
         std::chrono::steady_clock::now() - started < std::chrono::seconds(20))
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_NE(c.log().find("store.role shard: holding content shards 1 of 2"), std::string::npos)
      << c.log();
  EXPECT_NE(c.log().find("ready: 0 bank entries"), std::string::npos) << c.log();
  httplib::Client cc("127.0.0.1", c.port());

  std::set<std::string> copies;
  std::set<int> shards_used;
  for (int i = 0; i < 8; ++i) {
    const std::string id = fmt::format("pic1-copy{}", i);
    auto r = ca.Post("/v1/check", Auth(platform),
                     json{{"content_id", id}, {"signals", {{"pdq", Pdq(1)}}}}.dump(),
                     "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200) << r->body;
    copies.insert(id);
    shards_used.insert(service::ShardOf(id, 2));
  }
  ASSERT_EQ(shards_used.size(), 2u);
  // Refused at C, whatever the body: no bank is held there.
  auto upload = cc.Post("/v1/check", Auth(platform),
                        json{{"content_id", "at-c"}, {"signals", {{"pdq", Pdq(9)}}}}.dump(),
                        "application/json");
  ASSERT_TRUE(upload);
  EXPECT_EQ(upload->status, 503) << upload->body;
  EXPECT_NE(upload->body.find("store.role shard"), std::string::npos) << upload->body;
  auto entry = cc.Post("/v1/banks/list/entries", Auth(admin), json{{"pdq", Pdq(3)}}.dump(),
                       "application/json");
  ASSERT_TRUE(entry);
  EXPECT_EQ(entry->status, 503) << entry->body;

  const json me = json::parse(ca.Get("/v1/whoami", Auth(requester))->body);
  ASSERT_EQ(ca.Post(fmt::format("/v1/requesters/{}", me["key_id"].get<int64_t>()), Auth(admin),
                    R"({"source_type":"trusted_flagger","trusted":true})", "application/json")
                ->status,
            200);
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // C's heartbeat is read
  json body = {{"category", "ncii"},
               {"explanation", "an intimate picture shared without consent"},
               {"notifier", {{"name", "Analyst Kim"}, {"email", "kim@hotline.example"}}},
               {"accuracy_statement", true},
               {"evidence", json::array({{{"pdq", Pdq(1)}}})}};
  auto filed = ca.Post("/v1/requests", Auth(requester), body.dump(), "application/json");
  ASSERT_TRUE(filed);
  ASSERT_EQ(filed->status, 201) << filed->body;
  const json request = json::parse(filed->body);
  EXPECT_EQ(request["status"], "actioned") << request.dump() << c.log();
  std::set<std::string> removed;
  const json listed =
      json::parse(ca.Get("/v1/actions?state=pending&limit=100", Auth(platform))->body);
  for (const auto& act : listed["actions"]) {
    if (act["request_id"] == request["id"]) removed.insert(act["content_id"].get<std::string>());
  }
  EXPECT_EQ(removed, copies) << "a copy in C's shard was missed";
  // The sweep added the reported hash to a bank at A; C follows no entry. Its content index
  // holds its own shard's copies only.
  auto metrics = [&](httplib::Client& at) {
    auto r = at.Get("/metrics", Auth(admin));
    return r ? r->body : std::string();
  };
  EXPECT_NE(metrics(ca).find("takedown_bank_entries 2"), std::string::npos) << metrics(ca);
  const std::string at_c = metrics(cc);
  EXPECT_NE(at_c.find("takedown_bank_entries 0"), std::string::npos) << at_c;
  const size_t in_c =
      static_cast<size_t>(std::count_if(copies.begin(), copies.end(), [](const std::string& id) {
        return service::ShardOf(id, 2) == 1;
      }));
  EXPECT_NE(at_c.find(fmt::format("takedown_content_items {}", in_c)), std::string::npos) << at_c;
  EXPECT_EQ(c.Signal(SIGTERM), 0);
  EXPECT_EQ(a.Signal(SIGTERM), 0);
}

TEST(ServeConfig, ContentShardsAreParsedWholeAndNeedPostgres) {
  auto none = [](const char*) -> const char* { return nullptr; };
  // A shard-only holder needs shards to hold.
  for (const auto& [shards, hold] :
       std::vector<std::pair<std::string, std::string>>{{"1", "all"}, {"4", "none"}}) {
    auto bad = cli::LoadServeConfig("", none,
                                    {{"store.backend", "postgres"},
                                     {"store.role", "shard"},
                                     {"content.shards", shards},
                                     {"content.hold", hold}});
    ASSERT_FALSE(bad.ok()) << shards << " " << hold;
    EXPECT_NE(bad.status().message().find("store.role shard"), std::string::npos)
        << bad.status().message();
  }
  auto shard = cli::LoadServeConfig("", none,
                                    {{"store.backend", "postgres"},
                                     {"store.role", "shard"},
                                     {"content.shards", "4"},
                                     {"content.hold", "2"}});
  ASSERT_TRUE(shard.ok()) << shard.status().ToString();
  EXPECT_EQ(shard->store_role, "shard");
  auto shared = cli::LoadServeConfig("", none, {{"store.workflow", "shared"}});
  ASSERT_FALSE(shared.ok());
  EXPECT_NE(shared.status().message().find("store.workflow shared needs store.backend postgres"),
            std::string::npos)
      << shared.status().message();
  auto sharing = cli::LoadServeConfig("", none, {{"store.workflow", "active"}});
  ASSERT_FALSE(sharing.ok());
  EXPECT_NE(sharing.status().message().find("lease or shared"), std::string::npos)
      << sharing.status().message();
  auto role = cli::LoadServeConfig("", none, {{"store.role", "shards"}});
  ASSERT_FALSE(role.ok());
  EXPECT_NE(role.status().message().find("all, gate or shard"), std::string::npos)
      << role.status().message();
  auto c = cli::LoadServeConfig(
      "", none,
      {{"store.backend", "postgres"}, {"content.hold", "0-3, 8"}, {"content.shards", "16"}});
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->content.total, 16);
  EXPECT_EQ(c->content.held, (std::vector<int>{0, 1, 2, 3, 8}));
  EXPECT_EQ(c->content.Describe(), "shards 0-3,8 of 16");
  auto whole = cli::LoadServeConfig("", none, {});
  ASSERT_TRUE(whole.ok());
  EXPECT_TRUE(whole->content.HoldsAll());
  EXPECT_EQ(whole->content.total, 1);
  for (const auto& [hold, what] :
       std::vector<std::pair<std::string, std::string>>{{"16", "out of range"},
                                                        {"3-1", "backwards"},
                                                        {"1e1", "whole number"},
                                                        {"0-", "whole number"},
                                                        {"2,,3", "whole number"},
                                                        {"-1", "whole number"}}) {
    auto bad = cli::LoadServeConfig(
        "", none,
        {{"store.backend", "postgres"}, {"content.shards", "16"}, {"content.hold", hold}});
    ASSERT_FALSE(bad.ok()) << hold;
    EXPECT_NE(bad.status().message().find("content.hold"), std::string::npos)
        << bad.status().message();
    EXPECT_NE(bad.status().message().find(what), std::string::npos) << bad.status().message();
  }
  auto sqlite = cli::LoadServeConfig("", none, {{"content.shards", "4"}});
  ASSERT_FALSE(sqlite.ok());
  EXPECT_NE(sqlite.status().message().find("store.backend postgres"), std::string::npos);
  auto too_many =
      cli::LoadServeConfig("", none, {{"store.backend", "postgres"}, {"content.shards", "5000"}});
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("content.shards"), std::string::npos);
  auto nothing = cli::LoadServeConfig("", none, {{"content.hold", "none"}});
  ASSERT_FALSE(nothing.ok());
  // The same content id falls into the same shard in every process and build (MD5's first four
  // bytes, as PostgreSQL computes them too).
  EXPECT_EQ(service::ShardOf("", 16), static_cast<int>(0xd41d8cd9u % 16));
  EXPECT_EQ(service::ShardOf("upload-1", 1), 0);
  std::vector<int> per(16, 0);
  for (int i = 0; i < 16000; ++i) ++per[service::ShardOf(fmt::format("media-{}", i), 16)];
  for (int n : per) EXPECT_NEAR(n, 1000, 150) << "content ids spread evenly over the shards";
}

TEST(ServeConfig, DocsConfigurationMdIsTheGeneratedReference) {
  auto ref = cli::ConfigReference();
  ASSERT_TRUE(ref.ok()) << ref.status().message();
  for (const auto& s : cli::ServeSettings()) {
    EXPECT_NE(ref->find("### `" + s.key + "`"), std::string::npos) << s.key;
  }
  EXPECT_EQ(*ref, ReadSource("docs/configuration.md"))
      << "docs/configuration.md is stale: build/takedown serve --config-reference > "
         "docs/configuration.md";
}

TEST(ServeConfig, DefaultsAreSaneAndLoopback) {
  auto c = cli::LoadServeConfig("", [](const char*) -> const char* { return nullptr; }, {});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->server.host, "127.0.0.1");
  EXPECT_EQ(c->server.port, 8080);
  EXPECT_GT(c->server.max_body_bytes, 1u << 20);
  // Every setting has its three spellings.
  for (const auto& s : cli::ServeSettings()) {
    EXPECT_EQ("--" + s.key, s.flag);
    std::string env = "TAKEDOWN_" + s.key;
    for (char& ch : env)
      ch = ch == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    EXPECT_EQ(env, s.env);
  }
}

}  // namespace
}  // namespace takedown
