// `takedown hash`: PDQ and digests of images, vPDQ of videos, in input order, in parallel.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "cli/ordered_pool.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "core/file.h"
#include "hash/image_signals.h"
#include "hash/vpdq.h"
#include "match/signals.h"
#include "match/video_match.h"
#include "media/video.h"
#include "sandbox/sandbox.h"
#include "takedown/service.h"

namespace takedown::cli {
namespace {

struct HashArgs {
  bool reference = false;
  bool dihedral = false;
  bool bank = false;
  double seconds_per_hash = 1.0;
  int frame_size = 0;
  std::string video_mode = "conformant";
  std::string format = "csv";
  int jobs = 1;
  std::string files_from;
  bool recursive = false;
  bool progress = false;
  uint64_t max_pixels = media::DecodeLimits{}.max_pixels;
  uint64_t max_file_mb = media::DecodeLimits{}.max_file_bytes >> 20;
  bool sandbox = false;
  std::vector<std::string> files;
};

// What a sandboxed worker needs of the arguments to hash one file as RunHash would.
nlohmann::json SandboxOptions(const HashArgs& a) {
  return {{"command", "hash"},
          {"reference", a.reference},
          {"dihedral", a.dihedral},
          {"bank", a.bank},
          {"seconds_per_hash", a.seconds_per_hash},
          {"frame_size", a.frame_size},
          {"video_mode", a.video_mode},
          {"format", a.format},
          {"max_pixels", a.max_pixels},
          {"max_file_mb", a.max_file_mb}};
}

struct HashOutcome {
  std::string path;
  Result<match::FileSignals> signals = Status(StatusCode::kInternal, "not run");
  std::optional<hash::VideoSignals> video;     // set instead of signals' content for videos
  std::optional<match::VideoItem> bank_video;  // --bank jsonl: the frames' robust signals too
  std::optional<std::string> sandboxed_line;   // --sandbox: the line the worker made
};

// bank: with --bank, the frames' robust signals as the service stores a bank video's ("video":
// every frame up to 30 a second, with its norm, mirror, centre crops and box), which
// `takedown match --bank FILE` and a bank's import match as they match media.
std::string VideoJsonLine(const std::string& path, const hash::VideoSignals& v, bool fast,
                          const match::VideoItem* bank = nullptr) {
  nlohmann::ordered_json j;
  j["file"] = path;
  j["type"] = "video";
  j["md5"] = v.md5;
  j["sha256"] = v.sha256;
  j["container"] = v.info.container;
  j["codec"] = v.info.codec;
  j["width"] = v.info.width;
  j["height"] = v.info.height;
  j["rotation"] = v.info.rotation;
  j["fps"] = v.info.fps;
  j["duration"] = v.info.duration_s;
  j["frame_count"] = v.report.frames;
  j["frame_mod"] = v.frame_mod;
  j["mode"] = fast ? "fast" : "conformant";
  nlohmann::ordered_json frames = nlohmann::ordered_json::array();
  for (const auto& f : v.frames)
    frames.push_back(hash::VpdqListFrame(f.hash, f.quality, f.seconds));
  j["vpdq"] = std::move(frames);
  if (bank) j["video"] = service::VideoToJson(*bank);
  if (!v.report.warnings.empty()) j["warnings"] = v.report.warnings;
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

// A bank video's robust signals, decoded within the same limits and threads as its vPDQ.
match::VideoHashOptions BankVideoOptions(const hash::VpdqOptions& vo) {
  match::VideoHashOptions bo;
  bo.bank = true;
  bo.video.limits = vo.video.limits;
  bo.video.threads = vo.video.threads;
  return bo;
}

// One per worker: plain hashing for csv, plain plus robust signals for jsonl.
struct Worker {
  hash::ImageHasher plain;
  match::SignalHasher robust;
};

// What the arguments ask of image and video hashing (here, and in a sandboxed worker alike).
hash::ImageHashOptions ImageOptionsOf(const HashArgs& args) {
  hash::ImageHashOptions options;
  options.mode = args.reference ? hash::HashMode::kReference : hash::HashMode::kFast;
  options.dihedral = args.dihedral || args.bank;
  options.limits.max_pixels = args.max_pixels;
  options.limits.max_file_bytes = args.max_file_mb << 20;
  return options;
}
hash::VpdqOptions VpdqOptionsOf(const HashArgs& args, const media::DecodeLimits& limits) {
  hash::VpdqOptions vo;
  vo.seconds_per_hash = args.seconds_per_hash;
  vo.frame_size = args.frame_size;
  vo.fast = args.video_mode == "fast";
  vo.video.limits = limits;
  return vo;
}

int RunHash(const HashArgs& args) {
  const hash::ImageHashOptions options = ImageOptionsOf(args);
  const bool robust = args.format == "jsonl";

  InputList inputs(args.files, args.files_from, args.recursive);
  std::vector<Worker> workers(static_cast<size_t>(args.jobs));
  size_t done = 0, failed = 0;
  Progress meter(
      "hash",
      args.progress ? CountInputs(args.files, args.files_from, args.recursive) : std::nullopt,
      args.progress);

  std::function<std::optional<InputItem>()> next = [&] { return inputs.Next(); };
  std::unique_ptr<sandbox::Pool> pool;
  if (args.sandbox) {
    sandbox::Options so;
    so.workers = args.jobs;
    so.memory_bytes = std::max<uint64_t>(so.memory_bytes, args.max_file_mb << 20);
    auto started = sandbox::Pool::Start(so);
    if (!started.ok()) {
      spdlog::error("{}", started.status().message());
      return 2;
    }
    pool = std::move(*started);
  }
  const nlohmann::json sandbox_options = SandboxOptions(args);
  std::function<HashOutcome(const InputItem&, int)> work = [&](const InputItem& item, int worker) {
    HashOutcome out{item.path};
    Worker& w = workers[static_cast<size_t>(worker)];
    if (pool != nullptr && item.error.empty()) {
      // This process only reads the file; a sandboxed worker decodes and hashes it.
      auto bytes = ReadFileLimited(item.path, options.limits.max_file_bytes);
      if (!bytes.ok()) {
        out.signals = bytes.status();
        return out;
      }
      nlohmann::json job = sandbox_options;
      job["file"] = item.path;  // named in the line the worker writes
      auto answer = pool->RunCli(job, *bytes);
      if (!answer.ok()) {
        out.signals = answer.status();
        return out;
      }
      const auto j = nlohmann::json::parse(*answer, nullptr, false);
      if (!j.is_object() || !j.contains("line") || !j["line"].is_string()) {
        out.signals = DataLoss("the sandboxed worker's answer is not what was asked");
        return out;
      }
      out.signals = match::FileSignals{};
      out.sandboxed_line = j["line"].get<std::string>();
      if (j.contains("warnings") && j["warnings"].is_array()) {
        for (const auto& x : j["warnings"])
          if (x.is_string()) out.signals->plain.warnings.push_back(x.get<std::string>());
      }
      return out;
    }
    const bool as_video = args.format == "vpdq" || (robust && media::LooksLikeVideo(item.path));
    if (!item.error.empty()) {
      out.signals = InvalidArgument(item.error);
    } else if (as_video) {
      hash::VpdqOptions vo = VpdqOptionsOf(args, options.limits);
      auto v = hash::HashVideoFile(item.path, vo);
      if (v.ok()) {
        out.video = std::move(v).value();
        out.signals = match::FileSignals{};
      } else {
        out.signals = v.status();
      }
      if (v.ok() && robust && args.bank) {
        auto b = match::HashVideoForMatching(item.path, BankVideoOptions(vo));
        if (b.ok())
          out.bank_video = std::move(b).value();
        else
          out.signals = b.status();
      }
    } else if (robust) {
      out.signals =
          w.robust.HashFile(item.path, args.bank, options.limits, options.mode, options.dihedral);
    } else {
      auto plain = w.plain.HashFile(item.path, options);
      if (plain.ok())
        out.signals = match::FileSignals{std::move(plain).value(), {}, {}};
      else
        out.signals = plain.status();
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
      if (reason.find("not a still image") != std::string::npos) {
        reason += ": use --format vpdq or jsonl for videos";
      }
      spdlog::error("{}: {}", r.path, reason);
    } else {
      std::string line;
      if (r.sandboxed_line) {
        for (const auto& w : r.signals->plain.warnings) spdlog::warn("{}: {}", r.path, w);
        line = *r.sandboxed_line;
      } else if (r.video) {
        for (const auto& w : r.video->report.warnings) spdlog::warn("{}: {}", r.path, w);
        line = args.format == "vpdq" ? hash::VpdqText(*r.video)
                                     : VideoJsonLine(r.path, *r.video, args.video_mode == "fast",
                                                     r.bank_video ? &*r.bank_video : nullptr);
      } else {
        for (const auto& w : r.signals->plain.warnings) spdlog::warn("{}: {}", r.path, w);
        line = robust ? SignalsJsonLine(r.path, *r.signals)
                      : SignalsCsvLine(r.path, r.signals->plain, args.dihedral);
      }
      std::fwrite(line.data(), 1, line.size(), stdout);
    }
    meter.Tick(!r.signals.ok());
  };
  OrderedParallelMap<InputItem, HashOutcome>(args.jobs, static_cast<size_t>(args.jobs) * 8 + 8,
                                             next, work, emit);
  std::fflush(stdout);
  meter.Done();
  if (done == 0) {
    spdlog::error("no input files (give FILE arguments, -r DIR or --files-from)");
    return 2;
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

// In a sandboxed worker: one file of `takedown hash --sandbox`, from its bytes, as RunHash would
// hash it from its path. Answer: {"line": the output line, "warnings": [...]}.
sandbox::Answer HashJobInSandbox(const nlohmann::json& o, std::span<const uint8_t> file) {
  HashArgs args;
  std::string path;
  try {
    args.reference = o.at("reference").get<bool>();
    args.dihedral = o.at("dihedral").get<bool>();
    args.bank = o.at("bank").get<bool>();
    args.seconds_per_hash = o.at("seconds_per_hash").get<double>();
    args.frame_size = o.at("frame_size").get<int>();
    args.video_mode = o.at("video_mode").get<std::string>();
    args.format = o.at("format").get<std::string>();
    args.max_pixels = o.at("max_pixels").get<uint64_t>();
    args.max_file_mb = o.at("max_file_mb").get<uint64_t>();
    path = o.at("file").get<std::string>();
  } catch (const nlohmann::json::exception& e) {
    return {StatusCode::kInvalidArgument, fmt::format("hash job options: {}", e.what())};
  }
  const hash::ImageHashOptions options = ImageOptionsOf(args);
  const bool robust = args.format == "jsonl";
  nlohmann::json out;
  std::vector<std::string> warnings;
  auto error = [](const Status& s) { return sandbox::Answer{s.code(), s.message()}; };
  if (args.format == "vpdq" || (robust && media::LooksLikeVideoBytes(file))) {
    hash::VpdqOptions vo = VpdqOptionsOf(args, options.limits);
    vo.video.threads = 1;  // a worker starts no threads
    auto v = hash::HashVideoBytes(file, vo);
    if (!v.ok()) return error(v.status());
    warnings = v->report.warnings;
    std::optional<match::VideoItem> bank;
    if (robust && args.bank) {
      auto b = match::HashVideoBytesForMatching(file, BankVideoOptions(vo));
      if (!b.ok()) return error(b.status());
      bank = std::move(b).value();
    }
    out["line"] = args.format == "vpdq"
                      ? hash::VpdqText(*v)
                      : VideoJsonLine(path, *v, args.video_mode == "fast", bank ? &*bank : nullptr);
  } else if (robust) {
    match::SignalHasher hasher;
    auto f =
        hasher.HashBytes(file, args.bank, options.limits, nullptr, options.mode, options.dihedral);
    if (!f.ok()) return error(f.status());
    warnings = f->plain.warnings;
    out["line"] = SignalsJsonLine(path, *f);
  } else {
    hash::ImageHasher hasher;
    auto plain = hasher.HashBytes(file, options);
    if (!plain.ok()) return error(plain.status());
    warnings = plain->warnings;
    out["line"] = SignalsCsvLine(path, *plain, args.dihedral);
  }
  out["warnings"] = warnings;
  return {StatusCode::kOk, out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

void RegisterHashCommand(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<HashArgs>();
  CLI::App* cmd = app.add_subcommand(
      "hash", "Compute PDQ (images), vPDQ (videos), MD5 and SHA-256 of media files");
  cmd->add_flag("--reference", args->reference,
                "Reference mode: full decode and the reference CLI's 512x512 resize "
                "(bit-identical to the PDQ reference)");
  cmd->add_flag("--dihedral", args->dihedral, "Also compute the 8 dihedral variants");
  cmd->add_flag("--bank", args->bank,
                "jsonl: also the bank-side variants (dihedral, crops, box edges moved, rotations) "
                "that `takedown "
                "match --bank FILE` matches uploads against");
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"csv", "jsonl", "vpdq"}))
      ->capture_default_str();
  cmd->add_option("-j,--jobs", args->jobs, "Files hashed in parallel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--files-from", args->files_from,
                  "Read paths, one per line, from FILE or - (stdin)");
  cmd->add_flag("-r,--recursive", args->recursive, "Hash the files under directory arguments");
  cmd->add_option("--seconds-per-hash", args->seconds_per_hash,
                  "Videos: hash one frame every S seconds of frames (0: every frame)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_option("--frame-size", args->frame_size,
                  "Videos: scale frames to NxN before hashing (0: native)")
      ->check(CLI::Range(0, 8192))
      ->capture_default_str();
  cmd->add_option("--video-mode", args->video_mode,
                  "Videos: conformant (vPDQ reference: RGB24 by area filter) or fast (luma plane)")
      ->check(CLI::IsMember({"conformant", "fast"}))
      ->capture_default_str();
  cmd->add_flag("--progress", args->progress, "Report progress on stderr every 2 s");
  cmd->add_option("--max-pixels", args->max_pixels, "Refuse images with more pixels")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--max-file-mb", args->max_file_mb, "Refuse files larger than this (MiB)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_flag("--sandbox", args->sandbox,
                "Decode and hash each file in a sandboxed worker process (seccomp, limits; as "
                "takedown serve does): for files from untrusted sources");
  cmd->add_option("files", args->files, "Image and video files (or directories with -r)");
  cmd->footer(
      "Output (csv): pdqhex,quality,filename -- the reference CLI's format; with --dihedral its\n"
      "--pdqdih-across layout (8 hashes, quality, filename). jsonl: one object per file with "
      "every\n"
      "signal. Output order is input order. A file that fails gets an error line on stderr, the\n"
      "others go on, and the exit status is 1.");
  cmd->callback([args, &exit_code] { exit_code = RunHash(*args); });
}

}  // namespace takedown::cli
