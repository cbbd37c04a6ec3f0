// HPACK integer representation (RFC 7541 §5.1): an N-bit prefix in the first octet, then, if
// the value does not fit the prefix, 7-bit groups least significant first, each octet but the
// last with its high bit set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "hpack/errors.hpp"

namespace portico::hpack {

/// The largest integer decode_integer() accepts. Every HPACK integer is an index, a length or a
/// table size; RFC 7541 §5.1 leaves the bound to the implementation, and 32 bits covers the
/// largest SETTINGS value (RFC 9113 §6.5.1).
inline constexpr std::uint32_t max_integer = 0xffffffff;

/// A decoded integer: `error` is errc{} on success, and then `size` octets were read.
struct integer_result {
  errc error{};
  std::uint32_t value = 0;
  std::size_t size = 0;
};

/// Decodes an integer with a `prefix_bits`-bit prefix (1..8) from the start of `in`; the high
/// 8 - prefix_bits bits of the first octet (the representation's type flags) are ignored.
/// Errors: truncated (empty input, or it ends while octets with the continuation bit set
/// promise more), integer_overflow (the value exceeds max_integer, or the encoding uses more
/// octets than a value up to max_integer needs: at most 5 after the prefix, which also refuses
/// endless runs of 0x80 "zero" octets). Reads only the octets it reports.
constexpr integer_result decode_integer(std::span<const std::byte> in, int prefix_bits) noexcept {
  if (in.empty()) return {errc::truncated};
  const std::uint32_t prefix_max = (1u << prefix_bits) - 1;
  std::uint32_t value = static_cast<std::uint32_t>(in[0]) & prefix_max;
  if (value < prefix_max) return {errc{}, value, 1};
  std::uint64_t v = value;
  // 5 groups of 7 bits reach 2^35 > 2^32: a sixth continuation octet is always an overflow.
  for (std::size_t i = 1; i <= 5; ++i) {
    if (i >= in.size()) return {errc::truncated};
    const auto b = static_cast<std::uint32_t>(in[i]);
    v += static_cast<std::uint64_t>(b & 0x7f) << (7 * (i - 1));
    if (v > max_integer) return {errc::integer_overflow};
    if ((b & 0x80) == 0) return {errc{}, static_cast<std::uint32_t>(v), i + 1};
  }
  return {errc::integer_overflow};
}

/// Octets encode_integer() writes for `value` with a `prefix_bits`-bit prefix (1..8): 1 to 6.
constexpr std::size_t integer_size(std::uint32_t value, int prefix_bits) noexcept {
  const std::uint32_t prefix_max = (1u << prefix_bits) - 1;
  if (value < prefix_max) return 1;
  value -= prefix_max;
  std::size_t n = 2;
  while (value >= 128) {
    value >>= 7;
    ++n;
  }
  return n;
}

/// Writes `value` with a `prefix_bits`-bit prefix (1..8) at `out`, ORing `flags` (the
/// representation's type bits, which must lie outside the prefix) into the first octet.
/// Writes integer_size(value, prefix_bits) octets and returns the position after them.
constexpr std::byte* encode_integer(std::uint32_t value, int prefix_bits, std::uint8_t flags,
                                    std::byte* out) noexcept {
  const std::uint32_t prefix_max = (1u << prefix_bits) - 1;
  if (value < prefix_max) {
    *out++ = static_cast<std::byte>(flags | value);
    return out;
  }
  *out++ = static_cast<std::byte>(flags | prefix_max);
  value -= prefix_max;
  while (value >= 128) {
    *out++ = static_cast<std::byte>((value & 0x7f) | 0x80);
    value >>= 7;
  }
  *out++ = static_cast<std::byte>(value);
  return out;
}

}  // namespace portico::hpack
