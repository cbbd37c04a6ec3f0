// The HTTP/1.1 session without any socket: bytes in, responses out.
#include "http1/session.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

namespace portico::http1 {
namespace {

// Drives a session like the server does, with a handler and an in-memory "socket".
class harness final : public session_events {
 public:
  using handler_fn = std::function<void(detail::exchange&, portico::response&)>;

  explicit harness(session_config cfg = {}) : cfg_(std::move(cfg)) {
    s_ = std::make_unique<session>(cfg_, *this, buffers_, pool_, date_, "127.0.0.1");
    s_->set_time(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  }
  ~harness() {
    kept.clear();
    s_.reset();
  }

  handler_fn handler = [](detail::exchange&, portico::response& res) { res.send("ok"); };
  std::vector<std::string> completed;   // "METHOD target status"
  std::vector<portico::response> kept;  // responses a test answers later
  std::vector<std::function<void()>> timers;

  // Feeds bytes in pieces of at most `piece` bytes, as reads would deliver them.
  void feed(std::string_view bytes, std::size_t piece = 1 << 20) {
    while (!bytes.empty()) {
      auto space = s_->input_space();
      ASSERT_FALSE(space.empty()) << "session refused input";
      std::size_t n = std::min({space.size(), piece, bytes.size()});
      std::memcpy(space.data(), bytes.data(), n);
      bytes.remove_prefix(n);
      s_->input_committed(n);
    }
  }

  // Writes everything the session has to send (as a socket would accept it), `max` bytes per
  // write call.
  std::string drain(std::size_t max = 1 << 30) {
    std::string out;
    for (int guard = 0; guard < 1000000; ++guard) {
      iovec iov[16];
      file_piece fp;
      std::size_t n = s_->gather(iov, &fp);
      if (n == 0) break;
      std::size_t total = 0;
      for (std::size_t i = 0; i < n && total < max; ++i) {
        std::size_t take = std::min(iov[i].iov_len, max - total);
        out.append(static_cast<const char*>(iov[i].iov_base), take);
        total += take;
      }
      s_->output_written(total);
    }
    return out;
  }

  session& s() { return *s_; }

  void on_request(detail::exchange& x) override {
    portico::response res = x.make_response();
    handler(x, res);
  }
  void on_output_ready() override { ++output_signals; }
  void on_response_done(const detail::exchange& x, std::uint64_t) override {
    completed.push_back(std::string(x.method) + " " + std::string(x.target) + " " +
                        std::to_string(x.status));
  }
  void post(std::function<void()> fn) override { timers.push_back(std::move(fn)); }
  void set_timeout(unsigned, std::function<void()> fn) override { timers.push_back(std::move(fn)); }

  int output_signals = 0;

 private:
  session_config cfg_;
  buffer_pool buffers_;
  exchange_pool pool_;
  http::date_cache date_;
  std::unique_ptr<session> s_;
};

constexpr std::string_view date_line = "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\n";

TEST(Http1Session, SimpleGetIsAnsweredWithLengthAndKeptAlive) {
  harness h;
  h.feed("GET /a HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = h.drain();
  EXPECT_EQ(out, std::string("HTTP/1.1 200 OK\r\nServer: portico\r\n") + std::string(date_line) +
                     "Content-Length: 2\r\n\r\nok");
  EXPECT_FALSE(h.s().done());
  EXPECT_EQ(h.s().current_phase(), session::phase::idle);
  ASSERT_EQ(h.completed.size(), 1u);
  EXPECT_EQ(h.completed[0], "GET /a 200");
}

TEST(Http1Session, ConnectionCloseIsHonoured) {
  harness h;
  h.feed("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  std::string out = h.drain();
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(h.s().done());
}

TEST(Http1Session, Http10ClosesUnlessKeepAliveWhichIsEchoed) {
  harness a;
  a.feed("GET / HTTP/1.0\r\n\r\n");
  EXPECT_NE(a.drain().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(a.s().done());

  harness b;
  b.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_NE(b.drain().find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_FALSE(b.s().done());
}

TEST(Http1Session, LastRequestBeforeLimitSaysClose) {
  session_config cfg;
  cfg.max_requests = 2;
  harness h(cfg);
  h.feed("GET /1 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.drain().find("Connection: close"), std::string::npos);
  h.feed("GET /2 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_NE(h.drain().find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(h.s().done());
}

TEST(Http1Session, PipelinedRequestsAreAnsweredInOrderEvenWhenCompletedOutOfOrder) {
  harness h;
  h.handler = [&](detail::exchange& x, portico::response& res) {
    if (x.path == "/late") {
      h.kept.push_back(res);  // answered after the later requests
    } else {
      res.send(std::string(x.path));
    }
  };
  h.feed(
      "GET /late HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /c HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.drain(), "");  // /b and /c wait behind /late
  ASSERT_EQ(h.kept.size(), 1u);
  h.kept[0].send("late");
  std::string out = h.drain();
  auto p1 = out.find("\r\n\r\nlate");
  auto p2 = out.find("\r\n\r\n/b");
  auto p3 = out.find("\r\n\r\n/c");
  ASSERT_NE(p1, std::string::npos);
  ASSERT_NE(p2, std::string::npos);
  ASSERT_NE(p3, std::string::npos);
  EXPECT_LT(p1, p2);
  EXPECT_LT(p2, p3);
  EXPECT_EQ(h.completed.size(), 3u);
}

TEST(Http1Session, PipelinedResponsesAreGatheredIntoOneWrite) {
  harness h;
  std::string reqs;
  for (int i = 0; i < 16; ++i)
    reqs += "GET /x HTTP/1.1\r\nHost: x\r\n\r\n";
  h.feed(reqs);
  iovec iov[64];
  file_piece fp;
  std::size_t n = h.s().gather(iov, &fp);
  EXPECT_EQ(n, 16u);  // one iovec per response (head and small body together)
}

TEST(Http1Session, PipelineDepthIsBounded) {
  session_config cfg;
  cfg.max_pipelined = 2;
  harness h(cfg);
  h.handler = [&](detail::exchange&, portico::response& res) { h.kept.push_back(res); };
  h.feed(
      "GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(h.kept.size(), 2u);  // the third waits in the buffer
  EXPECT_FALSE(h.s().wants_input());
  h.kept[0].send("1");
  h.drain();
  EXPECT_EQ(h.kept.size(), 3u);  // room again: the third was dispatched
}

TEST(Http1Session, EveryByteSplitGivesTheSameResponses) {
  const std::string reqs =
      "POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
      "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
      "GET /g HTTP/1.1\r\nHost: x\r\n\r\n";
  auto run = [&](std::size_t piece) {
    harness h;
    h.handler = [](detail::exchange& x, portico::response& res) {
      res.send(std::string(x.path) + ":" + std::string(x.body));
    };
    h.feed(reqs, piece);
    return h.drain();
  };
  std::string whole = run(1 << 20);
  EXPECT_NE(whole.find("/p:hello"), std::string::npos);
  EXPECT_NE(whole.find("/c:abc"), std::string::npos);
  EXPECT_NE(whole.find("/g:"), std::string::npos);
  for (std::size_t piece = 1; piece < reqs.size(); ++piece) {
    ASSERT_EQ(run(piece), whole) << "piece size " << piece;
  }
}

TEST(Http1Session, RequestTrailersReachTheHandlerAtEverySplit) {
  // RFC 9112 §7.1.2: the trailer section of a chunked body; kept apart from the header fields
  // (RFC 9110 §6.5.1) and still valid while later requests move the input buffer.
  const std::string reqs =
      "POST /t HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n0\r\nX-Sum: 900150983cd2\r\nX-Count: 1\r\n\r\n"
      "POST /n HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
  auto run = [&](std::size_t piece) {
    harness h;
    h.handler = [&h](detail::exchange& x, portico::response& res) {
      if (x.path == "/t") {
        h.kept.push_back(res);  // answered after the next request was read
        return;
      }
      std::string t;
      for (const auto& f : x.req().trailers())
        t += std::string(f.name) + "=" + std::string(f.value) + ";";
      res.send(std::string(x.path) + ":" + t);
    };
    h.feed(reqs, piece);
    EXPECT_EQ(h.kept.size(), 1u);
    if (h.kept.empty()) return std::string();
    const portico::request req = h.kept[0].req();
    EXPECT_EQ(req.header("x-sum"), "");
    h.kept[0].send(std::string(req.trailer("x-sum")) + "," + std::string(req.trailer("X-COUNT")) +
                   "," + std::to_string(req.trailers().size()));
    return h.drain();
  };
  const std::string whole = run(1 << 20);
  EXPECT_NE(whole.find("900150983cd2,1,2"), std::string::npos) << whole;
  EXPECT_NE(whole.find("/n:"), std::string::npos);
  EXPECT_LT(whole.find("900150983cd2,1,2"), whole.find("/n:"));
  for (std::size_t piece = 1; piece < reqs.size(); piece += 7)
    ASSERT_EQ(run(piece), whole) << "piece size " << piece;
}

TEST(Http1Session, HeadViewsSurviveBufferGrowthWhileAResponseIsPending) {
  harness h;
  std::string first_host;
  h.handler = [&](detail::exchange& x, portico::response& res) {
    if (x.path == "/wait") {
      h.kept.push_back(res);
    } else {
      res.send("x");
    }
  };
  h.feed("GET /wait HTTP/1.1\r\nHost: first-host\r\nX-A: 1\r\n\r\n");
  ASSERT_EQ(h.kept.size(), 1u);
  // A large second head forces the input buffer to move.
  std::string big =
      "GET /big HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(40000, 'b') + "\r\n\r\n";
  h.feed(big, 1000);
  EXPECT_EQ(h.kept[0].req().header("host"), "first-host");
  EXPECT_EQ(h.kept[0].req().path(), "/wait");
  h.kept[0].send("done");
  std::string out = h.drain();
  EXPECT_NE(out.find("done"), std::string::npos);
  EXPECT_EQ(h.completed.size(), 2u);
}

TEST(Http1Session, HeadResponseHasLengthButNoBody) {
  harness h;
  h.handler = [](detail::exchange&, portico::response& res) { res.send("twelve bytes"); };
  h.feed("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = h.drain();
  EXPECT_NE(out.find("Content-Length: 12\r\n"), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
}

TEST(Http1Session, NoContentAndNotModifiedCarryNoBody) {
  for (int status : {204, 304}) {
    harness h;
    h.handler = [status](detail::exchange&, portico::response& res) {
      res.status(status).send("ignored");
    };
    h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    std::string out = h.drain();
    EXPECT_EQ(out.find("Content-Length"), std::string::npos) << status;
    EXPECT_EQ(out.find("ignored"), std::string::npos) << status;
    EXPECT_EQ(out.substr(out.size() - 4), "\r\n\r\n");
  }
}

TEST(Http1Session, StreamingIsChunkedOnHttp11AndCloseDelimitedOnHttp10) {
  harness h;
  h.handler = [&](detail::exchange&, portico::response& res) {
    res.write("abc");
    res.write("defgh");
    res.end();
  };
  h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = h.drain();
  EXPECT_NE(out.find("Transfer-Encoding: chunked\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\n3\r\nabc\r\n5\r\ndefgh\r\n0\r\n\r\n"), std::string::npos);

  harness h10;
  h10.handler = h.handler;
  h10.feed("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  out = h10.drain();
  EXPECT_EQ(out.find("chunked"), std::string::npos);
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_NE(out.find("\r\n\r\nabcdefgh"), std::string::npos);
  EXPECT_TRUE(h10.s().done());
}

TEST(Http1Session, BackPressureReportsAndDrains) {
  session_config cfg;
  cfg.high_water = 1000;
  harness h(cfg);
  int drains = 0;
  bool accepted = true;
  h.handler = [&](detail::exchange&, portico::response& res) {
    h.kept.push_back(res);
    accepted = res.write(std::string(1500, 'z'));
    res.on_drain([&] { ++drains; });
  };
  h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_FALSE(accepted);
  EXPECT_GT(h.kept[0].buffered_amount(), 1000u);
  h.drain();
  EXPECT_EQ(drains, 1);
  EXPECT_EQ(h.kept[0].buffered_amount(), 0u);
}

TEST(Http1Session, HandlerIgnoringBackPressureIsCutAtTheHardLimit) {
  session_config cfg;
  cfg.high_water = 100;
  cfg.max_buffer = 1000;
  harness h(cfg);
  h.handler = [&](detail::exchange&, portico::response& res) {
    h.kept.push_back(res);
    for (int i = 0; i < 20; ++i)
      res.write(std::string(100, 'z'));
  };
  h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(h.kept[0].aborted());
  EXPECT_TRUE(h.s().closed_on_error());
}

TEST(Http1Session, ParseErrorsAnswerWithStatusAndClose) {
  struct row {
    std::string request;
    std::string status_line;
  };
  std::vector<row> rows = {
      {"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 400 "},
      {"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
       "HTTP/1.1 400 "},
      {"GET / HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 "},
      {"GET /" + std::string(9000, 'a') + " HTTP/1.1\r\n", "HTTP/1.1 414 "},
      {"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", "HTTP/1.1 501 "},
      {"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413 "},
      {"GET / HTTP/1.1\r\nHost: x\r\nExpect: bananas\r\n\r\n", "HTTP/1.1 417 "},
  };
  for (const auto& r : rows) {
    harness h;
    int calls = 0;
    h.handler = [&](detail::exchange&, portico::response& res) {
      ++calls;
      res.send("no");
    };
    h.feed(r.request);
    std::string out = h.drain();
    EXPECT_EQ(out.rfind(r.status_line, 0), 0u) << r.request.substr(0, 60) << " → " << out;
    EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
    EXPECT_TRUE(h.s().done());
    EXPECT_TRUE(h.s().closed_on_error());
    EXPECT_EQ(calls, 0);
  }
}

TEST(Http1Session, ErrorAfterGoodPipelinedRequestKeepsOrder) {
  harness h;
  h.feed(
      "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/9.9\r\nHost: x\r\n\r\n"
      "GET /never HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string out = h.drain();
  auto ok = out.find("HTTP/1.1 200 OK");
  auto bad = out.find("HTTP/1.1 505 ");
  ASSERT_NE(ok, std::string::npos);
  ASSERT_NE(bad, std::string::npos);
  EXPECT_LT(ok, bad);
  EXPECT_EQ(h.completed.size(), 2u);  // /never is not answered
}

TEST(Http1Session, ContinueIsSentOnlyWhenTheBodyIsMissing) {
  harness h;
  h.handler = [](detail::exchange& x, portico::response& res) { res.send(std::string(x.body)); };
  h.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(h.drain(), "HTTP/1.1 100 Continue\r\n\r\n");
  h.feed("body");
  std::string out = h.drain();
  EXPECT_EQ(out.rfind("HTTP/1.1 200 OK", 0), 0u);
  EXPECT_EQ(out.substr(out.size() - 4), "body");

  harness eager;
  eager.handler = h.handler;
  eager.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody");
  EXPECT_EQ(eager.drain().find("100 Continue"), std::string::npos);
}

TEST(Http1Session, HeaderTimeoutAnswers408OnlyForPartialHeads) {
  harness h;
  h.feed("GET / HTTP/1.1\r\nHo");
  EXPECT_EQ(h.s().current_phase(), session::phase::reading_head);
  h.s().timeout(session::timeout_kind::header);
  EXPECT_EQ(h.drain().rfind("HTTP/1.1 408 ", 0), 0u);
  EXPECT_TRUE(h.s().done());
}

TEST(Http1Session, PeerCloseMidBodyDropsTheRequest) {
  harness h;
  int calls = 0;
  h.handler = [&](detail::exchange&, portico::response& res) {
    ++calls;
    res.send("x");
  };
  h.feed("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc");
  h.s().input_eof();
  EXPECT_EQ(calls, 0);
  EXPECT_TRUE(h.s().done());
  EXPECT_EQ(h.drain(), "");
}

TEST(Http1Session, AsyncResponseAfterSessionIsGoneIsIgnored) {
  std::vector<portico::response> kept;
  {
    harness h;
    h.handler = [&](detail::exchange&, portico::response& res) { kept.push_back(res); };
    h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    ASSERT_EQ(kept.size(), 1u);
  }
  EXPECT_TRUE(kept[0].aborted());
  kept[0].send("too late");  // must not crash or leak
  kept.clear();
}

TEST(Http1Session, DrainClosesIdleAtOnceAndBusyAfterTheResponse) {
  harness idle;
  idle.s().begin_drain();
  EXPECT_TRUE(idle.s().done());

  harness busy;
  busy.handler = [&](detail::exchange&, portico::response& res) { busy.kept.push_back(res); };
  busy.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  busy.s().begin_drain();
  EXPECT_FALSE(busy.s().done());
  busy.kept[0].send("bye");
  std::string out = busy.drain();
  EXPECT_NE(out.find("Connection: close\r\n"), std::string::npos);
  EXPECT_TRUE(busy.s().done());
}

TEST(Http1Session, ResponseHeaderInjectionIsRefused) {
  harness h;
  bool threw = false;
  h.handler = [&](detail::exchange&, portico::response& res) {
    try {
      res.header("X-A", "ok\r\nSet-Cookie: evil=1");
    } catch (const std::invalid_argument&) {
      threw = true;
    }
    res.send("x");
  };
  h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_TRUE(threw);
  EXPECT_EQ(h.drain().find("evil"), std::string::npos);
}

}  // namespace
}  // namespace portico::http1

namespace portico::http1 {
namespace {

TEST(Http1Session, PartsBodyInterleavesTextAndFileSlicesWithExactLength) {
  harness h;
  h.handler = [](detail::exchange&, portico::response& res) {
    auto& x = detail::access(res);
    x.file_fd = 42;  // never read: the test plays the socket
    x.owns_file = false;
    x.parts.push_back({"--b\r\n", 0, 0});
    x.parts.push_back({"", 100, 10});
    x.parts.push_back({"\r\n--b--\r\n", 0, 0});
    x.kind = detail::body_kind::parts;
    x.started = x.ended = true;
    x.owner()->exchange_updated(x);
  };
  h.feed("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  iovec iov[8];
  file_piece fp;
  std::size_t n = h.s().gather(iov, &fp);
  ASSERT_EQ(n, 2u);  // head, then "--b\r\n"; stops before the file slice
  std::string head(static_cast<char*>(iov[0].iov_base), iov[0].iov_len);
  EXPECT_NE(head.find("Content-Length: 24\r\n"), std::string::npos);  // 5 + 10 + 9
  h.s().output_written(iov[0].iov_len + iov[1].iov_len);
  n = h.s().gather(iov, &fp);
  EXPECT_EQ(n, 0u);
  EXPECT_EQ(fp.fd, 42);
  EXPECT_EQ(fp.offset, 100u);
  EXPECT_EQ(fp.length, 10u);
  h.s().output_written(4);  // a partial sendfile
  n = h.s().gather(iov, &fp);
  EXPECT_EQ(fp.offset, 104u);
  EXPECT_EQ(fp.length, 6u);
  h.s().output_written(6);
  EXPECT_EQ(h.drain(), "\r\n--b--\r\n");
  EXPECT_EQ(h.completed.size(), 1u);
}

}  // namespace
}  // namespace portico::http1
