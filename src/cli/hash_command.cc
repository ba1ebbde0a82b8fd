// `takedown hash`: PDQ (and digests) for image files, in input order, in parallel.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "cli/ordered_pool.h"
#include "cli/output.h"
#include "hash/image_signals.h"
#include "match/signals.h"

namespace takedown::cli {
namespace {

struct HashArgs {
  bool reference = false;
  bool dihedral = false;
  bool bank = false;
  std::string format = "csv";
  int jobs = 1;
  std::string files_from;
  bool recursive = false;
  bool progress = false;
  uint64_t max_pixels = media::DecodeLimits{}.max_pixels;
  uint64_t max_file_mb = media::DecodeLimits{}.max_file_bytes >> 20;
  std::vector<std::string> files;
};

struct HashOutcome {
  std::string path;
  Result<match::FileSignals> signals = Status(StatusCode::kInternal, "not run");
};

// One per worker: plain hashing for csv, plain plus robust signals for jsonl.
struct Worker {
  hash::ImageHasher plain;
  match::SignalHasher robust;
};

int RunHash(const HashArgs& args) {
  hash::ImageHashOptions options;
  options.mode = args.reference ? hash::HashMode::kReference : hash::HashMode::kFast;
  options.dihedral = args.dihedral || args.bank;
  const bool robust = args.format == "jsonl";
  options.limits.max_pixels = args.max_pixels;
  options.limits.max_file_bytes = args.max_file_mb << 20;

  InputList inputs(args.files, args.files_from, args.recursive);
  std::vector<Worker> workers(static_cast<size_t>(args.jobs));
  size_t done = 0, failed = 0;
  const auto start = std::chrono::steady_clock::now();
  auto last_progress = start;

  std::function<std::optional<InputItem>()> next = [&] { return inputs.Next(); };
  std::function<HashOutcome(const InputItem&, int)> work = [&](const InputItem& item, int worker) {
    HashOutcome out{item.path};
    Worker& w = workers[static_cast<size_t>(worker)];
    if (!item.error.empty()) {
      out.signals = InvalidArgument(item.error);
    } else if (robust) {
      out.signals = w.robust.HashFile(item.path, args.bank, options.limits, options.mode, options.dihedral);
    } else {
      auto plain = w.plain.HashFile(item.path, options);
      if (plain.ok()) out.signals = match::FileSignals{std::move(plain).value(), {}, {}};
      else out.signals = plain.status();
    }
    return out;
  };
  std::function<void(HashOutcome&)> emit = [&](HashOutcome& r) {
    ++done;
    if (!r.signals.ok()) {
      ++failed;
      std::string reason = r.signals.status().message();
      if (reason == "is a directory" && !args.recursive)
        reason += " (use -r to hash the files in it)";
      spdlog::error("{}: {}", r.path, reason);
    } else {
      for (const auto& w : r.signals->plain.warnings) spdlog::warn("{}: {}", r.path, w);
      std::string line = robust ? SignalsJsonLine(r.path, *r.signals)
                                : SignalsCsvLine(r.path, r.signals->plain, args.dihedral);
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    if (args.progress) {
      const auto now = std::chrono::steady_clock::now();
      if (now - last_progress > std::chrono::seconds(2)) {
        last_progress = now;
        const double s = std::chrono::duration<double>(now - start).count();
        spdlog::info("progress: {} files ({} failed), {:.1f} files/s", done, failed, done / s);
      }
    }
  };
  OrderedParallelMap<InputItem, HashOutcome>(args.jobs, static_cast<size_t>(args.jobs) * 8 + 8,
                                             next, work, emit);
  std::fflush(stdout);
  if (args.progress) {
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::info("done: {} files ({} failed) in {:.2f} s", done, failed, s);
  }
  if (done == 0) {
    spdlog::error("no input files (give FILE arguments, -r DIR or --files-from)");
    return 2;
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

void RegisterHashCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<HashArgs>();
  CLI::App* cmd = app.add_subcommand("hash", "Compute PDQ, MD5 and SHA-256 of image files");
  cmd->add_flag("--reference", args->reference,
                "Reference mode: full decode and the reference CLI's 512x512 resize "
                "(bit-identical to the PDQ reference)");
  cmd->add_flag("--dihedral", args->dihedral, "Also compute the 8 dihedral variants");
  cmd->add_flag("--bank", args->bank,
                "jsonl: also the bank-side variants (dihedral, crops, rotations) that `takedown "
                "match --bank FILE` matches uploads against");
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Files hashed in parallel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--files-from", args->files_from,
                  "Read paths, one per line, from FILE or - (stdin)");
  cmd->add_flag("-r,--recursive", args->recursive, "Hash the files under directory arguments");
  cmd->add_flag("--progress", args->progress, "Report progress on stderr every 2 s");
  cmd->add_option("--max-pixels", args->max_pixels, "Refuse images with more pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-file-mb", args->max_file_mb, "Refuse files larger than this (MiB)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("files", args->files, "Image files (or directories with -r)");
  cmd->footer(
      "Output (csv): pdqhex,quality,filename -- the reference CLI's format; with --dihedral its\n"
      "--pdqdih-across layout (8 hashes, quality, filename). jsonl: one object per file with "
      "every\n"
      "signal. Output order is input order. A file that fails gets an error line on stderr, the\n"
      "others go on, and the exit status is 1.");
  cmd->callback([args, &exit_code] { exit_code = RunHash(*args); });
}

}  // namespace takedown::cli
