// HTTP/2 error codes (RFC 9113 §7) as a std::error_code category, and the error a frame check
// produces: code, scope (connection or stream, RFC 9113 §5.4) and a detail text for GOAWAY
// debug data and logs.
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace portico::http2 {

/// HTTP/2 error codes; each value is the code sent in RST_STREAM and GOAWAY (RFC 9113 §7).
/// The enum holds any 32-bit value: codes received from a peer that are not listed here are
/// kept as they are (RFC 9113 §7: unknown codes MUST NOT trigger special behaviour, and MAY be
/// treated as INTERNAL_ERROR by the session).
enum class errc : std::uint32_t {
  no_error = 0x0,
  protocol_error = 0x1,
  internal_error = 0x2,
  flow_control_error = 0x3,
  settings_timeout = 0x4,
  stream_closed = 0x5,
  frame_size_error = 0x6,
  refused_stream = 0x7,
  cancel = 0x8,
  compression_error = 0x9,
  connect_error = 0xa,
  enhance_your_calm = 0xb,
  inadequate_security = 0xc,
  http_1_1_required = 0xd,
};

/// The error category of HTTP/2 errors; name() is "portico.http2", value() is the RFC code.
const std::error_category& http2_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), http2_category()};
}

/// The RFC name of a code ("PROTOCOL_ERROR"), or "UNKNOWN" for a code RFC 9113 does not define.
std::string_view error_name(errc e) noexcept;

/// Whether an error ends the whole connection (GOAWAY) or one stream (RST_STREAM).
enum class error_scope : std::uint8_t {
  connection,  ///< RFC 9113 §5.4.1: send GOAWAY with `code`, then close
  stream,      ///< RFC 9113 §5.4.2: send RST_STREAM with `code` on `stream_id`
};

/// One failed frame check.
struct frame_error {
  std::error_code code;  ///< http2_category(); code.value() is the RFC 9113 §7 code
  error_scope scope = error_scope::connection;
  std::uint32_t stream_id = 0;  ///< the stream to reset (scope == stream); 0 otherwise
  /// What was wrong, in words; static storage (fit for GOAWAY debug data and logs).
  std::string_view detail;

  /// The code to put on the wire.
  errc wire_code() const noexcept { return static_cast<errc>(code.value()); }
  explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

}  // namespace portico::http2

template <>
struct std::is_error_code_enum<portico::http2::errc> : std::true_type {};
