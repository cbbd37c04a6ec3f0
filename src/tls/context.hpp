// The server side TLS configuration shared by every connection: certificates (SNI), ALPN,
// versions, ciphers, session resumption. Wraps OpenSSL SSL_CTX objects; see docs/tls.md.
//
// Thread-safety: build a server_context once at start-up (that is where it throws), then share
// it (by const reference) with every worker thread. Creating sessions from it concurrently is
// safe: the OpenSSL contexts are only read after construction, apart from OpenSSL's session
// cache and statistics, which OpenSSL guards with its own lock (taken once per handshake, never
// per record). The server_context must outlive every session created from it.
#pragma once

#include <chrono>
#include <cstddef>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/errors.hpp"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX, so that this header does not pull in <openssl/ssl.h>

namespace portico::tls {

/// One certificate with its private key.
struct certificate_config {
  /// PEM file: the leaf certificate first, then the intermediates that lead to the root (the
  /// root itself may be left out). Sent to clients in this order.
  std::string cert_chain_pem_path;
  /// PEM file with the private key of the leaf (PKCS#8 or traditional RSA/EC form), not
  /// passphrase-protected.
  std::string key_pem_path;
};

enum class protocol_version : unsigned char { tls1_2, tls1_3 };

/// What to do when a client offers ALPN protocols but none of ours (RFC 7301 §3.2).
enum class alpn_mismatch : unsigned char {
  reject,            ///< fatal no_application_protocol alert (RFC 7301 §3.2; as nginx does)
  continue_without,  ///< go on with no protocol selected: the server speaks HTTP/1.1
};

/// Per-connection buffer bounds (see session.hpp for what each bounds).
struct session_limits {
  /// Ciphertext the session buffers between feed() and the OpenSSL record layer. Default: one
  /// full TLS 1.3 record (5 + 16384 + 256 bytes) rounded up to 17 KiB, so that one recv() can
  /// take a whole record. At least 512.
  std::size_t input_buffer = 17 * 1024;
  /// write() encrypts plaintext only while the ciphertext waiting to be sent stays below this.
  /// Handshake messages, tickets and alerts are always queued (they are small and bounded by
  /// the protocol). At least 1024.
  std::size_t output_high_water = 64 * 1024;
};

struct server_config {
  /// At least one. The first is the default: used when the client sends no SNI or a name that
  /// no certificate covers.
  std::vector<certificate_config> certificates;
  /// ALPN protocols in server preference order (RFC 7301). Empty: ALPN is not negotiated.
  /// Each name is 1..255 bytes.
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  alpn_mismatch on_alpn_mismatch = alpn_mismatch::reject;
  /// Lowest version accepted; the highest is always TLS 1.3.
  protocol_version min_version = protocol_version::tls1_2;
  /// TLS 1.2 cipher list (OpenSSL syntax): ECDHE key exchange with AEAD ciphers only.
  std::string tls12_ciphers =
      "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
      "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
      "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
  /// TLS 1.3 cipher suites (OpenSSL syntax).
  std::string tls13_ciphersuites =
      "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";
  /// Key exchange groups in preference order.
  std::string groups = "X25519:P-256:P-384";
  /// Server-side session cache entries (TLS 1.2 session IDs; TLS 1.3 when tickets are off).
  /// 0 turns the cache off. Default: OpenSSL's default size.
  std::size_t session_cache_size = 20480;
  /// How long a session can be resumed: cache entries and tickets (the ticket lifetime hint).
  std::chrono::seconds session_lifetime{7200};
  /// Stateless session tickets (RFC 5077, RFC 8446 §4.6.1) with OpenSSL's automatic keys.
  bool session_tickets = true;
  /// NewSessionTicket messages sent after a TLS 1.3 handshake (OpenSSL's default is 2).
  unsigned tls13_tickets = 2;
  session_limits limits{};
};

/// Immutable after construction. Movable, not copyable.
class server_context {
 public:
  /// Loads every certificate and key and applies the settings. Throws config_error (naming the
  /// file and giving OpenSSL's reason) for: no certificate; a file that cannot be read or is
  /// over 1 MiB; no PEM certificate in a chain file; a key file without a usable key (or
  /// passphrase-protected); a key that does not match its certificate; a certificate or key
  /// that OpenSSL refuses (e.g. an RSA key under 2048 bits at the default security level); an
  /// invalid ALPN name, cipher list or group list; bad limits.
  /// A certificate that is expired or not yet valid at `now` is loaded, and described in
  /// warnings(): the server should log them.
  explicit server_context(const server_config& cfg, std::time_t now = std::time(nullptr));
  ~server_context();
  server_context(server_context&&) noexcept;
  server_context& operator=(server_context&&) noexcept;
  server_context(const server_context&) = delete;
  server_context& operator=(const server_context&) = delete;

  /// Problems that do not stop the server, one line each, naming the file (expired or not yet
  /// valid certificates).
  const std::vector<std::string>& warnings() const noexcept;
  std::size_t certificate_count() const noexcept;
  const session_limits& limits() const noexcept;
  /// The default certificate's SSL_CTX: sessions start on it, and it holds the session cache
  /// and the ticket keys for all certificates. For statistics (SSL_CTX_sess_hits) and tests;
  /// do not change its settings while sessions exist.
  ssl_ctx_st* native_handle() const noexcept;

  struct impl;

 private:
  friend class session;
  std::unique_ptr<impl> impl_;
};

}  // namespace portico::tls
