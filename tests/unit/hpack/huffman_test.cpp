// RFC 7541 §5.2 and Appendix B: Huffman encoding and the table-driven decoder.
#include "hpack/huffman.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "hpack_test_util.hpp"

namespace portico::hpack {
namespace {

using test::from_hex;
using test::to_hex;

std::string encode_hex(std::string_view s) {
  std::vector<std::byte> out(huffman_encoded_size(s));
  std::byte* end = huffman_encode(s, out.data());
  EXPECT_EQ(static_cast<std::size_t>(end - out.data()), out.size());
  return to_hex(out);
}

huffman_result decode_into(std::span<const std::byte> in, std::string& out) {
  out.assign(huffman_decoded_size_bound(in.size()), '\0');
  auto r = huffman_decode(in, out);
  out.resize(r.error == errc{} ? r.size : 0);
  return r;
}

// The strings Appendix C.4 and C.6 Huffman-code, with their codes.
const std::vector<std::pair<std::string, std::string>> appendix_c = {
    {"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"},
    {"no-cache", "a8eb10649cbf"},
    {"custom-key", "25a849e95ba97d7f"},
    {"custom-value", "25a849e95bb8e8b4bf"},
    {"302", "6402"},
    {"private", "aec3771a4b"},
    {"Mon, 21 Oct 2013 20:13:21 GMT", "d07abe941054d444a8200595040b8166e082a62d1bff"},
    {"https://www.example.com", "9d29ad171863c78f0b97c8e9ae82ae43d3"},
    {"307", "640eff"},
    {"Mon, 21 Oct 2013 20:13:22 GMT", "d07abe941054d444a8200595040b8166e084a62d1bff"},
    {"gzip", "9bd9ab"},
    {"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
     "94e7821dd7f2e6c7b335dfdfcd5b3960d5af27087f3672c1ab270fb5291f9587316065c003ed4ee5b1063d5007"},
};

TEST(HpackHuffman, AppendixCStrings) {
  for (const auto& [plain, hex] : appendix_c) {
    EXPECT_EQ(encode_hex(plain), hex) << plain;
    std::string out;
    auto r = decode_into(from_hex(hex), out);
    EXPECT_EQ(r.error, errc{}) << plain;
    EXPECT_EQ(out, plain);
  }
}

TEST(HpackHuffman, AppendixBSamples) {
  // A few rows of the table, including the shortest and longest codes.
  EXPECT_EQ(huffman_code_of('0').code, 0x0u);
  EXPECT_EQ(huffman_code_of('0').bits, 5);
  EXPECT_EQ(huffman_code_of('a').code, 0x3u);
  EXPECT_EQ(huffman_code_of(' ').code, 0x14u);
  EXPECT_EQ(huffman_code_of(' ').bits, 6);
  EXPECT_EQ(huffman_code_of(10).code, 0x3ffffffcu);
  EXPECT_EQ(huffman_code_of(10).bits, 30);
  EXPECT_EQ(huffman_code_of(255).code, 0x3ffffeeu);
  EXPECT_EQ(huffman_code_of(255).bits, 26);
  EXPECT_EQ(huffman_code_of(256).code, 0x3fffffffu);
  EXPECT_EQ(huffman_code_of(256).bits, 30);
}

TEST(HpackHuffman, EverySymbolRoundTrips) {
  for (int c = 0; c < 256; ++c) {
    for (int len : {1, 2, 3, 7, 8}) {
      std::string s(static_cast<std::size_t>(len), static_cast<char>(c));
      std::vector<std::byte> enc(huffman_encoded_size(s));
      huffman_encode(s, enc.data());
      std::string out;
      auto r = decode_into(enc, out);
      ASSERT_EQ(r.error, errc{}) << c;
      ASSERT_EQ(out, s) << c;
    }
  }
}

TEST(HpackHuffman, RandomStringsRoundTrip) {
  std::mt19937 rng(7541);
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 200, '\0');
    const bool ascii = i % 2 == 0;
    for (char& c : s)
      c = static_cast<char>(ascii ? 32 + rng() % 95 : rng() % 256);
    std::vector<std::byte> enc(huffman_encoded_size(s));
    huffman_encode(s, enc.data());
    std::string out;
    auto r = decode_into(enc, out);
    ASSERT_EQ(r.error, errc{});
    ASSERT_EQ(out, s);
    ASSERT_LE(s.size(), huffman_decoded_size_bound(enc.size()));
  }
}

TEST(HpackHuffman, DecodedBoundIsTight) {
  // '0', '1', '2', 'a', ... have 5-bit codes: 8 of them fill exactly 5 octets.
  std::string s(8, '0');
  EXPECT_EQ(huffman_encoded_size(s), 5u);
  EXPECT_EQ(huffman_decoded_size_bound(5), 8u);
  std::vector<std::byte> enc(5);
  huffman_encode(s, enc.data());
  std::string out(8, '\0');
  auto r = huffman_decode(enc, out);
  EXPECT_EQ(r.error, errc{});
  EXPECT_EQ(r.size, 8u);
  // One octet short of room: string_too_long, without writing past the buffer.
  std::string small(7, '\0');
  EXPECT_EQ(huffman_decode(enc, small).error, errc::string_too_long);
  EXPECT_EQ(huffman_decode(enc, std::span<char>()).error, errc::string_too_long);
}

TEST(HpackHuffman, EmptyString) {
  EXPECT_EQ(huffman_encoded_size(""), 0u);
  auto r = huffman_decode({}, std::span<char>());
  EXPECT_EQ(r.error, errc{});
  EXPECT_EQ(r.size, 0u);
}

TEST(HpackHuffman, EosIsAnError) {
  std::string out;
  // 32 ones: the 30-bit EOS code, then 2 bits of padding.
  EXPECT_EQ(decode_into(from_hex("ffffffff"), out).error, errc::huffman_eos);
  // 'a' (00011) followed by EOS (30 ones), padded with ones.
  EXPECT_EQ(decode_into(from_hex("1fffffffff"), out).error, errc::huffman_eos);
  // EOS in the middle of a longer string.
  EXPECT_EQ(decode_into(from_hex("f1e3ffffffffc2e5"), out).error, errc::huffman_eos);
}

TEST(HpackHuffman, PaddingLongerThanSevenBits) {
  std::string out;
  // A whole octet of ones after the last symbol: 8 bits of padding.
  EXPECT_EQ(decode_into(from_hex("ff"), out).error, errc::huffman_padding_too_long);
  // 'a' = 00011, then 3 + 8 ones.
  EXPECT_EQ(decode_into(from_hex("1fff"), out).error, errc::huffman_padding_too_long);
  // "www.example.com" followed by an extra 0xff octet.
  EXPECT_EQ(decode_into(from_hex("f1e3c2e5f23a6ba0ab90f4ffff"), out).error,
            errc::huffman_padding_too_long);
  // 16 and 24 ones: not yet EOS (30 ones), but far past 7 bits.
  EXPECT_EQ(decode_into(from_hex("ffff"), out).error, errc::huffman_padding_too_long);
  EXPECT_EQ(decode_into(from_hex("ffffff"), out).error, errc::huffman_padding_too_long);
  // 7 ones of padding are fine: 'a' (00011) + 3 ones fills one octet; '0' (00000) + 3 ones.
  EXPECT_EQ(decode_into(from_hex("1f"), out).error, errc{});
  EXPECT_EQ(out, "a");
  EXPECT_EQ(decode_into(from_hex("07"), out).error, errc{});
  EXPECT_EQ(out, "0");
}

TEST(HpackHuffman, PaddingNotOnes) {
  std::string out;
  // 'a' = 00011 followed by 000: padding of zeros.
  EXPECT_EQ(decode_into(from_hex("18"), out).error, errc::huffman_bad_padding);
  // 'a' then 101.
  EXPECT_EQ(decode_into(from_hex("1d"), out).error, errc::huffman_bad_padding);
  // "www.example.com" with its last padding bit cleared.
  EXPECT_EQ(decode_into(from_hex("f1e3c2e5f23a6ba0ab90f4fe"), out).error,
            errc::huffman_bad_padding);
}

TEST(HpackHuffman, EncodesPaddingAsEosPrefix) {
  // 'a' (5 bits) is padded with three ones.
  EXPECT_EQ(encode_hex("a"), "1f");
  // "aaa..." of 8 symbols = 40 bits: no padding.
  EXPECT_EQ(encode_hex("00000000"), "0000000000");
}

}  // namespace
}  // namespace portico::hpack
