#include "http/server.h"

#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include "http/server_impl.h"

namespace takedown::http {

void Server::Impl::Install() {
  const std::vector<Role> all = {Role::kPlatform, Role::kRequester, Role::kReviewer, Role::kAdmin};
  Route("GET", "/healthz", {}, [](Ctx& c) { SendJson(c.res, {{"status", "ok"}}); });
  Route("GET", "/readyz", {}, [this](Ctx& c) {
    if (S() == nullptr) return SendError(c.res, 503, "unavailable", "indexes are loading");
    nlohmann::json j = {{"status", "ready"}, {"workflow", W() != nullptr ? "running" : "not here"}};
    MutexLock l(&readiness_mu);
    if (readiness) j.update(readiness());
    SendJson(c.res, j);
  });
  Route("GET", "/openapi.json", {},
        [](Ctx& c) { c.res.set_content(OpenApiDocument(), "application/json"); });
  Route("GET", "/metrics", {Role::kAdmin},
        [this](Ctx& c) { c.res.set_content(metrics->Render(), "text/plain; version=0.0.4"); });
  Route("GET", "/v1/whoami", all, [](Ctx& c) {
    SendJson(
        c.res,
        {{"key_id", c.who.key_id}, {"name", c.who.name}, {"role", service::RoleName(c.who.role)}});
  });
  InstallEngineRoutes();
  InstallWorkflowRoutes();
  InstallConsoleRoutes();
  InstallReportRoutes();
  InstallConsoleAssets();  // last: its tail route answers what no other route does under /console/
  CompileBodyFields();
}

void Server::Impl::CompileBodyFields() {
  const json doc = json::parse(OpenApiDocument());
  for (RouteEntry& r : table) {
    std::string method = r.method;
    for (char& ch : method) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    std::string pointer = "/paths/";
    for (char ch : r.path) pointer += ch == '~' ? "~0" : ch == '/' ? "~1" : std::string(1, ch);
    pointer += "/" + method + "/requestBody/content/application~1json/schema";
    const json::json_pointer ptr(pointer);
    if (!doc.contains(ptr)) continue;
    auto fields = BodyFields::FromSchema(doc, doc.at(ptr));
    // The document is built in and checked by the tests: a bad one is a build defect.
    if (!fields.ok()) throw std::logic_error("docs/openapi.json: " + fields.status().message());
    r.fields = std::move(*fields);
  }
}

PathPattern PathPattern::Of(const std::string& path) {
  PathPattern p;
  size_t start = 1;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    p.segments.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  return p;
}

namespace {

// A tail parameter's segments, each decoded, rejoined with '/': nullopt when empty; an error for
// "", "." or ".." segments or an encoded '/' (never a way out of the tail).
std::optional<Result<std::string>> DecodeTail(const std::string& rest) {
  if (rest.empty()) return std::nullopt;
  std::string out;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t end = rest.find('/', start);
    if (end == std::string::npos) end = rest.size();
    auto seg = DecodePathSegment(rest.substr(start, end - start));
    if (!seg.ok()) return Result<std::string>(seg.status());
    if (seg->empty() || *seg == "." || *seg == ".." || seg->find('/') != std::string::npos) {
      return Result<std::string>(
          InvalidArgument("an empty, '.' or '..' segment, or an encoded '/'"));
    }
    out += (out.empty() ? "" : "/") + *seg;
    start = end + 1;
  }
  return Result<std::string>(std::move(out));
}

}  // namespace

std::optional<Result<std::vector<std::string>>> PathPattern::Match(const std::string& path) const {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> out = {path};
  size_t start = 1;
  for (const std::string& want : segments) {
    if (start > path.size()) return std::nullopt;
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const bool rest = tail && &want == &segments.back();
    if (rest) end = path.size();
    const std::string seg = path.substr(start, end - start);
    if (rest && want.front() == '{') {
      auto decoded = DecodeTail(seg);
      if (!decoded) return std::nullopt;
      if (!decoded->ok()) {
        return Result<std::vector<std::string>>(InvalidArgument(fmt::format(
            "{}: {} in the path", want.substr(1, want.size() - 2), decoded->status().message())));
      }
      out.push_back(std::move(**decoded));
    } else if (!want.empty() && want.front() == '{') {
      if (seg.empty()) return std::nullopt;
      auto decoded = DecodePathSegment(seg);
      if (!decoded.ok()) {
        return Result<std::vector<std::string>>(InvalidArgument(fmt::format(
            "{}: {} in the path", want.substr(1, want.size() - 2), decoded.status().message())));
      }
      out.push_back(std::move(*decoded));
    } else if (seg != want) {
      return std::nullopt;
    }
    start = end + 1;
  }
  if (start <= path.size()) return std::nullopt;  // more segments than the route has
  return Result<std::vector<std::string>>(std::move(out));
}

Result<service::Principal> Server::Impl::Authorize(const HttpRequest& req,
                                                   const std::vector<Role>& roles,
                                                   HttpResponse* refusal) {
  if (S() == nullptr) {
    refusal->set_header("Retry-After", "5");
    SendError(*refusal, 503, "unavailable", "the service is starting: indexes are loading");
    return Unsupported("starting");
  }
  const std::string key = KeyOf(req);
  const std::string token =
      key.empty() ? CookieValue(req.get_header_value("Cookie"), kSessionCookie) : "";
  if (key.empty() && token.empty()) {
    unauthenticated->Inc();
    refusal->set_header("WWW-Authenticate", "Bearer");
    SendError(*refusal, 401, "unauthenticated",
              "an API key is required (Authorization: Bearer KEY)");
    return PermissionDenied("no key");
  }
  Result<service::Principal> p = PermissionDenied("unknown");
  if (!key.empty()) {
    p = S()->Authenticate(key);
    if (!p.ok()) {
      unauthenticated->Inc();
      refusal->set_header("WWW-Authenticate", "Bearer");
      SendError(*refusal, 401, "unauthenticated", "unknown or revoked API key");
      return p.status();
    }
  } else {
    // A console session: live, its key not revoked since, and for a change its CSRF token.
    auto used = sessions->Use(token);
    if (!used.ok()) {
      spdlog::error("console: reading a session: {}", used.status().message());
      SendError(*refusal, 503, "unavailable",
                "console sessions cannot be read now (the store did not answer): try again");
      return used.status();
    }
    const std::optional<Sessions::Session>& session = *used;
    if (session) p = S()->AuthenticateHash(session->key_hash);
    if (!session || !p.ok()) {
      if (session) (void)sessions->End(token);
      unauthenticated->Inc();
      SendError(*refusal, 401, "unauthenticated",
                session ? "the session's API key was revoked: sign in again"
                        : "the session has ended (signed out, unused too long, or past its "
                          "time): sign in again");
      return PermissionDenied("session");
    }
    if (req.method != "GET" && req.method != "HEAD" &&
        !Sessions::SameSecret(req.get_header_value("X-CSRF-Token"), session->csrf)) {
      forbidden->Inc();
      SendError(*refusal, 403, "forbidden",
                "a change made with a console session needs its CSRF token in X-CSRF-Token "
                "(GET /console/session gives it)");
      return PermissionDenied("csrf");
    }
  }
  if (std::find(roles.begin(), roles.end(), p->role) == roles.end()) {
    forbidden->Inc();
    SendError(*refusal, 403, "forbidden",
              fmt::format("the {} role may not use this endpoint", service::RoleName(p->role)));
    return PermissionDenied("role");
  }
  return *p;
}

std::optional<HttpResponse> Server::Impl::Admit(HttpRequest& req) {
  HttpResponse res;
  std::string allowed;
  bool matched = false;  // a route's path matched (any method)
  for (size_t i = 0; i < table.size(); ++i) {
    if (table[i].pattern.tail && matched) break;  // tail routes are last (InstallConsoleAssets)
    auto m = table[i].pattern.Match(req.path);
    if (!m) continue;
    matched = true;
    if (!m->ok()) {
      SendStatus(res, m->status());
      return res;
    }
    if (table[i].method != req.method) {
      allowed += (allowed.empty() ? "" : ", ") + table[i].method;
      continue;
    }
    req.matches = std::move(**m);
    req.route_index = static_cast<int>(i);
    req.route = table[i].path;
    break;
  }
  if (req.route_index < 0) {
    if (!allowed.empty()) {
      res.set_header("Allow", allowed);
      SendError(res, 405, "method_not_allowed", fmt::format("this endpoint takes {}", allowed));
    } else {
      SendError(res, 404, "not_found", "no such endpoint");
    }
    return res;
  }
  const RouteEntry& route = table[static_cast<size_t>(req.route_index)];
  if (route.max_body > 0 && (req.chunked || req.content_length > route.max_body)) {
    SendError(res, 413, "resource_exhausted",
              fmt::format("this endpoint reads at most {} bytes of body, with a Content-Length",
                          route.max_body));
    return res;
  }
  if (route.defer_auth) {
    // Authorized by its handler, once the request is whole: it may carry only a small body.
    if (req.chunked || req.content_length > kDeferredBodyLimit) {
      SendError(res, 413, "resource_exhausted",
                fmt::format("this endpoint reads at most {} bytes of body: the API key goes in "
                            "the Authorization header",
                            kDeferredBodyLimit));
      return res;
    }
    return std::nullopt;
  }
  if (route.roles.empty()) return std::nullopt;
  // The key and its role are checked from the header, before any body byte is read.
  auto who = Authorize(req, route.roles, &res);
  if (!who.ok()) return res;
  req.principal = fmt::format("{} ({}{})", who->actor(), service::RoleName(who->role),
                              KeyOf(req).empty() ? ", session" : "");
  return std::nullopt;
}

bool Server::Impl::Precheck(const HttpRequest& req, const RouteEntry& route, HttpResponse* res,
                            service::Principal* who) {
  if (!route.roles.empty() && !route.defer_auth) {
    // From the key cache: the key was checked at admission (a revocation in between counts).
    auto p = Authorize(req, route.roles, res);
    if (!p.ok()) return false;
    *who = *p;
  }
  if (route.fields && req.get_header_value("Content-Type").rfind("application/json", 0) == 0) {
    std::string problem = route.fields->Problem(req.body);
    if (!problem.empty()) {
      SendError(*res, 400, "invalid_argument", problem);
      return false;
    }
  }
  return true;
}

HttpResponse Server::Impl::Handle(HttpRequest& req) {
  HttpResponse res;
  const RouteEntry& route = table.at(static_cast<size_t>(req.route_index));
  service::Principal who;
  if (!Precheck(req, route, &res, &who)) return res;
  Ctx ctx{req, res, who};
  route.handler(ctx);
  return res;
}

bool Server::Impl::HandleInline(HttpRequest& req, const Reply& reply) {
  const RouteEntry& route = table.at(static_cast<size_t>(req.route_index));
  if (!route.inline_handler) return false;
  HttpResponse res;
  service::Principal who;
  if (!Precheck(req, route, &res, &who)) {
    reply.Send([res = std::move(res)] { return res; });
    return true;
  }
  route.inline_handler(req, who, reply);
  return true;
}

void Server::Impl::Record(const HttpRequest& req, const HttpResponse& res, double seconds) {
  RouteStats* s =
      req.route_index >= 0 ? table[static_cast<size_t>(req.route_index)].stats : &unmatched;
  s->by_class[std::clamp(res.status / 100, 1, 5)]->Inc();
  if (s->latency != nullptr) s->latency->Observe(seconds);
  switch (res.status) {  // the edge's refusals, by what bound was hit
    case 408:
      refused_timeout->Inc();
      break;
    case 413:
      refused_size->Inc();
      break;
    case 415:
      refused_encoding->Inc();
      break;
    case 503:
      if (req.route_index < 0) refused_connections->Inc();
      break;
    default:
      break;
  }
  if (!access_log) return;
  int64_t bytes_out = 0;
  for (const auto& [k, v] : res.headers) {
    if (k == "Content-Length") bytes_out = std::atoll(v.c_str());
  }
  // One JSON line per request: never a key or a body.
  access_log->info(json{{"method", req.method},
                        {"route", req.route.empty() ? "unmatched" : req.route},
                        {"status", res.status},
                        {"bytes_in", req.body.size()},
                        {"bytes_out", bytes_out},
                        {"ms", std::round(seconds * 1e6) / 1e3},
                        {"principal", req.principal},
                        {"client", req.remote_addr}}
                       .dump(-1, ' ', false, json::error_handler_t::replace));
}

std::string Server::Impl::KeyOf(const HttpRequest& req) {
  const std::string auth = req.get_header_value("Authorization");
  if (auth.rfind("Bearer ", 0) == 0) return auth.substr(7);
  return req.get_header_value("X-Api-Key");
}

void Server::Impl::AuditEdge(const std::string& actor, const std::string& kind,
                             const json& payload) {
  if (deps.audit == nullptr) return;
  auto r = deps.audit->AppendAudit(actor, kind,
                                   payload.dump(-1, ' ', false, json::error_handler_t::replace));
  if (!r.ok()) spdlog::error("audit: {} not recorded: {}", kind, r.status().message());
}

Server::Server(service::Service* service, ServerConfig config, ServerDeps deps)
    : impl_(std::make_unique<Impl>()) {
  impl_->svc.store(service);
  impl_->cfg = config;
  impl_->deps = std::move(deps);
  if (impl_->deps.metrics == nullptr) impl_->own_metrics = std::make_unique<MetricsRegistry>();
  impl_->metrics = impl_->deps.metrics != nullptr ? impl_->deps.metrics : impl_->own_metrics.get();
  SessionOptions so;
  so.idle_ms = int64_t{std::max(1, config.session_idle_s)} * 1000;
  so.absolute_ms = int64_t{std::max(1, config.session_max_s)} * 1000;
  impl_->sessions = std::make_unique<Sessions>(so, Env::Default(), impl_->deps.sessions);
  impl_->RegisterMetrics();
  impl_->access_log = spdlog::get("access");
  impl_->Install();
  FrontConfig fc;
  fc.host = config.host;
  fc.port = config.port;
  fc.workers = std::max(1, config.threads);
  fc.max_body_bytes = config.max_body_bytes;
  fc.header_timeout = std::chrono::seconds(config.header_timeout_s);
  fc.body_timeout = std::chrono::seconds(config.read_timeout_s);
  fc.write_timeout = std::chrono::seconds(config.write_timeout_s);
  fc.idle_timeout = std::chrono::seconds(config.idle_timeout_s);
  fc.max_connections = config.max_connections;
  fc.max_connections_per_client = config.max_connections_per_client;
  fc.tls_cert_file = config.tls_cert_file;
  fc.tls_key_file = config.tls_key_file;
  fc.tls_reload_interval = std::chrono::milliseconds(std::max(10, config.tls_reload_ms));
  Impl* impl = impl_.get();
  impl_->front = std::make_unique<Front>(
      fc, [impl](HttpRequest& r) { return impl->Admit(r); },
      [impl](HttpRequest& r) { return impl->Handle(r); },
      [impl](const HttpRequest& q, const HttpResponse& r, double s) { impl->Record(q, r, s); },
      [impl](HttpRequest& r, const Reply& reply) { return impl->HandleInline(r, reply); });
}

Server::~Server() {
  impl_->front.reset();  // every connection closed, every worker joined
  for (const char* m :
       {"takedown_http_connections", "takedown_bank_entries", "takedown_content_items",
        "takedown_checks_total", "takedown_uploads_blocked_total", "takedown_uploads_review_total",
        "takedown_store_write_queue_depth", "takedown_console_sessions"}) {
    impl_->metrics->RemoveCallback(m);
  }
}

Status Server::Bind() {
  TD_RETURN_IF_ERROR(impl_->front->Bind());
  impl_->cfg.port = impl_->front->port();
  return Status::Ok();
}

int Server::port() const { return impl_->cfg.port; }
void Server::Run() { impl_->front->Run(); }
void Server::Stop() { impl_->front->Stop(); }
void Server::Attach(service::Service* service) {
  impl_->svc.store(service, std::memory_order_release);
}
void Server::AttachWorkflow(service::Workflow* workflow) {
  impl_->wf.store(workflow, std::memory_order_release);
}
void Server::SetReadiness(std::function<nlohmann::json()> fn) {
  MutexLock l(&impl_->readiness_mu);
  impl_->readiness = std::move(fn);
}

MetricsRegistry* Server::metrics() const { return impl_->metrics; }
const std::vector<RouteInfo>& Server::routes() const { return impl_->routes; }

}  // namespace takedown::http
