// Tests for the WebSocket session (src/ws/session.cpp): messages and fragmentation with control
// frames in between, UTF-8 failing fast, limits, the closing handshake and its validation,
// ping/pong, timers driven by `now`, back-pressure, permessage-deflate. Conversations are fed
// split at every byte position (ws_test_util.hpp: run_session_all_splits).
#include "ws/session.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ws/deflate.hpp"
#include "ws_test_util.hpp"

namespace portico::ws {
namespace {

using test::client_frame;
using test::close_payload;
using test::drain;
using test::parsed;
using test::recorder;
using test::run_session_all_splits;

using strings = std::vector<std::string>;

// The frames a server wrote.
std::vector<parsed> frames(const std::string& output) {
  return test::parse_pieces({output}, parser_options{role::client, true});
}

// The close code of a Close frame payload.
int code_of(const parsed& p) {
  if (p.payload.size() < 2) return 0;
  return (static_cast<unsigned char>(p.payload[0]) << 8) | static_cast<unsigned char>(p.payload[1]);
}

void expect_failure(const std::string& input, int code, const session_config& cfg = {},
                    std::optional<deflate_params> d = std::nullopt) {
  const test::session_run r = run_session_all_splits(input, cfg, d);
  ASSERT_FALSE(r.log.empty());
  EXPECT_EQ(r.log.back().substr(0, 10), "close:" + std::to_string(code)) << test::describe(r);
  EXPECT_EQ(r.state, session::state::closed);
  const auto out = frames(r.output);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().op, opcode::close);
  EXPECT_EQ(code_of(out.back()), code);
}

// ---- messages ---------------------------------------------------------------------------------

TEST(WsSession, TextAndBinaryMessagesEchoed) {
  const std::string in = client_frame(opcode::text, "Hello") +
                         client_frame(opcode::binary, std::string("\x00\xff\x01", 3));
  const test::session_run r = run_session_all_splits(in, {}, std::nullopt, "re:");
  EXPECT_EQ(r.log, (strings{"text:Hello", std::string("binary:\x00\xff\x01", 10)}));
  const auto out = frames(r.output);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].op, opcode::text);
  EXPECT_EQ(out[0].payload, "re:Hello");
  EXPECT_EQ(out[1].op, opcode::binary);
  EXPECT_EQ(r.state, session::state::open);
}

TEST(WsSession, FragmentedWithControlFramesBetween) {
  const std::string in =
      client_frame(opcode::text, "Hel", false) + client_frame(opcode::ping, "p1") +
      client_frame(opcode::continuation, "", false) + client_frame(opcode::pong, "u") +
      client_frame(opcode::continuation, "lo", true) + client_frame(opcode::binary, "b", false) +
      client_frame(opcode::continuation, "in", true);
  const test::session_run r = run_session_all_splits(in, {});
  EXPECT_EQ(r.log, (strings{"ping:p1", "pong:u", "text:Hello", "binary:bin"}));
  const auto out = frames(r.output);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::pong);
  EXPECT_EQ(out[0].payload, "p1");  // the Pong echoes the Ping
}

TEST(WsSession, EmptyMessages) {
  const test::session_run r = run_session_all_splits(client_frame(opcode::text, "") +
                                                         client_frame(opcode::binary, "", false) +
                                                         client_frame(opcode::continuation, ""),
                                                     {});
  EXPECT_EQ(r.log, (strings{"text:", "binary:"}));
}

TEST(WsSession, ProtocolErrorsClose1002) {
  expect_failure(test::server_frame(opcode::text, "unmasked"), 1002);
  expect_failure(client_frame(opcode::text, "x", true, true), 1002);  // RSV1, no extension
  expect_failure(client_frame(opcode::continuation, "x"), 1002);
  expect_failure(client_frame(opcode::text, "a", false) + client_frame(opcode::text, "b"), 1002);
  expect_failure(client_frame(opcode::ping, std::string(126, 'x')), 1002);
  std::string reserved = client_frame(opcode::binary, "x");
  reserved[0] = static_cast<char>(0x83);
  expect_failure(reserved, 1002);
  // Messages before the bad frame are delivered; nothing after it is read.
  const test::session_run r = run_session_all_splits(client_frame(opcode::text, "ok") +
                                                         test::server_frame(opcode::text, "bad") +
                                                         client_frame(opcode::text, "never"),
                                                     {});
  EXPECT_EQ(r.log.front(), "text:ok");
  EXPECT_EQ(r.log.size(), 2u);
}

// ---- UTF-8 ------------------------------------------------------------------------------------

TEST(WsSession, Utf8AcrossFragments) {
  // A character split between fragments is fine.
  const test::session_run r = run_session_all_splits(
      client_frame(opcode::text, "\xe2", false) + client_frame(opcode::ping, "") +
          client_frame(opcode::continuation, "\x82\xac"),
      {});
  EXPECT_EQ(r.log, (strings{"ping:", "text:\xe2\x82\xac"}));
  expect_failure(
      client_frame(opcode::text, "\xe2\x82", false) + client_frame(opcode::continuation, "A"),
      1007);
  expect_failure(client_frame(opcode::text, "ok\xe2\x82"), 1007);  // truncated at the end
  expect_failure(client_frame(opcode::text, "\xed\xa0\x80"), 1007);
  expect_failure(client_frame(opcode::text, "\xf4\x90\x80\x80"), 1007);
  expect_failure(client_frame(opcode::text, "\xc0\xaf"), 1007);
  // Binary is not checked.
  EXPECT_EQ(run_session_all_splits(client_frame(opcode::binary, "\xc0"), {}).log.size(), 1u);
}

TEST(WsSession, Utf8FailsFastInsideAnUnfinishedMessage) {
  // The first fragment is already invalid: the session closes without waiting for the rest.
  const std::string first = client_frame(opcode::text, "abc\xc0", false);
  expect_failure(first, 1007);
  // Even inside a single frame whose payload has not fully arrived.
  std::string long_frame = client_frame(opcode::text, "ab\xff" + std::string(1000, 'x'));
  expect_failure(long_frame.substr(0, 20), 1007);
}

// ---- limits -----------------------------------------------------------------------------------

TEST(WsSession, MessageSizeLimit) {
  session_config cfg;
  cfg.max_message_size = 100;
  EXPECT_EQ(run_session_all_splits(client_frame(opcode::binary, std::string(100, 'x')), cfg).log,
            strings{"binary:" + std::string(100, 'x')});
  expect_failure(client_frame(opcode::binary, std::string(101, 'x')), 1009, cfg);
  expect_failure(client_frame(opcode::text, std::string(60, 'x'), false) +
                     client_frame(opcode::continuation, std::string(41, 'x')),
                 1009, cfg);
  // Refused at the header: a frame that announces 1 GiB needs no payload to be refused.
  const header_bytes h = encode_header(opcode::binary, true, false, 1u << 30, &test::test_mask);
  expect_failure(std::string(reinterpret_cast<const char*>(h.data.data()), h.size), 1009, cfg);
}

// ---- closing handshake ------------------------------------------------------------------------

TEST(WsSession, PeerCloseIsEchoed) {
  const test::session_run r =
      run_session_all_splits(client_frame(opcode::close, close_payload(1000, "bye")) +
                                 client_frame(opcode::text, "ignored"),
                             {});
  EXPECT_EQ(r.log, strings{"close:1000:bye"});
  EXPECT_EQ(r.state, session::state::closed);
  const auto out = frames(r.output);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::close);
  EXPECT_EQ(code_of(out[0]), 1000);

  const test::session_run empty = run_session_all_splits(client_frame(opcode::close, ""), {});
  EXPECT_EQ(empty.log, strings{"close:1005:"});
  ASSERT_EQ(frames(empty.output).size(), 1u);
  EXPECT_EQ(frames(empty.output)[0].payload, "");
}

TEST(WsSession, CloseCodeValidation) {
  for (int code : {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999}) {
    const test::session_run r = run_session_all_splits(
        client_frame(opcode::close, close_payload(static_cast<std::uint16_t>(code))), {});
    EXPECT_EQ(r.log, strings{"close:" + std::to_string(code) + ":"});
    EXPECT_EQ(code_of(frames(r.output).at(0)), code);
  }
  for (int code :
       {0, 999, 1004, 1005, 1006, 1012, 1013, 1014, 1015, 1016, 1100, 2000, 2999, 5000, 65535})
    expect_failure(client_frame(opcode::close, close_payload(static_cast<std::uint16_t>(code))),
                   1002);
  expect_failure(client_frame(opcode::close, "\x03"), 1002);  // one byte
  expect_failure(client_frame(opcode::close, close_payload(1000, "bad \xc0\x80")), 1007);
  EXPECT_EQ(run_session_all_splits(
                client_frame(opcode::close, close_payload(1001, "\xce\xba\xe1\xbd\xb9")), {})
                .log,
            strings{"close:1001:\xce\xba\xe1\xbd\xb9"});
}

TEST(WsSession, ServerInitiatedCloseWaitsForThePeer) {
  session_config cfg;
  recorder ev;
  session s(cfg, ev);
  s.start(0);
  EXPECT_EQ(s.send_text("last"), send_status::ok);
  EXPECT_EQ(s.close(1001, "restart", 10), send_status::ok);
  EXPECT_EQ(s.current_state(), session::state::closing);
  EXPECT_EQ(s.send_text("more"), send_status::closed);
  EXPECT_EQ(s.close(1000, "", 10), send_status::closed);
  const auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 2u);  // the data queued before close() goes first
  EXPECT_EQ(out[0].payload, "last");
  EXPECT_EQ(out[1].op, opcode::close);
  EXPECT_EQ(out[1].payload, close_payload(1001, "restart"));
  EXPECT_FALSE(s.done());
  // Messages still arrive while closing; Pings are not answered after our Close.
  s.consume(client_frame(opcode::text, "late") + client_frame(opcode::ping, "x"), 20);
  EXPECT_EQ(drain(s), "");
  EXPECT_EQ(s.next_deadline(), std::optional<std::uint64_t>(10 + cfg.close_timeout_ms));
  s.consume(client_frame(opcode::close, close_payload(1001)), 30);
  EXPECT_EQ(ev.log, (strings{"text:late", "ping:x", "close:1001:"}));
  EXPECT_TRUE(s.done());
  EXPECT_EQ(drain(s), "");  // no second Close
}

TEST(WsSession, CloseTimeout) {
  session_config cfg;
  cfg.close_timeout_ms = 500;
  recorder ev;
  session s(cfg, ev);
  s.start(0);
  s.close(1000, "", 100);
  drain(s);
  s.tick(599);
  EXPECT_FALSE(s.done());
  s.tick(600);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(ev.log, strings{"close:1006:close timeout"});
}

TEST(WsSession, CloseArgumentsValidated) {
  recorder ev;
  session_config cfg;
  session s(cfg, ev);
  EXPECT_EQ(s.close(1005, "", 0), send_status::invalid);
  EXPECT_EQ(s.close(1006, "", 0), send_status::invalid);
  EXPECT_EQ(s.close(0, "reason without code", 0), send_status::invalid);
  EXPECT_EQ(s.close(1000, std::string(124, 'r'), 0), send_status::invalid);
  EXPECT_EQ(s.close(1000, "\xff", 0), send_status::invalid);
  EXPECT_EQ(s.send_text("\xc0\x80"), send_status::invalid);
  EXPECT_EQ(s.send_ping(std::string(126, 'p')), send_status::invalid);
  EXPECT_EQ(s.close(4000, std::string(123, 'r'), 0), send_status::ok);
}

TEST(WsSession, EofWithoutClose) {
  recorder ev;
  session_config cfg;
  session s(cfg, ev);
  s.consume(client_frame(opcode::text, "a", false), 0);
  s.input_eof();
  EXPECT_TRUE(s.done());
  EXPECT_EQ(ev.log, strings{"close:1006:connection closed without Close"});
}

// ---- ping / pong and idle timers -------------------------------------------------------------

TEST(WsSession, PingFloodAnswersOnlyTheLatest) {
  recorder ev;
  session_config cfg;
  session s(cfg, ev);
  std::string flood;
  for (int i = 0; i < 1000; ++i)
    flood += client_frame(opcode::ping, std::to_string(i));
  s.consume(flood, 0);
  const auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "999");
  EXPECT_EQ(ev.log.size(), 1000u);
}

TEST(WsSession, IdlePingAndPongDeadline) {
  session_config cfg;
  cfg.ping_interval_ms = 1000;
  cfg.pong_timeout_ms = 300;
  recorder ev;
  session s(cfg, ev);
  s.start(0);
  EXPECT_EQ(s.next_deadline(), std::optional<std::uint64_t>(1000));
  s.tick(999);
  EXPECT_EQ(drain(s), "");
  s.tick(1000);
  auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::ping);
  EXPECT_EQ(s.next_deadline(), std::optional<std::uint64_t>(1300));
  // The Pong comes back: no timeout, the next Ping an interval after the last input.
  s.consume(client_frame(opcode::pong, out[0].payload), 1100);
  s.tick(1400);
  EXPECT_FALSE(s.done());
  EXPECT_EQ(s.next_deadline(), std::optional<std::uint64_t>(2100));
  s.tick(2100);
  ASSERT_EQ(frames(drain(s)).size(), 1u);
  // Silence: the connection is dead.
  s.tick(2399);
  EXPECT_FALSE(s.done());
  s.tick(2400);
  EXPECT_TRUE(s.done());
  EXPECT_EQ(ev.log, (strings{"pong:" + out[0].payload, "close:1006:no pong"}));
}

TEST(WsSession, AnyInputCountsAsAlive) {
  session_config cfg;
  cfg.ping_interval_ms = 1000;
  cfg.pong_timeout_ms = 300;
  recorder ev;
  session s(cfg, ev);
  s.start(0);
  s.tick(1000);
  drain(s);
  // A long frame from the peer is still arriving: its Pong may be behind it.
  const std::string big = client_frame(opcode::binary, std::string(1000, 'x'));
  s.consume(std::string_view(big).substr(0, 500), 1200);
  s.tick(1300);
  EXPECT_FALSE(s.done());
}

// ---- sending and back-pressure ----------------------------------------------------------------

TEST(WsSession, LargeMessagesAreFragmentedAndControlFramesGoFirst) {
  session_config cfg;
  cfg.send_frame_size = 10;
  recorder ev;
  session s(cfg, ev);
  ASSERT_EQ(s.send_binary(std::string(25, 'd')), send_status::ok);
  s.consume(client_frame(opcode::ping, "now"), 0);
  const auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 4u) << test::describe(out);
  EXPECT_EQ(out[0].op, opcode::pong);
  EXPECT_EQ(out[1].op, opcode::binary);
  EXPECT_FALSE(out[1].fin);
  EXPECT_EQ(out[2].op, opcode::continuation);
  EXPECT_EQ(out[3].op, opcode::continuation);
  EXPECT_TRUE(out[3].fin);
  EXPECT_EQ(out[1].payload + out[2].payload + out[3].payload, std::string(25, 'd'));
}

TEST(WsSession, ControlFramesNeverCutAFrameInHalf) {
  session_config cfg;
  cfg.send_frame_size = 100;
  recorder ev;
  session s(cfg, ev);
  s.send_binary(std::string(300, 'd'));
  // Write 50 bytes: the first frame is half written.
  iovec iov[8];
  ASSERT_GT(s.pending_output(iov), 0u);
  s.commit_output(50);
  s.consume(client_frame(opcode::ping, "p"), 0);
  // Rebuild the whole stream: the first 50 bytes as the session gave them.
  session s2(cfg, ev);
  s2.send_binary(std::string(300, 'd'));
  std::string first = drain(s2, 50).substr(0, 50);
  const std::string rest = drain(s);
  const auto f = frames(first + rest);
  ASSERT_EQ(f.size(), 4u) << test::describe(f);
  EXPECT_EQ(f[0].op, opcode::binary);
  EXPECT_EQ(f[1].op, opcode::pong);  // right after the frame in progress
}

// The iovecs of pending_output() stay valid and in order while the session takes input before
// commit_output(): a Pong and a failure's Close queue behind what was handed out.
TEST(WsSession, HandedOutBytesStayValidAcrossInput) {
  session_config cfg;
  cfg.send_frame_size = 40;
  recorder ev;
  session s(cfg, ev);
  s.send_binary(std::string(100, 'a'));
  iovec iov[8];
  const std::size_t k = s.pending_output(std::span(iov, 2));  // two of the three frames
  ASSERT_EQ(k, 2u);
  s.consume(client_frame(opcode::ping, "p") + test::server_frame(opcode::text, "bad"), 0);
  std::string out;
  for (std::size_t i = 0; i < k; ++i)
    out.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
  s.commit_output(out.size());
  out += drain(s);
  const auto f = frames(out);
  // The two frames handed out, then the Close (the third data frame and the Pong are dropped:
  // the connection failed, nothing but Close follows).
  ASSERT_EQ(f.size(), 3u) << test::describe(f);
  EXPECT_EQ(f[0].op, opcode::binary);
  EXPECT_EQ(f[1].op, opcode::continuation);
  EXPECT_EQ(f[2].op, opcode::close);
  EXPECT_EQ(code_of(f[2]), 1002);
  EXPECT_TRUE(s.done());
}

TEST(WsSession, BackPressureAndHardLimit) {
  session_config cfg;
  cfg.high_water = 100;
  cfg.max_buffered = 1000;
  recorder ev;
  session s(cfg, ev);
  EXPECT_EQ(s.send_binary(std::string(50, 'a')), send_status::ok);
  EXPECT_EQ(s.send_binary(std::string(60, 'b')), send_status::above_high_water);
  EXPECT_EQ(s.buffered_amount(), 2u + 50 + 2 + 60);
  drain(s);
  EXPECT_EQ(ev.log, strings{"drain"});
  EXPECT_EQ(s.buffered_amount(), 0u);
  // The peer stops reading: past the hard limit the connection is failed with 1008.
  send_status st = send_status::ok;
  int sent = 0;
  while (st != send_status::closed && sent < 100) {
    st = s.send_binary(std::string(90, 'c'));
    ++sent;
  }
  EXPECT_EQ(st, send_status::closed);
  EXPECT_EQ(ev.log.back(), "close:1008:send buffer over the limit");
  EXPECT_EQ(s.error().wire_code(), close_code::policy_violation);
  const auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 1u);  // the unsent data was dropped, only the Close remains
  EXPECT_EQ(code_of(out[0]), 1008);
  EXPECT_TRUE(s.done());
}

// ---- permessage-deflate -----------------------------------------------------------------------

std::string hex(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s.push_back(static_cast<char>(v));
  return s;
}

TEST(WsSession, CompressedMessagesIn) {
  const std::string hello = hex({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00});
  // RFC 7692 §7.2.3.1 as one frame and fragmented (RSV1 on the first frame only), then the
  // §7.2.3.2 context-takeover message, then an uncompressed one.
  const std::string in =
      client_frame(opcode::text, hello, true, true) +
      client_frame(opcode::text, hello.substr(0, 3), false, true) + client_frame(opcode::ping, "") +
      client_frame(opcode::continuation, hello.substr(3), true) +
      client_frame(opcode::text, hex({0xf2, 0x00, 0x11, 0x00, 0x00}), true, true) +
      client_frame(opcode::text, "plain");
  const test::session_run r = run_session_all_splits(in, {}, deflate_params{});
  EXPECT_EQ(r.log, (strings{"text:Hello", "ping:", "text:Hello", "text:Hello", "text:plain"}));
}

TEST(WsSession, CompressedMessagesOut) {
  session_config cfg;
  cfg.deflate.min_compress_size = 0;
  recorder ev;
  session s(cfg, ev, deflate_params{});
  EXPECT_TRUE(s.compression());
  s.send_text("Hello");
  s.send_text("Hello");
  const auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_TRUE(out[0].rsv1);
  EXPECT_EQ(out[0].payload, hex({0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00}));
  EXPECT_EQ(out[1].payload, hex({0xf2, 0x00, 0x11, 0x00, 0x00}));
  // Short messages stay uncompressed with the default threshold.
  session_config dflt;
  session t(dflt, ev, deflate_params{});
  t.send_text("Hello");
  const auto plain = frames(drain(t));
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_FALSE(plain[0].rsv1);
  EXPECT_EQ(plain[0].payload, "Hello");
}

TEST(WsSession, DecompressionBombClosed1009) {
  session_config cfg;
  cfg.max_message_size = 1 << 20;
  deflater d(false, 15, 9);
  std::string bomb;
  ASSERT_TRUE(d.compress(std::string(64 << 20, 'A'), bomb));
  recorder ev;
  session s(cfg, ev, deflate_params{});
  s.consume(client_frame(opcode::binary, bomb, true, true), 0);
  EXPECT_EQ(ev.log, strings{"close:1009:inflated message over the size limit"});
  const auto out = frames(drain(s));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(code_of(out[0]), 1009);
}

TEST(WsSession, CompressedGarbageAndBadUtf8) {
  expect_failure(client_frame(opcode::binary, hex({0xff, 0xff, 0xff, 0x00}), true, true), 1007, {},
                 deflate_params{});
  deflater d;
  std::string bad;
  ASSERT_TRUE(d.compress("ok \xed\xa0\x80", bad));
  expect_failure(client_frame(opcode::text, bad, true, true), 1007, {}, deflate_params{});
  // RSV1 on a continuation frame.
  expect_failure(client_frame(opcode::text, "a", false, true) +
                     client_frame(opcode::continuation, "b", true, true),
                 1002, {}, deflate_params{});
}

TEST(WsSession, ClientNoContextTakeover) {
  deflate_params p;
  p.client_no_context_takeover = true;
  deflater d(true);
  std::string a, b;
  d.compress("Hello Hello", a);
  d.compress("Hello Hello", b);
  const test::session_run r = run_session_all_splits(
      client_frame(opcode::text, a, true, true) + client_frame(opcode::text, b, true, true), {}, p);
  EXPECT_EQ(r.log, (strings{"text:Hello Hello", "text:Hello Hello"}));
}

}  // namespace
}  // namespace portico::ws
