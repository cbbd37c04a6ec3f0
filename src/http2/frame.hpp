// HTTP/2 frames as values (RFC 9113 §4.1, §6; RFC 9218 §7.1): the frame header, one struct per
// frame type, and frame_view, which the frame reader (frame_reader.hpp) yields and the frame
// writer (frame_writer.hpp) accepts.
//
// Every byte view in these types points into the buffer the frame was read from (or, for
// frames to be written, into the caller's memory): nothing here owns bytes, and nothing is
// allocated. A view is valid while those bytes stay where they are.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "http2/constants.hpp"
#include "http2/errors.hpp"

namespace portico::http2 {

/// The 9-octet frame header (RFC 9113 §4.1).
struct frame_header {
  std::uint32_t length = 0;  ///< payload length, 0..2^24-1
  frame_type type = frame_type::data;
  std::uint8_t flags = 0;       ///< as received (undefined flags included)
  std::uint32_t stream_id = 0;  ///< 31 bits: the reserved bit is dropped on receipt (§4.1)

  constexpr bool has(std::uint8_t flag) const noexcept { return (flags & flag) != 0; }
  friend constexpr bool operator==(const frame_header&, const frame_header&) = default;
};

/// Decodes a frame header. Never fails: every 9-octet string is a header. The reserved bit of
/// the stream identifier is ignored (RFC 9113 §4.1).
frame_header decode_frame_header(std::span<const std::byte, frame_header_size> bytes) noexcept;

/// The deprecated RFC 7540 priority fields of HEADERS (PRIORITY flag) and PRIORITY frames
/// (RFC 9113 §5.3.2, §6.2, §6.3). Parsed and exposed; a server may ignore them.
struct priority_fields {
  bool exclusive = false;
  std::uint32_t dependency = 0;  ///< stream this one depends on (31 bits)
  std::uint16_t weight = 16;     ///< 1..256: the wire octet plus one (RFC 7540 §5.3.2 default 16)
  friend constexpr bool operator==(const priority_fields&, const priority_fields&) = default;
};

/// One SETTINGS parameter (RFC 9113 §6.5.1). `id` may be an identifier this code does not know.
struct setting {
  setting_id id = setting_id::header_table_size;
  std::uint32_t value = 0;
  friend constexpr bool operator==(const setting&, const setting&) = default;
};

/// Validates a setting's value (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1). Returns
/// errc::no_error, or the connection error the value causes:
///   ENABLE_PUSH not 0/1 -> protocol_error; INITIAL_WINDOW_SIZE > 2^31-1 -> flow_control_error;
///   MAX_FRAME_SIZE outside 16384..16777215 -> protocol_error;
///   ENABLE_CONNECT_PROTOCOL or NO_RFC7540_PRIORITIES not 0/1 -> protocol_error.
/// Other identifiers (known or not) accept every value.
errc check_setting(const setting& s) noexcept;

/// The SETTINGS parameters of a SETTINGS frame payload, read from its bytes on demand
/// (6 octets each, RFC 9113 §6.5.1). A view: valid while the payload bytes are.
class settings_view {
 public:
  class iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = setting;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = setting;

    iterator() noexcept = default;
    setting operator*() const noexcept;
    iterator& operator++() noexcept {
      p_ += 6;
      return *this;
    }
    iterator operator++(int) noexcept {
      iterator t = *this;
      p_ += 6;
      return t;
    }
    friend bool operator==(const iterator&, const iterator&) = default;

   private:
    friend class settings_view;
    explicit iterator(const std::byte* p) noexcept : p_(p) {}
    const std::byte* p_ = nullptr;
  };

  settings_view() noexcept = default;
  /// `raw`: a SETTINGS payload; its size must be a multiple of 6 (trailing octets are ignored).
  explicit settings_view(std::span<const std::byte> raw) noexcept
      : raw_(raw.first(raw.size() - raw.size() % 6)) {}

  std::size_t size() const noexcept { return raw_.size() / 6; }
  bool empty() const noexcept { return raw_.empty(); }
  /// The i-th parameter, in the order sent (i < size()). Later ones override earlier (§6.5.3).
  setting operator[](std::size_t i) const noexcept { return *iterator(raw_.data() + 6 * i); }
  iterator begin() const noexcept { return iterator(raw_.data()); }
  iterator end() const noexcept { return iterator(raw_.data() + raw_.size()); }
  /// The payload bytes.
  std::span<const std::byte> raw() const noexcept { return raw_; }

 private:
  std::span<const std::byte> raw_;
};

/// The values of all settings an endpoint knows, starting from the RFC initial values
/// (RFC 9113 §6.5.2). A session keeps one for each side.
struct settings_values {
  std::uint32_t header_table_size = default_header_table_size;
  bool enable_push = true;
  std::uint32_t max_concurrent_streams = UINT32_MAX;  ///< initially unlimited
  std::uint32_t initial_window_size = default_initial_window_size;
  std::uint32_t max_frame_size = default_max_frame_size;
  std::uint32_t max_header_list_size = UINT32_MAX;  ///< initially unlimited
  bool enable_connect_protocol = false;             ///< RFC 8441 §3
  bool no_rfc7540_priorities = false;               ///< RFC 9218 §2.1

  /// Checks `s` (check_setting) and, when valid, stores it. Unknown identifiers are ignored
  /// (RFC 9113 §6.5.2). Returns errc::no_error or the check's error (nothing is stored then).
  errc apply(const setting& s) noexcept;
};

// ---- one struct per frame type (RFC 9113 §6) ----------------------------------------------
// The struct a reader yields for a frame, and the struct a writer serialises. Frame flags are
// fields here; the raw flags octet is in frame_header.

/// DATA (RFC 9113 §6.1). Flow control counts the whole payload, padding included: use
/// frame_header.length, not data.size() (§6.9.1).
struct data_frame {
  std::span<const std::byte> data;  ///< padding removed
  bool end_stream = false;
  std::optional<std::uint8_t> padding;  ///< PADDED flag: the number of padding octets
};

/// HEADERS (RFC 9113 §6.2).
struct headers_frame {
  std::span<const std::byte> fragment;  ///< field block fragment (HPACK), padding removed
  bool end_stream = false;
  bool end_headers = false;
  std::optional<priority_fields> priority;  ///< PRIORITY flag
  std::optional<std::uint8_t> padding;      ///< PADDED flag
};

/// PRIORITY (RFC 9113 §6.3), deprecated by RFC 9113 §5.3.2 but still validated.
struct priority_frame {
  priority_fields priority;
};

/// RST_STREAM (RFC 9113 §6.4).
struct rst_stream_frame {
  errc code = errc::no_error;  ///< any 32-bit value the peer sent
};

/// SETTINGS (RFC 9113 §6.5). When read, every parameter has passed check_setting().
struct settings_frame {
  bool ack = false;
  settings_view entries;  ///< empty when ack
};

/// PUSH_PROMISE (RFC 9113 §6.6).
struct push_promise_frame {
  std::uint32_t promised_stream_id = 0;  ///< 31 bits, never 0 when read
  std::span<const std::byte> fragment;   ///< field block fragment, padding removed
  bool end_headers = false;
  std::optional<std::uint8_t> padding;
};

/// PING (RFC 9113 §6.7).
struct ping_frame {
  bool ack = false;
  std::array<std::byte, 8> opaque{};
};

/// GOAWAY (RFC 9113 §6.8).
struct goaway_frame {
  std::uint32_t last_stream_id = 0;  ///< 31 bits
  errc code = errc::no_error;        ///< any 32-bit value the peer sent
  std::span<const std::byte> debug_data;
};

/// WINDOW_UPDATE (RFC 9113 §6.9).
struct window_update_frame {
  std::uint32_t increment = 0;  ///< 31 bits; 1..2^31-1 when the reader yields it as a frame
};

/// CONTINUATION (RFC 9113 §6.10).
struct continuation_frame {
  std::span<const std::byte> fragment;
  bool end_headers = false;
};

/// PRIORITY_UPDATE (RFC 9218 §7.1), always on stream 0.
struct priority_update_frame {
  std::uint32_t prioritized_stream_id = 0;  ///< 31 bits, never 0 when read
  std::string_view field_value;             ///< Priority field value (RFC 9218 §5), as sent
};

/// The parsed payload of a frame. std::monostate: a frame of an unknown (extension) type, or a
/// frame whose payload was not parsed because it is malformed (a stream error).
using frame_body =
    std::variant<std::monostate, data_frame, headers_frame, priority_frame, rst_stream_frame,
                 settings_frame, push_promise_frame, ping_frame, goaway_frame, window_update_frame,
                 continuation_frame, priority_update_frame>;

/// A frame as read: header, raw payload and parsed body, all views into the reader's input.
struct frame_view {
  frame_header header;
  std::span<const std::byte> payload;  ///< the whole payload as received (padding included)
  frame_body body;

  /// The body as T, or null if it holds another type.
  template <class T>
  const T* get() const noexcept {
    return std::get_if<T>(&body);
  }
};

/// "DATA", "HEADERS", ..., "PRIORITY_UPDATE", or "UNKNOWN" for an extension type.
std::string_view frame_type_name(frame_type t) noexcept;

/// A one-line, human-readable rendering of a frame (for logs, tests and fuzzing): type, stream,
/// length and every parsed field, views as hex. Two frames with the same rendering have the
/// same meaning (flags without meaning, reserved bits and padding contents are left out).
/// Allocates: not for the hot path.
std::string describe(const frame_view& f);

}  // namespace portico::http2
