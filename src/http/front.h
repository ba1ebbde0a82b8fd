// The HTTP/1.1 front of `takedown serve`: an event-driven server on Boost.Beast and Asio
// (Debian's Boost). Connections cost no thread while idle or while a slow client trickles its
// bytes; a request takes a worker thread only once it is whole and admitted. Every stage of a
// request is bounded before anything is read that the client has not earned:
//
//   accept (connections per client address, connections in all) -> the header, under a total
//   deadline and a size limit -> Admit(head): the route, the key and its role, the declared
//   length and encoding, all from the header: a refusal is answered at once and the connection
//   closed, no body byte read -> the body, under a total deadline and the size limit (declared or
//   chunked alike; compressed bodies are refused) -> Handle(request) on a worker -> the response
//   -> the next request on the same connection (keep-alive), under the idle deadline.
//
// The front knows nothing of routes or keys: Admit and Handle are the server's (server.cc).
// Thread-safe: Run() serves on `io_threads` threads until Stop(); in-flight requests finish.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace takedown::http {

// Case-insensitive header names.
struct CaseInsensitiveLess {
  bool operator()(const std::string& a, const std::string& b) const;
};

struct HttpRequest {
  std::string method;
  std::string target;  // as sent: path and query
  std::string path;    // the target's path, as sent (percent-encoded)
  std::multimap<std::string, std::string, CaseInsensitiveLess> headers;
  std::multimap<std::string, std::string> params;  // the query, each value whole and decoded
  std::vector<std::string> matches;  // set by the router: [0] the path, [1..] its parameters
  std::string body;
  std::string remote_addr;
  int64_t content_length = -1;  // declared; -1 when none (chunked or no body)
  bool chunked = false;
  // Set by the server for its access log and metrics: the route template matched ("" when
  // none) and who asked ("" before authentication).
  std::string route;
  std::string principal;
  int route_index = -1;  // the server's own: which of its routes matched

  std::string get_header_value(const std::string& name) const;
  bool has_header(const std::string& name) const { return headers.count(name) != 0; }
  bool has_param(const std::string& name) const { return params.count(name) != 0; }
  std::string get_param_value(const std::string& name) const;  // first value, or ""
};

struct HttpResponse {
  int status = 200;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  bool close = false;  // close the connection after this response

  void set_content(std::string content, const std::string& content_type) {
    body = std::move(content);
    set_header("Content-Type", content_type);
  }
  void set_header(const std::string& name, const std::string& value);
};

// Parses a query string ("a=1&b=x%20y"): each value whole ("a=b=c" is a = "b=c"), percent- and
// plus-decoded; a malformed escape is an error naming the parameter.
Result<std::multimap<std::string, std::string>> ParseQuery(const std::string& query);
// Percent-decodes one path segment; a malformed escape or an encoded NUL is an error.
Result<std::string> DecodePathSegment(const std::string& s);

struct FrontConfig {
  std::string host = "127.0.0.1";
  int port = 8080;
  int io_threads = 0;  // 0: one per core
  int workers = 64;    // requests handled at once (handlers may block on I/O)
  size_t max_body_bytes = size_t{64} << 20;
  size_t max_header_bytes = 64 << 10;
  std::chrono::milliseconds header_timeout{10'000};  // the whole header, from its first byte
  std::chrono::milliseconds body_timeout{30'000};    // the whole body
  std::chrono::milliseconds idle_timeout{60'000};    // between requests on a kept-alive connection
  std::chrono::milliseconds write_timeout{30'000};
  int max_connections = 10'000;
  int max_connections_per_client = 256;  // per client address
  // TLS (both set, or neither: plain HTTP): a PEM certificate chain and its private key. TLS 1.2
  // and later only; the handshake has the header's deadline. The files are checked every
  // tls_reload_interval and, when either changed, loaded anew for the connections that follow
  // (a renewed certificate without a restart); files that do not load are logged and the one in
  // use stays.
  std::string tls_cert_file, tls_key_file;
  std::chrono::milliseconds tls_reload_interval{5'000};
};

// How a request taken on an I/O thread (Front::InlineFn) is answered: one call of Send or
// Offload, from any thread. Copies share the one answer.
class Reply {
 public:
  using Make = std::function<HttpResponse()>;
  // make() runs on the connection's I/O thread (it must not block); its response is sent.
  void Send(Make make) const { fn_(std::move(make), false); }
  // make() runs on a worker thread (it may block); its response is sent.
  void Offload(Make make) const { fn_(std::move(make), true); }

  explicit Reply(std::function<void(Make, bool offload)> fn) : fn_(std::move(fn)) {}

 private:
  std::function<void(Make, bool)> fn_;
};

class Front {
 public:
  // Called on an I/O thread with the request's header (body empty): a response to send at once
  // (the connection is then closed unless the request had no body), or nullopt to read the body
  // and call Handle. Must not block.
  using AdmitFn = std::function<std::optional<HttpResponse>(HttpRequest& head)>;
  // Called on a worker thread with the whole request.
  using HandleFn = std::function<HttpResponse(HttpRequest& request)>;
  // Called once per request answered (also those the front refused itself).
  using RecordFn =
      std::function<void(const HttpRequest& request, const HttpResponse& response, double seconds)>;
  // Called on an I/O thread with the whole request before it goes to a worker: false sends it to
  // Handle on a worker; true when it took the request and answers it through the Reply (the
  // request stays valid until then). Must not block: the upload gate's checks, which wait only
  // for the store's group commit, are answered without parking a worker thread each.
  using InlineFn = std::function<bool(HttpRequest& request, const Reply& reply)>;

  Front(FrontConfig config, AdmitFn admit, HandleFn handle, RecordFn record,
        InlineFn inline_handle = nullptr);
  ~Front();
  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;

  // Binds and listens; refuses a port another socket listens on. Errors name the address.
  Status Bind();
  int port() const;
  // Serves until Stop(); returns once in-flight requests are answered.
  void Run();
  // Stops accepting, closes idle connections, lets in-flight requests finish. Safe from any
  // thread, also before Run().
  void Stop();

  // Open connections now (for /metrics).
  int64_t connections() const;
  bool tls() const;
  // Loads the TLS files again now if they changed (also done every tls_reload_interval): Ok when
  // nothing changed or the new files are in use; the error otherwise (the old ones stay).
  Status ReloadTls();

  struct Impl;  // front.cc's (its connections reach it)

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace takedown::http
