// RFC 7541 §5.1 integer representation: Appendix C.1 examples, every prefix size, limits.
#include "hpack/integer.hpp"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

#include "hpack_test_util.hpp"

namespace portico::hpack {
namespace {

using test::from_hex;
using test::to_hex;

std::string encode_hex(std::uint32_t v, int prefix, std::uint8_t flags = 0) {
  std::array<std::byte, 8> buf{};
  std::byte* end = encode_integer(v, prefix, flags, buf.data());
  EXPECT_EQ(static_cast<std::size_t>(end - buf.data()), integer_size(v, prefix));
  return to_hex(std::span<const std::byte>(buf.data(), end));
}

TEST(HpackInteger, AppendixC1Examples) {
  // C.1.1: 10 with a 5-bit prefix; C.1.2: 1337 with a 5-bit prefix; C.1.3: 42 at an octet
  // boundary (8-bit prefix).
  EXPECT_EQ(encode_hex(10, 5), "0a");
  EXPECT_EQ(encode_hex(1337, 5), "1f9a0a");
  EXPECT_EQ(encode_hex(42, 8), "2a");
  auto r = decode_integer(from_hex("1f9a0a"), 5);
  EXPECT_EQ(r.error, errc{});
  EXPECT_EQ(r.value, 1337u);
  EXPECT_EQ(r.size, 3u);
}

TEST(HpackInteger, EveryPrefixRoundTrips) {
  for (int n = 1; n <= 8; ++n) {
    const std::uint32_t pmax = (1u << n) - 1;
    const std::vector<std::uint32_t> values = {
        0,    1,     pmax - 1, pmax,     pmax + 1,   pmax + 127,  pmax + 128, 300,
        4096, 16384, 65535,    1u << 21, 0x7fffffff, 0xfffffffeu, 0xffffffffu};
    const auto flags = static_cast<std::uint8_t>(0xff << n & 0xff);  // type bits above the prefix
    for (std::uint32_t v : values) {
      if (n == 1 && v == pmax - 1 && v == 0) continue;
      std::array<std::byte, 8> buf{};
      std::byte* end = encode_integer(v, n, flags, buf.data());
      const auto size = static_cast<std::size_t>(end - buf.data());
      ASSERT_EQ(size, integer_size(v, n)) << n << " " << v;
      ASSERT_LE(size, 6u);
      // The flags survive in the first octet and do not disturb decoding.
      EXPECT_EQ(static_cast<unsigned>(buf[0]) & flags, flags);
      auto r = decode_integer(std::span<const std::byte>(buf.data(), size), n);
      ASSERT_EQ(r.error, errc{}) << n << " " << v;
      EXPECT_EQ(r.value, v) << n << " " << v;
      EXPECT_EQ(r.size, size);
      // Trailing octets are not read.
      buf[size] = std::byte{0xff};
      r = decode_integer(std::span<const std::byte>(buf.data(), size + 1), n);
      EXPECT_EQ(r.value, v);
      EXPECT_EQ(r.size, size);
    }
  }
}

TEST(HpackInteger, PrefixBoundary) {
  // A value of 2^N - 1 does not fit the prefix: all ones, then a zero octet (§5.1).
  EXPECT_EQ(encode_hex(31, 5), "1f00");
  EXPECT_EQ(encode_hex(30, 5), "1e");
  EXPECT_EQ(encode_hex(255, 8), "ff00");
  EXPECT_EQ(encode_hex(1, 1), "0100");
  EXPECT_EQ(encode_hex(0, 1), "00");
  EXPECT_EQ(encode_hex(0xffffffffu, 8), "ff80feffff0f");
}

TEST(HpackInteger, Truncated) {
  EXPECT_EQ(decode_integer({}, 5).error, errc::truncated);
  EXPECT_EQ(decode_integer(from_hex("1f"), 5).error, errc::truncated);
  EXPECT_EQ(decode_integer(from_hex("1f9a"), 5).error, errc::truncated);
  EXPECT_EQ(decode_integer(from_hex("ff80808080"), 8).error, errc::truncated);
}

TEST(HpackInteger, Overflow) {
  // 2^32 - 1 is the largest; 2^32 overflows.
  auto r = decode_integer(from_hex("ff80feffff0f"), 8);
  EXPECT_EQ(r.error, errc{});
  EXPECT_EQ(r.value, 0xffffffffu);
  EXPECT_EQ(decode_integer(from_hex("ff81feffff0f"), 8).error, errc::integer_overflow);
  EXPECT_EQ(decode_integer(from_hex("ff80ffffff0f"), 8).error, errc::integer_overflow);
  EXPECT_EQ(decode_integer(from_hex("1fffffffff7f"), 5).error, errc::integer_overflow);
  // A sixth continuation octet is an overflow even when it adds nothing: "zero" padding octets
  // cannot be used to make the decoder read without end.
  EXPECT_EQ(decode_integer(from_hex("1f808080808000"), 5).error, errc::integer_overflow);
  EXPECT_EQ(decode_integer(from_hex("1f8080808080808080"), 5).error, errc::integer_overflow);
  // Redundant zero groups within five octets are accepted (§5.1 does not forbid them).
  r = decode_integer(from_hex("1f808000"), 5);
  EXPECT_EQ(r.error, errc{});
  EXPECT_EQ(r.value, 31u);
}

}  // namespace
}  // namespace portico::hpack
