// Test certificates made with the OpenSSL API, and the in-memory client.
#include "support.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <system_error>

namespace portico::tls::test {
namespace {

[[noreturn]] void die(const std::string& what) {
  ERR_print_errors_fp(stderr);
  throw std::runtime_error("test support: " + what);
}

void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX v3;
  X509V3_set_ctx(&v3, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str());
  if (!ext || !X509_add_ext(cert, ext, -1)) die("extension " + value);
  X509_EXTENSION_free(ext);
}

long next_serial() {
  static long serial = 1000;
  return ++serial;
}

struct temp_pki : pki {
  ~temp_pki() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
};

std::unique_ptr<temp_pki> build_pki() {
  auto p = std::make_unique<temp_pki>();
  const char* tmp = std::getenv("TMPDIR");
  std::string templ = std::string(tmp && *tmp ? tmp : "/tmp") + "/portico-tls-test-XXXXXX";
  if (!mkdtemp(templ.data())) die("mkdtemp");
  p->dir = templ;

  p->ca_key = make_key();
  p->ca = make_cert({"Portico Test CA", {}, true, -3600, 365L * 24 * 3600}, p->ca_key.get(),
                    nullptr, nullptr);
  p->ca_pem = p->dir / "ca.pem";
  write_pem(p->ca_pem, {p->ca.get()});

  pkey_ptr inter_key = make_key();
  x509_ptr inter = make_cert({"Portico Test Intermediate", {}, true, -3600, 365L * 24 * 3600},
                             inter_key.get(), p->ca.get(), p->ca_key.get());

  struct leaf {
    const char* file;
    cert_spec spec;
    bool via_intermediate;
  };
  const long day = 24 * 3600;
  const leaf leaves[] = {
      {"default", {"default.test", {"default.test"}}, false},
      {"a", {"a.test", {"a.test"}}, false},
      {"wild", {"*.b.test", {"*.b.test"}}, false},
      {"exact", {"c.b.test", {"c.b.test"}}, true},
      {"expired", {"expired.test", {"expired.test"}, false, -30 * day, -day}, false},
      {"future", {"future.test", {"future.test"}, false, day, 30 * day}, false},
  };
  for (const leaf& l : leaves) {
    pkey_ptr key = make_key();
    X509* issuer = l.via_intermediate ? inter.get() : p->ca.get();
    EVP_PKEY* issuer_key = l.via_intermediate ? inter_key.get() : p->ca_key.get();
    x509_ptr cert = make_cert(l.spec, key.get(), issuer, issuer_key);
    std::vector<X509*> chain{cert.get()};
    if (l.via_intermediate) chain.push_back(inter.get());
    write_pem(p->cert(l.file), chain);
    write_pem(p->key(l.file), key.get());
  }
  return p;
}

}  // namespace

pkey_ptr make_key() {
  pkey_ptr k(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!k) die("EC key");
  return k;
}

x509_ptr make_cert(const cert_spec& spec, EVP_PKEY* key, X509* issuer, EVP_PKEY* issuer_key) {
  x509_ptr x(X509_new());
  if (!x) die("X509_new");
  X509_set_version(x.get(), X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), next_serial());
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1,
                             -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : x.get();
  add_ext(x.get(), signer, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "CA:FALSE");
  add_ext(x.get(), signer, NID_key_usage,
          spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature");
  add_ext(x.get(), signer, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(x.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (!spec.ca) add_ext(x.get(), signer, NID_ext_key_usage, "serverAuth");
  if (!spec.dns_names.empty()) {
    std::string san;
    for (const std::string& n : spec.dns_names)
      san += (san.empty() ? "DNS:" : ",DNS:") + n;
    add_ext(x.get(), signer, NID_subject_alt_name, san);
  }
  if (!X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256())) die("X509_sign");
  return x;
}

void write_pem(const std::filesystem::path& p, const std::vector<X509*>& certs) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) die("open " + p.string());
  for (X509* c : certs)
    if (!PEM_write_X509(f, c)) die("PEM_write_X509");
  std::fclose(f);
}

void write_pem(const std::filesystem::path& p, EVP_PKEY* key, const char* passphrase) {
  std::FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) die("open " + p.string());
  int ok = passphrase ? PEM_write_PKCS8PrivateKey(f, key, EVP_aes_128_cbc(), nullptr, 0, nullptr,
                                                  const_cast<char*>(passphrase))
                      : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  if (!ok) die("PEM_write_PrivateKey");
}

void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

const pki& test_pki() {
  static const std::unique_ptr<temp_pki> p = build_pki();
  return *p;
}

server_config standard_config() {
  const pki& p = test_pki();
  server_config cfg;
  cfg.certificates = {p.config("default"), p.config("a"), p.config("wild"), p.config("exact")};
  return cfg;
}

// ---- client -------------------------------------------------------------------------------

client::client(const client_options& o) {
  ctx_ = SSL_CTX_new(TLS_client_method());
  if (!ctx_) die("SSL_CTX_new");
  if (o.security_level >= 0) SSL_CTX_set_security_level(ctx_, o.security_level);
  SSL_CTX_set_min_proto_version(ctx_, o.min_version);
  SSL_CTX_set_max_proto_version(ctx_, o.max_version);
  if (o.no_ticket) SSL_CTX_set_options(ctx_, SSL_OP_NO_TICKET);
  if (!o.tls12_ciphers.empty() && !SSL_CTX_set_cipher_list(ctx_, o.tls12_ciphers.c_str()))
    die("client cipher list");
  if (!o.tls13_ciphersuites.empty() &&
      !SSL_CTX_set_ciphersuites(ctx_, o.tls13_ciphersuites.c_str()))
    die("client cipher suites");
  if (!o.groups.empty() && !SSL_CTX_set1_groups_list(ctx_, o.groups.c_str())) die("groups");
  SSL_CTX_set_session_cache_mode(ctx_, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  if (!o.trust_ca_file.empty()) {
    if (!SSL_CTX_load_verify_locations(ctx_, o.trust_ca_file.c_str(), nullptr))
      die("load CA " + o.trust_ca_file);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
  }
  ssl_ = SSL_new(ctx_);
  if (!ssl_) die("SSL_new");
  if (!o.verify_host.empty()) SSL_set1_host(ssl_, o.verify_host.c_str());
  if (o.verify_time) X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl_), *o.verify_time);
  if (!o.sni.empty())
    SSL_ctrl(ssl_, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(o.sni.c_str()));
  if (!o.alpn.empty()) {
    std::string wire;
    for (const std::string& p : o.alpn) {
      wire.push_back(static_cast<char>(p.size()));
      wire += p;
    }
    SSL_set_alpn_protos(ssl_, reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned>(wire.size()));
  }
  if (o.resume) SSL_set_session(ssl_, o.resume);
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl_, in_, out_);
  SSL_set_connect_state(ssl_);
  drive();
}

client::~client() {
  // As a browser does: keep the session resumable although no close_notify was exchanged.
  SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(ssl_);
  SSL_CTX_free(ctx_);
}

void client::fail(int e) {
  if (error_ == 0) {
    error_ = e;
    char buf[256];
    while (unsigned long code = ERR_get_error()) {
      ERR_error_string_n(code, buf, sizeof buf);
      reasons_ += buf;
      reasons_ += "\n";
    }
  }
  ERR_clear_error();
}

void client::collect_output() {
  char buf[16 * 1024];
  while (BIO_ctrl_pending(out_) > 0) {
    int n = BIO_read(out_, buf, sizeof buf);
    if (n <= 0) break;
    to_server_.append(buf, static_cast<std::size_t>(n));
  }
}

void client::receive(const std::byte* p, std::size_t n) {
  BIO_write(in_, p, static_cast<int>(n));
  drive();
}

void client::drive() {
  if (error_ != 0) return;
  if (!handshake_done()) {
    int r = SSL_do_handshake(ssl_);
    if (r != 1) {
      int e = SSL_get_error(ssl_, r);
      if (e != SSL_ERROR_WANT_READ) fail(e);
      collect_output();
      return;
    }
  }
  char buf[16 * 1024];
  for (;;) {
    std::size_t n = 0;
    int r = SSL_read_ex(ssl_, buf, sizeof buf, &n);
    if (r == 1) {
      received_.append(buf, n);
      continue;
    }
    int e = SSL_get_error(ssl_, r);
    if (e == SSL_ERROR_ZERO_RETURN) {
      close_notify_ = true;
    } else if (e != SSL_ERROR_WANT_READ) {
      fail(e);
    }
    ERR_clear_error();
    break;
  }
  collect_output();
}

void client::send(const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    std::size_t n = 0;
    if (SSL_write_ex(ssl_, data.data() + done, data.size() - done, &n) != 1) {
      fail(SSL_get_error(ssl_, 0));
      break;
    }
    done += n;
  }
  collect_output();
}

std::string client::peer_common_name() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (!cert) return {};
  char buf[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf);
  return buf;
}

// ---- link ---------------------------------------------------------------------------------

void link::server_read() {
  std::string buf(read_buffer, '\0');
  for (;;) {
    io_result r = server.read(std::as_writable_bytes(std::span(buf.data(), buf.size())));
    last_read = r.st;
    if (r.st != status::ok) break;
    server_received.append(buf.data(), r.bytes);
  }
  max_buffered_input = std::max(max_buffered_input, server.buffered_input());
}

bool link::pump() {
  for (int round = 0; round < 1000000; ++round) {
    bool progress = false;
    // client -> server
    std::string& up = peer.to_server();
    std::size_t offset = 0;
    while (offset < up.size()) {
      std::size_t n = std::min(feed_piece, up.size() - offset);
      std::size_t took = server.feed(std::as_bytes(std::span(up.data() + offset, n)));
      max_buffered_input = std::max(max_buffered_input, server.buffered_input());
      offset += took;
      if (took > 0) progress = true;
      server_read();
      if (took == 0) break;  // input full although read() drained it: only when failed
    }
    up.erase(0, offset);
    server_read();
    // server -> client
    max_pending_output = std::max(max_pending_output, server.pending_output().size());
    while (server.has_output()) {
      auto out = server.pending_output();
      std::size_t n = std::min(output_piece, out.size());
      peer.receive(out.data(), n);
      server.commit_output(n);
      progress = true;
    }
    if (!progress) return true;
  }
  return false;
}

}  // namespace portico::tls::test
