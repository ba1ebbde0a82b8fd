// The workflow's routes: requester profiles, requests and their evidence, review, actions,
// statements of reasons, appeals, the transparency report, the email line's messages.
#include "core/text.h"
#include "http/server_impl.h"

namespace takedown::http {

void Server::Impl::WorkflowRoute(const std::string& method, const std::string& path,
                                 std::vector<Role> roles, std::function<Result<json>(Ctx&)> fn,
                                 int ok_status) {
  Route(method, path, std::move(roles), [this, fn, ok_status](Ctx& c) {
    if (W() == nullptr) return NoWorkflow(c.res);
    auto r = fn(c);
    if (!r.ok()) return SendStatus(c.res, r.status());
    SendJson(c.res, *r, ok_status);
  });
}

void Server::Impl::InstallWorkflowRoutes() {
  // ------------------------------------------------------------------ the workflow
  // Each of these answers 503 until the workflow is attached.
  // The email line's messages (README "The email line"): what came in, what became of it -- the
  // quarantine an operator reviews (the sender learns nothing; the reason is here and in the
  // audit log). Never the message itself: it is not kept.
  Route("GET", "/v1/mail/messages", {Role::kAdmin}, [=, this](Ctx& c) {
    if (!deps.mail_messages)
      return SendError(c.res, 503, "unavailable", "the email line's store is not attached");
    auto after = IntQuery(c, "after_id", 0);
    auto limit = IntQuery(c, "limit", 100);
    if (!after.ok()) return SendStatus(c.res, after.status());
    if (!limit.ok()) return SendStatus(c.res, limit.status());
    auto out = deps.mail_messages(c.req.get_param_value("status"), *after, *limit);
    if (!out.ok()) return SendStatus(c.res, out.status());
    SendJson(c.res, *out);
  });
  WorkflowRoute("POST", "/v1/requesters/{key_id}", {Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "key_id"));
                  TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
                  return W()->SetRequesterProfile(id, b, c.who);
                });
  WorkflowRoute("GET", "/v1/requesters", {Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t after, IntQuery(c, "after_id", 0));
    TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
    return W()->ListRequesterProfiles(after, limit);
  });
  WorkflowRoute("GET", "/v1/requesters/{key_id}", {Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "key_id"));
                  return W()->GetRequesterProfile(id);
                });
  WorkflowRoute(
      "POST", "/v1/requests", {Role::kRequester},
      [this](Ctx& c) -> Result<json> {
        TD_ASSIGN_OR_RETURN(
            auto r, ParseRemovalRequest(c.req.get_header_value("Content-Type"), c.req.body));
        return W()->CreateRequest(c.who, r.body, r.media);
      },
      201);
  WorkflowRoute("GET", "/v1/requests", {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t after, IntQuery(c, "after_id", 0));
                  TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
                  return W()->ListRequests(c.who, c.req.get_param_value("status"), after, limit);
                });
  WorkflowRoute("GET", "/v1/requests/{request_id}",
                {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "request_id"));
                  return W()->GetRequest(c.who, id);
                });
  Route("GET", "/v1/requests/{request_id}/evidence/{item}/preview", {Role::kReviewer, Role::kAdmin},
        [=, this](Ctx& c) {
          if (W() == nullptr) return NoWorkflow(c.res);
          auto id = IdParam(c, 1, "request_id");
          // Evidence items are numbered from 0 (the request's evidence[] index).
          auto item = ParseInt64(c.Param(2), "item (an evidence index)", 0, 1000);
          if (!id.ok()) return SendStatus(c.res, id.status());
          if (!item.ok()) return SendStatus(c.res, item.status());
          const std::string reveal = c.req.get_param_value("reveal");
          if (!reveal.empty() && reveal != "true" && reveal != "false")
            return SendError(c.res, 400, "invalid_argument", "reveal must be true or false");
          // A video's keyframe (0..5, spread over its length); a picture is frame 0.
          Result<int64_t> frame = int64_t{0};
          if (c.req.has_param("frame")) {
            frame = ParseInt64(c.req.get_param_value("frame"), "frame (a keyframe of the video)", 0,
                               service::Evidence::kPreviewKeyframes - 1);
          }
          if (!frame.ok()) return SendStatus(c.res, frame.status());
          auto look = W()->Preview(c.who, *id, static_cast<int>(*item), reveal == "true",
                                   c.req.get_param_value("reason"), static_cast<int>(*frame));
          c.res.set_header("Cache-Control", "no-store");
          if (!look.ok() && look.status().code() == StatusCode::kResourceExhausted) {
            c.res.set_header("Retry-After", "3600");
            return SendError(c.res, 429, "too_many_requests", look.status().message());
          }
          if (!look.ok()) return SendStatus(c.res, look.status());
          if (look->reveals_left >= 0) {
            c.res.set_header("X-Reveals-Remaining", std::to_string(look->reveals_left));
          }
          c.res.set_content(std::string(look->jpeg.begin(), look->jpeg.end()), "image/jpeg");
        });
  WorkflowRoute("GET", "/v1/review/queue", {Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
                  return W()->ReviewQueue(limit);
                });
  for (const char* method : {"POST", "DELETE"}) {
    const bool release = std::string_view(method) == "DELETE";
    WorkflowRoute(method, "/v1/requests/{request_id}/claim", {Role::kReviewer},
                  [=, this](Ctx& c) -> Result<json> {
                    TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "request_id"));
                    return W()->ClaimRequest(c.who, id, release);
                  });
  }
  Route("GET", "/v1/requests/{request_id}/confirmation",
        {Role::kRequester, Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) {
          if (W() == nullptr) return NoWorkflow(c.res);
          auto id = IdParam(c, 1, "request_id");
          if (!id.ok()) return SendStatus(c.res, id.status());
          const std::string format = c.req.get_param_value("format");
          if (!format.empty() && format != "json" && format != "csv")
            return SendError(c.res, 400, "invalid_argument", "format must be json or csv");
          auto r = W()->Confirmation(c.who, *id);
          if (!r.ok()) return SendStatus(c.res, r.status());
          const std::string name =
              fmt::format("takedown-confirmation-{}.{}", *id, format == "csv" ? "csv" : "json");
          c.res.set_header("Content-Disposition", "attachment; filename=\"" + name + "\"");
          if (format == "csv") {
            return c.res.set_content(service::Workflow::ConfirmationCsv(*r), "text/csv");
          }
          SendJson(c.res, *r);
        });
  WorkflowRoute("POST", "/v1/requests/{request_id}/decision", {Role::kReviewer},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "request_id"));
                  TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
                  if (!b.contains("approve") || !b["approve"].is_boolean())
                    return InvalidArgument("approve: missing or not true/false");
                  if (b.contains("reason") && !b["reason"].is_string())
                    return InvalidArgument("reason: must be a string");
                  service::DsaChoice dsa;
                  if (b.contains("ground")) {
                    if (!b["ground"].is_string())
                      return InvalidArgument("ground: must be a string");
                    dsa.ground = b["ground"].get<std::string>();
                  }
                  if (b.contains("dsa_category")) {
                    if (!b["dsa_category"].is_string())
                      return InvalidArgument("dsa_category: must be a string");
                    dsa.category = b["dsa_category"].get<std::string>();
                  }
                  if (b.contains("dsa_keywords")) {
                    if (!b["dsa_keywords"].is_array())
                      return InvalidArgument("dsa_keywords: must be an array of strings");
                    for (const auto& k : b["dsa_keywords"]) {
                      if (!k.is_string())
                        return InvalidArgument("dsa_keywords: must be an array of strings");
                      dsa.keywords.push_back(k.get<std::string>());
                    }
                  }
                  return W()->Decide(c.who, id, b["approve"].get<bool>(),
                                     b.value("reason", std::string()), dsa);
                });
  WorkflowRoute("GET", "/v1/actions", {Role::kPlatform, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t after, IntQuery(c, "after_id", 0));
                  TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
                  const std::string state =
                      c.req.has_param("state") ? c.req.get_param_value("state") : "pending";
                  if (state != "pending" && state != "acknowledged")
                    return InvalidArgument("state must be pending or acknowledged");
                  return W()->ListActions(state, after, limit);
                });
  WorkflowRoute("POST", "/v1/actions/{action_id}/ack", {Role::kPlatform},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "action_id"));
                  return W()->Acknowledge(c.who, id);
                });
  WorkflowRoute("GET", "/v1/actions/{action_id}/statement", {Role::kPlatform, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "action_id"));
                  return W()->Statement(id);
                });
  WorkflowRoute("GET", "/v1/blocks/{block_id}/statement", {Role::kPlatform, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "block_id"));
                  return W()->BlockStatement(id);
                });
  WorkflowRoute("GET", "/v1/statements", {Role::kAdmin}, [=, this](Ctx& c) -> Result<json> {
    TD_ASSIGN_OR_RETURN(int64_t from, IntQuery(c, "from_ms", 0));
    TD_ASSIGN_OR_RETURN(int64_t to, IntQuery(c, "to_ms", W()->env()->NowMs() + 1));
    const std::string format = c.req.get_param_value("format");
    if (!format.empty() && format != "takedown" && format != "database") {
      return InvalidArgument("format must be takedown or database");
    }
    return W()->Statements(from, to, format == "database");
  });
  WorkflowRoute(
      "POST", "/v1/appeals", {Role::kPlatform},
      [=, this](Ctx& c) -> Result<json> {
        TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
        return W()->FileAppeal(c.who, b);
      },
      201);
  WorkflowRoute("GET", "/v1/appeals", {Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
                  return W()->ListAppeals(c.req.get_param_value("status"), limit);
                });
  WorkflowRoute("POST", "/v1/appeals/{appeal_id}/decision", {Role::kReviewer},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "appeal_id"));
                  TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
                  return W()->DecideAppeal(c.who, id, b);
                });
  Route("GET", "/v1/requests/{request_id}/spread", {Role::kReviewer, Role::kAdmin},
        [=, this](Ctx& c) {
          if (W() == nullptr) return NoWorkflow(c.res);
          auto id = IdParam(c, 1, "request_id");
          if (!id.ok()) return SendStatus(c.res, id.status());
          const std::string format =
              c.req.has_param("format") ? c.req.get_param_value("format") : "json";
          if (format != "json" && format != "csv")
            return SendError(c.res, 400, "invalid_argument", "format must be json or csv");
          auto r = W()->Spread(c.who, *id);
          if (!r.ok()) return SendStatus(c.res, r.status());
          if (format == "csv") return c.res.set_content(service::Spread::Csv(*r), "text/csv");
          SendJson(c.res, *r);
        });
  Route("GET", "/v1/entries/{entry_id}/spread", {Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) {
    if (W() == nullptr) return NoWorkflow(c.res);
    auto id = IdParam(c, 1, "entry_id");
    if (!id.ok()) return SendStatus(c.res, id.status());
    const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "json";
    if (format != "json" && format != "csv")
      return SendError(c.res, 400, "invalid_argument", "format must be json or csv");
    auto r = W()->EntrySpread(c.who, *id);
    if (!r.ok()) return SendStatus(c.res, r.status());
    if (format == "csv") return c.res.set_content(service::Spread::Csv(*r), "text/csv");
    SendJson(c.res, *r);
  });
  // Investigators' disclosure requests (issue 25 item 2) and their signed packages.
  WorkflowRoute(
      "POST", "/v1/disclosures", {Role::kRequester},
      [=, this](Ctx& c) -> Result<json> {
        TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
        const std::string key = c.req.get_header_value("Idempotency-Key");
        if (key.size() > 200 || HasControlCharacter(key)) {
          return InvalidArgument("Idempotency-Key: at most 200 characters, no control characters");
        }
        return W()->FileDisclosure(c.who, b, key);
      },
      201);
  WorkflowRoute("GET", "/v1/disclosures", {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t after, IntQuery(c, "after_id", 0));
                  TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
                  return W()->ListDisclosures(c.who, c.req.get_param_value("status"), after, limit);
                });
  WorkflowRoute("GET", "/v1/disclosures/{disclosure_id}",
                {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "disclosure_id"));
                  const std::string preview = c.req.get_param_value("preview");
                  if (!preview.empty() && preview != "true" && preview != "false") {
                    return InvalidArgument("preview must be true or false");
                  }
                  return W()->GetDisclosure(c.who, id, preview == "true");
                });
  WorkflowRoute("POST", "/v1/disclosures/{disclosure_id}/decision", {Role::kReviewer},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "disclosure_id"));
                  TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
                  return W()->DecideDisclosure(c.who, id, b);
                });
  Route("GET", "/v1/disclosures/{disclosure_id}/package",
        {Role::kRequester, Role::kReviewer, Role::kAdmin}, [=, this](Ctx& c) {
          if (W() == nullptr) return NoWorkflow(c.res);
          auto id = IdParam(c, 1, "disclosure_id");
          if (!id.ok()) return SendStatus(c.res, id.status());
          auto r = W()->DisclosurePackage(c.who, *id);
          if (!r.ok()) return SendStatus(c.res, r.status());
          c.res.set_header("Content-Disposition",
                           fmt::format("attachment; filename=\"disclosure-{}.json\"", *id));
          c.res.set_content(std::move(*r), "application/json");
        });
  // Legal holds on a spread's records, each with its preserve action for the platform.
  WorkflowRoute(
      "POST", "/v1/holds", {Role::kRequester, Role::kReviewer, Role::kAdmin},
      [=, this](Ctx& c) -> Result<json> {
        TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
        const std::string key = c.req.get_header_value("Idempotency-Key");
        if (key.size() > 200 || HasControlCharacter(key)) {
          return InvalidArgument("Idempotency-Key: at most 200 characters, no control characters");
        }
        return W()->PlaceHold(c.who, b, key);
      },
      201);
  WorkflowRoute("GET", "/v1/holds", {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t after, IntQuery(c, "after_id", 0));
                  TD_ASSIGN_OR_RETURN(int64_t limit, IntQuery(c, "limit", 100));
                  return W()->ListHolds(c.who, after, limit);
                });
  WorkflowRoute("GET", "/v1/holds/{hold_id}", {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "hold_id"));
                  return W()->GetHold(c.who, id);
                });
  WorkflowRoute("POST", "/v1/holds/{hold_id}/extend",
                {Role::kRequester, Role::kReviewer, Role::kAdmin},
                [=, this](Ctx& c) -> Result<json> {
                  TD_ASSIGN_OR_RETURN(int64_t id, IdParam(c, 1, "hold_id"));
                  TD_ASSIGN_OR_RETURN(json b, BodyJson(c));
                  return W()->ExtendHold(c.who, id, b);
                });
  // The key packages are signed with: public, so anyone holding a package can check it.
  Route("GET", "/.well-known/takedown-package-key", {}, [=, this](Ctx& c) {
    if (W() == nullptr) return NoWorkflow(c.res);
    auto keys = W()->PackageKeys();
    if (!keys.ok() && keys.status().code() == StatusCode::kFailedPrecondition) {
      return SendError(c.res, 404, "not_found", keys.status().message());
    }
    if (!keys.ok()) return SendStatus(c.res, keys.status());
    SendJson(c.res, *keys);
  });
  Route("GET", "/v1/reports/transparency", {Role::kAdmin}, [=, this](Ctx& c) {
    if (W() == nullptr) return NoWorkflow(c.res);
    auto from = IntQuery(c, "from_ms", 0);
    auto to = IntQuery(c, "to_ms", W()->env()->NowMs() + 1);
    if (!from.ok()) return SendStatus(c.res, from.status());
    if (!to.ok()) return SendStatus(c.res, to.status());
    const std::string format = c.req.has_param("format") ? c.req.get_param_value("format") : "json";
    if (format != "json" && format != "csv")
      return SendError(c.res, 400, "invalid_argument", "format must be json or csv");
    auto r = W()->Report(*from, *to);
    if (!r.ok()) return SendStatus(c.res, r.status());
    if (format == "csv") return c.res.set_content(service::Workflow::ReportCsv(*r), "text/csv");
    SendJson(c.res, *r);
  });
}

}  // namespace takedown::http
