// `takedown hash` as a user runs it: the real binary, real files, exit statuses and streams.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cli/progress.h"
#include "match/video_match.h"
#include "media/decode.h"
#include "support/edits.h"
#include "support/synthetic.h"

namespace takedown {
namespace {

struct CommandResult {
  int exit_code;
  std::string out;
  std::string err;
};

std::string ReadAll(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::vector<std::string> Lines(const std::string& s) {
  std::vector<std::string> v;
  std::stringstream ss(s);
  for (std::string l; std::getline(ss, l);) v.push_back(l);
  return v;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir();
    // `match --bank DIR` keeps a cache there: the test's own, never the user's.
    setenv("XDG_CACHE_HOME", (dir_ + "/cache").c_str(), 1);
    for (int i = 0; i < 24; ++i) {
      // Sizes vary so that parallel workers finish out of order.
      const int w = 64 + (i * 97) % 900, h = 64 + (i * 53) % 700;
      auto jpeg = media::EncodeJpeg(testing::SyntheticPhoto(w, h, static_cast<uint32_t>(i)), 85);
      const std::string p = dir_ + "/img" + (i < 10 ? "0" : "") + std::to_string(i) + ".jpg";
      testing::WriteFile(p, *jpeg);
      files_.push_back(p);
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  CommandResult Takedown(const std::string& args, const std::string& stdin_text = "") {
    const std::string in = dir_ + "/stdin.txt", out = dir_ + "/stdout.txt",
                      err = dir_ + "/stderr.txt";
    testing::WriteFile(in, std::vector<uint8_t>(stdin_text.begin(), stdin_text.end()));
    const std::string cmd =
        std::string(TAKEDOWN_BINARY) + " " + args + " <" + in + " >" + out + " 2>" + err;
    const int status = std::system(cmd.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ReadAll(out), ReadAll(err)};
  }

  std::string Joined() const {
    std::string s;
    for (const auto& f : files_) s += " " + f;
    return s;
  }

  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(CliTest, CsvIsReferenceLayoutInInputOrderEvenInParallel) {
  const CommandResult one = Takedown("hash" + Joined());
  const CommandResult four = Takedown("hash -j 4" + Joined());
  ASSERT_EQ(one.exit_code, 0) << one.err;
  ASSERT_EQ(four.exit_code, 0) << four.err;
  EXPECT_EQ(one.out, four.out);
  const auto lines = Lines(one.out);
  ASSERT_EQ(lines.size(), files_.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].find_first_not_of("0123456789abcdef"), 64u) << lines[i];
    EXPECT_EQ(lines[i].substr(64, 1), ",");
    EXPECT_TRUE(lines[i].ends_with("," + files_[i])) << lines[i];
  }
}

TEST_F(CliTest, AFailingFileIsReportedAndTheOthersGoOn) {
  testing::WriteFile(dir_ + "/broken.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x01});
  const CommandResult r = Takedown("hash -j 2 " + files_[0] + " " + dir_ + "/broken.jpg " +
                                   files_[1] + " " + dir_ + "/missing.png");
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(lines[0].ends_with(files_[0]));
  EXPECT_TRUE(lines[1].ends_with(files_[1]));
  EXPECT_NE(r.err.find(dir_ + "/broken.jpg: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(dir_ + "/missing.png: cannot open: No such file"), std::string::npos)
      << r.err;
}

TEST_F(CliTest, JsonlCarriesEverySignal) {
  const CommandResult r = Takedown("hash --format jsonl --dihedral " + files_[3]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(Lines(r.out).at(0));
  EXPECT_EQ(j["file"], files_[3]);
  EXPECT_EQ(j["pdq"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["dihedral"].size(), 8u);
  EXPECT_EQ(j["dihedral"]["original"], j["pdq"]);
  EXPECT_EQ(j["md5"].get<std::string>().size(), 32u);
  EXPECT_EQ(j["sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["format"], "jpeg");
  EXPECT_GT(j["width"].get<int>(), 0);
  EXPECT_EQ(j["mode"], "fast");
  const CommandResult ref = Takedown("hash --reference --format jsonl " + files_[3]);
  EXPECT_EQ(nlohmann::json::parse(ref.out)["mode"], "reference");
}

TEST_F(CliTest, DihedralCsvIsPdqdihAcrossLayout) {
  const CommandResult r = Takedown("hash --dihedral " + files_[2]);
  ASSERT_EQ(r.exit_code, 0);
  const auto line = Lines(r.out).at(0);
  EXPECT_EQ(std::count(line.begin(), line.end(), ','), 9);
}

TEST_F(CliTest, FilesFromStdinAndRecursiveDirectoryMatchArguments) {
  std::string list;
  for (const auto& f : files_) list += f + "\n";
  const CommandResult args = Takedown("hash" + Joined());
  const CommandResult stdin_list = Takedown("hash --files-from -", list);
  EXPECT_EQ(stdin_list.exit_code, 0);
  EXPECT_EQ(args.out, stdin_list.out);
  const CommandResult walk = Takedown("hash -r " + dir_);
  EXPECT_EQ(walk.exit_code, 1);  // stdin.txt and friends in the directory are not images
  for (const auto& f : files_) EXPECT_NE(walk.out.find(f + "\n"), std::string::npos) << f;
}

TEST_F(CliTest, DirectoryWithoutRecursiveSaysHow) {
  const CommandResult r = Takedown("hash " + dir_);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is a directory (use -r"), std::string::npos) << r.err;
}

TEST_F(CliTest, NoInputIsAUsageError) {
  const CommandResult r = Takedown("hash");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("no input files"), std::string::npos) << r.err;
  // Every usage error exits 2 (CLI11's own codes are 105-109): a bad value, an unknown option,
  // a missing required option, an unknown subcommand.
  for (const std::string& args :
       {"hash --format xml " + files_[0], "hash --no-such-option " + files_[0],
        std::string("admin create-key --name x"), std::string("no-such-command")}) {
    const CommandResult bad = Takedown(args);
    EXPECT_EQ(bad.exit_code, 2) << args << ": " << bad.err;
    EXPECT_FALSE(bad.err.empty()) << args;
  }
  EXPECT_EQ(Takedown("--help").exit_code, 0);
  const CommandResult version = Takedown("--version");
  EXPECT_EQ(version.exit_code, 0);
  // The project's version and the revision it was built from (a hex id, +dirty, or unknown).
  EXPECT_TRUE(
      std::regex_search(version.out, std::regex(std::string("^takedown ") + TAKEDOWN_VERSION +
                                                R"( \(git ([0-9a-f]{12}(\+dirty)?|unknown)\)\n$)")))
      << version.out;
}

TEST_F(CliTest, FileNameWithCommaIsQuoted) {
  const std::string odd = dir_ + "/a,b.jpg";
  std::filesystem::copy_file(files_[0], odd);
  const CommandResult r = Takedown("hash \"" + odd + "\"");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Lines(r.out).at(0).ends_with(",\"" + odd + "\"")) << r.out;
}

TEST_F(CliTest, IndexBuildAndQueryFindNearDuplicates) {
  // Hashes from `takedown hash --format jsonl`, the first 12 files indexed, all 24 queried.
  const CommandResult hashed = Takedown("hash --format jsonl" + Joined());
  ASSERT_EQ(hashed.exit_code, 0) << hashed.err;
  const auto lines = Lines(hashed.out);
  std::string bank, queries;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i < 12) bank += lines[i] + "\n";
    queries += lines[i] + "\n";
  }
  testing::WriteFile(dir_ + "/bank.jsonl", std::vector<uint8_t>(bank.begin(), bank.end()));
  testing::WriteFile(dir_ + "/queries.jsonl", std::vector<uint8_t>(queries.begin(), queries.end()));
  const CommandResult built =
      Takedown("index build " + dir_ + "/bank.jsonl -o " + dir_ + "/bank.tdidx");
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_NE(built.err.find("12 hashes"), std::string::npos) << built.err;
  const CommandResult q =
      Takedown("index query " + dir_ + "/bank.tdidx " + dir_ + "/queries.jsonl --radius 0");
  ASSERT_EQ(q.exit_code, 0) << q.err;
  // Each of the first 12 queries finds itself (query_line == id), the other 12 find nothing.
  const auto rows = Lines(q.out);
  ASSERT_EQ(rows.size(), 12u) << q.out;
  for (size_t i = 0; i < rows.size(); ++i)
    EXPECT_EQ(rows[i], std::to_string(i) + "," + std::to_string(i) + ",0");
  EXPECT_NE(q.err.find("loaded"), std::string::npos);
  EXPECT_NE(q.err.find("us/query"), std::string::npos);
}

TEST_F(CliTest, IndexBuildRejectsMalformedHashListsWithLineNumbers) {
  const std::string good(64, 'a');
  const std::string text =
      good + "\n" + good.substr(0, 60) + "\n" + std::string(63, 'b') + "g\n{\"pdq\": 5}\n";
  testing::WriteFile(dir_ + "/bad.txt", std::vector<uint8_t>(text.begin(), text.end()));
  const CommandResult r = Takedown("index build " + dir_ + "/bad.txt -o " + dir_ + "/bad.tdidx");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2: expected 64 hex digits, got 60"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 3: non-hex character 'g' at position 64"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("line 4: \"pdq\" is not a string"), std::string::npos) << r.err;
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/bad.tdidx"));
}

TEST_F(CliTest, IndexQueryRejectsCorruptIndexFiles) {
  const std::string list = std::string(64, 'c') + "\n" + std::string(64, 'd') + "\n";
  testing::WriteFile(dir_ + "/l.txt", std::vector<uint8_t>(list.begin(), list.end()));
  ASSERT_EQ(Takedown("index build " + dir_ + "/l.txt -o " + dir_ + "/l.tdidx").exit_code, 0);
  auto bytes = ReadAll(dir_ + "/l.tdidx");
  bytes.resize(bytes.size() - 10);
  testing::WriteFile(dir_ + "/cut.tdidx", std::vector<uint8_t>(bytes.begin(), bytes.end()));
  const CommandResult r = Takedown("index query " + dir_ + "/cut.tdidx " + dir_ + "/l.txt");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("truncated"), std::string::npos) << r.err;
}

TEST_F(CliTest, MatchFindsCopiesAgainstADirectoryOrAJsonlBank) {
  const std::string bank = dir_ + "/bank";
  std::filesystem::create_directory(bank);
  for (int i = 0; i < 4; ++i)
    std::filesystem::copy_file(files_[i], bank + "/" + std::to_string(i) + ".jpg");
  // A framed copy of item 2 and an unrelated image.
  auto pixels = media::DecodeImageFile(files_[2], {});
  ASSERT_TRUE(pixels.ok());
  media::Image framed = media::Image::Allocate(pixels->image.width + 60, pixels->image.height + 40,
                                               media::PixelFormat::kRgb8);
  for (int y = 0; y < pixels->image.height; ++y) {
    std::copy_n(pixels->image.row(y), pixels->image.row_bytes(), framed.row(y + 20) + 3 * 30);
  }
  testing::WriteFile(dir_ + "/framed.jpg", *media::EncodeJpeg(framed, 90));
  const CommandResult r =
      Takedown("match --bank " + bank + " " + dir_ + "/framed.jpg " + files_[10]);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = Lines(r.out);
  ASSERT_FALSE(rows.empty()) << r.err;
  for (const auto& row : rows)
    EXPECT_EQ(row.rfind(dir_ + "/framed.jpg," + bank + "/2.jpg,", 0), 0u) << row;
  EXPECT_NE(r.out.find(",box,"), std::string::npos) << r.out;

  const CommandResult h =
      Takedown("hash --format jsonl --bank " + bank + "/0.jpg " + bank + "/2.jpg");
  ASSERT_EQ(h.exit_code, 0);
  testing::WriteFile(dir_ + "/bank.jsonl", std::vector<uint8_t>(h.out.begin(), h.out.end()));
  const CommandResult j =
      Takedown("match --format jsonl --bank " + dir_ + "/bank.jsonl " + dir_ + "/framed.jpg");
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto first = nlohmann::json::parse(Lines(j.out).at(0));
  EXPECT_EQ(first["bank_item"], bank + "/2.jpg");
  EXPECT_TRUE(first.contains("variant"));

  const CommandResult none = Takedown("match --bank " + dir_ + "/bank.jsonl " + files_[10]);
  EXPECT_EQ(none.exit_code, 0);  // nothing matched is not an error
  EXPECT_TRUE(none.out.empty());
}

// A hash list (plain hex PDQ lines) has no pictures: the query undoes a mirror (its dihedral
// PDQs) and a frame (its box) by itself, also when hashed in a sandboxed worker.
TEST_F(CliTest, MatchFindsMirroredAndFramedCopiesOfAHashOnlyList) {
  const CommandResult h = Takedown("hash --reference " + files_[3] + " " + files_[6]);
  ASSERT_EQ(h.exit_code, 0) << h.err;
  std::string list = "# exported from an exchange\n";
  for (const auto& row : Lines(h.out)) list += row.substr(0, 64) + "\n";  // hash,quality,file
  testing::WriteFile(dir_ + "/list.txt", std::vector<uint8_t>(list.begin(), list.end()));
  auto pixels = media::DecodeImageFile(files_[6], {});
  ASSERT_TRUE(pixels.ok());
  testing::WriteFile(dir_ + "/mirrored.jpg",
                     *media::EncodeJpeg(testing::ApplyEditPixels("mirror", pixels->image), 85));
  testing::WriteFile(dir_ + "/bordered.jpg",
                     *media::EncodeJpeg(testing::ApplyEditPixels("border_10", pixels->image), 85));
  const std::string query = dir_ + "/mirrored.jpg " + dir_ + "/bordered.jpg " + files_[10];
  const CommandResult r = Takedown("match --format jsonl --bank " + dir_ + "/list.txt " + query);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::set<std::string> found;
  for (const auto& row : Lines(r.out)) {
    const auto j = nlohmann::json::parse(row);
    EXPECT_EQ(j["bank_item"], dir_ + "/list.txt:3") << row;  // files_[6]'s line
    found.insert(j["query"].get<std::string>() + " " + j["signal"].get<std::string>());
  }
  EXPECT_TRUE(found.count(dir_ + "/mirrored.jpg pdq") || found.count(dir_ + "/mirrored.jpg norm"))
      << r.out;
  EXPECT_TRUE(found.count(dir_ + "/bordered.jpg box") || found.count(dir_ + "/bordered.jpg layer"))
      << r.out;
  EXPECT_EQ(r.out.find(files_[10]), std::string::npos) << r.out;
  const CommandResult boxed =
      Takedown("match --sandbox --format jsonl --bank " + dir_ + "/list.txt " + query);
  EXPECT_EQ(boxed.exit_code, 0) << boxed.err;
  EXPECT_EQ(boxed.out, r.out);
}

TEST_F(CliTest, MatchKeepsABankDirectorysSignalsAndHashesOnlyWhatChanged) {
  const std::string bank = dir_ + "/bank";
  std::filesystem::create_directory(bank);
  for (int i = 0; i < 6; ++i)
    std::filesystem::copy_file(files_[i], bank + "/" + std::to_string(i) + ".jpg");
  const std::string queries = files_[1] + " " + files_[4] + " " + files_[12];
  const CommandResult first = Takedown("match --format jsonl --bank " + bank + " " + queries);
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_NE(first.err.find("6 files, 0 from the cache"), std::string::npos) << first.err;
  ASSERT_FALSE(first.out.empty());
  // Unchanged: nothing hashed, the same answer.
  const CommandResult second =
      Takedown("match --format jsonl --progress --bank " + bank + " " + queries);
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(second.err.find("6 files, 6 from the cache"), std::string::npos) << second.err;
  EXPECT_EQ(second.out, first.out);
  EXPECT_NE(second.err.find("done: bank 6 files (6 from the cache, 0 failed)"), std::string::npos)
      << second.err;
  EXPECT_NE(second.err.find("done: query 3 files (0 failed)"), std::string::npos) << second.err;
  // Item 4 replaced by another picture: only it is hashed again, and the answer follows it.
  std::filesystem::remove(bank + "/4.jpg");
  std::filesystem::copy_file(files_[12], bank + "/4.jpg");
  const CommandResult third = Takedown("match --format jsonl --bank " + bank + " " + queries);
  ASSERT_EQ(third.exit_code, 0) << third.err;
  EXPECT_NE(third.err.find("6 files, 5 from the cache"), std::string::npos) << third.err;
  bool twelve_found_as_4 = false, four_found_as_4 = false;
  for (const auto& line : Lines(third.out)) {
    const auto j = nlohmann::json::parse(line);
    if (j["bank_item"] != bank + "/4.jpg") continue;
    if (j["query"] == files_[12]) twelve_found_as_4 = true;
    if (j["query"] == files_[4]) four_found_as_4 = true;
  }
  EXPECT_TRUE(twelve_found_as_4) << third.out;
  EXPECT_FALSE(four_found_as_4) << third.out;
  // --no-cache hashes everything and gives the same answer as the cache.
  const CommandResult fresh =
      Takedown("match --format jsonl --no-cache --bank " + bank + " " + queries);
  EXPECT_EQ(fresh.out, third.out);
  EXPECT_EQ(fresh.err.find("from the cache"), std::string::npos) << fresh.err;
}

TEST_F(CliTest, ProgressShowsTheTotalAndTimeLeft) {
  EXPECT_EQ(cli::Progress::Eta(12.4), "~12 s");
  EXPECT_EQ(cli::Progress::Eta(600), "~10 min");
  EXPECT_EQ(cli::Progress::Eta(9000), "~2.5 h");
  cli::Progress known("bank", 10, true, std::chrono::milliseconds(0));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  known.Tick(false, true);
  known.Tick(true);
  known.Tick(false);
  ASSERT_EQ(known.lines().size(), 3u);
  EXPECT_EQ(known.lines()[2].rfind("progress: bank 3/10 files (1 from the cache, 1 failed), ", 0),
            0u)
      << known.lines()[2];
  EXPECT_NE(known.lines()[2].find(" s left"), std::string::npos) << known.lines()[2];
  cli::Progress streamed("hash", std::nullopt, true, std::chrono::milliseconds(0));
  streamed.Tick(false);
  EXPECT_EQ(streamed.lines().at(0).find("left"), std::string::npos) << streamed.lines()[0];
  EXPECT_EQ(streamed.lines().at(0).rfind("progress: hash 1 files (0 failed)", 0), 0u);
  cli::Progress off("hash", 5, false, std::chrono::milliseconds(0));
  off.Tick(false);
  off.Done();
  EXPECT_TRUE(off.lines().empty());
  const CommandResult r = Takedown("hash --progress" + Joined());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("done: hash 24 files (0 failed)"), std::string::npos) << r.err;
}

TEST_F(CliTest, MatchRejectsABadBankFileNamingTheLine) {
  const std::string text = std::string(64, 'a') + "\n{\"pdq\": \"zz\"}\n{not json\n";
  testing::WriteFile(dir_ + "/bad.jsonl", std::vector<uint8_t>(text.begin(), text.end()));
  const CommandResult r = Takedown("match --bank " + dir_ + "/bad.jsonl " + files_[0]);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("line 2: top level.\"pdq\": expected 64 hex digits"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("line 3: malformed JSON"), std::string::npos) << r.err;
}

TEST_F(CliTest, VideosGiveVpdqTextAndJson) {
  testing::WriteVideo(dir_ + "/v.avi", 160, 120, 45, 30, 3);
  const CommandResult t = Takedown("hash --format vpdq --seconds-per-hash 0.5 " + dir_ + "/v.avi");
  ASSERT_EQ(t.exit_code, 0) << t.err;
  const auto lines = Lines(t.out);
  ASSERT_EQ(lines.size(), 3u);  // frames 0, 15, 30
  EXPECT_EQ(lines[1].substr(0, 3), "15,");
  EXPECT_TRUE(lines[2].ends_with(",1.000")) << lines[2];
  const CommandResult j = Takedown("hash --format jsonl " + dir_ + "/v.avi " + files_[0]);
  ASSERT_EQ(j.exit_code, 0) << j.err;
  const auto video = nlohmann::json::parse(Lines(j.out).at(0));
  EXPECT_EQ(video["type"], "video");
  EXPECT_EQ(video["frame_count"], 45);
  EXPECT_EQ(video["vpdq"].size(), 2u);  // 1 s a hash: frames 0 and 30
  EXPECT_EQ(video["sha256"].get<std::string>().size(), 64u);
  const auto image = nlohmann::json::parse(Lines(j.out).at(1));
  EXPECT_FALSE(image.contains("type"));
  const CommandResult c = Takedown("hash " + dir_ + "/v.avi");
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_NE(c.err.find("use --format vpdq or jsonl for videos"), std::string::npos) << c.err;
}

TEST_F(CliTest, MatchFindsAVideoInsideAnotherOne) {
  const std::string bank = dir_ + "/vbank";
  std::filesystem::create_directory(bank);
  testing::WriteVideoFrames(bank + "/clip.avi", testing::PanFrames(160, 120, 0, 75, 21), 25);
  testing::WriteVideoFrames(bank + "/other.avi", testing::PanFrames(160, 120, 0, 75, 22), 25);
  auto frames = testing::PanFrames(160, 120, 0, 50, 23);
  for (auto& f : testing::PanFrames(160, 120, 0, 75, 21)) frames.push_back(std::move(f));
  testing::WriteVideoFrames(dir_ + "/upload.avi", frames, 25);
  const CommandResult r =
      Takedown("match --format jsonl --bank " + bank + " " + dir_ + "/upload.avi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out << r.err;
  const auto j = nlohmann::json::parse(rows[0]);
  EXPECT_EQ(j["bank_item"], bank + "/clip.avi");
  EXPECT_EQ(j["signal"], "vpdq");
  EXPECT_GE(j["compared_percent"].get<double>(), 80.0);
  EXPECT_NEAR(j["query_from"].get<double>(), 2.0, 0.6);
}

// `takedown match` takes the video rule of `takedown serve`'s [video] keys: a bank video's opening
// at the start of an upload is set aside as a shared intro by default and is a clip with
// --edge-clip-seconds 0; every number is read whole and finite or refused.
TEST_F(CliTest, MatchTakesTheVideoRulesFlags) {
  const std::string bank = dir_ + "/ebank";
  std::filesystem::create_directory(bank);
  auto frames = testing::PanFrames(160, 120, 0, 150, 41);  // the intro: 6 s
  for (auto& f : testing::PanFrames(160, 120, 0, 250, 51)) frames.push_back(std::move(f));
  testing::WriteVideoFrames(bank + "/b.avi", frames, 25);
  frames = testing::PanFrames(160, 120, 0, 150, 41);
  for (auto& f : testing::PanFrames(160, 120, 0, 250, 99)) frames.push_back(std::move(f));
  testing::WriteVideoFrames(dir_ + "/opens.avi", frames, 25);
  const std::string args = "match --format jsonl --cache-dir " + dir_ + "/cache --bank " + bank;
  const CommandResult d = Takedown(args + " " + dir_ + "/opens.avi");
  ASSERT_EQ(d.exit_code, 0) << d.err;
  EXPECT_TRUE(Lines(d.out).empty()) << d.out;
  const CommandResult off = Takedown(args + " --edge-clip-seconds 0 " + dir_ + "/opens.avi");
  ASSERT_EQ(off.exit_code, 0) << off.err;
  const auto rows = Lines(off.out);
  ASSERT_EQ(rows.size(), 1u) << off.out;
  const auto j = nlohmann::json::parse(rows[0]);
  EXPECT_GE(j["clip_seconds"].get<double>(), 4.5);
  EXPECT_NEAR(j["clip_from"].get<double>(), 0.0, 1.1);
  // Clips of at least 20 s only: the 6 s opening is no clip even with the exception off.
  const CommandResult longer =
      Takedown(args + " --edge-clip-seconds 0 --clip-seconds 20 " + dir_ + "/opens.avi");
  ASSERT_EQ(longer.exit_code, 0) << longer.err;
  EXPECT_TRUE(Lines(longer.out).empty()) << longer.out;
  // Whole numbers in base 10, as `takedown serve` reads the same keys.
  for (const std::string bad :
       {"--clip-seconds nan", "--clip-seconds 5x", "--clip-seconds 7.5", "--edge-clip-seconds -1",
        "--edge-clip-seconds nan", "--video-match-percent inf", "--video-match-percent 1e1",
        "--clip-percent 49", "--clip-min-frames 1", "--frame-threshold 65",
        "--frame-threshold 0x1f"}) {
    const CommandResult e = Takedown(args + " " + bad + " " + dir_ + "/opens.avi");
    EXPECT_EQ(e.exit_code, 2) << bad << ": " << e.err;
    EXPECT_NE(e.err.find(bad.substr(0, bad.find(' '))), std::string::npos) << bad << ": " << e.err;
  }
}

// A hash list's video: one video's vPDQ in the reference's text format (what the vPDQ CLI and
// `takedown hash --format vpdq` write) is a bank of its own; a re-encoded copy is found through
// it, another video is not, and a malformed list is refused naming the line.
TEST_F(CliTest, MatchTakesAVpdqFileAsItsBank) {
  testing::WriteVideoFrames(dir_ + "/clip.avi", testing::PanFrames(160, 120, 0, 75, 31), 25);
  testing::WriteVideoFrames(dir_ + "/copy.mkv", testing::PanFrames(160, 120, 0, 75, 31), 25);
  testing::WriteVideoFrames(dir_ + "/other.avi", testing::PanFrames(160, 120, 0, 75, 32), 25);
  const CommandResult h = Takedown("hash --format vpdq --seconds-per-hash 0 " + dir_ + "/clip.avi");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  testing::WriteFile(dir_ + "/clip.vpdq", std::vector<uint8_t>(h.out.begin(), h.out.end()));
  const CommandResult r = Takedown("match --format jsonl --bank " + dir_ + "/clip.vpdq " + dir_ +
                                   "/copy.mkv " + dir_ + "/other.avi");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out << r.err;
  const auto j = nlohmann::json::parse(rows[0]);
  EXPECT_EQ(j["bank_item"], dir_ + "/clip.vpdq");
  EXPECT_EQ(j["query"], dir_ + "/copy.mkv");
  EXPECT_EQ(j["signal"], "vpdq");
  EXPECT_GE(j["query_percent"].get<double>(), 80.0);

  std::string bad = h.out;
  bad.insert(bad.find('\n') + 1, "7,1e2," + std::string(64, 'a') + ",0.280\n");
  testing::WriteFile(dir_ + "/bad.vpdq", std::vector<uint8_t>(bad.begin(), bad.end()));
  const CommandResult e = Takedown("match --bank " + dir_ + "/bad.vpdq " + dir_ + "/copy.mkv");
  EXPECT_NE(e.exit_code, 0);
  EXPECT_NE(e.err.find("line 2: quality"), std::string::npos) << e.err;
}

// `hash --format jsonl --bank` of a video writes its frames' robust signals too ("video": every
// frame with its centre crops), so a bank file finds a copy cropped by 15% a side, as a bank
// directory of the video itself does.
TEST_F(CliTest, BankVideoLinesCarryTheFramesRobustSignals) {
  const auto frames = testing::PanFrames(160, 120, 0, 75, 33);
  testing::WriteVideoFrames(dir_ + "/clip.avi", frames, 25);
  std::vector<media::Image> cropped;
  for (const auto& f : frames) {
    media::Image c = media::Image::Allocate(160 - 48, 120 - 36, media::PixelFormat::kRgb8);
    for (int y = 0; y < c.height; ++y) std::copy_n(f.row(y + 18) + 3 * 24, c.row_bytes(), c.row(y));
    cropped.push_back(std::move(c));
  }
  testing::WriteVideoFrames(dir_ + "/cropped.mkv", cropped, 25);
  const CommandResult h = Takedown("hash --format jsonl --bank " + dir_ + "/clip.avi");
  ASSERT_EQ(h.exit_code, 0) << h.err;
  const auto line = nlohmann::json::parse(h.out);
  ASSERT_TRUE(line.contains("video")) << h.out.substr(0, 300);
  ASSERT_EQ(line["video"]["frames"].size(), 75u);
  EXPECT_EQ(line["video"]["frames"][0]["crops"].size(), std::size(match::kVideoCrops));
  EXPECT_EQ(line["vpdq"].size(), 3u);  // the plain vPDQ, a hash a second, as before
  testing::WriteFile(dir_ + "/bank.jsonl", std::vector<uint8_t>(h.out.begin(), h.out.end()));
  const CommandResult r =
      Takedown("match --format jsonl --bank " + dir_ + "/bank.jsonl " + dir_ + "/cropped.mkv");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto rows = Lines(r.out);
  ASSERT_EQ(rows.size(), 1u) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(rows[0])["bank_item"], dir_ + "/clip.avi");
}

TEST_F(CliTest, SandboxedHashingAndMatchingGiveTheSameOutput) {
  // --sandbox: this process reads each file; a sandboxed worker decodes and hashes it.
  testing::WriteVideo(dir_ + "/v.avi", 160, 120, 45, 30, 3);
  testing::WriteFile(dir_ + "/broken.jpg", {0xFF, 0xD8, 0xFF, 0x00, 0x01});
  const std::string images = files_[0] + " " + files_[5] + " " + files_[9];
  for (const std::string& args :
       {"hash -j 2 " + images + " " + dir_ + "/broken.jpg", "hash --dihedral --reference " + images,
        "hash --format jsonl --bank -j 2 " + images + " " + dir_ + "/v.avi",
        "hash --format vpdq --seconds-per-hash 0.5 " + dir_ + "/v.avi"}) {
    const CommandResult plain = Takedown(args);
    const CommandResult boxed = Takedown(args + " --sandbox");
    EXPECT_EQ(boxed.exit_code, plain.exit_code) << args << "\n" << boxed.err;
    EXPECT_EQ(boxed.out, plain.out) << args << "\n" << boxed.err;
    EXPECT_FALSE(plain.out.empty()) << args;
  }
  const CommandResult broken = Takedown("hash --sandbox " + dir_ + "/broken.jpg");
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find(dir_ + "/broken.jpg: "), std::string::npos) << broken.err;

  const std::string bank = dir_ + "/bank";
  std::filesystem::create_directory(bank);
  for (int i = 0; i < 3; ++i)
    std::filesystem::copy_file(files_[i], bank + "/" + std::to_string(i) + ".jpg");
  std::filesystem::copy_file(dir_ + "/v.avi", bank + "/v.avi");
  const std::string query = files_[1] + " " + files_[12] + " " + dir_ + "/v.avi";
  const CommandResult plain =
      Takedown("match --no-cache --format jsonl --bank " + bank + " " + query);
  const CommandResult boxed =
      Takedown("match --no-cache --sandbox --format jsonl --bank " + bank + " " + query);
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_EQ(boxed.exit_code, 0) << boxed.err;
  EXPECT_EQ(boxed.out, plain.out);
  EXPECT_NE(plain.out.find(bank + "/1.jpg"), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find(bank + "/v.avi"), std::string::npos) << plain.out;
}

}  // namespace
}  // namespace takedown
