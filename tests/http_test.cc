// The HTTP API in-process over a real SQLite store and real sockets (cpp-httplib client): roles
// per route, the OpenAPI document against the routes, bad input, live changes, readiness.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "core/fake_env.h"
#include "hash/digest.h"
#include "hash/vpdq.h"
#include "http/request_parse.h"
#include "http/server.h"
#include "http/sessions.h"
#include "match/signals.h"
#include "match/signals_json.h"
#include "match/video_match.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/package.h"
#include "takedown/service.h"
#include "takedown/workflow.h"

namespace takedown::http {
namespace {

using nlohmann::json;
using service::Role;

const std::vector<Role> kRoles = {Role::kPlatform, Role::kRequester, Role::kReviewer, Role::kAdmin};

using testing::Base64;

class HttpTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(ServerConfig{}); }
  void TearDown() override {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  void Start(ServerConfig cfg, bool attach = true) {
    dir_ = testing::MakeTempDir();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db").value());
    svc_ = std::move(service::Service::Create(store_.get()).value());
    for (Role r : kRoles)
      keys_[r] =
          svc_->CreateKey(r, std::string(service::RoleName(r)) + "-1", "test").value().second;
    other_requester_ = svc_->CreateKey(Role::kRequester, "requester-2", "test").value().second;
    cfg.port = 0;
    cfg.threads = 4;
    server_ = std::make_unique<Server>(attach ? svc_.get() : nullptr, cfg, store_.get());
    service::WorkflowOptions wo;
    wo.package_signing_seed = std::string(32, 's');  // investigators' packages are signed
    workflow_ = std::make_unique<service::Workflow>(svc_.get(), store_.get(), nullptr,
                                                    wo);  // no webhook: acks by call
    if (attach) server_->AttachWorkflow(workflow_.get());
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
  }
  void Stop() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    workflow_.reset();
    svc_.reset();
    store_.reset();
  }
  httplib::Headers Auth(const std::string& key) { return {{"Authorization", "Bearer " + key}}; }
  httplib::Result Post(const std::string& path, const std::string& key, const std::string& body,
                       const std::string& ct = "application/json") {
    return client_->Post(path.c_str(), Auth(key), body, ct.c_str());
  }
  httplib::Result PostJson(const std::string& path, Role role, const json& body) {
    return Post(path, keys_[role], body.dump());
  }
  httplib::Result Get(const std::string& path, const std::string& key) {
    return client_->Get(path.c_str(), Auth(key));
  }
  // Every client error: the status, and a JSON body with a code and a message.
  static void ExpectError(const httplib::Result& r, int status, const std::string& code,
                          const std::string& message_part = "") {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    const json j = json::parse(r->body, nullptr, false);
    ASSERT_TRUE(j.is_object() && j.contains("error")) << r->body;
    EXPECT_EQ(j["error"]["code"], code) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(message_part), std::string::npos)
        << r->body;
  }
  void MakeBank(const std::string& name = "ncii") {
    auto r = PostJson("/v1/banks", Role::kAdmin, {{"name", name}, {"category", "ncii"}});
    ASSERT_EQ(r->status, 201) << r->body;
  }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::Service> svc_;
  std::unique_ptr<service::Workflow> workflow_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
  std::unique_ptr<httplib::Client> client_;
  std::map<Role, std::string> keys_;
  std::string other_requester_;
};

std::string Concrete(std::string path) {
  for (auto p = path.find('{'); p != std::string::npos; p = path.find('{'))
    path.replace(p, path.find('}') - p + 1, "999999");
  return path;
}

// Every error code the server emits (src/core/status.cc's StatusCodeName through SendStatus, and
// the codes the HTTP edge answers with itself: server.cc, front.cc, the routes' SendError): the
// Error schema's code enum must list exactly these.
const std::set<std::string> kErrorCodes = {
    "invalid_argument",     "not_found",        "permission_denied",
    "resource_exhausted",   "data_loss",        "unsupported",
    "failed_precondition",  "io_error",         "internal",
    "unauthenticated",      "forbidden",        "unavailable",
    "method_not_allowed",   "bad_request",      "timeout",
    "too_many_connections", "header_too_large", "too_many_requests"};

// The keywords of JSON Schema (as OpenAPI 3.0 has it) that SchemaValidator checks, and those it
// may ignore (annotations).
const std::set<std::string> kCheckedKeywords = {"$ref",
                                                "type",
                                                "properties",
                                                "required",
                                                "items",
                                                "enum",
                                                "allOf",
                                                "anyOf",
                                                "oneOf",
                                                "nullable",
                                                "additionalProperties",
                                                "pattern",
                                                "minLength",
                                                "maxLength",
                                                "minimum",
                                                "maximum",
                                                "minItems",
                                                "maxItems"};
const std::set<std::string> kAnnotations = {"description", "format",   "default",
                                            "example",     "readOnly", "writeOnly"};

// A validator for the subset of JSON Schema docs/openapi.json uses. Strict: a field the schema
// does not declare is reported too (the document never forbids extra fields, but the server
// should send none it does not describe).
class SchemaValidator {
 public:
  explicit SchemaValidator(const json& doc) : doc_(doc) {}

  // Problems of `value` against `schema`, each naming where ("$.evidence[0].pdq: ...").
  std::vector<std::string> Validate(const json& schema, const json& value, bool strict) const {
    std::vector<std::string> out;
    Check(schema, value, "$", strict, out);
    return out;
  }

  const json& Resolve(const json& s) const {
    const json* p = &s;
    for (int depth = 0; p->is_object() && p->contains("$ref") && depth < 32; ++depth)
      p = &doc_.at(json::json_pointer((*p)["$ref"].get<std::string>().substr(1)));
    return *p;
  }

  // Keywords of `schema` and of every schema below it that the validator neither checks nor
  // may ignore.
  void UnknownKeywords(const json& schema, const std::string& at,
                       std::set<std::string>& out) const {
    if (!schema.is_object()) return;
    for (const auto& [k, v] : schema.items()) {
      if (!kCheckedKeywords.count(k) && !kAnnotations.count(k)) out.insert(at + ": " + k);
    }
    if (schema.contains("properties")) {
      for (const auto& [k, v] : schema["properties"].items()) UnknownKeywords(v, at + "." + k, out);
    }
    for (const char* k : {"items", "additionalProperties"}) {
      if (schema.contains(k)) UnknownKeywords(schema[k], at + "/" + k, out);
    }
    for (const char* k : {"allOf", "anyOf", "oneOf"}) {
      if (!schema.contains(k)) continue;
      for (size_t i = 0; i < schema[k].size(); ++i)
        UnknownKeywords(schema[k][i], Index(at + "/" + k, i), out);
    }
  }

 private:
  static std::string Index(const std::string& at, size_t i) {
    return at + "[" + std::to_string(i) + "]";
  }

  // The fields `s` declares, with those of its allOf parts.
  void Declared(const json& schema, std::set<std::string>& out) const {
    const json& s = Resolve(schema);
    if (s.contains("properties")) {
      for (const auto& [k, v] : s["properties"].items()) out.insert(k);
    }
    if (s.contains("allOf")) {
      for (const auto& part : s["allOf"]) Declared(part, out);
    }
  }

  void Check(const json& schema, const json& v, const std::string& at, bool strict,
             std::vector<std::string>& out) const {
    const json& s = Resolve(schema);
    if (v.is_null() && s.value("nullable", false)) return;
    if (s.contains("allOf")) {
      for (const auto& part : s["allOf"]) Check(part, v, at, false, out);
    }
    for (const char* k : {"anyOf", "oneOf"}) {
      if (!s.contains(k)) continue;
      size_t matched = 0;
      std::vector<std::string> first;
      for (const auto& part : s[k]) {
        std::vector<std::string> e;
        Check(part, v, at, strict, e);
        if (e.empty())
          ++matched;
        else if (first.empty())
          first = e;
      }
      if (matched == 0) out.push_back(at + ": matches none of " + k + " (first: " + first[0] + ")");
      if (matched > 1 && std::string(k) == "oneOf")
        out.push_back(at + ": matches several of oneOf");
    }
    if (s.contains("enum") && std::find(s["enum"].begin(), s["enum"].end(), v) == s["enum"].end()) {
      out.push_back(at + ": " + v.dump() + " is not one of " + s["enum"].dump());
    }
    if (v.is_object() && strict && (s.contains("properties") || s.contains("allOf")) &&
        !s.contains("additionalProperties")) {
      std::set<std::string> declared;
      Declared(s, declared);
      for (const auto& [k, x] : v.items()) {
        if (!declared.count(k)) out.push_back(at + ": field '" + k + "' is not in the document");
      }
    }
    if (!s.contains("type")) return;
    const std::string type = s["type"];
    const std::string shown = v.dump().substr(0, 80);
    if (type == "object") {
      if (!v.is_object()) return out.push_back(at + ": not an object: " + shown);
      for (const auto& r : s.value("required", json::array())) {
        if (!v.contains(r.get<std::string>()))
          out.push_back(at + ": the required field '" + r.get<std::string>() + "' is missing");
      }
      const json props = s.value("properties", json::object());
      for (const auto& [k, x] : v.items()) {
        if (props.contains(k)) {
          Check(props[k], x, at + "." + k, strict, out);
        } else if (s.contains("additionalProperties") && s["additionalProperties"].is_object()) {
          Check(s["additionalProperties"], x, at + "." + k, strict, out);
        } else if (s.value("additionalProperties", json(true)) == json(false)) {
          out.push_back(at + ": field '" + k + "' is not allowed");
        }
      }
    } else if (type == "array") {
      if (!v.is_array()) return out.push_back(at + ": not an array: " + shown);
      if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
        out.push_back(at + ": fewer items than minItems");
      if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
        out.push_back(at + ": more items than maxItems");
      if (s.contains("items")) {
        for (size_t i = 0; i < v.size(); ++i) Check(s["items"], v[i], Index(at, i), strict, out);
      }
    } else if (type == "string") {
      if (!v.is_string()) return out.push_back(at + ": not a string: " + shown);
      const std::string& str = v.get_ref<const std::string&>();
      if (s.contains("pattern") &&
          !std::regex_search(str, std::regex(s["pattern"].get<std::string>())))
        out.push_back(at + ": '" + str + "' does not match " + s["pattern"].get<std::string>());
      if (s.contains("minLength") && str.size() < s["minLength"].get<size_t>())
        out.push_back(at + ": shorter than minLength");
      if (s.contains("maxLength") && str.size() > s["maxLength"].get<size_t>())
        out.push_back(at + ": longer than maxLength");
    } else if (type == "integer" || type == "number") {
      if (type == "integer" ? !v.is_number_integer() : !v.is_number())
        return out.push_back(at + ": not of type " + type + ": " + shown);
      if (s.contains("minimum") && v.get<double>() < s["minimum"].get<double>())
        out.push_back(at + ": below the minimum");
      if (s.contains("maximum") && v.get<double>() > s["maximum"].get<double>())
        out.push_back(at + ": above the maximum");
    } else if (type == "boolean") {
      if (!v.is_boolean()) out.push_back(at + ": not a boolean: " + shown);
    } else {
      out.push_back(at + ": the validator does not know the type " + type);
    }
  }

  const json& doc_;
};

// Each role is refused (403) every route outside its role; no key or a wrong key is 401; health
// checks need none.
TEST_F(HttpTest, EveryRouteRefusesRolesOutsideIt) {
  int checked = 0;
  for (const auto& route : server_->routes()) {
    const std::string path = Concrete(route.path);
    auto call = [&](const httplib::Headers& h) {
      return route.method == "GET"    ? client_->Get(path.c_str(), h)
             : route.method == "POST" ? client_->Post(path.c_str(), h, "{}", "application/json")
                                      : client_->Delete(path.c_str(), h);
    };
    if (route.roles.empty()) {
      auto r = call({});
      ASSERT_TRUE(r);
      // The victims' form's calls need a body ("{}" is refused, naming its fields).
      const bool form = route.method == "POST" && route.path.rfind("/v1/report/", 0) == 0;
      EXPECT_EQ(r->status, route.path == "/console" ? 308 : form ? 400 : 200) << route.path;
      continue;
    }
    ExpectError(call({}), 401, "unauthenticated");
    ExpectError(call(Auth("td_not-a-key")), 401, "unauthenticated");
    ExpectError(call({{"Authorization", "Basic " + keys_[Role::kAdmin]}}), 401, "unauthenticated");
    for (Role role : kRoles) {
      auto r = call(Auth(keys_[role]));
      ASSERT_TRUE(r);
      const bool allowed =
          std::find(route.roles.begin(), route.roles.end(), role) != route.roles.end();
      if (allowed && route.method == "POST" && route.path == "/v1/disclosures") {
        // A requester's key, but only law enforcement files disclosure requests.
        ExpectError(r, 403, "permission_denied", "law-enforcement");
      } else if (allowed) {
        EXPECT_NE(r->status, 401) << route.method << " " << route.path << " as "
                                  << service::RoleName(role);
        EXPECT_NE(r->status, 403) << route.method << " " << route.path << " as "
                                  << service::RoleName(role);
      } else {
        EXPECT_EQ(r->status, 403) << route.method << " " << route.path << " as "
                                  << service::RoleName(role) << ": " << r->body;
      }
      ++checked;
    }
  }
  EXPECT_GE(checked, 4 * 14);
  // X-Api-Key is accepted as well as Bearer.
  auto r = client_->Get("/v1/whoami", {{"X-Api-Key", keys_[Role::kReviewer]}});
  EXPECT_EQ(json::parse(r->body)["role"], "reviewer");
}

// Requesters get nothing of anyone's data: not banks, not the content index, not the audit log,
// not another requester's identity.
TEST_F(HttpTest, RequestersSeeOnlyThemselves) {
  MakeBank();
  for (const std::string& key : {keys_[Role::kRequester], other_requester_}) {
    EXPECT_EQ(Get("/v1/banks", key)->status, 403);
    EXPECT_EQ(Get("/v1/audit/verify", key)->status, 403);
    EXPECT_EQ(Get("/metrics", key)->status, 403);
    EXPECT_EQ(Post("/v1/check", key,
                   R"({"content_id":"x","signals":{"md5":"00000000000000000000000000000000"}})")
                  ->status,
              403);
  }
  const json me = json::parse(Get("/v1/whoami", keys_[Role::kRequester])->body);
  const json them = json::parse(Get("/v1/whoami", other_requester_)->body);
  EXPECT_EQ(me["name"], "requester-1");
  EXPECT_EQ(them["name"], "requester-2");
  EXPECT_NE(me["key_id"], them["key_id"]);
}

// A removal request over HTTP: media as base64 evidence, a location, requester isolation (404 for
// another's request), review, the platform polling and acknowledging, the confirmation, the
// statement of reasons and the transparency report in CSV.
TEST_F(HttpTest, RemovalRequestFromIntakeToConfirmation) {
  const auto photo = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 11), 95);
  auto up = Post("/v1/check", keys_[Role::kPlatform],
                 json{{"content_id", "m-1"},
                      {"chat_id", "group"},
                      {"uploader_id", "u"},
                      {"media", Base64(photo)}}
                     .dump());
  ASSERT_EQ(up->status, 200) << up->body;
  ExpectError(
      Post("/v1/requests", keys_[Role::kRequester],
           json{{"category", "ncii"}, {"evidence", json::array({{{"media", "!!"}}})}}.dump()),
      400, "invalid_argument", "evidence[0].media");
  ExpectError(Post("/v1/requests", keys_[Role::kRequester], json{{"category", "ncii"}}.dump()), 400,
              "invalid_argument", "explanation");
  ExpectError(Post("/v1/requests", keys_[Role::kRequester], "{not json"), 400, "invalid_argument");
  const json body = {
      {"category", "ncii"},
      {"explanation", "intimate image shared without consent"},
      {"notifier", {{"name", "N"}, {"email", "n@example.org"}}},
      {"accuracy_statement", true},
      {"evidence", json::array({{{"media", Base64(photo)}},
                                {{"message_link", "https://chat.example/g/group/m/m-1"}}})}};
  auto r = Post("/v1/requests", keys_[Role::kRequester], body.dump());
  ASSERT_EQ(r->status, 201) << r->body;
  const json req = json::parse(r->body);
  EXPECT_EQ(req["status"], "pending_review");
  EXPECT_EQ(req["evidence"][0]["kind"], "media");
  EXPECT_EQ(req["evidence"][0]["pdq"].get<std::string>().size(), 64u);
  EXPECT_FALSE(req.dump().find(Base64(photo).substr(0, 40)) !=
               std::string::npos);  // bytes not kept
  const std::string path = "/v1/requests/" + std::to_string(req["id"].get<int64_t>());
  ExpectError(Get(path, other_requester_), 404, "not_found");
  EXPECT_EQ(json::parse(Get("/v1/requests", other_requester_)->body)["requests"].size(), 0u);
  EXPECT_EQ(json::parse(Get("/v1/review/queue", keys_[Role::kReviewer])->body)["queue"].size(), 1u);
  auto d = PostJson(path + "/decision", Role::kReviewer,
                    {{"approve", true}, {"reason", "matches the report"}});
  ASSERT_EQ(d->status, 200) << d->body;
  ExpectError(
      PostJson(path + "/decision", Role::kReviewer, {{"approve", true}, {"reason", "twice"}}), 409,
      "failed_precondition");
  const json actions = json::parse(Get("/v1/actions", keys_[Role::kPlatform])->body)["actions"];
  ASSERT_EQ(actions.size(), 1u);
  EXPECT_EQ(actions[0]["content_id"], "m-1");
  const std::string ack =
      "/v1/actions/" + std::to_string(actions[0]["action_id"].get<int64_t>()) + "/ack";
  ASSERT_EQ(Post(ack, keys_[Role::kPlatform], "")->status, 200);
  ASSERT_EQ(Post(ack, keys_[Role::kPlatform], "")->status, 200);  // idempotent
  const json done = json::parse(Get(path, keys_[Role::kRequester])->body);
  EXPECT_EQ(done["status"], "confirmed");
  ASSERT_EQ(done["removals"].size(), 1u);
  EXPECT_EQ(done["removals"][0]["chat_id"], "group");
  auto st =
      Get("/v1/actions/" + std::to_string(actions[0]["action_id"].get<int64_t>()) + "/statement",
          keys_[Role::kPlatform]);
  ASSERT_EQ(st->status, 200);
  EXPECT_EQ(json::parse(st->body)["puid"],
            "takedown-action-" + std::to_string(actions[0]["action_id"].get<int64_t>()));
  EXPECT_EQ(json::parse(st->body)["takedown"]["content_id"], "m-1");
  auto csv = Get("/v1/reports/transparency?format=csv", keys_[Role::kAdmin]);
  ASSERT_EQ(csv->status, 200);
  EXPECT_NE(csv->body.find("removals,total,1"), std::string::npos) << csv->body;
  ExpectError(Get("/v1/reports/transparency?from_ms=abc", keys_[Role::kAdmin]), 400,
              "invalid_argument", "from_ms");
}

// A 2xx schema that is a free-form object (no properties, no typed additionalProperties), or
// reaches the old free-form Document schema: "" if none, else where.
std::string FreeForm(const SchemaValidator& v, const json& schema, const std::string& at,
                     std::set<const json*>& seen) {
  if (schema.is_object() && schema.contains("$ref") &&
      schema["$ref"] == "#/components/schemas/Document") {
    return at + " refers to Document";
  }
  const json& s = v.Resolve(schema);
  if (!s.is_object() || !seen.insert(&s).second) return "";
  if (!s.contains("type") && !s.contains("allOf") && !s.contains("anyOf") && !s.contains("oneOf"))
    return at + " has no type";
  const bool typed_map =
      s.contains("additionalProperties") && s["additionalProperties"].is_object();
  if (s.value("type", "") == "object" && !s.contains("properties") && !typed_map &&
      !s.contains("allOf")) {
    return at + " is a free-form object";
  }
  std::vector<std::pair<std::string, const json*>> below;
  if (s.contains("properties")) {
    for (const auto& [k, x] : s["properties"].items()) below.push_back({at + "." + k, &x});
  }
  for (const char* k : {"items", "additionalProperties"}) {
    if (s.contains(k) && s[k].is_object()) below.push_back({at + "/" + k, &s[k]});
  }
  for (const char* k : {"allOf", "anyOf", "oneOf"}) {
    if (!s.contains(k)) continue;
    for (const auto& part : s[k]) below.push_back({at + "/" + k, &part});
  }
  for (const auto& [where, x] : below) {
    if (auto f = FreeForm(v, *x, where, seen); !f.empty()) return f;
  }
  return "";
}

// docs/openapi.json lists exactly the routes served, each with the roles it allows, a unique
// operationId, every status the edge and the handler can answer with (Error bodies for 4xx and
// 5xx) and a typed schema for every JSON answer.
TEST_F(HttpTest, OpenApiDocumentMatchesTheRoutes) {
  auto r = Get("/openapi.json", keys_[Role::kPlatform]);
  ASSERT_EQ(r->status, 200);
  const json doc = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  EXPECT_EQ(doc["info"]["version"], TAKEDOWN_VERSION) << "docs/openapi.json follows CMakeLists.txt";
  const SchemaValidator validator(doc);
  std::set<std::pair<std::string, std::string>> documented, served;
  std::set<std::string> operation_ids;
  const std::regex lower_camel("^[a-z][a-zA-Z0-9]*$");
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      const std::string where = m + " " + path;
      documented.insert({m, path});
      ASSERT_TRUE(op.contains("x-roles")) << where;
      ASSERT_TRUE(op.contains("responses")) << where;
      // A unique operationId in lowerCamelCase.
      const std::string id = op.value("operationId", "");
      EXPECT_TRUE(std::regex_match(id, lower_camel)) << where << ": operationId '" << id << "'";
      EXPECT_TRUE(id.empty() || operation_ids.insert(id).second)
          << where << ": operationId " << id << " repeats";
      const json& responses = op["responses"];
      auto has = [&](const char* status) { return responses.contains(status); };
      // The HTTP front answers any request with these: malformed HTTP or query (400), a header
      // or body too slow (408), a header too large (431), a failure (500), the connection bounds
      // (503).
      for (const char* status : {"400", "408", "431", "500", "503"})
        EXPECT_TRUE(has(status)) << where << " lacks " << status;
      // A body (every POST) can be over the limit (413) or compressed (415).
      if (m == "POST") {
        EXPECT_TRUE(has("413")) << where << " lacks 413";
        EXPECT_TRUE(has("415")) << where << " lacks 415";
      }
      std::set<std::string> doc_roles(op["x-roles"].begin(), op["x-roles"].end());
      for (const auto& route : server_->routes()) {
        if (route.method != m || route.path != path) continue;
        std::set<std::string> roles;
        for (Role role : route.roles) roles.insert(std::string(service::RoleName(role)));
        EXPECT_EQ(doc_roles, roles) << where;
        // No key needed <=> the document says security: [].
        EXPECT_EQ(route.roles.empty(), op.contains("security") && op["security"].empty()) << where;
        // A key: 401 without one; 403 when some role may not use it (and only then).
        EXPECT_EQ(has("401"), !route.roles.empty()) << where << ": 401";
        EXPECT_EQ(has("403"), !route.roles.empty() && route.roles.size() < kRoles.size())
            << where << ": 403";
      }
      for (const auto& [status, response] : responses.items()) {
        const json& resolved = validator.Resolve(response);
        ASSERT_TRUE(resolved.contains("description")) << where << " " << status;
        if (status[0] == '4' || status[0] == '5') {
          // Errors are the Error schema.
          EXPECT_EQ(resolved.value(json::json_pointer("/content/application~1json/schema/$ref"),
                                   std::string()),
                    "#/components/schemas/Error")
              << where << " " << status;
          continue;
        }
        if (status[0] != '2' || !resolved.contains("content")) continue;
        for (const auto& [type, media] : resolved["content"].items()) {
          if (type != "application/json") continue;
          ASSERT_TRUE(media.contains("schema")) << where << " " << status;
          // Typed: never the free-form Document (this document itself is the one exception).
          std::set<const json*> seen;
          const std::string free = FreeForm(validator, media["schema"], "schema", seen);
          if (path != "/openapi.json") {
            EXPECT_EQ(free, "") << where << " " << status;
          }
          EXPECT_EQ(media["schema"].dump().find("/Document\""), std::string::npos) << where;
        }
      }
    }
  }
  for (const auto& route : server_->routes()) served.insert({route.method, route.path});
  EXPECT_EQ(documented, served);
  // The Error code is one of the codes the server emits, and every one of them is listed.
  const json& code =
      doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"];
  ASSERT_TRUE(code.contains("enum"));
  EXPECT_EQ(std::set<std::string>(code["enum"].begin(), code["enum"].end()), kErrorCodes);
  EXPECT_FALSE(doc["components"]["schemas"].contains("Document"));
  // The validator below checks every keyword the schemas use.
  std::set<std::string> unknown;
  for (const auto& [name, schema] : doc["components"]["schemas"].items())
    validator.UnknownKeywords(schema, name, unknown);
  EXPECT_TRUE(unknown.empty()) << json(unknown).dump();
  // Every $ref resolves.
  std::function<void(const json&)> refs = [&](const json& j) {
    if (j.is_object()) {
      for (const auto& [k, v] : j.items()) {
        if (k == "$ref") {
          const std::string ref = v.get<std::string>();
          ASSERT_EQ(ref.rfind("#/", 0), 0u) << ref;
          EXPECT_FALSE(doc.value(json::json_pointer(ref.substr(1)), json()).is_null())
              << "dangling " << ref;
        } else {
          refs(v);
        }
      }
    } else if (j.is_array()) {
      for (const auto& v : j) refs(v);
    }
  };
  refs(doc);
}

// Real answers against the document: each status is one the document lists for the operation,
// each body valid against the schema for its status and media type, with no field the document
// does not describe. Driven through a request's whole life (intake, review, removal,
// acknowledgement, statement, appeal, restore, report), with errors on the way.
TEST_F(HttpTest, AnswersMatchTheDocumentedSchemas) {
  auto doc_r = client_->Get("/openapi.json");
  ASSERT_EQ(doc_r->status, 200);
  const json doc = json::parse(doc_r->body);
  const SchemaValidator validator(doc);
  std::set<std::pair<std::string, std::string>> exercised;
  // One call: `route` is the path template the document has, `path` the one called; an empty
  // key sends none. Returns the body parsed (null when it is not JSON).
  auto call = [&](const std::string& method, const std::string& route, const std::string& path,
                  const std::string& key, int want, const std::string& body = "",
                  const httplib::Headers& extra = {},
                  const std::string& content_type = "application/json") -> json {
    httplib::Headers h = extra;
    if (!key.empty()) h.emplace("Authorization", "Bearer " + key);
    const std::string where = method + " " + path;
    httplib::Result r = method == "GET" ? client_->Get(path.c_str(), h)
                        : method == "POST"
                            ? client_->Post(path.c_str(), h, body, content_type.c_str())
                            : client_->Delete(path.c_str(), h);
    if (!r) {
      ADD_FAILURE() << where << ": no answer";
      return json();
    }
    EXPECT_EQ(r->status, want) << where << ": " << r->body;
    std::string m = method;
    std::transform(m.begin(), m.end(), m.begin(), ::tolower);
    const json* op = nullptr;
    if (doc["paths"].contains(route) && doc["paths"][route].contains(m))
      op = &doc["paths"][route][m];
    if (op == nullptr) {
      ADD_FAILURE() << method << " " << route << " is not in the document";
      return json();
    }
    exercised.insert({method, route});
    const std::string status = std::to_string(r->status);
    if (!(*op)["responses"].contains(status)) {
      ADD_FAILURE() << where << ": status " << status << " is not documented for "
                    << (*op)["operationId"];
      return json();
    }
    const json& response = validator.Resolve((*op)["responses"][status]);
    std::string type = r->get_header_value("Content-Type");
    type = type.substr(0, type.find(';'));
    if (!response.contains("content")) {
      EXPECT_TRUE(r->body.empty()) << where << ": a body the document does not describe";
      return json();
    }
    if (!response["content"].contains(type)) {
      ADD_FAILURE() << where << ": Content-Type " << type << " is not documented for " << status;
      return json();
    }
    if (type != "application/json") return json();
    const json body_json = json::parse(r->body, nullptr, false);
    EXPECT_FALSE(body_json.is_discarded()) << where << ": not JSON: " << r->body;
    for (const auto& problem :
         validator.Validate(response["content"][type]["schema"], body_json, /*strict=*/true))
      ADD_FAILURE() << where << " " << status << ": " << problem << "\n" << r->body.substr(0, 2000);
    return body_json;
  };
  const std::string& platform = keys_[Role::kPlatform];
  const std::string& requester = keys_[Role::kRequester];
  const std::string& reviewer = keys_[Role::kReviewer];
  const std::string& admin = keys_[Role::kAdmin];

  // Health, the caller, keys.
  call("GET", "/healthz", "/healthz", "", 200);
  call("GET", "/readyz", "/readyz", "", 200);
  call("GET", "/openapi.json", "/openapi.json", "", 200);
  call("GET", "/metrics", "/metrics", admin, 200);
  call("GET", "/metrics", "/metrics", "", 401);
  call("GET", "/metrics", "/metrics", platform, 403);
  const int64_t requester_id = call("GET", "/v1/whoami", "/v1/whoami", requester, 200)["key_id"];
  const json key = call("POST", "/v1/keys", "/v1/keys", admin, 201,
                        json{{"name", "extra"}, {"role", "platform"}}.dump());
  call("POST", "/v1/keys", "/v1/keys", admin, 400, json{{"name", "x"}, {"role", "root"}}.dump());
  call("DELETE", "/v1/keys/{key_id}", "/v1/keys/" + std::to_string(key["key_id"].get<int64_t>()),
       admin, 200);
  call("DELETE", "/v1/keys/{key_id}", "/v1/keys/999999", admin, 404);
  call("DELETE", "/v1/keys/{key_id}", "/v1/keys/1e3", admin, 400);

  // Banks, entries, the upload gate, the content index, the audit chain.
  call("POST", "/v1/banks", "/v1/banks", admin, 201,
       json{{"name", "ncii-bank"}, {"category", "ncii"}}.dump());
  const json twice = call("POST", "/v1/banks", "/v1/banks", admin, 409,
                          json{{"name", "ncii-bank"}, {"category", "csam"}}.dump());
  EXPECT_EQ(twice["error"]["code"], "failed_precondition");
  call("GET", "/v1/banks", "/v1/banks", reviewer, 200);
  call("GET", "/v1/banks", "/v1/banks", requester, 403);
  const json entry = call("POST", "/v1/banks/{bank}/entries", "/v1/banks/ncii-bank/entries", admin,
                          201, json{{"pdq", std::string(64, 'a')}, {"quality", 90}}.dump());
  call("POST", "/v1/banks/{bank}/entries", "/v1/banks/nope/entries", admin, 404,
       json{{"md5", std::string(32, 'a')}}.dump());
  const std::string entry_path = "/v1/entries/" + std::to_string(entry["entry_id"].get<int64_t>());
  call("POST", "/v1/entries/{entry_id}/disable", entry_path + "/disable", admin, 200);
  call("POST", "/v1/entries/{entry_id}/enable", entry_path + "/enable", admin, 200);
  call("POST", "/v1/entries/{entry_id}/enable", "/v1/entries/999999/enable", admin, 404);
  call("POST", "/v1/banks/{bank}/import", "/v1/banks/ncii-bank/import?signal=md5", admin, 201,
       std::string(32, 'b') + "\n", {}, "text/plain");
  // The bank's entries by state; a page of them by hash prefix and state; every key's record.
  const json banks = call("GET", "/v1/banks", "/v1/banks", admin, 200)["banks"];
  ASSERT_EQ(banks.size(), 1u);
  EXPECT_EQ(banks[0]["entries"], (json{{"enabled", 2}, {"disabled", 0}})) << banks;
  const std::string entries = "/v1/banks/{bank}/entries";
  EXPECT_EQ(
      call("GET", entries, "/v1/banks/ncii-bank/entries?prefix=BBB", admin, 200)["entries"].size(),
      1u);
  const json page = call("GET", entries, "/v1/banks/ncii-bank/entries?limit=1", admin, 200);
  EXPECT_EQ(page["entries"].size(), 1u);
  const json rest = call("GET", entries,
                         "/v1/banks/ncii-bank/entries?after_id=" +
                             std::to_string(page["next_after_id"].get<int64_t>()),
                         admin, 200);
  EXPECT_EQ(rest["entries"].size(), 1u);
  EXPECT_TRUE(rest["next_after_id"].is_null());
  EXPECT_TRUE(
      call("GET", entries, "/v1/banks/ncii-bank/entries?state=disabled", admin, 200)["entries"]
          .empty());
  call("GET", entries, "/v1/banks/ncii-bank/entries?prefix=b%25", admin, 400);  // not hex: no LIKE
  call("GET", entries, "/v1/banks/ncii-bank/entries?limit=0", admin, 400);
  call("GET", entries, "/v1/banks/nope/entries", admin, 404);
  const json keys = call("GET", "/v1/keys", "/v1/keys", admin, 200)["keys"];
  EXPECT_GE(keys.size(), 5u);
  EXPECT_EQ(keys.dump().find("td_"), std::string::npos) << "a key in the listing";
  call("GET", "/v1/banks/{bank}/export", "/v1/banks/ncii-bank/export", admin, 200);
  call("GET", "/v1/banks/{bank}/export", "/v1/banks/ncii-bank/export?format=text", admin, 200);
  const std::string md5(32, 'c'), pdq = std::string(32, '5') + std::string(32, 'e');
  call("POST", "/v1/check", "/v1/check", platform, 200,
       json{{"content_id", "c-1"},
            {"chat_id", "g"},
            {"uploader_id", "u"},
            {"signals", {{"md5", md5}, {"pdq", pdq}, {"quality", 90}}}}
           .dump());
  const json blocked =
      call("POST", "/v1/check", "/v1/check", platform, 200,
           json{{"content_id", "c-blocked"}, {"signals", {{"pdq", std::string(64, 'a')}}}}.dump());
  ASSERT_EQ(blocked["decision"], "block") << blocked;
  // The block's statement of reasons, for the uploader: own-initiative, from the bank's category.
  const std::string block_path =
      "/v1/blocks/" + std::to_string(blocked["block_id"].get<int64_t>()) + "/statement";
  const json block_st = call("GET", "/v1/blocks/{block_id}/statement", block_path, platform, 200);
  EXPECT_EQ(block_st["source_type"], "SOURCE_VOLUNTARY") << block_st;
  EXPECT_EQ(block_st["category"], "STATEMENT_CATEGORY_CYBER_VIOLENCE") << block_st;
  call("GET", "/v1/blocks/{block_id}/statement", block_path, admin, 200);
  call("GET", "/v1/blocks/{block_id}/statement", block_path, reviewer, 403);
  call("GET", "/v1/blocks/{block_id}/statement", block_path, requester, 403);
  call("GET", "/v1/blocks/{block_id}/statement", "/v1/blocks/999999/statement", admin, 404);
  call("GET", "/v1/blocks/{block_id}/statement", "/v1/blocks/1x/statement", admin, 400);
  call("POST", "/v1/check", "/v1/check", platform, 415, R"({"content_id":"a"})", {}, "text/plain");
  call("POST", "/v1/check", "/v1/check", platform, 415, R"({"content_id":"a"})",
       {{"Content-Encoding", "gzip"}});
  call("POST", "/v1/check/media", "/v1/check/media", platform, 400, "xx", {}, "image/jpeg");
  call("POST", "/v1/check/media", "/v1/check/media?content_id=g", platform, 400,
       std::string(500, 'A'), {}, "image/jpeg");  // neither an image nor a video
  call("POST", "/v1/content/batch", "/v1/content/batch", platform, 200,
       json{{"items", json::array({{{"content_id", "c-2"}, {"md5", std::string(32, 'd')}}})}}
           .dump());
  call("GET", "/v1/audit/verify", "/v1/audit/verify", admin, 200);

  // Requester profiles.
  const std::string profile_path = "/v1/requesters/" + std::to_string(requester_id);
  call("POST", "/v1/requesters/{key_id}", profile_path, admin, 200,
       json{{"source_type", "notice"},
            {"name", "Helpline"},
            {"deadline_hours", 48},
            {"email",
             {{"addresses", json::array({"reports@example.org"})},
              {"secret", "a-shared-secret-of-some-length"}}}}
           .dump());
  call("GET", "/v1/requesters/{key_id}", profile_path, admin, 200);
  call("GET", "/v1/requesters/{key_id}", "/v1/requesters/999999", admin, 404);  // no such key
  call("GET", "/v1/requesters", "/v1/requesters", admin, 200);
  call("POST", "/v1/requesters/{key_id}", "/v1/requesters/999999", admin, 404,
       json{{"source_type", "notice"}}.dump());
  const int64_t platform_id = call("GET", "/v1/whoami", "/v1/whoami", platform, 200)["key_id"];
  call("POST", "/v1/requesters/{key_id}", "/v1/requesters/" + std::to_string(platform_id), admin,
       409, json{{"source_type", "notice"}}.dump());  // not a requester key
  call("GET", "/v1/requesters/{key_id}", "/v1/requesters/" + std::to_string(platform_id), admin,
       409);

  // A request: hashes, a located item and one the content index lacks.
  const json filed = call(
      "POST", "/v1/requests", "/v1/requests", requester, 201,
      json{{"category", "ncii"},
           {"explanation", "intimate image shared without consent"},
           {"notifier", {{"name", "N"}, {"email", "n@example.org"}}},
           {"accuracy_statement", true},
           {"evidence",
            json::array({{{"md5", md5}}, {{"content_id", "c-1"}}, {{"content_id", "nowhere"}}})}}
          .dump());
  call("POST", "/v1/requests", "/v1/requests", requester, 400, json{{"category", "ncii"}}.dump());
  const std::string request_path = "/v1/requests/" + std::to_string(filed["id"].get<int64_t>());
  // The requester's view: only the fields RequesterEvidenceItem lists.
  const json& requester_item = doc["components"]["schemas"]["RequesterEvidenceItem"]["properties"];
  for (const json& view :
       {filed, call("GET", "/v1/requests/{request_id}", request_path, requester, 200)}) {
    for (const auto& item : view["evidence"]) {
      for (const auto& [k, x] : item.items())
        EXPECT_TRUE(requester_item.contains(k)) << k << " shown to the requester: " << item;
    }
  }
  const json reviewed = call("GET", "/v1/requests/{request_id}", request_path, reviewer, 200);
  EXPECT_EQ(reviewed["evidence"][1]["resolved"], true) << reviewed;
  call("GET", "/v1/requests/{request_id}", request_path, other_requester_, 404);
  call("GET", "/v1/requests/{request_id}", "/v1/requests/abc", reviewer, 400);
  call("GET", "/v1/requests", "/v1/requests", requester, 200);
  call("GET", "/v1/requests", "/v1/requests?status=pending_review&limit=5", reviewer, 200);
  call("GET", "/v1/requests", "/v1/requests?status=bogus", reviewer, 400);
  EXPECT_EQ(call("GET", "/v1/review/queue", "/v1/review/queue", reviewer, 200)["total"], 1);
  call("GET", "/v1/requests/{request_id}/evidence/{item}/preview",
       request_path + "/evidence/1/preview", reviewer, 404);  // no media kept
  call("GET", "/v1/requests/{request_id}/evidence/{item}/preview",
       request_path + "/evidence/0/preview", reviewer, 404);  // items count from 0: not a 400
  call("GET", "/v1/requests/{request_id}/evidence/{item}/preview",
       request_path + "/evidence/1001/preview", reviewer, 400);
  call("GET", "/v1/requests/{request_id}/evidence/{item}/preview",
       request_path + "/evidence/x/preview", reviewer, 400);

  // One reviewer at a time: a claim (a lease) keeps others from claiming and deciding.
  const std::string claim_path = request_path + "/claim";
  const std::string lee = svc_->CreateKey(Role::kReviewer, "reviewer-2", "test").value().second;
  EXPECT_EQ(
      call("POST", "/v1/requests/{request_id}/claim", claim_path, reviewer, 200)["claim"]["name"],
      "reviewer-1");
  EXPECT_EQ(call("GET", "/v1/review/queue", "/v1/review/queue", reviewer,
                 200)["queue"][0]["claim"]["name"],
            "reviewer-1");
  const json taken = call("POST", "/v1/requests/{request_id}/claim", claim_path, lee, 409);
  EXPECT_NE(taken["error"]["message"].get<std::string>().find("claimed by reviewer-1"),
            std::string::npos)
      << taken;
  call("POST", "/v1/requests/{request_id}/decision", request_path + "/decision", lee, 409,
       json{{"approve", true}, {"reason", "mine"}}.dump());
  call("DELETE", "/v1/requests/{request_id}/claim", claim_path, lee, 409);
  call("POST", "/v1/requests/{request_id}/claim", claim_path, requester, 403);
  call("POST", "/v1/requests/{request_id}/claim", "/v1/requests/999999/claim", reviewer, 404);
  EXPECT_TRUE(call("DELETE", "/v1/requests/{request_id}/claim", claim_path, reviewer, 200)["claim"]
                  .is_null());
  call("POST", "/v1/requests/{request_id}/claim", claim_path, reviewer, 200);
  call("GET", "/v1/requests/{request_id}/confirmation", request_path + "/confirmation", requester,
       409);

  // Review, the removal, its acknowledgement and statement.
  const json decided =
      call("POST", "/v1/requests/{request_id}/decision", request_path + "/decision", reviewer, 200,
           json{{"approve", true}, {"reason", "matches"}}.dump());
  EXPECT_EQ(decided["status"], "actioned") << decided;
  call("POST", "/v1/requests/{request_id}/decision", request_path + "/decision", reviewer, 409,
       json{{"approve", true}, {"reason", "twice"}}.dump());
  call("POST", "/v1/requests/{request_id}/decision", "/v1/requests/999999/decision", reviewer, 404,
       json{{"approve", true}, {"reason", "none"}}.dump());
  const json pending = call("GET", "/v1/actions", "/v1/actions", platform, 200)["actions"];
  ASSERT_EQ(pending.size(), 1u) << pending;
  const std::string action_path =
      "/v1/actions/" + std::to_string(pending[0]["action_id"].get<int64_t>());
  call("GET", "/v1/actions/{action_id}/statement", action_path + "/statement", platform, 200);
  call("POST", "/v1/actions/{action_id}/ack", action_path + "/ack", platform, 200);
  call("POST", "/v1/actions/{action_id}/ack", action_path + "/ack", platform, 200);  // idempotent
  // The requester's confirmation, as a download.
  const json confirmation = call("GET", "/v1/requests/{request_id}/confirmation",
                                 request_path + "/confirmation", requester, 200);
  EXPECT_EQ(confirmation["copies_removed"], 1) << confirmation;
  call("GET", "/v1/requests/{request_id}/confirmation", request_path + "/confirmation?format=csv",
       requester, 200);
  call("GET", "/v1/requests/{request_id}/confirmation", request_path + "/confirmation?format=xml",
       requester, 400);
  call("GET", "/v1/requests/{request_id}/confirmation", request_path + "/confirmation",
       other_requester_, 404);
  call("GET", "/v1/requests/{request_id}/confirmation", request_path + "/confirmation", platform,
       403);
  call("POST", "/v1/requests/{request_id}/claim", claim_path, reviewer, 409);  // decided
  call("POST", "/v1/actions/{action_id}/ack", "/v1/actions/999999/ack", platform, 404);
  call("GET", "/v1/actions", "/v1/actions?state=acknowledged", admin, 200);
  call("GET", "/v1/actions", "/v1/actions?state=lost", admin, 400);
  call("GET", "/v1/actions/{action_id}/statement", action_path + "/statement", admin, 200);
  call("GET", "/v1/actions/{action_id}/statement", "/v1/actions/999999/statement", admin, 404);
  // The removal's and the block's.
  EXPECT_EQ(call("GET", "/v1/statements", "/v1/statements", admin, 200)["statements"].size(), 2u);
  const json batches = call("GET", "/v1/statements", "/v1/statements?format=database", admin, 200);
  ASSERT_EQ(batches["batches"].size(), 1u);
  EXPECT_EQ(batches["batches"][0]["statements"].size(), 2u);
  EXPECT_EQ(batches["invalid"].size(), 0u);
  call("GET", "/v1/statements", "/v1/statements?format=csv", admin, 400);
  // Where it came from and how it spread: reviewers and admins only.
  const json spread =
      call("GET", "/v1/requests/{request_id}/spread", request_path + "/spread", reviewer, 200);
  EXPECT_EQ(spread["totals"]["copies"], 1) << spread;
  call("GET", "/v1/requests/{request_id}/spread", request_path + "/spread?format=csv", admin, 200);
  call("GET", "/v1/requests/{request_id}/spread", request_path + "/spread?format=xml", admin, 400);
  call("GET", "/v1/requests/{request_id}/spread", request_path + "/spread", requester, 403);
  call("GET", "/v1/requests/{request_id}/spread", "/v1/requests/999999/spread", admin, 404);
  const std::string entry_spread = entry_path + "/spread";
  call("GET", "/v1/entries/{entry_id}/spread", entry_spread, reviewer, 200);
  call("GET", "/v1/entries/{entry_id}/spread", entry_spread + "?format=csv", admin, 200);
  call("GET", "/v1/entries/{entry_id}/spread", entry_spread + "?format=x", admin, 400);
  call("GET", "/v1/entries/{entry_id}/spread", entry_spread, platform, 403);
  call("GET", "/v1/entries/{entry_id}/spread", "/v1/entries/999999/spread", admin, 404);
  call("GET", "/v1/entries/{entry_id}/spread", "/v1/entries/0x1/spread", admin, 400);

  // Investigators' disclosure requests: law enforcement only, decided item by item, a signed
  // package after approval, the key to check it published.
  const auto police = svc_->CreateKey(Role::kRequester, "police", "test").value();
  call("POST", "/v1/requesters/{key_id}", "/v1/requesters/" + std::to_string(police.first), admin,
       200, json{{"source_type", "law_enforcement"}, {"name", "Cyber unit"}}.dump());
  const json filing = {{"legal_process",
                        {{"kind", "warrant"},
                         {"reference", "W-1"},
                         {"issuing_authority", "Court"},
                         {"jurisdiction", "KR"},
                         {"scope", "the spread of the named content"},
                         {"emergency", true}}},
                       {"items", json::array({{{"content_id", "c-2"}}})}};
  call("POST", "/v1/disclosures", "/v1/disclosures", requester, 403, filing.dump());
  call("POST", "/v1/disclosures", "/v1/disclosures", police.second, 400,
       json{{"legal_process", {{"kind", "letter"}}}, {"items", json::array()}}.dump());
  call("POST", "/v1/disclosures", "/v1/disclosures", police.second, 400,
       json{{"legal_process", filing["legal_process"]}, {"items", 1}, {"extra", 1}}.dump());
  const json disclosure = call("POST", "/v1/disclosures", "/v1/disclosures", police.second, 201,
                               filing.dump(), {{"Idempotency-Key", "w-1"}});
  const std::string disclosure_path =
      "/v1/disclosures/" + std::to_string(disclosure["id"].get<int64_t>());
  call("GET", "/v1/disclosures", "/v1/disclosures", police.second, 200);
  EXPECT_TRUE(
      call("GET", "/v1/disclosures", "/v1/disclosures", other_requester_, 200)["disclosures"]
          .empty());
  call("GET", "/v1/disclosures", "/v1/disclosures?status=pending_review&limit=5", reviewer, 200);
  call("GET", "/v1/disclosures", "/v1/disclosures?status=bogus", reviewer, 400);
  call("GET", "/v1/disclosures", "/v1/disclosures", platform, 403);
  call("GET", "/v1/disclosures/{disclosure_id}", disclosure_path, police.second, 200);
  call("GET", "/v1/disclosures/{disclosure_id}", disclosure_path, other_requester_, 404);
  const json preview = call("GET", "/v1/disclosures/{disclosure_id}",
                            disclosure_path + "?preview=true", reviewer, 200);
  EXPECT_EQ(preview["preview"].size(), 1u) << preview;
  call("GET", "/v1/disclosures/{disclosure_id}", disclosure_path + "?preview=yes", reviewer, 400);
  call("GET", "/v1/disclosures/{disclosure_id}", "/v1/disclosures/1e3", reviewer, 400);
  call("GET", "/v1/disclosures/{disclosure_id}/package", disclosure_path + "/package",
       police.second, 409);
  call("POST", "/v1/disclosures/{disclosure_id}/decision", disclosure_path + "/decision", reviewer,
       400, json{{"items", {{{"item", 0}, {"decision", "approved"}}}}}.dump());
  call("POST", "/v1/disclosures/{disclosure_id}/decision", disclosure_path + "/decision",
       police.second, 403, "{}");
  const json approved = call(
      "POST", "/v1/disclosures/{disclosure_id}/decision", disclosure_path + "/decision", reviewer,
      200,
      json{{"items", {{{"item", 0}, {"decision", "approved"}, {"reason", "in scope"}}}}}.dump());
  EXPECT_EQ(approved["status"], "approved") << approved;
  call("POST", "/v1/disclosures/{disclosure_id}/decision", disclosure_path + "/decision", reviewer,
       409, json{{"items", {{{"item", 0}, {"decision", "refused"}, {"reason", "x"}}}}}.dump());
  call("POST", "/v1/disclosures/{disclosure_id}/decision", "/v1/disclosures/999999/decision",
       reviewer, 404,
       json{{"items", {{{"item", 0}, {"decision", "refused"}, {"reason", "x"}}}}}.dump());
  const json package = call("GET", "/v1/disclosures/{disclosure_id}/package",
                            disclosure_path + "/package", police.second, 200);
  call("GET", "/v1/disclosures/{disclosure_id}/package", disclosure_path + "/package",
       other_requester_, 404);
  call("GET", "/v1/disclosures/{disclosure_id}/package", disclosure_path + "/package", platform,
       403);
  const json package_key = call("GET", "/.well-known/takedown-package-key",
                                "/.well-known/takedown-package-key", "", 200);
  EXPECT_EQ(package["signature"]["public_key"], package_key["public_key"]);
  EXPECT_TRUE(service::VerifyPackage(package.dump(), package_key["public_key"]).ok());
  // A legal hold on the disclosure's spread: placed, listed, read, extended.
  const json hold_body = {{"disclosure_id", disclosure["id"]}, {"days", 30}, {"reason", "inquiry"}};
  call("POST", "/v1/holds", "/v1/holds", platform, 403, hold_body.dump());
  call("POST", "/v1/holds", "/v1/holds", other_requester_, 404, hold_body.dump());
  call("POST", "/v1/holds", "/v1/holds", police.second, 400,
       json{{"disclosure_id", disclosure["id"]}, {"days", 0}}.dump());
  const json hold = call("POST", "/v1/holds", "/v1/holds", police.second, 201, hold_body.dump());
  const std::string hold_path = "/v1/holds/" + std::to_string(hold["id"].get<int64_t>());
  call("GET", "/v1/holds", "/v1/holds", police.second, 200);
  call("GET", "/v1/holds", "/v1/holds?after_id=x", reviewer, 400);
  call("GET", "/v1/holds/{hold_id}", hold_path, reviewer, 200);
  call("GET", "/v1/holds/{hold_id}", hold_path, other_requester_, 404);
  call("POST", "/v1/holds/{hold_id}/extend", hold_path + "/extend", police.second, 200,
       json{{"days", 10}, {"reason", "longer"}}.dump());
  call("POST", "/v1/holds/{hold_id}/extend", hold_path + "/extend", police.second, 400,
       json{{"days", 10000}, {"reason", "too long"}}.dump());
  call("POST", "/v1/holds/{hold_id}/extend", "/v1/holds/999999/extend", admin, 404,
       json{{"days", 1}, {"reason", "none"}}.dump());
  const json preserve = call("GET", "/v1/actions", "/v1/actions", platform, 200)["actions"];
  int preserves = 0;
  for (const auto& a : preserve) {
    if (a["kind"] != "preserve") continue;
    ++preserves;
    const std::string ap = "/v1/actions/" + std::to_string(a["action_id"].get<int64_t>());
    call("GET", "/v1/actions/{action_id}/statement", ap + "/statement", platform, 409);
    call("POST", "/v1/actions/{action_id}/ack", ap + "/ack", platform, 200);  // kept
  }
  EXPECT_EQ(preserves, 2) << preserve;
  const json confirmed = call("GET", "/v1/requests/{request_id}", request_path, requester, 200);
  EXPECT_EQ(confirmed["status"], "confirmed") << confirmed;
  EXPECT_EQ(confirmed["removals"].size(), 1u) << confirmed;

  // An appeal, upheld: the content restored and the entry disabled.
  const int64_t action_id = pending[0]["action_id"];
  const json appeal = call("POST", "/v1/appeals", "/v1/appeals", platform, 201,
                           json{{"action_id", action_id}, {"reason", "it is mine"}}.dump());
  call("POST", "/v1/appeals", "/v1/appeals", platform, 409,
       json{{"action_id", action_id}, {"reason", "again"}}.dump());
  call("POST", "/v1/appeals", "/v1/appeals", platform, 404,
       json{{"action_id", 999999}, {"reason", "none"}}.dump());
  call("GET", "/v1/appeals", "/v1/appeals?status=open", reviewer, 200);
  const std::string appeal_path = "/v1/appeals/" + std::to_string(appeal["id"].get<int64_t>());
  // Not by the reviewer who decided the removal (DSA Art. 20(6)): another one.
  const json own = call("POST", "/v1/appeals/{appeal_id}/decision", appeal_path + "/decision",
                        reviewer, 409, json{{"outcome", "rejected"}, {"reason", "mine"}}.dump());
  EXPECT_NE(own["error"]["message"].get<std::string>().find("another reviewer"), std::string::npos)
      << own;
  const json upheld =
      call("POST", "/v1/appeals/{appeal_id}/decision", appeal_path + "/decision", lee, 200,
           json{{"outcome", "upheld"}, {"reason", "fair"}, {"disable_entry", true}}.dump());
  EXPECT_TRUE(upheld.contains("restore_action_id")) << upheld;
  call("POST", "/v1/appeals/{appeal_id}/decision", appeal_path + "/decision", reviewer, 409,
       json{{"outcome", "rejected"}, {"reason", "again"}}.dump());
  call("GET", "/v1/appeals", "/v1/appeals", admin, 200);
  const json restore = call("GET", "/v1/actions", "/v1/actions", platform, 200)["actions"];
  ASSERT_EQ(restore.size(), 1u) << restore;
  EXPECT_EQ(restore[0]["kind"], "restore");
  call("GET", "/v1/actions/{action_id}/statement",
       "/v1/actions/" + std::to_string(restore[0]["action_id"].get<int64_t>()) + "/statement",
       platform, 409);  // a restore restricts nothing: no statement

  // The report, in JSON and CSV; the email line is not attached here.
  const json report =
      call("GET", "/v1/reports/transparency", "/v1/reports/transparency", admin, 200);
  EXPECT_EQ(report["removals"]["total"], 1) << report;
  call("GET", "/v1/reports/transparency", "/v1/reports/transparency?format=csv", admin, 200);
  call("GET", "/v1/reports/transparency", "/v1/reports/transparency?format=xml", admin, 400);
  call("GET", "/v1/mail/messages", "/v1/mail/messages", admin, 503);

  // Console sessions: a key signs in; the cookie then stands for it (CSRF on changes).
  // The console's page and assets: no key; deep links answer the page; unknown assets 404.
  call("GET", "/console", "/console", "", 308);
  call("GET", "/console/", "/console/", "", 200);
  call("GET", "/console/{path}", "/console/requests/12", "", 200);
  call("GET", "/console/{path}", "/console/assets/no-such-file.js", "", 404);
  call("GET", "/console/{path}", "/console/a/%2e%2e/b", "", 400);
  const json session = call("POST", "/console/session", "/console/session", reviewer, 201);
  EXPECT_EQ(session["via"], "session") << session;
  call("POST", "/console/session", "/console/session", "td_not-a-key", 401);
  call("POST", "/console/session", "/console/session", platform, 403);
  auto signed_in = client_->Post("/console/session", Auth(reviewer), "", "application/json");
  ASSERT_TRUE(signed_in && signed_in->status == 201);
  const std::string cookie = signed_in->get_header_value("Set-Cookie")
                                 .substr(0, signed_in->get_header_value("Set-Cookie").find(';'));
  const json who =
      call("GET", "/console/session", "/console/session", "", 200, "", {{"Cookie", cookie}});
  EXPECT_EQ(who["via"], "session") << who;
  EXPECT_EQ(call("GET", "/console/session", "/console/session", admin, 200)["via"], "key");
  call("DELETE", "/console/session", "/console/session", "", 403, "", {{"Cookie", cookie}});
  call("DELETE", "/console/session", "/console/session", admin, 409);
  call("DELETE", "/console/session", "/console/session", "", 200, "",
       {{"Cookie", cookie}, {"X-CSRF-Token", who["csrf_token"].get<std::string>()}});
  call("GET", "/console/session", "/console/session", "", 401, "", {{"Cookie", cookie}});

  // The victims' form: its pages, a case filed from hashes with a proof of work, opened with its
  // number and PIN, added to and withdrawn; refusals with each problem listed by field.
  call("GET", "/report", "/report", "", 200);
  call("GET", "/report/case", "/report/case", "", 200);
  auto work = [&] {
    const json c = call("GET", "/v1/report/challenge", "/v1/report/challenge", "", 200);
    const std::string ch = c["challenge"];
    for (int n = 0;; ++n) {
      const std::string h = hash::Sha256HexOfText(ch + ":" + std::to_string(n));
      const size_t zeros = h.find_first_not_of('0');
      const int v = std::stoi(h.substr(zeros, 1), nullptr, 16);
      const int bits = static_cast<int>(zeros) * 4 + (v < 2 ? 3 : v < 4 ? 2 : v < 8 ? 1 : 0);
      if (bits >= c["bits"].get<int>()) return std::make_pair(ch, std::to_string(n));
    }
  };
  const json item = {
      {"kind", "image"},
      {"pdq", std::string(48, 'a') + std::string(16, '5')},
      {"quality", 90},
      {"md5", std::string(32, 'c')},
      {"sha256", std::string(64, 'd')},
      {"robust", {{"norm", {std::string(64, 'e'), 80}}, {"variants", json::array()}}}};
  auto [ch, nonce] = work();
  json victim_filing = {{"challenge", ch},          {"nonce", nonce},
                        {"category", "ncii"},       {"statement", true},
                        {"signature", "Kim Minji"}, {"items", json::array({item})}};
  const json refused = call(
      "POST", "/v1/report/cases", "/v1/report/cases", "", 400,
      json{
          {"challenge", ch}, {"nonce", nonce}, {"category", "spam"}, {"items", json::array({item})}}
          .dump());
  EXPECT_GE(refused["error"]["fields"].size(), 3u) << refused;
  const json case_filed =
      call("POST", "/v1/report/cases", "/v1/report/cases", "", 201, victim_filing.dump());
  const json access = {{"case", case_filed["case"]}, {"pin", case_filed["pin"]}};
  EXPECT_EQ(call("POST", "/v1/report/cases/status", "/v1/report/cases/status", "", 200,
                 access.dump())["status"],
            "in_review");
  call("POST", "/v1/report/cases/status", "/v1/report/cases/status", "", 404,
       json{{"case", case_filed["case"]}, {"pin", "AAAA-BBBB-CCCC"}}.dump());
  auto [ch2, nonce2] = work();
  json more = access;
  more["challenge"] = ch2;
  more["nonce"] = nonce2;
  more["items"] = json::array({item});
  EXPECT_EQ(call("POST", "/v1/report/cases/items", "/v1/report/cases/items", "", 200,
                 more.dump())["items"],
            2);
  EXPECT_EQ(call("POST", "/v1/report/cases/withdraw", "/v1/report/cases/withdraw", "", 200,
                 access.dump())["status"],
            "withdrawn");
  call("POST", "/v1/report/cases/items", "/v1/report/cases/items", "", 409, more.dump());
  for (int i = 0; i < 4; ++i) {
    call("POST", "/v1/report/cases/withdraw", "/v1/report/cases/withdraw", "", 404,
         json{{"case", case_filed["case"]}, {"pin", "AAAA-BBBB-CCCD"}}.dump());
  }
  call("POST", "/v1/report/cases/withdraw", "/v1/report/cases/withdraw", "", 429, access.dump());
  call("POST", "/v1/report/cases", "/v1/report/cases", "", 415, "case=1", {},
       "application/x-www-form-urlencoded");
  // Recovery by email: this server has no SMTP sender, so it is not offered (409); a link that
  // does not work is 404, a malformed one 400 naming the field.
  EXPECT_EQ(
      call("GET", "/v1/report/challenge", "/v1/report/challenge", "", 200)["recovery_by_email"],
      false);
  auto [ch3, nonce3] = work();
  call("POST", "/v1/report/cases/recover", "/v1/report/cases/recover", "", 409,
       json{{"challenge", ch3},
            {"nonce", nonce3},
            {"case", case_filed["case"]},
            {"email", "kim@example.org"}}
           .dump());
  const json bad_link = call("POST", "/v1/report/cases/reset-pin", "/v1/report/cases/reset-pin", "",
                             400, json{{"case", "TD-AAAA-BBBB-CCCC"}, {"token", "x"}}.dump());
  EXPECT_EQ(bad_link["error"]["fields"][0]["field"], "token") << bad_link;
  call("POST", "/v1/report/cases/reset-pin", "/v1/report/cases/reset-pin", "", 404,
       json{{"case", "TD-AAAA-BBBB-CCCC"}, {"token", std::string(64, 'a')}}.dump());

  // Every operation was called at least once.
  std::set<std::pair<std::string, std::string>> documented;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      documented.insert({m, path});
    }
  }
  for (const auto& op : exercised) documented.erase(op);
  EXPECT_TRUE(documented.empty()) << "not called: " << json(documented).dump();
}

TEST_F(HttpTest, BankChangesAreLiveBeforeTheResponse) {
  MakeBank();
  const std::string pdq(64, 'f');
  std::string near = pdq;
  near[0] = '0';  // 4 bits away
  auto e = PostJson("/v1/banks/ncii/entries", Role::kAdmin,
                    {{"pdq", pdq}, {"request_id", "req-7"}, {"source", "hotline:x"}});
  ASSERT_EQ(e->status, 201) << e->body;
  const int64_t id = json::parse(e->body)["entry_id"];
  auto check = [&](const std::string& cid) {
    auto r = PostJson("/v1/check", Role::kPlatform,
                      {{"content_id", cid},
                       {"chat_id", "g1"},
                       {"uploader_id", "u1"},
                       {"signals", {{"pdq", near}}}});
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body);
  };
  json j = check("c1");
  EXPECT_EQ(j["decision"], "block");
  ASSERT_EQ(j["matches"].size(), 1u);
  EXPECT_EQ(j["matches"][0]["entry_id"], id);
  EXPECT_EQ(j["matches"][0]["distance"], 4);
  EXPECT_EQ(j["matches"][0]["signal"], "pdq");
  EXPECT_EQ(j["recorded"], true);
  EXPECT_EQ(check("c1")["recorded"], false);  // the same content_id is recorded once
  ASSERT_EQ(Post("/v1/entries/" + std::to_string(id) + "/disable", keys_[Role::kAdmin], "")->status,
            200);
  EXPECT_EQ(check("c2")["decision"], "allow");
  ASSERT_EQ(Post("/v1/entries/" + std::to_string(id) + "/enable", keys_[Role::kAdmin], "")->status,
            200);
  EXPECT_EQ(check("c3")["decision"], "block");
  ExpectError(Post("/v1/entries/999/disable", keys_[Role::kAdmin], ""), 404, "not_found");
  ExpectError(Post("/v1/entries/abc/disable", keys_[Role::kAdmin], ""), 400, "invalid_argument",
              "entry_id");
  ExpectError(PostJson("/v1/banks/nope/entries", Role::kAdmin, {{"pdq", pdq}}), 404, "not_found");
}

// The gate answers a check on an I/O thread (allowed: recorded by the group commit without a
// waiting thread), on a worker (blocked: its block record is waited for; a body over 64 KiB) --
// the same answers either way, every upload recorded before its answer, every refusal named.
TEST_F(HttpTest, ChecksAreAnsweredAlikeOnTheIoThreadAndOnAWorker) {
  MakeBank();
  const std::string pdq(64, 'f');
  ASSERT_EQ(PostJson("/v1/banks/ncii/entries", Role::kAdmin, {{"pdq", pdq}})->status, 201);
  std::string other(64, '0');
  auto body = [](const std::string& cid, const std::string& hash, size_t pad) {
    return json{{"content_id", cid}, {"signals", {{"pdq", hash}}}}.dump() + std::string(pad, ' ');
  };
  const std::string& key = keys_[Role::kPlatform];
  for (const size_t pad : {size_t{0}, size_t{70} << 10}) {
    SCOPED_TRACE(pad == 0 ? "a small body" : "a body over 64 KiB");
    const std::string tag = std::to_string(pad);
    for (const bool bad : {false, true}) {
      const std::string cid = (bad ? "blocked-" : "allowed-") + tag;
      auto r = Post("/v1/check", key, body(cid, bad ? pdq : other, pad));
      ASSERT_TRUE(r);
      ASSERT_EQ(r->status, 200) << r->body;
      json j = json::parse(r->body);
      EXPECT_EQ(j["decision"], bad ? "block" : "allow");
      EXPECT_EQ(j["recorded"], true);
      EXPECT_EQ(j.contains("block_id"), bad);
      // Recorded before the answer, in the store and in the content index.
      auto c = store_->FindContent(cid);
      ASSERT_TRUE(c.ok() && c->has_value()) << cid;
      EXPECT_EQ((*c)->state, bad ? "blocked" : "live");
      EXPECT_EQ(json::parse(Post("/v1/check", key, body(cid, other, pad))->body)["recorded"],
                false);
    }
    ExpectError(Post("/v1/check", key,
                     R"({"content_id":"x","signals":{"pdq":"zz"}})" + std::string(pad, ' ')),
                400, "invalid_argument", "pdq");
  }
  const service::ServiceStats st = svc_->Stats();
  EXPECT_EQ(st.content_items, 4u);  // in the content index as well as the store
  EXPECT_EQ(st.checks, 8u);
  EXPECT_EQ(st.blocked, 2u);
}

TEST_F(HttpTest, HashListsImportAndExport) {
  MakeBank();
  const std::string& a = keys_[Role::kAdmin];
  const std::string pdq1(64, 'a'), pdq2(64, '5');
  const std::string text = "# from hotline X\n" + pdq1 + ",90,file1.jpg\n\n" + pdq2 + "\r\n";
  auto r = client_->Post(
      "/v1/banks/ncii/import?format=text&signal=pdq&request_id=req-9&source=hotline:x", Auth(a),
      text, "text/plain");
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(json::parse(r->body)["imported"], 2);
  const std::string md5(32, 'c');
  r = client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a),
                    "{\"md5\":\"" + md5 + "\",\"file\":\"v.mp4\"}\n{\"pdq\":\"" +
                        std::string(64, '0') + "\",\"quality\":20}\n",
                    "application/x-ndjson");
  ASSERT_EQ(r->status, 201) << r->body;
  // Live at once: PDQ and exact matches block; the quality-20 hash is kept but not acted on.
  auto check = [&](const json& sig) {
    return json::parse(
        PostJson("/v1/check", Role::kPlatform, {{"content_id", sig.dump()}, {"signals", sig}})
            ->body)["decision"];
  };
  EXPECT_EQ(check({{"pdq", pdq1}}), "block");
  EXPECT_EQ(check({{"pdq", pdq2}}), "block");
  EXPECT_EQ(check({{"md5", md5}}), "block");
  EXPECT_EQ(check({{"pdq", std::string(64, '0')}}), "allow");
  // Export: jsonl with provenance; text re-importable.
  auto ex = Get("/v1/banks/ncii/export", a);
  ASSERT_EQ(ex->status, 200);
  std::istringstream in(ex->body);
  std::vector<json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(json::parse(line));
  ASSERT_EQ(rows.size(), 4u);
  EXPECT_EQ(rows[0]["pdq"], pdq1);
  EXPECT_EQ(rows[0]["quality"], 90);
  EXPECT_EQ(rows[0]["request_id"], "req-9");
  EXPECT_EQ(rows[0]["source"], "hotline:x");
  EXPECT_EQ(rows[2]["md5"], md5);
  auto tx = Get("/v1/banks/ncii/export?format=text", a);
  EXPECT_EQ(tx->body, pdq1 + ",90\n" + pdq2 + ",100\n" + std::string(64, '0') + ",20\n");
  // Errors name the line, and nothing of a bad list is imported.
  ExpectError(
      client_->Post("/v1/banks/ncii/import", Auth(a), pdq1 + "\n" + pdq1 + ",101\n", "text/plain"),
      400, "invalid_argument", "line 2");
  ExpectError(
      client_->Post("/v1/banks/ncii/import", Auth(a), pdq1 + "\nnot-a-hash\n", "text/plain"), 400,
      "invalid_argument", "line 2");
  ExpectError(client_->Post("/v1/banks/ncii/import?signal=md5", Auth(a), pdq1 + "\n", "text/plain"),
              400, "invalid_argument", "line 1");
  ExpectError(
      client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a), "{\"pdq\":5}\n", "text/plain"),
      400, "invalid_argument", "line 1");
  ExpectError(client_->Post("/v1/banks/ncii/import?format=xml", Auth(a), pdq1, "text/plain"), 400,
              "invalid_argument", "format");
  ExpectError(client_->Post("/v1/banks/ncii/import", Auth(a), "# nothing\n", "text/plain"), 400,
              "invalid_argument", "no entries");
  ExpectError(client_->Post("/v1/banks/nope/import", Auth(a), pdq1, "text/plain"), 404,
              "not_found");
  EXPECT_EQ(Get("/v1/banks/ncii/export", a)->body, ex->body);
  // The same list again stores nothing (200, every entry existing); a list with one new entry and
  // a repeat of it stores that entry once; a disabled entry is not brought back by a re-import.
  r = client_->Post("/v1/banks/ncii/import?format=text&signal=pdq", Auth(a), text, "text/plain");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["imported"], 0);
  EXPECT_EQ(json::parse(r->body)["existing"], 2);
  EXPECT_FALSE(json::parse(r->body).contains("first_entry_id"));
  const std::string pdq3(64, '7');
  r = client_->Post("/v1/banks/ncii/import", Auth(a), pdq3 + "\n" + pdq1 + "\n" + pdq3 + ",80\n",
                    "text/plain");
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(json::parse(r->body)["imported"], 1);
  EXPECT_EQ(json::parse(r->body)["existing"], 2);
  const int64_t id3 = json::parse(r->body)["first_entry_id"];
  ASSERT_EQ(
      client_->Post("/v1/entries/" + std::to_string(id3) + "/disable", Auth(a), "", "text/plain")
          ->status,
      200);
  r = client_->Post("/v1/banks/ncii/import", Auth(a), pdq3 + "\n", "text/plain");
  EXPECT_EQ(json::parse(r->body)["existing"], 1) << r->body;
  EXPECT_EQ(check({{"pdq", pdq3}}), "allow") << "a disabled entry stays disabled";
  std::istringstream after(Get("/v1/banks/ncii/export", a)->body);
  size_t n = 0;
  for (std::string line; std::getline(after, line);) ++n;
  EXPECT_EQ(n, 5u);
}

// Hash lists may carry more than plain PDQ (issue 20): one video's vPDQ in the reference's text
// format (?format=vpdq), jsonl lines with an image's robust signals (a request's "robust" form, or
// a `takedown hash --format jsonl --bank` line) or a video's "vpdq" frames. Each is matched like
// media: a re-encoded video copy, a picture cropped by 15% a side (which its PDQ alone misses).
// The jsonl export carries them back, and imports again into another bank.
TEST_F(HttpTest, HashListsCarryVideosAndRobustSignals) {
  MakeBank();
  const std::string& a = keys_[Role::kAdmin];
  auto upload = [&](const std::vector<uint8_t>& bytes, const std::string& id) {
    auto r = client_->Post("/v1/check/media?content_id=" + id, Auth(keys_[Role::kPlatform]),
                           std::string(bytes.begin(), bytes.end()), "application/octet-stream");
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body);
  };
  auto read = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>{std::istreambuf_iterator<char>(f), {}};
  };
  // A video known by its vPDQ alone.
  testing::WriteVideoFrames(dir_ + "/v.avi", testing::PanFrames(160, 120, 0, 75, 41), 25);
  testing::WriteVideoFrames(dir_ + "/copy.mkv", testing::PanFrames(160, 120, 0, 75, 41), 25);
  testing::WriteVideoFrames(dir_ + "/other.mkv", testing::PanFrames(160, 120, 0, 75, 42), 25);
  hash::VpdqOptions vo;
  vo.seconds_per_hash = 0;
  auto vpdq = hash::HashVideoFile(dir_ + "/v.avi", vo);
  ASSERT_TRUE(vpdq.ok()) << vpdq.status().ToString();
  const std::string text = hash::VpdqText(*vpdq);
  auto r = client_->Post("/v1/banks/ncii/import?format=vpdq&source=hotline:v", Auth(a), text,
                         "text/plain");
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(json::parse(r->body)["imported"], 1);
  auto found = upload(read(dir_ + "/copy.mkv"), "video-copy");
  EXPECT_EQ(found["decision"], "block") << found.dump();
  ASSERT_FALSE(found["matches"].empty());
  EXPECT_EQ(found["matches"][0]["signal"], "vpdq");
  EXPECT_EQ(upload(read(dir_ + "/other.mkv"), "video-other")["decision"], "allow");
  r = client_->Post("/v1/banks/ncii/import?format=vpdq", Auth(a), text, "text/plain");
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["existing"], 1);
  ExpectError(client_->Post("/v1/banks/ncii/import?format=vpdq", Auth(a),
                            text.substr(0, text.find('\n') + 1) + "1,100x," + std::string(64, 'a') +
                                ",0.040\n",
                            "text/plain"),
              400, "invalid_argument", "line 2");
  ExpectError(
      client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a),
                    "{\"type\":\"video\",\"vpdq\":[\"" + std::string(64, 'a') + ",90,1e2\"]}\n",
                    "text/plain"),
      400, "invalid_argument", "line 1");

  // A video with its frames' robust signals ("video", as `takedown hash --format jsonl --bank`
  // writes them): a copy cropped by 15% a side is blocked through the frames' centre crops.
  testing::WriteVideoFrames(dir_ + "/b.avi", testing::PanFrames(160, 120, 0, 75, 43), 25);
  match::VideoHashOptions bank_side;
  bank_side.bank = true;
  auto item = match::HashVideoForMatching(dir_ + "/b.avi", bank_side);
  ASSERT_TRUE(item.ok()) << item.status().ToString();
  json video_line = {{"file", "b.avi"}, {"type", "video"}, {"video", service::VideoToJson(*item)}};
  r = client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a), video_line.dump() + "\n",
                    "application/x-ndjson");
  ASSERT_EQ(r->status, 201) << r->body;
  std::vector<media::Image> cropped_frames;
  for (const auto& f : testing::PanFrames(160, 120, 0, 75, 43)) {
    media::Image c = media::Image::Allocate(160 - 48, 120 - 36, media::PixelFormat::kRgb8);
    for (int y = 0; y < c.height; ++y) std::copy_n(f.row(y + 18) + 3 * 24, c.row_bytes(), c.row(y));
    cropped_frames.push_back(std::move(c));
  }
  testing::WriteVideoFrames(dir_ + "/b-cropped.mkv", cropped_frames, 25);
  found = upload(read(dir_ + "/b-cropped.mkv"), "video-cropped");
  EXPECT_EQ(found["decision"], "block") << found.dump();
  // Its fields are checked as input from outside, naming what was wrong.
  const std::string pdq = R"("pdq":[")" + std::string(64, 'a') + R"(",90],"norm":[")" +
                          std::string(64, 'b') + R"(",90])";
  for (const auto& [bad, what] : std::vector<std::pair<std::string, std::string>>{
           {R"({"frames":[{"t":"soon",)" + pdq + "}]}", "frames[0].t: not a number"},
           {R"({"frames":[{"t":0,"pdq":[")" + std::string(64, 'a') + R"(",900]}]})", "quality"},
           {R"({"frames":[{"t":0,"pdq":["abc",90]}]})", "hex"},
           {R"({"frames":[{"t":0,)" + pdq + R"(},{"t":1,"pdq":["abc",90]}]})", "frames[1].pdq"},
           {R"({"duration":1e12,"frames":[{"t":0,)" + pdq + "}]}", "duration"},
           {R"({"frames":[{"t":-1,)" + pdq + "}]}", "time"},
           {R"({"frames":[]})", "no frames"},
           {R"("frames")", "no frames"}}) {
    ExpectError(client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a),
                              "{\"video\":" + bad + "}\n", "application/x-ndjson"),
                400, "invalid_argument", what);
  }

  // A picture with its robust signals, as `takedown hash --format jsonl --bank` writes them; a
  // copy cropped by 15% a side is blocked through them.
  const media::Image picture = testing::DetailedPhoto(400, 300, 17);
  const auto jpeg = *media::EncodeJpeg(picture, 92);
  match::SignalHasher hasher;
  auto bank_line = hasher.HashBytes(jpeg, /*bank=*/true);
  ASSERT_TRUE(bank_line.ok()) << bank_line.status().ToString();
  const std::string line = match::SignalsToJson("p.jpg", *bank_line).dump() + "\n";
  r = client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a), line, "application/x-ndjson");
  ASSERT_EQ(r->status, 201) << r->body;
  const int x0 = 60, y0 = 45;  // 15% of 400 and of 300
  media::Image crop = media::Image::Allocate(400 - 2 * x0, 300 - 2 * y0, media::PixelFormat::kRgb8);
  for (int y = 0; y < crop.height; ++y)
    std::copy_n(picture.row(y + y0) + 3 * x0, crop.row_bytes(), crop.row(y));
  const auto cropped = *media::EncodeJpeg(crop, 85);
  found = upload(cropped, "cropped");
  EXPECT_EQ(found["decision"], "block") << found.dump();
  ASSERT_FALSE(found["matches"].empty());
  EXPECT_NE(found["matches"][0]["signal"], "pdq");
  // A request's form of the same ("robust": norm and variants as [hex, quality]), checked whole.
  ExpectError(client_->Post(
                  "/v1/banks/ncii/import?format=jsonl", Auth(a),
                  "{\"pdq\":\"" + std::string(64, 'b') + "\",\"robust\":{\"norm\":[\"xyz\",90]}}\n",
                  "text/plain"),
              400, "invalid_argument", "robust.norm");
  ExpectError(client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a),
                            "{\"robust\":{\"norm\":[\"" + std::string(64, 'b') + "\",90]}}\n",
                            "text/plain"),
              400, "invalid_argument", "pdq");

  ExpectError(client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a),
                            "{\"pdq\":\"" + std::string(64, 'b') + "\",\"robust\":{\"norm\":[\"" +
                                std::string(64, 'b') + "\",90]}}\n",
                            "text/plain"),
              400, "invalid_argument", "variants");
  // A line of `takedown hash --format jsonl` without --bank (an upload's signals, no variants)
  // stays a hash-only entry: a mirrored copy is blocked through the upload's own dihedral hashes.
  const media::Image listed = testing::DetailedPhoto(320, 240, 19);
  auto upload_line = hasher.HashBytes(*media::EncodeJpeg(listed, 92), /*bank=*/false);
  ASSERT_TRUE(upload_line.ok());
  r = client_->Post("/v1/banks/ncii/import?format=jsonl", Auth(a),
                    match::SignalsToJson("l.jpg", *upload_line).dump() + "\n",
                    "application/x-ndjson");
  ASSERT_EQ(r->status, 201) << r->body;
  media::Image mirrored = listed;
  for (int y = 0; y < mirrored.height; ++y) {
    for (int x = 0; x < mirrored.width; ++x)
      std::copy_n(listed.row(y) + 3 * (listed.width - 1 - x), 3, mirrored.row(y) + 3 * x);
  }
  EXPECT_EQ(upload(*media::EncodeJpeg(mirrored, 85), "mirrored")["decision"], "block");

  // The export carries the video's frames and the picture's robust signals; a second bank made
  // from it blocks both copies too.
  auto ex = Get("/v1/banks/ncii/export", a);
  ASSERT_EQ(ex->status, 200);
  EXPECT_NE(ex->body.find("\"vpdq\""), std::string::npos);
  EXPECT_NE(ex->body.find("\"robust\""), std::string::npos);
  EXPECT_NE(ex->body.find("\"video\""), std::string::npos);
  for (const char* id : {"1", "2", "3", "4"}) {
    ASSERT_EQ(
        client_
            ->Post(std::string("/v1/entries/") + id + "/disable", Auth(a), "", "application/json")
            ->status,
        200);
  }
  EXPECT_EQ(upload(cropped, "cropped-2")["decision"], "allow");
  EXPECT_EQ(upload(read(dir_ + "/b-cropped.mkv"), "video-cropped-2")["decision"], "allow");
  MakeBank("again");
  r = client_->Post("/v1/banks/again/import?format=jsonl", Auth(a), ex->body,
                    "application/x-ndjson");
  ASSERT_EQ(r->status, 201) << r->body;
  EXPECT_EQ(json::parse(r->body)["imported"], 4);
  EXPECT_EQ(upload(cropped, "cropped-3")["decision"], "block");
  EXPECT_EQ(upload(read(dir_ + "/copy.mkv"), "video-copy-3")["decision"], "block");
  EXPECT_EQ(upload(read(dir_ + "/b-cropped.mkv"), "video-cropped-3")["decision"], "block");
}

// A bank video's first seconds at the start of an upload look exactly like a channel's intro
// shared by two unrelated videos (issue 20): the gate does not block on them, but it does not hide
// them either. They come back as "review" (the entry, how long, where in each video), counted in
// /metrics; a real copy of the same bank video is a match, not a review hint.
TEST_F(HttpTest, TheGateReportsASharedOpeningForReviewWithoutBlocking) {
  MakeBank();
  auto video = [&](const std::string& name, std::vector<std::vector<media::Image>> parts) {
    std::vector<media::Image> frames;
    for (auto& p : parts) {
      for (auto& f : p) frames.push_back(std::move(f));
    }
    testing::WriteVideoFrames(dir_ + "/" + name, frames, 25);
    std::ifstream f(dir_ + "/" + name, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  auto intro = [] { return testing::PanFrames(160, 120, 0, 150, 41); };  // 6 s
  // The bank video: the intro, then 10 s of its own; added by its vPDQ.
  video("bank.avi", {intro(), testing::PanFrames(160, 120, 0, 250, 51)});
  hash::VpdqOptions vo;
  vo.seconds_per_hash = 0;
  auto vpdq = hash::HashVideoFile(dir_ + "/bank.avi", vo);
  ASSERT_TRUE(vpdq.ok()) << vpdq.status().ToString();
  auto r = client_->Post("/v1/banks/ncii/import?format=vpdq&source=hotline:v",
                         Auth(keys_[Role::kAdmin]), hash::VpdqText(*vpdq), "text/plain");
  ASSERT_EQ(r->status, 201) << r->body;
  auto upload = [&](const std::string& body, const std::string& id) {
    auto res = client_->Post("/v1/check/media?content_id=" + id, Auth(keys_[Role::kPlatform]), body,
                             "application/octet-stream");
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body);
  };
  const json opens =
      upload(video("opens.avi", {intro(), testing::PanFrames(160, 120, 0, 250, 99)}), "opens");
  EXPECT_EQ(opens["decision"], "allow") << opens.dump();
  EXPECT_TRUE(opens["matches"].empty()) << opens.dump();
  ASSERT_TRUE(opens.contains("review")) << opens.dump();
  ASSERT_EQ(opens["review"].size(), 1u) << opens.dump();
  const json& h = opens["review"][0];
  EXPECT_EQ(h["bank"], "ncii");
  EXPECT_EQ(h["reason"], "edge_clip");
  EXPECT_GE(h["seconds"].get<double>(), 4.5);
  EXPECT_LT(h["seconds"].get<double>(), 15.0);
  EXPECT_NEAR(h["upload_from"].get<double>(), 0.0, 1.1);
  EXPECT_NEAR(h["upload_to"].get<double>(), 6.0, 1.1);
  EXPECT_NEAR(h["entry_from"].get<double>(), 0.0, 1.1);
  EXPECT_TRUE(h["entry_id"].is_number_integer());
  // The bank video's own last 6 s at the start of an upload are a copy (a match), with no hint.
  const json copy = upload(video("copy.avi", {testing::PanFrames(160, 120, 100, 250, 51),
                                              testing::PanFrames(160, 120, 0, 250, 98)}),
                           "copy");
  EXPECT_EQ(copy["decision"], "block") << copy.dump();
  EXPECT_FALSE(copy.contains("review")) << copy.dump();
  // An unrelated video: neither.
  const json other =
      upload(video("other.avi", {testing::PanFrames(160, 120, 0, 250, 97)}), "other");
  EXPECT_EQ(other["decision"], "allow");
  EXPECT_FALSE(other.contains("review")) << other.dump();
  auto m = client_->Get("/metrics", Auth(keys_[Role::kAdmin]));
  ASSERT_EQ(m->status, 200);
  EXPECT_NE(m->body.find("\ntakedown_uploads_review_total 1\n"), std::string::npos) << m->body;
}

// A requester who has a video's vPDQ (a hotline's hash list) and not the video: the frames are the
// evidence; approved, the platform's re-encoded copy is actioned and later copies are blocked.
TEST_F(HttpTest, RequestsCarryAVideosFramesAsEvidence) {
  const auto frames = testing::PanFrames(160, 120, 0, 75, 51);
  testing::WriteVideoFrames(dir_ + "/v.avi", frames, 25);
  testing::WriteVideoFrames(dir_ + "/copy.mkv", frames, 25);
  testing::WriteVideoFrames(dir_ + "/again.mp4", frames, 25);
  auto read = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>{std::istreambuf_iterator<char>(f), {}};
  };
  auto check = [&](const std::string& file, const std::string& id) {
    auto r = client_->Post(
        "/v1/check/media?content_id=" + id, Auth(keys_[Role::kPlatform]),
        [&] {
          auto b = read(dir_ + "/" + file);
          return std::string(b.begin(), b.end());
        }(),
        "application/octet-stream");
    EXPECT_EQ(r->status, 200) << r->body;
    return json::parse(r->body)["decision"].get<std::string>();
  };
  ASSERT_EQ(check("copy.mkv", "v-copy"), "allow");
  hash::VpdqOptions vo;
  vo.seconds_per_hash = 0;
  auto vpdq = hash::HashVideoFile(dir_ + "/v.avi", vo);
  ASSERT_TRUE(vpdq.ok()) << vpdq.status().ToString();
  json frames_list = json::array();
  for (const auto& f : vpdq->frames)
    frames_list.push_back(hash::VpdqListFrame(f.hash, f.quality, f.seconds));
  json body = {{"category", "ncii"},
               {"explanation", "a video shared without consent"},
               {"notifier", {{"name", "N"}, {"email", "n@example.org"}}},
               {"accuracy_statement", true},
               {"evidence", json::array({{{"vpdq", frames_list}}})}};
  // Refused, naming the field: both forms at once, a video's frames beside a picture's PDQ, a
  // frame that is not one, a "video" without frames.
  json both = body;
  both["evidence"][0]["video"] = json{{"frames", json::array()}};
  ExpectError(Post("/v1/requests", keys_[Role::kRequester], both.dump()), 400, "invalid_argument",
              "evidence[0].vpdq: a video's frames come as \"video\" or as \"vpdq\", not both");
  json with_pdq = body;
  with_pdq["evidence"][0]["pdq"] = std::string(64, 'a');
  ExpectError(Post("/v1/requests", keys_[Role::kRequester], with_pdq.dump()), 400,
              "invalid_argument", "evidence[0].vpdq: a video's frames come without");
  json bad_frame = body;
  bad_frame["evidence"][0]["vpdq"][2] = std::string(64, 'a') + ",90,1e2";
  ExpectError(Post("/v1/requests", keys_[Role::kRequester], bad_frame.dump()), 400,
              "invalid_argument", "evidence[0].vpdq: \"vpdq\"[2] seconds");
  json no_frames = body;
  no_frames["evidence"][0] = {{"video", {{"frames", "none"}}}};
  ExpectError(Post("/v1/requests", keys_[Role::kRequester], no_frames.dump()), 400,
              "invalid_argument", "evidence[0].video: video signals: no frames");
  // One problem, once named: no "has none of ..." beside it, no repeated field name.
  no_frames["evidence"][0] = {{"vpdq", json::array()}};
  auto empty = Post("/v1/requests", keys_[Role::kRequester], no_frames.dump());
  EXPECT_EQ(empty->status, 400);
  EXPECT_NE(empty->body.find("evidence[0].vpdq: no frames"), std::string::npos) << empty->body;
  EXPECT_EQ(empty->body.find("has none of"), std::string::npos) << empty->body;

  auto r = Post("/v1/requests", keys_[Role::kRequester], body.dump());
  ASSERT_EQ(r->status, 201) << r->body;
  const json req = json::parse(r->body);
  EXPECT_EQ(req["evidence"][0]["kind"], "hash");
  EXPECT_EQ(req["evidence"][0]["video"]["frames"], frames_list.size()) << req.dump();
  EXPECT_EQ(req["evidence"][0]["usable"], true);
  const std::string path = "/v1/requests/" + std::to_string(req["id"].get<int64_t>());
  auto d = PostJson(path + "/decision", Role::kReviewer,
                    {{"approve", true}, {"reason", "the hotline's video"}});
  ASSERT_EQ(d->status, 200) << d->body;
  const json actions = json::parse(Get("/v1/actions", keys_[Role::kPlatform])->body)["actions"];
  ASSERT_EQ(actions.size(), 1u) << actions.dump();
  EXPECT_EQ(actions[0]["content_id"], "v-copy");
  EXPECT_EQ(check("again.mp4", "v-again"), "block");
}

TEST_F(HttpTest, MediaChecksHashTheUploadAndDropIt) {
  MakeBank();
  const auto jpeg = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 5), 92);
  auto e = PostJson("/v1/banks/ncii/entries", Role::kAdmin, {{"media", Base64(jpeg)}});
  ASSERT_EQ(e->status, 201) << e->body;
  const auto copy = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 5), 55);
  auto r = PostJson("/v1/check", Role::kPlatform, {{"content_id", "m1"}, {"media", Base64(copy)}});
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["decision"], "block");
  auto raw = client_->Post("/v1/check/media?content_id=m2&chat_id=g&uploader_id=u",
                           Auth(keys_[Role::kPlatform]), std::string(copy.begin(), copy.end()),
                           "image/jpeg");
  ASSERT_EQ(raw->status, 200) << raw->body;
  EXPECT_EQ(json::parse(raw->body)["decision"], "block");
  const auto other = *media::EncodeJpeg(testing::DetailedPhoto(320, 240, 6), 90);
  auto allow = client_->Post("/v1/check/media?content_id=m3", Auth(keys_[Role::kPlatform]),
                             std::string(other.begin(), other.end()), "image/jpeg");
  EXPECT_EQ(json::parse(allow->body)["decision"], "allow");
}

// Bad input of every kind: 4xx with a code and a message naming what was wrong, never 5xx.
TEST_F(HttpTest, BadInputIsAClientErrorNamingTheProblem) {
  MakeBank();
  const std::string& p = keys_[Role::kPlatform];
  ExpectError(Post("/v1/check", p, "{\"content_id\": "), 400, "invalid_argument", "not valid JSON");
  ExpectError(Post("/v1/check", p, "[1,2]"), 400, "invalid_argument", "JSON object");
  ExpectError(Post("/v1/check", p, "{\"content_id\":\"a\"}", "text/plain"), 415, "unsupported",
              "Content-Type");
  ExpectError(Post("/v1/check", p, R"({"signals":{"pdq":"ff"}})"), 400, "invalid_argument",
              "content_id");
  ExpectError(Post("/v1/check", p, R"({"content_id":7,"signals":{}})"), 400, "invalid_argument",
              "\"content_id\" must be a string");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a"})"), 400, "invalid_argument", "needs");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","signals":"ff"})"), 400, "invalid_argument",
              "\"signals\"");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","signals":{"pdq":"xyz"}})"), 400,
              "invalid_argument", "pdq");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","signals":{"pdq":12}})"), 400,
              "invalid_argument", "pdq");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","signals":{"md5":"XYZ"}})"), 400,
              "invalid_argument", "md5");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","signals":{"sha256":"00"}})"), 400,
              "invalid_argument", "sha256");
  ExpectError(
      Post(
          "/v1/check", p,
          R"({"content_id":"a","signals":{"md5":"00000000000000000000000000000000","quality":1000}})"),
      400, "invalid_argument", "quality");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","media":"!!!!"})"), 400, "invalid_argument",
              "base64");
  ExpectError(Post("/v1/check", p, R"({"content_id":"a","media":12})"), 400, "invalid_argument",
              "media");
  ExpectError(Post("/v1/check", p,
                   std::string(R"({"content_id":")") + std::string(300, 'x') +
                       R"(","signals":{"md5":"00000000000000000000000000000000"}})"),
              400, "invalid_argument", "longer");
  // Ids that would break a log line, a CSV export or a JSON document downstream: refused, named,
  // and nothing recorded (a known-bad upload with such an id once got a 500 and no block).
  ExpectError(
      Post(
          "/v1/check", p,
          R"({"content_id":"a","chat_id":"c\nforged","signals":{"md5":"00000000000000000000000000000000"}})"),
      400, "invalid_argument", "chat_id has control characters");
  ExpectError(
      Post(
          "/v1/check", p,
          R"({"content_id":"a","uploader_id":"u\u0007","signals":{"md5":"00000000000000000000000000000000"}})"),
      400, "invalid_argument", "uploader_id has control characters");
  {
    auto jpeg = *media::EncodeJpeg(testing::DetailedPhoto(200, 200, 2), 90);
    const std::string body(jpeg.begin(), jpeg.end());
    auto bad =
        client_->Post("/v1/check/media?content_id=%FF%FE&chat_id=c", Auth(p), body, "image/jpeg");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << bad->body;
    EXPECT_NE(bad->body.find("content_id is not valid UTF-8"), std::string::npos) << bad->body;
    // Not UTF-8 in the ways a decoder may let through: overlong, a surrogate, past U+10FFFF, a
    // stray continuation byte, a sequence cut short.
    for (const char* id :
         {"%C0%AF", "%E0%80%AF", "%ED%A0%80", "%F4%90%80%80", "a%80", "ok%EC%82"}) {
      bad = client_->Post(std::string("/v1/check/media?content_id=") + id, Auth(p), body,
                          "image/jpeg");
      ASSERT_TRUE(bad);
      EXPECT_EQ(bad->status, 400) << id << ": " << bad->body;
      EXPECT_NE(bad->body.find("content_id is not valid UTF-8"), std::string::npos) << bad->body;
    }
    // Korean, and a character outside the BMP: fine.
    auto good = client_->Post("/v1/check/media?content_id=%EC%82%AD%EC%A0%9C-%F0%9F%98%80", Auth(p),
                              body, "image/jpeg");
    ASSERT_TRUE(good);
    EXPECT_EQ(good->status, 200) << good->body;
    bad = client_->Post("/v1/check/media?content_id=ok-id&chat_id=c%0D%0Aforged", Auth(p), body,
                        "image/jpeg");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400) << bad->body;
    EXPECT_NE(bad->body.find("chat_id has control characters"), std::string::npos) << bad->body;
    ExpectError(
        Post(
            "/v1/content/batch", p,
            R"({"items":[{"content_id":"fine","signals":{"md5":"00000000000000000000000000000000"}},{"content_id":"b","chat_id":"\u001b[31m","signals":{"md5":"00000000000000000000000000000000"}}]})"),
        400, "invalid_argument", "item 1: chat_id has control characters");
    auto again = Post(
        "/v1/content/batch", p,
        R"({"items":[{"content_id":"fine","signals":{"md5":"00000000000000000000000000000000"}}]})");
    ASSERT_TRUE(again);
    ASSERT_EQ(again->status, 200) << again->body;
    EXPECT_EQ(json::parse(again->body)["new"], 1) << "a refused batch records none of its items";
  }
  // Undecodable media: not an image at all, and a truncated JPEG.
  auto garbage =
      Post("/v1/check", p,
           json{{"content_id", "g"}, {"media", Base64(std::vector<uint8_t>(500, 0x41))}}.dump());
  ASSERT_TRUE(garbage);
  EXPECT_GE(garbage->status, 400);
  EXPECT_LT(garbage->status, 500) << garbage->body;
  auto jpeg = *media::EncodeJpeg(testing::DetailedPhoto(200, 200, 1), 90);
  jpeg.resize(120);  // cut inside the headers: nothing to decode
  auto truncated = client_->Post("/v1/check/media?content_id=t", Auth(p),
                                 std::string(jpeg.begin(), jpeg.end()), "image/jpeg");
  ASSERT_TRUE(truncated);
  EXPECT_GE(truncated->status, 400);
  EXPECT_LT(truncated->status, 500) << truncated->body;
  ExpectError(client_->Post("/v1/check/media", Auth(p), "xx", "image/jpeg"), 400,
              "invalid_argument", "content_id");
  ExpectError(client_->Post("/v1/check/media?content_id=e", Auth(p), "", "image/jpeg"), 400,
              "invalid_argument", "empty");
  // Batches: wrong shape, a bad item named by its index.
  ExpectError(Post("/v1/content/batch", p, R"({"items":{}})"), 400, "invalid_argument", "items");
  ExpectError(Post("/v1/content/batch", p,
                   R"({"items":[{"content_id":"a"},{"content_id":"b","pdq":"zz"}]})"),
              400, "invalid_argument", "items[1]");
  ExpectError(Post("/v1/content/batch", p, R"({"items":[{"content_id":"a"},5]})"), 400,
              "invalid_argument", "items[1]");
  // Admin inputs.
  const std::string& a = keys_[Role::kAdmin];
  ExpectError(Post("/v1/keys", a, R"({"name":"x","role":"root"})"), 400, "invalid_argument",
              "role");
  ExpectError(Post("/v1/banks", a, R"({"name":"x"})"), 400, "invalid_argument", "category");
  ExpectError(Post("/v1/banks", a, R"({"name":"x","category":"c","pdq_threshold":"31"})"), 400,
              "invalid_argument", "pdq_threshold");
  ExpectError(Post("/v1/banks", a, R"({"name":"x","category":"c","pdq_threshold":1e300})"), 400,
              "invalid_argument", "pdq_threshold");
  ExpectError(Post("/v1/banks", a, R"({"name":"x","category":"c","action":"nuke"})"), 400,
              "invalid_argument", "action");
  ExpectError(Post("/v1/banks/ncii/entries", a, R"({"source":"x"})"), 400, "invalid_argument",
              "needs");
  ExpectError(client_->Delete("/v1/keys/notanumber", Auth(a)), 400, "invalid_argument", "key_id");
  ExpectError(Get("/v1/nothing-here", a), 404, "not_found");
  // Deeply nested JSON is refused, not a stack overflow.
  ExpectError(Post("/v1/check", p, std::string(100000, '[') + std::string(100000, ']')), 400,
              "invalid_argument");
  // The server is still healthy after all that.
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(HttpTest, UnknownFieldsAreRefusedNamingThem) {
  MakeBank();
  const std::string& p = keys_[Role::kPlatform];
  const std::string& a = keys_[Role::kAdmin];
  const std::string md5(32, 'c');
  // A misspelt top-level field, with the near known one suggested.
  ExpectError(Post("/v1/banks", a, R"({"name":"b2","pdq_treshold":31})"), 400, "invalid_argument",
              "unknown field pdq_treshold (did you mean pdq_threshold?)");
  EXPECT_EQ(Get("/v1/banks", a)->body.find("\"b2\""), std::string::npos) << "nothing created";
  // Nested objects and array items are checked too, every unknown one named.
  ExpectError(
      Post("/v1/check", p,
           json{{"content_id", "x"}, {"signals", {{"md5", md5}, {"colour", 1}}}, {"y", 2}}.dump()),
      400, "invalid_argument", "unknown fields signals.colour, y");
  ExpectError(Post("/v1/content/batch", p,
                   json{{"items",
                         {{{"content_id", "a"}, {"signals", {{"md5", md5}}}},
                          {{"content_id", "b"}, {"signals", {{"md5", md5}}}, {"chat_idd", "c"}}}}}
                       .dump()),
              400, "invalid_argument", "items[1].chat_idd (did you mean chat_id?)");
  // Known fields pass, and a body that is not JSON is still named as such.
  auto ok = Post("/v1/check", p, json{{"content_id", "x"}, {"signals", {{"md5", md5}}}}.dump());
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
  ExpectError(Post("/v1/check", p, R"({"content_id": )"), 400, "invalid_argument",
              "not valid JSON");
  // A body nested a hundred thousand deep is refused before anything builds it.
  ExpectError(Post("/v1/check", p,
                   "{\"content_id\":" + std::string(100000, '[') + std::string(100000, ']') + "}"),
              400, "invalid_argument", "nests deeper than 64 levels");
}

TEST_F(HttpTest, RevokedKeysAreRefusedAtOnce) {
  auto r = PostJson("/v1/keys", Role::kAdmin, {{"name", "temp"}, {"role", "platform"}});
  ASSERT_EQ(r->status, 201) << r->body;
  const json k = json::parse(r->body);
  EXPECT_EQ(Get("/v1/whoami", k["key"])->status, 200);
  EXPECT_EQ(client_
                ->Delete(("/v1/keys/" + std::to_string(k["key_id"].get<int64_t>())).c_str(),
                         Auth(keys_[Role::kAdmin]))
                ->status,
            200);
  ExpectError(Get("/v1/whoami", k["key"]), 401, "unauthenticated", "revoked");
  auto audit = json::parse(Get("/v1/audit/verify", keys_[Role::kAdmin])->body);
  EXPECT_EQ(audit["ok"], true);
  EXPECT_GE(audit["records"].get<int>(), 7);  // 5 keys at set-up, one created, one revoked
}

// The console is served from the binary with no key: a strict Content-Security-Policy (scripts and
// styles from this origin only, none inline), hashed assets cached for good, the page never; any
// page path answers the page (the browser routes it); a way out of /console/ is refused.
TEST_F(HttpTest, TheConsoleIsServedFromTheBinaryUnderAStrictPolicy) {
  auto page = client_->Get("/console/");
  ASSERT_TRUE(page);
  ASSERT_EQ(page->status, 200) << page->body;
  EXPECT_EQ(page->get_header_value("Content-Security-Policy"),
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
            "connect-src 'self'; font-src 'self'; media-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'");
  EXPECT_EQ(page->get_header_value("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(page->get_header_value("X-Frame-Options"), "DENY");
  EXPECT_EQ(page->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  // Nothing inline, nothing from elsewhere: every script and style sheet is a file of ours.
  const std::string& html = page->body;
  std::smatch m;
  const std::regex script(R"(<script([^>]*)>([^<]*)</script>)");
  int scripts = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), script);
       it != std::sregex_iterator(); ++it) {
    ++scripts;
    EXPECT_NE((*it)[1].str().find("src=\"/console/assets/"), std::string::npos) << (*it)[0];
    EXPECT_TRUE((*it)[2].str().empty()) << "an inline script: " << (*it)[0];
  }
  EXPECT_GE(scripts, 1) << html;
  EXPECT_EQ(html.find(" style="), std::string::npos) << html;
  EXPECT_EQ(html.find("<style"), std::string::npos) << html;
  EXPECT_EQ(html.find("http://"), std::string::npos) << html;
  EXPECT_EQ(html.find("https://"), std::string::npos) << html;
  // Each asset the page names is served, typed, cached for good.
  const std::regex asset(R"re((?:src|href)="(/console/assets/[^"]+)")re");
  int assets = 0;
  for (auto it = std::sregex_iterator(html.begin(), html.end(), asset);
       it != std::sregex_iterator(); ++it) {
    ++assets;
    const std::string path = (*it)[1];
    auto a = client_->Get(path.c_str());
    ASSERT_TRUE(a);
    EXPECT_EQ(a->status, 200) << path;
    EXPECT_EQ(a->get_header_value("Cache-Control"), "public, max-age=31536000, immutable") << path;
    const std::string type = a->get_header_value("Content-Type");
    EXPECT_TRUE(type.rfind("text/javascript", 0) == 0 || type.rfind("text/css", 0) == 0)
        << path << ": " << type;
    EXPECT_FALSE(a->get_header_value("Content-Security-Policy").empty()) << path;
  }
  EXPECT_GE(assets, 2) << "a script and a style sheet: " << html;
  // Deep links answer the page; unknown assets and ways out do not.
  for (const char* deep : {"/console/queue", "/console/requests/12", "/console/x/y/z"}) {
    auto d = client_->Get(deep);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->status, 200) << deep;
    EXPECT_EQ(d->body, html) << deep;
  }
  for (const char* bad : {"/console/a/%2e%2e/b", "/console/a%2fb", "/console/a//b"}) {
    auto b = client_->Get(bad);
    ASSERT_TRUE(b);
    EXPECT_EQ(b->status, 400) << bad << ": " << b->body;
  }
  EXPECT_EQ(client_->Get("/console/assets/nope.js")->status, 404);
  auto moved = client_->Get("/console");
  EXPECT_EQ(moved->status, 308);
  EXPECT_EQ(moved->get_header_value("Location"), "/console/");
  // The tail route does not change another route's answer: the sign-in's 405 lists its methods.
  auto put = client_->Put("/console/session", "", "application/json");
  ASSERT_TRUE(put);
  EXPECT_EQ(put->status, 405);
  EXPECT_EQ(put->get_header_value("Allow"), "POST, GET, DELETE");
  EXPECT_EQ(client_->Post("/console/queue", "", "application/json")->status, 405);
}

// A session cookie chosen by someone else is never adopted (the sign-in makes a new one), and every
// route that changes anything refuses a session's request without its CSRF token, or with
// another's, before the route runs: checked over the whole route table, for each person's role.
TEST_F(HttpTest, SessionsResistFixationAndEveryChangeNeedsItsCsrfToken) {
  const httplib::Headers planted = {{"Cookie", "takedown_session=attacker-chosen-value"}};
  httplib::Headers sign_in = Auth(keys_[Role::kAdmin]);
  sign_in.emplace("Cookie", "takedown_session=attacker-chosen-value");
  auto in = client_->Post("/console/session", sign_in, "", "application/json");
  ASSERT_TRUE(in);
  ASSERT_EQ(in->status, 201) << in->body;
  const std::string set_cookie = in->get_header_value("Set-Cookie");
  EXPECT_EQ(set_cookie.find("attacker-chosen-value"), std::string::npos) << set_cookie;
  EXPECT_EQ(client_->Get("/console/session", planted)->status, 401) << "a planted cookie";
  int checked = 0;
  for (Role role : {Role::kRequester, Role::kReviewer, Role::kAdmin}) {
    auto signed_in = client_->Post("/console/session", Auth(keys_[role]), "", "application/json");
    ASSERT_TRUE(signed_in);
    ASSERT_EQ(signed_in->status, 201);
    const std::string c = signed_in->get_header_value("Set-Cookie");
    const httplib::Headers cookie = {{"Cookie", c.substr(0, c.find(';'))}};
    httplib::Headers wrong = cookie;
    wrong.emplace("X-CSRF-Token", std::string(64, '0'));
    for (const auto& route : server_->routes()) {
      if (route.method == "GET" || route.path == "/console/session") continue;
      if (std::find(route.roles.begin(), route.roles.end(), role) == route.roles.end()) continue;
      const std::string path = Concrete(route.path);
      for (const auto& h : {cookie, wrong}) {
        auto r = route.method == "POST" ? client_->Post(path.c_str(), h, "{}", "application/json")
                                        : client_->Delete(path.c_str(), h);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->status, 403) << route.method << " " << route.path << " as "
                                  << service::RoleName(role) << ": " << r->body;
        EXPECT_NE(r->body.find("X-CSRF-Token"), std::string::npos) << r->body;
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, 40);
}

// A person signs in once with a key and works with a session cookie: HttpOnly, SameSite=Strict,
// the key never in it; the role is the key's; every change shows the CSRF token; signing out,
// revoking the key or a failure ends it; sign-ins, failures and sign-outs are audited (never the
// key); failures are throttled per address; a sign-in reads no large body.
TEST_F(HttpTest, ConsoleSessionsStandForTheKeyWithCsrfAndAreAudited) {
  const std::string& reviewer = keys_[Role::kReviewer];
  auto in = client_->Post("/console/session", Auth(reviewer), "", "application/json");
  ASSERT_TRUE(in);
  ASSERT_EQ(in->status, 201) << in->body;
  const std::string set_cookie = in->get_header_value("Set-Cookie");
  EXPECT_EQ(set_cookie.rfind("takedown_session=", 0), 0u) << set_cookie;
  for (const char* attr : {"; HttpOnly", "; SameSite=Strict", "; Path=/", "; Max-Age=43200"})
    EXPECT_NE(set_cookie.find(attr), std::string::npos) << attr << " in " << set_cookie;
  EXPECT_EQ(set_cookie.find("Secure"), std::string::npos) << "plain HTTP here";
  EXPECT_EQ(set_cookie.find(reviewer), std::string::npos);
  EXPECT_EQ(in->body.find(reviewer), std::string::npos) << "the key is never said back";
  const json s = json::parse(in->body);
  EXPECT_EQ(s["role"], "reviewer");
  const std::string csrf = s["csrf_token"];
  EXPECT_EQ(csrf.size(), 64u);
  const std::string cookie = set_cookie.substr(0, set_cookie.find(';'));
  const httplib::Headers with_cookie = {{"Cookie", "theme=dark; " + cookie}};
  // The session is the reviewer: the review queue opens, the metrics (admins') do not.
  auto who = client_->Get("/v1/whoami", with_cookie);
  ASSERT_TRUE(who);
  EXPECT_EQ(json::parse(who->body)["role"], "reviewer") << who->body;
  EXPECT_EQ(client_->Get("/v1/review/queue", with_cookie)->status, 200);
  ExpectError(client_->Get("/metrics", with_cookie), 403, "forbidden");
  // A change needs the CSRF token: missing or wrong, 403 and nothing happens.
  ExpectError(client_->Delete("/console/session", with_cookie), 403, "forbidden", "CSRF");
  httplib::Headers wrong = with_cookie;
  wrong.emplace("X-CSRF-Token", std::string(64, 'a'));
  ExpectError(client_->Delete("/console/session", wrong), 403, "forbidden", "CSRF");
  EXPECT_EQ(client_->Get("/v1/whoami", with_cookie)->status, 200);
  // A forged or unknown cookie is no session.
  ExpectError(client_->Get("/v1/whoami", {{"Cookie", "takedown_session=" + std::string(64, '0')}}),
              401, "unauthenticated", "sign in again");
  // The metric counts it.
  EXPECT_NE(Get("/metrics", keys_[Role::kAdmin])->body.find("takedown_console_sessions 1"),
            std::string::npos);
  // Sign out: the cookie is cleared and no longer works.
  httplib::Headers right = with_cookie;
  right.emplace("X-CSRF-Token", csrf);
  auto out = client_->Delete("/console/session", right);
  ASSERT_TRUE(out);
  EXPECT_EQ(out->status, 200) << out->body;
  EXPECT_NE(out->get_header_value("Set-Cookie").find("Max-Age=0"), std::string::npos);
  ExpectError(client_->Get("/v1/whoami", with_cookie), 401, "unauthenticated", "ended");

  // A revoked key ends its sessions.
  auto made = PostJson("/v1/keys", Role::kAdmin, {{"name", "analyst"}, {"role", "requester"}});
  ASSERT_EQ(made->status, 201) << made->body;
  const json k = json::parse(made->body);
  auto in2 = client_->Post("/console/session", Auth(k["key"]), "", "application/json");
  ASSERT_EQ(in2->status, 201) << in2->body;
  const std::string cookie2 =
      in2->get_header_value("Set-Cookie").substr(0, in2->get_header_value("Set-Cookie").find(';'));
  EXPECT_EQ(client_->Get("/v1/whoami", {{"Cookie", cookie2}})->status, 200);
  ASSERT_EQ(client_
                ->Delete(("/v1/keys/" + std::to_string(k["key_id"].get<int64_t>())).c_str(),
                         Auth(keys_[Role::kAdmin]))
                ->status,
            200);
  ExpectError(client_->Get("/v1/whoami", {{"Cookie", cookie2}}), 401, "unauthenticated", "revoked");

  // Platform keys are machines': no console.
  ExpectError(client_->Post("/console/session", Auth(keys_[Role::kPlatform]), "", "text/plain"),
              403, "forbidden", "for people");
  // A sign-in reads no large body (refused before the key is looked at).
  ExpectError(
      client_->Post("/console/session", Auth(reviewer), std::string(4096, 'x'), "text/plain"), 413,
      "resource_exhausted", "Authorization header");
  // Failed sign-ins are audited and, past 10 a minute from one address, refused with 429.
  int failures = 1;  // the platform key's
  for (; failures < 10; ++failures) {
    ExpectError(client_->Post("/console/session", Auth("td_wrong"), "", "text/plain"), 401,
                "unauthenticated");
  }
  auto throttled = client_->Post("/console/session", Auth(reviewer), "", "text/plain");
  ASSERT_TRUE(throttled);
  EXPECT_EQ(throttled->status, 429) << throttled->body;
  EXPECT_EQ(throttled->get_header_value("Retry-After"), "60");

  auto audit = store_->ReadAudit(0, 10000);
  ASSERT_TRUE(audit.ok());
  std::map<std::string, int> kinds;
  for (const auto& rec : *audit) {
    ++kinds[rec.kind];
    EXPECT_EQ(rec.payload.find(reviewer), std::string::npos) << "a key in the audit log";
    EXPECT_EQ(rec.payload.find(k["key"].get<std::string>()), std::string::npos);
  }
  EXPECT_EQ(kinds["console.signed_in"], 2);
  EXPECT_EQ(kinds["console.signed_out"], 1);
  EXPECT_EQ(kinds["console.sign_in_failed"], 10);
}

// The same rules for sessions in memory and in a store (where several processes share them).
void SessionsEndIdleOrPastTheirTimeAndAreBoundedPerKey(bool in_store) {
  FakeEnv env;
  SessionOptions o;
  o.idle_ms = 1000;
  o.absolute_ms = 5000;
  o.max_per_key = 2;
  auto store = store::OpenMemoryStore(&env);
  Sessions sessions(o, &env, in_store ? store.get() : nullptr);
  auto live = [&](const std::string& token) {
    auto u = sessions.Use(token);
    EXPECT_TRUE(u.ok()) << u.status().ToString();
    return u.ok() && u->has_value();
  };
  const auto a = sessions.Create("hash-1", 1).value();
  EXPECT_EQ(a.token.size(), 64u);
  EXPECT_NE(a.token, a.session.csrf);
  for (int i = 0; i < 5; ++i) {  // used within the idle time: lives until its absolute end
    env.AdvanceMs(900);
    ASSERT_TRUE(live(a.token)) << i;
  }
  env.AdvanceMs(600);  // 5,100 ms after sign-in
  EXPECT_FALSE(live(a.token));
  const auto b = sessions.Create("hash-1", 1).value();
  env.AdvanceMs(1001);
  EXPECT_FALSE(live(b.token)) << "idle too long";
  // At most two per key: a third ends the oldest.
  const auto c1 = sessions.Create("hash-1", 1).value();
  env.AdvanceMs(1);
  const auto c2 = sessions.Create("hash-1", 1).value();
  env.AdvanceMs(1);
  const auto c3 = sessions.Create("hash-1", 1).value();
  const auto other = sessions.Create("hash-2", 2).value();
  EXPECT_FALSE(live(c1.token));
  EXPECT_TRUE(live(c2.token));
  EXPECT_TRUE(live(c3.token));
  EXPECT_TRUE(live(other.token));
  EXPECT_EQ(sessions.Count().value(), 3u);
  EXPECT_TRUE(sessions.End(c2.token).value());
  EXPECT_FALSE(sessions.End(c2.token).value());
  EXPECT_FALSE(live(c2.token));
  EXPECT_FALSE(live("short"));
  EXPECT_FALSE(live(std::string(64, 'a'))) << "an unknown token";
  EXPECT_EQ(sessions.Count().value(), 2u);
  // Failed sign-ins: 10 a minute per address.
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(sessions.Allowed("10.0.0.1"));
    sessions.Failed("10.0.0.1");
  }
  EXPECT_FALSE(sessions.Allowed("10.0.0.1"));
  EXPECT_TRUE(sessions.Allowed("10.0.0.2"));
  env.AdvanceMs(60'000);
  EXPECT_TRUE(sessions.Allowed("10.0.0.1"));
  // A key's cap ends its sessions past their time first, never one in use because it is older.
  const auto k1 = sessions.Create("hash-9", 9).value();
  env.AdvanceMs(100);
  const auto k2 = sessions.Create("hash-9", 9).value();
  env.AdvanceMs(500);
  EXPECT_TRUE(live(k1.token));
  env.AdvanceMs(600);  // k2 unused for 1,100 ms: past its idle time; k1 used 600 ms ago
  const auto k3 = sessions.Create("hash-9", 9).value();
  EXPECT_TRUE(live(k1.token)) << "the key's oldest session, in use, was ended";
  EXPECT_TRUE(live(k3.token));
  EXPECT_FALSE(live(k2.token));
  // Nothing of the sessions in memory reached the store.
  if (!in_store) {
    EXPECT_TRUE(store->FindDocs({.kind = kSessionDoc})->empty());
  }
}

TEST(Sessions, EndIdleOrPastTheirTimeAndAreBoundedPerKey) {
  SessionsEndIdleOrPastTheirTimeAndAreBoundedPerKey(false);
  // Cookies and secrets.
  EXPECT_EQ(CookieValue("a=1; takedown_session=xyz; b=2", "takedown_session"), "xyz");
  EXPECT_EQ(CookieValue("xtakedown_session=1", "takedown_session"), "");
  EXPECT_EQ(CookieValue("", "takedown_session"), "");
  EXPECT_TRUE(Sessions::SameSecret("abc", "abc"));
  EXPECT_FALSE(Sessions::SameSecret("abc", "abd"));
  EXPECT_FALSE(Sessions::SameSecret("", ""));
}

TEST(Sessions, KeptInAStoreTheyFollowTheRulesAndEndedOnesAreDeletedInTime) {
  SessionsEndIdleOrPastTheirTimeAndAreBoundedPerKey(true);
}

// Two processes on one store (PostgreSQL in production): a session made at one is used and
// ended at the other, failed sign-ins count once for both, and the sessions' count is shared.
TEST(Sessions, InAStoreEveryProcessKnowsEverySession) {
  FakeEnv env;
  auto store = store::OpenMemoryStore(&env);
  SessionOptions o;
  o.max_sessions = 3;
  Sessions a(o, &env, store.get()), b(o, &env, store.get());
  const auto s = a.Create("hash-1", 1).value();
  auto at_b = b.Use(s.token);
  ASSERT_TRUE(at_b.ok() && at_b->has_value()) << "made at A, unknown at B";
  EXPECT_EQ((*at_b)->csrf, s.session.csrf);
  EXPECT_EQ((*at_b)->key_hash, "hash-1");
  EXPECT_EQ(b.Count().value(), 1u);
  EXPECT_TRUE(b.End(s.token).value());
  EXPECT_FALSE(a.Use(s.token)->has_value()) << "signed out at B, still in at A";
  // max_sessions in all: the least recently used ends first, whichever process made it.
  const auto s1 = a.Create("hash-1", 1).value();
  env.AdvanceMs(61'000);  // past idle/30: a use moves the idle expiry in the store
  const auto s2 = b.Create("hash-2", 2).value();
  env.AdvanceMs(61'000);  // past idle/30: a use moves the idle expiry in the store
  const auto s3 = a.Create("hash-3", 3).value();
  env.AdvanceMs(61'000);  // past idle/30: a use moves the idle expiry in the store
  ASSERT_TRUE(b.Use(s1.token)->has_value());  // s1 used again: s2 is now the least recent
  const auto s4 = b.Create("hash-4", 4).value();
  EXPECT_EQ(a.Count().value(), 3u);
  EXPECT_FALSE(a.Use(s2.token)->has_value());
  EXPECT_TRUE(a.Use(s1.token)->has_value());
  EXPECT_TRUE(a.Use(s4.token)->has_value());
  // Failures from one address at either process count against one budget.
  for (int i = 0; i < 10; ++i) (i % 2 ? a : b).Failed("10.0.0.9");
  EXPECT_FALSE(a.Allowed("10.0.0.9"));
  EXPECT_FALSE(b.Allowed("10.0.0.9"));
  // The store keeps only what can still matter: a session made past its absolute time ago is
  // deleted when the next session is made, a failure older than a minute at the next failure.
  env.AdvanceMs(o.absolute_ms + 1);
  (void)a.Create("hash-5", 5).value();
  EXPECT_EQ(store->FindDocs({.kind = kSessionDoc})->size(), 1u);
  a.Failed("10.0.0.10");
  EXPECT_EQ(store->FindDocs({.kind = kSignInFailureDoc})->size(), 1u);
  // One key signs in at most 200 times an hour (each session is kept until its absolute end).
  SessionOptions many;
  many.max_per_key = 1;
  Sessions c(many, &env, store.get());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(c.Create("hash-6", 6).ok()) << i;
  auto over = c.Create("hash-6", 6);
  EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(c.Create("hash-7", 7).ok()) << "another key is not held back";
  env.AdvanceMs(3'600'000);
  EXPECT_TRUE(c.Create("hash-6", 6).ok()) << "an hour later";
}

TEST_F(HttpTest, MetricsAreValidPrometheusText) {
  MakeBank();
  json items = json::array();
  items.push_back({{"content_id", "a"}, {"pdq", std::string(64, '1')}});
  items.push_back({{"content_id", "b"}, {"md5", std::string(32, 'a')}});
  auto batch = PostJson("/v1/content/batch", Role::kPlatform, {{"items", items}});
  ASSERT_EQ(batch->status, 200) << batch->body;
  EXPECT_EQ(json::parse(batch->body)["new"], 2);
  auto r = Get("/metrics", keys_[Role::kAdmin]);
  ASSERT_EQ(r->status, 200);
  EXPECT_NE(r->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(
      r->body.find(
          "takedown_http_requests_total{method=\"POST\",route=\"/v1/banks\",status=\"2xx\"} 1"),
      std::string::npos)
      << r->body;
  EXPECT_NE(r->body.find("takedown_http_request_seconds_bucket{method=\"POST\",route=\"/v1/content/"
                         "batch\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(r->body.find("takedown_content_items 2"), std::string::npos);
  EXPECT_NE(r->body.find("takedown_store_write_queue_depth "), std::string::npos);
  // Every sample line is "name{labels} value" or "name value" with a number.
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    const auto sp = line.rfind(' ');
    ASSERT_NE(sp, std::string::npos) << line;
    EXPECT_NO_THROW((void)std::stod(line.substr(sp + 1))) << line;
  }
}

TEST_F(HttpTest, OversizedBodiesAre413) {
  Stop();
  std::filesystem::remove_all(dir_);
  ServerConfig cfg;
  cfg.max_body_bytes = 4096;
  Start(cfg);
  std::string big = R"({"content_id":"a","media":")" + std::string(10000, 'A') + "\"}";
  auto r = Post("/v1/check", keys_[Role::kPlatform], big);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
}

TEST_F(HttpTest, NotReadyUntilTheIndexesAreLoaded) {
  Stop();
  std::filesystem::remove_all(dir_);
  Start(ServerConfig{}, /*attach=*/false);
  EXPECT_EQ(client_->Get("/healthz")->status, 200);
  ExpectError(client_->Get("/readyz"), 503, "unavailable");
  ExpectError(Get("/v1/whoami", keys_[Role::kAdmin]), 503, "unavailable");
  server_->Attach(svc_.get());
  auto ready = client_->Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);
  // Ready to serve the gate; the workflow is not attached (a standby or a gate replica says so).
  EXPECT_EQ(json::parse(ready->body).value("workflow", ""), "not here");
  EXPECT_EQ(Get("/v1/whoami", keys_[Role::kAdmin])->status, 200);
  server_->AttachWorkflow(workflow_.get());  // the lease taken: this process runs the workflow
  EXPECT_EQ(json::parse(client_->Get("/readyz")->body).value("workflow", ""), "running");
}

TEST(RequestParse, Base64RoundTripsAndNamesBadCharacters) {
  for (size_t n : {0u, 1u, 2u, 3u, 4u, 100u}) {
    std::vector<uint8_t> b(n);
    for (size_t i = 0; i < n; ++i) b[i] = static_cast<uint8_t>(i * 37 + 11);
    auto d = Base64Decode(Base64(b));
    ASSERT_TRUE(d.ok()) << n;
    EXPECT_EQ(*d, b);
  }
  EXPECT_EQ(*Base64Decode("aGk"), (std::vector<uint8_t>{'h', 'i'}));  // padding optional
  auto bad = Base64Decode("aGk*");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("position 4"), std::string::npos) << bad.status().message();
  EXPECT_FALSE(Base64Decode("a").ok());
  EXPECT_FALSE(Base64Decode("a=bc").ok());
}

}  // namespace
}  // namespace takedown::http
