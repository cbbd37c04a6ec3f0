// tls::session against a real OpenSSL client through byte buffers: handshakes (TLS 1.3 and
// 1.2), resumption, application data split at every byte, bounded buffers, closing, and
// hostile input.
#include "tls/session.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "support.hpp"

namespace portico::tls {
namespace {

using test::client_options;
using test::connection;
using test::test_pki;

const server_context& shared_context() {
  static const server_context ctx(test::standard_config());
  return ctx;
}

std::span<const std::byte> bytes_of(std::string_view s) {
  return std::as_bytes(std::span(s));
}

// Writes all of `data` through the server session, pumping whenever write() takes less.
void server_write_all(test::link& l, std::string_view data) {
  while (!data.empty()) {
    io_result r = l.server.write(bytes_of(data));
    ASSERT_NE(r.st, status::error) << l.server.error_detail();
    ASSERT_NE(r.st, status::closed);
    data.remove_prefix(r.bytes);
    l.max_pending_output = std::max(l.max_pending_output, l.server.pending_output().size());
    if (r.bytes == 0 || !data.empty()) {
      ASSERT_TRUE(l.pump());
    }
  }
  ASSERT_TRUE(l.pump());
}

std::string pattern(std::size_t n, unsigned seed) {
  std::string s(n, '\0');
  std::mt19937 rng(seed);
  for (char& c : s)
    c = static_cast<char>(rng());
  return s;
}

// ---- handshakes ---------------------------------------------------------------------------

TEST(TlsSession, Tls13Handshake) {
  connection c(shared_context(), {.sni = "a.test"});
  ASSERT_TRUE(c.server.handshake_complete()) << c.server.error_detail();
  ASSERT_TRUE(c.peer.handshake_done()) << c.peer.error_reasons();
  EXPECT_EQ(c.server.current_state(), session::state::established);
  EXPECT_EQ(c.server.version(), "TLSv1.3");
  EXPECT_EQ(c.server.cipher(), "TLS_AES_128_GCM_SHA256");  // server preference
  EXPECT_EQ(c.server.alpn(), "h2");
  EXPECT_EQ(c.server.server_name(), "a.test");
  EXPECT_FALSE(c.server.resumed());
  EXPECT_FALSE(c.server.error());
  EXPECT_FALSE(c.server.has_output());
  EXPECT_EQ(c.server.buffered_input(), 0u);
}

TEST(TlsSession, Tls12Handshake) {
  connection c(shared_context(), {.max_version = TLS1_2_VERSION, .sni = "a.test"});
  ASSERT_TRUE(c.server.handshake_complete()) << c.server.error_detail();
  ASSERT_TRUE(c.peer.handshake_done()) << c.peer.error_reasons();
  EXPECT_EQ(c.server.version(), "TLSv1.2");
  EXPECT_EQ(c.server.cipher(), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(c.server.alpn(), "h2");
  EXPECT_EQ(c.peer.peer_common_name(), "a.test");
}

TEST(TlsSession, Tls13OnlyServerRefusesTls12) {
  server_config cfg = test::standard_config();
  cfg.min_version = protocol_version::tls1_3;
  server_context ctx(cfg);
  connection c(ctx, {.max_version = TLS1_2_VERSION});
  EXPECT_TRUE(c.server.failed());
  EXPECT_EQ(c.server.error(), errc::handshake_failed);
  ASSERT_TRUE(c.server.alert_sent());
  EXPECT_EQ(*c.server.alert_sent(), 70);  // protocol_version
  EXPECT_NE(c.peer.error(), 0);
}

TEST(TlsSession, OldVersionsAreRefused) {
  client_options o;
  o.min_version = TLS1_VERSION;
  o.max_version = TLS1_1_VERSION;
  o.security_level = 0;  // let the client offer TLS 1.0/1.1 at all
  connection c(shared_context(), o);
  EXPECT_TRUE(c.server.failed());
  EXPECT_EQ(c.server.error(), errc::handshake_failed);
  ASSERT_TRUE(c.server.alert_sent());
  EXPECT_EQ(*c.server.alert_sent(), 70);  // protocol_version
  EXPECT_NE(c.server.error_detail().find("unsupported protocol"), std::string::npos)
      << c.server.error_detail();
  EXPECT_TRUE(c.server.done());
}

TEST(TlsSession, Tls12CiphersAreEcdheWithAeadOnly) {
  // A client offering only CBC (or only RSA key exchange) suites finds nothing in common.
  for (const char* list :
       {"ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA384", "AES128-GCM-SHA256"}) {
    connection c(shared_context(), {.max_version = TLS1_2_VERSION, .tls12_ciphers = list});
    EXPECT_TRUE(c.server.failed()) << list;
    EXPECT_EQ(c.server.error(), errc::handshake_failed);
    EXPECT_NE(c.server.error_detail().find("no shared cipher"), std::string::npos)
        << c.server.error_detail();
    ASSERT_TRUE(c.server.alert_sent());
    EXPECT_EQ(*c.server.alert_sent(), 40);  // handshake_failure
  }
  connection c(shared_context(),
               {.max_version = TLS1_2_VERSION, .tls12_ciphers = "ECDHE-ECDSA-AES256-GCM-SHA384"});
  ASSERT_TRUE(c.server.handshake_complete()) << c.server.error_detail();
  EXPECT_EQ(c.server.cipher(), "ECDHE-ECDSA-AES256-GCM-SHA384");
}

TEST(TlsSession, ChaChaFirstClientsGetChaCha) {
  // SSL_OP_PRIORITIZE_CHACHA: a client that prefers ChaCha20 (no AES hardware) gets it.
  connection c13(shared_context(),
                 {.tls13_ciphersuites = "TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256"});
  EXPECT_EQ(c13.server.cipher(), "TLS_CHACHA20_POLY1305_SHA256");
  connection c12(shared_context(),
                 {.max_version = TLS1_2_VERSION,
                  .tls12_ciphers = "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256"});
  EXPECT_EQ(c12.server.cipher(), "ECDHE-ECDSA-CHACHA20-POLY1305");
}

TEST(TlsSession, Groups) {
  for (const char* g : {"P-256", "P-384", "X25519"}) {
    connection c(shared_context(), {.groups = g});
    EXPECT_TRUE(c.server.handshake_complete()) << g << ": " << c.server.error_detail();
  }
  connection none(shared_context(), {.groups = "P-521:ffdhe2048"});
  EXPECT_TRUE(none.server.failed());
  EXPECT_EQ(none.server.error(), errc::handshake_failed);
}

TEST(TlsSession, HelloRetryRequestKeepsTheSniCertificate) {
  // The client's key share is for P-521, which the server does not take: the server asks for
  // P-256 (HelloRetryRequest) and the second ClientHello is looked at again.
  connection c(shared_context(), {.sni = "a.test", .groups = "P-521:P-256"});
  ASSERT_TRUE(c.server.handshake_complete()) << c.server.error_detail();
  EXPECT_EQ(c.peer.peer_common_name(), "a.test");
  EXPECT_EQ(c.server.certificate_index(), 1u);
}

TEST(TlsSession, HandshakeFedOneByteAtATimeBothWays) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    session s(shared_context());
    test::client peer({.max_version = version, .sni = "x.b.test"});
    test::link l{s, peer};
    l.feed_piece = 1;
    l.output_piece = 1;
    ASSERT_TRUE(l.pump());
    ASSERT_TRUE(s.handshake_complete()) << s.error_detail();
    ASSERT_TRUE(peer.handshake_done()) << peer.error_reasons();
    EXPECT_EQ(peer.peer_common_name(), "*.b.test");

    std::string up = pattern(5000, 1);
    peer.send(up);
    ASSERT_TRUE(l.pump());
    EXPECT_EQ(l.server_received, up);
    std::string down = pattern(5000, 2);
    server_write_all(l, down);
    EXPECT_EQ(peer.received(), down);
  }
}

TEST(TlsSession, SmallReadBuffer) {
  connection c(shared_context(), {});
  c.l.read_buffer = 1;  // read() returns what fits; the rest stays in OpenSSL for the next call
  std::string up = pattern(20000, 3);
  c.peer.send(up);
  ASSERT_TRUE(c.l.pump());
  EXPECT_EQ(c.l.server_received, up);
}

TEST(TlsSession, WriteBeforeTheHandshakeWaits) {
  session s(shared_context());
  io_result r = s.write(bytes_of("early"));
  EXPECT_EQ(r.bytes, 0u);
  EXPECT_EQ(r.st, status::want_more);
  std::byte buf[16];
  r = s.read(buf);
  EXPECT_EQ(r.st, status::want_more);
  EXPECT_FALSE(s.has_output());
  EXPECT_EQ(s.current_state(), session::state::handshaking);
}

// ---- resumption ---------------------------------------------------------------------------

struct resume_case {
  const char* name;
  int version;
  bool client_no_ticket;
  const char* sni;
};

class TlsResumption : public ::testing::TestWithParam<resume_case> {};

TEST_P(TlsResumption, SecondConnectionIsResumed) {
  const resume_case& rc = GetParam();
  client_options o{.max_version = rc.version, .sni = rc.sni, .no_ticket = rc.client_no_ticket};
  test::session_ptr saved;
  {
    connection first(shared_context(), o);
    ASSERT_TRUE(first.server.handshake_complete()) << first.server.error_detail();
    EXPECT_FALSE(first.server.resumed());
    saved = first.peer.get_session();  // TLS 1.3: tickets arrived after the handshake
    ASSERT_TRUE(saved);
    ASSERT_TRUE(SSL_SESSION_is_resumable(saved.get()));
  }
  o.resume = saved.get();
  connection second(shared_context(), o);
  ASSERT_TRUE(second.server.handshake_complete()) << second.server.error_detail();
  EXPECT_TRUE(second.server.resumed());
  EXPECT_TRUE(SSL_session_reused(second.peer.ssl()));
  EXPECT_EQ(second.server.alpn(), "h2");
  second.peer.send("after resumption");
  ASSERT_TRUE(second.l.pump());
  EXPECT_EQ(second.l.server_received, "after resumption");
}

INSTANTIATE_TEST_SUITE_P(
    Kinds, TlsResumption,
    ::testing::Values(resume_case{"tls13_ticket", TLS1_3_VERSION, false, ""},
                      resume_case{"tls13_ticket_sni", TLS1_3_VERSION, false, "a.test"},
                      resume_case{"tls12_ticket", TLS1_2_VERSION, false, ""},
                      resume_case{"tls12_ticket_sni", TLS1_2_VERSION, false, "x.b.test"},
                      resume_case{"tls12_session_id", TLS1_2_VERSION, true, ""},
                      resume_case{"tls12_session_id_sni", TLS1_2_VERSION, true, "a.test"}),
    [](const ::testing::TestParamInfo<resume_case>& p) { return std::string(p.param.name); });

TEST(TlsResumption, NotAcrossCertificates) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    test::session_ptr saved;
    {
      connection first(shared_context(), {.max_version = version, .sni = "a.test"});
      saved = first.peer.get_session();
      ASSERT_TRUE(saved);
    }
    // A session made with a.test's certificate is not resumed for a name served by another.
    connection second(shared_context(),
                      {.max_version = version, .sni = "x.b.test", .resume = saved.get()});
    ASSERT_TRUE(second.server.handshake_complete()) << second.server.error_detail();
    EXPECT_FALSE(second.server.resumed()) << version;
    EXPECT_EQ(second.peer.peer_common_name(), "*.b.test");
  }
}

TEST(TlsResumption, Tls13WithoutTicketsUsesTheCache) {
  server_config cfg = test::standard_config();
  cfg.session_tickets = false;
  server_context ctx(cfg);
  test::session_ptr saved;
  {
    connection first(ctx, {});
    saved = first.peer.get_session();
  }
  connection second(ctx, {.resume = saved.get()});
  ASSERT_TRUE(second.server.handshake_complete());
  EXPECT_TRUE(second.server.resumed());
}

TEST(TlsResumption, OffWhenCacheAndTicketsAreOff) {
  server_config cfg = test::standard_config();
  cfg.session_tickets = false;
  cfg.session_cache_size = 0;
  server_context ctx(cfg);
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    test::session_ptr saved;
    {
      connection first(ctx, {.max_version = version});
      saved = first.peer.get_session();
    }
    connection second(ctx, {.max_version = version, .resume = saved.get()});
    ASSERT_TRUE(second.server.handshake_complete());
    EXPECT_FALSE(second.server.resumed());
  }
}

// ---- application data and bounds -------------------------------------------------------------

TEST(TlsSession, OneMebibyteBothWaysWithBoundedBuffers) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    connection c(shared_context(), {.max_version = version});
    ASSERT_TRUE(c.server.handshake_complete());
    c.l.max_pending_output = 0;
    std::string up = pattern(1 << 20, 4);
    c.peer.send(up);  // the client queues all of it; the server takes it in bounded steps
    ASSERT_TRUE(c.l.pump());
    EXPECT_EQ(c.l.server_received.size(), up.size());
    EXPECT_TRUE(c.l.server_received == up);
    EXPECT_LE(c.l.max_buffered_input, shared_context().limits().input_buffer);

    std::string down = pattern(1 << 20, 5);
    server_write_all(c.l, down);
    EXPECT_EQ(c.peer.received().size(), down.size());
    EXPECT_TRUE(c.peer.received() == down);
    EXPECT_LE(c.l.max_pending_output, shared_context().limits().output_high_water);
  }
}

TEST(TlsSession, TightLimits) {
  server_config cfg = test::standard_config();
  cfg.limits.input_buffer = 512;
  cfg.limits.output_high_water = 1024;
  server_context ctx(cfg);
  connection c(ctx, {});
  ASSERT_TRUE(c.server.handshake_complete());
  std::string up = pattern(100000, 6);
  c.peer.send(up);
  ASSERT_TRUE(c.l.pump());
  EXPECT_TRUE(c.l.server_received == up);
  EXPECT_LE(c.l.max_buffered_input, 512u);
  c.l.max_pending_output = 0;
  std::string down = pattern(100000, 7);
  server_write_all(c.l, down);
  EXPECT_TRUE(c.peer.received() == down);
  // A high-water mark under one record still lets one whole record through at a time.
  EXPECT_LE(c.l.max_pending_output, 16384u + 256u);
}

TEST(TlsSession, FeedStopsWhenTheInputBufferIsFullAndReadIsNotCalled) {
  connection c(shared_context(), {});
  ASSERT_TRUE(c.server.handshake_complete());
  c.peer.send(pattern(200000, 8));
  std::string& up = c.peer.to_server();
  std::size_t total = 0;
  for (int i = 0; i < 10; ++i) {
    std::size_t n = c.server.feed(bytes_of(std::string_view(up).substr(total)));
    total += n;
  }
  EXPECT_EQ(total, shared_context().limits().input_buffer);
  EXPECT_EQ(c.server.buffered_input(), total);
  EXPECT_TRUE(c.server.input_space().empty());
  // read() drains it; then feed() takes more.
  std::byte buf[4096];
  while (c.server.read(buf).st == status::ok) {
  }
  EXPECT_LT(c.server.buffered_input(), shared_context().limits().input_buffer);
  EXPECT_GT(c.server.feed(bytes_of(std::string_view(up).substr(total))), 0u);
}

TEST(TlsSession, InputSpaceIsZeroCopyInput) {
  session s(shared_context());
  test::client peer{client_options{}};
  std::string& up = peer.to_server();
  while (!up.empty()) {
    std::span<std::byte> space = s.input_space();
    ASSERT_FALSE(space.empty());
    std::size_t n = std::min<std::size_t>({space.size(), up.size(), 7});
    std::memcpy(space.data(), up.data(), n);
    up.erase(0, n);
    s.input_committed(n);
  }
  ASSERT_TRUE(s.has_output());  // the server's first flight
  test::link l{s, peer};
  ASSERT_TRUE(l.pump());
  EXPECT_TRUE(s.handshake_complete());
}

TEST(TlsSession, KeyUpdateFromTheClient) {
  connection c(shared_context(), {});
  ASSERT_TRUE(SSL_key_update(c.peer.ssl(), SSL_KEY_UPDATE_REQUESTED));
  c.peer.send("after key update");
  ASSERT_TRUE(c.l.pump());
  EXPECT_EQ(c.l.server_received, "after key update");
  server_write_all(c.l, "reply");
  EXPECT_EQ(c.peer.received(), "reply");
  EXPECT_EQ(c.peer.error(), 0) << c.peer.error_reasons();
}

TEST(TlsHostile, KeyUpdateFloodIsCut) {
  // Each KeyUpdate(update_requested) makes the server answer one (RFC 8446 §4.6.3). A client
  // that sends them without end and never reads the answers must not make the server's output
  // grow without end.
  connection c(shared_context(), {});
  BIO* wbio = SSL_get_wbio(c.peer.ssl());
  std::string& up = c.peer.to_server();
  char tmp[4096];
  std::size_t sent = 0;
  std::byte buf[256];
  while (!c.server.failed() && sent < 10 * 1024 * 1024) {
    for (int i = 0; i < 100; ++i) {
      ASSERT_TRUE(SSL_key_update(c.peer.ssl(), SSL_KEY_UPDATE_REQUESTED));
      ASSERT_EQ(SSL_do_handshake(c.peer.ssl()), 1);
    }
    while (BIO_ctrl_pending(wbio) > 0) {
      int n = BIO_read(wbio, tmp, sizeof tmp);
      if (n <= 0) break;
      up.append(tmp, static_cast<std::size_t>(n));
    }
    std::size_t off = 0;
    while (off < up.size() && !c.server.failed()) {
      off += c.server.feed(bytes_of(std::string_view(up).substr(off)));
      while (c.server.read(buf).st == status::ok) {
      }
    }
    sent += up.size();
    up.clear();
    // The server's output is never sent to the client.
  }
  EXPECT_TRUE(c.server.failed());
  EXPECT_EQ(c.server.error(), errc::output_flood) << c.server.error_detail();
  EXPECT_LE(c.server.pending_output().size(), shared_context().limits().output_high_water +
                                                  64 * 1024 +
                                                  shared_context().limits().input_buffer);
}

TEST(TlsSession, RenegotiationIsRefused) {
  connection c(shared_context(), {.max_version = TLS1_2_VERSION});
  ASSERT_TRUE(c.server.handshake_complete());
  ASSERT_EQ(SSL_renegotiate(c.peer.ssl()), 1);
  SSL_do_handshake(c.peer.ssl());
  char buf[16];
  SSL_read(c.peer.ssl(), buf, sizeof buf);  // flushes the ClientHello
  ERR_clear_error();
  std::string& up = c.peer.to_server();
  char tmp[4096];
  BIO* wbio = SSL_get_wbio(c.peer.ssl());
  while (BIO_ctrl_pending(wbio) > 0) {
    int n = BIO_read(wbio, tmp, sizeof tmp);
    if (n <= 0) break;
    up.append(tmp, static_cast<std::size_t>(n));
  }
  ASSERT_FALSE(up.empty());
  ASSERT_TRUE(c.l.pump());
  // The server answers a no_renegotiation warning and no new handshake happens.
  EXPECT_NE(c.peer.error(), 0);
  EXPECT_NE(c.peer.error_reasons().find("no renegotiation"), std::string::npos)
      << c.peer.error_reasons();
}

TEST(TlsSession, ReleaseIdleBuffers) {
  connection c(shared_context(), {});
  c.peer.send("one");
  ASSERT_TRUE(c.l.pump());
  c.server.release_idle_buffers();
  c.peer.send("two");
  ASSERT_TRUE(c.l.pump());
  server_write_all(c.l, "three");
  c.server.release_idle_buffers();
  server_write_all(c.l, "four");
  EXPECT_EQ(c.l.server_received, "onetwo");
  EXPECT_EQ(c.peer.received(), "threefour");
}

TEST(TlsSession, ReleaseIdleBuffersKeepsWhatOpenSslHolds) {
  // OpenSSL keeps the start of a record it is reading, and the rest of a decrypted record the
  // caller has not read yet, in its own buffer: releasing the buffers then must lose neither.
  connection c(shared_context(), {});
  c.peer.send("split record");
  const std::string record = c.peer.to_server();
  c.peer.to_server().clear();
  ASSERT_GT(record.size(), 10u);
  EXPECT_EQ(c.server.feed(bytes_of(std::string_view(record).substr(0, 10))), 10u);
  std::byte buf[5];
  EXPECT_EQ(c.server.read(buf).st, status::want_more);
  EXPECT_EQ(c.server.buffered_input(), 0u);  // OpenSSL took the partial record
  c.server.release_idle_buffers();
  std::string_view rest = std::string_view(record).substr(10);
  EXPECT_EQ(c.server.feed(bytes_of(rest)), rest.size());
  std::string got;
  for (;;) {
    io_result r = c.server.read(buf);
    if (r.st != status::ok) break;
    got.append(reinterpret_cast<const char*>(buf), r.bytes);
    c.server.release_idle_buffers();  // plaintext of the record is still to be read
  }
  EXPECT_EQ(got, "split record");
  EXPECT_FALSE(c.server.failed()) << c.server.error_detail();
}

TEST(TlsSession, ErrorLeftByOtherCodeIsIgnored) {
  // SSL_get_error() reads the thread's error queue: an error that other code on the thread left
  // there must not turn "no input yet" or a write into a failure of the session.
  connection c(shared_context(), {});
  ERR_raise(ERR_LIB_USER, 1);
  std::byte buf[64];
  EXPECT_EQ(c.server.read(buf).st, status::want_more);
  EXPECT_FALSE(c.server.failed()) << c.server.error_detail();
  ERR_raise(ERR_LIB_USER, 1);
  server_write_all(c.l, "reply");
  EXPECT_EQ(c.peer.received(), "reply");
  EXPECT_EQ(ERR_peek_error(), 0u);
}

// ---- closing ------------------------------------------------------------------------------

TEST(TlsSession, ClientClosesFirst) {
  for (int version : {TLS1_3_VERSION, TLS1_2_VERSION}) {
    connection c(shared_context(), {.max_version = version});
    c.peer.send("last words");
    SSL_shutdown(c.peer.ssl());
    c.peer.drive();
    ASSERT_TRUE(c.l.pump());
    EXPECT_EQ(c.l.server_received, "last words");
    EXPECT_EQ(c.l.last_read, status::closed);
    EXPECT_EQ(c.server.current_state(), session::state::peer_closed);
    EXPECT_FALSE(c.server.done());
    // Half-close: the server may still answer, then closes too.
    server_write_all(c.l, "answer");
    EXPECT_EQ(c.peer.received(), "answer");
    c.server.close();
    EXPECT_EQ(c.server.current_state(), session::state::closed);
    ASSERT_TRUE(c.server.has_output());
    ASSERT_TRUE(c.l.pump());
    EXPECT_TRUE(c.peer.got_close_notify());
    EXPECT_TRUE(c.server.done());
    EXPECT_FALSE(c.server.error());
    // Bytes after close_notify are ignored (RFC 8446 §6.1).
    EXPECT_EQ(c.server.feed(bytes_of("junk")), 4u);
    std::byte buf[8];
    EXPECT_EQ(c.server.read(buf).st, status::closed);
  }
}

TEST(TlsSession, ServerClosesFirst) {
  connection c(shared_context(), {});
  c.server.close();
  EXPECT_EQ(c.server.current_state(), session::state::closing);
  EXPECT_EQ(c.server.write(bytes_of("late")).st, status::closed);
  ASSERT_TRUE(c.l.pump());
  EXPECT_TRUE(c.peer.got_close_notify());
  EXPECT_FALSE(c.server.done());  // waiting for the client's close_notify
  c.peer.send("still talking");   // TLS 1.3 half-close: the client may still send
  SSL_shutdown(c.peer.ssl());
  c.peer.drive();
  ASSERT_TRUE(c.l.pump());
  EXPECT_EQ(c.l.server_received, "still talking");
  EXPECT_EQ(c.server.current_state(), session::state::closed);
  EXPECT_TRUE(c.server.done());
}

TEST(TlsSession, CloseDuringTheHandshakeSendsNothing) {
  session s(shared_context());
  s.close();
  EXPECT_EQ(s.current_state(), session::state::closed);
  EXPECT_FALSE(s.has_output());
  EXPECT_TRUE(s.done());
}

TEST(TlsSession, EofWithoutCloseNotifyIsAnError) {
  connection c(shared_context(), {});
  c.peer.send("partial");
  ASSERT_TRUE(c.l.pump());
  c.server.input_eof();
  std::byte buf[64];
  io_result r = c.server.read(buf);
  EXPECT_EQ(r.st, status::error);
  EXPECT_EQ(c.server.error(), errc::unexpected_eof);
  EXPECT_EQ(c.l.server_received, "partial");
}

TEST(TlsSession, EofAfterCloseNotifyIsClean) {
  connection c(shared_context(), {});
  SSL_shutdown(c.peer.ssl());
  c.peer.drive();
  ASSERT_TRUE(c.l.pump());
  c.server.input_eof();
  std::byte buf[64];
  EXPECT_EQ(c.server.read(buf).st, status::closed);
  EXPECT_FALSE(c.server.error());
}

TEST(TlsSession, EofDuringTheHandshake) {
  session s(shared_context());
  test::client peer{client_options{}};
  std::string hello = peer.to_server();
  s.feed(bytes_of(std::string_view(hello).substr(0, 10)));
  s.input_eof();
  EXPECT_TRUE(s.failed());
  EXPECT_EQ(s.error(), errc::unexpected_eof);
}

// ---- hostile input ------------------------------------------------------------------------

// Reads the alert record at the start of `out` (RFC 8446 §5.1, §6).
std::optional<int> alert_in(std::span<const std::byte> out) {
  if (out.size() < 7 || out[0] != std::byte{21}) return std::nullopt;
  return std::to_integer<int>(out[6]);
}

TEST(TlsHostile, GarbageClientHelloGetsAnAlertQueuedBeforeTheError) {
  session s(shared_context());
  // A handshake record whose ClientHello body is nonsense.
  const unsigned char hello[] = {0x16, 0x03, 0x01, 0x00, 0x0c, 0x01, 0x00, 0x00, 0x08,
                                 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef};
  std::size_t n = s.feed(std::as_bytes(std::span(hello)));
  EXPECT_EQ(n, sizeof hello);
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.error(), errc::handshake_failed);
  ASSERT_TRUE(s.alert_sent());
  ASSERT_TRUE(s.has_output());
  EXPECT_EQ(alert_in(s.pending_output()), *s.alert_sent());
  EXPECT_EQ(std::to_integer<int>(s.pending_output()[5]), 2);  // level fatal
  EXPECT_FALSE(s.error_detail().empty());
  EXPECT_NE(s.error_detail().find("sent alert"), std::string::npos) << s.error_detail();
  std::byte buf[16];
  EXPECT_EQ(s.read(buf).st, status::error);
  EXPECT_EQ(s.write(bytes_of("x")).st, status::error);
  EXPECT_FALSE(s.done());  // the alert is still to be sent
  s.commit_output(s.pending_output().size());
  EXPECT_TRUE(s.done());
  EXPECT_EQ(ERR_peek_error(), 0u);
}

TEST(TlsHostile, WrongRecordVersion) {
  session s(shared_context());
  const unsigned char rec[] = {0x16, 0x7f, 0x7f, 0x00, 0x04, 0x01, 0x02, 0x03, 0x04};
  s.feed(std::as_bytes(std::span(rec)));
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.error(), errc::handshake_failed);
  EXPECT_NE(s.error_detail().find("wrong version number"), std::string::npos) << s.error_detail();
}

TEST(TlsHostile, PlainHttpIsRecognised) {
  session s(shared_context());
  s.feed(bytes_of("GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.error(), errc::plain_http) << s.error_detail();
}

TEST(TlsHostile, FatalAlertFromTheClient) {
  session s(shared_context());
  test::client peer{client_options{}};
  s.feed(bytes_of(peer.to_server()));
  // handshake_failure alert instead of the client's second flight.
  const unsigned char alert[] = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28};
  s.feed(std::as_bytes(std::span(alert)));
  ASSERT_TRUE(s.failed());
  EXPECT_EQ(s.error(), errc::peer_alert);
  ASSERT_TRUE(s.alert_received());
  EXPECT_EQ(*s.alert_received(), 40);
  EXPECT_NE(s.error_detail().find("received alert handshake failure"), std::string::npos)
      << s.error_detail();
}

TEST(TlsHostile, TamperedRecordAfterTheHandshake) {
  connection c(shared_context(), {});
  c.peer.send("integrity");
  std::string& up = c.peer.to_server();
  up[up.size() - 3] = static_cast<char>(up[up.size() - 3] ^ 0x40);
  c.l.pump();
  EXPECT_TRUE(c.server.failed());
  EXPECT_EQ(c.server.error(), errc::protocol_error);
  ASSERT_TRUE(c.server.alert_sent());
  EXPECT_EQ(*c.server.alert_sent(), 20);  // bad_record_mac
  EXPECT_TRUE(c.l.server_received.empty());
}

// Random bytes, random record-framed bytes and mutations of a real ClientHello, fed in random
// pieces: the session ends failed (or still waiting for more), never crashes, and a failure
// never leaves data to read.
TEST(TlsHostile, RandomClientHellosNeverCrash) {
  test::client real({.sni = "a.test"});
  const std::string hello = real.to_server();
  std::mt19937 rng(20240607);
  for (int i = 0; i < 600; ++i) {
    std::string input;
    switch (i % 3) {
      case 0: {  // pure noise
        input.resize(1 + rng() % 3000);
        for (char& ch : input)
          ch = static_cast<char>(rng());
        break;
      }
      case 1: {  // a plausible record header, noise inside
        std::size_t len = rng() % 600;
        input = {0x16,
                 0x03,
                 static_cast<char>(rng() % 4),
                 static_cast<char>(len >> 8),
                 static_cast<char>(len & 0xff),
                 0x01};
        for (std::size_t k = 0; k < len; ++k)
          input.push_back(static_cast<char>(rng()));
        break;
      }
      default: {  // a real ClientHello with a few bytes changed
        input = hello;
        for (unsigned k = 0, flips = 1 + rng() % 8; k < flips; ++k)
          input[rng() % input.size()] = static_cast<char>(rng());
        if (rng() % 4 == 0) input.resize(rng() % input.size());
        break;
      }
    }
    session s(shared_context());
    std::size_t off = 0;
    while (off < input.size()) {
      std::size_t piece = 1 + rng() % 300;
      std::size_t took = s.feed(bytes_of(std::string_view(input).substr(off, piece)));
      if (took == 0) break;
      off += took;
      std::byte buf[512];
      s.read(buf);
    }
    if (rng() % 2) s.input_eof();
    std::byte buf[512];
    io_result r = s.read(buf);
    EXPECT_NE(r.st, status::ok);
    EXPECT_TRUE(s.failed() || s.current_state() == session::state::handshaking) << "input " << i;
    s.commit_output(s.pending_output().size());
    EXPECT_EQ(ERR_peek_error(), 0u);
  }
}

}  // namespace
}  // namespace portico::tls
