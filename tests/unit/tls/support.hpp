// Test support for src/tls: certificates generated at test start with the OpenSSL API (no
// private key is checked in), and an in-memory OpenSSL client wired to a tls::session through
// byte buffers.
#pragma once

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tls/context.hpp"
#include "tls/session.hpp"

namespace portico::tls::test {

struct pkey_free {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
struct x509_free {
  void operator()(X509* p) const noexcept { X509_free(p); }
};
struct ssl_session_free {
  void operator()(SSL_SESSION* p) const noexcept { SSL_SESSION_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using session_ptr = std::unique_ptr<SSL_SESSION, ssl_session_free>;

/// A fresh EC P-256 key.
pkey_ptr make_key();

struct cert_spec {
  std::string common_name;
  std::vector<std::string> dns_names;  // subjectAltName dNSName entries
  bool ca = false;
  long not_before = -3600;           // seconds from now
  long not_after = 30L * 24 * 3600;  // seconds from now
};
/// A certificate for `key`, signed by `issuer`/`issuer_key` (self-signed when they are null).
x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key);

void write_pem(const std::filesystem::path& p, const std::vector<X509*>& certs);
void write_pem(const std::filesystem::path& p, EVP_PKEY* key, const char* passphrase = nullptr);
void write_text(const std::filesystem::path& p, const std::string& text);

/// The test PKI, made once per test program in a temporary directory (removed at exit):
/// a CA, an intermediate CA, and leaf certificates (files "<name>.pem" / "<name>.key"):
///   default   default.test           (signed by the CA)
///   a         a.test                 (signed by the CA)
///   wild      *.b.test               (signed by the CA)
///   exact     c.b.test               (signed by the intermediate; chain file = leaf + inter.)
///   expired   expired.test           (expired yesterday)
///   future    future.test            (valid from tomorrow)
/// and "ca.pem".
struct pki {
  std::filesystem::path dir;
  pkey_ptr ca_key;
  x509_ptr ca;
  std::filesystem::path ca_pem;
  std::string cert(const std::string& name) const { return (dir / (name + ".pem")).string(); }
  std::string key(const std::string& name) const { return (dir / (name + ".key")).string(); }
  certificate_config config(const std::string& name) const { return {cert(name), key(name)}; }
};
const pki& test_pki();

/// The server configuration most tests use: default, a, wild, exact (in that order).
server_config standard_config();

struct client_options {
  int max_version = TLS1_3_VERSION;
  int min_version = TLS1_2_VERSION;
  std::vector<std::string> alpn = {"h2", "http/1.1"};
  std::string sni;                // empty: no server_name extension
  SSL_SESSION* resume = nullptr;  // offered for resumption
  bool no_ticket = false;         // TLS 1.2: session IDs only
  std::string trust_ca_file;      // verify the server's chain against this (empty: no check)
  std::string verify_host;        // and its name
  std::optional<std::time_t> verify_time;
  int security_level = -1;         // -1: OpenSSL's default
  std::string tls12_ciphers;       // empty: OpenSSL's default
  std::string tls13_ciphersuites;  // empty: OpenSSL's default
  std::string groups;              // empty: OpenSSL's default (key share for X25519)
};

/// An OpenSSL client over two memory BIOs.
class client {
 public:
  explicit client(const client_options& o = {});
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  SSL* ssl() const { return ssl_; }
  /// Ciphertext the client wrote that has not been taken yet.
  std::string& to_server() { return to_server_; }
  /// Gives the client ciphertext from the server, then runs the handshake / reads plaintext.
  void receive(const std::byte* p, std::size_t n);
  /// Runs the handshake or reads whatever plaintext is available into received().
  void drive();
  bool handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }
  std::string& received() { return received_; }
  bool got_close_notify() const { return close_notify_; }
  /// 0 while fine; else SSL_get_error's value of the first failure, with the reasons.
  int error() const { return error_; }
  const std::string& error_reasons() const { return reasons_; }
  /// Plaintext to the server (queued in the client's output).
  void send(const std::string& data);
  std::string peer_common_name() const;
  long verify_result() const { return SSL_get_verify_result(ssl_); }
  session_ptr get_session() const { return session_ptr(SSL_get1_session(ssl_)); }

 private:
  void collect_output();
  void fail(int e);
  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // server -> client
  BIO* out_ = nullptr;  // client -> server
  std::string to_server_;
  std::string received_;
  std::string reasons_;
  int error_ = 0;
  bool close_notify_ = false;
};

/// A tls::session and a client joined by byte buffers.
struct link {
  tls::session& server;
  client& peer;
  std::size_t feed_piece = static_cast<std::size_t>(-1);    // bytes per feed() call
  std::size_t output_piece = static_cast<std::size_t>(-1);  // bytes per commit_output()
  std::size_t read_buffer = 4096;                           // server read() buffer size
  std::string server_received;
  status last_read = status::want_more;
  std::size_t max_pending_output = 0;
  std::size_t max_buffered_input = 0;

  /// Moves bytes both ways until neither side makes progress. Returns false if that did not
  /// happen within a bound (a livelock would be a bug).
  bool pump();
  /// Reads server plaintext until read() stops returning data.
  void server_read();
};

/// One client connection through a fresh session on `ctx`: handshake pumped to the end.
struct connection {
  tls::session server;
  client peer;
  link l;
  connection(const server_context& ctx, const client_options& o)
      : server(ctx), peer(o), l{server, peer} {
    l.pump();
  }
};

}  // namespace portico::tls::test
