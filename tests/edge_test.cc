// The HTTP edge against hostile and careless clients, over raw sockets (issue 17): bodies are
// not read before the key is checked, sizes are bounded for declared, chunked and compressed
// bodies alike, slow clients are cut off by total deadlines and cost no worker, connections per
// client address are bounded, query values and form bodies arrive whole, every answer is counted;
// the upload gate's checks are answered on the I/O threads without a worker each.
#include <arpa/inet.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "http/front.h"
#include "http/server.h"
#include "store/store.h"
#include "support/synthetic.h"
#include "takedown/service.h"
#include "takedown/workflow.h"

namespace takedown::http {
namespace {

using nlohmann::json;
using service::Role;
using Clock = std::chrono::steady_clock;

// A raw client connection: send bytes, read what comes back until the peer closes or the time
// is up.
class RawConn {
 public:
  explicit RawConn(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~RawConn() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool connected() const { return connected_; }
  bool Send(const std::string& s) {
    return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size());
  }
  // Everything received within `ms`, stopping early at the peer's close (closed() says so).
  std::string Read(int ms) {
    std::string out;
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const int left = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count());
      if (::poll(&p, 1, std::max(1, left)) <= 0) continue;
      char buf[65536];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
      // A whole response without a body to wait for beyond Content-Length.
      if (const auto h = out.find("\r\n\r\n"); h != std::string::npos) {
        const auto cl = out.find("Content-Length: ");
        if (cl != std::string::npos && cl < h) {
          const size_t len = std::stoul(out.substr(cl + 16));
          if (out.size() >= h + 4 + len && !wait_for_close_) break;
        }
      }
    }
    return out;
  }
  void wait_for_close(bool w) { wait_for_close_ = w; }
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false, closed_ = false, wait_for_close_ = false;
};

int StatusOf(const std::string& response) {
  if (response.rfind("HTTP/1.1 ", 0) != 0) return 0;
  return std::atoi(response.c_str() + 9);
}

class EdgeTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(ServerConfig{}); }
  void TearDown() override {
    Stop();
    std::filesystem::remove_all(dir_);
  }
  void Start(ServerConfig cfg) {
    dir_ = testing::MakeTempDir();
    store_ = std::move(store::OpenSqliteStore(dir_ + "/db").value());
    svc_ = std::move(service::Service::Create(store_.get()).value());
    platform_ = svc_->CreateKey(Role::kPlatform, "platform", "test")->second;
    admin_ = svc_->CreateKey(Role::kAdmin, "admin", "test")->second;
    cfg.port = 0;
    cfg.threads = 4;
    server_ = std::make_unique<Server>(svc_.get(), cfg, store_.get());
    workflow_ = std::make_unique<service::Workflow>(svc_.get(), store_.get(), nullptr,
                                                    service::WorkflowOptions{});
    server_->AttachWorkflow(workflow_.get());
    ASSERT_TRUE(server_->Bind().ok());
    thread_ = std::thread([this] { server_->Run(); });
  }
  void Stop() {
    if (server_) server_->Stop();
    if (thread_.joinable()) thread_.join();
    server_.reset();
    workflow_.reset();
    svc_.reset();
    store_.reset();
  }
  void Restart(ServerConfig cfg) {
    Stop();
    std::filesystem::remove_all(dir_);
    Start(cfg);
  }
  int port() const { return server_->port(); }
  // /healthz through a fresh connection: its status and how long it took.
  std::pair<int, double> Health() {
    const auto t0 = Clock::now();
    httplib::Client c("127.0.0.1", port());
    c.set_read_timeout(5, 0);
    auto r = c.Get("/healthz");
    return {r ? r->status : 0,
            std::chrono::duration<double, std::milli>(Clock::now() - t0).count()};
  }
  std::string Metrics() {
    httplib::Client c("127.0.0.1", port());
    auto r = c.Get("/metrics", {{"Authorization", "Bearer " + admin_}});
    return r ? r->body : "";
  }

  std::string dir_, platform_, admin_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<service::Service> svc_;
  std::unique_ptr<service::Workflow> workflow_;
  std::unique_ptr<Server> server_;
  std::thread thread_;
};

TEST_F(EdgeTest, ABodyWithoutAKeyIsRefusedFromTheHeaderAlone) {
  // A chunked body that would never end: the 401 comes at once, and the connection closes.
  RawConn c(port());
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(
      c.Send("POST /v1/check HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
             "Transfer-Encoding: chunked\r\n\r\n100000\r\n"));
  c.wait_for_close(true);
  const auto t0 = Clock::now();
  const std::string r = c.Read(3000);
  EXPECT_EQ(StatusOf(r), 401) << r;
  EXPECT_TRUE(c.closed()) << "a connection with an unread body must not carry another request";
  EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 2.0);
  // The same with a declared length and a wrong key.
  RawConn d(port());
  ASSERT_TRUE(
      d.Send("POST /v1/check HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer td_wrong\r\n"
             "Content-Length: 50000000\r\n\r\n"));
  EXPECT_EQ(StatusOf(d.Read(3000)), 401);
}

TEST_F(EdgeTest, SizesAreBoundedForDeclaredChunkedAndCompressedBodies) {
  ServerConfig cfg;
  cfg.max_body_bytes = 4096;
  Restart(cfg);
  const std::string auth = "Authorization: Bearer " + platform_ + "\r\n";
  {  // Declared over the limit: 413 before a byte of it is sent.
    RawConn c(port());
    ASSERT_TRUE(c.Send("POST /v1/check HTTP/1.1\r\nHost: x\r\n" + auth +
                       "Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"));
    const auto t0 = Clock::now();
    const std::string r = c.Read(3000);
    EXPECT_EQ(StatusOf(r), 413) << r;
    EXPECT_LT(std::chrono::duration<double>(Clock::now() - t0).count(), 1.0);
    EXPECT_NE(r.find("4096"), std::string::npos) << r;
  }
  {  // Chunked past the limit: 413 once the limit is crossed.
    RawConn c(port());
    ASSERT_TRUE(c.Send("POST /v1/check HTTP/1.1\r\nHost: x\r\n" + auth +
                       "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"));
    for (int i = 0; i < 8; ++i) (void)c.Send("400\r\n" + std::string(1024, 'a') + "\r\n");
    const std::string r = c.Read(3000);
    EXPECT_EQ(StatusOf(r), 413) << r;
  }
  {  // Compressed: refused, never decompressed.
    RawConn c(port());
    ASSERT_TRUE(c.Send("POST /v1/check HTTP/1.1\r\nHost: x\r\n" + auth +
                       "Content-Type: application/json\r\nContent-Encoding: gzip\r\n"
                       "Content-Length: 20\r\n\r\n"));
    const std::string r = c.Read(3000);
    EXPECT_EQ(StatusOf(r), 415) << r;
    EXPECT_NE(r.find("gzip"), std::string::npos) << r;
  }
  EXPECT_EQ(Health().first, 200);
  const std::string m = Metrics();
  EXPECT_NE(
      m.find(R"(takedown_http_requests_total{method="POST",route="/v1/check",status="4xx"} 3)"),
      std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(takedown_http_refusals_total{reason="body_size"} 2)"), std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(takedown_http_refusals_total{reason="content_encoding"} 1)"),
            std::string::npos)
      << m;
}

TEST_F(EdgeTest, SlowClientsAreCutOffAndCostTheOthersNothing) {
  ServerConfig cfg;
  cfg.header_timeout_s = 1;
  Restart(cfg);
  // 100 connections trickling a header, a byte at a time (more than the 4 workers by far).
  std::vector<std::unique_ptr<RawConn>> slow;
  for (int i = 0; i < 100; ++i) {
    slow.push_back(std::make_unique<RawConn>(port()));
    ASSERT_TRUE(slow.back()->Send("G"));
  }
  double worst = 0;
  for (int round = 0; round < 5; ++round) {
    for (auto& s : slow) (void)s->Send("E");
    auto [status, ms] = Health();
    EXPECT_EQ(status, 200);
    worst = std::max(worst, ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  std::printf("healthz with 100 slow-header connections open: worst %.1f ms\n", worst);
  EXPECT_LT(worst, 1000) << "/healthz must answer while slow clients hold connections";
  // The header deadline (1 s in all) has passed: each slow client lost its connection, and each
  // is counted as a 408.
  int closed = 0;
  for (auto& s : slow) {
    s->wait_for_close(true);
    (void)s->Read(2000);
    closed += s->closed();
  }
  EXPECT_EQ(closed, 100);
  const std::string m = Metrics();
  EXPECT_NE(m.find(R"(takedown_http_requests_total{method="",route="unmatched",status="4xx"} 100)"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find(R"(takedown_http_refusals_total{reason="timeout"} 100)"), std::string::npos)
      << m;
}

TEST_F(EdgeTest, ConnectionsPerClientAddressAreBounded) {
  ServerConfig cfg;
  cfg.max_connections_per_client = 5;
  Restart(cfg);
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<RawConn>(port()));
    ASSERT_TRUE(held.back()->Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_EQ(StatusOf(held.back()->Read(2000)), 200);  // kept alive: still open
  }
  RawConn sixth(port());
  (void)sixth.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  const std::string r = sixth.Read(2000);
  EXPECT_EQ(StatusOf(r), 503) << r;
  EXPECT_NE(r.find("too_many_connections"), std::string::npos) << r;
  held.clear();  // closed: room again
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(Health().first, 200);
  const std::string m = Metrics();
  EXPECT_NE(m.find(R"(takedown_http_refusals_total{reason="connections"} 1)"), std::string::npos)
      << m;
}

TEST_F(EdgeTest, QueryValuesFormBodiesAndEmptyPostsArriveWhole) {
  httplib::Client c("127.0.0.1", port());
  const httplib::Headers auth = {{"Authorization", "Bearer " + platform_}};
  // A value with '=' is taken literally.
  auto r = c.Post("/v1/check?x=1", auth,
                  R"({"content_id":"a=b=c","signals":{"md5":"0123456789abcdef0123456789abcdef"}})",
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(json::parse(r->body)["content_id"], "a=b=c");
  // Media sent as form data (curl's default type) and over 8 KB: hashed like any other body.
  std::string big(20000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  r = c.Post("/v1/check/media?content_id=k%3Dv%3Dw&chat_id=g", auth, big,
             "application/x-www-form-urlencoded");
  ASSERT_TRUE(r);
  EXPECT_NE(r->status, 413) << r->body;
  // Not media: named as such (a 4xx about the bytes), not refused for its content type.
  EXPECT_GE(r->status, 400);
  EXPECT_NE(r->body.find("image"), std::string::npos) << r->body;
  // An acknowledgement POSTed without any body.
  RawConn a(port());
  ASSERT_TRUE(a.Send("POST /v1/actions/12345/ack HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     platform_ + "\r\n\r\n"));
  const std::string ack = a.Read(3000);
  EXPECT_EQ(StatusOf(ack), 404) << ack;  // no such action: the body was not the problem
  EXPECT_NE(ack.find("no action 12345"), std::string::npos) << ack;
  // Malformed escapes and numbers with tails are refused whole.
  RawConn b(port());
  ASSERT_TRUE(b.Send("GET /v1/actions?after_id=1e3 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     platform_ + "\r\n\r\n"));
  EXPECT_EQ(StatusOf(b.Read(3000)), 400);
  RawConn e(port());
  ASSERT_TRUE(e.Send("GET /v1/actions?state=%zz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                     platform_ + "\r\n\r\n"));
  EXPECT_EQ(StatusOf(e.Read(3000)), 400);
}

TEST_F(EdgeTest, UnknownPathsAndMethodsAreCountedAndNamed) {
  httplib::Client c("127.0.0.1", port());
  auto r = c.Get("/nowhere");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  r = c.Delete("/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET");
  RawConn g(port());
  ASSERT_TRUE(g.Send("this is not http\r\n\r\n"));
  EXPECT_EQ(StatusOf(g.Read(2000)), 400);
  const std::string m = Metrics();
  EXPECT_NE(m.find(R"(takedown_http_requests_total{method="",route="unmatched",status="4xx"} 3)"),
            std::string::npos)
      << m;
  // The API description is readable without a key.
  r = c.Get("/openapi.json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

// A self-signed ECDSA P-256 certificate for 127.0.0.1 with the given serial number, written as
// PEM files (through a temporary name and a rename, as certificate renewals do).
void WriteSelfSigned(const std::string& cert, const std::string& key, long serial) {
  EVP_PKEY* pk = EVP_EC_gen("P-256");
  ASSERT_NE(pk, nullptr);
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, pk);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("127.0.0.1"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  ASSERT_GT(X509_sign(x, pk, EVP_sha256()), 0);
  FILE* f = std::fopen((cert + ".new").c_str(), "w");
  PEM_write_X509(f, x);
  std::fclose(f);
  f = std::fopen((key + ".new").c_str(), "w");
  PEM_write_PrivateKey(f, pk, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  X509_free(x);
  EVP_PKEY_free(pk);
  std::filesystem::rename(key + ".new", key);
  std::filesystem::rename(cert + ".new", cert);
}

// GET over TLS: the status (0 when the handshake or the exchange failed) and the serial number of
// the certificate the server presented (-1 when none).
std::pair<int, long> TlsGet(int port, const std::string& path) {
  namespace net = boost::asio;
  net::io_context ioc;
  net::ssl::context ctx(net::ssl::context::tls_client);
  ctx.set_verify_mode(net::ssl::verify_none);  // self-signed: the serial says which one it is
  net::ssl::stream<net::ip::tcp::socket> s(ioc, ctx);
  boost::system::error_code ec;
  s.next_layer().connect({net::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)},
                         ec);
  if (!ec) s.handshake(net::ssl::stream_base::client, ec);
  if (ec) return {0, -1};
  long serial = -1;
  if (X509* peer = SSL_get1_peer_certificate(s.native_handle())) {
    serial = ASN1_INTEGER_get(X509_get_serialNumber(peer));
    X509_free(peer);
  }
  const std::string req =
      "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  net::write(s, net::buffer(req), ec);
  std::string out;
  char buf[4096];
  while (!ec) {
    const size_t n = s.read_some(net::buffer(buf), ec);
    out.append(buf, n);
  }
  return {out.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(out.c_str() + 9) : 0, serial};
}

// HTTPS (issue 17 item 13): the server speaks TLS with the configured certificate, refuses plain
// HTTP on that port without harm, loads a renewed certificate without a restart, keeps the one in
// use when the new files do not load, and refuses half or mismatched settings at start.
TEST_F(EdgeTest, TlsServesTheConfiguredCertificateAndReloadsItWhenItChanges) {
  const std::string tls_dir = testing::MakeTempDir();
  const std::string cert = tls_dir + "/cert.pem", key = tls_dir + "/key.pem";
  WriteSelfSigned(cert, key, 1);
  ServerConfig cfg;
  cfg.tls_cert_file = cert;
  cfg.tls_key_file = key;
  cfg.tls_reload_ms = 50;
  Restart(cfg);
  EXPECT_EQ(TlsGet(port(), "/healthz"), std::make_pair(200, 1L));
  // Plain HTTP to the TLS port: no answer in the clear, the connection closed, the server fine.
  RawConn plain(port());
  plain.wait_for_close(true);
  ASSERT_TRUE(plain.Send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(plain.Read(3000).find("HTTP/1.1 200"), std::string::npos);
  EXPECT_TRUE(plain.closed());
  // A renewed certificate is used for new connections without a restart.
  WriteSelfSigned(cert, key, 2);
  std::pair<int, long> got;
  for (int i = 0; i < 100; ++i) {
    got = TlsGet(port(), "/healthz");
    if (got.second == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
  }
  EXPECT_EQ(got, std::make_pair(200, 2L));
  // Files that do not load: the certificate in use stays.
  {
    FILE* f = std::fopen(cert.c_str(), "w");
    std::fputs("-----BEGIN CERTIFICATE-----\nnot base64\n", f);
    std::fclose(f);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(TlsGet(port(), "/healthz"), std::make_pair(200, 2L));
  // Half or mismatched settings are refused at start, naming what is wrong.
  WriteSelfSigned(cert, key, 3);
  const std::string other_cert = tls_dir + "/other.pem", other_key = tls_dir + "/other.key";
  WriteSelfSigned(other_cert, other_key, 4);
  ServerConfig half;
  half.tls_cert_file = cert;
  Server s1(svc_.get(), half, store_.get());
  const Status st1 = s1.Bind();
  EXPECT_NE(st1.message().find("go together"), std::string::npos) << st1.ToString();
  ServerConfig mismatched = cfg;
  mismatched.tls_key_file = other_key;
  Server s2(svc_.get(), mismatched, store_.get());
  const Status st2 = s2.Bind();
  EXPECT_NE(st2.message().find("is not the key"), std::string::npos) << st2.ToString();
  ServerConfig missing = cfg;
  missing.tls_cert_file = tls_dir + "/none.pem";
  Server s3(svc_.get(), missing, store_.get());
  const Status st3 = s3.Bind();
  EXPECT_NE(st3.message().find("none.pem"), std::string::npos) << st3.ToString();
  std::filesystem::remove_all(tls_dir);
}

// The front's inline path (the upload gate's checks): a request an InlineFn takes is answered from
// whatever thread finishes it, without a worker -- while the only worker is held by a slow
// request -- and one it offloads runs on a worker; one it declines goes to Handle. A second answer
// is dropped.
TEST(FrontInline, RequestsTakenOnTheIoThreadAreAnsweredWithoutAWorker) {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  std::vector<std::thread> finishers;
  FrontConfig fc;
  fc.port = 0;
  fc.workers = 1;
  fc.io_threads = 1;
  auto text = [](const std::string& body) {
    HttpResponse r;
    r.set_content(body, "text/plain");
    return r;
  };
  Front front(
      fc, [](HttpRequest&) { return std::optional<HttpResponse>(); },
      [&](HttpRequest& req) {
        if (req.path == "/slow") {  // holds the only worker until released
          std::unique_lock lock(mu);
          cv.wait(lock, [&] { return release; });
        }
        return text("worker " + req.path);
      },
      nullptr,
      [&](HttpRequest& req, const Reply& reply) {
        if (req.path == "/later") {  // answered from another thread, as the store's committer does
          std::lock_guard lock(mu);
          finishers.emplace_back([reply, text] {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            reply.Send([text] { return text("later"); });
            reply.Send([text] { return text("twice"); });  // dropped
          });
          return true;
        }
        if (req.path == "/offload") {
          reply.Offload([text] { return text("offloaded"); });
          return true;
        }
        return false;
      });
  ASSERT_TRUE(front.Bind().ok());
  std::thread server([&] { front.Run(); });
  const int port = front.port();

  std::thread slow([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    auto r = c.Get("/slow");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "worker /slow");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the worker is taken
  {
    httplib::Client c("127.0.0.1", port);  // keep-alive: both on one connection
    c.set_keep_alive(true);
    c.set_read_timeout(5, 0);
    for (int i = 0; i < 3; ++i) {
      auto r = c.Get("/later");
      ASSERT_TRUE(r) << "an inline request waited for the busy worker";
      EXPECT_EQ(r->status, 200);
      EXPECT_EQ(r->body, "later");
    }
  }
  // Offloaded and declined requests need the worker: answered once it is free.
  auto offloaded = std::async(std::launch::async, [&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30, 0);
    auto r = c.Get("/offload");
    return r ? r->body : std::string("no answer");
  });
  EXPECT_EQ(offloaded.wait_for(std::chrono::milliseconds(200)), std::future_status::timeout);
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  EXPECT_EQ(offloaded.get(), "offloaded");
  {
    httplib::Client c("127.0.0.1", port);
    auto r = c.Get("/other");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->body, "worker /other");
  }
  slow.join();
  front.Stop();
  server.join();
  for (auto& t : finishers) t.join();
}

}  // namespace
}  // namespace takedown::http
