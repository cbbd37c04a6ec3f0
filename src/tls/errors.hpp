// TLS errors: config_error (thrown while building a server_context: a start-up error) and the
// error codes a session reports on the data path (never thrown).
#pragma once

#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace portico::tls {

/// A certificate, key or setting that cannot be used. what() names the file (when there is one)
/// and gives OpenSSL's reason, e.g.
///   tls: key file "/etc/portico/a.key" does not match certificate file "/etc/portico/a.pem"
///   (OpenSSL: key values mismatch)
class config_error : public std::runtime_error {
 public:
  config_error(const std::string& message, std::string file)
      : std::runtime_error(message), file_(std::move(file)) {}
  /// The file the error is about; empty for a setting that is not a file (cipher list, ALPN).
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
};

/// Why a session failed. session::error_detail() adds OpenSSL's reason or the alert.
enum class errc {
  handshake_failed = 1,     ///< no common version, cipher or group; malformed ClientHello; ...
  protocol_error,           ///< after the handshake: bad record, bad MAC, unexpected message
  peer_alert,               ///< the peer sent a fatal alert (RFC 8446 §6.2)
  no_application_protocol,  ///< ALPN: the client offered none of ours (RFC 7301 §3.2)
  plain_http,               ///< the client spoke plain HTTP (or an HTTP proxy CONNECT) to TLS
  unexpected_eof,           ///< the transport ended without close_notify (RFC 8446 §6.1)
  output_flood,             ///< the peer makes us queue replies (KeyUpdate, alerts) it never
                            ///< reads: over output_high_water + 64 KiB of unsent output
  internal_error,           ///< out of memory or an OpenSSL failure that is not the peer's
};

/// The category of errc; name() is "portico.tls".
const std::error_category& tls_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), tls_category()};
}

}  // namespace portico::tls

template <>
struct std::is_error_code_enum<portico::tls::errc> : std::true_type {};
