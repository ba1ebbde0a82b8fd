// Console sessions (issue 18; sessions.h): POST /console/session exchanges an API key (in the
// Authorization header, never in a body or a URL) for a session cookie; GET says who is signed
// in and gives the CSRF token; DELETE signs out. People's roles only: a platform key is a
// machine's. Sign-ins, failures and sign-outs are audited; failures are throttled per address.
#include "core/clock.h"
#include "http/console_assets.h"
#include "http/server_impl.h"

namespace takedown::http {

namespace {

std::string SessionCookie(const std::string& token, int64_t max_age_s, bool secure) {
  return fmt::format("{}={}; Path=/; Max-Age={}; HttpOnly; SameSite=Strict{}", kSessionCookie,
                     token, max_age_s, secure ? "; Secure" : "");
}

json SessionView(const service::Principal& who, const Sessions::Session& s,
                 const SessionOptions& o) {
  return {{"via", "session"},
          {"key_id", who.key_id},
          {"name", who.name},
          {"role", service::RoleName(who.role)},
          {"csrf_token", s.csrf},
          {"signed_in_at", IsoUtc(s.created_ms)},
          {"expires_at", IsoUtc(s.expires_ms(o))},
          {"idle_expires_at", IsoUtc(s.idle_expires_ms(o))}};
}

}  // namespace

void Server::Impl::InstallConsoleRoutes() {
  const std::vector<Role> people = {Role::kRequester, Role::kReviewer, Role::kAdmin};

  Route("POST", "/console/session", people, [this, people](Ctx& c) {
    const std::string client = c.req.remote_addr;
    if (!sessions->Allowed(client)) {
      sign_ins_throttled->Inc();
      c.res.set_header("Retry-After", "60");
      SendError(c.res, 429, "too_many_requests",
                "too many failed sign-ins from this address: wait a minute");
      return;
    }
    if (KeyOf(c.req).empty()) {
      // A session cannot make another: the key itself signs in.
      sessions->Failed(client);
      sign_ins_refused->Inc();
      AuditEdge("anonymous", "console.sign_in_failed",
                {{"client", client}, {"reason", "no API key"}});
      c.res.set_header("WWW-Authenticate", "Bearer");
      SendError(c.res, 401, "unauthenticated",
                "sign in with an API key in the Authorization header (Bearer KEY)");
      return;
    }
    HttpResponse refusal;
    auto who = Authorize(c.req, people, &refusal);
    if (!who.ok()) {
      if (refusal.status == 401 || refusal.status == 403) {
        sessions->Failed(client);
        sign_ins_refused->Inc();
        std::string actor = "anonymous";
        if (refusal.status == 403) {
          if (auto k = S()->Authenticate(KeyOf(c.req)); k.ok()) actor = k->actor();
        }
        AuditEdge(
            actor, "console.sign_in_failed",
            {{"client", client},
             {"reason", refusal.status == 401 ? "unknown or revoked API key"
                                              : "a platform key: the console is for people"}});
      }
      c.res = std::move(refusal);
      if (c.res.status == 403) {
        SendError(c.res, 403, "forbidden",
                  "platform keys are for the platform's systems: the console is for people "
                  "(requesters, reviewers, administrators)");
      }
      return;
    }
    auto made = sessions->Create(service::KeyHash(KeyOf(c.req)), who->key_id);
    if (!made.ok() && made.status().code() == StatusCode::kResourceExhausted) {
      sign_ins_throttled->Inc();
      c.res.set_header("Retry-After", "600");
      return SendError(c.res, 429, "too_many_requests", made.status().message());
    }
    if (!made.ok()) {
      spdlog::error("console: storing a session: {}", made.status().message());
      return SendError(c.res, 503, "unavailable",
                       "the session could not be stored (the store did not answer): try again");
    }
    const Sessions::Issued& issued = *made;
    sign_ins_ok->Inc();
    AuditEdge(who->actor(), "console.signed_in", {{"client", client}});
    c.res.headers.emplace_back("Set-Cookie",
                               SessionCookie(issued.token, sessions->options().absolute_ms / 1000,
                                             front != nullptr && front->tls()));
    c.res.set_header("Cache-Control", "no-store");
    SendJson(c.res, SessionView(*who, issued.session, sessions->options()), 201);
  });
  table.back().defer_auth = true;

  Route("GET", "/console/session", people, [this](Ctx& c) {
    c.res.set_header("Cache-Control", "no-store");
    const std::string token = CookieValue(c.req.get_header_value("Cookie"), kSessionCookie);
    Result<std::optional<Sessions::Session>> s = std::optional<Sessions::Session>();
    if (KeyOf(c.req).empty() && !token.empty()) s = sessions->Use(token);
    if (!s.ok()) {
      return SendError(c.res, 503, "unavailable",
                       "console sessions cannot be read now (the store did not answer): try again");
    }
    if (!*s) {  // an API key: who it is, and no session
      SendJson(c.res, {{"via", "key"},
                       {"key_id", c.who.key_id},
                       {"name", c.who.name},
                       {"role", service::RoleName(c.who.role)}});
      return;
    }
    SendJson(c.res, SessionView(c.who, **s, sessions->options()));
  });

  Route("DELETE", "/console/session", people, [this](Ctx& c) {
    const std::string token = CookieValue(c.req.get_header_value("Cookie"), kSessionCookie);
    if (!KeyOf(c.req).empty() || token.empty()) {
      SendError(c.res, 409, "failed_precondition",
                "this request carries an API key, not a console session: there is nothing to "
                "sign out of");
      return;
    }
    if (auto ended = sessions->End(token); !ended.ok()) {
      spdlog::error("console: ending a session: {}", ended.status().message());
      return SendError(c.res, 503, "unavailable",
                       "the session could not be ended now (the store did not answer): try "
                       "again");
    }
    AuditEdge(c.who.actor(), "console.signed_out", {{"client", c.req.remote_addr}});
    c.res.headers.emplace_back("Set-Cookie",
                               SessionCookie("", 0, front != nullptr && front->tls()));
    SendJson(c.res, {{"signed_out", true}});
  });
}

namespace {

// Every console answer: scripts and styles from this origin only (none inline), nothing framed,
// nothing sent elsewhere.
constexpr const char* kConsoleCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

void ConsoleHeaders(HttpResponse& res, const char* csp = kConsoleCsp) {
  res.set_header("Content-Security-Policy", csp);
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Cross-Origin-Opener-Policy", "same-origin");
  res.set_header("Cross-Origin-Resource-Policy", "same-origin");
}

const ConsoleAsset* FindAsset(std::string_view path) {
  for (const ConsoleAsset& a : ConsoleAssets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

}  // namespace

void Server::Impl::InstallConsoleAssets() {
  // The pages need no key: what they show comes from the API, which the session authorizes.
  auto serve = [](Ctx& c, const std::string& path) {
    // A worker runs under its own script's policy: the report page's hashing worker compiles
    // WebAssembly, which only the report page's policy allows.
    ConsoleHeaders(c.res, path.rfind("assets/report-worker-", 0) == 0 ? kReportCsp : kConsoleCsp);
    if (ConsoleAssets().empty()) {
      return SendError(c.res, 404, "not_found",
                       "this binary was built without the console (TAKEDOWN_CONSOLE=OFF)");
    }
    const ConsoleAsset* a = FindAsset(path);
    if (a == nullptr && path.rfind("assets/", 0) == 0) {
      return SendError(c.res, 404, "not_found", "no such console asset");
    }
    // Any other path is one of the console's pages: index.html routes it in the browser.
    if (a == nullptr) a = FindAsset("index.html");
    if (a == nullptr) return SendError(c.res, 500, "internal", "the console has no index.html");
    // Vite names the files under assets/ by their hash: cached for good; the page never.
    c.res.set_header("Cache-Control", a->path.rfind("assets/", 0) == 0
                                          ? "public, max-age=31536000, immutable"
                                          : "no-store");
    c.res.status = 200;
    c.res.set_content(std::string(a->body), std::string(a->content_type));
  };
  Route("GET", "/console", {}, [](Ctx& c) {
    ConsoleHeaders(c.res);
    c.res.set_header("Location", "/console/");
    c.res.status = 308;
    c.res.set_content("the console is at /console/\n", "text/plain; charset=utf-8");
  });
  Route("GET", "/console/", {}, [serve](Ctx& c) { serve(c, "index.html"); });
  Route("GET", "/console/{path}", {}, [serve](Ctx& c) { serve(c, c.Param(1)); });
  table.back().pattern.tail = true;
}

}  // namespace takedown::http
