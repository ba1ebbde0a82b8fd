// serve-seed: fills a store for the load benchmark of `takedown serve` (scripts/bench-serve.sh):
// a bank of N random PDQ entries and a content index of M items, through the Service as the
// server would (bulk import, backfill), with progress. Writes admin.key, platform.key and
// bank-sample.txt (1000 of the bank's hashes, for the load generator's matching requests) next to
// the store.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>

#include "runner.h"
#include "store/store.h"
#include "takedown/service.h"

namespace takedown::bench {
namespace {

hash::Hash256 RandomHash(std::mt19937_64& rng) {
  hash::Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

int RunServeSeed(const Options& o) {
  std::string path = "bench-serve/takedown.db", url;
  size_t bank = 1'000'000, content = 10'000'000;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--store") path = o.rest[i + 1];
    if (o.rest[i] == "--store-url") url = o.rest[i + 1];  // PostgreSQL; keys still beside path
    if (o.rest[i] == "--bank") bank = std::stoull(o.rest[i + 1]);
    if (o.rest[i] == "--content") content = std::stoull(o.rest[i + 1]);
  }
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  if (url.empty() && std::filesystem::exists(path)) {
    std::fprintf(stderr, "serve-seed: %s exists; remove it first\n", path.c_str());
    return 2;
  }
  auto store = url.empty() ? store::OpenSqliteStore(path) : store::OpenPostgresStore(url);
  if (!store.ok()) {
    std::fprintf(stderr, "serve-seed: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto svc = std::move(service::Service::Create(store->get()).value());
  const std::string at = dir.empty() ? "" : dir + "/";
  std::ofstream(at + "admin.key")
      << svc->CreateKey(service::Role::kAdmin, "bench-admin", "bench").value().second << "\n";
  std::ofstream(at + "platform.key")
      << svc->CreateKey(service::Role::kPlatform, "bench-platform", "bench").value().second << "\n";
  if (!svc->CreateBank({"bench", "ncii", 31, "block"}, "bench").ok()) return 1;

  std::mt19937_64 rng(20261128);
  auto t0 = Clock::now();
  std::ofstream sample(at + "bank-sample.txt");
  for (size_t done = 0; done < bank;) {
    const size_t n = std::min<size_t>(100'000, bank - done);
    std::vector<service::Signals> list(n);
    for (size_t i = 0; i < n; ++i) {
      list[i].pdq = RandomHash(rng);
      if (done + i < 1000) sample << list[i].pdq->ToHex() << "\n";
    }
    auto done_import = svc->ImportEntries("bench", list, "bench", "", "bench");
    if (!done_import.ok()) {
      std::fprintf(stderr, "serve-seed: import: %s\n", done_import.status().ToString().c_str());
      return 1;
    }
    done += n;
    std::fprintf(stderr, "\rbank: %zu / %zu entries (%.0f/s)", done, bank,
                 static_cast<double>(done) / Seconds(t0, Clock::now()));
  }
  std::fprintf(stderr, "\n");
  t0 = Clock::now();
  for (size_t done = 0; done < content;) {
    const size_t n = std::min<size_t>(10'000, content - done);
    std::vector<service::CheckRequest> items(n);
    for (size_t i = 0; i < n; ++i) {
      items[i].content_id = fmt::format("seed-{}", done + i);
      items[i].chat_id = fmt::format("chat-{}", (done + i) % 100'000);
      items[i].uploader_id = fmt::format("user-{}", (done + i) % 1'000'000);
      items[i].signals.pdq = RandomHash(rng);
    }
    auto added = svc->Backfill(items, "bench");
    if (!added.ok()) {
      std::fprintf(stderr, "serve-seed: backfill: %s\n", added.status().ToString().c_str());
      return 1;
    }
    done += n;
    if (done % 100'000 == 0 || done == content) {
      std::fprintf(stderr, "\rcontent: %zu / %zu items (%.0f/s)", done, content,
                   static_cast<double>(done) / Seconds(t0, Clock::now()));
    }
  }
  std::fprintf(stderr, "\n");
  const auto st = svc->Stats();
  std::error_code ec;  // PostgreSQL: no file here to measure
  const auto bytes = url.empty() ? std::filesystem::file_size(path, ec) : 0;
  std::printf("seeded %s: %llu bank entries, %llu content items, %.2f GB on disk\n",
              url.empty() ? path.c_str() : store::DescribePostgresUrl(url).c_str(),
              static_cast<unsigned long long>(st.bank_entries),
              static_cast<unsigned long long>(st.content_items), static_cast<double>(bytes) / 1e9);
  return 0;
}

const Register kServeSeed(
    "serve-seed",
    "fill a store for scripts/bench-serve.sh (--store PATH [--store-url POSTGRES] --bank N "
    "--content M)",
    RunServeSeed);

}  // namespace
}  // namespace takedown::bench
