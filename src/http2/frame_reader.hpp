// Incremental, zero-copy HTTP/2 frame reader (RFC 9113 §4, §6; RFC 9218 §7.1), sans-I/O.
//
// The caller keeps the input buffer, as with the HTTP/1 parser: it calls read() with all the
// bytes it holds that are not consumed yet; the reader yields the first frame, as views into
// that buffer, and how many bytes it took, or says how many more bytes it needs. It never
// copies a payload and never allocates.
//
//   for (;;) {
//     read_result r = reader.read(in.readable());
//     switch (r.status) {
//       case read_status::need_more:        read at least r.needed more bytes, then loop
//       case read_status::frame:            handle r.frame
//       case read_status::ignore:           nothing (unknown frame type, RFC 9113 §5.5)
//       case read_status::stream_error:     RST_STREAM r.error.stream_id with r.error.code
//       case read_status::connection_error: GOAWAY with r.error.code and r.error.detail; stop
//     }
//     in.consume(r.consumed);  // after the frame's views are done with
//   }
//
// What the reader checks is everything RFC 9113 §4 and §6 (and RFC 9218 §7.1) lets a receiver
// check from the frames alone, plus the one rule about frame order that needs no stream state:
// a field block (HEADERS or PUSH_PROMISE without END_HEADERS, then CONTINUATION frames) is
// contiguous (RFC 9113 §4.3, §6.2, §6.10). Stream states, flow-control windows, role rules
// (a server receiving PUSH_PROMISE, §8.4; a client receiving ENABLE_PUSH=1, §6.5.2), SETTINGS
// timing and flood rates belong to the session. docs/http2-frames.md lists every check.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "http2/constants.hpp"
#include "http2/errors.hpp"
#include "http2/frame.hpp"

namespace portico::http2 {

/// Limits the reader enforces. Each breach is a connection error.
struct reader_limits {
  /// The local SETTINGS_MAX_FRAME_SIZE (16384..16777215; clamped into that range). A frame
  /// with a longer payload is FRAME_SIZE_ERROR as soon as its header arrives (RFC 9113 §4.2).
  std::uint32_t max_frame_size = default_max_frame_size;
  /// Bytes on the wire of one field block: its HEADERS or PUSH_PROMISE frame and all its
  /// CONTINUATION frames, 9 octets per frame header included (so empty CONTINUATION frames
  /// count too). More is ENHANCE_YOUR_CALM, detected at the header of the frame that crosses
  /// the limit (the CONTINUATION flood defence, DESIGN.md §6). The default lets a block decode
  /// to well over a 64 KiB header list.
  std::size_t max_field_block_size = 128 * 1024;
};

enum class read_status : std::uint8_t {
  /// The input holds no whole frame: nothing consumed; call again with `needed` more bytes
  /// (or more) after the same ones.
  need_more,
  /// A valid frame: `frame` (all views into the input), `consumed` = its size.
  frame,
  /// A frame of an unknown type (RFC 9113 §5.5): discard it. `frame.header` and
  /// `frame.payload` are set, `frame.body` is monostate; `consumed` = its size.
  ignore,
  /// The frame breaks a rule whose scope is its stream (RFC 9113 §5.4.2): send RST_STREAM
  /// with `error.code` on `error.stream_id` and keep reading. `consumed` = the frame's size;
  /// `frame.header` and `frame.payload` are set. `frame.body` is set when the payload could
  /// be parsed: a HEADERS frame that depends on its own stream still carries a field block
  /// fragment, which the session must decode (and any CONTINUATION after it) to keep the HPACK
  /// state in step (RFC 9113 §4.3).
  stream_error,
  /// The input breaks a rule whose scope is the connection (RFC 9113 §5.4.1): send GOAWAY with
  /// `error.code` and `error.detail`, then close. Nothing is consumed; the reader stays failed
  /// (every later read() returns the same result) until reset().
  connection_error,
};

struct read_result {
  read_status status = read_status::need_more;
  std::size_t consumed = 0;  ///< bytes of the input this frame took (0 unless a frame is done)
  std::size_t needed = 0;    ///< need_more: more bytes needed before anything can be yielded
  frame_view frame;          ///< frame, ignore, stream_error (see read_status)
  frame_error error;         ///< stream_error, connection_error
};

/// Reads frames one at a time from the start of the caller's buffer. Holds only a few words of
/// state: the failure, and the open field block (stream and size so far).
class frame_reader {
 public:
  frame_reader() noexcept = default;
  explicit frame_reader(const reader_limits& l) noexcept;

  /// The local SETTINGS_MAX_FRAME_SIZE from the next read() on (clamped to 16384..16777215).
  /// A session raises it once the peer acknowledged a SETTINGS frame that raised it; until
  /// then the peer may only use the old value (RFC 9113 §6.5.3).
  void set_max_frame_size(std::uint32_t n) noexcept;
  std::uint32_t max_frame_size() const noexcept { return limits_.max_frame_size; }
  void set_max_field_block_size(std::size_t n) noexcept { limits_.max_field_block_size = n; }
  const reader_limits& limits() const noexcept { return limits_; }

  /// Reads the first frame of `input` (the unconsumed bytes, which may be split anywhere: the
  /// frame's first byte is input[0]). See read_status for the outcomes. Connection errors that
  /// the 9-octet header shows (length over max_frame_size, a type on the wrong stream, a length
  /// the type never has, a frame that breaks a field block) are reported as soon as the header
  /// is in, before the payload arrives. Reads no byte past input.size(); keeps no pointer into
  /// `input` after returning. Never allocates.
  read_result read(std::span<const std::byte> input) noexcept;
  read_result read(std::span<const char> input) noexcept { return read(std::as_bytes(input)); }

  /// True after a connection error (until reset()).
  bool failed() const noexcept { return static_cast<bool>(failure_); }
  /// The stream whose field block is open (a HEADERS or PUSH_PROMISE without END_HEADERS was
  /// read and the CONTINUATION with END_HEADERS was not yet), or 0. While it is open, only
  /// CONTINUATION frames on that stream are accepted.
  std::uint32_t open_field_block() const noexcept { return block_stream_; }

  /// Back to the initial state (for a new connection); keeps the limits.
  void reset() noexcept;

 private:
  read_result fail(frame_error e) noexcept;
  frame_error check_header(const frame_header& h) const noexcept;

  reader_limits limits_{};
  frame_error failure_{};
  std::uint32_t block_stream_ = 0;  // stream of the open field block; 0 = none
  std::size_t block_size_ = 0;      // wire bytes of the open field block so far
};

}  // namespace portico::http2
