// edge: hostile clients against a running `takedown serve` (issue 17; scripts/bench-edge.sh).
//   takedown-bench edge --port P --pid PID [--duration S] [--slow N] [--attackers N]
// 1. Memory: N clients without a key each send a 400 MB chunked body, and one sends a 1 GiB gzip
//    bomb (about 1 MB on the wire); the server's resident memory is sampled every 10 ms and its
//    growth printed (goal: < 50 MB).
// 2. Slow headers: N connections that each send one header byte a second (re-opened whenever the
//    server cuts one off, as an attacker would), spread over client addresses 127.0.1.x so that
//    the per-address bound does not simply refuse them; meanwhile /healthz is asked every 20 ms
//    on a fresh connection and its latency printed (goal: p99 < 50 ms).
//   takedown-bench edge-idle --port P --conns N
// Opens N kept-alive connections (over addresses 127.0.2.x), makes one request on each and then
// holds them idle, answering the server's idle close by reconnecting, until killed: the idle
// clients beside scripts/bench-serve.sh's load (IDLE=N).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "core/numbers.h"
#include "runner.h"

namespace takedown::bench {
namespace {

// A connection to 127.0.0.1:port from the loopback address `from` (0: any). -1 when refused.
int Connect(int port, uint32_t from = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (from != 0) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    s.sin_addr.s_addr = htonl(from);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t k = ::send(fd, p, n, MSG_NOSIGNAL);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

// The status of the first response read within ms (0 when none came).
int ReadStatus(int fd, int ms) {
  std::string got;
  const auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (Clock::now() < end && got.find("\r\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 10) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got.rfind("HTTP/1.1 ", 0) == 0 ? std::atoi(got.c_str() + 9) : 0;
}

// Drains and discards whatever has arrived; false when the peer closed.
bool Drain(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return false;
    if (n < 0) return errno == EAGAIN || errno == EWOULDBLOCK;
  }
}

// Closes fd (and sets it to -1) when the server has closed its end; true when it did.
bool CloseIfPeerClosed(int& fd) {
  if (fd < 0 || Drain(fd)) return false;
  ::close(fd);
  fd = -1;
  return true;
}

// The loopback address 127.0.BLOCK.N of client i when `per_address` clients share an address:
// many client addresses, so that the server's bound per address does not refuse them all.
uint32_t LoopbackClient(uint32_t block, size_t i, size_t per_address) {
  return (127u << 24) | (block << 8) | static_cast<uint32_t>(1 + i / per_address);
}

long RssKiB(int pid) {
  std::ifstream f(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

std::string GzipOfZeros(size_t size) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  std::vector<unsigned char> zeros(1 << 20, 0);
  std::string out;
  std::vector<unsigned char> buf(1 << 16);
  for (size_t done = 0; done < size;) {
    const size_t n = std::min(zeros.size(), size - done);
    done += n;
    z.next_in = zeros.data();
    z.avail_in = static_cast<uInt>(n);
    const int flush = done == size ? Z_FINISH : Z_NO_FLUSH;
    do {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, flush);
      out.append(reinterpret_cast<char*>(buf.data()), buf.size() - z.avail_out);
    } while (z.avail_out == 0);
  }
  deflateEnd(&z);
  return out;
}

struct Args {
  int port = 0, pid = 0, duration = 20, slow = 500, attackers = 8, conns = 1000;
};

int ParseArgs(const Options& o, Args* a) {
  for (size_t i = 0; i + 1 < o.rest.size(); i += 2) {
    const std::string& k = o.rest[i];
    auto v = ParseInt64(o.rest[i + 1], k, 0, 1'000'000);
    int* slot = k == "--port"        ? &a->port
                : k == "--pid"       ? &a->pid
                : k == "--duration"  ? &a->duration
                : k == "--slow"      ? &a->slow
                : k == "--attackers" ? &a->attackers
                : k == "--conns"     ? &a->conns
                                     : nullptr;
    if (slot == nullptr || !v.ok()) {
      std::fprintf(
          stderr, "edge: %s\n",
          slot == nullptr ? ("unknown option " + k).c_str() : v.status().ToString().c_str());
      return 2;
    }
    *slot = static_cast<int>(*v);
  }
  if (a->port == 0) {
    std::fprintf(stderr, "edge: --port is required\n");
    return 2;
  }
  return 0;
}

int MemoryPhase(const Args& a) {
  const long before = RssKiB(a.pid);
  std::atomic<bool> done{false};
  std::atomic<long> peak{before};
  std::thread sampler([&] {
    while (!done) {
      peak = std::max(peak.load(), RssKiB(a.pid));
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  const std::string bomb = GzipOfZeros(size_t{1} << 30);
  std::atomic<long long> sent{0};
  std::vector<int> statuses(static_cast<size_t>(a.attackers) + 1, 0);
  std::vector<std::thread> clients;
  const auto t0 = Clock::now();
  for (int i = 0; i < a.attackers; ++i) {
    clients.emplace_back([&, i] {
      const int fd = Connect(a.port);
      if (fd < 0) return;
      const std::string head =
          "POST /v1/check/media?content_id=x HTTP/1.1\r\nHost: bench\r\n"
          "Transfer-Encoding: chunked\r\n\r\n";
      SendAll(fd, head.data(), head.size());
      std::string chunk = fmt::format("{:x}\r\n", 1 << 20) + std::string(1 << 20, 'x') + "\r\n";
      for (int mb = 0; mb < 400; ++mb) {
        if (!SendAll(fd, chunk.data(), chunk.size())) break;
        sent += 1 << 20;
      }
      statuses[static_cast<size_t>(i)] = ReadStatus(fd, 2000);
      ::close(fd);
    });
  }
  clients.emplace_back([&] {
    const int fd = Connect(a.port);
    if (fd < 0) return;
    const std::string head = fmt::format(
        "POST /v1/check/media?content_id=y HTTP/1.1\r\nHost: bench\r\nContent-Encoding: gzip\r\n"
        "Content-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
        bomb.size());
    SendAll(fd, head.data(), head.size());
    if (SendAll(fd, bomb.data(), bomb.size())) sent += static_cast<long long>(bomb.size());
    statuses.back() = ReadStatus(fd, 2000);
    ::close(fd);
  });
  for (auto& t : clients) t.join();
  const double secs = Seconds(t0, Clock::now());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  done = true;
  sampler.join();
  std::string codes;
  for (int s : statuses) codes += fmt::format("{} ", s);
  const double grew = static_cast<double>(peak - before) / 1024.0;
  std::printf(
      "memory: %d clients without a key sending 400 MB chunked + one 1 GiB gzip bomb (%zu bytes "
      "compressed): %.1f MB accepted by the server's socket before it closed them, answers [%s], "
      "%.1f s\n  server RSS %.1f MB before, peak %.1f MB: grew %.1f MB\n",
      a.attackers, bomb.size(), static_cast<double>(sent.load()) / 1e6, codes.c_str(), secs,
      static_cast<double>(before) / 1024, static_cast<double>(peak.load()) / 1024, grew);
  return Target("RSS grows < 50 MB", before > 0 && grew < 50, fmt::format("{:.1f} MB", grew));
}

int SlowPhase(const Args& a) {
  std::atomic<bool> done{false};
  std::atomic<long> reopened{0}, open_now{0};
  std::thread slow([&] {
    // 127.0.1.1 .. : ten connections per address.
    std::vector<int> fds(static_cast<size_t>(a.slow), -1);
    std::vector<size_t> pos(fds.size(), 0);
    const std::string header =
        "GET /healthz HTTP/1.1\r\nHost: bench\r\nX-Slow: " + std::string(4000, 'a') + "\r\n\r\n";
    while (!done) {
      long n = 0;
      for (size_t i = 0; i < fds.size() && !done; ++i) {
        if (CloseIfPeerClosed(fds[i])) ++reopened;
        if (fds[i] < 0) {
          fds[i] = Connect(a.port, LoopbackClient(1, i, 10));
          pos[i] = 0;
        }
        if (fds[i] < 0) continue;
        if (!SendAll(fds[i], header.data() + pos[i] % header.size(), 1)) {
          ::close(fds[i]);
          fds[i] = -1;
          ++reopened;
          continue;
        }
        ++pos[i];
        ++n;
      }
      open_now = n;
      for (int t = 0; t < 100 && !done; ++t)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    for (int fd : fds) {
      if (fd >= 0) ::close(fd);
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(2));  // every slow connection open
  std::vector<double> ms;
  int failed = 0;
  const auto end = Clock::now() + std::chrono::seconds(a.duration);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    const int fd = Connect(a.port);
    int status = 0;
    if (fd >= 0) {
      const std::string req = "GET /healthz HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n";
      if (SendAll(fd, req.data(), req.size())) status = ReadStatus(fd, 5000);
      ::close(fd);
    }
    if (status == 200) {
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    } else {
      ++failed;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const long open_at_end = open_now.load();
  done = true;
  slow.join();
  const double p99 = Percentile(ms, 0.99);
  std::printf(
      "slow headers: %d connections sending one header byte a second (%ld open at the end, %ld "
      "cut off by the server and re-opened) for %d s\n  /healthz: %zu answered, %d failed; p50 "
      "%.2f ms, p99 %.2f ms, max %.2f ms\n",
      a.slow, open_at_end, reopened.load(), a.duration, ms.size(), failed, Percentile(ms, 0.5), p99,
      ms.empty() ? 0.0 : *std::max_element(ms.begin(), ms.end()));
  return Target("/healthz p99 < 50 ms with slow-header connections open",
                failed == 0 && !ms.empty() && p99 < 50, fmt::format("{:.2f} ms", p99));
}

int RunEdge(const Options& o) {
  Args a;
  if (int rc = ParseArgs(o, &a); rc != 0) return rc;
  if (a.pid == 0) {
    std::fprintf(stderr, "edge: --pid (the server's process id, for its memory) is required\n");
    return 2;
  }
  return MemoryPhase(a) + SlowPhase(a);
}

int RunIdle(const Options& o) {
  Args a;
  if (int rc = ParseArgs(o, &a); rc != 0) return rc;
  std::vector<int> fds(static_cast<size_t>(a.conns), -1);
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: bench\r\n\r\n";
  for (bool first = true;; first = false) {
    size_t open = 0;
    for (size_t i = 0; i < fds.size(); ++i) {
      CloseIfPeerClosed(fds[i]);
      if (fds[i] < 0) {
        fds[i] = Connect(a.port, LoopbackClient(2, i, 100));
        if (fds[i] >= 0 &&
            (!SendAll(fds[i], req.data(), req.size()) || ReadStatus(fds[i], 2000) != 200)) {
          ::close(fds[i]);
          fds[i] = -1;
        }
      }
      open += fds[i] >= 0;
    }
    if (first)
      std::printf("edge-idle: %zu of %d kept-alive connections open and idle\n", open, a.conns);
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

Register edge("edge",
              "hostile clients against a running server: memory under unauthenticated bodies, "
              "/healthz under slow headers (--port --pid)",
              RunEdge);
Register edge_idle("edge-idle",
                   "holds N idle kept-alive connections open until killed (--port --conns)",
                   RunIdle);

}  // namespace
}  // namespace takedown::bench
