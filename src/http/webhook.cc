#include "http/webhook.h"

#include <fmt/format.h>
#include <httplib.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

#include "core/mutex.h"

namespace takedown::http {
namespace {

// Delivers over kept-alive connections: each delivery borrows an idle client (one connection
// each) and gives it back, so concurrent deliveries use as many connections as there are
// workers, and none pays a new TCP connection (a connection per delivery held the outbox near
// 1,500 deliveries a second). A client whose request failed is dropped, not reused.
class WebhookSink final : public service::ActionSink {
 public:
  WebhookSink(std::string base, std::string path, std::string ca_file)
      : base_(std::move(base)), path_(std::move(path)), ca_file_(std::move(ca_file)) {}

  Result<int> Deliver(const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers) override {
    TD_ASSIGN_OR_RETURN(Answer a, Exchange(body, headers));
    return a.status;
  }

  Result<Answer> Exchange(
      const std::string& body,
      const std::vector<std::pair<std::string, std::string>>& headers) override {
    std::unique_ptr<httplib::Client> client = Borrow();
    httplib::Headers h;
    for (const auto& [k, v] : headers) h.emplace(k, v);
    // At most kMaxAnswerBytes of the answer is kept (the read timeout bounds the rest).
    std::string answer;
    auto res = client->Post(path_, h, body, "application/json");
    if (!res) {
      return IoError(
          fmt::format("webhook {}{}: {}", base_, path_, httplib::to_string(res.error())));
    }
    answer = res->body.substr(0, kMaxAnswerBytes);
    const int status = res->status;
    GiveBack(std::move(client));
    return Answer{status, std::move(answer)};
  }

 private:
  std::unique_ptr<httplib::Client> Borrow() {
    {
      MutexLock l(&mu_);
      if (!idle_.empty()) {
        auto c = std::move(idle_.back());
        idle_.pop_back();
        return c;
      }
    }
    auto c = std::make_unique<httplib::Client>(base_);
    c->set_connection_timeout(2, 0);
    c->set_read_timeout(5, 0);
    c->set_write_timeout(5, 0);
    c->set_keep_alive(true);
    c->set_tcp_nodelay(true);
    c->enable_server_certificate_verification(true);  // https: never delivered unverified
    if (!ca_file_.empty()) c->set_ca_cert_path(ca_file_.c_str());
    return c;
  }
  void GiveBack(std::unique_ptr<httplib::Client> c) {
    MutexLock l(&mu_);
    if (idle_.size() < kMaxIdle) idle_.push_back(std::move(c));
  }

  static constexpr size_t kMaxIdle = 64;
  std::string base_, path_, ca_file_;
  Mutex mu_;
  std::vector<std::unique_ptr<httplib::Client>> idle_ TD_GUARDED_BY(mu_);
};

}  // namespace

Result<std::unique_ptr<service::ActionSink>> MakeWebhookSink(const std::string& url,
                                                             const std::string& ca_file) {
  const bool https = url.rfind("https://", 0) == 0;
  if (!https && url.rfind("http://", 0) != 0) {
    return InvalidArgument(fmt::format("webhook URL '{}' is not http[s]://host[:port]/path", url));
  }
  const size_t scheme = https ? 8 : 7;
  const auto slash = url.find('/', scheme);
  std::string base = url.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  if (base.size() <= scheme)
    return InvalidArgument(fmt::format("webhook URL '{}' has no host", url));
  for (char ch : url) {
    if (static_cast<unsigned char>(ch) <= 0x20 || ch == 0x7f) {
      return InvalidArgument(fmt::format("webhook URL '{}' has a space or control character", url));
    }
  }
  if (!ca_file.empty()) {
    if (!https) {
      return InvalidArgument(fmt::format(
          "webhook.ca_file is set but '{}' is not https: the CA would not be used", url));
    }
    if (std::FILE* f = std::fopen(ca_file.c_str(), "rb"); f != nullptr) {
      std::fclose(f);
    } else {
      return InvalidArgument(
          fmt::format("webhook.ca_file '{}' cannot be read: {}", ca_file, std::strerror(errno)));
    }
  }
  return std::unique_ptr<service::ActionSink>(
      std::make_unique<WebhookSink>(std::move(base), std::move(path), ca_file));
}

}  // namespace takedown::http
