#include "hash/hash256.h"

#include <gtest/gtest.h>

namespace takedown::hash {
namespace {

TEST(Hash256, HexRoundTripKeepsBitLayout) {
  // Bit 0 is the lowest bit of word 0, printed last; bit 255 the highest, printed first.
  Hash256 h;
  h.set_bit(0);
  h.set_bit(255);
  h.set_bit(17);
  const std::string hex = h.ToHex();
  EXPECT_EQ(hex, "8000000000000000000000000000000000000000000000000000000000020001");
  auto back = Hash256::FromHex(hex);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, h);
  EXPECT_TRUE(back->bit(17));
  EXPECT_FALSE(back->bit(16));
  EXPECT_EQ(back->popcount(), 3);
}

TEST(Hash256, AcceptsUpperCase) {
  auto h = Hash256::FromHex(std::string(64, 'F'));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->popcount(), 256);
}

TEST(Hash256, RejectsWrongLengthWithItsSize) {
  auto h = Hash256::FromHex(std::string(63, 'a'));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(h.status().message().find("got 63"), std::string::npos) << h.status().message();
  EXPECT_FALSE(Hash256::FromHex("").ok());
  EXPECT_FALSE(Hash256::FromHex(std::string(65, 'a')).ok());
}

TEST(Hash256, RejectsNonHexNamingCharacterAndPosition) {
  std::string s(64, '0');
  s[11] = 'g';
  auto h = Hash256::FromHex(s);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("'g' at position 12"), std::string::npos)
      << h.status().message();
  s[11] = '\x01';
  h = Hash256::FromHex(s);
  ASSERT_FALSE(h.ok());
  EXPECT_NE(h.status().message().find("0x01"), std::string::npos) << h.status().message();
}

TEST(Hash256, DistanceCountsDifferingBits) {
  auto a = Hash256::FromHex("d8f8f0cee0f4a84f0637022a078f67f0b36e2ed596621e1d33e6339c4e9c9b22");
  auto b = Hash256::FromHex("d8f8f0cee0f4a84f0637022a038f67f0b36e2ed596631e1d33e6339c4e9c9b22");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(Distance(*a, *a), 0);
  EXPECT_EQ(Distance(*a, *b), 2);
  Hash256 zero, ones;
  for (int k = 0; k < 256; ++k) ones.set_bit(k);
  EXPECT_EQ(Distance(zero, ones), 256);
}

}  // namespace
}  // namespace takedown::hash
