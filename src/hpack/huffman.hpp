// The HPACK Huffman code (RFC 7541 §5.2, Appendix B): encoding, and a table-driven decoder that
// consumes 4 bits per step (a 256-state machine generated at compile time from the code table;
// no bit-by-bit tree walk).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "hpack/errors.hpp"

namespace portico::hpack {

/// One code of RFC 7541 Appendix B: the `bits` low bits of `code`, most significant first.
struct huffman_code {
  std::uint32_t code = 0;
  std::uint8_t bits = 0;
};

/// The code of `symbol` (0..255 an octet, 256 EOS), as listed in RFC 7541 Appendix B.
huffman_code huffman_code_of(unsigned symbol) noexcept;

/// Octets the Huffman encoding of `s` takes: the codes' bits rounded up to whole octets.
std::size_t huffman_encoded_size(std::string_view s) noexcept;

/// Writes the Huffman encoding of `s` at `out` (huffman_encoded_size(s) octets), padded with
/// the high bits of EOS (all ones, §5.2), and returns the position after it.
std::byte* huffman_encode(std::string_view s, std::byte* out) noexcept;

/// Upper bound of the decoded length of `encoded_size` octets: the shortest code has 5 bits.
constexpr std::size_t huffman_decoded_size_bound(std::size_t encoded_size) noexcept {
  return encoded_size / 5 * 8 + (encoded_size % 5) * 8 / 5;
}

/// Result of huffman_decode(): `error` is errc{} on success, and then `size` octets were written.
struct huffman_result {
  errc error{};
  std::size_t size = 0;
};

/// Decodes a Huffman-coded string (RFC 7541 §5.2) into `out`.
/// Errors: huffman_eos (the input contains the EOS code), huffman_padding_too_long (the input
/// ends with more than 7 bits that do not complete a code, all ones), huffman_bad_padding (the
/// bits after the last complete code are not all ones), string_too_long (the decoded string
/// does not fit `out`; out.size() >= huffman_decoded_size_bound(in.size()) never fails so).
/// On error the contents of `out` are unspecified. Never reads outside `in` or writes outside
/// `out`. Fastest when out.size() > huffman_decoded_size_bound(in.size()).
huffman_result huffman_decode(std::span<const std::byte> in, std::span<char> out) noexcept;

}  // namespace portico::hpack
