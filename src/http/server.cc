#include "http/server.h"

#include <sys/socket.h>

#include <cstdio>
#include <thread>

#include "http/server_impl.h"

namespace takedown::http {

void Server::Impl::Install() {
  const std::vector<Role> all = {Role::kPlatform, Role::kRequester, Role::kReviewer, Role::kAdmin};
  Route("GET", "/healthz", {}, [](Ctx& c) { SendJson(c.res, {{"status", "ok"}}); });
  Route("GET", "/readyz", {}, [this](Ctx& c) {
    if (S() != nullptr)
      SendJson(c.res, {{"status", "ready"}});
    else
      SendError(c.res, 503, "unavailable", "indexes are loading");
  });
  Route("GET", "/openapi.json", all,
        [](Ctx& c) { c.res.set_content(OpenApiDocument(), "application/json"); });
  Route("GET", "/metrics", {Role::kAdmin},
        [this](Ctx& c) { c.res.set_content(metrics->Render(), "text/plain; version=0.0.4"); });
  Route("GET", "/v1/whoami", all, [](Ctx& c) {
    SendJson(
        c.res,
        {{"key_id", c.who.key_id}, {"name", c.who.name}, {"role", service::RoleName(c.who.role)}});
  });
  InstallEngineRoutes();
  InstallWorkflowRoutes();

  http.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return;
    if (res.status == 404)
      SendError(res, 404, "not_found", "no such endpoint");
    else if (res.status == 413)
      SendError(res, 413, "resource_exhausted", "request body too large");
    else
      SendError(res, res.status, "error", "HTTP " + std::to_string(res.status));
  });
  http.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
        SendError(res, 500, "internal", "internal error");
      });
}

Server::Server(service::Service* service, ServerConfig config, ServerDeps deps)
    : impl_(std::make_unique<Impl>()) {
  impl_->svc.store(service);
  impl_->cfg = config;
  impl_->deps = std::move(deps);
  if (impl_->deps.metrics == nullptr) impl_->own_metrics = std::make_unique<MetricsRegistry>();
  impl_->metrics = impl_->deps.metrics != nullptr ? impl_->deps.metrics : impl_->own_metrics.get();
  impl_->RegisterMetrics();
  const int threads = std::max(1, config.threads);
  impl_->http.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  impl_->http.set_payload_max_length(config.max_body_bytes);
  impl_->http.set_read_timeout(config.read_timeout_s, 0);
  impl_->http.set_write_timeout(config.write_timeout_s, 0);
  impl_->http.set_keep_alive_max_count(100000);
  // Responses go out as headers then body: without TCP_NODELAY, Nagle and the client's delayed
  // ACK add 40 ms to every request on a kept-alive connection.
  impl_->http.set_tcp_nodelay(true);
  // SO_REUSEADDR (a restart may bind while old connections linger in TIME_WAIT), never
  // SO_REUSEPORT (httplib's default): with it a second `takedown serve` on the same port started
  // and the kernel split requests between two processes and two stores.
  impl_->http.set_socket_options([](int sock) {
    int yes = 1;
    (void)setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
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
    return IoError(
        fmt::format("cannot listen on {}:{}: the port is in use (another takedown serve?) or the "
                    "address is not one of this machine's",
                    impl_->cfg.host, impl_->cfg.port));
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
  while (impl_->running.load() && !impl_->http.is_running())
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  impl_->http.stop();
}
void Server::Attach(service::Service* service) {
  impl_->svc.store(service, std::memory_order_release);
}
void Server::AttachWorkflow(service::Workflow* workflow) {
  impl_->wf.store(workflow, std::memory_order_release);
}

MetricsRegistry* Server::metrics() const { return impl_->metrics; }
const std::vector<RouteInfo>& Server::routes() const { return impl_->routes; }

}  // namespace takedown::http
