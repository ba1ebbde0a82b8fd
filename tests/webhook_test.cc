// Webhooks over https (issue 17 item 13): the receiver's certificate and host name are verified,
// against a configured CA file or the system's trust store; nothing is delivered unverified.
// The receiver is cpp-httplib's TLS server with a certificate made here for the test.
#include "http/webhook.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "support/synthetic.h"

namespace takedown::http {
namespace {

// A self-signed certificate for `host` (its CN and subjectAltName), and its key, as PEM files.
void MakeCertificate(const std::string& host, const std::string& cert_path,
                     const std::string& key_path) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  ASSERT_NE(key, nullptr);
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  const bool ip = host.find_first_not_of("0123456789.") == std::string::npos;
  const std::string san = (ip ? "IP:" : "DNS:") + host;
  for (const auto& [nid, value] : std::vector<std::pair<int, std::string>>{
           {NID_subject_alt_name, san}, {NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    ASSERT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  ASSERT_GT(X509_sign(x, key, EVP_sha256()), 0);
  std::FILE* c = std::fopen(cert_path.c_str(), "wb");
  PEM_write_X509(c, x);
  std::fclose(c);
  std::FILE* k = std::fopen(key_path.c_str(), "wb");
  PEM_write_PrivateKey(k, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(k);
  X509_free(x);
  EVP_PKEY_free(key);
}

class WebhookTest : public ::testing::Test {
 protected:
  void SetUp() override { dir_ = testing::MakeTempDir(); }
  void TearDown() override {
    if (server_) server_->stop();
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove_all(dir_);
  }
  // A TLS receiver whose certificate names `host`; returns its port.
  int StartReceiver(const std::string& host) {
    MakeCertificate(host, dir_ + "/cert.pem", dir_ + "/key.pem");
    server_ = std::make_unique<httplib::SSLServer>((dir_ + "/cert.pem").c_str(),
                                                   (dir_ + "/key.pem").c_str());
    server_->Post("/hook", [this](const httplib::Request& req, httplib::Response& res) {
      received_ = req.body;
      signature_ = req.get_header_value("X-Takedown-Signature");
      res.status = 200;
    });
    const int port = server_->bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_->listen_after_bind(); });
    while (!server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return port;
  }
  Result<int> Deliver(const std::string& url, const std::string& ca_file) {
    auto sink = MakeWebhookSink(url, ca_file);
    if (!sink.ok()) return sink.status();
    return (*sink)->Deliver(R"({"action":"remove"})", {{"X-Takedown-Signature", "v1=ab"}});
  }

  std::string dir_, received_, signature_;
  std::unique_ptr<httplib::SSLServer> server_;
  std::thread thread_;
};

TEST_F(WebhookTest, HttpsIsDeliveredWhenTheCertificateVerifiesAgainstTheCaFile) {
  const int port = StartReceiver("127.0.0.1");
  auto r = Deliver(fmt::format("https://127.0.0.1:{}/hook", port), dir_ + "/cert.pem");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*r, 200);
  EXPECT_EQ(received_, R"({"action":"remove"})");
  EXPECT_EQ(signature_, "v1=ab");
}

TEST_F(WebhookTest, AnUnknownIssuerIsRefusedAndNothingIsDelivered) {
  const int port = StartReceiver("127.0.0.1");
  // The system's trust store does not know the test's self-signed certificate.
  auto r = Deliver(fmt::format("https://127.0.0.1:{}/hook", port), "");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(received_, "");
}

TEST_F(WebhookTest, ACertificateForAnotherHostIsRefused) {
  const int port = StartReceiver("receiver.example");
  auto r = Deliver(fmt::format("https://127.0.0.1:{}/hook", port), dir_ + "/cert.pem");
  EXPECT_FALSE(r.ok()) << "delivered to a server whose certificate names another host";
  EXPECT_EQ(received_, "");
}

TEST_F(WebhookTest, BadUrlsAndCaFilesAreNamed) {
  auto ftp = MakeWebhookSink("ftp://x/hook");
  ASSERT_FALSE(ftp.ok());
  EXPECT_NE(ftp.status().message().find("ftp://x/hook"), std::string::npos);
  EXPECT_FALSE(MakeWebhookSink("https:///hook").ok());
  EXPECT_FALSE(MakeWebhookSink("http://a b/hook").ok());
  auto plain = MakeWebhookSink("http://127.0.0.1:1/hook", dir_ + "/ca.pem");
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("not https"), std::string::npos);
  auto missing = MakeWebhookSink("https://127.0.0.1:1/hook", dir_ + "/nothing.pem");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nothing.pem"), std::string::npos);
  EXPECT_TRUE(MakeWebhookSink("https://127.0.0.1:1/hook").ok());
}

}  // namespace
}  // namespace takedown::http
