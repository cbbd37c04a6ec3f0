// HTTP/2 wire constants (RFC 9113 §3.4, §4, §6, §6.5.2, §7; RFC 8441 §3; RFC 9218 §2.1, §7.1),
// and the client connection preface check a server uses to tell HTTP/2 with prior knowledge
// from HTTP/1.1 on the same port.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::http2 {

/// Frame types (RFC 9113 §6, RFC 9218 §7.1). The enum holds any octet: values not listed are
/// extension frame types, which a receiver ignores (RFC 9113 §5.5).
enum class frame_type : std::uint8_t {
  data = 0x0,
  headers = 0x1,
  priority = 0x2,
  rst_stream = 0x3,
  settings = 0x4,
  push_promise = 0x5,
  ping = 0x6,
  goaway = 0x7,
  window_update = 0x8,
  continuation = 0x9,
  priority_update = 0x10,  ///< RFC 9218 §7.1
};

/// Frame flags (RFC 9113 §6). A flag means something only for the frame types listed; flags
/// without a meaning for a type are ignored on receipt and never sent (RFC 9113 §4.1).
namespace flags {
inline constexpr std::uint8_t end_stream = 0x01;   ///< DATA, HEADERS
inline constexpr std::uint8_t ack = 0x01;          ///< SETTINGS, PING
inline constexpr std::uint8_t end_headers = 0x04;  ///< HEADERS, PUSH_PROMISE, CONTINUATION
inline constexpr std::uint8_t padded = 0x08;       ///< DATA, HEADERS, PUSH_PROMISE
inline constexpr std::uint8_t priority = 0x20;     ///< HEADERS
}  // namespace flags

/// SETTINGS parameter identifiers (RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1). The enum holds
/// any 16-bit value: unknown identifiers are ignored on receipt (RFC 9113 §6.5.2).
enum class setting_id : std::uint16_t {
  header_table_size = 0x1,
  enable_push = 0x2,
  max_concurrent_streams = 0x3,
  initial_window_size = 0x4,
  max_frame_size = 0x5,
  max_header_list_size = 0x6,
  enable_connect_protocol = 0x8,  ///< RFC 8441 §3
  no_rfc7540_priorities = 0x9,    ///< RFC 9218 §2.1
};

// ---- sizes, defaults and bounds --------------------------------------------------------------

/// Every frame starts with a 9-octet header (RFC 9113 §4.1).
inline constexpr std::size_t frame_header_size = 9;
/// The largest value of the 24-bit Length field.
inline constexpr std::uint32_t max_frame_length = 0xffffff;
/// Stream identifiers are 31 bits; the high bit of the field is reserved (RFC 9113 §4.1).
inline constexpr std::uint32_t max_stream_id = 0x7fffffff;

/// SETTINGS_HEADER_TABLE_SIZE initial value (RFC 9113 §6.5.2).
inline constexpr std::uint32_t default_header_table_size = 4096;
/// SETTINGS_INITIAL_WINDOW_SIZE initial value, and the initial connection window (§6.9.2).
inline constexpr std::uint32_t default_initial_window_size = 65535;
/// The largest flow-control window, and the largest SETTINGS_INITIAL_WINDOW_SIZE (§6.9.1).
inline constexpr std::uint32_t max_window_size = 0x7fffffff;
/// SETTINGS_MAX_FRAME_SIZE initial value, which is also its smallest allowed value (§6.5.2).
inline constexpr std::uint32_t default_max_frame_size = 16384;
inline constexpr std::uint32_t min_max_frame_size = 16384;
/// The largest allowed SETTINGS_MAX_FRAME_SIZE: 2^24-1 (§6.5.2).
inline constexpr std::uint32_t max_max_frame_size = 16777215;

// ---- connection preface (RFC 9113 §3.4) ------------------------------------------------------

/// The client connection preface: these 24 octets, then a SETTINGS frame.
inline constexpr std::string_view client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

enum class preface_match : std::uint8_t {
  need_more,  ///< every byte so far matches the preface, but fewer than 24 have arrived
  yes,        ///< the input starts with the whole preface (client_preface.size() octets)
  no,         ///< the input cannot be the preface (for example an HTTP/1.1 request line)
};

/// Checks whether `input`, the first bytes a client sent on a connection, starts with the
/// client connection preface. Incremental: call again with more bytes while need_more. Looks at
/// most at the first 24 bytes; bytes after the preface (the client's SETTINGS) are not examined.
/// An empty input is need_more. An HTTP/1.1 request is told apart at its first byte unless its
/// method starts with "PRI" (a "PRI * HTTP/2.0" request line is the preface itself: RFC 9113
/// §3.4 chose it so that HTTP/1.1 servers reject it).
constexpr preface_match match_client_preface(std::string_view input) noexcept {
  const std::size_t n = input.size() < client_preface.size() ? input.size() : client_preface.size();
  if (input.substr(0, n) != client_preface.substr(0, n)) return preface_match::no;
  return n == client_preface.size() ? preface_match::yes : preface_match::need_more;
}

}  // namespace portico::http2
