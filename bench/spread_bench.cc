// spread: issue 25's figure. A store of N recorded items (random PDQ hashes, as `serve-seed`
// makes) holding K copies and near-copies of one reported picture spread over chats and uploaders
// (a third identical bytes, the rest 1 to 24 bits away); then, as the service does it: the spread
// of one copy named by an investigator (a reviewer's preview), the decision that makes and signs
// the package, its download, and its verification. The store is kept (--store) so a second run
// measures without seeding again.
//   takedown-bench spread [--store PATH] [--content N] [--copies K]
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <random>

#include "runner.h"
#include "store/store.h"
#include "takedown/package.h"
#include "takedown/service.h"
#include "takedown/workflow.h"

namespace takedown::bench {
namespace {

hash::Hash256 RandomHash(std::mt19937_64& rng) {
  hash::Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

int RunSpread(const Options& o) {
  std::string path = "bench-spread/takedown.db";
  size_t content = 10'000'000, copies = 10'000;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--store") path = o.rest[i + 1];
    if (o.rest[i] == "--content") content = std::stoull(o.rest[i + 1]);
    if (o.rest[i] == "--copies") copies = std::stoull(o.rest[i + 1]);
  }
  const bool seed = !std::filesystem::exists(path);
  const std::string dir = std::filesystem::path(path).parent_path().string();
  if (!dir.empty()) std::filesystem::create_directories(dir);
  auto store = store::OpenSqliteStore(path);
  if (!store.ok()) {
    std::fprintf(stderr, "spread: %s\n", store.status().ToString().c_str());
    return 1;
  }
  auto t0 = Clock::now();
  auto svc = std::move(service::Service::Create(store->get()).value());
  std::printf("store %s opened (content index loaded) in %.1f s\n", path.c_str(),
              Seconds(t0, Clock::now()));
  std::mt19937_64 rng(20261203);
  const hash::Hash256 reported = RandomHash(rng);
  if (seed) {
    // The copies are interleaved with the traffic, in recorded order.
    const size_t every = std::max<size_t>(1, content / std::max<size_t>(1, copies));
    size_t made = 0;
    t0 = Clock::now();
    for (size_t done = 0; done < content;) {
      const size_t n = std::min<size_t>(10'000, content - done);
      std::vector<service::CheckRequest> items(n);
      for (size_t i = 0; i < n; ++i) {
        const size_t k = done + i;
        auto& it = items[i];
        if (k % every == 0 && made < copies) {
          hash::Hash256 h = reported;
          if (made % 3 != 0) {  // a near-copy: a re-encode, a resize
            const int bits = 1 + static_cast<int>(rng() % 24);
            for (int b = 0; b < bits; ++b) {
              const unsigned bit = rng() % 256;
              h.words[bit / 64] ^= uint64_t{1} << (bit % 64);
            }
          } else {
            it.signals.md5 = "5d41402abc4b2a76b9719d911017c592";
          }
          it.signals.pdq = h;
          it.content_id = fmt::format("copy-{}", made);
          it.chat_id = fmt::format("group-{}", made % 250);
          it.uploader_id = fmt::format("sharer-{}", made % 1500);
          ++made;
        } else {
          it.signals.pdq = RandomHash(rng);
          it.content_id = fmt::format("seed-{}", k);
          it.chat_id = fmt::format("chat-{}", k % 100'000);
          it.uploader_id = fmt::format("user-{}", k % 1'000'000);
        }
      }
      if (auto added = svc->Backfill(items, "bench"); !added.ok()) {
        std::fprintf(stderr, "spread: backfill: %s\n", added.status().ToString().c_str());
        return 1;
      }
      done += n;
      if (done % 200'000 == 0 || done == content) {
        std::fprintf(stderr, "\rcontent: %zu / %zu items (%.0f/s)", done, content,
                     static_cast<double>(done) / Seconds(t0, Clock::now()));
      }
    }
    std::fprintf(stderr, "\n");
    std::printf("seeded %zu items with %zu copies in %.0f s\n", content, made,
                Seconds(t0, Clock::now()));
  }
  const auto st = svc->Stats();

  service::WorkflowOptions wo;
  wo.package_signing_seed = std::string(32, 'b');
  service::Workflow wf(svc.get(), store->get(), nullptr, wo);
  const auto police_key = svc->CreateKey(service::Role::kRequester, "police", "bench").value();
  const service::Principal police{police_key.first, service::Role::kRequester, "police"};
  const auto rev_key = svc->CreateKey(service::Role::kReviewer, "rev", "bench").value();
  const service::Principal reviewer{rev_key.first, service::Role::kReviewer, "rev"};
  if (!wf.SetRequesterProfile(police.key_id, {{"source_type", "law_enforcement"}}, police).ok()) {
    return 1;
  }
  const nlohmann::json filing = {{"legal_process",
                                  {{"kind", "court_order"},
                                   {"reference", "bench"},
                                   {"issuing_authority", "court"},
                                   {"jurisdiction", "FR"},
                                   {"scope", "spread"}}},
                                 {"items", {{{"content_id", "copy-0"}}}}};
  std::printf("%llu recorded items; spread of copy-0 (%zu copies planted), %d run(s)\n",
              static_cast<unsigned long long>(st.content_items), copies, o.runs);
  std::printf("%-34s %10s %10s\n", "step", "median ms", "max ms");
  std::vector<double> preview_ms, decide_ms, download_ms, verify_ms;
  size_t found = 0, bytes = 0;
  for (int run = 0; run <= o.runs; ++run) {  // run 0 warms up
    auto filed = wf.FileDisclosure(police, filing, "");
    if (!filed.ok()) {
      std::fprintf(stderr, "spread: %s\n", filed.status().ToString().c_str());
      return 1;
    }
    const int64_t id = (*filed)["id"];
    auto a = Clock::now();
    auto pv = wf.GetDisclosure(reviewer, id, true);
    auto b = Clock::now();
    if (!pv.ok()) return 1;
    found = (*pv)["preview"][0]["totals"]["copies"];
    auto d = wf.DecideDisclosure(
        reviewer, id, {{"items", {{{"item", 0}, {"decision", "approved"}, {"reason", "ok"}}}}});
    auto c = Clock::now();
    if (!d.ok()) {
      std::fprintf(stderr, "spread: %s\n", d.status().ToString().c_str());
      return 1;
    }
    auto pkg = wf.DisclosurePackage(police, id);
    auto e = Clock::now();
    if (!pkg.ok()) return 1;
    bytes = pkg->size();
    auto check = service::VerifyPackage(*pkg, wf.package_signer()->public_key_base64());
    auto f = Clock::now();
    if (!check.ok()) return 1;
    if (run == 0) continue;
    preview_ms.push_back(Seconds(a, b) * 1000);
    decide_ms.push_back(Seconds(b, c) * 1000);
    download_ms.push_back(Seconds(c, e) * 1000);
    verify_ms.push_back(Seconds(e, f) * 1000);
  }
  auto row = [](const char* what, std::vector<double> v) {
    std::sort(v.begin(), v.end());
    std::printf("%-34s %10.1f %10.1f\n", what, v[v.size() / 2], v.back());
  };
  row("spread (reviewer's preview)", preview_ms);
  row("decision: spread + sign + store", decide_ms);
  row("package download", download_ms);
  row("verify-package", verify_ms);
  std::printf("copies found: %zu; package %.1f MB\n", found, static_cast<double>(bytes) / 1e6);
  return 0;
}

const Register kSpread("spread",
                       "issue 25: spread and signed package of an item with K copies among N "
                       "(--store PATH --content N --copies K)",
                       RunSpread);

}  // namespace
}  // namespace takedown::bench
