// `takedown serve`, `takedown admin ...` and `takedown audit verify`: the service process and the
// operator's tools beside it. Both open the same store (store.backend): SQLite's locking and the
// store's re-reading of the audit chain's head make that safe while the server runs; PostgreSQL
// orders writers itself, and several `takedown serve` may share one database.
#include <fcntl.h>
#include <fmt/format.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "cli/commands.h"
#include "cli/serve_config.h"
#include "hash/digest.h"
#include "http/server.h"
#include "http/webhook.h"
#include "mail/mail_line.h"
#include "sandbox/sandbox.h"
#include "store/store.h"
#include "takedown/dsa_submit.h"
#include "takedown/package.h"
#include "takedown/service.h"
#include "takedown/shards.h"
#include "takedown/workflow.h"

namespace takedown::cli {
namespace {

// One `takedown serve` per store, and no restore under a running one: an exclusive flock on
// STORE.lock for the holder's lifetime (released by the kernel when it exits, however it exits).
// Returns the open descriptor, or FailedPrecondition naming the holder's pid.
// The replica's metrics read the service: gone before it is.
void RemoveReplicaMetrics(MetricsRegistry* metrics) {
  for (const char* m : {"takedown_replica_changes_applied_total", "takedown_replica_lag_seconds",
                        "takedown_replica_log_errors_total", "takedown_content_shards",
                        "takedown_content_shards_unheld", "takedown_content_shard_queries_total"})
    metrics->RemoveCallback(m);
}

// The content index split between processes (content.shards): this process's part in sweeps,
// its metrics, and what /readyz says of the shards.
std::unique_ptr<service::ContentShards> StartContentShards(const ServeConfig& cfg,
                                                           service::Service* svc,
                                                           store::DocumentStore* docs,
                                                           MetricsRegistry* metrics,
                                                           http::Server* server) {
  if (cfg.content_shards <= 1) return nullptr;
  service::ContentShards::Options o;
  o.answer_timeout = std::chrono::seconds(cfg.content_shard_timeout_s);
  auto shards = std::make_unique<service::ContentShards>(svc, docs, Env::Default(), o);
  // Content shards need PostgreSQL (serve_config): queries and answers wake the processes at once.
  auto notices = service::ContentShards::OpenNotices(cfg.store_url);
  if (notices.ok()) {
    shards->SetNotices(std::move(*notices));
  } else {
    spdlog::warn("content shards: no wake-ups ({}); polling the store instead",
                 notices.status().message());
  }
  shards->Start();
  spdlog::info("content shards: this process holds {} in memory ({} content items) as '{}'",
               svc->shards().Describe(), svc->Stats().content_items, shards->holder());
  using Samples = MetricsRegistry::Samples;
  service::ContentShards* sh = shards.get();
  const int total = cfg.content_shards;
  const double here = static_cast<double>(svc->shards().held.size());
  metrics->Callback("takedown_content_shards",
                    "Shards of the content index: in all, and held by this process.", "gauge",
                    [total, here] {
                      return Samples{{{{"shards", "total"}}, static_cast<double>(total)},
                                     {{{"shards", "held_here"}}, here}};
                    });
  metrics->Callback(
      "takedown_content_shards_unheld",
      "Shards of the content index no live process holds (sweeps wait for them).", "gauge", [sh] {
        auto c = sh->RecentCheck();
        return c.ok() ? Samples{{{}, static_cast<double>(c->unheld.size())}} : Samples{};
      });
  metrics->Callback("takedown_content_shard_queries_total",
                    "Sweep queries over the content shards: asked by this process, answered "
                    "for others, and sweeps held back (a shard unheld or silent).",
                    "counter", [sh] {
                      const auto st = sh->stats();
                      return Samples{
                          {{{"outcome", "asked"}}, static_cast<double>(st.asked)},
                          {{{"outcome", "answered"}}, static_cast<double>(st.answered)},
                          {{{"outcome", "held_back"}}, static_cast<double>(st.held_back)}};
                    });
  server->SetReadiness([sh, svc]() -> nlohmann::json {
    nlohmann::json j = {{"total", svc->shards().total},
                        {"held_here", service::ShardList(svc->shards().held)}};
    auto c = sh->RecentCheck();
    if (!c.ok()) {
      j["status"] = "unknown";
      j["error"] = c.status().message();
    } else {
      j["status"] = c->unheld.empty() ? "complete" : "incomplete";
      j["unheld"] = c->unheld;
      j["holders"] = c->holders;
    }
    return {{"content_shards", j}};
  });
  return shards;
}

Result<int> LockStore(const std::string& store_path) {
  const std::string path = store_path + ".lock";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return IoError(fmt::format("{}: {}", path, std::strerror(errno)));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char pid[32] = {0};
    const ssize_t n = ::pread(fd, pid, sizeof(pid) - 1, 0);
    ::close(fd);
    std::string holder(pid, n > 0 ? static_cast<size_t>(n) : 0);
    while (!holder.empty() && (holder.back() == '\n' || holder.back() == ' ')) holder.pop_back();
    return FailedPrecondition(
        fmt::format("the store {} is in use by another takedown serve{} (lock {})", store_path,
                    holder.empty() ? "" : " (pid " + holder + ")", path));
  }
  const std::string me = std::to_string(::getpid()) + "\n";
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, me.data(), me.size(), 0) < 0) {
    // The pid is only a hint for the message above; the lock is what counts.
  }
  return fd;
}

Result<std::unique_ptr<mail::MailLine>> StartMailLine(const MailSettings& m, service::Workflow* wf,
                                                      store::DocumentStore* docs, bool shared);

// SIGTERM and SIGINT stop the server gracefully: no new connections, in-flight requests finish,
// queued writes commit, then the store closes. Signals are blocked in every thread and taken by
// one waiter thread, so no handler runs at an unsafe point.
class SignalWaiter {
 public:
  SignalWaiter() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGUSR1);  // internal: "stop waiting"
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  }
  void Start(std::function<void(int)> on_signal) {
    thread_ = std::thread([this, on_signal] {
      int sig = 0;
      sigwait(&set_, &sig);
      if (sig != SIGUSR1) on_signal(sig);
    });
  }
  ~SignalWaiter() {
    if (thread_.joinable()) {
      pthread_kill(thread_.native_handle(), SIGUSR1);
      thread_.join();
    }
  }

 private:
  sigset_t set_;
  std::thread thread_;
};

// Where a key file is: beside the store unless the path is absolute (relative to the working
// directory with PostgreSQL, whose store_path is "").
std::filesystem::path KeyPath(const std::string& file, const std::string& store_path) {
  std::filesystem::path p(file);
  if (p.is_relative()) p = std::filesystem::path(store_path).parent_path() / p;
  return p;
}

// A key of 32 raw bytes in a file (KeyPath), created with mode 600 from the kernel's randomness
// when missing and `create` is set (else NotFound): the evidence key, the package signing key.
Result<std::string> LoadOrCreateKeyFile(const std::string& file, const std::string& store_path,
                                        const std::string& what, bool create = true) {
  namespace fs = std::filesystem;
  const fs::path p = KeyPath(file, store_path);
  std::error_code ec;
  const bool exists = fs::exists(p, ec);
  if (ec) return IoError(fmt::format("cannot look at {}: {}", p.string(), ec.message()));
  if (!exists) {
    if (!create) return NotFound(fmt::format("{} is missing", p.string()));
    std::string key(32, '\0');
    std::ifstream rnd("/dev/urandom", std::ios::binary);
    if (!rnd.read(key.data(), 32)) return IoError("cannot read /dev/urandom");
    // Written whole under a name of its own, then linked into place: a process starting beside
    // this one (the same key file) finds either no key or the whole key, and takes that one.
    const fs::path tmp = p.string() + fmt::format(".new-{}", ::getpid());
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
      return IoError(fmt::format("cannot create {}: {}", tmp.string(), std::strerror(errno)));
    const bool ok = ::write(fd, key.data(), key.size()) == 32 && ::fsync(fd) == 0;
    ::close(fd);
    const bool linked = ok && ::link(tmp.c_str(), p.c_str()) == 0;
    const int link_errno = errno;
    ::unlink(tmp.c_str());
    if (!ok) return IoError(fmt::format("cannot write {}", tmp.string()));
    if (linked) {
      spdlog::warn("{}: created a new key at {}; keep a copy apart from the database", what,
                   p.string());
      return key;
    }
    if (link_errno != EEXIST)
      return IoError(fmt::format("cannot create {}: {}", p.string(), std::strerror(link_errno)));
    // Made meanwhile by another process: that one is the key.
  }
  std::ifstream in(p, std::ios::binary);
  std::string key((std::istreambuf_iterator<char>(in)), {});
  if (key.size() != 32)
    return InvalidArgument(
        fmt::format("{} holds {} bytes; a {} key is 32 raw bytes", p.string(), key.size(), what));
  return key;
}

// The evidence key's record in the store (a document of this kind and unique key, state in_use or
// forgotten): the key's fingerprint, never the key. Kept evidence and staged media are sealed with
// the key, so every process of a store must use the one key, and a lost key file must not be
// replaced by a new key without an operator saying so (`takedown admin forget-evidence-key`).
constexpr std::string_view kEvidenceKeyDoc = "evidence_key";

std::string KeyFingerprint(const std::string& key) {
  return hash::Sha256HexOfText("takedown evidence key fingerprint\n" + key).substr(0, 32);
}

// This store's evidence key record in use, if any.
Result<std::optional<store::DocRecord>> EvidenceKeyRecord(store::DocumentStore* docs) {
  TD_ASSIGN_OR_RETURN(auto known, docs->FindDocs({.kind = std::string(kEvidenceKeyDoc),
                                                  .limit = 1,
                                                  .ukey = std::string(kEvidenceKeyDoc)}));
  if (known.empty()) return std::optional<store::DocRecord>();
  return std::optional<store::DocRecord>(known.front());
}

std::string RecordedFingerprint(const store::DocRecord& d) {
  const nlohmann::json j = nlohmann::json::parse(d.doc, nullptr, false);
  return j.is_object() && j.contains("fingerprint") && j["fingerprint"].is_string()
             ? j["fingerprint"].get<std::string>()
             : std::string();
}

// Why a process stops when the evidence key it holds (fingerprint fp, from key_path) is no longer
// the store's: forgotten (`takedown admin forget-evidence-key`), or another key recorded since.
std::string ForgottenKeyMessage(const std::string& fp, bool forgotten, const std::string& path) {
  if (!forgotten) {
    return fmt::format(
        "the key this process seals media with (fingerprint {}) is no longer the store's (it was "
        "forgotten and another key recorded since): stopping, so that nothing more is sealed with "
        "it; restart this process with the store's key file at {}",
        fp, path);
  }
  return fmt::format(
      "the key this process seals media with (fingerprint {}) was forgotten in the store "
      "(takedown admin forget-evidence-key): stopping, so that nothing more is sealed with it. To "
      "go on with a new key, remove {} and restart (restarted with that file in place, its key is "
      "recorded again)",
      fp, path);
}

// Media a store sealed before it recorded its key's fingerprint (a store upgraded from a version
// that did not): one blob of the newest it keeps, or none (a new store, nothing kept). Looked for
// a day at a time backwards over the last 400 days (each day's first 50 requests), so the blob
// found is among the newest; at most 2,000 evidence lookups. Only a start that finds no record
// looks: once per store.
Result<std::optional<store::EvidenceBlob>> SomeSealedEvidence(store::Store* store) {
  constexpr int64_t kDayMs = 86'400'000;
  const std::string kind(service::kRequestDoc);
  TD_ASSIGN_OR_RETURN(auto any, store->FindDocs({.kind = kind, .limit = 1}));
  if (any.empty()) return std::optional<store::EvidenceBlob>();
  const int64_t now = Env::Default()->NowMs();
  int lookups = 0;
  for (int64_t day = 0; day < 400 && lookups < 2000; ++day) {
    TD_ASSIGN_OR_RETURN(auto requests, store->FindDocs({.kind = kind,
                                                        .created_from = now - (day + 1) * kDayMs,
                                                        .created_to = now - day * kDayMs + 1,
                                                        .limit = 50}));
    for (const auto& d : requests) {
      auto r = service::RequestFromDoc(d);
      if (!r.ok()) continue;
      for (const auto& e : r->evidence) {
        if (e.kind != service::EvidenceKind::kMedia) continue;
        ++lookups;
        TD_ASSIGN_OR_RETURN(auto blob, store->GetEvidence(d.id, static_cast<int>(e.index)));
        if (blob) return blob;
      }
    }
  }
  return std::optional<store::EvidenceBlob>();
}

// The evidence key file, checked against the fingerprint this store recorded when it first ran:
// a missing file is refused (not replaced by a new key that could not open what is kept), as is
// another key (a replica or a restored store started with the wrong file). The first start, or the
// first after `forget-evidence-key`, records the key's fingerprint, unless record_forgotten is
// false (a standby taking over: the key it holds was forgotten while it stood by, and the process
// that ran the workflow stopped for it; a restart decides).
Result<std::string> LoadEvidenceKey(store::Store* store, const std::string& file,
                                    const std::string& store_path, bool record_forgotten = true) {
  const std::string path = KeyPath(file, store_path).string();
  TD_ASSIGN_OR_RETURN(auto rec, EvidenceKeyRecord(store));
  if (!record_forgotten && rec && rec->state != "in_use") {
    return FailedPrecondition(ForgottenKeyMessage(RecordedFingerprint(*rec), true, path));
  }
  const bool in_use = rec && rec->state == "in_use";
  const std::string want = in_use ? RecordedFingerprint(*rec) : std::string();
  // No record at all (not even a forgotten one): media kept before records were made must open
  // with the key, and a missing file is not replaced by a new key.
  std::optional<store::EvidenceBlob> sealed;
  if (!rec) {
    TD_ASSIGN_OR_RETURN(sealed, SomeSealedEvidence(store));
  }
  auto key = LoadOrCreateKeyFile(file, store_path, "evidence", /*create=*/!in_use && !sealed);
  if (!key.ok() && key.status().code() == StatusCode::kNotFound && sealed) {
    return FailedPrecondition(fmt::format(
        "{} is missing, and this store keeps media sealed with an evidence key from before it "
        "recorded the key's fingerprint (request {}, item {}): put that key file there (a new key "
        "could not open it). If that key is lost for good, `takedown admin forget-evidence-key` "
        "lets the next start make a new one; what the old key sealed stays unreadable",
        path, sealed->request_id, sealed->item));
  }
  if (!key.ok() && key.status().code() == StatusCode::kNotFound) {
    return FailedPrecondition(fmt::format(
        "{} is missing, and this store's kept evidence and staged media are sealed with the "
        "evidence key of fingerprint {}: put that key file there (a new key could not open "
        "them). If that key is lost for good, `takedown admin forget-evidence-key` lets the next "
        "start make a new one; what the old key sealed stays unreadable",
        path, want));
  }
  TD_RETURN_IF_ERROR(key.status());
  const std::string fp = KeyFingerprint(*key);
  if (sealed && !service::Evidence::OpensWith(*key, *sealed)) {
    return FailedPrecondition(fmt::format(
        "{} is not the evidence key of this store: it does not open the media the store kept "
        "(request {}, item {}), sealed before the store recorded its key's fingerprint (every "
        "process of a store needs the same key file)",
        path, sealed->request_id, sealed->item));
  }
  if (in_use) {
    if (fp == want) return key;
    return FailedPrecondition(fmt::format(
        "{} is not the evidence key of this store: its fingerprint is {}, and the store's kept "
        "evidence is sealed with the key of fingerprint {} (every process of a store needs the "
        "same key file)",
        path, fp, want));
  }
  // Recorded once; when another process recorded its key meanwhile, that one decides. Audited
  // only when this process's record is the one written: a forgotten record is replaced with its
  // audit record in one transaction (on the condition that it is still forgotten); a first
  // insert that met another process's changes nothing, so its audit record follows the insert.
  store::DocumentStore::Changes ch;
  store::DocRecord d;
  d.kind = d.ukey = std::string(kEvidenceKeyDoc);
  d.state = "in_use";
  const std::string payload = nlohmann::json{{"fingerprint", fp}}.dump();
  d.doc = payload;
  if (rec) {
    d.id = rec->id;
    ch.expect_states.emplace_back(rec->id, rec->state);
    ch.audits.push_back({"serve", "evidence_key.recorded", payload});
  }
  ch.docs.push_back(d);
  auto wrote = store->Transact(ch);
  if (!wrote.ok() && wrote.status().code() != StatusCode::kFailedPrecondition)
    return wrote.status();
  const bool written = wrote.ok() && (rec || wrote->at(0) > 0);
  if (!rec && written)
    TD_RETURN_IF_ERROR(store->AppendAudit("serve", "evidence_key.recorded", payload).status());
  TD_ASSIGN_OR_RETURN(auto now, EvidenceKeyRecord(store));
  if (!now || RecordedFingerprint(*now) != fp) {
    return FailedPrecondition(fmt::format(
        "{} is not the evidence key another process of this store recorded at the same moment "
        "(fingerprint {}, this file's {}): give every process the same key file",
        path, now ? RecordedFingerprint(*now) : std::string("none"), fp));
  }
  spdlog::info("evidence: key fingerprint {} {} the store", fp,
               written ? "recorded in" : "is the one another process just recorded in");
  return key;
}

// The configured store: the SQLite file (made when create is set) or the PostgreSQL database.
Result<std::unique_ptr<store::Store>> OpenConfiguredStore(const ServeConfig& cfg, bool create) {
  if (cfg.store_backend == "postgres") return store::OpenPostgresStore(cfg.store_url);
  return store::OpenSqliteStore(cfg.store_path, nullptr, create);
}

// The store as logs and messages name it: the file, or PostgreSQL's host and database (never
// the connection string, which may hold a password).
std::string StoreName(const ServeConfig& cfg) {
  return cfg.store_backend == "postgres" ? store::DescribePostgresUrl(cfg.store_url)
                                         : cfg.store_path;
}

int Serve(const std::string& config_path, const std::map<std::string, std::string>& flags) {
  auto cfg = LoadServeConfig(
      config_path, [](const char* n) { return std::getenv(n); }, flags);
  if (!cfg.ok()) {
    spdlog::error("config: {}", cfg.status().message());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg->log_level));
  // A service's lines carry their time (UTC); the access log is one JSON line per request, at
  // info level (log.level warn silences it).
  spdlog::default_logger()->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ takedown: %l: %v",
                                        spdlog::pattern_time_type::utc);
  if (!spdlog::get("access")) {
    auto access = spdlog::stderr_logger_mt("access");
    access->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ access: %v", spdlog::pattern_time_type::utc);
    access->set_level(spdlog::level::from_str(cfg->log_level));
  }

  SignalWaiter signals;  // before any thread starts, so all inherit the mask
  const bool postgres = cfg->store_backend == "postgres";
  // Processes without the workflow: gate replicas, and content-shard holders (store.role shard),
  // which load no bank either.
  const bool shard_only = cfg->store_role == "shard";
  const bool gate = cfg->store_role == "gate" || shard_only;
  if (gate && !postgres) {
    spdlog::error(
        "config: store.role {} needs store.backend postgres: a SQLite file is served by one "
        "process",
        cfg->store_role);
    return 2;
  }
  // One `takedown serve` runs the workflow per store: a lock on the SQLite file, or the workflow's
  // lease in the PostgreSQL database (taken once the indexes are loaded; until it is free this
  // process waits as a standby serving the upload gate). Gate replicas (store.role gate) take
  // neither: any number serve the upload gate beside it.
  auto lock = postgres ? Result<int>(-1) : LockStore(cfg->store_path);
  if (!lock.ok()) {
    spdlog::error("store: {}", lock.status().message());
    return 1;
  }
  auto store = OpenConfiguredStore(*cfg, /*create=*/true);
  if (!store.ok()) {
    spdlog::error("store: {}", store.status().message());
    return 1;
  }
  // The keys of the workflow, before this process serves or stands by: a process with the wrong
  // evidence key file refuses at once, not when it takes the workflow over. Key files beside the
  // SQLite file; with PostgreSQL, relative to the working directory.
  const std::string key_dir_of = postgres ? std::string() : cfg->store_path;
  std::string evidence_key, package_seed;
  if (!gate) {
    // Encrypts media staged for hashing after its request is stored, and kept evidence.
    auto key = LoadEvidenceKey(store->get(), cfg->evidence_key_file, key_dir_of);
    if (!key.ok()) {
      spdlog::error("evidence: {}", key.status().message());
      return 2;
    }
    evidence_key = std::move(*key);
    // Signs investigators' disclosure packages (Ed25519 seed).
    auto seed = LoadOrCreateKeyFile(cfg->package_key_file, key_dir_of, "packages");
    if (!seed.ok()) {
      spdlog::error("packages: {}", seed.status().message());
      return 2;
    }
    package_seed = std::move(*seed);
  }
  // store.workflow shared: every store.role all process runs the workflow, with no lease.
  const bool shared = postgres && !gate && cfg->store_workflow == "shared";
  std::unique_ptr<store::WorkflowLease> lease;
  if (postgres && !gate && !shared) {
    auto l = store::OpenWorkflowLease(cfg->store_url, int64_t{cfg->store_lease_s} * 1000);
    if (!l.ok()) {
      spdlog::error("store: {}", l.status().message());
      return 1;
    }
    lease = std::move(l).value();
  }
  MetricsRegistry metrics;  // one registry behind /metrics: the edge, the workflow, the email line
  http::ServerDeps deps(store->get());
  deps.metrics = &metrics;
  // On PostgreSQL several processes may serve the console (shared workflows, a standby taking
  // over): its sessions and failed sign-ins live in the store, so none needs sticky sessions.
  if (postgres) deps.sessions = store->get();
  if (shard_only) {
    deps.no_workflow =
        "this process holds content shards for sweeps only (store.role shard): send uploads to a "
        "store.role gate or all process, and requests, reviews and the console to the service "
        "running with store.role all";
  } else if (gate) {
    deps.no_workflow =
        "this replica serves the upload gate only (store.role gate): send requests, reviews and "
        "the console to the service running with store.role all";
  } else if (postgres && !shared) {
    deps.no_workflow =
        "the workflow is not running in this process: on a shared PostgreSQL store it runs in the "
        "one store.role all process holding the workflow lease, and this one is starting or waits "
        "as a standby (it takes over when that one stops)";
  }
  deps.mail_messages = [docs = static_cast<store::DocumentStore*>(store->get())](
                           const std::string& status, int64_t after, int64_t limit) {
    return mail::ListMailMessages(docs, status, after, limit);
  };
  http::Server server(nullptr, cfg->server, deps);
  if (Status st = server.Bind(); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  std::atomic<bool> stopping{false};
  signals.Start([&](int sig) {
    spdlog::info("{}: stopping (in-flight requests finish first)",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
    stopping = true;
    server.Stop();
  });
  // Announce the port on stdout (scripts and tests read it; port 0 picks a free one).
  const char* scheme = cfg->server.tls_cert_file.empty() ? "http" : "https";
  std::printf("listening on %s://%s:%d\n", scheme, cfg->server.host.c_str(), server.port());
  std::fflush(stdout);
  spdlog::info("listening on {}://{}:{} with {} threads; store {}", scheme, cfg->server.host,
               server.port(), cfg->server.threads, StoreName(*cfg));
  if (!cfg->server.tls_cert_file.empty()) {
    spdlog::info("TLS: certificate {} (checked every 5 s and loaded anew when it changes)",
                 cfg->server.tls_cert_file);
  }
  std::thread http_thread([&] { server.Run(); });

  spdlog::info("loading indexes from the store (/readyz answers 503 until done)");
  const auto t0 = std::chrono::steady_clock::now();
  auto svc = service::Service::Create(store->get(), nullptr, cfg->content, /*bank=*/!shard_only);
  if (!svc.ok()) {
    spdlog::error("loading the store: {}", svc.status().message());
    server.Stop();
    http_thread.join();
    return 1;
  }
  (*svc)->SetVideoRule(cfg->video);
  std::unique_ptr<service::ContentShards> shards =
      StartContentShards(*cfg, svc->get(), store->get(), &metrics, &server);
  std::unique_ptr<sandbox::Pool> decoders;
  if (cfg->sandbox_enabled) {
    sandbox::Options so;
    so.workers = cfg->sandbox_workers;
    so.memory_bytes = uint64_t(cfg->sandbox_memory_mb) << 20;
    so.job_seconds = cfg->sandbox_job_timeout_s;
    so.user = cfg->sandbox_user;
    auto pool = sandbox::Pool::Start(so, &metrics);
    if (!pool.ok()) {
      spdlog::error("sandbox: {}", pool.status().message());
      server.Stop();
      http_thread.join();
      return 1;
    }
    decoders = std::move(*pool);
    (*svc)->SetMediaHasher([p = decoders.get()](std::span<const uint8_t> media, bool bank_side) {
      return p->Hash(media, bank_side);
    });
    (*svc)->SetMediaPreviewer(
        [p = decoders.get()](std::span<const uint8_t> media,
                             const media::PreviewRequest& r) -> Result<std::vector<uint8_t>> {
          TD_ASSIGN_OR_RETURN(std::string jpeg, p->RunCli({{"command", "preview"},
                                                           {"video", r.video},
                                                           {"reveal", r.reveal},
                                                           {"frame", r.frame},
                                                           {"frames", r.frames},
                                                           {"duration_s", r.duration_s}},
                                                          media));
          return std::vector<uint8_t>(jpeg.begin(), jpeg.end());
        });
    spdlog::info("sandbox: media decoded by {} worker processes (seccomp, {} MiB and {} s a job{})",
                 decoders->stats().workers, cfg->sandbox_memory_mb, cfg->sandbox_job_timeout_s,
                 ::geteuid() == 0 ? fmt::format(", user {}", cfg->sandbox_user) : std::string());
  } else {
    spdlog::warn(
        "sandbox.enabled is false: media from outside is decoded inside this process, beside the "
        "keys and the store; a decoder bug can take the service down or worse");
  }
  const auto st = (*svc)->Stats();
  spdlog::info("ready: {} bank entries, {} content items loaded in {:.1f} s", st.bank_entries,
               st.content_items,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  if (postgres) {
    spdlog::info(
        "replica: following the other processes on this database through its change log (bank "
        "changes at once, content every {} ms)",
        service::Service::kFollowPoll.count());
    using Samples = MetricsRegistry::Samples;
    service::Service* sv = svc->get();
    metrics.Callback("takedown_replica_changes_applied_total",
                     "Changes made by other processes on this database and applied here.",
                     "counter", [sv] {
                       return Samples{{{}, static_cast<double>(sv->Following().applied)}};
                     });
    metrics.Callback("takedown_replica_lag_seconds",
                     "Seconds since this process last read the database's change log.", "gauge",
                     [sv] {
                       return Samples{{{}, sv->Following().lag_ms / 1000.0}};
                     });
    metrics.Callback("takedown_replica_log_errors_total",
                     "Failed reads of the change log (each retried).", "counter", [sv] {
                       return Samples{{{}, static_cast<double>(sv->Following().errors)}};
                     });
  }
  // Without the workflow here, blocks queue their statements of reasons in the block's own
  // transaction, as the workflow does in the process running it; that process counts the
  // uploaders' strikes (it follows the blocks made here).
  auto gate_block_hook = [&] {
    if (cfg->dsa_database_url.empty()) return;
    (*svc)->SetBlockHook([](int64_t content_row, store::DocumentStore::Changes* ch) {
      ch->docs.push_back(service::DsaBlockStatementQueued(content_row, Env::Default()->NowMs()));
    });
  };
  bool standing_by = false;
  if (lease) {
    Status held = lease->TryAcquire();
    if (!held.ok() && held.code() != StatusCode::kFailedPrecondition) {
      spdlog::warn("store: the workflow lease cannot be read now: {}", held.message());
    }
    if (!held.ok()) {
      // A standby: the upload gate now; the workflow once the holder's lease lapses.
      standing_by = true;
      spdlog::info(
          "standby: {}; serving the upload gate and bank reads meanwhile, and taking over the "
          "workflow when that lease lapses",
          held.message());
      gate_block_hook();
      server.Attach(svc->get());
      int tries = 0;
      while (!stopping && !(held = lease->TryAcquire()).ok()) {
        if (held.code() != StatusCode::kFailedPrecondition && tries++ % 10 == 0)
          spdlog::warn("standby: the workflow lease cannot be read: {}", held.message());
        for (int i = 0; i < 10 && !stopping; ++i)
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      if (held.ok()) {
        spdlog::info("standby: took over the workflow lease; starting the workflow");
        // The store's evidence key may have changed while this process stood by (the old one
        // forgotten, a new one recorded by a start elsewhere): checked again before the workflow
        // opens anything sealed.
        // A key forgotten meanwhile is not recorded again by the takeover (see key_watch below).
        auto again = LoadEvidenceKey(store->get(), cfg->evidence_key_file, key_dir_of,
                                     /*record_forgotten=*/false);
        if (!again.ok() || *again != evidence_key) {
          spdlog::error("evidence: {}",
                        again.ok() ? "the store's evidence key changed while this process stood "
                                     "by: restart it with the current key file"
                                   : again.status().message());
          lease.reset();  // given up at once
          server.Stop();
          http_thread.join();
          return 2;
        }
      }
    }
    if (held.ok()) {
      lease->KeepRenewing([](const std::string& why) {
        // Out before the lease can lapse: nothing here may wait on a logger (a stalled stderr
        // pipe), and SIGALRM ends the process in a second whatever happens.
        ::alarm(1);
        const std::string line = fmt::format(
            "takedown: critical: the workflow lease was lost ({}): exiting at once, so that no two "
            "processes run the workflow (a standby takes over; restart this one to make it a "
            "standby)\n",
            why);
        (void)!::write(STDERR_FILENO, line.data(), line.size());
        std::_Exit(75);
      });
    }
  }
  if (gate || (standing_by && stopping)) {
    if (shard_only) {
      spdlog::info(
          "store.role shard: holding content {} for sweeps; no bank, no upload gate and no "
          "workflow here",
          cfg->content.Describe());
    } else if (gate) {
      gate_block_hook();
      spdlog::info("store.role gate: serving the upload gate and bank reads; no workflow here");
    }
    server.Attach(svc->get());
    http_thread.join();
    server.Attach(nullptr);
    RemoveReplicaMetrics(&metrics);
    server.SetReadiness(nullptr);
    shards.reset();
    svc->reset();
    decoders.reset();
    store->reset();
    spdlog::info("stopped");
    return stopping ? 0 : 1;
  }
  std::unique_ptr<service::ActionSink> sink;
  if (!cfg->webhook_url.empty()) {
    auto made = http::MakeWebhookSink(cfg->webhook_url, cfg->webhook_ca_file);
    if (!made.ok()) {
      spdlog::error("webhook: {}", made.status().message());
      server.Stop();
      http_thread.join();
      return 2;
    }
    sink = std::move(*made);
    spdlog::info("actions go to {} ({} workers, {})", cfg->webhook_url, cfg->webhook_workers,
                 cfg->webhook_secret.empty() ? "unsigned" : "signed");
    if (cfg->webhook_secret.empty()) {
      // A receiver that checks signatures (every example does) refuses unsigned deliveries with
      // 401, and they are retried until a secret is set: say so where the operator looks.
      spdlog::warn(
          "webhook.secret is empty: actions are sent without X-Takedown-Signature, and a receiver "
          "that checks signatures refuses them (retried until it accepts); set "
          "TAKEDOWN_WEBHOOK_SECRET");
    }
  } else {
    spdlog::info(
        "no webhook.url: actions wait for the platform's acknowledgement (GET /v1/actions)");
  }
  service::WorkflowOptions wopt;
  wopt.shared = shared;
  if (shared) {
    spdlog::info(
        "store.workflow shared: this process runs the workflow and the email line beside every "
        "other store.role all process on the database (work claimed and locked in the store)");
  }
  const std::string key_fingerprint = KeyFingerprint(evidence_key);
  const std::string key_path = KeyPath(cfg->evidence_key_file, key_dir_of).string();
  wopt.evidence_key = std::move(evidence_key);
  wopt.package_signing_seed = std::move(package_seed);
  wopt.evidence_hash_workers =
      cfg->evidence_hash_workers > 0
          ? cfg->evidence_hash_workers
          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / 2);
  wopt.evidence_hash_budget_ms = int64_t{cfg->evidence_hash_budget_s} * 1000;
  if (cfg->evidence_retention_days > 0) {
    wopt.evidence_retention_s = int64_t{cfg->evidence_retention_days} * 86400;
    spdlog::info("evidence: media kept {} days, encrypted", cfg->evidence_retention_days);
  }
  spdlog::info("evidence: media hashed after its request is stored, by {} background threads",
               wopt.evidence_hash_workers);
  wopt.webhook_secret = cfg->webhook_secret;
  wopt.delivery_workers = cfg->webhook_workers;
  wopt.delivery_claim_ms = int64_t{cfg->webhook_claim_s} * 1000;
  wopt.restrict_chat_after = cfg->restrict_chat_after;
  wopt.territorial_scope = cfg->territorial_scope;
  wopt.repeat_uploader_policy = cfg->repeat_uploader_policy;
  wopt.repeat_uploader_window_days = cfg->repeat_uploader_window_days;
  wopt.review_claim_s = cfg->review_claim_s;
  wopt.reveals_per_hour = cfg->reveals_per_hour;
  wopt.report = cfg->report;
  std::unique_ptr<service::ActionSink> dsa_database;
  if (!cfg->dsa_database_url.empty()) {
    auto made = http::MakeWebhookSink(cfg->dsa_database_url);
    if (!made.ok()) {
      spdlog::error("dsa.database_url: {}", made.status().message());
      server.Stop();
      http_thread.join();
      return 2;
    }
    dsa_database = std::move(*made);
    wopt.dsa_submission = true;
    wopt.dsa_database_token = cfg->dsa_database_token;
    wopt.dsa_submit_interval_ms = int64_t{cfg->dsa_submit_interval_s} * 1000;
    spdlog::info("statements of reasons go to the DSA Transparency Database at {} ({})",
                 cfg->dsa_database_url,
                 cfg->dsa_database_token.empty() ? "no token: set TAKEDOWN_DSA_DATABASE_TOKEN"
                                                 : "with its token");
  }
  auto workflow = std::make_unique<service::Workflow>(svc->get(), store->get(), std::move(sink),
                                                      wopt, Env::Default(), &metrics);
  if (dsa_database) workflow->EnableDsaSubmission(std::move(dsa_database));
  workflow->SetContentShards(shards.get());
  workflow->Start();
  std::unique_ptr<mail::MailLine> line;
  // The email line: reading mailboxes and replying; with SMTP alone it only sends (the victims'
  // form's recovery links).
  if (!cfg->mail.imap_urls.empty() || !cfg->mail.smtp_url.empty()) {
    auto made = StartMailLine(cfg->mail, workflow.get(), store->get(), shared);
    if (!made.ok()) {
      spdlog::error("{}", made.status().message());
      server.Stop();
      http_thread.join();
      return 2;
    }
    line = std::move(*made);
    mail::MailLine* l = line.get();
    workflow->victims().SetRecoveryMailer(
        [l](const std::string& to, const std::string& lang, const nlohmann::json& data,
            const std::string& ukey) { return l->Compose("case_recovery", ukey, to, lang, data); },
        [l] { l->Wake(); });
  }
  if (cfg->report.public_url.empty()) {
    spdlog::info("victims' form: no recovery links by email (report.public_url is not set)");
  } else if (!line) {
    spdlog::warn(
        "victims' form: report.public_url is set but no email is (mail.smtp_url, mail.address): "
        "no recovery links are sent");
  } else {
    spdlog::info("victims' form: recovery links go out by email, starting {}/report/case",
                 cfg->report.public_url);
  }
  // The evidence key forgotten while this process runs (`takedown admin forget-evidence-key`,
  // or another process recorded a new key since): nothing more may be sealed with it, so the
  // process stops (exit 2); its restart takes the store's key or makes a new one. Looked at every
  // 5 s.
  std::atomic<bool> key_gone{false}, served{false};
  std::thread key_watch([&] {
    int64_t waited_ms = 0;
    while (!stopping && !served) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if ((waited_ms += 100) < 5000) continue;
      waited_ms = 0;
      auto rec = EvidenceKeyRecord(store->get());
      if (!rec.ok() || !*rec) continue;  // (read again next time)
      const bool forgotten = (*rec)->state != "in_use";
      if (!forgotten && RecordedFingerprint(**rec) == key_fingerprint) continue;
      spdlog::critical("evidence: {}", ForgottenKeyMessage(key_fingerprint, forgotten, key_path));
      key_gone = true;
      stopping = true;
      server.Stop();
      return;
    }
  });
  server.AttachWorkflow(workflow.get());
  server.Attach(svc->get());
  http_thread.join();  // returns after Stop(), once in-flight requests are answered
  served = true;
  key_watch.join();
  server.Attach(nullptr);
  server.AttachWorkflow(nullptr);
  line.reset();      // stops polling; queued replies stay in the store
  workflow.reset();  // stops deliveries; undelivered actions stay queued in the store
  RemoveReplicaMetrics(&metrics);
  server.SetReadiness(nullptr);
  shards.reset();  // a holder says it is gone
  svc->reset();
  decoders.reset();  // ends the workers
  store->reset();    // drains the write queue: every acknowledged write is committed
  spdlog::info("stopped");
  if (key_gone) return 2;
  return stopping ? 0 : 1;
}

Result<std::unique_ptr<mail::MailLine>> StartMailLine(const MailSettings& m, service::Workflow* wf,
                                                      store::DocumentStore* docs, bool shared) {
  mail::MailLineOptions o;
  o.shared = shared;
  mail::TlsOptions tls{m.require_tls, m.ca_file, true};
  for (const auto& url : m.imap_urls) {
    o.mailboxes.push_back({.url = url,
                           .user = m.imap_user,
                           .password = m.imap_password,
                           .tls = tls,
                           .move_to = m.imap_move_to});
  }
  o.smtp = {.url = m.smtp_url, .user = m.smtp_user, .password = m.smtp_password, .tls = tls};
  o.address = m.address;
  o.display_name = m.display_name;
  o.poll_interval_s = m.poll_interval_s;
  o.dkim_key_file = m.dkim_key_file;
  o.templates_dir = m.templates_dir;  // "": the built-in ones
  o.link_patterns = m.link_patterns;
  o.max_message_bytes = m.max_message_bytes;
  o.neutral_bounce = m.neutral_bounce;
  auto line = mail::MailLine::Create(wf, docs, o);
  if (!line.ok()) return line.status().WithContext("the email line");
  (*line)->Start();
  std::vector<std::string> boxes;
  for (const auto& b : o.mailboxes) boxes.push_back(mail::RedactUrl(b.url));
  spdlog::info(
      "email line {}: reading {} every {} s, replying through {}{}", o.address,
      boxes.empty() ? std::string("no mailbox (sending only)")
                    : fmt::format("{}", fmt::join(boxes, ", ")),
      o.poll_interval_s, mail::RedactUrl(o.smtp.url),
      o.dkim_key_file.empty() ? "; DKIM keys from DNS" : "; DKIM keys from " + o.dkim_key_file);
  return line;
}

// The store options of the operator's tools: --store (the SQLite file), --store.backend and
// --store.url, each beating the configuration file and the environment as serve's flags do.
struct StoreFlags {
  std::string config, path, backend, url;
  void AddTo(CLI::App* cmd) {
    cmd->add_option("--config", config, "TOML configuration file (for the store)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--store,--store.path", path,
                    "SQLite store (default: the config's, or takedown.db)");
    cmd->add_option("--store.backend", backend, "sqlite (default) or postgres");
    cmd->add_option("--store.url", url,
                    "PostgreSQL connection, with --store.backend postgres (prefer the "
                    "environment's TAKEDOWN_STORE_URL)");
  }
  Result<ServeConfig> Load() const {
    std::map<std::string, std::string> flags;
    if (!path.empty()) flags["store.path"] = path;
    if (!backend.empty()) flags["store.backend"] = backend;
    if (!url.empty()) flags["store.url"] = url;
    return LoadServeConfig(
        config, [](const char* n) { return std::getenv(n); }, flags);
  }
};

// The operator's tools open an existing store; only `admin create-key --create` makes a new
// SQLite one (a mistyped path must not become an empty store whose keys the running service
// never sees).
Result<std::unique_ptr<store::Store>> OpenStoreFor(const StoreFlags& f, bool create = false) {
  TD_ASSIGN_OR_RETURN(auto cfg, f.Load());
  return OpenConfiguredStore(cfg, create);
}

}  // namespace

void RegisterServeCommand(CLI::App& app, int& exit_code) {
  auto* cmd = app.add_subcommand(
      "serve", "Run the takedown service (HTTP/JSON API on an embedded SQLite store)");
  cmd->footer(
      "Settings come from built-in defaults, then --config FILE (TOML, see config/takedown.toml), "
      "then\n"
      "TAKEDOWN_* environment variables, then these flags. SIGTERM or Ctrl-C stops it gracefully.");
  auto config = std::make_shared<std::string>();
  auto values = std::make_shared<std::map<std::string, std::string>>();
  cmd->add_option("--config", *config, "TOML configuration file")->check(CLI::ExistingFile);
  auto reference = std::make_shared<bool>(false);
  cmd->add_flag("--config-reference", *reference,
                "print the configuration reference (docs/configuration.md) and exit");
  for (const auto& s : ServeSettings()) {
    const std::string key = s.key;
    // The store's file also as --store, as the admin tools spell it.
    cmd->add_option_function<std::string>(
        key == "store.path" ? s.flag + ",--store" : s.flag,
        [values, key](const std::string& v) { (*values)[key] = v; },
        s.help + " (env " + s.env + ")");
  }
  cmd->callback([&exit_code, config, values, reference] {
    if (*reference) {
      auto text = ConfigReference();
      if (!text.ok()) {
        spdlog::error("{}", text.status().message());
        exit_code = 1;
        return;
      }
      std::fputs(text->c_str(), stdout);
      return;
    }
    exit_code = Serve(*config, *values);
  });
}

void RegisterBackupCommands(CLI::App* admin, int& exit_code);

// Who an admin command's audit records name: the operator's login.
std::string CliActor() {
  const char* user = std::getenv("USER");
  return "cli:" + std::string(user != nullptr ? user : "operator");
}

void RegisterAdminCommand(CLI::App& app, int& exit_code) {
  auto* admin =
      app.add_subcommand("admin", "Operator tasks on the store (safe while the server runs)");
  admin->require_subcommand(1);
  struct Opts {
    StoreFlags store;
    std::string role, name;
    int64_t key_id = 0;
    bool create = false;
  };
  auto o = std::make_shared<Opts>();

  auto* create = admin->add_subcommand(
      "create-key", "Create an API key; it is printed once and stored only as a hash");
  create->add_option("--role", o->role, "platform, requester, reviewer or admin")->required();
  create->add_option("--name", o->name, "who holds the key (e.g. 'kcsc-analysts')")->required();
  o->store.AddTo(create);
  create->add_flag("--create", o->create,
                   "make the SQLite store when it does not exist yet (the first key of a new "
                   "install)");
  create->callback([&exit_code, o] {
    auto role = service::ParseRole(o->role);
    if (!role.ok()) {
      spdlog::error("--role: {}", role.status().message());
      exit_code = 2;
      return;
    }
    auto store = OpenStoreFor(o->store, o->create);
    if (!store.ok()) {
      spdlog::error("store: {}{}", store.status().message(),
                    store.status().code() == StatusCode::kNotFound
                        ? " (--create makes a new one; a running service does not see it)"
                        : "");
      exit_code = 1;
      return;
    }
    auto svc = service::Service::Create(store->get());
    auto key = svc.ok() ? (*svc)->CreateKey(*role, o->name, CliActor())
                        : Result<std::pair<int64_t, std::string>>(svc.status());
    if (!key.ok()) {
      spdlog::error("{}", key.status().message());
      exit_code = 1;
      return;
    }
    std::printf("%s\n", key->second.c_str());
    std::fprintf(stderr,
                 "takedown: created %s key %lld for '%s'. It is shown only this once; store it in "
                 "a secret manager.\n",
                 o->role.c_str(), static_cast<long long>(key->first), o->name.c_str());
  });

  auto* forget = admin->add_subcommand(
      "forget-evidence-key",
      "When the evidence key file is lost for good: let the next `takedown serve` make a new key "
      "(what the old key sealed stays unreadable; audited)");
  o->store.AddTo(forget);
  forget->callback([&exit_code, o] {
    auto store = OpenStoreFor(o->store);
    auto rec = store.ok() ? EvidenceKeyRecord(store->get())
                          : Result<std::optional<store::DocRecord>>(store.status());
    if (!rec.ok()) {
      spdlog::error("store: {}", rec.status().message());
      exit_code = 1;
      return;
    }
    if (*rec && (*rec)->state != "in_use") {
      std::fprintf(stderr, "takedown: the evidence key is forgotten already; nothing to do\n");
      return;
    }
    // No record: a store from before records were made, whose key file is lost; a forgotten
    // record lets the next start make a key without opening what the old one sealed.
    const std::string fp = *rec ? RecordedFingerprint(**rec) : std::string("unrecorded");
    const std::string payload = nlohmann::json{{"fingerprint", fp}}.dump();
    store::DocumentStore::Changes ch;
    store::DocRecord d;
    if (*rec) {
      d = **rec;
      ch.expect_states.emplace_back(d.id, "in_use");
      ch.audits.push_back({CliActor(), "evidence_key.forgotten", payload});
    } else {
      d.kind = d.ukey = std::string(kEvidenceKeyDoc);
      d.doc = nlohmann::json{{"fingerprint", ""}}.dump();
    }
    d.state = "forgotten";
    ch.docs.push_back(d);
    auto wrote = (*store)->Transact(ch);
    Status done = wrote.status();
    // No record before: the insert may meet a start recording its key at this moment (then
    // nothing was forgotten); audited only when this record is the one written.
    if (done.ok() && !*rec && wrote->at(0) < 0) {
      done = FailedPrecondition(
          "a start recorded an evidence key in this store at the same moment: nothing was "
          "forgotten; run this again if that key is the lost one");
    }
    if (done.ok() && !*rec) {
      done = (*store)->AppendAudit(CliActor(), "evidence_key.forgotten", payload).status();
    }
    if (!done.ok()) {
      spdlog::error("{}", done.message());
      exit_code = 1;
      return;
    }
    std::fprintf(stderr,
                 "takedown: evidence key %s forgotten: the next start makes a new key; evidence "
                 "and staged media sealed with the old one stay unreadable\n",
                 fp.c_str());
  });

  auto* revoke = admin->add_subcommand(
      "revoke-key", "Revoke an API key (a running server refuses it within 10 s)");
  revoke->add_option("key_id", o->key_id, "the key's id (from create-key or list-keys)")
      ->required();
  o->store.AddTo(revoke);
  revoke->callback([&exit_code, o] {
    auto store = OpenStoreFor(o->store);
    auto svc = store.ok() ? service::Service::Create(store->get())
                          : Result<std::unique_ptr<service::Service>>(store.status());
    Status st = svc.ok() ? (*svc)->RevokeKey(o->key_id, "cli") : svc.status();
    if (!st.ok()) {
      spdlog::error("{}", st.message());
      exit_code = 1;
      return;
    }
    std::fprintf(stderr, "takedown: key %lld revoked\n", static_cast<long long>(o->key_id));
  });

  auto* list =
      admin->add_subcommand("list-keys", "List API keys (ids, names, roles; never the keys)");
  o->store.AddTo(list);
  list->callback([&exit_code, o] {
    auto store = OpenStoreFor(o->store);
    auto keys =
        store.ok() ? (*store)->ListKeys() : Result<std::vector<store::KeyRecord>>(store.status());
    if (!keys.ok()) {
      spdlog::error("{}", keys.status().message());
      exit_code = 1;
      return;
    }
    for (const auto& k : *keys) {
      std::printf("%lld\t%s\t%s\t%s\n", static_cast<long long>(k.id), k.role.c_str(),
                  k.name.c_str(), k.revoked ? "revoked" : "active");
    }
  });
  RegisterBackupCommands(admin, exit_code);
}

void RegisterBackupCommands(CLI::App* admin, int& exit_code) {
  struct Opts {
    StoreFlags store;
    std::string file;
  };
  auto o = std::make_shared<Opts>();
  // The store's path as serve would use it (--store, else the configuration's store.path).
  auto store_path = [](const Opts& opts) -> Result<std::string> {
    TD_ASSIGN_OR_RETURN(auto cfg, opts.store.Load());
    if (cfg.store_backend != "sqlite") {
      return FailedPrecondition(fmt::format(
          "admin backup and restore copy a SQLite store; this configuration's store is {} ({}): "
          "back it up with PostgreSQL's own tools (pg_dump, pg_basebackup)",
          cfg.store_backend, StoreName(cfg)));
    }
    return cfg.store_path;
  };
  // Opens a copy and walks its audit chain: a copy that does not verify is not a backup.
  auto verify = [](const std::string& path) -> Result<int64_t> {
    TD_ASSIGN_OR_RETURN(auto copy, store::OpenSqliteStore(path, nullptr, /*create=*/false));
    return store::VerifyAuditChain(*copy);
  };
  auto fail = [&exit_code](const std::string& what, const Status& s) {
    spdlog::error("{}: {}", what, s.message());
    exit_code = s.code() == StatusCode::kInvalidArgument ? 2 : 1;
  };

  auto* backup = admin->add_subcommand(
      "backup",
      "A consistent copy of the store while the service runs (checked: integrity and audit chain)");
  backup->add_option("--to", o->file, "the backup file to write (replaced whole, never half)")
      ->required();
  o->store.AddTo(backup);
  backup->footer(
      "The evidence key (evidence.key beside the store, or evidence.key_file) and the package\n"
      "signing key (package-signing.key, or packages.signing_key_file) are not in the backup:\n"
      "keep copies of them apart from the backups, or retained evidence cannot be read.");
  backup->callback([&exit_code, o, store_path, verify, fail] {
    auto from = store_path(*o);
    if (!from.ok()) return fail("config", from.status());
    const auto t0 = std::chrono::steady_clock::now();
    auto bytes = store::CopySqliteDatabase(*from, o->file);
    if (!bytes.ok()) return fail("backup", bytes.status());
    auto records = verify(o->file);
    if (!records.ok()) return fail("backup " + o->file, records.status());
    std::printf("backup of %s written to %s: %.1f MB in %.1f s; audit chain intact: %lld records\n",
                from->c_str(), o->file.c_str(), static_cast<double>(*bytes) / 1e6,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(),
                static_cast<long long>(*records));
  });

  auto* restore = admin->add_subcommand(
      "restore",
      "Replace the store with a backup (the service must be stopped; the old store is kept)");
  restore->add_option("--from", o->file, "the backup file")->required()->check(CLI::ExistingFile);
  o->store.AddTo(restore);
  restore->callback([&exit_code, o, store_path, verify, fail] {
    auto to = store_path(*o);
    if (!to.ok()) return fail("config", to.status());
    auto records = verify(o->file);  // before anything is touched
    if (!records.ok()) return fail("restore: " + o->file, records.status());
    auto lock = LockStore(*to);  // refused while a takedown serve holds the store
    if (!lock.ok()) return fail("restore", lock.status());
    namespace fs = std::filesystem;
    std::error_code ec;
    std::string kept;
    if (fs::exists(*to, ec)) {
      kept = fmt::format("{}.before-restore-{}", *to,
                         std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count());
      auto k = store::CopySqliteDatabase(*to, kept);  // the old store, its WAL included
      if (!k.ok()) {
        ::close(*lock);
        return fail("restore: keeping the old store", k.status());
      }
    }
    // A WAL left beside the old file would be replayed into the restored one: gone first.
    fs::remove(*to + "-wal", ec);
    fs::remove(*to + "-shm", ec);
    auto bytes = store::CopySqliteDatabase(o->file, *to);
    ::close(*lock);
    if (!bytes.ok()) return fail("restore", bytes.status());
    std::printf("restored %s from %s (audit chain intact: %lld records)%s\n", to->c_str(),
                o->file.c_str(), static_cast<long long>(*records),
                kept.empty() ? "" : ("; the old store is kept as " + kept).c_str());
  });
}

void RegisterAuditCommand(CLI::App& app, int& exit_code) {
  auto* audit = app.add_subcommand("audit", "The tamper-evident audit log");
  audit->require_subcommand(1);
  auto o = std::make_shared<StoreFlags>();
  auto* verify = audit->add_subcommand(
      "verify", "Walk the audit chain; report the first altered, removed or inserted record");
  o->AddTo(verify);
  verify->callback([&exit_code, o] {
    auto store = OpenStoreFor(*o);
    if (!store.ok()) {
      spdlog::error("store: {}", store.status().message());
      exit_code = 1;
      return;
    }
    auto n = store::VerifyAuditChain(**store);
    if (!n.ok()) {
      std::printf("audit chain BROKEN: %s\n", n.status().message().c_str());
      exit_code = 3;
      return;
    }
    std::printf("audit chain intact: %lld records\n", static_cast<long long>(*n));
  });
}

void RegisterVerifyPackageCommand(CLI::App& app, int& exit_code) {
  struct Opts {
    std::string first, second, keys;  // the package, --public-key, --keys
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = app.add_subcommand("verify-package",
                                 "Check a disclosure package: its Ed25519 signature, every "
                                 "manifest part, and the signing key");
  cmd->add_option("file", o->first, "the package (JSON, as downloaded)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--public-key", o->second,
                  "the service's public key (base64, from /.well-known/takedown-package-key): "
                  "the package must be signed by it");
  cmd->add_option("--keys", o->keys,
                  "the service's published keys (the JSON of /.well-known/takedown-package-key, "
                  "saved to a file): the package must be signed by one of them")
      ->check(CLI::ExistingFile)
      ->excludes("--public-key");
  cmd->footer(
      "Exit 0: intact (and signed by --public-key, or one of --keys, when given); 1: the package\n"
      "was changed, is signed by another key, or is not a package (the reason is printed).\n"
      "Without either only integrity is checked: compare the printed key with the published ones.");
  cmd->callback([&exit_code, o] {
    std::ifstream in(o->first, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!in.good() && !in.eof()) {
      std::fprintf(stderr, "verify-package: cannot read %s\n", o->first.c_str());
      exit_code = 1;
      return;
    }
    auto check = service::VerifyPackage(text, o->second);
    if (check.ok() && !o->keys.empty()) {
      // One of the published keys: the top-level one (older services) or any under "keys".
      std::ifstream kin(o->keys, std::ios::binary);
      const auto published = nlohmann::json::parse(
          std::string((std::istreambuf_iterator<char>(kin)), {}), nullptr, false);
      std::vector<std::string> known;
      if (published.is_object()) {
        if (published.contains("public_key") && published["public_key"].is_string())
          known.push_back(published["public_key"]);
        if (published.contains("keys") && published["keys"].is_array()) {
          for (const auto& k : published["keys"]) {
            if (k.is_object() && k.contains("public_key") && k["public_key"].is_string())
              known.push_back(k["public_key"]);
          }
        }
      }
      if (known.empty()) {
        check = InvalidArgument(fmt::format(
            "{} holds no published key (save the JSON of /.well-known/takedown-package-key)",
            o->keys));
      } else if (std::find(known.begin(), known.end(), check->public_key_base64) == known.end()) {
        check = InvalidArgument(fmt::format(
            "signed by key {}, which is not among the keys in {}: not by the expected key",
            check->key_id, o->keys));
      }
    }
    if (!check.ok()) {
      std::printf("package NOT verified: %s: %s\n", o->first.c_str(),
                  check.status().message().c_str());
      exit_code = 1;
      return;
    }
    const auto& p = check->payload;
    int64_t copies = 0, approved = 0;
    if (p.contains("items") && p["items"].is_array()) {
      for (const auto& it : p["items"]) {
        if (!it.is_object() || !it.contains("spread")) continue;
        ++approved;
        if (it["spread"].contains("copies"))
          copies += static_cast<int64_t>(it["spread"]["copies"].size());
      }
    }
    // (A package checked for integrity alone may be anyone's: nothing here may assume a type.)
    const nlohmann::json d = p.contains("disclosure") && p["disclosure"].is_object()
                                 ? p["disclosure"]
                                 : nlohmann::json::object();
    const std::string made_at = d.contains("made_at") && d["made_at"].is_string()
                                    ? d["made_at"].get<std::string>()
                                    : std::string("?");
    std::printf(
        "package verified: %s\n  disclosure %s, made %s\n  signed by key %s (public key %s)%s\n"
        "  %lld approved item(s), %lld copies; parts checked: %s\n",
        o->first.c_str(), d.value("id", nlohmann::json()).dump().c_str(), made_at.c_str(),
        check->key_id.c_str(), check->public_key_base64.c_str(),
        !o->second.empty() ? ", the expected key"
        : !o->keys.empty() ? ", one of the published keys"
                           : " -- compare it with the service's published keys",
        static_cast<long long>(approved), static_cast<long long>(copies),
        fmt::format("{}", fmt::join(check->parts, ", ")).c_str());
  });
}

}  // namespace takedown::cli
