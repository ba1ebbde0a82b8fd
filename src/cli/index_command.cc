// `takedown index build|query`: build a saved hash index from a hash list, and query one.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "hash/hash_list.h"
#include "index/hash_index.h"

namespace takedown::cli {
namespace {

using Clock = std::chrono::steady_clock;
double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

Status ReadList(const std::string& path, std::vector<hash::Hash256>* hashes,
                std::vector<uint64_t>* ids) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (path != "-") {
    file.open(path);
    if (!file) return NotFound(fmt::format("cannot read {}", path));
    in = &file;
  }
  Status st = hash::ReadHashList(*in, [&](const hash::HashListEntry& e) {
    hashes->push_back(e.hash);
    ids->push_back(e.line);
    return Status::Ok();
  });
  return st.WithContext(path);
}

int RunBuild(const std::string& list, const std::string& out) {
  const auto t0 = Clock::now();
  std::vector<hash::Hash256> hashes;
  std::vector<uint64_t> ids;
  if (Status st = ReadList(list, &hashes, &ids); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  const auto t1 = Clock::now();
  index::HashIndex::Options opts;
  opts.background = false;
  auto idx = index::HashIndex::Build(hashes, ids, opts);
  if (!idx.ok()) {
    spdlog::error("{}: {}", list, idx.status().message());
    return 1;
  }
  const auto t2 = Clock::now();
  if (Status st = (*idx)->Save(out); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  const auto t3 = Clock::now();
  const auto stats = (*idx)->Stats();
  std::fprintf(
      stderr,
      "built %s: %zu hashes; read %.0f ms, index %.0f ms, save %.0f ms; in memory %.1f B/hash\n",
      out.c_str(), hashes.size(), Ms(t0, t1), Ms(t1, t2), Ms(t2, t3),
      hashes.empty()
          ? 0.0
          : static_cast<double>(stats.memory_bytes) / static_cast<double>(hashes.size()));
  return 0;
}

int RunQuery(const std::string& index_path, const std::string& queries_path, int radius, int jobs,
             const std::string& strategy) {
  const auto t0 = Clock::now();
  index::HashIndex::Options opts;
  opts.background = false;
  auto idx = index::HashIndex::Open(index_path, opts);
  if (!idx.ok()) {
    spdlog::error("{}", idx.status().message());
    return 1;
  }
  const auto t1 = Clock::now();
  std::vector<hash::Hash256> qs;
  std::vector<uint64_t> lines;
  if (Status st = ReadList(queries_path, &qs, &lines); !st.ok()) {
    spdlog::error("{}", st.message());
    return 1;
  }
  const auto s = strategy == "scan"    ? index::QueryStrategy::kScan
                 : strategy == "index" ? index::QueryStrategy::kIndex
                                       : index::QueryStrategy::kAuto;
  const auto t2 = Clock::now();
  const auto results = (*idx)->QueryBatch(qs, radius, jobs, s);
  const auto t3 = Clock::now();
  size_t matches = 0;
  std::string out;
  for (size_t i = 0; i < results.size(); ++i) {
    for (const auto& m : results[i]) {
      out += fmt::format("{},{},{}\n", lines[i], m.id, m.distance);
      ++matches;
    }
    if (out.size() > (1 << 16)) {
      std::fwrite(out.data(), 1, out.size(), stdout);
      out.clear();
    }
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  std::fflush(stdout);
  const auto stats = (*idx)->Stats();
  std::fprintf(
      stderr,
      "loaded %s: %lu entries in %.1f ms (%s kernels)\n"
      "queried %zu hashes at radius %d in %.1f ms (%.1f us/query, %d threads): %zu matches\n",
      index_path.c_str(), static_cast<unsigned long>(stats.entries), Ms(t0, t1),
      stats.kernels.c_str(), qs.size(), radius, Ms(t2, t3),
      qs.empty() ? 0.0 : 1000.0 * Ms(t2, t3) / static_cast<double>(qs.size()), jobs, matches);
  return 0;
}

}  // namespace

void RegisterIndexCommand(CLI::App& app, int& exit_code) {
  CLI::App* cmd = app.add_subcommand("index", "Build and query saved hash indexes");
  cmd->require_subcommand(1);

  struct BuildArgs {
    std::string list, out;
  };
  auto b = std::make_shared<BuildArgs>();
  CLI::App* build = cmd->add_subcommand("build", "Build an index file from a hash list");
  build
      ->add_option("HASHFILE", b->list,
                   "One 64-digit hex hash per line (id = line number from 0), the CSV or the jsonl "
                   "output of `takedown hash`; - for stdin")
      ->required();
  build->add_option("-o,--output", b->out, "Index file to write")->required();
  build->callback([b, &exit_code] { exit_code = RunBuild(b->list, b->out); });

  struct QueryArgs {
    std::string index, queries, strategy = "auto";
    int radius = 31;
    int jobs = 1;
  };
  auto q = std::make_shared<QueryArgs>();
  CLI::App* query =
      cmd->add_subcommand("query", "Find every indexed hash within a radius of each query");
  query->add_option("INDEXFILE", q->index, "Index file from `takedown index build`")->required();
  query->add_option("QUERYFILE", q->queries, "Hash list (same formats as build); - for stdin")
      ->required();
  query->add_option("-r,--radius", q->radius, "Largest Hamming distance that matches")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  query->add_option("-j,--jobs", q->jobs, "Query threads")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  query
      ->add_option("--strategy", q->strategy,
                   "auto, index (multi-index hashing) or scan (batched scan)")
      ->check(CLI::IsMember({"auto", "index", "scan"}))
      ->capture_default_str();
  query->footer(
      "Prints query_line,id,distance for every match (query_line counts from 0), sorted by query,\n"
      "then distance, then id. Load and query times go to stderr.");
  query->callback([q, &exit_code] {
    exit_code = RunQuery(q->index, q->queries, q->radius, q->jobs, q->strategy);
  });
}

}  // namespace takedown::cli
