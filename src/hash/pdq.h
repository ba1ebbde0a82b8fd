// PDQ hashing of a luma plane or a decoded image.
//
// A PdqHasher owns its scratch buffers and reuses them, so hashing after the first image does not
// allocate unless the image is larger than any seen before. Not thread-safe: use one per thread.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "hash/hash256.h"
#include "hash/pdq_kernels.h"
#include "media/image.h"

namespace takedown::hash {

struct PdqHash {
  Hash256 hash;
  int quality = 0;
};

// The eight dihedral variants in the reference's order (original, rotate 90, rotate 180,
// rotate 270, flip x, flip y, flip plus-1, flip minus-1).
using DihedralHashes = std::array<Hash256, pdq::kDihedralCount>;

// Seconds spent per step; added to, never reset, so callers can total over many images.
struct PdqStageTimes {
  double luma = 0;
  double filter = 0;  // Jarosz filter and decimation
  double dct = 0;     // quality, DCT and bits
};

class PdqHasher {
 public:
  // Hashes `image`. With resize_to > 0, an image wider or taller than resize_to is first resized
  // to exactly resize_to x resize_to by nearest neighbour (source index floor(x * W / resize_to)),
  // as the reference CLI does with 512.
  PdqHash HashImage(const media::Image& image, int resize_to = 0,
                    DihedralHashes* dihedral = nullptr, PdqStageTimes* times = nullptr);

  // Hashes a rows x cols luma plane held in LumaBuffer(rows * cols).
  PdqHash HashLuma(int rows, int cols, DihedralHashes* dihedral = nullptr,
                   PdqStageTimes* times = nullptr);

  // A buffer of at least n floats for HashLuma's input; valid until the next call.
  float* LumaBuffer(size_t n);

 private:
  std::vector<float> luma_;
  std::vector<float> tmp_;
  std::vector<float> scratch_;
};

}  // namespace takedown::hash
