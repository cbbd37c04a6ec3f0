// HTTP/2 session: connection start, requests and responses, field rules (RFC 9113 §8.2/§8.3),
// stream states (§5.1), flow control (§5.2, §6.9), shutdown (§6.8), h2c, priorities.
#include <gtest/gtest.h>

#include "http2/scheduler.hpp"
#include "session_test_util.hpp"

namespace portico::http2::test {
namespace {

TEST(Http2Session, ServerSettingsFirstThenAck) {
  client c;
  c.drain();
  ASSERT_FALSE(c.frames.empty());
  ASSERT_TRUE(c.frames[0].is(frame_type::settings));
  bool mcs = false;
  for (auto s : c.frames[0].settings)
    if (s.id == setting_id::max_concurrent_streams && s.value == 128) mcs = true;
  EXPECT_TRUE(mcs);
  c.send(preface_bytes({{setting_id::max_frame_size, 32768}}));
  auto st = c.of(frame_type::settings);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_TRUE(st[1]->h.has(flags::ack));
  EXPECT_EQ(c.s->peer_settings().max_frame_size, 32768u);
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2Session, BadPrefaceIsProtocolError) {
  client c;
  c.send("GET / HTTP/1.1\r\n\r\n");
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::protocol_error);
  EXPECT_TRUE(c.s->done());
}

TEST(Http2Session, FirstFrameMustBeSettings) {
  client c;
  c.send(std::string(client_preface) + client::ping());
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::protocol_error);
}

TEST(Http2Session, GetServed) {
  client c;
  c.handshake();
  c.send(c.headers(1, client::get("/index?x=1"), true));
  ASSERT_EQ(c.ev.requests.size(), 1u);
  EXPECT_EQ(c.ev.requests[0].header("host"), "example.com");
  EXPECT_EQ(c.ev.requests[0].version, 20);
  EXPECT_EQ(c.ev.requests[0].query, "x=1");
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_EQ(c.header_of(1, "content-type"), "text/plain");
  EXPECT_EQ(c.header_of(1, "content-length"), "12");
  EXPECT_EQ(c.body_of(1), "hello /index");
  EXPECT_TRUE(c.stream_ended(1));
  ASSERT_EQ(c.ev.done.size(), 1u);
  EXPECT_EQ(c.ev.done[0].second, 12u);
  EXPECT_EQ(c.s->active_streams(), 0u);
}

TEST(Http2Session, HeadHasNoBody) {
  client c;
  c.handshake();
  c.send(c.headers(1, client::get("/", "HEAD"), true));
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_TRUE(c.of(frame_type::data, 1).empty());
  EXPECT_TRUE(c.stream_ended(1));
}

TEST(Http2Session, PostWithBodyAndContentLength) {
  client c;
  std::string seen;
  c.ev.handler = [&](detail::exchange& x) {
    seen = std::string(x.body);
    x.make_response().send("ok");
  };
  c.handshake();
  auto f = client::get("/upload", "POST");
  f.emplace_back("content-length", "11");
  c.send(c.headers(1, f, false));
  c.send(client::data(1, "hello ", false) + client::data(1, "world", true));
  EXPECT_EQ(seen, "hello world");
  EXPECT_EQ(c.body_of(1), "ok");
}

TEST(Http2Session, ContentLengthMismatchIsStreamProtocolError) {
  for (std::string body : {"abc", "abcdefgh"}) {
    client c;
    c.handshake();
    auto f = client::get("/", "POST");
    f.emplace_back("content-length", "5");
    c.send(c.headers(1, f, false) + client::data(1, body, true));
    ASSERT_NE(c.rst_of(1), nullptr) << body;
    EXPECT_EQ(c.rst_of(1)->code, errc::protocol_error);
    EXPECT_TRUE(c.ev.requests.empty());
    EXPECT_EQ(c.goaway(), nullptr);
  }
}

TEST(Http2Session, BodyOverLimitIs413) {
  session_config cfg;
  cfg.max_request_body = 10;
  client c(cfg);
  c.handshake();
  c.send(c.headers(1, client::get("/", "POST"), false));
  c.send(client::data(1, std::string(20, 'x'), false));
  EXPECT_EQ(c.status_of(1), "413");
  ASSERT_NE(c.rst_of(1), nullptr);  // RFC 9113 §8.1: stop the upload, NO_ERROR
  EXPECT_EQ(c.rst_of(1)->code, errc::no_error);
  c.send(client::data(1, "late", true));  // tolerated after our RST_STREAM
  EXPECT_EQ(c.goaway(), nullptr);
  EXPECT_TRUE(c.ev.requests.empty());
}

TEST(Http2Session, DataInFlightAfterOurResetIsNotAGlitch) {
  // A 413 stops the upload with RST_STREAM(NO_ERROR); the window of DATA the client had in
  // flight, on many streams, must not trip the glitch limit (RFC 9113 §5.1: ignored).
  session_config cfg;
  cfg.max_request_body = 10;
  cfg.glitch_burst = 20;
  client c(cfg);
  c.handshake();
  for (std::uint32_t id = 1; id < 20; id += 2) {
    c.send(c.headers(id, client::get("/", "POST"), false));
    for (int i = 0; i < 5; ++i)
      c.send(client::data(id, std::string(100, 'x'), false));
    EXPECT_EQ(c.status_of(id), "413");
  }
  EXPECT_EQ(c.goaway(), nullptr);
  // Empty frames on those streams still count.
  for (int i = 0; i < 40; ++i)
    c.send(client::data(1, "", true));
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::enhance_your_calm);
}

TEST(Http2Session, BufferedBodiesPerConnectionAreBounded) {
  // Bodies that never end, on many streams: past max_connection_request_bodies the stream that
  // would pass it is refused (RFC 9113 §8.7), the others go on; closed streams give back.
  session_config cfg;
  cfg.max_request_body = 1000;
  cfg.max_connection_request_bodies = 2500;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake();
  for (std::uint32_t id : {1u, 3u, 5u}) {
    c.send(c.headers(id, client::get("/", "POST"), false));
    c.send(client::data(id, std::string(900, 'x'), false));
  }
  EXPECT_EQ(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(3), nullptr);
  ASSERT_NE(c.rst_of(5), nullptr);
  EXPECT_EQ(c.rst_of(5)->code, errc::refused_stream);
  c.send(client::data(1, std::string(100, 'y'), true));
  ASSERT_EQ(c.ev.requests.size(), 1u);
  EXPECT_EQ(c.ev.requests[0].body.size(), 1000u);
  c.send(client::rst(1, errc::cancel));  // stream 1 closes: its 1000 bytes are given back
  c.send(c.headers(7, client::get("/", "POST"), false));
  c.send(client::data(7, std::string(1000, 'z'), true));
  EXPECT_EQ(c.rst_of(7), nullptr);
  EXPECT_EQ(c.ev.requests.size(), 2u);
  EXPECT_EQ(c.goaway(), nullptr);
}

// Every RFC 9113 §8.2 / §8.3 rule: the request is malformed -> RST_STREAM(PROTOCOL_ERROR).
TEST(Http2Session, MalformedRequestsAreStreamErrors) {
  const fields base = client::get("/");
  auto with = [&](std::pair<std::string, std::string> extra) {
    fields f = base;
    f.push_back(std::move(extra));
    return f;
  };
  auto without = [&](std::string name) {
    fields f;
    for (auto& p : base)
      if (p.first != name) f.push_back(p);
    return f;
  };
  std::vector<std::pair<std::string, fields>> cases = {
      {"uppercase name", with({"X-Upper", "1"})},
      {"space in name", with({"x y", "1"})},
      {"colon in name", with({"x:y", "1"})},
      {"connection", with({"connection", "keep-alive"})},
      {"keep-alive", with({"keep-alive", "5"})},
      {"proxy-connection", with({"proxy-connection", "x"})},
      {"transfer-encoding", with({"transfer-encoding", "chunked"})},
      {"upgrade", with({"upgrade", "websocket"})},
      {"te gzip", with({"te", "gzip"})},
      {"NUL in value", with({"x", std::string("a\0b", 3)})},
      {"CR in value", with({"x", "a\rb"})},
      {"LF in value", with({"x", "a\nb"})},
      {"leading space", with({"x", " a"})},
      {"trailing tab", with({"x", "a\t"})},
      {"pseudo after regular",
       {{":method", "GET"}, {":scheme", "https"}, {"x", "1"}, {":path", "/"}}},
      {"missing :method", without(":method")},
      {"missing :scheme", without(":scheme")},
      {"missing :path", without(":path")},
      {"empty :path", {{":method", "GET"}, {":scheme", "https"}, {":path", ""}}},
      {"* for GET", {{":method", "GET"}, {":scheme", "https"}, {":path", "*"}}},
      {"relative path", {{":method", "GET"}, {":scheme", "https"}, {":path", "a/b"}}},
      {"duplicate :method", with({":method", "GET"})},
      {"unknown pseudo", {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":foo", "x"}}},
      {"response pseudo",
       {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {":status", "200"}}},
      {":protocol not enabled",
       {{":method", "CONNECT"},
        {":protocol", "websocket"},
        {":scheme", "https"},
        {":path", "/"},
        {":authority", "a"}}},
      {"CONNECT with :path", {{":method", "CONNECT"}, {":authority", "a:443"}, {":path", "/"}}},
      {"CONNECT without :authority", {{":method", "CONNECT"}}},
      {"bad content-length", with({"content-length", "1x"})},
      {"content-length without body", with({"content-length", "3"})},
  };
  for (auto& [name, f] : cases) {
    client c;
    c.handshake();
    c.send(c.headers(1, f, true));
    ASSERT_NE(c.rst_of(1), nullptr) << name;
    EXPECT_EQ(c.rst_of(1)->code, errc::protocol_error) << name;
    EXPECT_TRUE(c.ev.requests.empty()) << name;
    EXPECT_EQ(c.goaway(), nullptr) << name;
    // The connection (and its HPACK context) goes on.
    c.send(c.headers(3, client::get("/next"), true));
    EXPECT_EQ(c.body_of(3), "hello /next") << name;
    // The same request again: now its fields come from the dynamic table (the test encoder
    // indexes them), which must not let them skip the checks.
    c.send(c.headers(5, f, true));
    ASSERT_NE(c.rst_of(5), nullptr) << name << " (again)";
    EXPECT_EQ(c.rst_of(5)->code, errc::protocol_error) << name << " (again)";
    EXPECT_EQ(c.ev.requests.size(), 1u) << name << " (again)";
  }
}

TEST(Http2Session, AcceptedRequestForms) {
  std::vector<fields> ok = {
      {{":method", "GET"}, {":scheme", "https"}, {":path", "/"}, {"te", "trailers"}},
      {{":method", "OPTIONS"}, {":scheme", "https"}, {":path", "*"}},
      {{":method", "CONNECT"}, {":authority", "example.com:443"}},
      {{":method", "GET"},
       {":scheme", "https"},
       {":path", "/"},
       {"cookie", "a=1"},
       {"cookie", "b=2"}},
  };
  for (auto& f : ok) {
    client c;
    c.handshake();
    c.send(c.headers(1, f, true));
    ASSERT_EQ(c.ev.requests.size(), 1u) << f[0].second;
    EXPECT_EQ(c.status_of(1), "200");
  }
  client c;
  c.handshake();
  c.send(c.headers(1,
                   {{":method", "GET"},
                    {":scheme", "https"},
                    {":path", "/"},
                    {"cookie", "a=1"},
                    {"cookie", "b=2"}},
                   true));
  EXPECT_EQ(c.ev.requests[0].header("cookie"), "a=1; b=2");  // RFC 9113 §8.2.3
}

TEST(Http2Session, ExtendedConnectWhenEnabled) {
  session_config cfg;
  cfg.enable_connect_protocol = true;
  client c(cfg);
  std::string tunnelled;
  c.ev.handler = [&tunnelled](detail::exchange& x) {
    // RFC 8441 §5: dispatched at its head; the DATA frames are the tunnel's bytes.
    EXPECT_EQ(x.protocol, "websocket");
    EXPECT_EQ(x.path, "/chat");
    portico::response res = x.make_response();
    x.req().on_body([&tunnelled](std::string_view p, bool) { tunnelled += p; });
    res.write({});  // 200, the stream stays open
  };
  c.handshake();
  c.send(c.headers(1,
                   {{":method", "CONNECT"},
                    {":protocol", "websocket"},
                    {":scheme", "https"},
                    {":path", "/chat"},
                    {":authority", "a"}},
                   false));
  ASSERT_EQ(c.rst_of(1), nullptr);
  EXPECT_EQ(c.ev.requests.size(), 1u);
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_FALSE(c.stream_ended(1));
  c.send(client::data(1, "ws bytes", false));
  EXPECT_EQ(tunnelled, "ws bytes");
  bool announced = false;
  for (auto s : c.frames[0].settings)
    if (s.id == setting_id::enable_connect_protocol && s.value == 1) announced = true;
  EXPECT_TRUE(announced);
}

TEST(Http2Session, Trailers) {
  client c;
  c.handshake();
  std::string in = c.headers(1, client::get("/", "POST"), false);
  in += client::data(1, "x", false);
  in += c.headers(1, {{"x-checksum", "1"}}, true);
  c.send(in);
  EXPECT_EQ(c.ev.requests.size(), 1u);
  client d;
  d.handshake();
  std::string din = d.headers(1, client::get("/", "POST"), false);
  din += d.headers(1, {{":path", "/"}}, true);
  d.send(din);
  ASSERT_NE(d.rst_of(1), nullptr);
  EXPECT_EQ(d.rst_of(1)->code, errc::protocol_error);
  client e;  // trailers without END_STREAM
  e.handshake();
  std::string ein = e.headers(1, client::get("/", "POST"), false);
  ein += e.headers(1, {{"x", "1"}}, false);
  e.send(ein);
  ASSERT_NE(e.rst_of(1), nullptr);
}

TEST(Http2Session, HeaderListTooLargeIs431) {
  session_config cfg;
  cfg.max_header_list_size = 1000;
  client c(cfg);
  c.handshake();
  auto f = client::get("/");
  f.emplace_back("x-big", std::string(2000, 'a'));
  c.send(c.headers(1, f, true));
  EXPECT_EQ(c.status_of(1), "431");
  EXPECT_TRUE(c.ev.requests.empty());
  c.send(c.headers(3, client::get("/"), true));
  EXPECT_EQ(c.status_of(3), "200");
}

TEST(Http2Session, LongFieldWithinAnnouncedListSizeIsServed) {
  // A client that keeps to our SETTINGS_MAX_HEADER_LIST_SIZE (64 KiB) may send one field value
  // of 20000 octets (gRPC metadata, a large cookie): it is served, and no COMPRESSION_ERROR
  // takes the connection (with every other call on it) down. @grpc/grpc-js found this.
  client c;
  c.handshake();
  auto f = client::get("/");
  f.emplace_back("x-big", std::string(20000, 'a'));
  c.send(c.headers(1, f, true));
  ASSERT_EQ(c.ev.requests.size(), 1u);
  EXPECT_EQ(c.ev.requests[0].header("x-big"), std::string(20000, 'a'));
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_EQ(c.goaway(), nullptr);
  // Past the list size it is a stream-level 431 (RFC 9113 §8.2.3); the connection goes on.
  auto g = client::get("/");
  g.emplace_back("x-big", std::string(40000, 'b'));
  g.emplace_back("x-big-too", std::string(40000, 'c'));
  c.send(c.headers(3, g, true));
  EXPECT_EQ(c.status_of(3), "431");
  EXPECT_EQ(c.goaway(), nullptr);
  c.send(c.headers(5, client::get("/"), true));
  EXPECT_EQ(c.status_of(5), "200");
}

// ---- stream states (RFC 9113 §5.1) --------------------------------------------------------------

// RFC 9113 §4.3 / §6.10: a response field block larger than the peer's SETTINGS_MAX_FRAME_SIZE
// goes out as HEADERS + CONTINUATION frames, contiguous, END_STREAM on the HEADERS when the
// response has no body. (Small blocks are encoded in place behind their frame header.)
TEST(Http2Session, LargeResponseHeaderBlockSplitIntoContinuations) {
  client c;
  c.handshake();
  std::string value;  // varied enough that Huffman coding keeps it above 16 KiB
  for (std::size_t i = 0; i < 40000; ++i)
    value += static_cast<char>('!' + (i * 7919 % 90));
  c.ev.handler = [&](detail::exchange& x) {
    portico::response res = x.make_response();
    res.header("x-big", value);
    res.send("ok");
  };
  c.send(c.headers(1, client::get("/"), true));
  EXPECT_EQ(c.header_of(1, "x-big"), value);
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_GE(c.of(frame_type::continuation, 1).size(), 2u);
  EXPECT_EQ(c.body_of(1), "ok");
  EXPECT_TRUE(c.stream_ended(1));
  c.send(c.headers(3, client::get("/", "HEAD"), true));
  EXPECT_EQ(c.header_of(3, "x-big"), value);
  EXPECT_TRUE(c.stream_ended(3));
  EXPECT_TRUE(c.of(frame_type::data, 3).empty());
  // Small blocks again afterwards, on the same HPACK context.
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.send("small");
  };
  c.send(c.headers(5, client::get("/"), true));
  EXPECT_EQ(c.status_of(5), "200");
  EXPECT_EQ(c.body_of(5), "small");
  EXPECT_TRUE(c.of(frame_type::continuation, 5).empty());
  ASSERT_EQ(c.ev.done.size(), 3u);
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2Session, StreamIdRules) {
  {
    client c;
    c.handshake();
    c.send(c.headers(2, client::get(), true));  // even
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::protocol_error);
  }
  {
    client c;
    c.handshake();
    c.send(c.headers(5, client::get(), true));
    c.send(c.headers(3, client::get(), true));  // not increasing
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::protocol_error);
    EXPECT_EQ(c.goaway()->last_stream, 5u);
  }
  {
    client c;
    c.handshake();
    c.send(c.headers(1, client::get(), true));
    c.send(c.headers(1, client::get(), true));  // closed stream
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::stream_closed);
  }
}

TEST(Http2Session, FramesOnIdleStreamsAreConnectionErrors) {
  for (std::string f :
       {client::data(1, "x", false), client::window_update(3, 1), client::rst(5, errc::cancel)}) {
    client c;
    c.handshake();
    c.send(f);
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::protocol_error);
  }
}

TEST(Http2Session, StreamErrorsOnIdleStreamsAreConnectionErrors) {
  // RFC 9113 §6.4: no RST_STREAM for an idle stream; §5.1: WINDOW_UPDATE on an idle stream is a
  // connection PROTOCOL_ERROR. WINDOW_UPDATE 0, PRIORITY on itself, PRIORITY of 4 octets.
  const std::pair<std::string, errc> cases[] = {
      {std::string("\x00\x00\x04\x08\x00\x00\x00\x00\x03\x00\x00\x00\x00", 13),
       errc::protocol_error},
      {std::string("\x00\x00\x05\x02\x00\x00\x00\x00\x09\x00\x00\x00\x09\x10", 14),
       errc::protocol_error},
      {std::string("\x00\x00\x04\x02\x00\x00\x00\x00\x09\x00\x00\x00\x00", 13),
       errc::frame_size_error},
  };
  for (const auto& [f, code] : cases) {
    client c;
    c.handshake();
    c.send(f);
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, code);
    EXPECT_TRUE(c.of(frame_type::rst_stream).empty());
  }
  // On a stream that exists they stay stream errors.
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get(), true));
  c.send(std::string("\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x00\x00", 13));
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::protocol_error);
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2Session, DataOnHalfClosedRemoteIsStreamClosed) {
  client c;
  c.ev.handler = nullptr;  // leave the request unanswered
  c.handshake();
  c.send(c.headers(1, client::get(), true));
  EXPECT_EQ(c.s->state_of(1), stream_state::half_closed_remote);
  c.send(client::data(1, "x", false));
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::stream_closed);
  EXPECT_TRUE(c.ev.kept[0].aborted());
  // Late frames after our RST_STREAM are ignored (RFC 9113 §5.1).
  c.send(client::data(1, "y", true) + client::window_update(1, 10) + client::rst(1, errc::cancel));
  EXPECT_EQ(c.goaway(), nullptr);
  EXPECT_EQ(c.of(frame_type::rst_stream).size(), 1u);
}

TEST(Http2Session, DataAfterPeerResetIsStreamClosed) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/", "POST"), false));
  c.send(client::rst(1, errc::cancel));
  EXPECT_EQ(c.s->active_streams(), 0u);
  c.send(client::data(1, "x", false));
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::stream_closed);
}

TEST(Http2Session, PushPromiseFromClientIsProtocolError) {
  client c;
  c.handshake();
  std::string pp;
  append_frame(pp, 1, push_promise_frame{2, {}, true, {}});
  c.send(pp);
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::protocol_error);
}

TEST(Http2Session, MaxConcurrentStreamsRefused) {
  session_config cfg;
  cfg.max_concurrent_streams = 2;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake();
  // (one block per statement: the encoder's dynamic table depends on the order)
  std::string in = c.headers(1, client::get("/a"), true);
  in += c.headers(3, client::get("/b"), true);
  in += c.headers(5, client::get("/c"), true);
  c.send(in);
  ASSERT_NE(c.rst_of(5), nullptr);
  EXPECT_EQ(c.rst_of(5)->code, errc::refused_stream);
  EXPECT_EQ(c.ev.requests.size(), 2u);
  c.ev.kept[0].send("done");
  c.drain();
  c.send(c.headers(7, client::get("/d"), true));  // HPACK in step, a slot is free
  EXPECT_EQ(c.ev.requests.size(), 3u);
  EXPECT_EQ(c.ev.requests[2].path, "/d");
}

// ---- flow control -------------------------------------------------------------------------------

TEST(Http2Session, LargeBodyRespectsWindowsAndFrameSize) {
  client c;
  const std::string big(100000, 'b');
  c.ev.handler = [&](detail::exchange& x) { x.make_response().send(big); };
  c.handshake();
  c.send(c.headers(1, client::get(), true));
  std::size_t got = c.body_of(1).size();
  EXPECT_EQ(got, 65535u);  // both windows start at 65535
  for (auto* f : c.of(frame_type::data))
    EXPECT_LE(f->data.size(), 16384u);
  EXPECT_FALSE(c.stream_ended(1));
  c.send(client::window_update(0, 100000));
  EXPECT_EQ(c.body_of(1).size(), 65535u);  // the stream window is still 0
  c.send(client::window_update(1, 100000));
  EXPECT_EQ(c.body_of(1), big);
  EXPECT_TRUE(c.stream_ended(1));
}

TEST(Http2Session, InitialWindowChangeAppliesToOpenStreams) {
  client c;
  const std::string big(70000, 'w');
  c.ev.handler = [&](detail::exchange& x) { x.make_response().send(big); };
  c.handshake({{setting_id::initial_window_size, 1000}});
  c.send(client::window_update(0, 1 << 20));
  c.send(c.headers(1, client::get(), true));
  EXPECT_EQ(c.body_of(1).size(), 1000u);
  // Shrink below what was sent: the window goes negative (RFC 9113 §6.9.2).
  c.send(client::settings({{setting_id::initial_window_size, 500}}));
  c.send(client::window_update(1, 400));
  EXPECT_EQ(c.body_of(1).size(), 1000u);  // -500 + 400 < 0: still stalled
  // Growing it resumes the stalled response.
  c.send(client::settings({{setting_id::initial_window_size, 80000}}));
  EXPECT_EQ(c.body_of(1), big);
  EXPECT_TRUE(c.stream_ended(1));
}

TEST(Http2Session, WindowOverflow) {
  {
    client c;
    c.handshake();
    c.send(client::window_update(0, max_window_size));
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::flow_control_error);
  }
  {
    client c;
    c.ev.handler = nullptr;
    c.handshake();
    c.send(c.headers(1, client::get(), true));
    c.send(client::window_update(1, max_window_size));
    ASSERT_NE(c.rst_of(1), nullptr);
    EXPECT_EQ(c.rst_of(1)->code, errc::flow_control_error);
    EXPECT_EQ(c.goaway(), nullptr);
  }
  {
    client c;
    c.ev.handler = nullptr;
    c.handshake();
    c.send(c.headers(1, client::get(), true));
    c.send(client::settings({{setting_id::initial_window_size, max_window_size}}));
    c.send(client::window_update(1, 10));  // the stream window is now 2^31-1: overflow
    ASSERT_NE(c.rst_of(1), nullptr);
  }
}

TEST(Http2Session, DataBeyondWindowIsFlowControlError) {
  session_config cfg;
  cfg.initial_window_size = 1000;
  client c(cfg);
  c.handshake();
  c.send(c.headers(1, client::get("/", "POST"), false));
  c.send(client::data(1, std::string(1001, 'd'), false));  // 1001 > the stream window
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::flow_control_error);
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2Session, ReceiveWindowIsReturnedAndAutoTuned) {
  session_config cfg;
  cfg.max_request_body = 4 << 20;
  client c(cfg);
  std::size_t body = 0;
  c.ev.handler = [&](detail::exchange& x) {
    body = x.body.size();
    x.make_response().send("ok");
  };
  c.handshake();
  c.send(c.headers(1, client::get("/", "POST"), false));
  // Send as fast as the windows allow: the peer's stream window grows.
  std::int64_t window = 65535;
  std::size_t sent = 0;
  std::size_t seen_updates = 0;
  while (sent < (2u << 20)) {
    const std::size_t n = std::min<std::size_t>(16384, static_cast<std::size_t>(window));
    ASSERT_GT(n, 0u);
    c.send(client::data(1, std::string(n, 'u'), false));
    sent += n;
    window -= static_cast<std::int64_t>(n);
    auto ups = c.of(frame_type::window_update, 1);
    for (; seen_updates < ups.size(); ++seen_updates)
      window += ups[seen_updates]->increment;
  }
  c.send(client::data(1, "", true));
  EXPECT_EQ(body, sent);
  std::uint32_t largest = 0;
  for (auto* f : c.of(frame_type::window_update, 1))
    largest = std::max(largest, f->increment);
  EXPECT_GT(largest, 65535u);  // grown beyond the initial window
  EXPECT_EQ(c.goaway(), nullptr);
}

// ---- responses ---------------------------------------------------------------------------------

TEST(Http2Session, FileBodyThroughReader) {
  client c;
  c.files.files[7] = std::string(40000, 'f') + "END";
  c.ev.handler = [&](detail::exchange& x) {
    x.owns_file = false;
    x.make_response().send_file(7, 100, 39903);
  };
  c.handshake();
  c.send(client::window_update(0, 1 << 20));
  c.send(c.headers(1, client::get(), true));
  EXPECT_EQ(c.body_of(1).size(), 39903u);
  EXPECT_EQ(c.body_of(1).substr(39900), "END");
}

TEST(Http2Session, StreamedResponseWithBackPressure) {
  session_config cfg;
  cfg.high_water = 1000;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake({{setting_id::initial_window_size, 0}});
  c.send(c.headers(1, client::get(), true));
  portico::response res = c.ev.kept[0];
  int drained = 0;
  res.on_drain([&] { ++drained; });
  EXPECT_TRUE(res.write(std::string(500, 'a')));
  EXPECT_FALSE(res.write(std::string(600, 'b')));  // over the high water, window 0
  c.drain();
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_EQ(c.header_of(1, "content-length"), "");
  EXPECT_TRUE(c.body_of(1).empty());
  c.send(client::settings({{setting_id::initial_window_size, 1 << 20}}));
  EXPECT_EQ(c.body_of(1).size(), 1100u);
  EXPECT_EQ(drained, 1);
  res.end();
  c.drain();
  EXPECT_TRUE(c.stream_ended(1));
}

// ---- shutdown ----------------------------------------------------------------------------------

TEST(Http2Session, GracefulShutdownTwoPhases) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get(), true));
  c.s->begin_shutdown(c.now);
  c.drain();
  auto g = c.of(frame_type::goaway);
  ASSERT_EQ(g.size(), 1u);
  EXPECT_EQ(g[0]->last_stream, max_stream_id);
  EXPECT_EQ(g[0]->code, errc::no_error);
  auto pings = c.of(frame_type::ping);
  ASSERT_EQ(pings.size(), 1u);
  // A stream opened before the client saw the GOAWAY is still served.
  c.send(c.headers(3, client::get(), true));
  std::array<std::byte, 8> op{};
  std::memcpy(op.data(), pings[0]->payload.data(), 8);
  c.send(client::ping(true, op));
  g = c.of(frame_type::goaway);
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[1]->last_stream, 3u);
  c.send(c.headers(5, client::get(), true));  // above the last id: ignored
  EXPECT_EQ(c.ev.requests.size(), 2u);
  EXPECT_FALSE(c.s->done());
  c.ev.kept[0].send("a");
  c.ev.kept[1].send("b");
  c.drain();
  EXPECT_TRUE(c.s->done());
  EXPECT_FALSE(c.s->closed_on_error());
}

TEST(Http2Session, ShutdownWithoutPingAckTimesOut) {
  client c;
  c.handshake();
  c.s->begin_shutdown(1000);
  c.s->tick(1500);
  c.drain();
  EXPECT_EQ(c.of(frame_type::goaway).size(), 1u);
  c.s->tick(3001);
  c.drain();
  ASSERT_EQ(c.of(frame_type::goaway).size(), 2u);
  EXPECT_EQ(c.goaway()->last_stream, 0u);
  EXPECT_TRUE(c.s->done());
}

TEST(Http2Session, SettingsTimeout) {
  client c;
  c.send(preface_bytes());  // never ACKs our SETTINGS
  c.s->tick(20000);
  c.drain();
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::settings_timeout);
}

// ---- h2c ---------------------------------------------------------------------------------------

TEST(Http2Session, H2cUpgrade) {
  // base64url of SETTINGS_MAX_CONCURRENT_STREAMS=100, SETTINGS_INITIAL_WINDOW_SIZE=1000
  std::string payload = client::settings({{setting_id::max_concurrent_streams, 100},
                                          {setting_id::initial_window_size, 1000}})
                            .substr(9);
  static const char* b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string token;
  for (std::size_t i = 0; i < payload.size(); i += 3) {
    std::uint32_t v = 0;
    int k = 0;
    for (; k < 3 && i + static_cast<std::size_t>(k) < payload.size(); ++k)
      v |= static_cast<std::uint32_t>(
               static_cast<unsigned char>(payload[i + static_cast<std::size_t>(k)]))
           << (16 - 8 * k);
    for (int j = 0; j < k + 1; ++j)
      token += b64[(v >> (18 - 6 * j)) & 63];
  }
  auto decoded = session::decode_http2_settings(token);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, payload);
  EXPECT_FALSE(session::decode_http2_settings("A*B").has_value());
  EXPECT_FALSE(session::decode_http2_settings("AAE").has_value());  // 2 octets

  session_config cfg;
  events ev;
  http::date_cache date;
  session s(cfg, ev, nullptr, date, "::1");
  const header_view hv[] = {{"Host", "example.com"},
                            {"Connection", "Upgrade, HTTP2-Settings"},
                            {"Upgrade", "h2c"},
                            {"HTTP2-Settings", token}};
  s.start_upgraded(upgrade_request{"GET", "/up", hv, {}},
                   std::as_bytes(std::span(decoded->data(), decoded->size())), 0);
  ASSERT_EQ(ev.requests.size(), 1u);
  EXPECT_EQ(ev.requests[0].path, "/up");
  EXPECT_EQ(ev.requests[0].header("host"), "example.com");
  EXPECT_EQ(ev.requests[0].header("upgrade"), "");
  EXPECT_EQ(s.peer_settings().initial_window_size, 1000u);
  std::string preface = preface_bytes();
  EXPECT_EQ(s.consume(std::span<const char>(preface.data(), preface.size()), 0), preface.size());
  iovec iov[32];
  std::string out;
  std::size_t k = s.pending_output(iov);
  for (std::size_t i = 0; i < k; ++i)
    out.append(static_cast<char*>(iov[i].iov_base), iov[i].iov_len);
  s.commit_output(out.size());
  frame_reader rd;
  read_result r = rd.read(std::span<const char>(out.data(), out.size()));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(r.frame.header.type, frame_type::settings);  // our preface first
  std::size_t data_bytes = 0;
  bool headers1 = false;
  for (std::size_t off = 0; off < out.size();) {
    r = rd.read(std::span<const char>(out.data() + off, out.size() - off));
    ASSERT_EQ(r.status, read_status::frame);
    if (r.frame.header.type == frame_type::headers && r.frame.header.stream_id == 1)
      headers1 = true;
    if (r.frame.header.type == frame_type::data) data_bytes += r.frame.header.length;
    off += r.consumed;
  }
  EXPECT_TRUE(headers1);
  EXPECT_EQ(data_bytes, std::string("hello /up").size());
}

// ---- priorities (RFC 9218) ----------------------------------------------------------------------

TEST(Http2Scheduler, ParsePriority) {
  EXPECT_EQ(parse_priority("u=1"), (priority{1, false}));
  EXPECT_EQ(parse_priority("u=5, i"), (priority{5, true}));
  EXPECT_EQ(parse_priority("i=?1, u=0"), (priority{0, true}));
  EXPECT_EQ(parse_priority("u=9"), (priority{3, false}));  // out of range: ignored
  EXPECT_EQ(parse_priority("u=2;x=1, foo=bar, i=?0"), (priority{2, false}));
  EXPECT_EQ(parse_priority(""), (priority{}));
}

TEST(Http2Scheduler, UrgencyThenOrderThenRoundRobin) {
  send_scheduler s;
  std::vector<send_candidate> c = {{5, {3, false}}, {3, {3, false}}, {7, {1, false}}};
  EXPECT_EQ(s.pick(c), 7u);
  c = {{5, {3, false}}, {3, {3, false}}};
  EXPECT_EQ(s.pick(c), 3u);
  EXPECT_EQ(s.pick(c), 3u);  // non-incremental: one at a time
  c = {{5, {3, true}}, {3, {3, true}}, {9, {3, true}}};
  EXPECT_EQ(s.pick(c), 3u);
  EXPECT_EQ(s.pick(c), 5u);
  EXPECT_EQ(s.pick(c), 9u);
  EXPECT_EQ(s.pick(c), 3u);
  EXPECT_EQ(s.pick({}), 0u);
}

TEST(Http2Session, UrgentStreamServedFirst) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/slow"), true));
  auto f = client::get("/urgent");
  f.emplace_back("priority", "u=0");
  c.send(c.headers(3, f, true));
  c.auto_drain = false;
  c.ev.kept[0].send(std::string(30000, 's'));
  c.ev.kept[1].send(std::string(30000, 'u'));
  c.drain();
  std::vector<std::uint32_t> order;
  for (auto* d : c.of(frame_type::data))
    order.push_back(d->h.stream_id);
  ASSERT_FALSE(order.empty());
  EXPECT_EQ(order.front(), 3u);
  EXPECT_EQ(c.body_of(3).size(), 30000u);
}

// ---- RFC 7540 priority signals on the RFC 9218 scheduler, PRIORITY_UPDATE for idle streams ----

// The stream ids of the DATA frames the client received, in order.
std::vector<std::uint32_t> data_order(const client& c) {
  std::vector<std::uint32_t> order;
  for (auto* d : c.of(frame_type::data))
    order.push_back(d->h.stream_id);
  return order;
}

// Sends `heads` (already encoded frames, opening the streams listed in `ids`), then answers
// every stream with a `size`-byte body at once and drains: the DATA order is the scheduler's.
std::vector<std::uint32_t> serve_all(client& c, const std::string& heads,
                                     const std::vector<std::uint32_t>& ids,
                                     std::size_t size = 12000) {
  c.send(heads);
  EXPECT_EQ(c.ev.kept.size(), ids.size());
  c.auto_drain = false;
  for (auto& res : c.ev.kept)
    res.send(std::string(size, 'x'));
  c.drain();
  for (std::uint32_t id : ids)
    EXPECT_EQ(c.body_of(id).size(), size) << id;
  return data_order(c);
}

using ids = std::vector<std::uint32_t>;

TEST(Http2Rfc7540Priority, WeightsAndExclusiveChainsOrderStreams) {
  // Chromium's way: every request an exclusive dependency, weights 256/220/183/147 for its
  // HIGHEST/MEDIUM/LOW/LOWEST, a later more urgent request put in front of earlier ones.
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads;
  heads += c.headers(1, client::get("/low"), true, 16384, priority_fields{true, 0, 183});
  heads += c.headers(3, client::get("/highest"), true, 16384, priority_fields{true, 0, 256});
  heads += c.headers(5, client::get("/medium"), true, 16384, priority_fields{true, 3, 220});
  heads += c.headers(7, client::get("/lowest"), true, 16384, priority_fields{true, 1, 147});
  EXPECT_EQ(serve_all(c, heads, {1, 3, 5, 7}), (ids{3, 5, 1, 7}));
}

TEST(Http2Rfc7540Priority, DependentStreamNeverAheadOfItsParent) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads;
  heads += c.headers(1, client::get("/a"), true, 16384, priority_fields{true, 0, 110});
  // Weight 256 would make it the most urgent, but it depends on stream 1.
  heads += c.headers(3, client::get("/b"), true, 16384, priority_fields{true, 1, 256});
  heads += c.headers(5, client::get("/c"), true, 16384, priority_fields{true, 0, 147});
  EXPECT_EQ(serve_all(c, heads, {1, 3, 5}), (ids{5, 1, 3}));
}

TEST(Http2Rfc7540Priority, NonExclusiveSiblingsShareTheConnection) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads;
  heads += c.headers(1, client::get("/a"), true, 16384, priority_fields{false, 0, 32});
  heads += c.headers(3, client::get("/b"), true, 16384, priority_fields{false, 0, 32});
  EXPECT_EQ(serve_all(c, heads, {1, 3}, 30000), (ids{1, 3, 1, 3}));  // incremental
  client d;  // the same with exclusive dependencies: one after the other
  d.ev.handler = nullptr;
  d.handshake();
  heads = d.headers(1, client::get("/a"), true, 16384, priority_fields{true, 0, 32});
  heads += d.headers(3, client::get("/b"), true, 16384, priority_fields{true, 0, 32});
  EXPECT_EQ(serve_all(d, heads, {1, 3}, 30000), (ids{1, 1, 3, 3}));
}

TEST(Http2Rfc7540Priority, DefaultSignalIsNoSignal) {
  // RFC 7540 §5.3.5: dependency 0, weight 16, not exclusive is the default priority; it ranks
  // with requests that carry no signal (RFC 9218's default, urgency 3), in id order.
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads = c.headers(1, client::get("/a"), true, 16384, priority_fields{});
  heads += c.headers(3, client::get("/b"), true);
  heads += c.headers(5, client::get("/c"), true, 16384, priority_fields{true, 0, 110});  // u=4
  EXPECT_EQ(serve_all(c, heads, {1, 3, 5}), (ids{1, 3, 5}));
}

TEST(Http2Rfc7540Priority, PriorityFieldAndUpdatesOutrankIt) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  auto low = client::get("/a");
  low.emplace_back("priority", "u=5");
  std::string heads = c.headers(1, low, true, 16384, priority_fields{true, 0, 256});
  heads += c.headers(3, client::get("/b"), true);
  heads += c.headers(5, client::get("/c"), true);
  heads += client::priority_update(5, "u=6");
  heads += client::priority(5, priority_fields{true, 0, 256});  // after an update: no effect
  EXPECT_EQ(serve_all(c, heads, {1, 3, 5}), (ids{3, 1, 5}));
}

TEST(Http2Rfc7540Priority, PriorityFrameReprioritizesAnOpenStream) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads = c.headers(1, client::get("/a"), true);
  heads += c.headers(3, client::get("/b"), true);
  heads += client::priority(3, priority_fields{true, 0, 256});
  EXPECT_EQ(serve_all(c, heads, {1, 3}), (ids{3, 1}));
}

TEST(Http2Rfc7540Priority, IgnoredAfterNoRfc7540Priorities) {
  client c;
  c.ev.handler = nullptr;
  c.handshake({{setting_id::no_rfc7540_priorities, 1}});
  std::string heads = c.headers(1, client::get("/a"), true);
  heads += c.headers(3, client::get("/b"), true, 16384, priority_fields{true, 0, 256});
  heads += client::priority(1, priority_fields{true, 0, 1});
  EXPECT_EQ(serve_all(c, heads, {1, 3}), (ids{1, 3}));
}

TEST(Http2Rfc7540Priority, GroupingStreamsDoNotRankTheirChildren) {
  // nghttp's and Firefox's former way: PRIORITY frames make idle streams that never open
  // (3: weight 201; 11: weight 1 under 3) and requests depend on them with their own weights
  // (`nghttp -p 1 -p 256 A B`): the requests' weights order them.
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads = client::priority(3, priority_fields{false, 0, 201});
  heads += client::priority(11, priority_fields{false, 3, 1});
  heads += c.headers(13, client::get("/a"), true, 16384, priority_fields{false, 11, 1});
  heads += c.headers(15, client::get("/b"), true, 16384, priority_fields{false, 11, 256});
  EXPECT_EQ(serve_all(c, heads, {13, 15}), (ids{15, 13}));
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2Rfc7540Priority, PriorityFrameForAnIdleStreamAppliesWhenItOpens) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads = client::priority(5, priority_fields{true, 0, 256});  // urgency 0
  heads += client::priority(7, priority_fields{true, 0, 1});               // urgency 7
  heads += c.headers(1, client::get("/a"), true);
  heads += c.headers(3, client::get("/b"), true);
  heads += c.headers(5, client::get("/c"), true);
  heads += c.headers(7, client::get("/d"), true, 16384, priority_fields{true, 0, 220});
  EXPECT_EQ(serve_all(c, heads, {1, 3, 5, 7}), (ids{5, 7, 1, 3}));  // the HEADERS' own wins
}

TEST(Http2PriorityUpdate, UpdateForAnIdleStreamAppliesWhenItOpens) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  std::string heads = client::priority_update(3, "u=1");
  heads += client::priority_update(3, "u=0");  // the most recent one counts
  heads += client::priority_update(5, "u=7");
  auto hinted = client::get("/b");
  hinted.emplace_back("priority", "u=6");  // the update outranks the field (RFC 9218 §7)
  heads += c.headers(1, client::get("/a"), true);
  heads += c.headers(3, hinted, true);
  heads += c.headers(5, client::get("/c"), true);
  EXPECT_EQ(serve_all(c, heads, {1, 3, 5}), (ids{3, 1, 5}));
}

TEST(Http2PriorityUpdate, IdleStreamsWithPrioritiesBoundedByMaxConcurrentStreams) {
  // RFC 9218 §7.1: prioritized idle streams plus active streams MUST NOT exceed
  // SETTINGS_MAX_CONCURRENT_STREAMS; a server receiving more MUST answer PROTOCOL_ERROR.
  session_config cfg;
  cfg.max_concurrent_streams = 4;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/a"), true));  // one active stream
  std::string ups;
  for (std::uint32_t id : {3u, 5u, 7u, 3u, 7u})  // three idle ids: 1 + 3 = 4, allowed
    ups += client::priority_update(id, "u=1");
  c.send(ups);
  EXPECT_EQ(c.goaway(), nullptr);
  c.send(client::priority_update(9, "u=1"));
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::protocol_error);
}

TEST(Http2PriorityUpdate, OpeningAStreamDropsUpdatesForSkippedIds) {
  session_config cfg;
  cfg.max_concurrent_streams = 2;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake();
  c.send(client::priority_update(1, "u=1"));
  c.send(client::priority_update(3, "u=1"));      // 2 idle, 0 active
  c.send(c.headers(5, client::get("/a"), true));  // 1 and 3 can no longer open
  c.send(client::priority_update(7, "u=1"));      // 1 idle + 1 active
  c.send(client::priority_update(1, "u=1"));      // closed: discarded
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2PriorityUpdate, ARefusedStreamLeavesNoUpdateBehind) {
  session_config cfg;
  cfg.max_concurrent_streams = 2;
  client c(cfg);
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/a"), true));  // 1 active
  c.send(client::priority_update(5, "u=1"));      // 1 idle + 1 active
  c.send(c.headers(3, client::get("/b"), true));  // 1 idle + 2 active: at the limit
  c.send(c.headers(5, client::get("/c"), true));  // refused: its update is stale
  ASSERT_NE(c.rst_of(5), nullptr);
  EXPECT_EQ(c.rst_of(5)->code, errc::refused_stream);
  c.ev.kept[0].send("a");  // stream 1 done once written: 1 active
  c.drain();
  c.send(client::priority_update(7, "u=1"));  // 1 idle + 1 active: allowed
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2PriorityUpdate, UpdateForAPushNeverPromisedIsAConnectionError) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(client::priority_update(2, "u=1"));
  ASSERT_NE(c.goaway(), nullptr);
  EXPECT_EQ(c.goaway()->code, errc::protocol_error);
}

// ---- input split at every byte ------------------------------------------------------------------

TEST(Http2Session, SplitAtEveryByte) {
  // One conversation: preface, SETTINGS, a GET, a POST with a body, a PING, another GET.
  client proto;
  std::string conv = preface_bytes({{setting_id::initial_window_size, 1 << 20}});
  append_frame(conv, settings_frame{true, {}});
  conv += proto.headers(1, client::get("/one"), true);
  auto post = client::get("/two", "POST");
  post.emplace_back("content-length", "5");
  conv += proto.headers(3, post, false);
  conv += client::data(3, "ab", false) + client::ping() + client::data(3, "cde", true);
  conv += proto.headers(5, client::get("/three"), true);

  auto run = [&](std::size_t step) {
    client c;
    std::vector<std::string> bodies;
    c.ev.handler = [&](detail::exchange& x) {
      bodies.push_back(std::string(x.path) + ":" + std::string(x.body));
      x.make_response().send("r" + std::string(x.path));
    };
    for (std::size_t i = 0; i < conv.size(); i += step)
      c.send(conv.substr(i, step));
    EXPECT_EQ(c.consumed_total, conv.size());
    EXPECT_EQ(c.goaway(), nullptr);
    EXPECT_EQ(c.body_of(1), "r/one");
    EXPECT_EQ(c.body_of(3), "r/two");
    EXPECT_EQ(c.body_of(5), "r/three");
    EXPECT_EQ(c.of(frame_type::ping).size(), 1u);
    return bodies;
  };
  const auto whole = run(conv.size());
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[1], "/two:abcde");
  for (std::size_t step = 1; step < 40; ++step)
    EXPECT_EQ(run(step), whole) << step;
  // Every split point into two parts.
  for (std::size_t cut = 1; cut < conv.size(); ++cut) {
    client c;
    c.send(conv.substr(0, cut));
    c.send(conv.substr(cut));
    EXPECT_EQ(c.body_of(5), "hello /three") << cut;
  }
}

}  // namespace
}  // namespace portico::http2::test
