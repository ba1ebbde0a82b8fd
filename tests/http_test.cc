// The HTTP API in-process over a real SQLite store and real sockets (cpp-httplib client): roles
// per route, the OpenAPI document against the routes, bad input, live changes, readiness.
#include <gtest/gtest.h>
#include <httplib.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "http/request_parse.h"
#include "http/server.h"
#include "media/decode.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/service.h"
#include "takedown/workflow.h"

namespace takedown::http {
namespace {

using nlohmann::json;
using service::Role;

const std::vector<Role> kRoles = {Role::kPlatform, Role::kRequester, Role::kReviewer, Role::kAdmin};

std::string Base64(const std::vector<uint8_t>& b) {
  static const char* t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (size_t i = 0; i < b.size(); i += 3) {
    uint32_t v = b[i] << 16;
    if (i + 1 < b.size()) v |= b[i + 1] << 8;
    if (i + 2 < b.size()) v |= b[i + 2];
    out += t[(v >> 18) & 63];
    out += t[(v >> 12) & 63];
    out += i + 1 < b.size() ? t[(v >> 6) & 63] : '=';
    out += i + 2 < b.size() ? t[v & 63] : '=';
  }
  return out;
}

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
    workflow_ = std::make_unique<service::Workflow>(
        svc_.get(), store_.get(), nullptr, service::WorkflowOptions{});  // no webhook: acks by call
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
      EXPECT_EQ(r->status, 200) << route.path;
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
      if (allowed) {
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
  EXPECT_EQ(json::parse(st->body)["puid"], "m-1");
  auto csv = Get("/v1/reports/transparency?format=csv", keys_[Role::kAdmin]);
  ASSERT_EQ(csv->status, 200);
  EXPECT_NE(csv->body.find("removals,total,1"), std::string::npos) << csv->body;
  ExpectError(Get("/v1/reports/transparency?from_ms=abc", keys_[Role::kAdmin]), 400,
              "invalid_argument", "from_ms");
}

// docs/openapi.json lists exactly the routes served, each with the roles it allows.
TEST_F(HttpTest, OpenApiDocumentMatchesTheRoutes) {
  auto r = Get("/openapi.json", keys_[Role::kPlatform]);
  ASSERT_EQ(r->status, 200);
  const json doc = json::parse(r->body, nullptr, false);
  ASSERT_FALSE(doc.is_discarded());
  EXPECT_EQ(doc["openapi"].get<std::string>().substr(0, 2), "3.");
  std::set<std::pair<std::string, std::string>> documented, served;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      std::transform(m.begin(), m.end(), m.begin(), ::toupper);
      documented.insert({m, path});
      ASSERT_TRUE(op.contains("x-roles")) << m << " " << path;
      ASSERT_TRUE(op.contains("responses")) << m << " " << path;
      std::set<std::string> doc_roles(op["x-roles"].begin(), op["x-roles"].end());
      for (const auto& route : server_->routes()) {
        if (route.method != m || route.path != path) continue;
        std::set<std::string> roles;
        for (Role role : route.roles) roles.insert(std::string(service::RoleName(role)));
        EXPECT_EQ(doc_roles, roles) << m << " " << path;
        // No key needed <=> the document says security: [].
        EXPECT_EQ(route.roles.empty(), op.contains("security") && op["security"].empty())
            << m << " " << path;
      }
    }
  }
  for (const auto& route : server_->routes()) served.insert({route.method, route.path});
  EXPECT_EQ(documented, served);
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
  EXPECT_EQ(client_->Get("/readyz")->status, 200);
  EXPECT_EQ(Get("/v1/whoami", keys_[Role::kAdmin])->status, 200);
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
