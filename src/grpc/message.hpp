// gRPC length-prefixed messages (the gRPC project's doc/PROTOCOL-HTTP2.md, "Length-Prefixed-
// Message"): a 1-byte compressed flag (0 or 1), a 4-byte big-endian length, then the message.
// Sans-I/O: the deframer takes bytes as they come and hands out whole messages.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "grpc/status.hpp"

namespace portico::grpc {

inline constexpr std::size_t message_prefix_size = 5;

/// One whole message. `payload` is a view into the input given to consume() when the message
/// arrived in one piece, else into the deframer's buffer; valid until the next consume() or
/// reset().
struct message_view {
  bool compressed = false;  ///< the flag: the payload is in the call's grpc-encoding
  std::string_view payload;
};

/// What one deframer::consume() call did.
struct deframe_result {
  std::size_t used = 0;  ///< input bytes taken (all of them unless a message completed)
  /// grpc_category(): internal (a flag other than 0 or 1), resource_exhausted (a length above
  /// the limit). Errors are sticky: consume() returns the same error from then on.
  std::error_code ec;
  std::string_view detail;  ///< what was wrong, for grpc-message; static storage
  bool has_message = false;
  message_view message;  ///< when has_message
};

/// Splits a byte stream into messages. "Need more" is has_message == false with no error; a
/// caller loops while bytes remain:
///
///   while (!in.empty()) { auto r = d.consume(in); if (r.ec) ...; in.remove_prefix(r.used);
///                         if (r.has_message) use(r.message); }
///   at the end of the stream: d.idle() false → the last message was cut short (INTERNAL)
class deframer {
 public:
  /// `max_message_size`: larger announced lengths are refused (RESOURCE_EXHAUSTED) before any
  /// payload is buffered, so memory stays below max_message_size + 5.
  explicit deframer(std::size_t max_message_size = 4 * 1024 * 1024) noexcept
      : max_(max_message_size) {}

  /// Takes bytes until one message is complete (then stops, `used` covers its last byte) or
  /// the input is used up.
  deframe_result consume(std::string_view in);

  /// No partial message held: the stream may end here.
  bool idle() const noexcept { return !failed_ && have_ == 0; }
  bool failed() const noexcept { return failed_; }
  /// Bytes of the current partial message (prefix included) received so far.
  std::size_t partial_bytes() const noexcept { return have_; }
  /// Hands over the storage of the message just returned when its `payload` views the
  /// deframer's buffer (it came in pieces); nullopt when the payload views the caller's input.
  std::optional<std::string> take_payload(std::string_view payload) noexcept;
  void reset() noexcept;

 private:
  deframe_result fail(status_code c, std::string_view detail) noexcept;

  std::size_t max_;
  std::array<unsigned char, message_prefix_size> prefix_{};
  std::size_t have_ = 0;  // bytes of the current message taken (prefix + payload)
  std::uint32_t length_ = 0;
  std::string buffer_;  // payload of a message that came in pieces
  bool failed_ = false;
  status_code error_ = status_code::ok;
  std::string_view detail_;
};

/// The 5-byte prefix of a message of `length` bytes.
std::array<char, message_prefix_size> encode_prefix(bool compressed, std::uint32_t length) noexcept;

/// Appends prefix + payload to `out`. `payload` must be shorter than 2^32 bytes.
void append_message(std::string& out, std::string_view payload, bool compressed = false);

}  // namespace portico::grpc
