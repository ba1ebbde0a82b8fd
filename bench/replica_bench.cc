// replicas: issue 21's propagation figure. N services on one PostgreSQL (each with its own
// connections and follower, as N `takedown serve` processes would have): an entry is added at
// the first, and the time from AddEntry returning until an upload of its hash is blocked at every
// other replica is measured, for each of E entries; p50, p99 and max are printed. Run by
// scripts/bench-replicas.sh (a PostgreSQL of its own).
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <thread>

#include "runner.h"
#include "store/store.h"
#include "takedown/service.h"

namespace takedown::bench {
namespace {

int RunReplicas(const Options& o) {
  std::string url;
  size_t replicas = 3, entries = 200;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--store-url") url = o.rest[i + 1];
    if (o.rest[i] == "--replicas") replicas = std::stoull(o.rest[i + 1]);
    if (o.rest[i] == "--entries") entries = std::stoull(o.rest[i + 1]);
  }
  if (url.empty() || replicas < 2) {
    std::fprintf(stderr, "replicas: --store-url POSTGRES and --replicas >= 2 are needed\n");
    return 2;
  }
  std::vector<std::unique_ptr<store::Store>> stores;
  std::vector<std::unique_ptr<service::Service>> svcs;
  const auto t_open = Clock::now();
  for (size_t i = 0; i < replicas; ++i) {
    auto s = store::OpenPostgresStore(url);
    if (!s.ok()) {
      std::fprintf(stderr, "replicas: %s\n", s.status().ToString().c_str());
      return 1;
    }
    auto svc = service::Service::Create(s->get());
    if (!svc.ok()) {
      std::fprintf(stderr, "replicas: %s\n", svc.status().ToString().c_str());
      return 1;
    }
    stores.push_back(std::move(*s));
    svcs.push_back(std::move(*svc));
  }
  std::printf("%zu replicas loaded %llu bank entries, %llu content items each in %.1f s\n",
              replicas, static_cast<unsigned long long>(svcs[0]->Stats().bank_entries),
              static_cast<unsigned long long>(svcs[0]->Stats().content_items),
              Seconds(t_open, Clock::now()) / static_cast<double>(replicas));
  std::mt19937_64 rng(std::random_device{}());
  const std::string bank = fmt::format("replica-bench-{:08x}", rng() & 0xffffffff);
  if (auto b = svcs[0]->CreateBank({bank, "ncii", 31, "block"}, "bench"); !b.ok()) {
    std::fprintf(stderr, "replicas: %s\n", b.status().ToString().c_str());
    return 1;
  }
  std::vector<double> ms;
  uint64_t probe = 0;
  for (size_t e = 0; e < entries; ++e) {
    service::Signals s;
    s.pdq = hash::Hash256{};
    for (auto& w : s.pdq->words) w = rng();
    s.quality = 100;
    auto added = svcs[0]->AddEntry(bank, {s, {}, "bench", ""}, "bench");
    if (!added.ok()) {
      std::fprintf(stderr, "replicas: %s\n", added.status().ToString().c_str());
      return 1;
    }
    const auto t0 = Clock::now();
    for (size_t r = 1; r < replicas; ++r) {
      for (;;) {
        auto c = svcs[r]->Check(
            {fmt::format("replica-bench-{}-{}", rng(), probe++), "bench", "bench", s, {}}, "bench");
        if (c.ok() && c->block) break;
        if (Seconds(t0, Clock::now()) > 30) {
          std::fprintf(stderr, "replicas: entry %zu never reached replica %zu\n", e, r);
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    ms.push_back(Seconds(t0, Clock::now()) * 1000);
  }
  std::printf(
      "entry added at replica 0 -> blocked at all %zu others: p50 %.1f ms, p99 %.1f ms, max %.1f "
      "ms (%zu entries)\n",
      replicas - 1, Percentile(ms, 0.50), Percentile(ms, 0.99), Percentile(ms, 1.0), ms.size());
  for (size_t r = 0; r < replicas; ++r) {
    const auto f = svcs[r]->Following();
    std::printf("replica %zu: %llu changes applied, %llu log errors\n", r,
                static_cast<unsigned long long>(f.applied),
                static_cast<unsigned long long>(f.errors));
  }
  return 0;
}

const Register kReplicas("replicas",
                         "entry propagation between replicas on one PostgreSQL (--store-url URL "
                         "--replicas N --entries E; scripts/bench-replicas.sh)",
                         RunReplicas);

}  // namespace
}  // namespace takedown::bench
