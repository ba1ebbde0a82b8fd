// `takedown-bench hash`: decode+hash throughput, fast vs reference mode, 1 and 2 threads, with a
// per-stage breakdown and the decode floor (libjpeg-turbo alone at the same scale).
#include <fmt/format.h>
#include <jpeglib.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdio>
#include <thread>

#include "hash/image_signals.h"
#include "runner.h"
#include "support/synthetic.h"

namespace takedown::bench {
namespace {

struct Item {
  const LoadedFile* file;
  int width, height;
  bool jpeg;
  bool progressive;
};

bool IsProgressiveJpeg(const std::vector<uint8_t>& bytes) {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), bytes.size());
  jpeg_read_header(&cinfo, TRUE);
  const bool p = cinfo.progressive_mode != 0;
  jpeg_destroy_decompress(&cinfo);
  return p;
}

void HashAll(const std::vector<Item>& items, hash::HashMode mode, int threads,
             hash::ImageStageTimes* times) {
  std::atomic<size_t> next{0};
  auto worker = [&](hash::ImageStageTimes* t) {
    hash::ImageHasher hasher;
    hash::ImageHashOptions opts;
    opts.mode = mode;
    opts.digests = false;
    for (size_t i; (i = next.fetch_add(1)) < items.size();) {
      auto r = hasher.HashBytes(items[i].file->bytes, opts, t);
      if (!r.ok())
        std::fprintf(stderr, "%s: %s\n", items[i].file->path.c_str(),
                     r.status().ToString().c_str());
    }
  };
  if (threads == 1) {
    worker(times);
    return;
  }
  std::vector<std::thread> pool;
  for (int i = 0; i < threads; ++i) pool.emplace_back(worker, nullptr);
  for (auto& t : pool) t.join();
}

// libjpeg-turbo alone: header, scale, output colour space, scanlines. Nothing of ours.
void BareJpegDecode(const std::vector<uint8_t>& bytes, int denom, bool luma,
                    std::vector<uint8_t>& buf) {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), bytes.size());
  jpeg_read_header(&cinfo, TRUE);
  cinfo.scale_num = 1;
  cinfo.scale_denom = static_cast<unsigned>(denom);
  if (luma && cinfo.jpeg_color_space != JCS_CMYK && cinfo.jpeg_color_space != JCS_YCCK)
    cinfo.out_color_space = JCS_GRAYSCALE;
  jpeg_start_decompress(&cinfo);
  const size_t stride = size_t{cinfo.output_width} * cinfo.output_components;
  buf.resize(stride * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buf.data() + stride * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
}

// Entropy decoding alone (jpeg_read_coefficients: Huffman, no inverse DCT, no colour): what any
// hasher that reads every coefficient of a JPEG must pay.
void EntropyOnly(const std::vector<uint8_t>& bytes) {
  jpeg_decompress_struct cinfo{};
  jpeg_error_mgr err{};
  cinfo.err = jpeg_std_error(&err);
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, bytes.data(), bytes.size());
  jpeg_read_header(&cinfo, TRUE);
  jpeg_read_coefficients(&cinfo);
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
}

double DecodeFloor(const std::vector<Item>& items, hash::HashMode mode, int runs) {
  std::vector<uint8_t> buf;
  return MedianTime(runs, [&] {
    for (const auto& it : items) {
      const auto opts = hash::DecodeOptionsFor(mode, it.file->bytes, {});
      BareJpegDecode(it.file->bytes, opts.jpeg_scale_denom, opts.prefer_luma, buf);
    }
  });
}

int RunHash(const Options& o) {
  const auto files = LoadDir(o.photos);
  if (files.empty()) {
    std::fprintf(stderr, "no images in %s (give --photos DIR)\n", o.photos.c_str());
    return 1;
  }
  std::vector<Item> all, big, big_baseline, big_progressive;
  {
    hash::ImageHasher h;
    hash::ImageHashOptions opts;
    opts.digests = false;
    for (const auto& f : files) {
      auto r = h.HashBytes(f.bytes, opts);
      if (!r.ok()) continue;
      const bool jpeg = r->format == "jpeg";
      Item it{&f, r->width, r->height, jpeg, jpeg && IsProgressiveJpeg(f.bytes)};
      all.push_back(it);
      if (int64_t{it.width} * it.height >= 1'000'000) {
        big.push_back(it);
        (it.progressive ? big_progressive : big_baseline).push_back(it);
      }
    }
  }
  std::printf(
      "corpus: %s: %zu images, %zu of them >= 1 MP (%zu JPEG: %zu baseline, %zu progressive)\n",
      o.photos.c_str(), all.size(), big.size(),
      static_cast<size_t>(
          std::count_if(big.begin(), big.end(), [](const Item& i) { return i.jpeg; })),
      big_baseline.size(), big_progressive.size());
  std::printf("median of %d timed runs after a warm-up; digests off (decode + PDQ only)\n\n",
              o.runs);

  std::printf("%-12s %-9s %7s %12s %12s\n", "subset", "mode", "threads", "images/s", "ms/image");
  double fast1_big = 0, ref1_big = 0;
  const std::vector<std::pair<const char*, const std::vector<Item>*>> subsets = {
      {"all", &all},
      {">=1MP", &big},
      {">=1MP base", &big_baseline},
      {">=1MP prog", &big_progressive}};
  for (const auto& [label, subset] : subsets) {
    if (subset->empty()) continue;
    for (auto mode : {hash::HashMode::kFast, hash::HashMode::kReference}) {
      for (int threads : {1, 2}) {
        const double t = MedianTime(o.runs, [&] { HashAll(*subset, mode, threads, nullptr); });
        const double ips = subset->size() / t;
        if (threads == 2 && subset->size() < 20 && subset != &big) continue;
        std::printf("%-12s %-9s %7d %12.1f %12.3f\n", label,
                    std::string(hash::HashModeName(mode)).c_str(), threads, ips,
                    1000 * t / subset->size());
        if (subset == &big && threads == 1)
          (mode == hash::HashMode::kFast ? fast1_big : ref1_big) = ips;
      }
    }
  }

  std::printf(
      "\nper-stage breakdown, 1 thread, ms per image (>=1 MP JPEGs), with the decode floor:\n");
  std::printf("%-10s %8s %8s %8s %8s %8s | %10s %10s %12s %12s\n", "mode", "decode", "luma",
              "filter", "dct+bits", "total", "floor_rgb", "floor_same", "after/floor",
              "after/decode");
  std::vector<Item> big_jpeg;
  std::copy_if(big.begin(), big.end(), std::back_inserter(big_jpeg),
               [](const Item& i) { return i.jpeg; });
  double fast_overhead = -1, fast_overhead_own = -1;
  if (!big_jpeg.empty()) {
    const double n = static_cast<double>(big_jpeg.size());
    std::vector<uint8_t> buf;
    const double floor_rgb = MedianTime(o.runs, [&] {
      for (const auto& it : big_jpeg)
        BareJpegDecode(
            it.file->bytes,
            hash::DecodeOptionsFor(hash::HashMode::kFast, it.file->bytes, {}).jpeg_scale_denom,
            false, buf);
    });
    for (auto mode : {hash::HashMode::kFast, hash::HashMode::kReference}) {
      const double floor_same = DecodeFloor(big_jpeg, mode, o.runs);
      hash::ImageStageTimes st;
      const double total = MedianTime(o.runs, [&] { HashAll(big_jpeg, mode, 1, nullptr); });
      for (int r = 0; r < o.runs; ++r) HashAll(big_jpeg, mode, 1, &st);
      const double k = 1000.0 / (n * o.runs);
      // Everything after decoding: the whole per-image time less our decode stage.
      const double after_s = total / n - st.decode / (n * o.runs);
      const double after = after_s / (floor_same / n);
      const double after_own = after_s / (st.decode / (n * o.runs));
      std::printf("%-10s %8.3f %8.3f %8.3f %8.3f %8.3f | %10.3f %10.3f %11.1f%% %11.1f%%\n",
                  std::string(hash::HashModeName(mode)).c_str(), st.decode * k, st.pdq.luma * k,
                  st.pdq.filter * k, st.pdq.dct * k, 1000 * total / n,
                  mode == hash::HashMode::kFast ? 1000 * floor_rgb / n : 1000 * floor_same / n,
                  1000 * floor_same / n, 100 * after, 100 * after_own);
      if (mode == hash::HashMode::kFast) {
        fast_overhead = after;
        fast_overhead_own = after_own;
      }
    }
    std::printf(
        "  floor_rgb: libjpeg-turbo alone, same scale, RGB output; floor_same: libjpeg-turbo "
        "alone,\n"
        "  same scale and output (luma in fast mode), reading every scan; after = total - our "
        "decode\n"
        "  stage; after/floor = after / floor_same; after/decode = after / our decode stage "
        "(which\n"
        "  reads fewer scans of progressive files than floor_same does)\n");
    const double entropy = MedianTime(o.runs, [&] {
      for (const auto& it : big_jpeg) EntropyOnly(it.file->bytes);
    });
    std::printf(
        "  entropy decoding alone (jpeg_read_coefficients, every coefficient): %.3f ms per image\n",
        1000 * entropy / n);
  }

  // PDQ after decoding, on a 512x512 RGB input (luma + filter + DCT + bits).
  const media::Image img512 = testing::SyntheticPhoto(512, 512, 1);
  hash::PdqHasher pdq;
  const int reps = 200;
  const double t512 = MedianTime(o.runs,
                                 [&] {
                                   for (int i = 0; i < reps; ++i) pdq.HashImage(img512);
                                 }) /
                      reps;
  hash::DihedralHashes dih;
  const double t512d = MedianTime(o.runs,
                                  [&] {
                                    for (int i = 0; i < reps; ++i) pdq.HashImage(img512, 0, &dih);
                                  }) /
                       reps;
  std::printf(
      "\nPDQ step after decoding, 512x512 RGB input: %.3f ms (with 8 dihedral variants: %.3f ms)\n",
      1000 * t512, 1000 * t512d);

  std::printf("\ntargets (single thread):\n");
  int failed = 0;
  if (!big.empty()) {
    failed += Target("fast >= 2x reference throughput on photos >= 1 MP", fast1_big >= 2 * ref1_big,
                     fmt::format("{:.1f} vs {:.1f} images/s = {:.2f}x", fast1_big, ref1_big,
                                 fast1_big / ref1_big));
  }
  if (fast_overhead >= 0) {
    failed +=
        Target("everything after decoding adds <= 30% to the decode floor (fast mode)",
               fast_overhead <= 0.30,
               fmt::format("{:.1f}% of libjpeg-turbo's decode, {:.1f}% of our own faster decode",
                           100 * fast_overhead, 100 * fast_overhead_own));
  }
  failed += Target("PDQ step after decoding <= 1 ms for 512x512", t512 <= 0.001,
                   fmt::format("{:.3f} ms", 1000 * t512));
  return failed;
}

// Distance of fast-mode hashes to reference-mode hashes, per corpus.
int RunFastMode(const Options& o) {
  int failed = 0;
  for (const std::string& dir : {o.photos, o.extra}) {
    if (dir.empty()) continue;
    const auto files = LoadDir(dir);
    hash::ImageHasher h;
    hash::ImageHashOptions fast, ref;
    fast.digests = ref.digests = false;
    ref.mode = hash::HashMode::kReference;
    std::vector<int> d;
    for (const auto& f : files) {
      auto a = h.HashBytes(f.bytes, ref);
      auto b = h.HashBytes(f.bytes, fast);
      if (a.ok() && b.ok() && a->pdq.quality >= 80)
        d.push_back(hash::Distance(a->pdq.hash, b->pdq.hash));
    }
    if (d.empty()) continue;
    std::sort(d.begin(), d.end());
    const int median = d[d.size() / 2], p95 = d[static_cast<size_t>(0.95 * (d.size() - 1))];
    std::printf("%s: %zu images of quality >= 80: median %d, p95 %d, max %d\n", dir.c_str(),
                d.size(), median, p95, d.back());
    failed += Target("median <= 6 and p95 <= 10", median <= 6 && p95 <= 10,
                     fmt::format("median {}, p95 {}", median, p95));
  }
  return failed;
}

const Register kHash("hash", "decode+PDQ throughput, fast vs reference, stages, decode floor",
                     RunHash);
const Register kFast("fastmode",
                     "distance of fast-mode hashes to reference mode (--photos, --extra)",
                     RunFastMode);

}  // namespace
}  // namespace takedown::bench
