// The string hash the encoder's table lookups share (static and dynamic table), usable at
// compile time. Not part of the codec's contract: any hash would do, since every lookup
// compares the strings of the candidates it finds.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace portico::hpack::detail {

inline constexpr std::uint64_t hash_mul = 0x9e3779b97f4a7c15ull;

constexpr std::uint64_t hash_step(std::uint64_t h, std::uint64_t w) noexcept {
  return (std::rotl(h, 5) ^ w) * hash_mul;
}

// `n` (<= 8) octets at `p` as a little-endian integer.
constexpr std::uint64_t load(const char* p, std::size_t n) noexcept {
  if (!std::is_constant_evaluated() && std::endian::native == std::endian::little && n >= 4) {
    // Two overlapping 4-octet loads; the octets they share land on the same bits.
    std::uint32_t lo, hi;
    std::memcpy(&lo, p, 4);
    std::memcpy(&hi, p + n - 4, 4);
    return lo | (static_cast<std::uint64_t>(hi) << (8 * (n - 4)));
  }
  std::uint64_t w = 0;
  for (std::size_t i = 0; i < n; ++i)
    w |= static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i);
  return w;
}

/// Hash of `s` continuing from `h` (0 to start): 8 octets per step.
constexpr std::uint64_t hash_bytes(std::uint64_t h, std::string_view s) noexcept {
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 8) {
    h = hash_step(h, load(p, 8));
    p += 8;
    n -= 8;
  }
  if (n > 0) h = hash_step(h, load(p, n));
  return hash_step(h, s.size());
}

constexpr std::uint32_t fold(std::uint64_t h) noexcept {
  return static_cast<std::uint32_t>(h ^ (h >> 32));
}

/// a == b, inlined: field names and values are short, and a call to memcmp per comparison
/// showed up in the encoder's profile. Overlapping word loads, no byte loop past 3 octets.
inline bool equal(std::string_view a, std::string_view b) noexcept {
  const std::size_t n = a.size();
  if (n != b.size()) return false;
  const char* p = a.data();
  const char* q = b.data();
  if (n >= 8) {
    if (n > 64) return std::memcmp(p, q, n) == 0;
    std::uint64_t x, y;
    for (std::size_t i = 0; i + 8 < n; i += 8) {
      std::memcpy(&x, p + i, 8);
      std::memcpy(&y, q + i, 8);
      if (x != y) return false;
    }
    std::memcpy(&x, p + n - 8, 8);
    std::memcpy(&y, q + n - 8, 8);
    return x == y;
  }
  if (n >= 4) {
    std::uint32_t x1, y1, x2, y2;
    std::memcpy(&x1, p, 4);
    std::memcpy(&y1, q, 4);
    std::memcpy(&x2, p + n - 4, 4);
    std::memcpy(&y2, q + n - 4, 4);
    return x1 == y1 && x2 == y2;
  }
  for (std::size_t i = 0; i < n; ++i)
    if (p[i] != q[i]) return false;
  return true;
}

}  // namespace portico::hpack::detail
