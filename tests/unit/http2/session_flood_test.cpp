// HTTP/2 session under hostile input (DESIGN.md §6): each flood gets the right answer
// (GOAWAY ENHANCE_YOUR_CALM, 431, RST_STREAM) after bounded work and bounded memory.
#include <gtest/gtest.h>

#include "session_test_util.hpp"

namespace portico::http2::test {
namespace {

TEST(Http2SessionFlood, PingFloodWithoutReadingAcks) {
  client c;
  c.handshake();
  c.auto_drain = false;  // the attacker does not read
  std::string pings;
  for (int i = 0; i < 1100; ++i)
    pings += client::ping();
  c.send(pings);
  c.drain();
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
  EXPECT_LE(c.of(frame_type::ping).size(), c.cfg.max_pending_acks + 1);
  EXPECT_TRUE(c.s->done());
}

TEST(Http2SessionFlood, PingsThatAreReadAreFine) {
  client c;
  c.handshake();
  for (int i = 0; i < 3000; ++i) {
    c.now += 1000;
    c.send(client::ping());
  }
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2SessionFlood, SettingsFlood) {
  client c;
  c.handshake();
  std::string s;
  for (int i = 0; i < 1100; ++i)
    s += client::settings({{setting_id::header_table_size, 4096}});
  c.send(s);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
}

TEST(Http2SessionFlood, PriorityFramesForEveryIdStayBounded) {
  // CVE-2019-9513 (resource loop) and state exhaustion through RFC 7540 PRIORITY frames: one
  // per idle id, chained dependencies, on open streams too. The server keeps no tree: each frame
  // updates one entry, at most max_concurrent_streams ids are remembered, and requests go on.
  session_config cfg;
  cfg.max_concurrent_streams = 16;
  client c(cfg);
  c.handshake();
  std::string in;
  for (std::uint32_t id = 101; id < 101 + 2 * 20000; id += 2)
    in += client::priority(
        id, priority_fields{(id % 3) == 0, id - 2, static_cast<std::uint16_t>(1 + id % 256)});
  for (int i = 0; i < 5000; ++i)
    in += client::priority(1, priority_fields{true, static_cast<std::uint32_t>(3 + 2 * i), 256});
  c.send(in);
  EXPECT_EQ(c.goaway(), nullptr);
  EXPECT_LE(c.s->remembered_priorities(), cfg.max_concurrent_streams);
  c.send(c.headers(1, client::get("/after"), true));
  EXPECT_EQ(c.body_of(1), "hello /after");
}

TEST(Http2SessionFlood, PriorityUpdatesForIdleIdsEndInProtocolError) {
  // RFC 9218 §7.1: prioritized idle streams plus active ones may not exceed
  // MAX_CONCURRENT_STREAMS; a client that goes on gets PROTOCOL_ERROR, having made the server
  // keep at most that many.
  client c;
  c.handshake();
  std::string in;
  for (std::uint32_t id = 1; id < 2 * 1000; id += 2)
    in += client::priority_update(id, "u=1");
  c.send(in);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::protocol_error);
  EXPECT_LE(c.s->remembered_priorities(), c.cfg.max_concurrent_streams);
}

TEST(Http2SessionFlood, RapidReset) {
  client c;
  c.ev.handler = nullptr;  // responses are slow: every reset stream cost the server a dispatch
  c.handshake();
  std::string in;
  std::uint32_t id = 1;
  for (int i = 0; i < 1100; ++i, id += 2)
    in += c.headers(id, client::get(), true) + client::rst(id, errc::cancel);
  c.send(in);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
  EXPECT_LE(c.ev.requests.size(), c.cfg.reset_burst + 1);
  EXPECT_EQ(c.s->active_streams(), 0u);
}

TEST(Http2SessionFlood, ResetsAtAModestRateAreFine) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::uint32_t id = 1;
  for (int i = 0; i < 3000; ++i, id += 2) {
    c.now += 100;  // 10 per second
    c.send(c.headers(id, client::get(), true) + client::rst(id, errc::cancel));
  }
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2SessionFlood, EmptyDataFrames) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/", "POST"), false));
  std::string in;
  for (int i = 0; i < 1100; ++i)
    in += client::data(1, "", false);
  c.send(in);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
}

TEST(Http2SessionFlood, EmptyContinuationFrames) {
  client c;
  c.handshake();
  std::string in;
  std::string b = c.block(client::get());
  append_frame(in, 1,
               headers_frame{std::as_bytes(std::span(b.data(), b.size())), true, false, {}, {}});
  for (int i = 0; i < 20000; ++i)
    append_frame(in, 1, continuation_frame{{}, false});
  c.send(in);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
}

TEST(Http2SessionFlood, ManyTinyContinuationsBoundedByFieldBlockSize) {
  client c;
  c.handshake();
  auto f = client::get();
  for (int i = 0; i < 4000; ++i)
    f.emplace_back("x-h" + std::to_string(i), std::string(40, 'v'));
  std::string b = c.block(f);
  std::string in;
  append_frame(in, 1, headers_frame{std::as_bytes(std::span(b.data(), 1)), true, false, {}, {}});
  for (std::size_t i = 1; i < b.size(); ++i)
    append_frame(in, 1,
                 continuation_frame{std::as_bytes(std::span(b.data() + i, 1)), i + 1 == b.size()});
  c.send(in);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
  EXPECT_TRUE(c.ev.requests.empty());
}

TEST(Http2SessionFlood, WindowUpdateFlood) {
  client c;
  c.handshake();
  std::string in;
  for (int i = 0; i < 1100; ++i)
    in += client::window_update(0, 1);
  c.send(in);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
}

TEST(Http2SessionFlood, HpackBombIs431AndBounded) {
  client c;
  c.handshake();
  // One 2000-octet entry in the dynamic table, then referenced by index many times.
  auto f = client::get();
  f.emplace_back("x-bomb", std::string(2000, 'b'));
  for (int i = 0; i < 2000; ++i)
    f.emplace_back("x-bomb", std::string(2000, 'b'));
  c.send(c.headers(1, f, true, 16384));
  EXPECT_EQ(c.status_of(1), "431");
  EXPECT_TRUE(c.ev.requests.empty());
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2SessionFlood, ZeroWindowHoldDoesNotBuffer) {
  session_config cfg;
  cfg.high_water = 64 * 1024;
  cfg.max_buffer = 1024 * 1024;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake({{setting_id::initial_window_size, 0}});
  c.send(c.headers(1, client::get(), true));
  portico::response res = c.ev.kept[0];
  int writes = 0;
  while (res.write(std::string(8192, 'z')) && writes < 1000)
    ++writes;
  EXPECT_LT(writes, 10);  // write() said stop at the high water
  c.drain();
  EXPECT_TRUE(c.body_of(1).empty());
  EXPECT_LE(c.s->output_size(), 1024u);  // nothing of the body is queued for the socket
  // A handler that ignores back-pressure is cut at max_buffer.
  for (int i = 0; i < 200 && !res.aborted(); ++i)
    res.write(std::string(8192, 'z'));
  EXPECT_TRUE(res.aborted());
  c.drain();
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::internal_error);
}

TEST(Http2SessionFlood, OutputBackPressureStopsInput) {
  session_config cfg;
  cfg.output_high_water = 4096;
  client c(cfg);
  c.handshake();
  c.auto_drain = false;
  std::string in;
  for (int i = 0; i < 500; ++i)
    in += client::ping();
  const std::size_t n = c.send(in);
  EXPECT_LT(n, in.size());
  EXPECT_FALSE(c.s->wants_input());
  c.drain();
  EXPECT_TRUE(c.s->wants_input());
  EXPECT_EQ(c.goaway(), nullptr);
}

}  // namespace
}  // namespace portico::http2::test
