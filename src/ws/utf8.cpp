// UTF-8 validating automaton (see utf8.hpp).
#include "ws/utf8.hpp"

#include <array>
#include <cstring>

namespace portico::ws {
namespace {

// Byte classes, Unicode Table 3-7.
enum : std::uint8_t {
  c_ascii,  // 00..7F
  c_80_8f,  // continuation, low
  c_90_9f,  // continuation, middle
  c_a0_bf,  // continuation, high
  c_bad,    // C0, C1 (always overlong), F5..FF (above U+10FFFF)
  c_c2_df,  // lead of 2
  c_e0,     // lead of 3, second byte A0..BF (no overlongs)
  c_e1_ef,  // lead of 3 (E1..EC, EE, EF)
  c_ed,     // lead of 3, second byte 80..9F (no surrogates D800..DFFF)
  c_f0,     // lead of 4, second byte 90..BF (no overlongs)
  c_f1_f3,  // lead of 4
  c_f4,     // lead of 4, second byte 80..8F (no code point above U+10FFFF)
  n_classes
};

constexpr std::array<std::uint8_t, 256> make_classes() {
  std::array<std::uint8_t, 256> t{};
  for (int b = 0; b < 256; ++b) {
    std::uint8_t c = c_bad;
    if (b <= 0x7f)
      c = c_ascii;
    else if (b <= 0x8f)
      c = c_80_8f;
    else if (b <= 0x9f)
      c = c_90_9f;
    else if (b <= 0xbf)
      c = c_a0_bf;
    else if (b <= 0xc1)
      c = c_bad;
    else if (b <= 0xdf)
      c = c_c2_df;
    else if (b == 0xe0)
      c = c_e0;
    else if (b == 0xed)
      c = c_ed;
    else if (b <= 0xef)
      c = c_e1_ef;
    else if (b == 0xf0)
      c = c_f0;
    else if (b <= 0xf3)
      c = c_f1_f3;
    else if (b == 0xf4)
      c = c_f4;
    t[static_cast<std::size_t>(b)] = c;
  }
  return t;
}

// States: 0 accept; 1/2/3 need that many continuation bytes (80..BF); 4 after E0 (A0..BF);
// 5 after ED (80..9F); 6 after F0 (90..BF); 7 after F4 (80..8F); 8 reject.
constexpr std::uint8_t R = utf8_validator::reject;
constexpr std::uint8_t transitions[9][n_classes] = {
    //  asc 80  90  a0 bad c2  e0 e1  ed  f0 f1  f4
    {0, R, R, R, R, 1, 4, 2, 5, 6, 3, 7},  // 0
    {R, 0, 0, 0, R, R, R, R, R, R, R, R},  // 1
    {R, 1, 1, 1, R, R, R, R, R, R, R, R},  // 2
    {R, 2, 2, 2, R, R, R, R, R, R, R, R},  // 3
    {R, R, R, 1, R, R, R, R, R, R, R, R},  // 4
    {R, 1, 1, R, R, R, R, R, R, R, R, R},  // 5
    {R, R, 2, 2, R, R, R, R, R, R, R, R},  // 6
    {R, 2, R, R, R, R, R, R, R, R, R, R},  // 7
    {R, R, R, R, R, R, R, R, R, R, R, R},  // 8
};

constexpr std::array<std::uint8_t, 256> classes = make_classes();

}  // namespace

bool utf8_validator::feed(std::span<const std::byte> bytes) noexcept {
  if (state_ == reject) {
    error_offset_ = 0;
    return false;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t n = bytes.size();
  std::uint8_t s = state_;
  std::size_t i = 0;
  while (i < n) {
    // ASCII runs, 8 bytes at a time, while between characters.
    if (s == 0) {
      while (i + 8 <= n) {
        std::uint64_t w;
        std::memcpy(&w, p + i, 8);
        if ((w & 0x8080808080808080ULL) != 0) break;
        i += 8;
      }
      if (i == n) break;
    }
    s = transitions[s][classes[p[i]]];
    if (s == reject) {
      state_ = reject;
      error_offset_ = i;
      return false;
    }
    ++i;
  }
  state_ = s;
  return true;
}

bool is_valid_utf8(std::string_view s) noexcept {
  utf8_validator v;
  return v.feed(s) && v.complete();
}

}  // namespace portico::ws
