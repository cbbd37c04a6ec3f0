// Shared by context.cpp and session.cpp only (not installed, not for other modules): the
// OpenSSL objects behind a server_context and the hooks its callbacks use on a session.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "tls/context.hpp"
#include "tls/session.hpp"

namespace portico::tls {

struct ssl_ctx_deleter {
  void operator()(SSL_CTX* p) const noexcept { SSL_CTX_free(p); }
};
struct x509_deleter {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_deleter>;
using x509_ptr = std::unique_ptr<X509, x509_deleter>;

struct server_context::impl {
  struct certificate {
    ssl_ctx_ptr ctx;  // one SSL_CTX per certificate: SNI switches with SSL_set_SSL_CTX
    x509_ptr leaf;    // for name matching
    std::string path;
  };
  std::vector<certificate> certs;  // [0] is the default
  std::vector<std::string> alpn;   // server preference order
  alpn_mismatch on_alpn_mismatch = alpn_mismatch::reject;
  session_limits limits;
  std::vector<std::string> warnings;

  /// The certificate for an SNI host name: an exact name first, then a wildcard (RFC 6125
  /// §6.4.3, whole left-most label only), in configuration order; 0 (the default) otherwise.
  std::size_t select(std::string_view host) const noexcept;
};

/// What the context's OpenSSL callbacks tell the session they run for.
struct session::detail {
  /// The session an SSL object belongs to (SSL ex_data index 0, the "app data").
  static session* from(const SSL* ssl) noexcept {
    return static_cast<session*>(SSL_get_ex_data(ssl, 0));
  }
  static void set_certificate(session& s, std::size_t index) noexcept { s.cert_index_ = index; }
  static void set_alpn_mismatch(session& s) noexcept { s.alpn_mismatch_ = true; }
  // The session's BIO (session.cpp): reads the input buffer, appends to the output buffer.
  static int bio_write(BIO* b, const char* data, int len) noexcept;
  static int bio_read(BIO* b, char* data, int len) noexcept;
  static long bio_ctrl(BIO* b, int cmd, long num, void* ptr) noexcept;
  static void info_callback(const SSL* ssl, int where, int ret) noexcept;
};

}  // namespace portico::tls
