// replicas: issue 21's replica figures. N services on one PostgreSQL (each with its own
// connections and follower, as N `takedown serve` processes would have).
// - With --bank B: the last replica is stopped, B entries are imported at the first (B changes
//   in the log) while the others follow live, and the figures are how long the live ones take
//   to hold every entry after the import's last commit, and how long the stopped one takes to
//   start again (a restart loads the store, then follows from there) and what memory it adds.
// - Then, on that bank, an entry is added at the first replica, and the time from AddEntry
//   returning until an upload of its hash is blocked at every other replica is measured, for
//   each of E entries; p50, p99 and max are printed.
// Run by scripts/bench-replicas.sh (a PostgreSQL of its own).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <set>
#include <thread>

#include "runner.h"
#include "store/store.h"
#include "takedown/service.h"
#include "takedown/shards.h"
#include "takedown/workflow.h"

namespace takedown::bench {
namespace {

long SelfRssMiB() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6) / 1024;
  }
  return 0;
}

hash::Hash256 RandomPdq(std::mt19937_64& rng) {
  hash::Hash256 h;
  for (auto& w : h.words) w = rng();
  return h;
}

struct Replica {
  std::unique_ptr<store::Store> store;
  std::unique_ptr<service::Service> svc;
};

Result<Replica> OpenReplica(const std::string& url) {
  Replica r;
  TD_ASSIGN_OR_RETURN(r.store, store::OpenPostgresStore(url));
  TD_ASSIGN_OR_RETURN(r.svc, service::Service::Create(r.store.get()));
  return r;
}

int RunReplicas(const Options& o) {
  std::string url;
  size_t replicas = 3, entries = 200, bank_size = 0;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--store-url") url = o.rest[i + 1];
    if (o.rest[i] == "--replicas") replicas = std::stoull(o.rest[i + 1]);
    if (o.rest[i] == "--entries") entries = std::stoull(o.rest[i + 1]);
    if (o.rest[i] == "--bank") bank_size = std::stoull(o.rest[i + 1]);
  }
  if (url.empty() || replicas < 2) {
    std::fprintf(stderr, "replicas: --store-url POSTGRES and --replicas >= 2 are needed\n");
    return 2;
  }
  auto fail = [](const Status& st) {
    std::fprintf(stderr, "replicas: %s\n", st.ToString().c_str());
    return 1;
  };
  std::vector<Replica> reps;
  const auto t_open = Clock::now();
  for (size_t i = 0; i < replicas; ++i) {
    auto r = OpenReplica(url);
    if (!r.ok()) return fail(r.status());
    reps.push_back(std::move(*r));
  }
  std::printf("%zu replicas loaded %llu bank entries, %llu content items each in %.1f s\n",
              replicas, static_cast<unsigned long long>(reps[0].svc->Stats().bank_entries),
              static_cast<unsigned long long>(reps[0].svc->Stats().content_items),
              Seconds(t_open, Clock::now()) / static_cast<double>(replicas));
  std::mt19937_64 rng(std::random_device{}());
  const std::string bank = fmt::format("replica-bench-{:08x}", rng() & 0xffffffff);
  if (auto b = reps[0].svc->CreateBank({bank, "ncii", 31, "block"}, "bench"); !b.ok())
    return fail(b.status());

  if (bank_size > 0) {
    // The last replica is stopped while the bank is imported at the first.
    for (auto& r : reps) {
      if (Status st = r.svc->CatchUp(); !st.ok()) return fail(st);
    }
    // The service (and its follower thread) before the store it reads: assigning an empty
    // Replica would free the store first, under the running follower.
    reps.back().svc.reset();
    reps.back().store.reset();
    // A follower that reads nothing during the import (a replica cut off from the database):
    // what its first read after it costs.
    auto lagging = store::OpenPostgresStore(url);
    if (!lagging.ok()) return fail(lagging.status());
    if (Status st = (*lagging)->changes()->StartFeed(); !st.ok()) return fail(st);
    const auto t0 = Clock::now();
    for (size_t done = 0; done < bank_size;) {
      const size_t n = std::min<size_t>(100'000, bank_size - done);
      std::vector<service::Signals> list(n);
      for (auto& s : list) s.pdq = RandomPdq(rng);
      auto imported = reps[0].svc->ImportEntries(bank, list, "bench", "", "bench");
      if (!imported.ok()) return fail(imported.status());
      done += n;
      std::fprintf(stderr, "\rimport at replica 0: %zu / %zu entries (%.0f/s)", done, bank_size,
                   static_cast<double>(done) / Seconds(t0, Clock::now()));
    }
    std::fprintf(stderr, "\n");
    const auto t_imported = Clock::now();
    const uint64_t want = reps[0].svc->Stats().bank_entries;
    std::printf("imported %zu entries at replica 0 in %.1f s (%.0f/s); it holds %llu\n", bank_size,
                Seconds(t0, t_imported), static_cast<double>(bank_size) / Seconds(t0, t_imported),
                static_cast<unsigned long long>(want));
    for (size_t r = 1; r + 1 < reps.size(); ++r) {
      while (reps[r].svc->Stats().bank_entries < want) {
        if (Seconds(t_imported, Clock::now()) > 600) {
          std::fprintf(stderr, "replicas: replica %zu holds %llu of %llu entries after 600 s\n", r,
                       static_cast<unsigned long long>(reps[r].svc->Stats().bank_entries),
                       static_cast<unsigned long long>(want));
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::printf(
          "live replica %zu held all %llu entries %.2f s after the import's last commit (it "
          "followed %llu changes)\n",
          r, static_cast<unsigned long long>(want), Seconds(t_imported, Clock::now()),
          static_cast<unsigned long long>(reps[r].svc->Following().applied));
    }
    {
      const long rss0 = SelfRssMiB();
      const auto t_read = Clock::now();
      size_t read = 0, reads = 0, most = 0;
      long peak = rss0;
      for (;;) {
        auto page = (*lagging)->changes()->ReadChanges(store::ChangeFeed::kChangesPerRead);
        if (!page.ok()) return fail(page.status());
        read += page->size();
        most = std::max(most, page->size());
        ++reads;
        peak = std::max(peak, SelfRssMiB());
        if (page->size() < store::ChangeFeed::kChangesPerRead) break;
      }
      std::printf(
          "a follower cut off during the import read its %zu changes in %zu reads of at most "
          "%zu: %.1f s, +%ld MiB resident at most\n",
          read, reads, most, Seconds(t_read, Clock::now()), peak - rss0);
    }
    lagging->reset();
    const long rss_before = SelfRssMiB();
    const auto t_restart = Clock::now();
    auto restarted = OpenReplica(url);
    if (!restarted.ok()) return fail(restarted.status());
    reps.back() = std::move(*restarted);
    const double loaded_s = Seconds(t_restart, Clock::now());
    if (Status st = reps.back().svc->CatchUp(); !st.ok()) return fail(st);
    std::printf(
        "replica %zu, stopped during the %zu changes, restarted: %llu entries loaded in %.1f s, "
        "current after %.1f s; +%ld MiB resident\n",
        reps.size() - 1, bank_size,
        static_cast<unsigned long long>(reps.back().svc->Stats().bank_entries), loaded_s,
        Seconds(t_restart, Clock::now()), SelfRssMiB() - rss_before);
    if (reps.back().svc->Stats().bank_entries < want) {
      std::fprintf(stderr, "replicas: the restarted replica holds fewer entries than replica 0\n");
      return 1;
    }
    std::printf("resident in all: %ld MiB for %zu replicas (%.0f MiB each)\n", SelfRssMiB(),
                reps.size(), static_cast<double>(SelfRssMiB()) / static_cast<double>(reps.size()));
    // A small list into the large bank asks the store about its own entries only: the first
    // import adds them, the next two find them all there.
    std::vector<service::Signals> small(10);
    for (auto& s : small) s.pdq = RandomPdq(rng);
    for (int round = 0; round < 3; ++round) {
      const long rss0 = SelfRssMiB();
      const auto t = Clock::now();
      auto r = reps[0].svc->ImportEntries(bank, small, "bench", "", "bench");
      if (!r.ok()) return fail(r.status());
      std::printf(
          "import of %zu entries into the bank of %zu: %.1f ms (%zu new, %zu existing), %+ld MiB "
          "resident\n",
          small.size(), bank_size, Seconds(t, Clock::now()) * 1000, r->ids.size(), r->existing,
          SelfRssMiB() - rss0);
    }
  }

  std::vector<double> ms;
  uint64_t probe = 0;
  for (size_t e = 0; e < entries; ++e) {
    service::Signals s;
    s.pdq = RandomPdq(rng);
    s.quality = 100;
    auto added = reps[0].svc->AddEntry(bank, {s, {}, "bench", ""}, "bench");
    if (!added.ok()) return fail(added.status());
    const auto t0 = Clock::now();
    for (size_t r = 1; r < reps.size(); ++r) {
      for (;;) {
        auto c = reps[r].svc->Check(
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
      "entry added at replica 0 (bank of %llu) -> blocked at all %zu others: p50 %.1f ms, p99 "
      "%.1f ms, max %.1f ms (%zu entries)\n",
      static_cast<unsigned long long>(reps[0].svc->Stats().bank_entries), replicas - 1,
      Percentile(ms, 0.50), Percentile(ms, 0.99), Percentile(ms, 1.0), ms.size());
  for (size_t r = 0; r < reps.size(); ++r) {
    const auto f = reps[r].svc->Following();
    std::printf("replica %zu: %llu changes applied, %llu log errors, %llu whole-store loads\n", r,
                static_cast<unsigned long long>(f.applied),
                static_cast<unsigned long long>(f.errors),
                static_cast<unsigned long long>(f.resyncs));
  }
  return 0;
}

const Register kReplicas("replicas",
                         "entry propagation, catch-up and memory of replicas on one PostgreSQL "
                         "(--store-url URL --replicas N --entries E [--bank B]; "
                         "scripts/bench-replicas.sh)",
                         RunReplicas);

// workflows: what the document locks of store.workflow shared cost (issue 21 item 3). R requests
// are filed, each naming a picture recorded as 2 copies, and waiting for a reviewer; then they
// are decided (each decision sweeps: bank entry, removals, audit) by 2 threads, first through one
// workflow alone on the store (lease: its mutexes only), then through two workflows sharing it
// (shared: every decision also takes a PostgreSQL advisory lock, and the bank's and the
// uploaders' whole-kind locks where it needs them), each thread at its own. Prints decisions a
// second and p50/p99 of one decision for each.
int RunWorkflows(const Options& o) {
  std::string url;
  size_t requests = 200;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    if (o.rest[i] == "--store-url") url = o.rest[i + 1];
    if (o.rest[i] == "--requests") requests = std::stoull(o.rest[i + 1]);
  }
  if (url.empty() || requests == 0) {
    std::fprintf(stderr, "workflows: needs --store-url URL (scripts/bench-replicas.sh)\n");
    return 2;
  }
  std::mt19937_64 rng(2026);
  // Twice each, alternately: the first round also makes the category's bank and warms the
  // database's caches.
  int round = 0;
  for (const bool shared : {false, true, false, true}) {
    ++round;
    std::vector<Replica> reps;
    for (int i = 0; i < 2; ++i) {
      auto r = OpenReplica(url);
      if (!r.ok()) {
        std::fprintf(stderr, "workflows: %s\n", r.status().ToString().c_str());
        return 1;
      }
      reps.push_back(std::move(r).value());
    }
    service::WorkflowOptions wo;
    wo.retry_base_ms = 600'000;  // removals stay queued: the bench measures decisions
    wo.shared = shared;
    std::vector<std::unique_ptr<service::Workflow>> wfs;
    for (size_t i = 0; i < (shared ? 2u : 1u); ++i) {
      wfs.push_back(
          std::make_unique<service::Workflow>(reps[i].svc.get(), reps[i].store.get(), nullptr, wo));
    }
    auto analyst = reps[0].svc->CreateKey(service::Role::kRequester, "bench-analyst", "bench");
    auto reviewer = reps[0].svc->CreateKey(service::Role::kReviewer, "bench-reviewer", "bench");
    if (!analyst.ok() || !reviewer.ok()) return 1;
    const service::Principal from{analyst->first, service::Role::kRequester, "bench-analyst"};
    const service::Principal rev{reviewer->first, service::Role::kReviewer, "bench-reviewer"};
    std::vector<int64_t> ids;
    for (size_t i = 0; i < requests; ++i) {
      const hash::Hash256 h = RandomPdq(rng);
      for (int k = 0; k < 2; ++k) {
        service::Signals s;
        s.pdq = h;
        s.quality = 100;
        auto c = reps[0].svc->Check(
            {fmt::format("wf-bench-{}-{}-{}", round, i, k), fmt::format("chat-{}", k), "u", s, {}},
            "bench");
        if (!c.ok()) return 1;
      }
      nlohmann::json notice = {
          {"category", "ncii"},
          {"explanation", "an intimate image shared without consent"},
          {"notifier", {{"name", "Analyst Kim"}, {"email", "kim@hotline.example"}}},
          {"accuracy_statement", true},
          {"evidence", nlohmann::json::array({{{"pdq", h.ToHex()}, {"quality", 100}}})}};
      auto made = wfs[0]->CreateRequest(from, notice);
      if (!made.ok()) {
        std::fprintf(stderr, "workflows: %s\n", made.status().ToString().c_str());
        return 1;
      }
      ids.push_back((*made)["id"].get<int64_t>());
    }
    for (auto& r : reps) (void)r.svc->CatchUp();
    std::vector<std::vector<double>> ms(2);
    std::atomic<int> failed{0};
    const auto t0 = Clock::now();
    std::vector<std::thread> deciders;
    for (size_t t = 0; t < 2; ++t) {
      deciders.emplace_back([&, t] {
        service::Workflow& wf = *wfs[shared ? t : 0];
        for (size_t i = t; i < ids.size(); i += 2) {
          const auto d0 = Clock::now();
          if (!wf.Decide(rev, ids[i], true, "the reported picture, shared without consent").ok())
            ++failed;
          ms[t].push_back(Seconds(d0, Clock::now()) * 1000);
        }
      });
    }
    for (auto& t : deciders) t.join();
    const double took = Seconds(t0, Clock::now());
    std::vector<double> all = ms[0];
    all.insert(all.end(), ms[1].begin(), ms[1].end());
    std::printf(
        "round %d, %s: %zu decisions (each sweeping 2 copies) by 2 threads through %zu "
        "workflow(s): %.0f a second, p50 %.1f ms, p99 %.1f ms, %d failed\n",
        round, shared ? "shared (advisory locks)" : "lease (one workflow, no store locks)",
        ids.size(), wfs.size(), static_cast<double>(ids.size()) / took, Percentile(all, 0.50),
        Percentile(all, 0.99), failed.load());
    if (failed.load() > 0) return 1;
  }
  return 0;
}

const Register kWorkflows("workflows",
                          "decisions a second through one workflow (lease) and two sharing the "
                          "store (shared, with PostgreSQL advisory locks) "
                          "(--store-url URL [--requests R]; scripts/bench-replicas.sh "
                          "WORKFLOWS=R)",
                          RunWorkflows);

// shards: issue 21's sweep over a content index split between processes. `shards-seed` records
// N content items (random PDQs) and, for each of R reported pictures, 4 copies a few bits off;
// `shards` then sweeps for the R reported pictures from a process holding no shard (the other
// processes: `takedown serve --store.role gate --content.shards S --content.hold i`, started by
// scripts/bench-shards.sh) and from one holding the whole index, and prints p50/p99 of each and
// whether every copy was found. Ids and hashes come from --seed, the same for both commands.
struct ShardArgs {
  std::string url;
  size_t content = 1'000'000, reported = 50;
  int shards = 4;
  uint64_t seed = 2026;
};

ShardArgs ParseShardArgs(const Options& o) {
  ShardArgs a;
  for (size_t i = 0; i + 1 < o.rest.size(); ++i) {
    const std::string& k = o.rest[i];
    const std::string& v = o.rest[i + 1];
    if (k == "--store-url") a.url = v;
    if (k == "--content") a.content = std::stoull(v);
    if (k == "--reported") a.reported = std::stoull(v);
    if (k == "--shards") a.shards = std::stoi(v);
    if (k == "--seed") a.seed = std::stoull(v);
  }
  return a;
}

// The reported pictures, and one copy of each (bits flipped: 4 + copy number).
std::vector<hash::Hash256> Reported(const ShardArgs& a) {
  std::mt19937_64 rng(a.seed);
  std::vector<hash::Hash256> out;
  for (size_t i = 0; i < a.reported; ++i) out.push_back(RandomPdq(rng));
  return out;
}
hash::Hash256 CopyOf(hash::Hash256 h, int copy) {
  for (int b = 0; b < 4 + copy; ++b) h.words[b % 4] ^= uint64_t{1} << (7 * b + copy);
  return h;
}

int RunShardSeed(const Options& o) {
  const ShardArgs a = ParseShardArgs(o);
  if (a.url.empty()) {
    std::fprintf(stderr, "shards-seed: --store-url POSTGRES is needed\n");
    return 2;
  }
  auto st = store::OpenPostgresStore(a.url);
  if (!st.ok()) {
    std::fprintf(stderr, "shards-seed: %s\n", st.status().ToString().c_str());
    return 1;
  }
  store::Store& s = **st;
  auto counted = s.CountContent();
  const int64_t have = counted.ok() ? *counted : 0;
  std::mt19937_64 rng(a.seed + 1);
  const auto t0 = Clock::now();
  std::vector<store::ContentRecord> batch;
  auto flush = [&]() -> bool {
    if (batch.empty()) return true;
    auto ids = s.RecordContentBatch(batch);
    batch.clear();
    if (!ids.ok()) std::fprintf(stderr, "shards-seed: %s\n", ids.status().ToString().c_str());
    return ids.ok();
  };
  auto add = [&](const std::string& id, const hash::Hash256& h) -> bool {
    store::ContentRecord c;
    c.content_id = id;
    c.chat_id = "bench";
    c.uploader_id = "bench";
    c.pdq = h.ToHex();
    c.quality = 100;
    batch.push_back(std::move(c));
    return batch.size() < 5000 || flush();
  };
  const auto reported = Reported(a);
  for (size_t r = 0; r < reported.size(); ++r) {
    for (int k = 0; k < 4; ++k) {
      if (!add(fmt::format("shard-bench-copy-{}-{}", r, k), CopyOf(reported[r], k))) return 1;
    }
  }
  size_t n = 0;
  for (int64_t i = have; i < static_cast<int64_t>(a.content); ++i, ++n) {
    if (!add(fmt::format("shard-bench-{}", i), RandomPdq(rng))) return 1;
    if (n % 500'000 == 499'999) {
      std::printf("  %zu recorded (%.0f/s)\n", n + 1,
                  static_cast<double>(n + 1) / Seconds(t0, Clock::now()));
      std::fflush(stdout);
    }
  }
  if (!flush()) return 1;
  std::printf(
      "seeded %zu content items in %.1f s (%.0f/s); %zu reported pictures with 4 copies "
      "each; the store holds %lld\n",
      n, Seconds(t0, Clock::now()), static_cast<double>(n) / Seconds(t0, Clock::now()),
      reported.size(), [&] {
        auto n = s.CountContent();
        return static_cast<long long>(n.ok() ? *n : -1);
      }());
  return 0;
}

int RunShards(const Options& o) {
  const ShardArgs a = ParseShardArgs(o);
  if (a.url.empty() || a.shards < 2) {
    std::fprintf(stderr, "shards: --store-url POSTGRES and --shards >= 2 are needed\n");
    return 2;
  }
  const auto reported = Reported(a);
  auto sweep_all = [&](const std::function<Result<std::vector<service::Service::ContentHit>>(
                           const service::Signals&)>& match,
                       const char* what) -> int {
    std::vector<double> ms;
    size_t found = 0, expected = 0;
    for (const auto& h : reported) {
      service::Signals sig;
      sig.pdq = h;
      sig.quality = 100;
      const auto t0 = Clock::now();
      auto hits = match(sig);
      ms.push_back(Seconds(t0, Clock::now()) * 1000);
      if (!hits.ok()) {
        std::fprintf(stderr, "shards: %s: %s\n", what, hits.status().ToString().c_str());
        return 1;
      }
      found += std::min<size_t>(hits->size(), 4);
      expected += 4;
    }
    std::printf("%-44s p50 %7.1f ms  p99 %7.1f ms  max %7.1f ms  copies found %zu/%zu\n", what,
                Percentile(ms, 0.5), Percentile(ms, 0.99), Percentile(ms, 1.0), found, expected);
    return found == expected ? 0 : 1;
  };
  int failed = 0;
  {
    auto st = store::OpenPostgresStore(a.url);
    if (!st.ok()) return 1;
    auto none = service::ParseShardSet(a.shards, "none", "hold");
    auto svc = service::Service::Create(st->get(), nullptr, *none);
    if (!svc.ok()) {
      std::fprintf(stderr, "shards: %s\n", svc.status().ToString().c_str());
      return 1;
    }
    service::ContentShards asker(svc->get(), st->get(), nullptr, {});
    // Woken by the holders' answers, as `takedown serve` is.
    auto notices = service::ContentShards::OpenNotices(a.url);
    if (!notices.ok()) {
      std::fprintf(stderr, "shards: %s\n", notices.status().ToString().c_str());
      return 1;
    }
    asker.SetNotices(std::move(*notices));
    asker.Start();
    auto cov = asker.Check();
    if (!cov.ok() || !cov->unheld.empty()) {
      std::fprintf(stderr, "shards: shards %s have no live holder: start them first\n",
                   cov.ok() ? service::ShardList(cov->unheld).c_str() : "?");
      return 1;
    }
    std::printf("asking %d shards held by %d processes\n", a.shards, cov->holders);
    failed |= sweep_all([&](const service::Signals& s) { return asker.Match(s, 31, 50); },
                        fmt::format("sweep over {} shards (asked from outside)", a.shards).c_str());
  }
  {
    auto st = store::OpenPostgresStore(a.url);
    if (!st.ok()) return 1;
    const long rss0 = SelfRssMiB();
    const auto t0 = Clock::now();
    auto svc = service::Service::Create(st->get());
    if (!svc.ok()) return 1;
    std::printf("one process holding the whole index: %llu items loaded in %.1f s, +%ld MiB\n",
                static_cast<unsigned long long>((*svc)->Stats().content_items),
                Seconds(t0, Clock::now()), SelfRssMiB() - rss0);
    failed |= sweep_all(
        [&](const service::Signals& s) -> Result<std::vector<service::Service::ContentHit>> {
          return (*svc)->MatchContent(s, 31, 50);
        },
        "sweep over the whole index in one process");
  }
  return failed;
}

const Register kShardSeed("shards-seed",
                          "records content for the shards benchmark (--store-url URL --content N "
                          "--reported R; scripts/bench-shards.sh)",
                          RunShardSeed);
const Register kShards("shards",
                       "sweeps over a content index split between processes against one process "
                       "holding it all (--store-url URL --shards S --reported R; "
                       "scripts/bench-shards.sh)",
                       RunShards);

}  // namespace
}  // namespace takedown::bench
