// Incremental UTF-8 validation (RFC 3629 §4; Unicode Table 3-7 "Well-Formed UTF-8 Byte
// Sequences") for WebSocket text messages and Close reasons (RFC 6455 §5.6, §8.1).
//
// A deterministic automaton over byte classes, in the spirit of Bjoern Hoehrmann's decoder: it
// rejects at the first byte that cannot continue a well-formed sequence (overlong forms such as
// C0 80 or E0 80 80, surrogates ED A0..BF, code points above U+10FFFF such as F4 90 or F5..FF),
// so a text message split across frames fails at that byte, not at the end of the message
// (RFC 6455 §8.1: "fail fast"). A sequence truncated by the end of the message is detected by
// complete() == false at the end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace portico::ws {

class utf8_validator {
 public:
  /// Validates the next bytes. Returns false if they (with what came before) are not a prefix
  /// of well-formed UTF-8; the validator then stays failed until reset(). Never reads past
  /// `bytes`, never allocates.
  bool feed(std::span<const std::byte> bytes) noexcept;
  bool feed(std::string_view s) noexcept { return feed(std::as_bytes(std::span(s))); }

  /// The offset, in the last feed() that failed, of the byte that was rejected.
  std::size_t error_offset() const noexcept { return error_offset_; }

  /// True if everything fed so far is well-formed and ends on a character boundary.
  bool complete() const noexcept { return state_ == 0; }
  bool failed() const noexcept { return state_ == reject; }

  void reset() noexcept { state_ = 0; }

  static constexpr std::uint8_t reject = 8;

 private:
  std::uint8_t state_ = 0;
  std::size_t error_offset_ = 0;
};

/// Whether `s` is entirely well-formed UTF-8.
bool is_valid_utf8(std::string_view s) noexcept;

}  // namespace portico::ws
