#include "http/server.h"

#include <httplib.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/numbers.h"
#include "http/request_parse.h"

namespace takedown::http {

using nlohmann::json;
using service::Role;

namespace {

constexpr size_t kMaxImportEntries = 2'000'000;

struct RouteStats {
  std::array<MetricsRegistry::CounterMetric*, 6> by_class{};  // 1xx..5xx at [1..5]
  MetricsRegistry::HistogramMetric* latency = nullptr;
};

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case StatusCode::kOk: return 200;
    case StatusCode::kInvalidArgument: return 400;
    case StatusCode::kNotFound: return 404;
    case StatusCode::kPermissionDenied: return 403;
    case StatusCode::kResourceExhausted: return 413;
    case StatusCode::kDataLoss: return 422;
    case StatusCode::kUnsupported: return 415;
    case StatusCode::kFailedPrecondition: return 409;
    case StatusCode::kIoError:
    case StatusCode::kInternal: return 500;
  }
  return 500;
}

void SendError(httplib::Response& res, int status, std::string_view code, const std::string& message) {
  res.status = status;
  res.set_content(json{{"error", {{"code", code}, {"message", message}}}}.dump(), "application/json");
}

void SendStatus(httplib::Response& res, const Status& s) {
  SendError(res, HttpStatusFor(s), StatusCodeName(s.code()), s.message());
}

void SendJson(httplib::Response& res, const json& j, int status = 200) {
  res.status = status;
  res.set_content(j.dump(), "application/json");
}

std::string PatternToRegex(const std::string& path) {
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

}  // namespace

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
  std::map<std::string, std::unique_ptr<RouteStats>> stats;  // key: "METHOD path"; fixed after construction
  MetricsRegistry::CounterMetric *unauthenticated = nullptr, *forbidden = nullptr;
  std::atomic<bool> running{false}, stop_requested{false};

  struct Ctx {
    const httplib::Request& req;
    httplib::Response& res;
    service::Principal who;
    std::string Param(size_t i) const { return req.matches.size() > i ? std::string(req.matches[i]) : std::string(); }
  };
  using Handler = std::function<void(Ctx&)>;

  void Route(const std::string& method, const std::string& path, std::vector<Role> roles, Handler h) {
    routes.push_back({method, path, roles});
    auto& st = stats[method + " " + path];
    st = std::make_unique<RouteStats>();
    RouteStats* s = st.get();
    for (int c = 1; c <= 5; ++c) {
      s->by_class[c] = metrics->Counter("takedown_http_requests_total", "HTTP requests by route and status class.",
                                        {{"method", method}, {"route", path}, {"status", fmt::format("{}xx", c)}});
    }
    s->latency = metrics->Histogram("takedown_http_request_seconds", "Request latency.", {{"method", method}, {"route", path}});
    auto wrapped = [this, roles, h, s](const httplib::Request& req, httplib::Response& res) {
      const auto t0 = std::chrono::steady_clock::now();
      Serve(req, res, roles, h);
      s->latency->Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      s->by_class[std::clamp(res.status / 100, 1, 5)]->Inc();
    };
    const std::string re = PatternToRegex(path);
    if (method == "GET") http.Get(re, wrapped);
    else if (method == "POST") http.Post(re, wrapped);
    else if (method == "DELETE") http.Delete(re, wrapped);
  }

  void Serve(const httplib::Request& req, httplib::Response& res, const std::vector<Role>& roles, const Handler& h) {
    service::Principal who;
    if (!roles.empty() && S() == nullptr) {
      res.set_header("Retry-After", "5");
      return SendError(res, 503, "unavailable", "the service is starting: indexes are loading");
    }
    if (!roles.empty()) {
      std::string key = req.get_header_value("Authorization");
      if (key.rfind("Bearer ", 0) == 0) key = key.substr(7);
      else key = req.get_header_value("X-Api-Key");
      if (key.empty()) {
        unauthenticated->Inc();
        res.set_header("WWW-Authenticate", "Bearer");
        return SendError(res, 401, "unauthenticated", "an API key is required (Authorization: Bearer KEY)");
      }
      auto p = S()->Authenticate(key);
      if (!p.ok()) {
        unauthenticated->Inc();
        res.set_header("WWW-Authenticate", "Bearer");
        return SendError(res, 401, "unauthenticated", "unknown or revoked API key");
      }
      if (std::find(roles.begin(), roles.end(), p->role) == roles.end()) {
        forbidden->Inc();
        return SendError(res, 403, "forbidden", fmt::format("the {} role may not use this endpoint", service::RoleName(p->role)));
      }
      who = *p;
    }
    Ctx ctx{req, res, who};
    h(ctx);
  }

  // The service's figures, read when /metrics is scraped.
  void RegisterMetrics() {
    using Samples = MetricsRegistry::Samples;
    unauthenticated = metrics->Counter("takedown_auth_failures_total", "Requests refused for their key.", {{"reason", "unauthenticated"}});
    forbidden = metrics->Counter("takedown_auth_failures_total", "Requests refused for their key.", {{"reason", "forbidden"}});
    auto stat = [this](uint64_t service::ServiceStats::*field) {
      return [this, field] {
        service::Service* svc = S();
        return svc == nullptr ? Samples{} : Samples{{{}, static_cast<double>(svc->Stats().*field)}};
      };
    };
    metrics->Callback("takedown_bank_entries", "Bank entries loaded.", "gauge", stat(&service::ServiceStats::bank_entries));
    metrics->Callback("takedown_content_items", "Content items in the index.", "gauge", stat(&service::ServiceStats::content_items));
    metrics->Callback("takedown_checks_total", "Upload checks.", "counter", stat(&service::ServiceStats::checks));
    metrics->Callback("takedown_uploads_blocked_total", "Uploads blocked.", "counter", stat(&service::ServiceStats::blocked));
    if (deps.write_queue_depth) {
      metrics->Callback("takedown_store_write_queue_depth", "Writes waiting for the next group commit.", "gauge",
                        [f = deps.write_queue_depth] { return Samples{{{}, static_cast<double>(f())}}; });
    }
  }

  void Install();
};

void Server::Impl::Install() {
  const std::vector<Role> all = {Role::kPlatform, Role::kRequester, Role::kReviewer, Role::kAdmin};
  Route("GET", "/healthz", {}, [](Ctx& c) { SendJson(c.res, {{"status", "ok"}}); });
  Route("GET", "/readyz", {}, [this](Ctx& c) {
    if (S() != nullptr) SendJson(c.res, {{"status", "ready"}});
    else SendError(c.res, 503, "unavailable", "indexes are loading");
  });
  Route("GET", "/openapi.json", all, [](Ctx& c) { c.res.set_content(OpenApiDocument(), "application/json"); });
  Route("GET", "/metrics", {Role::kAdmin}, [this](Ctx& c) { c.res.set_content(metrics->Render(), "text/plain; version=0.0.4"); });
  Route("GET", "/v1/whoami", all, [](Ctx& c) {
    SendJson(c.res, {{"key_id", c.who.key_id}, {"name", c.who.name}, {"role", service::RoleName(c.who.role)}});
  });

  Route("POST", "/v1/keys", {Role::kAdmin}, [this](Ctx& c) {
    auto r = ParseKeyRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!r.ok()) return SendStatus(c.res, r.status());
    auto k = S()->CreateKey(r->role, r->name, c.who.actor());
    if (!k.ok()) return SendStatus(c.res, k.status());
    SendJson(c.res, {{"key_id", k->first}, {"key", k->second}, {"role", service::RoleName(r->role)}, {"name", r->name}}, 201);
  });
  Route("DELETE", "/v1/keys/{key_id}", {Role::kAdmin}, [this](Ctx& c) {
    auto id_or = ParseId(c.Param(1), "key_id");
    if (!id_or.ok()) return SendStatus(c.res, id_or.status());
    const int64_t id = *id_or;
    Status st = S()->RevokeKey(id, c.who.actor());
    if (!st.ok()) return SendStatus(c.res, st);
    SendJson(c.res, {{"key_id", id}, {"revoked", true}});
  });

  Route("POST", "/v1/banks", {Role::kAdmin}, [this](Ctx& c) {
    auto spec = ParseBankRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!spec.ok()) return SendStatus(c.res, spec.status());
    auto b = S()->CreateBank(*spec, c.who.actor());
    if (!b.ok()) return SendStatus(c.res, b.status());
    SendJson(c.res, {{"bank_id", b->id}, {"name", b->name}, {"category", b->category}, {"pdq_threshold", b->pdq_threshold}, {"action", b->action}}, 201);
  });
  Route("GET", "/v1/banks", {Role::kAdmin, Role::kReviewer}, [this](Ctx& c) {
    auto banks = S()->ListBanks();
    if (!banks.ok()) return SendStatus(c.res, banks.status());
    json out = json::array();
    for (const auto& b : *banks) out.push_back({{"bank_id", b.id}, {"name", b.name}, {"category", b.category}, {"pdq_threshold", b.pdq_threshold}, {"action", b.action}});
    SendJson(c.res, {{"banks", out}});
  });
  Route("POST", "/v1/banks/{bank}/entries", {Role::kAdmin}, [this](Ctx& c) {
    auto spec = ParseEntryRequest(c.req.get_header_value("Content-Type"), c.req.body, c.who.actor());
    if (!spec.ok()) return SendStatus(c.res, spec.status());
    auto e = S()->AddEntry(c.Param(1), *spec, c.who.actor());
    if (!e.ok()) return SendStatus(c.res, e.status());
    SendJson(c.res, {{"entry_id", e->id}, {"bank", c.Param(1)}, {"pdq", e->pdq}, {"quality", e->quality}, {"md5", e->md5}, {"sha256", e->sha256}}, 201);
  });
  Route("POST", "/v1/banks/{bank}/import", {Role::kAdmin}, [this](Ctx& c) {
    const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "text";
    const std::string signal = c.req.has_param("signal") ? c.req.get_param_value("signal") : "pdq";
    auto list = ParseImport(format, signal, c.req.body, kMaxImportEntries);
    if (!list.ok()) return SendStatus(c.res, list.status());
    const std::string source = c.req.has_param("source") ? c.req.get_param_value("source") : c.who.actor();
    auto ids = S()->ImportEntries(c.Param(1), *list, source.substr(0, 256), c.req.get_param_value("request_id").substr(0, 256), c.who.actor());
    if (!ids.ok()) return SendStatus(c.res, ids.status());
    SendJson(c.res, {{"bank", c.Param(1)}, {"imported", ids->size()}, {"first_entry_id", ids->front()}, {"last_entry_id", ids->back()}}, 201);
  });
  Route("GET", "/v1/banks/{bank}/export", {Role::kAdmin}, [this](Ctx& c) {
    const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "jsonl";
    if (format != "jsonl" && format != "text") return SendError(c.res, 400, "invalid_argument", "format must be jsonl or text");
    auto entries = S()->ExportEntries(c.Param(1));
    if (!entries.ok()) return SendStatus(c.res, entries.status());
    std::string out;
    for (const auto& e : *entries) {
      if (format == "text") {
        if (!e.pdq.empty() && e.enabled) out += fmt::format("{},{}\n", e.pdq, e.quality);
        continue;
      }
      json j = {{"entry_id", e.id}, {"enabled", e.enabled}, {"source", e.source}, {"request_id", e.request_id}, {"created_ms", e.created_ms}};
      if (!e.pdq.empty()) {
        j["pdq"] = e.pdq;
        j["quality"] = e.quality;
      }
      if (!e.md5.empty()) j["md5"] = e.md5;
      if (!e.sha256.empty()) j["sha256"] = e.sha256;
      out += j.dump();
      out += '\n';
    }
    c.res.set_content(out, format == "text" ? "text/plain" : "application/x-ndjson");
  });
  for (const bool enable : {false, true}) {
    Route("POST", enable ? "/v1/entries/{entry_id}/enable" : "/v1/entries/{entry_id}/disable", {Role::kAdmin}, [this, enable](Ctx& c) {
      auto id_or = ParseId(c.Param(1), "entry_id");
      if (!id_or.ok()) return SendStatus(c.res, id_or.status());
      const int64_t id = *id_or;
      Status st = S()->SetEntryEnabled(id, enable, c.who.actor());
      if (!st.ok()) return SendStatus(c.res, st);
      SendJson(c.res, {{"entry_id", id}, {"enabled", enable}});
    });
  }

  auto check_response = [](const std::string& content_id, const service::CheckResult& r) {
    json ms = json::array();
    for (const auto& m : r.matches) ms.push_back({{"entry_id", m.entry_id}, {"bank", m.bank}, {"signal", m.signal}, {"distance", m.distance}});
    return json{{"content_id", content_id}, {"decision", r.block ? "block" : "allow"}, {"matches", ms}, {"recorded", !r.already_recorded}};
  };
  Route("POST", "/v1/check", {Role::kPlatform}, [this, check_response](Ctx& c) {
    auto r = ParseCheckRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!r.ok()) return SendStatus(c.res, r.status());
    auto res = S()->Check(*r, c.who.actor());
    if (!res.ok()) return SendStatus(c.res, res.status());
    SendJson(c.res, check_response(r->content_id, *res));
  });
  Route("POST", "/v1/check/media", {Role::kPlatform}, [this, check_response](Ctx& c) {
    service::CheckRequest r;
    r.content_id = c.req.get_param_value("content_id");
    r.chat_id = c.req.get_param_value("chat_id");
    r.uploader_id = c.req.get_param_value("uploader_id");
    if (r.content_id.empty()) return SendError(c.res, 400, "invalid_argument", "missing query parameter content_id");
    if (c.req.body.empty()) return SendError(c.res, 400, "invalid_argument", "empty body: send the media bytes");
    r.media.assign(c.req.body.begin(), c.req.body.end());
    auto res = S()->Check(r, c.who.actor());
    if (!res.ok()) return SendStatus(c.res, res.status());
    SendJson(c.res, check_response(r.content_id, *res));
  });
  Route("POST", "/v1/content/batch", {Role::kPlatform}, [this](Ctx& c) {
    auto rs = ParseBatchRequest(c.req.get_header_value("Content-Type"), c.req.body);
    if (!rs.ok()) return SendStatus(c.res, rs.status());
    auto added = S()->Backfill(*rs, c.who.actor());
    if (!added.ok()) return SendStatus(c.res, added.status());
    SendJson(c.res, {{"items", rs->size()}, {"new", *added}});
  });
  Route("GET", "/v1/audit/verify", {Role::kAdmin}, [this](Ctx& c) {
    if (deps.audit == nullptr) return SendError(c.res, 503, "unavailable", "no audit log attached");
    auto n = store::VerifyAuditChain(*deps.audit);
    if (!n.ok()) return SendJson(c.res, {{"ok", false}, {"error", n.status().message()}});
    SendJson(c.res, {{"ok", true}, {"records", *n}});
  });

  // ------------------------------------------------------------------ the workflow
  // Each of these answers 503 until the workflow is attached.
  auto wf_route = [this](const std::string& method, const std::string& path, std::vector<Role> roles,
                         std::function<Result<json>(Ctx&)> fn, int ok_status = 200) {
    Route(method, path, std::move(roles), [this, fn, ok_status](Ctx& c) {
      if (W() == nullptr) return SendError(c.res, 503, "unavailable", "the workflow is not running");
      auto r = fn(c);
      if (!r.ok()) return SendStatus(c.res, r.status());
      SendJson(c.res, *r, ok_status);
    });
  };
  auto id_param = [](Ctx& c, size_t i, const char* name) -> Result<int64_t> { return ParseId(c.Param(i), name); };
  auto int_query = [](Ctx& c, const char* name, int64_t dflt) -> Result<int64_t> {
    if (!c.req.has_param(name)) return dflt;
    return ParseInt64(c.req.get_param_value(name), fmt::format("query parameter {}", name));
  };
  auto body_json = [](Ctx& c) { return ParseJsonObject(c.req.get_header_value("Content-Type"), c.req.body); };
  // The email line's messages (README "The email line"): what came in, what became of it -- the
  // quarantine an operator reviews (the sender learns nothing; the reason is here and in the
  // audit log). Never the message itself: it is not kept.
  Route("GET", "/v1/mail/messages", {Role::kAdmin}, [=, this](Ctx& c) {
    if (!deps.mail_messages) return SendError(c.res, 503, "unavailable", "the email line's store is not attached");
    auto after = int_query(c, "after_id", 0);
    auto limit = int_query(c, "limit", 100);
    if (!after.ok()) return SendStatus(c.res, after.status());
    if (!limit.ok()) return SendStatus(c.res, limit.status());
    auto out = deps.mail_messages(c.req.get_param_value("status"), *after, *limit);
    if (!out.ok()) return SendStatus(c.res, out.status());
    SendJson(c.res, *out);
  });
  wf_route("POST", "/v1/requesters/{key_id}", {Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "key_id"));
    TD_ASSIGN_OR_RETURN(json b, body_json(c));
    return W()->SetRequesterProfile(id, b, c.who);
  });
  wf_route("GET", "/v1/requesters", {Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t after, int_query(c, "after_id", 0));
    TD_ASSIGN_OR_RETURN(int64_t limit, int_query(c, "limit", 100));
    return W()->ListRequesterProfiles(after, limit);
  });
  wf_route("GET", "/v1/requesters/{key_id}", {Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "key_id"));
    return W()->GetRequesterProfile(id);
  });
  wf_route("POST", "/v1/requests", {Role::kRequester}, [this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(auto r, ParseRemovalRequest(c.req.get_header_value("Content-Type"), c.req.body));
    return W()->CreateRequest(c.who, r.body, r.media);
  }, 201);
  wf_route("GET", "/v1/requests", {Role::kRequester, Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t after, int_query(c, "after_id", 0));
    TD_ASSIGN_OR_RETURN(int64_t limit, int_query(c, "limit", 100));
    return W()->ListRequests(c.who, c.req.get_param_value("status"), after, limit);
  });
  wf_route("GET", "/v1/requests/{request_id}", {Role::kRequester, Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "request_id"));
    return W()->GetRequest(c.who, id);
  });
  Route("GET", "/v1/requests/{request_id}/evidence/{item}/preview", {Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) {
    if (W() == nullptr) return SendError(c.res, 503, "unavailable", "the workflow is not running");
    auto id = id_param(c, 1, "request_id");
    auto item = id_param(c, 2, "item");
    if (!id.ok()) return SendStatus(c.res, id.status());
    if (!item.ok() || *item > 1000) return SendError(c.res, 400, "invalid_argument", "item must be an evidence index");
    const std::string reveal = c.req.get_param_value("reveal");
    if (!reveal.empty() && reveal != "true" && reveal != "false") return SendError(c.res, 400, "invalid_argument", "reveal must be true or false");
    auto jpeg = W()->Preview(c.who, *id, static_cast<int>(*item), reveal == "true");
    if (!jpeg.ok()) return SendStatus(c.res, jpeg.status());
    c.res.set_header("Cache-Control", "no-store");
    c.res.set_content(std::string(jpeg->begin(), jpeg->end()), "image/jpeg");
  });
  wf_route("GET", "/v1/review/queue", {Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t limit, int_query(c, "limit", 100));
    return W()->ReviewQueue(limit);
  });
  wf_route("POST", "/v1/requests/{request_id}/decision", {Role::kReviewer}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "request_id"));
    TD_ASSIGN_OR_RETURN(json b, body_json(c));
    if (!b.contains("approve") || !b["approve"].is_boolean()) return InvalidArgument("approve: missing or not true/false");
    if (b.contains("reason") && !b["reason"].is_string()) return InvalidArgument("reason: must be a string");
    return W()->Decide(c.who, id, b["approve"].get<bool>(), b.value("reason", std::string()));
  });
  wf_route("GET", "/v1/actions", {Role::kPlatform, Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t after, int_query(c, "after_id", 0));
    TD_ASSIGN_OR_RETURN(int64_t limit, int_query(c, "limit", 100));
    const std::string state = c.req.has_param("state") ? c.req.get_param_value("state") : "pending";
    if (state != "pending" && state != "acknowledged") return InvalidArgument("state must be pending or acknowledged");
    return W()->ListActions(state, after, limit);
  });
  wf_route("POST", "/v1/actions/{action_id}/ack", {Role::kPlatform}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "action_id"));
    return W()->Acknowledge(c.who, id);
  });
  wf_route("GET", "/v1/actions/{action_id}/statement", {Role::kPlatform, Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "action_id"));
    return W()->Statement(id);
  });
  wf_route("GET", "/v1/statements", {Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t from, int_query(c, "from_ms", 0));
    TD_ASSIGN_OR_RETURN(int64_t to, int_query(c, "to_ms", W()->env()->NowMs() + 1));
    return W()->Statements(from, to);
  });
  wf_route("POST", "/v1/appeals", {Role::kPlatform}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(json b, body_json(c));
    return W()->FileAppeal(c.who, b);
  }, 201);
  wf_route("GET", "/v1/appeals", {Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t limit, int_query(c, "limit", 100));
    return W()->ListAppeals(c.req.get_param_value("status"), limit);
  });
  wf_route("POST", "/v1/appeals/{appeal_id}/decision", {Role::kReviewer}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t id, id_param(c, 1, "appeal_id"));
    TD_ASSIGN_OR_RETURN(json b, body_json(c));
    return W()->DecideAppeal(c.who, id, b);
  });
  Route("GET", "/v1/reports/transparency", {Role::kAdmin}, [=, this](Ctx& c) {
    if (W() == nullptr) return SendError(c.res, 503, "unavailable", "the workflow is not running");
    auto from = int_query(c, "from_ms", 0);
    auto to = int_query(c, "to_ms", W()->env()->NowMs() + 1);
    if (!from.ok()) return SendStatus(c.res, from.status());
    if (!to.ok()) return SendStatus(c.res, to.status());
    const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "json";
    if (format != "json" && format != "csv") return SendError(c.res, 400, "invalid_argument", "format must be json or csv");
    auto r = W()->Report(*from, *to);
    if (!r.ok()) return SendStatus(c.res, r.status());
    if (format == "csv") return c.res.set_content(service::Workflow::ReportCsv(*r), "text/csv");
    SendJson(c.res, *r);
  });

  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404) SendError(res, 404, "not_found", "no such endpoint");
    else if (res.status == 413) SendError(res, 413, "resource_exhausted", "request body too large");
    else SendError(res, res.status, "error", "HTTP " + std::to_string(res.status));
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    SendError(res, 500, "internal", "internal error");
  });
}

Server::Server(service::Service* service, ServerConfig config, ServerDeps deps) : impl_(std::make_unique<Impl>()) {
  impl_->svc.store(service);
  impl_->cfg = config;
  impl_->deps = std::move(deps);
  if (impl_->deps.metrics == nullptr) impl_->own_metrics = std::make_unique<MetricsRegistry>();
  impl_->metrics = impl_->deps.metrics != nullptr ? impl_->deps.metrics : impl_->own_metrics.get();
  impl_->RegisterMetrics();
  const int threads = std::max(1, config.threads);
  impl_->http.new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  impl_->http.set_payload_max_length(config.max_body_bytes);
  impl_->http.set_read_timeout(config.read_timeout_s, 0);
  impl_->http.set_write_timeout(config.write_timeout_s, 0);
  impl_->http.set_keep_alive_max_count(100000);
  // Responses go out as headers then body: without TCP_NODELAY, Nagle and the client's delayed
  // ACK add 40 ms to every request on a kept-alive connection.
  impl_->http.set_tcp_nodelay(true);
  impl_->Install();
}

Server::~Server() {
  for (const char* m : {"takedown_bank_entries", "takedown_content_items", "takedown_checks_total",
                        "takedown_uploads_blocked_total", "takedown_store_write_queue_depth"}) {
    impl_->metrics->RemoveCallback(m);
  }
}

Status Server::Bind() {
  if (impl_->cfg.port == 0) {
    const int p = impl_->http.bind_to_any_port(impl_->cfg.host);
    if (p <= 0) return IoError(fmt::format("cannot listen on {}", impl_->cfg.host));
    impl_->cfg.port = p;
  } else if (!impl_->http.bind_to_port(impl_->cfg.host, impl_->cfg.port)) {
    return IoError(fmt::format("cannot listen on {}:{} (in use, or not an address here)", impl_->cfg.host, impl_->cfg.port));
  }
  return Status::Ok();
}

int Server::port() const { return impl_->cfg.port; }
// Stop() may come before Run() has started listening (a signal during start-up): httplib's stop()
// would then do nothing and Run() would never return. Each side announces itself first and then
// looks at the other, so at least one of them sees the stop.
void Server::Run() {
  impl_->running.store(true);
  if (!impl_->stop_requested.load()) impl_->http.listen_after_bind();
  impl_->running.store(false);
}
void Server::Stop() {
  impl_->stop_requested.store(true);
  while (impl_->running.load() && !impl_->http.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}
void Server::Attach(service::Service* service) { impl_->svc.store(service, std::memory_order_release); }
void Server::AttachWorkflow(service::Workflow* workflow) { impl_->wf.store(workflow, std::memory_order_release); }

MetricsRegistry* Server::metrics() const { return impl_->metrics; }
const std::vector<RouteInfo>& Server::routes() const { return impl_->routes; }

}  // namespace takedown::http
