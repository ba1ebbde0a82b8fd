// Reference mode against the PDQ reference CLI's own output (../shared/reference/pdq): every
// hash and quality bit for bit, every dihedral line, and the files the reference aborts on.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "hash/image_signals.h"
#include "support/shared_data.h"

namespace takedown {
namespace {

struct ExpectedLine {
  std::vector<std::string> hashes;
  int quality;
  std::string file;
};

struct ExpectedFile {
  std::vector<ExpectedLine> lines;
  std::vector<std::string> aborted;  // "# reference aborted on FILE"
};

ExpectedFile ReadExpected(const std::string& path, size_t hashes_per_line) {
  ExpectedFile out;
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const std::string kAborted = "# reference aborted on ";
    if (line.rfind(kAborted, 0) == 0) {
      out.aborted.push_back(line.substr(kAborted.size()));
      continue;
    }
    std::vector<std::string> f;
    std::stringstream ss(line);
    for (std::string x; std::getline(ss, x, ',');) f.push_back(x);
    EXPECT_EQ(f.size(), hashes_per_line + 2) << line;
    if (f.size() != hashes_per_line + 2) continue;
    ExpectedLine e;
    e.hashes.assign(f.begin(), f.begin() + static_cast<long>(hashes_per_line));
    e.quality = std::stoi(f[hashes_per_line]);
    e.file = f[hashes_per_line + 1];
    out.lines.push_back(e);
  }
  return out;
}

class Conformance : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::SharedDir().empty()) return;
    dir_ = testing::SharedDir() + "/reference/pdq/";
  }
  std::string dir_;
  hash::ImageHasher hasher_;
};

TEST_F(Conformance, ReferenceModeReproducesExpectedPdqCsv) {
  TD_REQUIRE_SHARED("PDQ reference conformance (expected-pdq.csv)");
  const ExpectedFile expected = ReadExpected(dir_ + "expected-pdq.csv", 1);
  ASSERT_GE(expected.lines.size(), 30u);
  hash::ImageHashOptions opts;
  opts.mode = hash::HashMode::kReference;
  for (const auto& e : expected.lines) {
    auto r = hasher_.HashFile(dir_ + e.file, opts);
    ASSERT_TRUE(r.ok()) << e.file << ": " << r.status().ToString();
    EXPECT_EQ(r->pdq.hash.ToHex(), e.hashes[0]) << e.file;
    EXPECT_EQ(r->pdq.quality, e.quality) << e.file;
  }
}

TEST_F(Conformance, ReferenceModeReproducesExpectedDihedralCsv) {
  TD_REQUIRE_SHARED("PDQ reference conformance (expected-pdq-dihedral.csv)");
  const ExpectedFile expected = ReadExpected(dir_ + "expected-pdq-dihedral.csv", 8);
  ASSERT_GE(expected.lines.size(), 30u);
  hash::ImageHashOptions opts;
  opts.mode = hash::HashMode::kReference;
  opts.dihedral = true;
  for (const auto& e : expected.lines) {
    auto r = hasher_.HashFile(dir_ + e.file, opts);
    ASSERT_TRUE(r.ok()) << e.file << ": " << r.status().ToString();
    ASSERT_TRUE(r->dihedral.has_value());
    for (int v = 0; v < 8; ++v)
      EXPECT_EQ((*r->dihedral)[v].ToHex(), e.hashes[v]) << e.file << " variant " << v;
    EXPECT_EQ(r->pdq.quality, e.quality) << e.file;
  }
}

TEST_F(Conformance, FilesTheReferenceAbortsOnAreHashed) {
  TD_REQUIRE_SHARED("PDQ reference conformance (aborted files)");
  const ExpectedFile expected = ReadExpected(dir_ + "expected-pdq.csv", 1);
  ASSERT_FALSE(expected.aborted.empty());
  for (hash::HashMode mode : {hash::HashMode::kReference, hash::HashMode::kFast}) {
    hash::ImageHashOptions opts;
    opts.mode = mode;
    for (const auto& f : expected.aborted) {
      auto r = hasher_.HashFile(dir_ + f, opts);
      ASSERT_TRUE(r.ok()) << f << ": " << r.status().ToString();
      EXPECT_FALSE(r->pdq.hash.is_zero()) << f;
      EXPECT_GE(r->pdq.quality, 50) << f;
    }
  }
}

TEST_F(Conformance, EveryPixelModeOfOneImageHashesAlike) {
  TD_REQUIRE_SHARED("PDQ modes images");
  // The same photo saved by Pillow in many modes (RGB, CMYK, L, LA, P, PA, RGBA, YCbCr, HSV,
  // LAB, I, F): all must decode, and land near the original.
  const auto files = testing::ListFiles(dir_ + "misc-images/modes");
  hash::ImageHashOptions opts;
  opts.mode = hash::HashMode::kReference;
  auto original = hasher_.HashFile(dir_ + "misc-images/modes/original.jpg", opts);
  ASSERT_TRUE(original.ok());
  int hashed = 0;
  for (const auto& f : files) {
    if (f.ends_with(".md")) continue;
    auto r = hasher_.HashFile(f, opts);
    ASSERT_TRUE(r.ok()) << f << ": " << r.status().ToString();
    ++hashed;
    // HSV and LAB store other quantities in the RGB slots, yet stay recognisable.
    EXPECT_LE(hash::Distance(r->pdq.hash, original->pdq.hash), 31) << f;
  }
  EXPECT_GE(hashed, 14);
}

}  // namespace
}  // namespace takedown
