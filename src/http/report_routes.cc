// The victims' form (service/victim_cases.h): its page at /report and /report/case, and the API
// the page calls, /v1/report/*. None needs a key: each call is bounded from its header (a small
// body with a Content-Length) and then by the form's own budgets (proof of work, per-address and
// global rates, wrong-PIN limits), which answer 429 with Retry-After.
#include <fmt/format.h>

#include "http/console_assets.h"
#include "http/server_impl.h"

namespace takedown::http {

namespace {

// The form's bodies: at most 50 items of a few kilobytes each (hashes and robust signals).
constexpr int64_t kReportBodyLimit = 1 << 20;

// "invalid request: items[0].quality: ...; signature: ..." -> [{"field", "problem"}], so that the
// page can show each problem beside its field.
json FieldsOf(const std::string& message) {
  json out = json::array();
  constexpr std::string_view kPrefix = "invalid request: ";
  if (message.rfind(kPrefix, 0) != 0) return out;
  size_t at = kPrefix.size();
  while (at < message.size()) {
    size_t end = message.find("; ", at);
    if (end == std::string::npos) end = message.size();
    const std::string one = message.substr(at, end - at);
    const size_t colon = one.find(": ");
    if (colon != std::string::npos) {
      out.push_back({{"field", one.substr(0, colon)}, {"problem", one.substr(colon + 2)}});
    }
    at = end + 2;
  }
  return out;
}

void SendReportError(HttpResponse& res, const Status& s) {
  if (s.code() == StatusCode::kResourceExhausted) {
    res.set_header("Retry-After", "3600");
    return SendError(res, 429, "too_many_requests", s.message());
  }
  if (s.code() != StatusCode::kInvalidArgument) return SendStatus(res, s);
  res.status = 400;
  res.set_content(json{{"error",
                        {{"code", "invalid_argument"},
                         {"message", s.message()},
                         {"fields", FieldsOf(s.message())}}}}
                      .dump(-1, ' ', false, json::error_handler_t::replace),
                  "application/json");
}

}  // namespace

void Server::Impl::InstallReportRoutes() {
  auto page = [](Ctx& c) {
    c.res.set_header("Content-Security-Policy", kReportCsp);
    c.res.set_header("X-Content-Type-Options", "nosniff");
    c.res.set_header("Referrer-Policy", "no-referrer");
    c.res.set_header("X-Frame-Options", "DENY");
    c.res.set_header("Cross-Origin-Opener-Policy", "same-origin");
    c.res.set_header("Cache-Control", "no-store");
    for (const ConsoleAsset& a : ConsoleAssets()) {
      if (a.path != "report.html") continue;
      c.res.status = 200;
      return c.res.set_content(std::string(a.body), std::string(a.content_type));
    }
    SendError(c.res, 404, "not_found",
              "this binary was built without the report page (TAKEDOWN_CONSOLE=OFF)");
  };
  Route("GET", "/report", {}, page);
  Route("GET", "/report/case", {}, page);

  // The API the page calls. Each answers 503 until the workflow is attached.
  auto report = [this](const std::string& method, const std::string& path, int ok_status,
                       std::function<Result<json>(service::VictimCases&, Ctx&)> fn) {
    Route(method, path, {}, [this, fn, ok_status](Ctx& c) {
      c.res.set_header("Cache-Control", "no-store");
      if (W() == nullptr) return NoWorkflow(c.res);
      auto r = fn(W()->victims(), c);
      if (!r.ok()) return SendReportError(c.res, r.status());
      SendJson(c.res, *r, ok_status);
    });
    table.back().max_body = kReportBodyLimit;
  };
  report("GET", "/v1/report/challenge", 200,
         [](service::VictimCases& v, Ctx&) -> Result<json> { return v.Challenge(); });
  auto with_body = [](Result<json> (service::VictimCases::*call)(const json&, const std::string&)) {
    return [call](service::VictimCases& v, Ctx& c) -> Result<json> {
      TD_ASSIGN_OR_RETURN(json body, BodyJson(c));
      return (v.*call)(body, c.req.remote_addr);
    };
  };
  report("POST", "/v1/report/cases", 201, with_body(&service::VictimCases::File));
  report("POST", "/v1/report/cases/status", 200, with_body(&service::VictimCases::CaseStatus));
  report("POST", "/v1/report/cases/items", 200, with_body(&service::VictimCases::AddItems));
  report("POST", "/v1/report/cases/withdraw", 200, with_body(&service::VictimCases::Withdraw));
  report("POST", "/v1/report/cases/recover", 202, with_body(&service::VictimCases::Recover));
  report("POST", "/v1/report/cases/reset-pin", 200, with_body(&service::VictimCases::ResetPin));
}

}  // namespace takedown::http
