#include "http/webhook.h"

#include <fmt/format.h>
#include <httplib.h>

namespace takedown::http {
namespace {

class WebhookSink final : public service::ActionSink {
 public:
  WebhookSink(std::string base, std::string path)
      : base_(std::move(base)), path_(std::move(path)) {}

  Result<int> Deliver(const std::string& body,
                      const std::vector<std::pair<std::string, std::string>>& headers) override {
    httplib::Client client(base_);  // one per delivery: deliveries run on several threads
    client.set_connection_timeout(2, 0);
    client.set_read_timeout(5, 0);
    client.set_write_timeout(5, 0);
    httplib::Headers h;
    for (const auto& [k, v] : headers) h.emplace(k, v);
    auto res = client.Post(path_, h, body, "application/json");
    if (!res)
      return IoError(
          fmt::format("webhook {}{}: {}", base_, path_, httplib::to_string(res.error())));
    return res->status;
  }

 private:
  std::string base_, path_;
};

}  // namespace

Result<std::unique_ptr<service::ActionSink>> MakeWebhookSink(const std::string& url) {
  if (url.rfind("http://", 0) != 0)
    return InvalidArgument(fmt::format("webhook URL '{}' is not http://host[:port]/path", url));
  const auto slash = url.find('/', 7);
  std::string base = url.substr(0, slash);
  std::string path = slash == std::string::npos ? "/" : url.substr(slash);
  if (base.size() <= 7) return InvalidArgument(fmt::format("webhook URL '{}' has no host", url));
  return std::unique_ptr<service::ActionSink>(
      std::make_unique<WebhookSink>(std::move(base), std::move(path)));
}

}  // namespace takedown::http
