// server_context: loading certificates and keys (and the errors a bad file gives), the
// warnings, SNI certificate selection and ALPN selection, seen from a real OpenSSL client.
#include "tls/context.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "support.hpp"
#include "tls/session.hpp"

namespace portico::tls {
namespace {

using test::client_options;
using test::connection;
using test::test_pki;

std::string load_error(const server_config& cfg) {
  try {
    server_context ctx(cfg);
  } catch (const config_error& e) {
    EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL error queue left dirty";
    return e.what();
  } catch (const std::exception& e) {
    return std::string("unexpected exception: ") + e.what();
  }
  return "no error";
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class scratch_dir {
 public:
  scratch_dir() : path_(test_pki().dir / ("scratch-" + std::to_string(counter_++))) {
    std::filesystem::create_directories(path_);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

// ---- loading ------------------------------------------------------------------------------

TEST(TlsContext, LoadsCertificatesAndKeys) {
  server_context ctx(test::standard_config());
  EXPECT_EQ(ctx.certificate_count(), 4u);
  EXPECT_TRUE(ctx.warnings().empty());
  EXPECT_NE(ctx.native_handle(), nullptr);
}

TEST(TlsContext, NoCertificateIsAnError) {
  server_config cfg;
  EXPECT_NE(load_error(cfg).find("no certificate"), std::string::npos);
}

TEST(TlsContext, MissingCertificateFileNamesTheFile) {
  server_config cfg;
  std::string missing = (test_pki().dir / "does-not-exist.pem").string();
  cfg.certificates = {{missing, test_pki().key("a")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("certificate file \"" + missing + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

TEST(TlsContext, MissingKeyFileNamesTheFile) {
  server_config cfg;
  std::string missing = (test_pki().dir / "does-not-exist.key").string();
  cfg.certificates = {{test_pki().cert("a"), missing}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("key file \"" + missing + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file or directory"), std::string::npos) << msg;
}

TEST(TlsContext, GarbageCertificateNamesTheFileAndTheReason) {
  scratch_dir d;
  std::string garbage = d.file("garbage.pem");
  test::write_text(garbage, "this is not a certificate\n\x01\x02\x03");
  server_config cfg;
  cfg.certificates = {{garbage, test_pki().key("a")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("certificate file \"" + garbage + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("no PEM certificate found"), std::string::npos) << msg;
  EXPECT_NE(msg.find("OpenSSL: "), std::string::npos) << msg;
}

TEST(TlsContext, CorruptPemBodyNamesTheFile) {
  scratch_dir d;
  std::string bad = d.file("bad-base64.pem");
  test::write_text(bad,
                   "-----BEGIN CERTIFICATE-----\n!!!!not base64!!!!\n"
                   "-----END CERTIFICATE-----\n");
  server_config cfg;
  cfg.certificates = {{bad, test_pki().key("a")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("certificate file \"" + bad + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("cannot parse the first certificate"), std::string::npos) << msg;
}

TEST(TlsContext, GarbageKeyNamesTheFile) {
  scratch_dir d;
  std::string garbage = d.file("garbage.key");
  test::write_text(garbage, "not a key");
  server_config cfg;
  cfg.certificates = {{test_pki().cert("a"), garbage}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("key file \"" + garbage + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("private key"), std::string::npos) << msg;
}

TEST(TlsContext, EmptyFileIsAnError) {
  scratch_dir d;
  std::string empty = d.file("empty.pem");
  test::write_text(empty, "");
  server_config cfg;
  cfg.certificates = {{empty, test_pki().key("a")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("\"" + empty + "\": file is empty"), std::string::npos) << msg;
}

TEST(TlsContext, DirectoryIsAnError) {
  server_config cfg;
  cfg.certificates = {{test_pki().dir.string(), test_pki().key("a")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("certificate file \"" + test_pki().dir.string() + "\""), std::string::npos)
      << msg;
}

TEST(TlsContext, KeyThatDoesNotMatchTheCertificate) {
  server_config cfg;
  cfg.certificates = {{test_pki().cert("a"), test_pki().key("wild")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("key file \"" + test_pki().key("wild") + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("does not match the certificate in \"" + test_pki().cert("a") + "\""),
            std::string::npos)
      << msg;
  EXPECT_NE(msg.find("key values mismatch"), std::string::npos) << msg;
}

TEST(TlsContext, KeyFileGivenAsCertificate) {
  server_config cfg;
  cfg.certificates = {{test_pki().key("a"), test_pki().key("a")}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("certificate file \"" + test_pki().key("a") + "\""), std::string::npos) << msg;
}

TEST(TlsContext, PassphraseProtectedKeyIsRefusedWithoutPrompting) {
  scratch_dir d;
  std::string enc = d.file("encrypted.key");
  // Re-encrypt the key of "a" so that it matches the certificate.
  {
    std::FILE* f = std::fopen(test_pki().key("a").c_str(), "rb");
    ASSERT_NE(f, nullptr);
    test::pkey_ptr key(PEM_read_PrivateKey(f, nullptr, nullptr, nullptr));
    std::fclose(f);
    ASSERT_TRUE(key);
    test::write_pem(enc, key.get(), "secret");
  }
  server_config cfg;
  cfg.certificates = {{test_pki().cert("a"), enc}};
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("key file \"" + enc + "\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("passphrase"), std::string::npos) << msg;
}

TEST(TlsContext, CombinedFileWithKeyAndCertificate) {
  scratch_dir d;
  std::string both = d.file("both.pem");
  test::write_text(both, read_all(test_pki().key("a")) + read_all(test_pki().cert("a")));
  server_config cfg;
  cfg.certificates = {{both, both}};
  EXPECT_NO_THROW(server_context{cfg});
}

TEST(TlsContext, ExpiredAndNotYetValidCertificatesLoadWithAWarning) {
  server_config cfg;
  cfg.certificates = {test_pki().config("default"), test_pki().config("expired"),
                      test_pki().config("future")};
  server_context ctx(cfg);
  ASSERT_EQ(ctx.warnings().size(), 2u);
  EXPECT_NE(ctx.warnings()[0].find("\"" + test_pki().cert("expired") + "\""), std::string::npos);
  EXPECT_NE(ctx.warnings()[0].find("expired on "), std::string::npos) << ctx.warnings()[0];
  EXPECT_NE(ctx.warnings()[1].find("\"" + test_pki().cert("future") + "\""), std::string::npos);
  EXPECT_NE(ctx.warnings()[1].find("not valid before"), std::string::npos) << ctx.warnings()[1];
  // The clock is an argument: a year ago nothing had expired, but "a" was not valid yet.
  server_config one;
  one.certificates = {test_pki().config("a")};
  server_context earlier(one, std::time(nullptr) - 365L * 24 * 3600);
  ASSERT_EQ(earlier.warnings().size(), 1u);
  EXPECT_NE(earlier.warnings()[0].find("not valid before"), std::string::npos);
}

TEST(TlsContext, InvalidSettingsAreErrors) {
  server_config cfg = test::standard_config();
  cfg.alpn = {"h2", ""};
  EXPECT_NE(load_error(cfg).find("ALPN protocol name"), std::string::npos);
  cfg = test::standard_config();
  cfg.alpn = {std::string(256, 'x')};
  EXPECT_NE(load_error(cfg).find("ALPN protocol name"), std::string::npos);
  cfg = test::standard_config();
  cfg.tls12_ciphers = "NOT-A-CIPHER";
  std::string msg = load_error(cfg);
  EXPECT_NE(msg.find("invalid TLS 1.2 cipher list \"NOT-A-CIPHER\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("no cipher match"), std::string::npos) << msg;
  cfg = test::standard_config();
  cfg.tls13_ciphersuites = "TLS_NOPE";
  EXPECT_NE(load_error(cfg).find("invalid TLS 1.3 cipher suites"), std::string::npos);
  cfg = test::standard_config();
  cfg.groups = "P-1";
  EXPECT_NE(load_error(cfg).find("invalid groups"), std::string::npos);
  cfg = test::standard_config();
  cfg.limits.input_buffer = 10;
  EXPECT_NE(load_error(cfg).find("input buffer"), std::string::npos);
}

TEST(TlsContext, IsMovable) {
  server_context a(test::standard_config());
  server_context b(std::move(a));
  connection c(b, {.sni = "a.test"});
  EXPECT_TRUE(c.server.handshake_complete());
  EXPECT_EQ(c.peer.peer_common_name(), "a.test");
}

// ---- SNI ----------------------------------------------------------------------------------

struct sni_case {
  const char* sni;
  const char* expected_cn;
  std::size_t index;
};

class TlsSni : public ::testing::TestWithParam<sni_case> {};

TEST_P(TlsSni, PicksTheCertificateWhoseNamesMatch) {
  static const server_context ctx(test::standard_config());
  const sni_case& c = GetParam();
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    client_options o;
    o.sni = c.sni;
    o.max_version = version;
    o.trust_ca_file = test_pki().ca_pem.string();
    connection conn(ctx, o);
    ASSERT_TRUE(conn.server.handshake_complete()) << conn.server.error_detail();
    ASSERT_TRUE(conn.peer.handshake_done()) << conn.peer.error_reasons();
    EXPECT_EQ(conn.peer.peer_common_name(), c.expected_cn) << c.sni;
    EXPECT_EQ(conn.server.certificate_index(), c.index) << c.sni;
    EXPECT_EQ(conn.server.server_name(), c.sni);
    // The chain verifies (for c.b.test only if the intermediate was sent).
    EXPECT_EQ(conn.peer.verify_result(), X509_V_OK) << c.sni;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Names, TlsSni,
    ::testing::Values(sni_case{"a.test", "a.test", 1},
                      sni_case{"A.TeSt", "a.test", 1},            // case-insensitive
                      sni_case{"a.test.", "a.test", 1},           // trailing dot
                      sni_case{"x.b.test", "*.b.test", 2},        // wildcard
                      sni_case{"c.b.test", "c.b.test", 3},        // exact beats an earlier wildcard
                      sni_case{"b.test", "default.test", 0},      // wildcard needs one label
                      sni_case{"y.x.b.test", "default.test", 0},  // ... exactly one
                      sni_case{"unknown.example", "default.test", 0},
                      sni_case{"default.test", "default.test", 0}));

TEST(TlsSni, NoServerNameGetsTheDefault) {
  server_context ctx(test::standard_config());
  connection conn(ctx, {});
  ASSERT_TRUE(conn.server.handshake_complete());
  EXPECT_EQ(conn.peer.peer_common_name(), "default.test");
  EXPECT_EQ(conn.server.server_name(), "");
  EXPECT_EQ(conn.server.certificate_index(), 0u);
}

TEST(TlsSni, GrpcTestCredentialsVerifyAgainstTheirCa) {
  const std::filesystem::path dir = PORTICO_GRPC_CREDENTIALS;
  if (!std::filesystem::exists(dir / "server1.pem")) GTEST_SKIP() << "no " << dir;
  server_config cfg;
  cfg.certificates = {test_pki().config("default"),
                      {(dir / "server1.pem").string(), (dir / "server1.key").string()}};
  server_context ctx(cfg);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    client_options o;
    o.max_version = version;
    o.sni = "foo.test.google.fr";
    o.trust_ca_file = (dir / "ca.pem").string();
    o.verify_host = "foo.test.google.fr";
    o.verify_time = 1704067200;  // 2024-01-01: inside the certificates' validity
    connection conn(ctx, o);
    ASSERT_TRUE(conn.server.handshake_complete()) << conn.server.error_detail();
    ASSERT_TRUE(conn.peer.handshake_done()) << conn.peer.error_reasons();
    EXPECT_EQ(conn.server.certificate_index(), 1u);
    EXPECT_EQ(conn.peer.verify_result(), X509_V_OK);
    EXPECT_EQ(conn.peer.peer_common_name(), "*.test.google.com");
    EXPECT_EQ(conn.server.alpn(), "h2");
    if (version == TLS1_2_VERSION) {
      EXPECT_EQ(conn.server.cipher(), "ECDHE-RSA-AES128-GCM-SHA256");
    }
  }
}

// ---- ALPN ---------------------------------------------------------------------------------

TEST(TlsAlpn, ServerPreferenceAmongWhatTheClientOffers) {
  server_context ctx(test::standard_config());
  struct alpn_case {
    std::vector<std::string> offered;
    const char* chosen;
  } cases[] = {
      {{"h2", "http/1.1"}, "h2"},
      {{"http/1.1", "h2"}, "h2"},  // server preference
      {{"http/1.1"}, "http/1.1"},
      {{"h2"}, "h2"},
      {{"foo", "http/1.1"}, "http/1.1"},
      {{}, ""},  // no ALPN extension: no protocol (the server speaks HTTP/1.1)
  };
  for (const alpn_case& c : cases) {
    for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
      connection conn(ctx, {.max_version = version, .alpn = c.offered});
      ASSERT_TRUE(conn.server.handshake_complete()) << conn.server.error_detail();
      EXPECT_EQ(conn.server.alpn(), c.chosen);
      const unsigned char* p = nullptr;
      unsigned len = 0;
      SSL_get0_alpn_selected(conn.peer.ssl(), &p, &len);
      EXPECT_EQ(std::string(reinterpret_cast<const char*>(p), len), c.chosen);
    }
  }
}

TEST(TlsAlpn, NoProtocolInCommonIsRejectedWithAnAlert) {
  server_context ctx(test::standard_config());
  connection conn(ctx, {.alpn = {"spdy/3", "foo"}});
  EXPECT_TRUE(conn.server.failed());
  EXPECT_EQ(conn.server.error(), errc::no_application_protocol);
  ASSERT_TRUE(conn.server.alert_sent());
  EXPECT_EQ(*conn.server.alert_sent(), 120);  // no_application_protocol
  EXPECT_NE(conn.peer.error(), 0);
  EXPECT_NE(conn.peer.error_reasons().find("no application protocol"), std::string::npos)
      << conn.peer.error_reasons();
  EXPECT_TRUE(conn.server.done());
}

TEST(TlsAlpn, NoProtocolInCommonCanContinueWithout) {
  server_config cfg = test::standard_config();
  cfg.on_alpn_mismatch = alpn_mismatch::continue_without;
  server_context ctx(cfg);
  connection conn(ctx, {.alpn = {"spdy/3"}});
  ASSERT_TRUE(conn.server.handshake_complete()) << conn.server.error_detail();
  EXPECT_EQ(conn.server.alpn(), "");
}

TEST(TlsAlpn, EmptyServerListNegotiatesNothing) {
  server_config cfg = test::standard_config();
  cfg.alpn.clear();
  server_context ctx(cfg);
  connection conn(ctx, {});
  ASSERT_TRUE(conn.server.handshake_complete()) << conn.server.error_detail();
  EXPECT_EQ(conn.server.alpn(), "");
}

// ---- one context, many threads ------------------------------------------------------------

TEST(TlsContext, SharedByThreads) {
  const server_context ctx(test::standard_config());
  auto work = [&ctx](const char* sni, int* ok) {
    test::session_ptr saved;
    for (int i = 0; i < 20; ++i) {
      client_options o;
      o.sni = sni;
      o.resume = saved.get();
      connection conn(ctx, o);
      conn.peer.send("ping");
      conn.l.pump();
      if (conn.server.handshake_complete() && conn.l.server_received == "ping") ++*ok;
      saved = conn.peer.get_session();
    }
  };
  int ok1 = 0, ok2 = 0;
  std::thread t1(work, "a.test", &ok1);
  std::thread t2(work, "x.b.test", &ok2);
  t1.join();
  t2.join();
  EXPECT_EQ(ok1, 20);
  EXPECT_EQ(ok2, 20);
}

}  // namespace
}  // namespace portico::tls
