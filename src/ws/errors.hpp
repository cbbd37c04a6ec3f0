// WebSocket close codes (RFC 6455 §7.4) as a std::error_code category, and the error a frame or
// message check produces: the close code to send and a detail text for the Close reason and logs
// (DESIGN.md §4 rule 6).
#pragma once

#include <cstdint>
#include <string_view>
#include <system_error>

namespace portico::ws {

/// WebSocket close codes; each value is the status code carried in a Close frame
/// (RFC 6455 §7.4.1, RFC 7692 has none of its own). The enum holds any 16-bit value: codes
/// received from a peer in the 3000-4999 range are kept as they are.
enum class close_code : std::uint16_t {
  normal = 1000,               ///< purpose fulfilled
  going_away = 1001,           ///< server shutting down, browser navigating away
  protocol_error = 1002,       ///< a frame or the framing broke RFC 6455
  unsupported_data = 1003,     ///< a data type the endpoint cannot accept
  no_status = 1005,            ///< never sent: "the Close frame had no status code"
  abnormal = 1006,             ///< never sent: "the connection ended without a Close frame"
  invalid_payload = 1007,      ///< text not UTF-8 (or a message inconsistent with its type)
  policy_violation = 1008,     ///< generic policy violation (also: peer does not read)
  message_too_big = 1009,      ///< message over the size limit
  mandatory_extension = 1010,  ///< client only: an extension the server did not negotiate
  internal_error = 1011,       ///< unexpected condition on the server (e.g. zlib failure)
  tls_handshake = 1015,        ///< never sent: TLS handshake failure
};

/// The error category of WebSocket errors; name() is "portico.ws", value() is the close code.
const std::error_category& ws_category() noexcept;

inline std::error_code make_error_code(close_code c) noexcept {
  return {static_cast<int>(c), ws_category()};
}

/// Whether `code`, received in a Close frame, is one a peer may send (RFC 6455 §7.4.1, §7.4.2):
/// 1000-1003, 1007-1011, and 3000-4999 (registered and private use). 1004 (reserved), 1005,
/// 1006 and 1015 (never on the wire), 0-999, the rest of 1000-2999 (unassigned) and 5000+ are
/// not: receiving one is a protocol error (1002).
constexpr bool is_valid_received_code(std::uint16_t code) noexcept {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) ||
         (code >= 3000 && code <= 4999);
}

/// One failed check: the close code to send and why, in words.
struct ws_error {
  std::error_code code;  ///< ws_category(); code.value() is the close code to send
  /// What was wrong; static storage, ASCII, at most 123 bytes (fits a Close reason, §5.5).
  std::string_view detail;

  close_code wire_code() const noexcept { return static_cast<close_code>(code.value()); }
  explicit operator bool() const noexcept { return static_cast<bool>(code); }
};

inline ws_error make_ws_error(close_code c, std::string_view detail) noexcept {
  return {make_error_code(c), detail};
}

}  // namespace portico::ws

template <>
struct std::is_error_code_enum<portico::ws::close_code> : std::true_type {};
