// WebSocket frame codec (RFC 6455 §5), sans-I/O: an incremental parser over views of the
// caller's bytes, and a serializer.
//
// The parser never copies a payload and never allocates. It copies at most the 14 octets of a
// frame header into itself (so a header may arrive split anywhere), then hands the payload out
// as views of the input, still masked, with its offset in the frame so that the caller unmasks
// it where it wants it (in place with unmask(), or while copying with unmask_copy()):
//
//   for (;;) {
//     parse_result r = parser.parse(in);
//     in = in.subspan(r.consumed);          // always: the parser keeps no view of `in`
//     switch (r.status) {
//       case parse_status::need_more: wait for more bytes (everything was consumed)
//       case parse_status::header:    a frame begins (r.header); r.frame_end if it is empty
//       case parse_status::payload:   r.payload = the next bytes of its payload (masked), at
//                                     r.offset in the frame; r.frame_end on the last ones
//       case parse_status::error:     send Close with r.error.wire_code(), r.error.detail; stop
//     }
//   }
//
// What it checks at the header, as soon as the octets that show it arrived (RFC 6455 §5.2,
// §5.4, §5.5; RFC 7692 §6), every failure being close code 1002 (protocol error):
//   - RSV2/RSV3 set; RSV1 set unless permessage-deflate was negotiated (allow_rsv1), or set on
//     a control frame or a continuation frame (RFC 7692 §6.1: only on a message's first frame);
//   - reserved opcodes 0x3-0x7 and 0xB-0xF;
//   - the mask bit: client-to-server frames must be masked, server-to-client must not (§5.1);
//   - control frames: FIN set, payload <= 125 octets (§5.5);
//   - lengths: the minimal encoding (§5.2 "the minimal number of bytes MUST be used") and the
//     most significant bit of a 64-bit length 0;
//   - fragmentation (§5.4): a continuation frame only inside a fragmented message, a text or
//     binary frame only outside one. (Control frames may come between fragments.)
// Message size, UTF-8, Close payloads and the rest belong to the session.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ws/errors.hpp"

namespace portico::ws {

/// Frame opcodes (RFC 6455 §5.2, §11.8).
enum class opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xa,
};

constexpr bool is_control(opcode op) noexcept {
  return (static_cast<std::uint8_t>(op) & 0x8) != 0;
}
std::string_view opcode_name(opcode op) noexcept;

using masking_key = std::array<std::byte, 4>;

/// Octets of the longest frame header: 2 + 8 (64-bit length) + 4 (masking key).
inline constexpr std::size_t max_header_size = 14;
/// RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less".
inline constexpr std::size_t max_control_payload = 125;

struct frame_header {
  bool fin = true;
  bool rsv1 = false;  ///< permessage-deflate: "this message is compressed" (first frame only)
  bool rsv2 = false;
  bool rsv3 = false;
  opcode op = opcode::continuation;
  bool masked = false;
  std::uint64_t length = 0;
  masking_key mask{};
};

/// Which side's frames the parser reads.
enum class role : std::uint8_t {
  server,  ///< reads client frames: each must be masked
  client,  ///< reads server frames: none may be masked
};

struct parser_options {
  role side = role::server;
  /// permessage-deflate was negotiated: RSV1 may be set on the first frame of a data message.
  bool allow_rsv1 = false;
};

enum class parse_status : std::uint8_t { need_more, header, payload, error };

struct parse_result {
  parse_status status = parse_status::need_more;
  /// Bytes of the input taken (drop them whatever the status; 0 on error).
  std::size_t consumed = 0;
  /// header, payload: the header of the current frame.
  frame_header header;
  /// payload: the next payload bytes, a view of the input, still masked.
  std::span<const std::byte> payload;
  /// payload: the position of payload[0] in the frame's payload (the unmasking phase).
  std::uint64_t offset = 0;
  /// header, payload: the frame is complete (its last payload byte was handed out, or it has
  /// none).
  bool frame_end = false;
  /// error: the close code (1002) and what was wrong.
  ws_error error;
};

class frame_parser {
 public:
  frame_parser() noexcept = default;
  explicit frame_parser(const parser_options& o) noexcept : options_(o) {}

  void set_allow_rsv1(bool on) noexcept { options_.allow_rsv1 = on; }
  const parser_options& options() const noexcept { return options_; }

  /// Parses from the start of `in` (the bytes after those consumed so far). Yields at most one
  /// event. Reads no byte past in.size(), keeps no pointer into `in`. After an error every
  /// later call returns the same error until reset().
  parse_result parse(std::span<const std::byte> in) noexcept;
  parse_result parse(std::span<const char> in) noexcept { return parse(std::as_bytes(in)); }

  /// A fragmented data message is open (its first frame had FIN clear, its last did not come).
  bool in_message() const noexcept { return in_message_; }
  bool failed() const noexcept { return static_cast<bool>(failure_); }
  /// Payload bytes of the current frame not handed out yet.
  std::uint64_t remaining() const noexcept { return remaining_; }

  void reset() noexcept;

 private:
  parse_result fail(ws_error e) noexcept;
  ws_error check_first_octets() const noexcept;

  parser_options options_{};
  std::array<std::byte, max_header_size> buf_{};
  std::uint8_t have_ = 0;    // header octets in buf_
  bool in_payload_ = false;  // between a header event and the frame's end
  frame_header header_{};
  std::uint64_t remaining_ = 0;
  std::uint64_t offset_ = 0;
  bool in_message_ = false;
  ws_error failure_{};
};

/// XORs `data` with `mask`, `offset` being the position of data[0] in the frame's payload
/// (RFC 6455 §5.3). Applying it twice restores the data.
void unmask(std::span<std::byte> data, const masking_key& mask, std::uint64_t offset) noexcept;
/// Same, from `src` into `dst` (dst.size() >= src.size(); they may be the same memory).
void unmask_copy(std::byte* dst, std::span<const std::byte> src, const masking_key& mask,
                 std::uint64_t offset) noexcept;

/// An encoded frame header.
struct header_bytes {
  std::array<std::byte, max_header_size> data{};
  std::uint8_t size = 0;
  std::span<const std::byte> view() const noexcept { return {data.data(), size}; }
};

/// Encodes a frame header with the minimal length encoding; with `mask`, the MASK bit and key
/// (a client's frames), without, an unmasked header (a server's frames).
header_bytes encode_header(opcode op, bool fin, bool rsv1, std::uint64_t length,
                           const masking_key* mask = nullptr) noexcept;

/// Appends a whole frame to `out`; with `mask`, the payload is masked with it.
void append_frame(std::string& out, opcode op, bool fin, bool rsv1,
                  std::span<const std::byte> payload, const masking_key* mask = nullptr);
inline void append_frame(std::string& out, opcode op, bool fin, std::string_view payload,
                         const masking_key* mask = nullptr) {
  append_frame(out, op, fin, false, std::as_bytes(std::span(payload)), mask);
}

}  // namespace portico::ws
