// The HTTP edge of `takedown serve` (an event-driven front on Boost.Beast, front.h): routes
// translate JSON to domain calls and
// back, and nothing else. Every route but /healthz and /readyz needs an API key
// (Authorization: Bearer KEY), or a console session made from one (POST /console/session: a
// cookie, and X-CSRF-Token on every state change; sessions.h), whose role the route allows; client
// errors are 4xx with
// {"error": {"code", "message"}}, never 500 for bad input. Requests are counted and timed per
// route for /metrics (Prometheus text).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/metrics.h"
#include "core/status.h"
#include "store/store.h"
#include "takedown/service.h"
#include "takedown/workflow.h"

namespace takedown::http {

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  int threads = 64;  // requests handled at once (idle and slow connections take none)
  size_t max_body_bytes = size_t{64} << 20;
  int header_timeout_s = 10;  // the whole request header, from its first byte
  int read_timeout_s = 30;    // the whole request body
  int write_timeout_s = 30;
  int idle_timeout_s = 60;  // a kept-alive connection waiting for its next request
  int max_connections = 10000;
  int max_connections_per_client = 256;  // per client address
  // TLS: PEM certificate chain and key (both or neither), loaded anew when they change.
  std::string tls_cert_file, tls_key_file;
  int tls_reload_ms = 5000;
  // Console sessions (sessions.h): ended after this long unused, and this long after sign-in.
  int session_idle_s = 1800;
  int session_max_s = 43200;
};

// What the edge reads besides the service and the workflow: the audit chain (verify), the
// email line's messages (the quarantine view), the store's write queue and the metrics registry.
// Never the whole store.
struct ServerDeps {
  ServerDeps() = default;
  ServerDeps(store::Store* s)  // NOLINT(google-explicit-constructor): all from one store
      : audit(s), write_queue_depth([s] { return s->WriteQueueDepth(); }) {}
  store::AuditLog* audit = nullptr;
  std::function<int64_t()> write_queue_depth;
  // The email line's messages (mail::ListMailMessages); 503 when not set.
  std::function<Result<nlohmann::json>(const std::string& status, int64_t after_id, int64_t limit)>
      mail_messages;
  MetricsRegistry* metrics = nullptr;  // a private one when null
  // Where console sessions live (http/sessions.h): null for this process's memory; the store
  // where several processes serve the console on one store (PostgreSQL).
  store::DocumentStore* sessions = nullptr;
  // Why the workflow's routes answer 503 in a process that never runs it (a gate replica);
  // "" while it is starting.
  std::string no_workflow;
};

struct RouteInfo {
  std::string method;
  std::string path;                  // OpenAPI template form: /v1/banks/{bank}/entries
  std::vector<service::Role> roles;  // empty: no key needed
};

class Server {
 public:
  // service may be null while the indexes load (see Attach).
  Server(service::Service* service, ServerConfig config, ServerDeps deps = {});
  ~Server();

  // Binds the port (0: any free port, see port()). Errors name the address.
  Status Bind();
  int port() const;
  // Serves until Stop(); in-flight requests finish before it returns.
  void Run();
  void Stop();
  // Hands over the loaded service: from now on /readyz is 200 and keyed routes serve. Until
  // then /healthz answers, /readyz and keyed routes 503.
  void Attach(service::Service* service);
  // The workflow (requests, review, actions, appeals, reports); its routes answer 503 until then.
  void AttachWorkflow(service::Workflow* workflow);
  // What /readyz adds to its answer once ready (the content shards' state); null: nothing.
  // Unsetting waits for a call in progress.
  void SetReadiness(std::function<nlohmann::json()> fn);
  // The registry behind /metrics.
  MetricsRegistry* metrics() const;

  const std::vector<RouteInfo>& routes() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The OpenAPI 3 document served at /openapi.json (docs/openapi.json, built in).
const std::string& OpenApiDocument();

}  // namespace takedown::http
