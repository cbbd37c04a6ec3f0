// Building the server's SSL_CTX objects: loading PEM files with precise errors, secure
// defaults, SNI certificate selection and ALPN selection.
#include "tls/context.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <utility>

#include "tls/internal.hpp"

namespace portico::tls {
namespace {

constexpr std::size_t max_pem_file = 1024 * 1024;

struct bio_deleter {
  void operator()(BIO* p) const noexcept { BIO_free(p); }
};
struct pkey_deleter {
  void operator()(EVP_PKEY* p) const noexcept { EVP_PKEY_free(p); }
};
using bio_ptr = std::unique_ptr<BIO, bio_deleter>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_deleter>;

// A string whose bytes are wiped when it goes (it may hold a private key).
struct secret_string {
  std::string s;
  ~secret_string() {
    if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
  }
};

std::string quoted(const std::string& path) {
  return "\"" + path + "\"";
}

// Every reason on OpenSSL's error queue (oldest first: the root cause), and clears it.
std::string openssl_reasons() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    const char* r = ERR_reason_error_string(e);
    std::string reason = r ? r : "error " + std::to_string(e);
    if (out.find(reason) != std::string::npos) continue;
    if (!out.empty()) out += ": ";
    out += reason;
  }
  return out.empty() ? "no reason given" : out;
}

[[noreturn]] void throw_file_error(const std::string& what, const std::string& path,
                                   const std::string& problem, bool with_openssl) {
  std::string msg = "tls: " + what + " file " + quoted(path) + ": " + problem;
  if (with_openssl) msg += " (OpenSSL: " + openssl_reasons() + ")";
  ERR_clear_error();
  throw config_error(msg, path);
}

[[noreturn]] void throw_setting_error(const std::string& problem) {
  std::string msg = "tls: " + problem + " (OpenSSL: " + openssl_reasons() + ")";
  throw config_error(msg, {});
}

// Reads a whole (small) file. The PEM parsers then work on memory, so that a missing file, a
// directory or a huge file each get their own message.
void read_file(const std::string& what, const std::string& path, std::string& out) {
  if (path.empty()) throw config_error("tls: " + what + " file: no path given", path);
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw_file_error(what, path, std::string("cannot open: ") + std::strerror(errno), false);
  char buf[16 * 1024];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, f);
    out.append(buf, n);
    if (out.size() > max_pem_file) {
      std::fclose(f);
      OPENSSL_cleanse(buf, sizeof buf);
      throw_file_error(what, path, "larger than 1 MiB: not a PEM file", false);
    }
    if (n < sizeof buf) break;
  }
  bool bad = std::ferror(f) != 0;
  int err = errno;
  std::fclose(f);
  OPENSSL_cleanse(buf, sizeof buf);
  if (bad) throw_file_error(what, path, std::string("cannot read: ") + std::strerror(err), false);
  if (out.empty()) throw_file_error(what, path, "file is empty", false);
}

// Passphrase callback: never prompt on the terminal; an encrypted key is a config error.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

bio_ptr memory_bio(const std::string& data) {
  bio_ptr b(BIO_new_mem_buf(data.data(), static_cast<int>(data.size())));
  if (!b) throw std::bad_alloc();
  return b;
}

std::string format_time(const ASN1_TIME* t) {
  std::tm tm{};
  if (!ASN1_TIME_to_tm(t, &tm)) return "an unreadable time";
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

bool is_no_start_line(unsigned long e) {
  return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

// The leaf and the chain after it, from a PEM file (other PEM blocks, such as a key in a
// combined file, are skipped by OpenSSL's PEM reader).
struct loaded_chain {
  x509_ptr leaf;
  std::vector<x509_ptr> chain;
};

loaded_chain load_chain(const std::string& path) {
  std::string pem;
  read_file("certificate", path, pem);
  bio_ptr bio = memory_bio(pem);
  ERR_clear_error();
  loaded_chain out;
  out.leaf.reset(PEM_read_bio_X509_AUX(bio.get(), nullptr, no_passphrase, nullptr));
  if (!out.leaf) {
    bool none = is_no_start_line(ERR_peek_last_error());
    throw_file_error("certificate", path,
                     none ? "no PEM certificate found (expected -----BEGIN CERTIFICATE-----)"
                          : "cannot parse the first certificate",
                     true);
  }
  for (;;) {
    X509* c = PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr);
    if (!c) {
      if (is_no_start_line(ERR_peek_last_error())) {  // end of the file
        ERR_clear_error();
        break;
      }
      throw_file_error(
          "certificate", path,
          "cannot parse certificate " + std::to_string(out.chain.size() + 2) + " of the chain",
          true);
    }
    out.chain.emplace_back(c);
  }
  return out;
}

pkey_ptr load_key(const std::string& path) {
  secret_string pem;
  read_file("key", path, pem.s);
  bio_ptr bio = memory_bio(pem.s);
  ERR_clear_error();
  pkey_ptr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key) {
    if (pem.s.find("ENCRYPTED") != std::string::npos)
      throw_file_error("key", path, "the key is passphrase-protected, which is not supported",
                       true);
    bool none = is_no_start_line(ERR_peek_last_error());
    throw_file_error("key", path,
                     none ? "no PEM private key found (expected -----BEGIN PRIVATE KEY-----)"
                          : "cannot parse the private key",
                     true);
  }
  return key;
}

// ---- callbacks (run on worker threads; they only read the impl) ---------------------------

// RFC 6066 §3: the first host_name in the server_name extension, without a trailing dot.
// Empty if there is none or the extension is malformed (OpenSSL rejects that later).
std::string_view parse_sni(const unsigned char* p, std::size_t len) {
  if (len < 2) return {};
  std::size_t list = (std::size_t{p[0]} << 8) | p[1];
  if (list != len - 2) return {};
  std::size_t i = 2;
  while (i + 3 <= len) {
    unsigned type = p[i];
    std::size_t n = (std::size_t{p[i + 1]} << 8) | p[i + 2];
    i += 3;
    if (n > len - i) return {};
    if (type == TLSEXT_NAMETYPE_host_name) {
      std::string_view name(reinterpret_cast<const char*>(p + i), n);
      if (!name.empty() && name.back() == '.') name.remove_suffix(1);
      return name;
    }
    i += n;
  }
  return {};
}

// Runs first on every ClientHello, before session resumption is looked at, so that the
// certificate (and with it the session ID context) is the SNI one from the start. This is
// where OpenSSL recommends switching SSL_CTX (SSL_CTX_set_client_hello_cb(3)).
int client_hello_cb(SSL* ssl, int* alert, void* arg) {
  const auto* ctx = static_cast<const server_context::impl*>(arg);
  const unsigned char* ext = nullptr;
  std::size_t ext_len = 0;
  std::size_t index = 0;
  if (SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &ext, &ext_len) == 1)
    index = ctx->select(parse_sni(ext, ext_len));
  if (SSL_get_SSL_CTX(ssl) != ctx->certs[index].ctx.get() &&
      !SSL_set_SSL_CTX(ssl, ctx->certs[index].ctx.get())) {
    *alert = SSL_AD_INTERNAL_ERROR;
    return SSL_CLIENT_HELLO_ERROR;
  }
  if (session* s = session::detail::from(ssl)) session::detail::set_certificate(*s, index);
  return SSL_CLIENT_HELLO_SUCCESS;
}

// RFC 7301 §3.2: the first of our protocols that the client offers (server preference).
int alpn_select_cb(SSL* ssl, const unsigned char** out, unsigned char* outlen,
                   const unsigned char* in, unsigned inlen, void* arg) {
  const auto* ctx = static_cast<const server_context::impl*>(arg);
  for (const std::string& proto : ctx->alpn) {
    for (unsigned i = 0; i < inlen;) {
      unsigned n = in[i];
      if (n > inlen - i - 1) break;  // OpenSSL has validated the list; stay safe anyway
      if (n == proto.size() && std::memcmp(in + i + 1, proto.data(), n) == 0) {
        *out = in + i + 1;
        *outlen = static_cast<unsigned char>(n);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + n;
    }
  }
  if (session* s = session::detail::from(ssl)) session::detail::set_alpn_mismatch(*s);
  // ALERT_FATAL sends no_application_protocol(120); NOACK goes on without ALPN.
  return ctx->on_alpn_mismatch == alpn_mismatch::reject ? SSL_TLSEXT_ERR_ALERT_FATAL
                                                        : SSL_TLSEXT_ERR_NOACK;
}

void apply_settings(SSL_CTX* c, const server_config& cfg, server_context::impl& im,
                    const unsigned char* sid_ctx, unsigned sid_ctx_len) {
  if (!SSL_CTX_set_min_proto_version(
          c, cfg.min_version == protocol_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION) ||
      !SSL_CTX_set_max_proto_version(c, TLS1_3_VERSION))
    throw_setting_error("cannot set the protocol versions");
  std::uint64_t options = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                          SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA;
  if (!cfg.session_tickets) options |= SSL_OP_NO_TICKET;
  SSL_CTX_set_options(c, options);
  // Our BIO never refuses a write, so partial writes never happen. No SSL_MODE_RELEASE_BUFFERS:
  // with it OpenSSL allocates and frees a 17 KiB record buffer in every SSL_read() and
  // SSL_write() call; session::release_idle_buffers() frees them when the connection is idle.
  if (!SSL_CTX_set_cipher_list(c, cfg.tls12_ciphers.c_str()))
    throw_setting_error("invalid TLS 1.2 cipher list \"" + cfg.tls12_ciphers + "\"");
  if (!SSL_CTX_set_ciphersuites(c, cfg.tls13_ciphersuites.c_str()))
    throw_setting_error("invalid TLS 1.3 cipher suites \"" + cfg.tls13_ciphersuites + "\"");
  if (!SSL_CTX_set1_groups_list(c, cfg.groups.c_str()))
    throw_setting_error("invalid groups \"" + cfg.groups + "\"");

  if (cfg.session_cache_size == 0) {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_OFF);
  } else {
    SSL_CTX_set_session_cache_mode(c, SSL_SESS_CACHE_SERVER);
    SSL_CTX_sess_set_cache_size(c, static_cast<long>(cfg.session_cache_size));
  }
  SSL_CTX_set_timeout(c, static_cast<long>(cfg.session_lifetime.count()));
  // Without tickets, TLS 1.3 resumption uses stateful tickets (IDs into the cache).
  bool can_resume13 = cfg.session_tickets || cfg.session_cache_size != 0;
  SSL_CTX_set_num_tickets(c, can_resume13 ? cfg.tls13_tickets : 0);
  SSL_CTX_set_max_early_data(c, 0);  // no 0-RTT: early data can be replayed (RFC 8446 §8)
  if (!SSL_CTX_set_session_id_context(c, sid_ctx, sid_ctx_len))
    throw_setting_error("cannot set the session ID context");

  SSL_CTX_set_client_hello_cb(c, client_hello_cb, &im);
  if (!cfg.alpn.empty()) SSL_CTX_set_alpn_select_cb(c, alpn_select_cb, &im);
}

void check_config(const server_config& cfg) {
  if (cfg.certificates.empty()) throw config_error("tls: no certificate configured", {});
  for (const std::string& p : cfg.alpn)
    if (p.empty() || p.size() > 255)
      throw config_error("tls: ALPN protocol name \"" + p + "\" must be 1 to 255 bytes", {});
  if (cfg.limits.input_buffer < 512)
    throw config_error("tls: input buffer limit must be at least 512 bytes", {});
  if (cfg.limits.output_high_water < 1024)
    throw config_error("tls: output high-water mark must be at least 1024 bytes", {});
  if (cfg.session_lifetime.count() < 1)
    throw config_error("tls: session lifetime must be at least 1 second", {});
}

}  // namespace

std::size_t server_context::impl::select(std::string_view host) const noexcept {
  if (host.empty() || certs.size() == 1) return 0;
  // Two passes: "a.b.test" prefers a certificate for exactly that name over "*.b.test",
  // whatever the order of the configuration.
  for (unsigned flags :
       {unsigned{X509_CHECK_FLAG_NO_WILDCARDS}, unsigned{X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS}}) {
    for (std::size_t i = 0; i < certs.size(); ++i)
      if (X509_check_host(certs[i].leaf.get(), host.data(), host.size(), flags, nullptr) == 1)
        return i;
  }
  return 0;
}

server_context::server_context(const server_config& cfg, std::time_t now)
    : impl_(std::make_unique<impl>()) {
  check_config(cfg);
  impl& im = *impl_;
  im.alpn = cfg.alpn;
  im.on_alpn_mismatch = cfg.on_alpn_mismatch;
  im.limits = cfg.limits;

  for (const certificate_config& cc : cfg.certificates) {
    loaded_chain chain = load_chain(cc.cert_chain_pem_path);
    pkey_ptr key = load_key(cc.key_pem_path);
    const std::string& cert_path = cc.cert_chain_pem_path;
    const std::string& key_path = cc.key_pem_path;

    ERR_clear_error();
    if (X509_check_private_key(chain.leaf.get(), key.get()) != 1)
      throw_file_error("key", key_path, "does not match the certificate in " + quoted(cert_path),
                       true);

    ssl_ctx_ptr ctx(SSL_CTX_new(TLS_server_method()));
    if (!ctx) throw_setting_error("cannot create an SSL_CTX");
    if (SSL_CTX_use_certificate(ctx.get(), chain.leaf.get()) != 1)
      throw_file_error("certificate", cert_path, "certificate refused", true);
    for (x509_ptr& c : chain.chain) {
      // SSL_CTX_add1_chain_cert, without the macro's C cast.
      if (SSL_CTX_ctrl(ctx.get(), SSL_CTRL_CHAIN_CERT, 1, c.get()) != 1)
        throw_file_error("certificate", cert_path, "chain certificate refused", true);
    }
    if (SSL_CTX_use_PrivateKey(ctx.get(), key.get()) != 1)
      throw_file_error("key", key_path, "key refused", true);
    if (SSL_CTX_check_private_key(ctx.get()) != 1)
      throw_file_error("key", key_path, "does not match the certificate in " + quoted(cert_path),
                       true);

    // Session ID context: the SHA-256 of the leaf, so that a session is resumed only with the
    // certificate it was made with (the client hello callback switches before the lookup).
    unsigned char sid[EVP_MAX_MD_SIZE];
    unsigned sid_len = 0;
    if (!X509_digest(chain.leaf.get(), EVP_sha256(), sid, &sid_len))
      throw_setting_error("cannot hash the certificate");
    if (sid_len > SSL_MAX_SID_CTX_LENGTH) sid_len = SSL_MAX_SID_CTX_LENGTH;
    apply_settings(ctx.get(), cfg, im, sid, sid_len);

    const ASN1_TIME* not_after = X509_get0_notAfter(chain.leaf.get());
    const ASN1_TIME* not_before = X509_get0_notBefore(chain.leaf.get());
    if (X509_cmp_time(not_after, &now) < 0)
      im.warnings.push_back("tls: certificate file " + quoted(cert_path) +
                            ": the certificate expired on " + format_time(not_after) +
                            " (loaded anyway; clients will refuse it)");
    else if (X509_cmp_time(not_before, &now) > 0)
      im.warnings.push_back("tls: certificate file " + quoted(cert_path) +
                            ": the certificate is not valid before " + format_time(not_before) +
                            " (loaded anyway; clients will refuse it)");

    im.certs.push_back({std::move(ctx), std::move(chain.leaf), cert_path});
  }
  ERR_clear_error();
}

server_context::~server_context() = default;
server_context::server_context(server_context&&) noexcept = default;
server_context& server_context::operator=(server_context&&) noexcept = default;

const std::vector<std::string>& server_context::warnings() const noexcept {
  return impl_->warnings;
}
std::size_t server_context::certificate_count() const noexcept {
  return impl_->certs.size();
}
const session_limits& server_context::limits() const noexcept {
  return impl_->limits;
}
ssl_ctx_st* server_context::native_handle() const noexcept {
  return impl_->certs.front().ctx.get();
}

}  // namespace portico::tls
