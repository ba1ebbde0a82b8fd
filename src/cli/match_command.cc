// `takedown match --bank FILE_OR_DIR QUERY...`: which bank items each query is a copy of, by
// which signal, at what distance.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/inputs.h"
#include "cli/ordered_pool.h"
#include "cli/output.h"
#include "cli/progress.h"
#include "core/file.h"
#include "core/numbers.h"
#include "hash/digest.h"
#include "hash/hash_list.h"
#include "hash/vpdq.h"
#include "match/matcher.h"
#include "match/signals_json.h"
#include "match/video_match.h"
#include "media/preview.h"
#include "media/video.h"
#include "revision.h"
#include "takedown/service.h"

namespace takedown::cli {
namespace {

namespace fs = std::filesystem;

std::string DefaultCacheDir();

struct MatchArgs {
  std::string bank;
  std::string format = "csv";
  int jobs = 1;
  bool recursive = false;
  std::string files_from;
  std::vector<std::string> queries;
  match::MatchOptions options;
  match::VideoMatchOptions video;  // the rule `takedown serve` reads from [video]
  std::string cache_dir = DefaultCacheDir();
  bool no_cache = false;
  bool progress = false;
  bool sandbox = false;
};

// One file's matching signals: an image's, or a video's.
struct MediaSignals {
  std::optional<match::FileSignals> image;
  std::optional<match::VideoItem> video;
};

// Hashed here, or (pool) by a sandboxed worker: this process then only reads the file.
Result<MediaSignals> HashForMatching(sandbox::Pool* pool, match::SignalHasher& hasher,
                                     const std::string& path, bool bank) {
  MediaSignals out;
  if (pool == nullptr) {
    if (media::LooksLikeVideo(path)) {
      match::VideoHashOptions vo;
      vo.bank = bank;
      TD_ASSIGN_OR_RETURN(out.video, match::HashVideoForMatching(path, vo));
    } else {
      // A query's dihedral PDQs too: hash-only bank items are matched through them.
      TD_ASSIGN_OR_RETURN(out.image, hasher.HashFile(path, bank, {}, hash::HashMode::kFast, !bank));
    }
    return out;
  }
  TD_ASSIGN_OR_RETURN(auto bytes, ReadFileLimited(path, media::DecodeLimits{}.max_file_bytes));
  TD_ASSIGN_OR_RETURN(auto answer, pool->RunCli({{"command", "match"}, {"bank", bank}}, bytes));
  const auto j = nlohmann::json::parse(answer, nullptr, false);
  if (j.is_object() && j.contains("video")) {
    TD_ASSIGN_OR_RETURN(auto v, service::VideoFromJson(j["video"]));
    out.video = *v;
  } else if (j.is_object() && j.contains("signals")) {
    std::string name = path;
    TD_ASSIGN_OR_RETURN(out.image, match::SignalsFromJson(j["signals"], &name));
  } else {
    return DataLoss("the sandboxed worker's answer is not what was asked");
  }
  return out;
}

Result<std::unique_ptr<sandbox::Pool>> StartPool(bool on, int jobs) {
  if (!on) return std::unique_ptr<sandbox::Pool>();
  sandbox::Options so;
  so.workers = jobs;
  return sandbox::Pool::Start(so);
}

struct Bank {
  std::vector<std::string> names;  // image items
  match::Matcher matcher;
  std::vector<std::string> video_names;  // video items
  match::VideoMatcher videos;
  Bank(const match::MatchOptions& o, const match::VideoMatchOptions& v) : matcher(o), videos(v) {}
};

struct BankOutcome {
  std::string path;
  Result<match::FileSignals> signals = Status(StatusCode::kInternal, "not run");
  std::optional<match::VideoItem> video;
  struct {
    int64_t size = -1, mtime_ns = -1;
  } stamp;
  bool cached = false;
};

// The signals of a bank directory's files, kept between runs so that an unchanged bank is not
// hashed again: one jsonl file per directory in the cache directory, a header line naming the
// directory and the build, then one line per bank file {"path", "size", "mtime_ns", "signals" or
// "video"}. A file is hashed again when its size or modification time differs, and the whole
// cache when the build differs (another version may hash differently).
class BankCache {
 public:
  BankCache(const std::string& cache_dir, const std::string& bank_dir) {
    if (cache_dir.empty()) return;
    std::error_code ec;
    const std::string canonical = fs::weakly_canonical(bank_dir, ec).string();
    dir_ = canonical;
    file_ = (fs::path(cache_dir) /
             fmt::format("bank-{}.jsonl", hash::Sha256HexOfText(canonical).substr(0, 16)))
                .string();
    std::ifstream in(file_);
    std::string line;
    if (!in || !std::getline(in, line)) return;
    const auto head = nlohmann::json::parse(line, nullptr, false);
    if (!head.is_object() || head.value("dir", "") != dir_ || head.value("build", "") != Build())
      return;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_object() && j.contains("path") && j["path"].is_string()) {
        std::string path = j["path"].get<std::string>();  // before j is moved from
        entries_[path] = std::move(j);
      }
    }
  }
  bool on() const { return !file_.empty(); }
  const std::string& file() const { return file_; }

  // The cached line of a file whose size and time are unchanged, or null.
  const nlohmann::json* Find(const std::string& path, int64_t size, int64_t mtime_ns) const {
    auto it = entries_.find(path);
    if (it == entries_.end()) return nullptr;
    const auto& j = it->second;
    if (j.value("size", int64_t{-1}) != size || j.value("mtime_ns", int64_t{-1}) != mtime_ns)
      return nullptr;
    return &j;
  }
  void Keep(nlohmann::json line) { fresh_.push_back(std::move(line)); }

  // Writes what this run found (via a temporary file and a rename). A cache that cannot be
  // written is a warning: the match itself is not affected.
  void Save() const {
    if (!on()) return;
    std::error_code ec;
    fs::create_directories(fs::path(file_).parent_path(), ec);
    const std::string tmp = file_ + ".tmp";
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << nlohmann::json{{"takedown_bank_cache", 1}, {"dir", dir_}, {"build", Build()}}.dump()
          << "\n";
      for (const auto& j : fresh_)
        out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
      if (!out.flush()) {
        spdlog::warn("bank cache {}: cannot write it", tmp);
        fs::remove(tmp, ec);
        return;
      }
    }
    fs::rename(tmp, file_, ec);
    if (ec) spdlog::warn("bank cache {}: {}", file_, ec.message());
  }

 private:
  static std::string Build() { return std::string(TAKEDOWN_VERSION) + " " + TAKEDOWN_REVISION; }
  std::string dir_, file_;
  std::map<std::string, nlohmann::json> entries_;
  std::vector<nlohmann::json> fresh_;
};

// $XDG_CACHE_HOME/takedown, else ~/.cache/takedown; "" when neither is set.
std::string DefaultCacheDir() {
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x != nullptr && *x != '\0')
    return (fs::path(x) / "takedown").string();
  if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0')
    return (fs::path(h) / ".cache" / "takedown").string();
  return "";
}

decltype(BankOutcome::stamp) StampOf(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {static_cast<int64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

// A directory of media: every file hashed as a bank item (in parallel, sorted by path), or taken
// from the cache when it has not changed since.
Status LoadBankDir(const std::string& dir, int jobs, const std::string& cache_dir, bool progress,
                   sandbox::Pool* pool, Bank* bank) {
  BankCache cache(cache_dir, dir);
  InputList inputs({dir}, "", true);
  Progress meter("bank", CountInputs({dir}, "", true), progress);
  std::vector<match::SignalHasher> hashers(static_cast<size_t>(jobs));
  int failed = 0;
  size_t from_cache = 0;
  std::function<std::optional<InputItem>()> next = [&] { return inputs.Next(); };
  std::function<BankOutcome(const InputItem&, int)> work = [&](const InputItem& item, int w) {
    BankOutcome out{item.path};
    if (!item.error.empty()) {
      out.signals = InvalidArgument(item.error);
      return out;
    }
    out.stamp = StampOf(item.path);
    if (const nlohmann::json* hit =
            cache.on() ? cache.Find(item.path, out.stamp.size, out.stamp.mtime_ns) : nullptr) {
      if (hit->contains("video")) {
        auto v = service::VideoFromJson((*hit)["video"]);
        if (v.ok()) {
          out.video = **v;
          out.signals = match::FileSignals{};
          out.cached = true;
          return out;
        }
      } else if (hit->contains("signals")) {
        std::string name = item.path;
        auto f = match::SignalsFromJson((*hit)["signals"], &name);
        if (f.ok()) {
          out.signals = std::move(f);
          out.cached = true;
          return out;
        }
      }
    }
    auto hashed = HashForMatching(pool, hashers[static_cast<size_t>(w)], item.path, true);
    if (!hashed.ok()) {
      out.signals = hashed.status();
    } else if (hashed->video) {
      out.video = std::move(hashed->video);
      out.signals = match::FileSignals{};
    } else {
      out.signals = std::move(*hashed->image);
    }
    return out;
  };
  std::function<void(BankOutcome&)> emit = [&](BankOutcome& r) {
    meter.Tick(!r.signals.ok(), r.cached);
    if (!r.signals.ok()) {
      ++failed;
      spdlog::error("bank {}: {}", r.path, r.signals.status().message());
      return;
    }
    if (r.cached) ++from_cache;
    if (cache.on()) {
      nlohmann::json line = {
          {"path", r.path}, {"size", r.stamp.size}, {"mtime_ns", r.stamp.mtime_ns}};
      if (r.video)
        line["video"] = service::VideoToJson(*r.video);
      else
        line["signals"] = match::SignalsToJson(r.path, *r.signals);
      cache.Keep(std::move(line));
    }
    if (r.video) {
      bank->video_names.push_back(r.path);
      bank->videos.Add(*r.video);
      return;
    }
    bank->names.push_back(r.path);
    bank->matcher.Add(match::BankItemFrom(*r.signals));
  };
  OrderedParallelMap<InputItem, BankOutcome>(jobs, 64, next, work, emit);
  meter.Done();
  if (failed > 0) return InvalidArgument(fmt::format("{} bank files could not be hashed", failed));
  cache.Save();
  if (cache.on()) {
    spdlog::info("bank {}: {} files, {} from the cache ({}), {} hashed", dir,
                 bank->names.size() + bank->video_names.size(), from_cache, cache.file(),
                 bank->names.size() + bank->video_names.size() - from_cache);
  }
  return Status::Ok();
}

// A file of signals: jsonl from `takedown hash --format jsonl [--bank]`, plain PDQ hex lines
// (hash-only items, from an exchange), or one video's vPDQ text. Errors name the line.
Status LoadBankFile(const std::string& path, Bank* bank) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("cannot read {}", path));
  {
    // One video's vPDQ in the reference's text format (`takedown hash --format vpdq`, or the
    // vPDQ reference CLI): "frameNumber,quality,pdqhex,timestamp" lines.
    std::string first;
    while (std::getline(in, first) && (first.empty() || first == "\r")) {
    }
    const size_t comma = first.find(',');
    if (comma != std::string::npos && comma > 0 && comma < 20 &&
        std::all_of(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(comma),
                    [](char c) { return c >= '0' && c <= '9'; })) {
      std::ostringstream text;
      in.clear();
      in.seekg(0);
      text << in.rdbuf();
      auto frames = hash::ParseVpdqText(text.str());
      if (!frames.ok()) return frames.status().WithContext(path);
      if (frames->empty()) return InvalidArgument(fmt::format("{}: no vPDQ frames", path));
      bank->video_names.push_back(path);
      bank->videos.Add(match::VideoItemFromVpdq(*frames, 0, 0));
      return Status::Ok();
    }
    in.clear();
    in.seekg(0);
  }
  std::string line;
  std::vector<std::string> errors;
  for (uint64_t n = 1; std::getline(in, line); ++n) {
    if (line.empty() || line == "\r" || line[0] == '#') continue;
    std::string name = fmt::format("{}:{}", path, n);
    match::FileSignals f;
    if (line[0] == '{') {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) {
        errors.push_back(fmt::format("line {}: malformed JSON", n));
        continue;
      }
      if (service::IsVideoLine(j)) {
        auto v = service::VideoFromListLine(j);
        if (!v.ok()) {
          errors.push_back(fmt::format("line {}: {}", n, v.status().message()));
          continue;
        }
        const bool named = j.contains("file") && j["file"].is_string();
        bank->video_names.push_back(named ? j["file"].get<std::string>() : name);
        bank->videos.Add(**v);
        continue;
      }
      auto s = match::SignalsFromJson(j, &name);
      if (!s.ok()) {
        errors.push_back(fmt::format("line {}: {}", n, s.status().message()));
        continue;
      }
      f = std::move(s).value();
      if (!j.contains("signals") && !j.contains("variants")) {
        // Plain `takedown hash` output (or another tool's): PDQ without robust signals.
        match::BankItem item = match::HashOnlyBankItem(f.plain.pdq);
        if (f.plain.dihedral) {
          item.pdq_variants.clear();
          for (const auto& h : *f.plain.dihedral)
            item.pdq_variants.push_back({h, f.plain.pdq.quality});
        }
        item.sha256 = f.plain.sha256;
        bank->names.push_back(name);
        bank->matcher.Add(item);
        continue;
      }
    } else {
      auto h = hash::ParseHashLine(line);
      if (!h.ok()) {
        errors.push_back(fmt::format("line {}: {}", n, h.status().message()));
        continue;
      }
      bank->names.push_back(name);
      bank->matcher.Add(match::HashOnlyBankItem({*h, 100}));
      continue;
    }
    bank->names.push_back(name);
    bank->matcher.Add(match::BankItemFrom(f));
  }
  if (!errors.empty()) {
    std::string msg;
    for (size_t i = 0; i < std::min<size_t>(errors.size(), 10); ++i)
      msg += (i ? "; " : "") + errors[i];
    if (errors.size() > 10) msg += fmt::format("; and {} more bad lines", errors.size() - 10);
    return InvalidArgument(fmt::format("{}: {}", path, msg));
  }
  return Status::Ok();
}

struct QueryOutcome {
  std::string path;
  Result<std::vector<match::SignalMatch>> matches = Status(StatusCode::kInternal, "not run");
  std::vector<match::VideoMatch> video_matches;  // for a video query
};

int RunMatch(const MatchArgs& args) {
  Bank bank(args.options, args.video);
  auto pool = StartPool(args.sandbox, args.jobs);
  if (!pool.ok()) {
    spdlog::error("{}", pool.status().message());
    return 2;
  }
  std::error_code ec;
  const Status loaded = fs::is_directory(args.bank, ec)
                            ? LoadBankDir(args.bank, args.jobs, args.no_cache ? "" : args.cache_dir,
                                          args.progress, pool->get(), &bank)
                            : LoadBankFile(args.bank, &bank);
  if (!loaded.ok()) {
    spdlog::error("{}", loaded.message());
    return 1;
  }
  bank.matcher.Build();
  bank.videos.Build();
  spdlog::info("bank: {} images and {} videos from {}", bank.names.size(), bank.video_names.size(),
               args.bank);

  InputList inputs(args.queries, args.files_from, args.recursive);
  std::vector<match::SignalHasher> hashers(static_cast<size_t>(args.jobs));
  size_t queries = 0, failed = 0, rows = 0;
  Progress meter(
      "query",
      args.progress ? CountInputs(args.queries, args.files_from, args.recursive) : std::nullopt,
      args.progress);
  std::function<std::optional<InputItem>()> next = [&] { return inputs.Next(); };
  std::function<QueryOutcome(const InputItem&, int)> work = [&](const InputItem& item, int w) {
    QueryOutcome out{item.path};
    if (!item.error.empty()) {
      out.matches = InvalidArgument(item.error);
      return out;
    }
    auto hashed = HashForMatching(pool->get(), hashers[static_cast<size_t>(w)], item.path, false);
    if (!hashed.ok()) {
      out.matches = hashed.status();
    } else if (hashed->video) {
      out.matches = std::vector<match::SignalMatch>{};
      for (auto& m : bank.videos.Match(*hashed->video)) {
        if (m.match) out.video_matches.push_back(m);
      }
    } else {
      out.matches = bank.matcher.Match(match::QueryItemFrom(*hashed->image));
    }
    return out;
  };
  std::function<void(QueryOutcome&)> emit = [&](QueryOutcome& r) {
    ++queries;
    meter.Tick(!r.matches.ok());
    if (!r.matches.ok()) {
      ++failed;
      spdlog::error("{}: {}", r.path, r.matches.status().message());
      return;
    }
    std::string out;
    for (const auto& m : *r.matches) {
      ++rows;
      if (args.format == "jsonl") {
        nlohmann::ordered_json j{{"query", r.path},
                                 {"bank_item", bank.names[m.item]},
                                 {"signal", m.signal},
                                 {"distance", m.distance},
                                 {"variant", m.variant}};
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      } else {
        out += fmt::format("{},{},{},{}\n", CsvField(r.path), CsvField(bank.names[m.item]),
                           m.signal, m.distance);
      }
    }
    for (const auto& m : r.video_matches) {
      ++rows;
      if (args.format == "jsonl") {
        nlohmann::ordered_json j{{"query", r.path},
                                 {"bank_item", bank.video_names[m.item]},
                                 {"signal", "vpdq"},
                                 {"distance", m.best_distance},
                                 {"query_percent", m.query_percent},
                                 {"compared_percent", m.compared_percent},
                                 {"query_from", m.query_from},
                                 {"query_to", m.query_to},
                                 {"bank_from", m.bank_from},
                                 {"bank_to", m.bank_to}};
        if (m.clip_seconds > 0) {  // the clip rule's stretch
          j["clip_seconds"] = m.clip_seconds;
          j["clip_from"] = m.clip_from;
          j["clip_to"] = m.clip_to;
          j["clip_bank_from"] = m.clip_bank_from;
        }
        // A shared intro or outro set aside (it did not make this a match).
        if (m.edge_clip_seconds > 0) {
          j["edge_clip_seconds"] = m.edge_clip_seconds;
          j["edge_clip_from"] = m.edge_clip_from;
          j["edge_clip_to"] = m.edge_clip_to;
          j["edge_clip_bank_from"] = m.edge_clip_bank_from;
        }
        out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
      } else {
        out += fmt::format("{},{},vpdq,{}\n", CsvField(r.path), CsvField(bank.video_names[m.item]),
                           m.best_distance);
      }
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
  };
  OrderedParallelMap<InputItem, QueryOutcome>(args.jobs, static_cast<size_t>(args.jobs) * 8 + 8,
                                              next, work, emit);
  std::fflush(stdout);
  meter.Done();
  spdlog::info("{} queries, {} match rows, {} failed", queries, rows, failed);
  if (queries == 0) {
    spdlog::error("no query files (give QUERY arguments, -r DIR or --files-from)");
    return 2;
  }
  return failed > 0 ? 1 : 0;
}

}  // namespace

// In a sandboxed worker: one file's matching signals from its bytes, as HashForMatching would
// make them from its path. Answer: {"video": ...} or {"signals": ...}.
sandbox::Answer MatchJobInSandbox(const nlohmann::json& o, std::span<const uint8_t> file) {
  if (!o.contains("bank") || !o["bank"].is_boolean())
    return {StatusCode::kInvalidArgument, "match job options: no \"bank\""};
  const bool bank = o["bank"].get<bool>();
  nlohmann::json out;
  if (media::LooksLikeVideoBytes(file)) {
    match::VideoHashOptions vo;
    vo.bank = bank;
    vo.video.threads = 1;  // a worker starts no threads
    auto v = match::HashVideoBytesForMatching(file, vo);
    if (!v.ok()) return {v.status().code(), v.status().message()};
    out["video"] = service::VideoToJson(*v);
  } else {
    match::SignalHasher hasher;
    auto f = hasher.HashBytes(file, bank, {}, nullptr, hash::HashMode::kFast, !bank);
    if (!f.ok()) return {f.status().code(), f.status().message()};
    out["signals"] = match::SignalsToJson("", *f);
  }
  return {StatusCode::kOk, out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// A reviewer's preview made by a sandboxed worker (`takedown serve`'s MediaPreviewer): the
// options are media::PreviewRequest's fields, each checked; the answer is the JPEG's bytes.
sandbox::Answer PreviewJobInSandbox(const nlohmann::json& o, std::span<const uint8_t> file) {
  media::PreviewRequest r;
  try {
    r.video = o.at("video").get<bool>();
    r.reveal = o.at("reveal").get<bool>();
    r.frame = o.at("frame").get<int>();
    r.frames = o.at("frames").get<int>();
    r.duration_s = o.at("duration_s").get<double>();
  } catch (const nlohmann::json::exception& e) {
    return {StatusCode::kInvalidArgument, fmt::format("preview job options: {}", e.what())};
  }
  if (r.frame < 0 || r.frames < 1 || r.frames > 64 || r.frame >= r.frames ||
      !std::isfinite(r.duration_s) || r.duration_s < 0) {
    return {StatusCode::kInvalidArgument, "preview job options: out of range"};
  }
  auto jpeg = media::PreviewOf(file, r);
  if (!jpeg.ok()) return {jpeg.status().code(), jpeg.status().message()};
  return {StatusCode::kOk, std::string(jpeg->begin(), jpeg->end())};
}

sandbox::Answer CliJobInSandbox(const nlohmann::json& o, std::span<const uint8_t> file) {
  const std::string command = o.contains("command") && o["command"].is_string()
                                  ? o["command"].get<std::string>()
                                  : std::string();
  if (command == "hash") return HashJobInSandbox(o, file);
  if (command == "match") return MatchJobInSandbox(o, file);
  if (command == "preview") return PreviewJobInSandbox(o, file);
  return {StatusCode::kInvalidArgument, fmt::format("unknown command-line job '{}'", command)};
}

void RegisterMatchCommand(CLI::App& app, int& exit_code) {
  auto a = std::make_shared<MatchArgs>();
  CLI::App* cmd =
      app.add_subcommand("match", "Find which bank items each query image or video is a copy of");
  cmd->add_option(
         "--bank", a->bank,
         "A directory of media, or a file written by `takedown hash --format jsonl [--bank]` "
         "(plain 64-digit hex lines are taken as hash-only items), or one video's vPDQ "
         "(`takedown hash --format vpdq`, the reference's text format)")
      ->required();
  cmd->add_option("--format", a->format, "Output format")
      ->check(CLI::IsMember({"csv", "jsonl"}))
      ->capture_default_str();
  cmd->add_option("-j,--jobs", a->jobs, "Files hashed in parallel")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("-r,--recursive", a->recursive, "Query the files under directory arguments");
  cmd->add_option("--cache-dir", a->cache_dir,
                  "Where a bank directory's signals are kept between runs (a file is hashed "
                  "again when its size or time changes)")
      ->capture_default_str();
  cmd->add_flag("--no-cache", a->no_cache, "Hash every bank file, keep nothing");
  cmd->add_flag("--sandbox", a->sandbox,
                "Decode and hash each file in a sandboxed worker process (seccomp, limits; as "
                "takedown serve does): for files from untrusted sources");
  cmd->add_flag("--progress", a->progress,
                "Report progress on stderr every 2 s (done/total, rate, time left)");
  cmd->add_option("--files-from", a->files_from,
                  "Read query paths, one per line, from FILE or - (stdin)");
  auto& o = a->options;
  cmd->add_option("--pdq-threshold", o.pdq_threshold, "Plain PDQ: largest matching distance")
      ->capture_default_str();
  cmd->add_option("--whole-threshold", o.whole_threshold,
                  "norm and box signals: largest matching distance")
      ->capture_default_str();
  cmd->add_option("--hash-only-threshold", o.hash_only_threshold,
                  "Hash-only bank items (plain PDQ lines): largest distance of the query's "
                  "dihedral, norm, box and layer hashes to the item's PDQ")
      ->capture_default_str();
  cmd->add_option("--region-threshold", o.region_threshold,
                  "Each grid region: largest matching distance")
      ->capture_default_str();
  cmd->add_option("--region-votes", o.region_votes, "Regions that must agree (of 9)")
      ->check(CLI::Range(1, 9))
      ->capture_default_str();
  cmd->add_option("--min-quality", o.min_quality, "Signals of lower quality are not used")
      ->capture_default_str();
  cmd->add_option("--region-min-quality", o.region_min_quality,
                  "Regions of lower quality are not used")
      ->capture_default_str();
  // The video rule, as `takedown serve`'s [video] keys: the same defaults and bounds, and, as
  // there, a whole number in base 10 read to its end (no 7.5, 1e1, 0x1f or nan: ParseInt64).
  auto& v = a->video;
  auto whole = [](int64_t lo, int64_t hi) {
    return CLI::Validator(
        [lo, hi](const std::string& s) -> std::string {
          const auto n = ParseInt64(s, "the value", lo, hi);
          return n.ok() ? std::string() : std::string(n.status().message());
        },
        fmt::format("WHOLE in {}..{}", lo, hi));
  };
  cmd->add_option("--frame-threshold", v.frame_threshold,
                  "Videos: PDQ bits two frames may differ by and still match")
      ->check(whole(0, 64))
      ->capture_default_str();
  cmd->add_option("--video-match-percent", v.match_percent,
                  "Videos: a copy when this share of the query's usable frames match a bank "
                  "video, or this share of the bank video is covered")
      ->check(whole(1, 100))
      ->capture_default_str();
  cmd->add_option("--clip-seconds", v.clip_seconds,
                  "Videos, the clip rule: a stretch at least this long matching a bank video at "
                  "one offset in time is a copy (0: off)")
      ->check(whole(0, 3600))
      ->capture_default_str();
  cmd->add_option("--clip-percent", v.clip_percent,
                  "Videos, the clip rule: the share of the stretch's usable frames that must match")
      ->check(whole(50, 100))
      ->capture_default_str();
  cmd->add_option("--clip-min-frames", v.clip_min_frames,
                  "Videos, the clip rule: the fewest matching frames a stretch may have")
      ->check(whole(2, 10000))
      ->capture_default_str();
  cmd->add_option("--edge-clip-seconds", v.edge_clip_seconds,
                  "Videos, the clip rule: a clip shorter than this at the start of both videos or "
                  "the end of both (a shared intro or end card) does not count (0: every clip "
                  "counts)")
      ->check(whole(0, 3600))
      ->capture_default_str();
  cmd->add_option("queries", a->queries, "Query images (or directories with -r)");
  cmd->footer(
      "Output (csv): query,bank_item,signal,distance -- one row per bank item and signal that\n"
      "matched (signals: sha256, pdq, norm, box, layer, regions); jsonl adds the bank variant that "
      "matched.\n"
      "Videos (both sides): signal vpdq, distance the best frame's; jsonl adds query_percent,\n"
      "compared_percent (match: either >= 80) and the time ranges in the query and the bank "
      "video;\n"
      "a clip (>= 5 s of the query whose frames, >= 80% of them, match at one offset in time)\n"
      "matches too, and jsonl adds clip_seconds, clip_from, clip_to (query) and clip_bank_from;\n"
      "a clip under 15 s at the start of both videos or the end of both (a shared intro or end\n"
      "card) does not count (jsonl: edge_clip_seconds, _from, _to, _bank_from). The video flags\n"
      "are takedown serve's [video] keys, with the same defaults.\n"
      "A bank item from a directory is its path; from a file, its \"file\" field or FILE:LINE.\n"
      "Exit status 0 whether or not anything matched; 1 if a file failed; 2 for usage errors.");
  cmd->callback([a, &exit_code] { exit_code = RunMatch(*a); });
}

}  // namespace takedown::cli
