// Internal to the HTTP edge (server.cc, engine_routes.cc, workflow_routes.cc): the server's
// state, its route table and the helpers every route uses.
#pragma once

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/numbers.h"
#include "http/body_fields.h"
#include "http/front.h"
#include "http/request_parse.h"
#include "http/server.h"
#include "http/sessions.h"

namespace takedown::http {

using nlohmann::json;
using service::Role;

inline constexpr size_t kMaxImportEntries = 2'000'000;

struct RouteStats {
  std::array<MetricsRegistry::CounterMetric*, 6> by_class{};  // 1xx..5xx at [1..5]
  MetricsRegistry::HistogramMetric* latency = nullptr;
};

inline int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kDataLoss:
      return 422;
    case StatusCode::kUnsupported:
      return 415;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

inline void SendError(HttpResponse& res, int status, std::string_view code,
                      const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(
                      -1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

inline void SendStatus(HttpResponse& res, const Status& s) {
  SendError(res, HttpStatusFor(s), StatusCodeName(s.code()), s.message());
}

inline void SendJson(HttpResponse& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(-1, ' ', false, json::error_handler_t::replace), "application/json");
}

// A route's path template split into segments: "{name}" segments match any one segment; with
// `tail`, the last "{name}" takes the rest of the path (segments decoded one by one, rejoined with
// '/'; an empty, "." or ".." segment or an encoded '/' is refused).
struct PathPattern {
  std::vector<std::string> segments;
  bool tail = false;
  static PathPattern Of(const std::string& path);
  // The decoded parameters when `path` matches (matches[0] is the path), else nullopt; a
  // malformed escape in a parameter is an error.
  std::optional<Result<std::vector<std::string>>> Match(const std::string& path) const;
};

struct Server::Impl {
  // Null until the indexes are loaded: until then keyed routes answer 503 and /readyz says so.
  std::atomic<service::Service*> svc{nullptr};
  service::Service* S() const { return svc.load(std::memory_order_acquire); }
  std::atomic<service::Workflow*> wf{nullptr};
  service::Workflow* W() const { return wf.load(std::memory_order_acquire); }
  ServerConfig cfg;
  ServerDeps deps;
  // More for /readyz to say (Server::SetReadiness); called with readiness_mu held.
  Mutex readiness_mu;
  std::function<nlohmann::json()> readiness TD_GUARDED_BY(readiness_mu);
  std::unique_ptr<MetricsRegistry> own_metrics;
  MetricsRegistry* metrics = nullptr;
  std::unique_ptr<Front> front;
  std::vector<RouteInfo> routes;
  std::map<std::string, std::unique_ptr<RouteStats>>
      stats;  // key: "METHOD path"; fixed after construction
  MetricsRegistry::CounterMetric *unauthenticated = nullptr, *forbidden = nullptr;
  std::unique_ptr<Sessions> sessions;
  MetricsRegistry::CounterMetric *sign_ins_ok = nullptr, *sign_ins_refused = nullptr,
                                 *sign_ins_throttled = nullptr;
  MetricsRegistry::CounterMetric *refused_connections = nullptr, *refused_timeout = nullptr,
                                 *refused_size = nullptr, *refused_encoding = nullptr;
  std::shared_ptr<spdlog::logger>
      access_log;  // spdlog's "access" logger, when the process made one

  struct Ctx {
    const HttpRequest& req;
    HttpResponse& res;
    service::Principal who;
    std::string Param(size_t i) const {
      return req.matches.size() > i ? std::string(req.matches[i]) : std::string();
    }
  };
  using Handler = std::function<void(Ctx&)>;
  // A route's handler on an I/O thread (Front::InlineFn): it must not block, and answers through
  // the Reply (or offloads what blocks to a worker).
  using InlineHandler =
      std::function<void(const HttpRequest&, const service::Principal&, const Reply&)>;

  struct RouteEntry {
    std::string method, path;
    PathPattern pattern;
    std::vector<Role> roles;  // empty: no key needed
    Handler handler;
    RouteStats* stats;
    std::optional<BodyFields> fields;  // a JSON body's known fields, from the OpenAPI document
    // The handler authorizes itself (the sign-in, which audits failures); the request may carry
    // at most kDeferredBodyLimit bytes of body, read only then.
    bool defer_auth = false;
    // The most body the route reads, refused from the header when declared over it or chunked
    // (0: server.max_body_bytes). The public routes answer before anyone is authenticated.
    int64_t max_body = 0;
    // Set for a route answered on the I/O thread instead of by `handler` on a worker.
    InlineHandler inline_handler;
  };
  // A tail route (PathPattern::tail) is tried only when no other route's path matched, so it never
  // changes another route's 405 and Allow.
  static constexpr int64_t kDeferredBodyLimit = 1024;
  std::vector<RouteEntry> table;  // fixed after construction
  RouteStats unmatched;           // requests answered before a route was found

  void Route(const std::string& method, const std::string& path, std::vector<Role> roles,
             Handler h) {
    routes.push_back({method, path, roles});
    auto& st = stats[method + " " + path];
    st = std::make_unique<RouteStats>();
    RouteStats* s = st.get();
    for (int c = 1; c <= 5; ++c) {
      s->by_class[c] = metrics->Counter(
          "takedown_http_requests_total", "HTTP requests by route and status class.",
          {{"method", method}, {"route", path}, {"status", fmt::format("{}xx", c)}});
    }
    s->latency = metrics->Histogram("takedown_http_request_seconds", "Request latency.",
                                    {{"method", method}, {"route", path}});
    table.push_back(
        {method, path, PathPattern::Of(path), std::move(roles), std::move(h), s, std::nullopt});
  }

  // Each route's JSON request body fields, from the OpenAPI document (once, at construction).
  void CompileBodyFields();
  // From the header alone (front.h): the route, the service's readiness, the key and its role.
  std::optional<HttpResponse> Admit(HttpRequest& req);
  // The whole request, on a worker.
  HttpResponse Handle(HttpRequest& req);
  // The whole request, on an I/O thread: false unless its route has an inline handler.
  bool HandleInline(HttpRequest& req, const Reply& reply);
  // What Handle and HandleInline check first (the key again, from the cache; a JSON body's
  // fields): false with the refusal in res.
  bool Precheck(const HttpRequest& req, const RouteEntry& route, HttpResponse* res,
                service::Principal* who);
  // Metrics and the access log line of every answered request.
  void Record(const HttpRequest& req, const HttpResponse& res, double seconds);
  // The key's (or the console session's) principal, or the response that refuses it. A session
  // must show its CSRF token on every method but GET and HEAD.
  Result<service::Principal> Authorize(const HttpRequest& req, const std::vector<Role>& roles,
                                       HttpResponse* refusal);
  // The API key a request carries (Authorization: Bearer, or X-Api-Key), or "".
  static std::string KeyOf(const HttpRequest& req);

  // The service's figures, read when /metrics is scraped.
  void RegisterMetrics() {
    using Samples = MetricsRegistry::Samples;
    for (int c = 1; c <= 5; ++c) {
      unmatched.by_class[c] = metrics->Counter(
          "takedown_http_requests_total", "HTTP requests by route and status class.",
          {{"method", ""}, {"route", "unmatched"}, {"status", fmt::format("{}xx", c)}});
    }
    metrics->Callback("takedown_http_connections", "Open client connections.", "gauge", [this] {
      return Samples{{{}, front ? static_cast<double>(front->connections()) : 0.0}};
    });
    const std::string refusals_help =
        "Requests refused at the edge by the bound they hit (connections per client or in all, "
        "header/body/idle deadlines, body size, compressed bodies).";
    refused_connections = metrics->Counter("takedown_http_refusals_total", refusals_help,
                                           {{"reason", "connections"}});
    refused_timeout =
        metrics->Counter("takedown_http_refusals_total", refusals_help, {{"reason", "timeout"}});
    refused_size =
        metrics->Counter("takedown_http_refusals_total", refusals_help, {{"reason", "body_size"}});
    refused_encoding = metrics->Counter("takedown_http_refusals_total", refusals_help,
                                        {{"reason", "content_encoding"}});
    unauthenticated =
        metrics->Counter("takedown_auth_failures_total", "Requests refused for their key.",
                         {{"reason", "unauthenticated"}});
    forbidden = metrics->Counter("takedown_auth_failures_total", "Requests refused for their key.",
                                 {{"reason", "forbidden"}});
    const std::string sign_in_help = "Console sign-ins by result.";
    sign_ins_ok =
        metrics->Counter("takedown_console_sign_ins_total", sign_in_help, {{"result", "ok"}});
    sign_ins_refused =
        metrics->Counter("takedown_console_sign_ins_total", sign_in_help, {{"result", "refused"}});
    sign_ins_throttled = metrics->Counter("takedown_console_sign_ins_total", sign_in_help,
                                          {{"result", "throttled"}});
    metrics->Callback("takedown_console_sessions", "Console sessions signed in now.", "gauge",
                      [this] {
                        if (!sessions) return Samples{{{}, 0.0}};
                        auto n = sessions->Count();
                        return n.ok() ? Samples{{{}, static_cast<double>(*n)}} : Samples{};
                      });
    auto stat = [this](uint64_t service::ServiceStats::*field) {
      return [this, field] {
        service::Service* svc = S();
        return svc == nullptr ? Samples{} : Samples{{{}, static_cast<double>(svc->Stats().*field)}};
      };
    };
    metrics->Callback("takedown_bank_entries", "Bank entries loaded.", "gauge",
                      stat(&service::ServiceStats::bank_entries));
    metrics->Callback("takedown_content_items", "Content items in the index.", "gauge",
                      stat(&service::ServiceStats::content_items));
    metrics->Callback("takedown_checks_total", "Upload checks.", "counter",
                      stat(&service::ServiceStats::checks));
    metrics->Callback("takedown_uploads_blocked_total", "Uploads blocked.", "counter",
                      stat(&service::ServiceStats::blocked));
    metrics->Callback("takedown_uploads_review_total",
                      "Uploads answered with possible copies to review (the gate's \"review\": a "
                      "bank video's first or last seconds at the same edge of the upload).",
                      "counter", stat(&service::ServiceStats::review));
    if (deps.write_queue_depth) {
      metrics->Callback("takedown_store_write_queue_depth",
                        "Writes waiting for the next group commit.", "gauge",
                        [f = deps.write_queue_depth] {
                          return Samples{{{}, static_cast<double>(f())}};
                        });
    }
  }

  void Install();
  void InstallEngineRoutes();    // keys, banks, the upload gate, content, audit (engine_routes.cc)
  void InstallWorkflowRoutes();  // requests, review, actions, appeals, reports (workflow_routes.cc)
  void InstallConsoleRoutes();   // console sessions: sign in, who, sign out (console_routes.cc)
  void InstallConsoleAssets();   // the console's pages and assets, /console/ (console_routes.cc)
  void InstallReportRoutes();    // the victims' form: /report and /v1/report/* (report_routes.cc)
  void AuditEdge(const std::string& actor, const std::string& kind, const json& payload);

  // A workflow route's 503 while no workflow is attached: starting, or a gate replica's for good.
  void NoWorkflow(HttpResponse& res) const {
    SendError(
        res, 503, "unavailable",
        deps.no_workflow.empty() ? std::string("the workflow is not running") : deps.no_workflow);
  }
  // Each workflow route answers 503 until the workflow is attached.
  void WorkflowRoute(const std::string& method, const std::string& path, std::vector<Role> roles,
                     std::function<Result<json>(Ctx&)> fn, int ok_status = 200);
  static Result<int64_t> IdParam(Ctx& c, size_t i, const char* name) {
    return ParseId(c.Param(i), name);
  }
  static Result<int64_t> IntQuery(Ctx& c, const char* name, int64_t dflt) {
    if (!c.req.has_param(name)) return dflt;
    return ParseInt64(c.req.get_param_value(name), fmt::format("query parameter {}", name));
  }
  static Result<json> BodyJson(Ctx& c) {
    return ParseJsonObject(c.req.get_header_value("Content-Type"), c.req.body);
  }
};

}  // namespace takedown::http
