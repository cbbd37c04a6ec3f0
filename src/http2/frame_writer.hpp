// HTTP/2 frame writer (RFC 9113 §4.1, §6; RFC 9218 §7.1), sans-I/O.
//
// Two ways to write a frame:
// - append_frame(out, ...) appends the whole frame (header, fields, payload, zero padding) to a
//   std::string: for control frames and small payloads.
// - *_prefix(...) returns, without allocating, only the bytes before the payload (the 9-octet
//   header, Pad Length, fixed fields) for DATA, HEADERS, PUSH_PROMISE and CONTINUATION, so a
//   session sends the payload by reference:
//     writev({prefix.view(), payload, padding_bytes(pad)})
// Frames are written from the same structs the reader yields (frame.hpp); the stream id is a
// separate argument. Flags come from the struct's fields; flags without meaning for the type
// are never set and reserved bits are always 0 (RFC 9113 §4.1).
//
// Preconditions of every writer (not checked): stream ids and 31-bit fields are at most
// 2^31-1 (higher bits are dropped); the payload, padding included, is at most the peer's
// SETTINGS_MAX_FRAME_SIZE (so at most 2^24-1); DATA, HEADERS, PRIORITY, RST_STREAM,
// PUSH_PROMISE and CONTINUATION get a stream id other than 0. The writer does not enforce
// protocol rules: it can write frames the reader refuses (tests use that).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "http2/frame.hpp"

namespace portico::http2 {

/// The bytes of a frame before its payload, in place (no heap). At most 15 octets: a HEADERS
/// header (9) with Pad Length (1) and priority fields (5).
struct frame_prefix {
  std::array<char, 15> bytes{};
  std::uint8_t size = 0;
  std::string_view view() const noexcept { return {bytes.data(), size}; }
};

/// `n` zero octets in static storage (valid for the program's life): the padding that follows
/// the payload of a frame written with padding = n (RFC 9113 §6.1: padding is zero on send).
std::string_view padding_bytes(std::uint8_t n) noexcept;

/// The 9-octet header for `h` (length truncated to 24 bits, reserved bit 0, flags as given).
frame_prefix encode_frame_header(const frame_header& h) noexcept;

/// Bytes before the payload of DATA: header (length = [1 +] data.size() [+ padding]) and
/// Pad Length when padded. Only f.data.size() is used, not the bytes. Send after the prefix:
/// f.data, then padding_bytes(*f.padding) when padded.
frame_prefix data_prefix(std::uint32_t stream_id, const data_frame& f) noexcept;
/// Bytes before the field block fragment of HEADERS: header, Pad Length, priority fields.
/// Send after it: f.fragment, then padding_bytes(*f.padding) when padded.
frame_prefix headers_prefix(std::uint32_t stream_id, const headers_frame& f) noexcept;
/// Bytes before the fragment of PUSH_PROMISE: header, Pad Length, Promised Stream ID.
frame_prefix push_promise_prefix(std::uint32_t stream_id, const push_promise_frame& f) noexcept;
/// The header of CONTINUATION (no fixed fields, no padding).
frame_prefix continuation_prefix(std::uint32_t stream_id, const continuation_frame& f) noexcept;

// ---- whole frames appended to `out` (bytes are copied) -------------------------------------

void append_frame(std::string& out, std::uint32_t stream_id, const data_frame& f);
void append_frame(std::string& out, std::uint32_t stream_id, const headers_frame& f);
void append_frame(std::string& out, std::uint32_t stream_id, const priority_frame& f);
void append_frame(std::string& out, std::uint32_t stream_id, const rst_stream_frame& f);
/// SETTINGS on stream 0 with f.entries (raw) or, when f.ack, an empty ACK.
void append_frame(std::string& out, const settings_frame& f);
void append_frame(std::string& out, std::uint32_t stream_id, const push_promise_frame& f);
/// PING on stream 0.
void append_frame(std::string& out, const ping_frame& f);
/// GOAWAY on stream 0.
void append_frame(std::string& out, const goaway_frame& f);
/// WINDOW_UPDATE on `stream_id` (0: the connection window).
void append_frame(std::string& out, std::uint32_t stream_id, const window_update_frame& f);
void append_frame(std::string& out, std::uint32_t stream_id, const continuation_frame& f);
/// PRIORITY_UPDATE on stream 0.
void append_frame(std::string& out, const priority_update_frame& f);
/// Any frame, extension types included: `h` with its length replaced by payload.size(), then
/// the payload, as given (flags and all).
void append_frame(std::string& out, const frame_header& h, std::span<const std::byte> payload);
/// Re-serialises a frame as the reader yielded it: from its body when parsed (so flags
/// without meaning, reserved bits and padding contents become 0), else (monostate) raw from
/// its header and payload.
void append_frame(std::string& out, const frame_view& f);

/// SETTINGS (not ACK) with `entries` in order (RFC 9113 §6.5.1).
void append_settings(std::string& out, std::span<const setting> entries);

// ---- field blocks over HEADERS/PUSH_PROMISE + CONTINUATION (RFC 9113 §4.3, §6.10) ----------

/// One frame of a split field block: send prefix, fragment, padding in this order.
struct field_block_frame {
  frame_prefix prefix;
  std::span<const std::byte> fragment;  ///< a slice of the block
  std::string_view padding;             ///< zero octets (only on the first frame, if padded)
};

/// Splits a whole field block into a HEADERS (or PUSH_PROMISE) frame followed by as many
/// CONTINUATION frames as needed, each payload at most `max_frame_size` (the peer's
/// SETTINGS_MAX_FRAME_SIZE; clamped to 16384..16777215). Only the last frame has END_HEADERS.
/// An empty block gives one frame. Views only: the block must stay valid while frames are
/// taken. The frames must go out back to back on the connection (§4.3).
class field_block_splitter {
 public:
  /// `first.fragment` is the whole block; `first.end_stream`, `priority` and `padding` apply
  /// to the HEADERS frame; `first.end_headers` is ignored.
  field_block_splitter(std::uint32_t stream_id, const headers_frame& first,
                       std::uint32_t max_frame_size) noexcept;
  /// `first.fragment` is the whole block; `promised_stream_id` and `padding` apply to the
  /// PUSH_PROMISE frame; `first.end_headers` is ignored.
  field_block_splitter(std::uint32_t stream_id, const push_promise_frame& first,
                       std::uint32_t max_frame_size) noexcept;

  /// True once every frame was taken.
  bool done() const noexcept { return done_; }
  /// The next frame. Precondition: !done().
  field_block_frame next() noexcept;

 private:
  enum class kind : std::uint8_t { headers, push_promise };
  kind kind_;
  bool first_ = true;
  bool done_ = false;
  std::uint32_t stream_id_;
  std::uint32_t max_;
  std::span<const std::byte> rest_;
  headers_frame headers_;
  push_promise_frame push_;
};

/// Appends the frames of field_block_splitter(stream_id, first, max_frame_size) to `out`.
void append_field_block(std::string& out, std::uint32_t stream_id, const headers_frame& first,
                        std::uint32_t max_frame_size);
void append_field_block(std::string& out, std::uint32_t stream_id, const push_promise_frame& first,
                        std::uint32_t max_frame_size);

}  // namespace portico::http2
