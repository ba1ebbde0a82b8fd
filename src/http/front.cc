#include "http/front.h"

#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <strings.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <filesystem>
#include <limits>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/mutex.h"

namespace takedown::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

bool CaseInsensitiveLess::operator()(const std::string& a, const std::string& b) const {
  return strcasecmp(a.c_str(), b.c_str()) < 0;
}

std::string HttpRequest::get_header_value(const std::string& name) const {
  auto it = headers.find(name);
  return it == headers.end() ? std::string() : it->second;
}

std::string HttpRequest::get_param_value(const std::string& name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

void HttpResponse::set_header(const std::string& name, const std::string& value) {
  for (auto& [k, v] : headers) {
    if (strcasecmp(k.c_str(), name.c_str()) == 0) {
      v = value;
      return;
    }
  }
  headers.emplace_back(name, value);
}

namespace {

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding; '+' is a space when plus_is_space.
Result<std::string> Decode(const std::string& s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%') {
      const int hi = i + 2 < s.size() ? Hex(s[i + 1]) : -1;
      const int lo = i + 2 < s.size() ? Hex(s[i + 2]) : -1;
      if (hi < 0 || lo < 0) return InvalidArgument("a malformed %-escape");
      const char c = static_cast<char>(hi * 16 + lo);
      if (c == '\0') return InvalidArgument("an encoded NUL");
      out += c;
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace

Result<std::multimap<std::string, std::string>> ParseQuery(const std::string& query) {
  std::multimap<std::string, std::string> out;
  size_t start = 0;
  while (start <= query.size()) {
    size_t end = query.find('&', start);
    if (end == std::string::npos) end = query.size();
    const std::string pair = query.substr(start, end - start);
    if (!pair.empty()) {
      const size_t eq = pair.find('=');  // the first: the value keeps any later '='
      auto key = Decode(pair.substr(0, eq), true);
      if (!key.ok())
        return InvalidArgument(
            fmt::format("query: {} in a parameter name", key.status().message()));
      auto value = Decode(eq == std::string::npos ? "" : pair.substr(eq + 1), true);
      if (!value.ok()) {
        return InvalidArgument(
            fmt::format("query parameter {}: {}", key->substr(0, 64), value.status().message()));
      }
      out.emplace(std::move(*key), std::move(*value));
    }
    start = end + 1;
  }
  return out;
}

Result<std::string> DecodePathSegment(const std::string& s) { return Decode(s, false); }

namespace {

struct Conn;

// A server TLS context from PEM files: TLS 1.2 and later, the chain and the key checked to belong
// together. Errors name the file and OpenSSL's reason.
Result<std::shared_ptr<net::ssl::context>> LoadTls(const std::string& cert,
                                                   const std::string& key) {
  auto ctx = std::make_shared<net::ssl::context>(net::ssl::context::tls_server);
  ctx->set_options(net::ssl::context::default_workarounds | net::ssl::context::no_sslv2 |
                   net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1 |
                   net::ssl::context::no_tlsv1_1 | net::ssl::context::single_dh_use);
  beast::error_code ec;
  ctx->use_certificate_chain_file(cert, ec);
  if (ec) {
    return InvalidArgument(fmt::format("server.tls_cert_file {}: not a PEM certificate chain ({})",
                                       cert, ec.message()));
  }
  ctx->use_private_key_file(key, net::ssl::context::pem, ec);
  if (ec && ec.message().find("mismatch") != std::string::npos) {
    return InvalidArgument(
        fmt::format("server.tls_key_file {} is not the key of the certificate {}", key, cert));
  }
  if (ec) {
    return InvalidArgument(
        fmt::format("server.tls_key_file {}: not a PEM private key ({})", key, ec.message()));
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return InvalidArgument(
        fmt::format("server.tls_key_file {} is not the key of the certificate {}", key, cert));
  }
  return ctx;
}

// When a file last changed ("" when it cannot be read).
std::string Stamp(const std::string& path) {
  std::error_code ec;
  const auto t = std::filesystem::last_write_time(path, ec);
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return "";
  return fmt::format("{}:{}", t.time_since_epoch().count(), size);
}

}  // namespace

struct Front::Impl {
  FrontConfig cfg;
  AdmitFn admit;
  HandleFn handle;
  RecordFn record;
  InlineFn inline_handle;
  net::io_context ioc;
  std::optional<tcp::acceptor> acceptor;
  std::unique_ptr<net::thread_pool> workers;
  std::atomic<bool> stopping{false}, running{false};
  std::atomic<int64_t> open{0};
  Mutex mu;
  std::map<std::string, int> per_client TD_GUARDED_BY(mu);
  std::map<Conn*, std::weak_ptr<Conn>> conns TD_GUARDED_BY(mu);
  // TLS: the context new connections use (each connection keeps the one it started with).
  Mutex tls_mu;
  std::shared_ptr<net::ssl::context> tls TD_GUARDED_BY(tls_mu);
  std::string tls_stamp TD_GUARDED_BY(tls_mu);
  std::optional<net::steady_timer> tls_timer;

  bool UsesTls() const { return !cfg.tls_cert_file.empty(); }
  std::shared_ptr<net::ssl::context> TlsContext() {
    MutexLock l(&tls_mu);
    return tls;
  }
  // Loads the files when they changed (or always, with force): true when a new context is in use.
  Result<bool> ReloadTls(bool force);
  void WatchTls();
  void Accept();
  void CloseIdle();
};

namespace {

// One client connection: reads requests one after another, hands each to a worker, writes its
// response. Everything runs on the connection's strand; the handler on the worker pool.
struct Conn : std::enable_shared_from_this<Conn> {
  enum class Phase { kIdle, kHeader, kBody, kBusy };

  Conn(Front::Impl* f, tcp::socket socket, std::string addr,
       std::shared_ptr<net::ssl::context> tls_context)
      : front(f),
        stream(std::move(socket)),
        remote(std::move(addr)),
        tls_ctx(std::move(tls_context)) {
    if (tls_ctx) tls = std::make_unique<net::ssl::stream<beast::tcp_stream&>>(stream, *tls_ctx);
  }
  ~Conn() {
    MutexLock l(&front->mu);
    if (--front->per_client[remote] == 0) front->per_client.erase(remote);
    front->conns.erase(this);
    front->open.fetch_sub(1);
  }

  // With TLS, the handshake comes first, under the header's deadline.
  void Start() {
    if (!tls) return WaitForRequest();
    started = Clock::now();
    stream.expires_after(front->cfg.header_timeout);
    tls->async_handshake(net::ssl::stream_base::server,
                         [self = shared_from_this()](beast::error_code ec) {
                           if (ec) return self->Close();  // not TLS, or too slow
                           self->WaitForRequest();
                         });
  }

  // The stream requests are read from and answers written to: TLS over the TCP stream, or it.
  template <class F>
  void WithStream(F&& f) {
    if (tls) {
      f(*tls);
    } else {
      f(stream);
    }
  }

  // Between requests: wait for the first bytes under the idle deadline, then read the header
  // under its own deadline (a client trickling bytes is cut off when it ends).
  void WaitForRequest() {
    phase = Phase::kIdle;
    if (front->stopping) return Close();
    if (buffer.size() > 0) return ReadHeader();
    stream.expires_after(front->cfg.idle_timeout);
    WithStream([this](auto& s) {
      s.async_read_some(buffer.prepare(4096),
                        [self = shared_from_this()](beast::error_code ec, size_t n) {
                          if (ec) return self->Close();
                          self->buffer.commit(n);
                          self->ReadHeader();
                        });
    });
  }

  void ReadHeader() {
    phase = Phase::kHeader;
    started = Clock::now();
    parser.emplace();
    parser->header_limit(static_cast<uint32_t>(front->cfg.max_header_bytes));
    // No body limit while the header is read: a declared length over it is answered with 413
    // once the request is admitted (the route and the key known); the limit is set for the body.
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    stream.expires_after(front->cfg.header_timeout);
    WithStream([this](auto& s) {
      bhttp::async_read_header(
          s, buffer, *parser,
          [self = shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
    });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == bhttp::error::header_limit) {
      return Refuse(
          431, "header_too_large",
          fmt::format("the request header is over {} bytes", front->cfg.max_header_bytes));
    }
    if (ec == beast::error::timeout) {
      return Refuse(408, "timeout", "the request header did not arrive in time");
    }
    if (ec ==
        bhttp::error::body_limit) {  // a declared length over the limit: known from the header
      return Refuse(
          413, "resource_exhausted",
          fmt::format("the body is over the limit of {} bytes", front->cfg.max_body_bytes));
    }
    if (ec) {
      if (ec == bhttp::error::end_of_stream || ec == net::error::eof ||
          ec == net::error::operation_aborted) {
        return Close();
      }
      return Refuse(400, "bad_request", fmt::format("not an HTTP request ({})", ec.message()));
    }
    const auto& h = parser->get();
    request = HttpRequest{};
    request.method = std::string(h.method_string());
    request.target = std::string(h.target());
    request.remote_addr = remote;
    for (const auto& f : h)
      request.headers.emplace(std::string(f.name_string()), std::string(f.value()));
    const size_t q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) {
      auto params = ParseQuery(request.target.substr(q + 1));
      if (!params.ok()) return Refuse(400, "invalid_argument", params.status().message());
      request.params = std::move(*params);
    }
    request.chunked = parser->chunked();
    if (auto len = parser->content_length()) request.content_length = static_cast<int64_t>(*len);
    keep_alive = h.keep_alive();
    const bool has_body = request.chunked || request.content_length > 0;
    std::optional<HttpResponse> answer = front->admit(request);
    if (answer) {
      // Refused from the header: no body byte is read. A connection with an unread body cannot
      // carry another request.
      if (has_body) answer->close = true;
      return Respond(std::move(*answer));
    }
    // Limits that the header decides.
    if (request.content_length > static_cast<int64_t>(front->cfg.max_body_bytes)) {
      return Refuse(413, "resource_exhausted",
                    fmt::format("the body ({} bytes) is over the limit of {}",
                                request.content_length, front->cfg.max_body_bytes));
    }
    const std::string encoding = request.get_header_value("Content-Encoding");
    if (!encoding.empty() && strcasecmp(encoding.c_str(), "identity") != 0) {
      return Refuse(415, "unsupported",
                    fmt::format("Content-Encoding '{}' is not accepted: send the body uncompressed",
                                encoding.substr(0, 40)));
    }
    parser->body_limit(front->cfg.max_body_bytes);
    if (!has_body || parser->is_done()) return Dispatch();
    ReadBody();
  }

  void ReadBody() {
    phase = Phase::kBody;
    auto go = [self = shared_from_this()] {
      self->stream.expires_after(self->front->cfg.body_timeout);
      self->WithStream([&self](auto& s) {
        bhttp::async_read(s, self->buffer, *self->parser,
                          [self](beast::error_code ec, size_t) { self->OnBody(ec); });
      });
    };
    if (strcasecmp(request.get_header_value("Expect").c_str(), "100-continue") == 0) {
      // The client waits for a word before it sends the body.
      auto cont = std::make_shared<bhttp::response<bhttp::empty_body>>(bhttp::status::continue_,
                                                                       parser->get().version());
      stream.expires_after(front->cfg.write_timeout);
      WithStream([&](auto& s) {
        bhttp::async_write(s, *cont,
                           [self = shared_from_this(), cont, go](beast::error_code ec, size_t) {
                             if (ec) return self->Close();
                             go();
                           });
      });
      return;
    }
    go();
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) {
      return Refuse(
          413, "resource_exhausted",
          fmt::format("the body is over the limit of {} bytes", front->cfg.max_body_bytes));
    }
    if (ec == beast::error::timeout)
      return Refuse(408, "timeout", "the request body did not arrive in time");
    if (ec) {
      if (ec == net::error::operation_aborted || ec == bhttp::error::end_of_stream ||
          ec == net::error::eof) {
        return Close();
      }
      return Refuse(400, "bad_request",
                    fmt::format("the body could not be read ({})", ec.message()));
    }
    request.body = std::move(parser->get().body());
    Dispatch();
  }

  void Dispatch() {
    phase = Phase::kBusy;
    stream.expires_never();
    if (front->inline_handle) {
      bool took = false;
      try {
        took = front->inline_handle(request, MakeReply());
      } catch (const std::exception& e) {
        spdlog::error("http: {} {}: {}", request.method, request.path, e.what());
        return Respond(ErrorResponse(500, "internal", "internal error"));
      }
      if (took) return;
    }
    Run([self = shared_from_this()] { return self->front->handle(self->request); }, true);
  }

  // Runs make (on a worker, or on this connection's I/O thread) and sends its response. The guard
  // keeps the I/O threads running until the response is written, also when the server is
  // stopping and nothing else is left to do.
  void Run(Reply::Make make, bool offload) {
    auto run = [self = shared_from_this(), make = std::move(make),
                guard = net::make_work_guard(stream.get_executor()), offload]() mutable {
      HttpResponse res;
      try {
        res = make();
      } catch (const std::exception& e) {
        spdlog::error("http: {} {}: {}", self->request.method, self->request.path, e.what());
        res = ErrorResponse(500, "internal", "internal error");
      }
      if (!offload) return self->Respond(std::move(res));
      net::post(self->stream.get_executor(),
                [self, r = std::move(res)]() mutable { self->Respond(std::move(r)); });
    };
    if (offload) {
      net::post(*front->workers, std::move(run));
    } else {
      net::post(stream.get_executor(), std::move(run));
    }
  }

  // The answer of a request an InlineFn took: once (a second call is a bug, logged and dropped).
  // A reply's last copy may go on any thread (the store's committer), after its answer was sent
  // and after Run() would otherwise have returned: the work guard keeps the I/O threads, and so
  // the Front that ~Conn updates, until the connection has been let go. Members go in reverse
  // order of declaration, so the connection goes first and the guard after it.
  struct ReplyHold {
    explicit ReplyHold(std::shared_ptr<Conn> c)
        : guard(net::make_work_guard(c->stream.get_executor())), self(std::move(c)) {}
    decltype(net::make_work_guard(std::declval<beast::tcp_stream&>().get_executor())) guard;
    std::shared_ptr<Conn> self;
    std::atomic<bool> once{false};
  };
  Reply MakeReply() {
    auto hold = std::make_shared<ReplyHold>(shared_from_this());
    return Reply([hold](Reply::Make make, bool offload) {
      if (hold->once.exchange(true)) {
        spdlog::error("http: {} {} answered twice", hold->self->request.method,
                      hold->self->request.path);
        return;
      }
      hold->self->Run(std::move(make), offload);
    });
  }

  static HttpResponse ErrorResponse(int status, const std::string& code,
                                    const std::string& message) {
    HttpResponse r;
    r.status = status;
    r.set_content(nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(
                      -1, ' ', false, nlohmann::json::error_handler_t::replace),
                  "application/json");
    return r;
  }

  // A deadline passed: the stream has closed the socket already; the request is counted as a
  // 408 that could not be sent.
  void TimedOut() {
    if (front->record) {
      if (request.remote_addr.empty()) request.remote_addr = remote;
      HttpResponse r;
      r.status = 408;
      front->record(request, r, std::chrono::duration<double>(Clock::now() - started).count());
    }
    Close();
  }

  // An error the front answers itself; the connection closes after it.
  void Refuse(int status, const std::string& code, const std::string& message) {
    HttpResponse r = ErrorResponse(status, code, message);
    r.close = true;
    if (request.method.empty() && parser && parser->is_header_done()) {
      request.method = std::string(parser->get().method_string());
    }
    if (request.remote_addr.empty()) request.remote_addr = remote;
    Respond(std::move(r));
  }

  void Respond(HttpResponse r) {
    phase = Phase::kBusy;
    const bool close = r.close || !keep_alive || front->stopping;
    auto res = std::make_shared<bhttp::response<bhttp::string_body>>();
    res->result(static_cast<unsigned>(r.status));
    res->version(parser && parser->is_header_done() ? parser->get().version() : 11);
    for (const auto& [k, v] : r.headers) res->set(k, v);
    res->body() = std::move(r.body);
    res->keep_alive(!close);
    res->prepare_payload();
    const size_t bytes_out = res->body().size();
    const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
    r.body.clear();
    if (front->record) {
      HttpResponse summary = std::move(r);
      summary.body.resize(0);
      summary.headers.clear();
      summary.headers.emplace_back("Content-Length", std::to_string(bytes_out));
      front->record(request, summary, seconds);
    }
    stream.expires_after(front->cfg.write_timeout);
    WithStream([&](auto& s) {
      bhttp::async_write(s, *res,
                         [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                           if (ec || close) return self->Close();
                           self->parser.reset();
                           self->WaitForRequest();
                         });
    });
  }

  void Close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
  }

  Front::Impl* front;
  beast::tcp_stream stream;
  std::string remote;
  beast::flat_buffer buffer;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser;
  HttpRequest request;
  bool keep_alive = true;
  Clock::time_point started = Clock::now();
  std::atomic<Phase> phase{Phase::kIdle};
  // TLS: the context this connection started with (kept alive while it lasts), and the stream
  // over `stream` (destroyed first).
  std::shared_ptr<net::ssl::context> tls_ctx;
  std::unique_ptr<net::ssl::stream<beast::tcp_stream&>> tls;
};

}  // namespace

void Front::Impl::Accept() {
  acceptor->async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == net::error::operation_aborted || stopping) return;
      spdlog::warn("http: accept: {}", ec.message());
      return Accept();
    }
    beast::error_code addr_ec;
    const auto ep = socket.remote_endpoint(addr_ec);
    const std::string addr = addr_ec ? "?" : ep.address().to_string();
    bool refuse = false;
    std::string why;
    {
      MutexLock l(&mu);
      if (open.load() >= cfg.max_connections) {
        refuse = true;
        why = fmt::format("the server has {} connections open", cfg.max_connections);
      } else if (per_client[addr] >= cfg.max_connections_per_client) {
        refuse = true;
        why = fmt::format("{} connections from {} are open already", cfg.max_connections_per_client,
                          addr);
      }
      if (!refuse) {
        ++per_client[addr];
        open.fetch_add(1);
      }
    }
    if (refuse) {
      // A short answer, then the connection goes: it holds nothing of the server.
      const std::string body =
          fmt::format(R"({{"error":{{"code":"too_many_connections","message":"{}"}}}})", why);
      const std::string msg = fmt::format(
          "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
          "{}\r\nConnection: close\r\nRetry-After: 1\r\n\r\n{}",
          body.size(), body);
      beast::error_code wec;
      socket.non_blocking(true, wec);
      (void)socket.write_some(net::buffer(msg), wec);
      socket.close(wec);
      if (record) {
        HttpRequest req;
        req.remote_addr = addr;
        HttpResponse res;
        res.status = 503;
        record(req, res, 0);
      }
      return Accept();
    }
    beast::error_code nd;
    socket.set_option(tcp::no_delay(true), nd);
    auto conn =
        std::make_shared<Conn>(this, std::move(socket), addr, UsesTls() ? TlsContext() : nullptr);
    {
      MutexLock l(&mu);
      conns[conn.get()] = conn;
    }
    net::dispatch(conn->stream.get_executor(), [conn] { conn->Start(); });
    Accept();
  });
}

Result<bool> Front::Impl::ReloadTls(bool force) {
  const std::string stamp = Stamp(cfg.tls_cert_file) + "|" + Stamp(cfg.tls_key_file);
  {
    MutexLock l(&tls_mu);
    if (!force && stamp == tls_stamp) return false;
  }
  auto ctx = LoadTls(cfg.tls_cert_file, cfg.tls_key_file);
  MutexLock l(&tls_mu);
  // A failed load is not tried again until the files change once more (the error said once).
  tls_stamp = stamp;
  if (!ctx.ok()) return ctx.status();
  tls = std::move(*ctx);
  return true;
}

void Front::Impl::WatchTls() {
  tls_timer->expires_after(cfg.tls_reload_interval);
  tls_timer->async_wait([this](beast::error_code ec) {
    if (ec || stopping) return;
    auto loaded = ReloadTls(false);
    if (!loaded.ok()) {
      spdlog::error(
          "http: the TLS files changed but do not load; the previous certificate stays in use: {}",
          loaded.status().message());
    } else if (*loaded) {
      spdlog::info("http: TLS certificate {} loaded anew for new connections", cfg.tls_cert_file);
    }
    WatchTls();
  });
}

void Front::Impl::CloseIdle() {
  std::vector<std::shared_ptr<Conn>> live;
  {
    MutexLock l(&mu);
    for (auto& [p, w] : conns) {
      if (auto c = w.lock()) live.push_back(std::move(c));
    }
  }
  for (auto& c : live) {
    net::post(c->stream.get_executor(), [c] {
      // Reading a request that has not been admitted, or waiting for one: closed. A request
      // being handled finishes and its response says Connection: close.
      if (c->phase != Conn::Phase::kBusy) c->stream.cancel();
    });
  }
}

Front::Front(FrontConfig config, AdmitFn admit, HandleFn handle, RecordFn record,
             InlineFn inline_handle)
    : impl_(std::make_unique<Impl>()) {
  impl_->cfg = std::move(config);
  impl_->admit = std::move(admit);
  impl_->handle = std::move(handle);
  impl_->record = std::move(record);
  impl_->inline_handle = std::move(inline_handle);
  impl_->workers =
      std::make_unique<net::thread_pool>(static_cast<size_t>(std::max(1, impl_->cfg.workers)));
}

Front::~Front() {
  Stop();
  impl_->workers->join();
}

Status Front::Bind() {
  if (impl_->cfg.tls_cert_file.empty() != impl_->cfg.tls_key_file.empty()) {
    return InvalidArgument(
        "server.tls_cert_file and server.tls_key_file go together: set both for TLS, or neither");
  }
  if (impl_->UsesTls()) TD_RETURN_IF_ERROR(impl_->ReloadTls(true).status());
  beast::error_code ec;
  const auto address = net::ip::make_address(impl_->cfg.host, ec);
  if (ec)
    return InvalidArgument(fmt::format("server.host '{}' is not an IP address", impl_->cfg.host));
  const tcp::endpoint ep(address, static_cast<unsigned short>(impl_->cfg.port));
  impl_->acceptor.emplace(impl_->ioc);
  impl_->acceptor->open(ep.protocol(), ec);
  // SO_REUSEADDR lets a restart bind while old connections linger; without SO_REUSEPORT a second
  // process cannot share the port.
  if (!ec) impl_->acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor->bind(ep, ec);
  if (!ec) impl_->acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    impl_->acceptor.reset();
    if (ec == net::error::address_in_use) {
      return IoError(
          fmt::format("cannot listen on {}:{}: the port is in use (another takedown serve?)",
                      impl_->cfg.host, impl_->cfg.port));
    }
    return IoError(
        fmt::format("cannot listen on {}:{}: {}", impl_->cfg.host, impl_->cfg.port, ec.message()));
  }
  impl_->cfg.port = impl_->acceptor->local_endpoint().port();
  return Status::Ok();
}

int Front::port() const { return impl_->cfg.port; }

int64_t Front::connections() const { return impl_->open.load(); }

bool Front::tls() const { return impl_->UsesTls(); }

Status Front::ReloadTls() {
  if (!impl_->UsesTls()) return FailedPrecondition("the server does not use TLS");
  return impl_->ReloadTls(false).status();
}

void Front::Run() {
  if (!impl_->acceptor) return;
  impl_->running = true;
  if (impl_->stopping) {
    impl_->running = false;
    return;
  }
  impl_->Accept();
  if (impl_->UsesTls()) {
    impl_->tls_timer.emplace(impl_->ioc);
    impl_->WatchTls();
  }
  const int n = impl_->cfg.io_threads > 0
                    ? impl_->cfg.io_threads
                    : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  for (int i = 1; i < n; ++i) threads.emplace_back([this] { impl_->ioc.run(); });
  impl_->ioc.run();
  for (auto& t : threads) t.join();
  impl_->running = false;
}

void Front::Stop() {
  if (impl_->stopping.exchange(true)) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    if (impl_->acceptor) impl_->acceptor->close(ec);
    if (impl_->tls_timer) impl_->tls_timer->cancel();
    impl_->CloseIdle();
  });
}

}  // namespace takedown::http
