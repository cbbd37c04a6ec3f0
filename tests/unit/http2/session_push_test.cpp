// Server push (RFC 9113 §8.4, §6.6), response trailers (§8.1) and handler resets in the
// HTTP/2 session, driven by the scripted client of session_test_util.hpp.
#include "session_test_util.hpp"

namespace portico::http2::test {
namespace {

const server_frame* promise_of(const client& c, std::uint32_t promised) {
  for (auto* f : c.of(frame_type::push_promise))
    if (f->promised == promised) return f;
  return nullptr;
}

std::string field(const server_frame& f, std::string_view name) {
  for (auto& [n, v] : f.headers)
    if (n == name) return v;
  return {};
}

std::size_t index_of(const client& c, const server_frame* f) {
  return static_cast<std::size_t>(f - c.frames.data());
}

// A handler that pushes `paths` for "/", and answers everything else with "hello PATH".
void push_handler(client& c, std::vector<std::string> paths, std::vector<bool>* results = nullptr) {
  c.ev.handler = [paths, results](detail::exchange& x) {
    portico::response res = x.make_response();
    if (x.path == "/") {
      for (const auto& p : paths) {
        const bool ok = res.push(p);
        if (results) results->push_back(ok);
      }
    }
    res.header("Content-Type", "text/plain").send("hello " + std::string(x.path));
  };
}

TEST(Http2Push, PromiseThenPushedResponse) {
  client c;
  std::vector<bool> ok;
  push_handler(c, {"/a.css", "/b.js"}, &ok);
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  EXPECT_EQ(ok, (std::vector<bool>{true, true}));
  // RFC 9113 §6.6: PUSH_PROMISE on the client's stream, promising even ids in order.
  const server_frame* p2 = promise_of(c, 2);
  const server_frame* p4 = promise_of(c, 4);
  ASSERT_NE(p2, nullptr);
  ASSERT_NE(p4, nullptr);
  EXPECT_EQ(p2->h.stream_id, 1u);
  EXPECT_EQ(field(*p2, ":method"), "GET");
  EXPECT_EQ(field(*p2, ":path"), "/a.css");
  EXPECT_EQ(field(*p2, ":scheme"), "https");
  EXPECT_EQ(field(*p2, ":authority"), "example.com");
  EXPECT_EQ(field(*p4, ":path"), "/b.js");
  // §8.4: the promises precede the response that refers to them.
  auto h1 = c.of(frame_type::headers, 1);
  ASSERT_FALSE(h1.empty());
  EXPECT_LT(index_of(c, p4), index_of(c, h1.front()));
  // The promised requests went through the handler like a client's, with Host.
  ASSERT_EQ(c.ev.requests.size(), 3u);
  EXPECT_EQ(c.ev.requests[1].path, "/a.css");
  EXPECT_EQ(c.ev.requests[1].header("host"), "example.com");
  EXPECT_EQ(c.status_of(2), "200");
  EXPECT_EQ(c.body_of(2), "hello /a.css");
  EXPECT_TRUE(c.stream_ended(2));
  EXPECT_EQ(c.body_of(4), "hello /b.js");
  EXPECT_TRUE(c.stream_ended(4));
  EXPECT_EQ(c.s->active_streams(), 0u);
  EXPECT_EQ(c.s->pushed_streams(), 0u);
  EXPECT_EQ(c.goaway(), nullptr);
}

TEST(Http2Push, DisabledByClientSetting) {
  client c;
  std::vector<bool> ok;
  push_handler(c, {"/a.css"}, &ok);
  c.handshake({{setting_id::enable_push, 0}});
  c.send(c.headers(1, client::get("/"), true));
  EXPECT_EQ(ok, (std::vector<bool>{false}));
  EXPECT_TRUE(c.of(frame_type::push_promise).empty());
  EXPECT_EQ(c.body_of(1), "hello /");
}

TEST(Http2Push, BoundedByPeerMaxConcurrentStreamsAndConfig) {
  {
    client c;
    c.ev.handler = nullptr;  // leave the pushed streams in progress
    c.handshake({{setting_id::max_concurrent_streams, 1}});
    c.send(c.headers(1, client::get("/"), true));
    portico::response res = c.ev.kept[0];
    EXPECT_TRUE(res.push("/a"));
    EXPECT_FALSE(res.push("/b"));  // RFC 9113 §5.1.2: the client allows one stream of ours
    EXPECT_EQ(c.s->pushed_streams(), 1u);
  }
  {
    session_config cfg;
    cfg.max_pushed_streams = 2;
    client c(cfg);
    c.ev.handler = nullptr;
    c.handshake();
    c.send(c.headers(1, client::get("/"), true));
    portico::response res = c.ev.kept[0];
    EXPECT_TRUE(res.push("/a"));
    EXPECT_TRUE(res.push("/b"));
    EXPECT_FALSE(res.push("/c"));
  }
}

TEST(Http2Push, RefusedForBadPathsPushedStreamsAndEndedResponses) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  portico::response res = c.ev.kept[0];
  EXPECT_FALSE(res.push("relative"));
  EXPECT_FALSE(res.push("//other.example/x"));
  EXPECT_FALSE(res.push("/with space"));
  EXPECT_FALSE(res.push(""));
  const portico::header_view bad[] = {{"connection", "close"}};
  EXPECT_FALSE(res.push("/x", bad));  // RFC 9113 §8.2.2
  ASSERT_TRUE(res.push("/x"));
  ASSERT_EQ(c.ev.kept.size(), 2u);  // the pushed request waits for its handler
  portico::response pushed = c.ev.kept[1];
  EXPECT_FALSE(pushed.push("/y"));  // §6.6: only on client streams
  res.send("done");
  EXPECT_FALSE(res.push("/z"));  // the response ended
}

TEST(Http2Push, ClientFramesOnPushedStreams) {
  {
    // §5.1 reserved (local): DATA is a connection error.
    client c;
    c.ev.handler = nullptr;
    c.handshake();
    c.send(c.headers(1, client::get("/"), true));
    ASSERT_TRUE(c.ev.kept[0].push("/x"));
    c.send(client::data(2, "x", false));
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::protocol_error);
  }
  {
    // WINDOW_UPDATE and PRIORITY are allowed; RST_STREAM cancels the push.
    client c;
    c.ev.handler = nullptr;
    c.handshake();
    c.send(c.headers(1, client::get("/"), true));
    ASSERT_TRUE(c.ev.kept[0].push("/x"));
    portico::response pushed = c.ev.kept[1];
    bool aborted = false;
    pushed.on_abort([&] { aborted = true; });
    c.send(client::window_update(2, 1000));
    EXPECT_EQ(c.goaway(), nullptr);
    c.send(client::rst(2, errc::cancel));
    EXPECT_TRUE(aborted);
    pushed.send("late");
    EXPECT_TRUE(c.of(frame_type::headers, 2).empty());
    EXPECT_EQ(c.goaway(), nullptr);
  }
  {
    // An even stream we never promised is idle: WINDOW_UPDATE there is a connection error.
    client c;
    c.handshake();
    c.send(client::window_update(2, 1000));
    ASSERT_NE(c.goaway(), nullptr);
    EXPECT_EQ(c.goaway()->code, errc::protocol_error);
  }
}

TEST(Http2Push, PreloadLinksPushedWhenConfigured) {
  session_config cfg;
  cfg.push_preload = true;
  client c(cfg);
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    if (x.path == "/") {
      res.header("Link", "</a.css>; rel=preload; as=style, </b.js>; rel=preload; nopush")
          .header("Link", "<https://example.com/c.png>; rel=\"preload prefetch\"")
          .header("Link", "<https://other.example/d>; rel=preload, </e>; rel=next");
    }
    res.send("hello " + std::string(x.path));
  };
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  std::vector<std::string> pushed;
  for (auto* f : c.of(frame_type::push_promise))
    pushed.push_back(field(*f, ":path"));
  EXPECT_EQ(pushed, (std::vector<std::string>{"/a.css", "/c.png"}));
  EXPECT_EQ(c.body_of(2), "hello /a.css");
  EXPECT_EQ(c.body_of(4), "hello /c.png");
}

TEST(Http2Push, PreloadLinksIgnoredByDefault) {
  client c;
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.header("Link", "</a.css>; rel=preload").send("x");
  };
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  EXPECT_TRUE(c.of(frame_type::push_promise).empty());
}

// ---- trailers (RFC 9113 §8.1) ------------------------------------------------------------------

TEST(Http2Trailers, StreamedBodyThenTrailers) {
  client c;
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.write("abc");
    res.trailer("Grpc-Status", "0").trailer("grpc-message", "fine");
    res.end();
  };
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  EXPECT_EQ(c.body_of(1), "abc");
  auto data = c.of(frame_type::data, 1);
  ASSERT_FALSE(data.empty());
  for (auto* d : data)
    EXPECT_FALSE(d->end_stream());  // the trailers end the stream, not DATA
  auto h = c.of(frame_type::headers, 1);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_TRUE(h[1]->end_stream());
  EXPECT_EQ(h[1]->headers, (fields{{"grpc-status", "0"}, {"grpc-message", "fine"}}));
  EXPECT_GT(index_of(c, h[1]), index_of(c, data.back()));
  ASSERT_EQ(c.ev.done.size(), 1u);
}

TEST(Http2Trailers, EmptyBodyAndMemoryBody) {
  client c;
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.trailer("x-t", "1");
    if (x.path == "/empty") {
      res.end();
    } else {
      res.send("body");
    }
  };
  c.handshake();
  c.send(c.headers(1, client::get("/empty"), true));
  auto h = c.of(frame_type::headers, 1);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_FALSE(h[0]->end_stream());
  EXPECT_TRUE(h[1]->end_stream());
  EXPECT_TRUE(c.of(frame_type::data, 1).empty());  // no empty DATA in between
  c.send(c.headers(3, client::get("/full"), true));
  EXPECT_EQ(c.body_of(3), "body");
  h = c.of(frame_type::headers, 3);
  ASSERT_EQ(h.size(), 2u);
  EXPECT_EQ(h[1]->headers, (fields{{"x-t", "1"}}));
  EXPECT_TRUE(h[1]->end_stream());
}

TEST(Http2Trailers, NotSentForHead) {
  client c;
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.trailer("x-t", "1").send("body");
  };
  c.handshake();
  c.send(c.headers(1, client::get("/", "HEAD"), true));
  auto h = c.of(frame_type::headers, 1);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_TRUE(h[0]->end_stream());
}

TEST(Http2Trailers, InvalidTrailersRefused) {
  client c;
  c.ev.handler = nullptr;
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  portico::response res = c.ev.kept[0];
  EXPECT_THROW(res.trailer("content-length", "1"), std::invalid_argument);
  EXPECT_THROW(res.trailer("bad name", "1"), std::invalid_argument);
  EXPECT_THROW(res.trailer("x", "a\r\nb"), std::invalid_argument);
}

// ---- streamed responses with a Content-Length set by the handler (RFC 9113 §8.1.1) -------------

// Answers /PATH by announcing Content-Length 10 and writing `writes` before ending.
void length_handler(client& c, std::map<std::string, std::vector<std::string>> bodies) {
  c.ev.handler = [bodies](detail::exchange& x) {
    portico::response res = x.make_response();
    res.header("Content-Length", "10");
    const auto it = bodies.find(std::string(x.path));
    if (it == bodies.end()) return res.end();
    for (const auto& w : it->second)
      res.write(w);
    res.end();
  };
}

TEST(Http2StreamedLength, ExactLengthEndsTheStream) {
  client c;
  length_handler(c, {{"/exact", {"01234", "56789"}}});
  c.handshake();
  c.send(c.headers(1, client::get("/exact"), true));
  EXPECT_EQ(c.rst_of(1), nullptr);
  EXPECT_EQ(c.body_of(1), "0123456789");
  auto h = c.of(frame_type::headers, 1);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(field(*h[0], "content-length"), "10");
  auto data = c.of(frame_type::data, 1);
  ASSERT_FALSE(data.empty());
  EXPECT_TRUE(data.back()->end_stream());
}

TEST(Http2StreamedLength, FewerBytesThanAnnouncedResetTheStream) {
  client c;
  // "/late": the HEADERS went out with the first write, the end comes short; "/none": ended
  // with no body at all, before anything went out.
  length_handler(c, {{"/late", {"01234"}}});
  c.handshake();
  for (std::uint32_t id : {1u, 3u}) {
    const char* path = id == 1 ? "/late" : "/none";
    c.send(c.headers(id, client::get(path), true));
    ASSERT_NE(c.rst_of(id), nullptr) << path;
    EXPECT_EQ(c.rst_of(id)->code, errc::internal_error) << path;
    for (auto* d : c.of(frame_type::data, id))
      EXPECT_FALSE(d->end_stream()) << path;  // never a complete-looking short response
    for (auto* f : c.of(frame_type::headers, id))
      EXPECT_FALSE(f->end_stream()) << path;
  }
  // Ended before anything went out: no HEADERS announcing 10 bytes either.
  EXPECT_TRUE(c.of(frame_type::headers, 3).empty());
  EXPECT_EQ(c.goaway(), nullptr);  // a stream error; the connection goes on
  c.send(c.headers(5, client::get("/none", "HEAD"), true));
  auto h = c.of(frame_type::headers, 5);  // HEAD: the length describes a body not sent
  ASSERT_EQ(h.size(), 1u);
  EXPECT_TRUE(h[0]->end_stream());
  EXPECT_EQ(field(*h[0], "content-length"), "10");
  EXPECT_EQ(c.rst_of(5), nullptr);
}

TEST(Http2StreamedLength, MoreBytesThanAnnouncedResetTheStream) {
  client c;
  length_handler(c, {{"/more", {"0123456789", "x"}}});
  c.handshake();
  c.send(c.headers(1, client::get("/more"), true));
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::internal_error);
  for (auto* d : c.of(frame_type::data, 1))
    EXPECT_FALSE(d->end_stream());
}

// ---- resets by the handler (RFC 9113 §5.4.2) ---------------------------------------------------

TEST(Http2Reset, HandlerResetSendsCancelAndSparesTheResetBudget) {
  session_config cfg;
  cfg.reset_burst = 1;
  cfg.reset_rate = 1;
  client c(cfg);
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.write("partial");
    res.reset();
    EXPECT_TRUE(res.aborted());
  };
  c.handshake();
  for (std::uint32_t id = 1; id <= 9; id += 2)
    c.send(c.headers(id, client::get("/"), true));
  for (std::uint32_t id = 1; id <= 9; id += 2) {
    ASSERT_NE(c.rst_of(id), nullptr) << id;
    EXPECT_EQ(c.rst_of(id)->code, errc::cancel);
  }
  EXPECT_EQ(c.goaway(), nullptr);
  EXPECT_EQ(c.s->active_streams(), 0u);
}

// ---- streamed request bodies (route_options::stream_body) -------------------------------------

TEST(Http2StreamedBody, HandlerRunsAtTheHeadAndGetsDataAsItArrives) {
  session_config cfg;
  cfg.max_request_body = 10;  // does not apply to streamed bodies
  client c(cfg);
  c.ev.stream_bodies = true;
  std::vector<std::pair<std::string, bool>> pieces;
  c.ev.handler = [&pieces](detail::exchange& x) {
    EXPECT_TRUE(x.body_streaming);
    portico::response res = x.make_response();
    x.req().on_body([res, &pieces](std::string_view p, bool last) mutable {
      pieces.emplace_back(std::string(p), last);
      res.write(p);
      if (last) res.end();
    });
  };
  c.handshake();
  auto post = client::get("/up", "POST");
  c.send(c.headers(1, post, false));
  ASSERT_EQ(c.ev.requests.size(), 1u);  // dispatched before any DATA
  c.send(client::data(1, "first piece ", false));
  EXPECT_EQ(c.body_of(1), "first piece ");  // answered while the request goes on
  c.send(client::data(1, "second", false));
  c.send(client::data(1, "", true));
  EXPECT_EQ(pieces, (std::vector<std::pair<std::string, bool>>{
                        {"first piece ", false}, {"second", false}, {"", true}}));
  EXPECT_EQ(c.body_of(1), "first piece second");
  EXPECT_TRUE(c.stream_ended(1));
  EXPECT_EQ(c.goaway(), nullptr);
}

// ---- request trailers (RFC 9113 §8.1, RFC 9110 §6.5) -------------------------------------------

// Answers with "name=value;" for each request trailer, and the x-sum header field if any.
std::string trailer_text(const portico::request& req) {
  std::string out;
  for (const auto& t : req.trailers())
    out += std::string(t.name) + "=" + std::string(t.value) + ";";
  return out + "|" + std::string(req.header("x-sum"));
}

TEST(Http2RequestTrailers, HandedToTheHandlerApartFromTheHeaders) {
  client c;
  c.ev.handler = [](detail::exchange& x) {
    EXPECT_EQ(x.req().trailer("X-SUM"), "abc");  // case-insensitive lookup
    EXPECT_EQ(x.body, "data");
    x.make_response().send(trailer_text(x.req()));
  };
  c.handshake();
  c.send(c.headers(1, client::get("/up", "POST"), false));
  c.send(client::data(1, "data", false));
  c.send(c.headers(1, {{"x-sum", "abc"}, {"x-count", "2"}}, true));
  EXPECT_EQ(c.body_of(1), "x-sum=abc;x-count=2;|");  // not merged into the header fields
  // A request without trailers on the same (reused) stream object has none.
  c.ev.handler = [](detail::exchange& x) { x.make_response().send(trailer_text(x.req())); };
  c.send(c.headers(3, client::get("/plain"), true));
  EXPECT_EQ(c.body_of(3), "|");
}

TEST(Http2RequestTrailers, SeenByAStreamedBodyRouteAtTheEnd) {
  client c;
  c.ev.stream_bodies = true;
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    portico::request req = x.req();
    x.req().on_body([res, req](std::string_view, bool last) mutable {
      if (last) res.send(trailer_text(req));
    });
  };
  c.handshake();
  c.send(c.headers(1, client::get("/up", "POST"), false));
  c.send(client::data(1, "piece", false));
  c.send(c.headers(1, {{"grpc-status-like", "0"}}, true));
  EXPECT_EQ(c.body_of(1), "grpc-status-like=0;|");
}

TEST(Http2RequestTrailers, MalformedTrailersResetTheStream) {
  client c;
  c.ev.handler = [](detail::exchange& x) { x.make_response().send("x"); };
  c.handshake();
  c.send(c.headers(1, client::get("/up", "POST"), false));
  c.send(c.headers(1, {{":path", "/x"}}, true));  // pseudo-header in trailers (§8.1)
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::protocol_error);
  EXPECT_TRUE(c.ev.requests.empty());
}

TEST(Http2StreamedBody, ContentLengthStillChecked) {
  client c;
  c.ev.stream_bodies = true;
  c.ev.handler = [](detail::exchange& x) { x.req().on_body([](std::string_view, bool) {}); };
  c.handshake();
  auto post = client::get("/up", "POST");
  post.emplace_back("content-length", "3");
  c.send(c.headers(1, post, false));
  c.send(client::data(1, "abcd", true));
  ASSERT_NE(c.rst_of(1), nullptr);
  EXPECT_EQ(c.rst_of(1)->code, errc::protocol_error);  // RFC 9113 §8.1.1
}

TEST(Http2StreamedBody, StreamedResponseToARequestWithContentLength) {
  // The request's content-length is not the response's: a streamed answer goes out whole.
  client c;
  c.ev.handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.write("streamed ");
    res.write("answer");
    res.end();
  };
  c.handshake();
  auto post = client::get("/echo", "POST");
  post.emplace_back("content-length", "5");
  c.send(c.headers(1, post, false));
  c.send(client::data(1, "hello", true));
  EXPECT_EQ(c.status_of(1), "200");
  EXPECT_EQ(c.body_of(1), "streamed answer");
  EXPECT_TRUE(c.stream_ended(1));
  EXPECT_EQ(c.rst_of(1), nullptr);
}

// ---- pooled streams ----------------------------------------------------------------------------

TEST(Http2StreamPool, KeepsWhatWasLiveAtThePeakThenDecays) {
  stream_pool pool(16, 4096);
  std::vector<stream*> live;
  // A burst of 3000 streams taken in one go and given back (what 256 connections x 32 streams
  // do every loop turn): all of them are kept, so the next burst allocates nothing.
  for (std::uint32_t i = 0; i < 3000; ++i) {
    live.push_back(pool.acquire(2 * i + 1));
    live.back()->add_ref();
  }
  for (stream* s : live)
    s->release();
  EXPECT_EQ(pool.cached(), 3000u);
  live.clear();
  for (std::uint32_t i = 0; i < 3000; ++i)
    live.push_back(pool.acquire(2 * i + 1));
  EXPECT_EQ(pool.cached(), 0u);
  for (stream* s : live) {
    s->add_ref();
    s->release();
  }
  // Then a long quiet stretch with one stream at a time: the peak halves every 64Ki recycles
  // and the cache above it is freed, down to the minimum.
  for (int i = 0; i < 6 * 0x10000; ++i) {
    stream* s = pool.acquire(1);
    s->add_ref();
    s->release();
  }
  EXPECT_LE(pool.cached(), 100u);
  EXPECT_GE(pool.cached(), 16u);
  // Never more than the maximum, whatever the peak.
  live.clear();
  for (std::uint32_t i = 0; i < 5000; ++i) {
    live.push_back(pool.acquire(2 * i + 1));
    live.back()->add_ref();
  }
  for (stream* s : live)
    s->release();
  EXPECT_EQ(pool.cached(), 4096u);
}

TEST(Http2StreamPool, StreamsAreReusedClean) {
  stream_pool pool;
  client c;
  c.s->use_pool(&pool);
  std::vector<const detail::exchange*> seen;
  c.ev.handler = [&seen](detail::exchange& x) {
    seen.push_back(&x);
    // Nothing of the previous request or response may show through.
    EXPECT_TRUE(x.fields.empty());
    EXPECT_TRUE(x.trailers.empty());
    EXPECT_FALSE(x.started);
    EXPECT_EQ(x.status, 200);
    portico::response res = x.make_response();
    res.header("x-path", x.path);
    if (x.path == "/a") res.trailer("x-only-a", "1");
    if (x.method == "POST") {
      res.send(std::string(x.body));
    } else {
      res.write("streamed " + std::string(x.path));
      res.end();
    }
  };
  c.handshake();
  auto post = client::get("/p", "POST");
  c.send(c.headers(1, post, false));
  for (int i = 0; i < 4; ++i)  // 60000 bytes: within the frame size and the first window
    c.send(client::data(1, std::string(15000, 'b'), i == 3));
  c.send(c.headers(3, client::get("/a"), true));
  c.send(c.headers(5, client::get("/b"), true));
  ASSERT_EQ(c.goaway(), nullptr) << (c.goaway() ? c.goaway()->payload : "");
  ASSERT_EQ(c.ev.requests.size(), 3u);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1], seen[0]);  // the same object, reused
  EXPECT_EQ(seen[2], seen[0]);
  EXPECT_EQ(c.body_of(1), std::string(60000, 'b'));
  EXPECT_EQ(c.body_of(3), "streamed /a");
  EXPECT_EQ(c.body_of(5), "streamed /b");
  EXPECT_EQ(c.header_of(5, "x-path"), "/b");
  EXPECT_EQ(c.of(frame_type::headers, 5).size(), 1u);  // no trailers carried over from /a
  EXPECT_EQ(c.of(frame_type::headers, 3).size(), 2u);
}

TEST(Http2StreamPool, StreamsHeldPastThePoolDeleteThemselves) {
  auto pool = std::make_unique<stream_pool>();
  client c;
  c.s->use_pool(pool.get());
  c.ev.handler = nullptr;  // keep the response
  c.handshake();
  c.send(c.headers(1, client::get("/"), true));
  ASSERT_EQ(c.ev.kept.size(), 1u);
  c.s.reset();        // the connection goes
  pool.reset();       // the worker goes
  c.ev.kept.clear();  // the handler lets go last: the stream deletes itself (ASan checks)
}

}  // namespace
}  // namespace portico::http2::test
