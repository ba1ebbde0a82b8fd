// Internal to the HTTP edge (server.cc, engine_routes.cc, workflow_routes.cc): the server's
// state, its route table and the helpers every route uses.
#pragma once

#include <fmt/format.h>
#include <httplib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/numbers.h"
#include "http/request_parse.h"
#include "http/server.h"

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
    case StatusCode::kIoError:
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

inline void SendError(httplib::Response& res, int status, std::string_view code,
                      const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(),
                  "application/json");
}

inline void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, HttpStatusFor(s), StatusCodeName(s.code()), s.message());
}

inline void SendJson(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

inline std::string PatternToRegex(const std::string& path) {
  std::string r;
  for (size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '{') {
      i = path.find('}', i);
      r += "([^/]+)";
    } else {
      r += path[i];
    }
  }
  return r;
}

struct Server::Impl {
  // Null until the indexes are loaded: until then keyed routes answer 503 and /readyz says so.
  std::atomic<service::Service*> svc{nullptr};
  service::Service* S() const { return svc.load(std::memory_order_acquire); }
  std::atomic<service::Workflow*> wf{nullptr};
  service::Workflow* W() const { return wf.load(std::memory_order_acquire); }
  ServerConfig cfg;
  ServerDeps deps;
  std::unique_ptr<MetricsRegistry> own_metrics;
  MetricsRegistry* metrics = nullptr;
  httplib::Server http;
  std::vector<RouteInfo> routes;
  std::map<std::string, std::unique_ptr<RouteStats>>
      stats;  // key: "METHOD path"; fixed after construction
  MetricsRegistry::CounterMetric *unauthenticated = nullptr, *forbidden = nullptr;
  std::atomic<bool> running{false}, stop_requested{false};

  struct Ctx {
    const httplib::Request& req;
    httplib::Response& res;
    service::Principal who;
    std::string Param(size_t i) const {
      return req.matches.size() > i ? std::string(req.matches[i]) : std::string();
    }
  };
  using Handler = std::function<void(Ctx&)>;

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
    auto wrapped = [this, roles, h, s](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      Serve(req, res, roles, h);
      s->latency->Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      s->by_class[std::clamp(res.status / 100, 1, 5)]->Inc();
    };
    const std::string re = PatternToRegex(path);
    if (method == "GET")
      http.Get(re, wrapped);
    else if (method == "POST")
      http.Post(re, wrapped);
    else if (method == "DELETE")
      http.Delete(re, wrapped);
  }

  void Serve(const httplib::Request& req, httplib::Response& res, const std::vector<Role>& roles,
             const Handler& h) {
    service::Principal who;
    if (!roles.empty() && S() == nullptr) {
      res.set_header("Retry-After", "5");
      return SendError(res, 503, "unavailable", "the service is starting: indexes are loading");
    }
    if (!roles.empty()) {
      std::string key = req.get_header_value("Authorization");
      if (key.rfind("Bearer ", 0) == 0)
        key = key.substr(7);
      else
        key = req.get_header_value("X-Api-Key");
      if (key.empty()) {
        unauthenticated->Inc();
        res.set_header("WWW-Authenticate", "Bearer");
        return SendError(res, 401, "unauthenticated",
                         "an API key is required (Authorization: Bearer KEY)");
      }
      auto p = S()->Authenticate(key);
      if (!p.ok()) {
        unauthenticated->Inc();
        res.set_header("WWW-Authenticate", "Bearer");
        return SendError(res, 401, "unauthenticated", "unknown or revoked API key");
      }
      if (std::find(roles.begin(), roles.end(), p->role) == roles.end()) {
        forbidden->Inc();
        return SendError(
            res, 403, "forbidden",
            fmt::format("the {} role may not use this endpoint", service::RoleName(p->role)));
      }
      who = *p;
    }
    Ctx ctx{req, res, who};
    h(ctx);
  }

  // The service's figures, read when /metrics is scraped.
  void RegisterMetrics() {
    using Samples = MetricsRegistry::Samples;
    unauthenticated =
        metrics->Counter("takedown_auth_failures_total", "Requests refused for their key.",
                         {{"reason", "unauthenticated"}});
    forbidden = metrics->Counter("takedown_auth_failures_total", "Requests refused for their key.",
                                 {{"reason", "forbidden"}});
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
