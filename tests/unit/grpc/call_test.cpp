// The server call layer (src/grpc/call.cpp) on a scripted exchange: what a handler's calls put
// into the response (headers, framed messages, trailers or Trailers-Only), deadlines,
// cancellation, metadata, compression and request errors.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "grpc/compression.hpp"
#include "grpc/message.hpp"
#include "grpc/text.hpp"
#include "http/exchange.hpp"
#include "portico/grpc.hpp"

namespace portico::grpc {
namespace {

// Records what the call layer does to its exchange; timers run when the test says so.
struct fake_owner final : portico::detail::exchange_owner {
  std::vector<std::pair<unsigned, std::function<void()>>> timers;
  int resets = 0;
  std::size_t buffered = 0;
  void exchange_updated(portico::detail::exchange&) override {}
  std::size_t exchange_buffered(const portico::detail::exchange&) const noexcept override {
    return buffered;
  }
  void post(std::function<void()> fn) override { fn(); }
  void set_timeout(unsigned ms, std::function<void()> fn) override {
    timers.emplace_back(ms, std::move(fn));
  }
  void exchange_reset(portico::detail::exchange& x, bool) override {
    ++resets;
    x.abort();
  }
};

struct harness {
  fake_owner owner;
  portico::detail::exchange* x = new portico::detail::exchange;
  std::vector<header_view> headers;
  std::string body;

  explicit harness(std::vector<header_view> extra = {}, std::string b = {}) : body(std::move(b)) {
    headers = {{"content-type", "application/grpc"}, {"te", "trailers"}};
    headers.insert(headers.end(), extra.begin(), extra.end());
    x->attach(&owner);
    x->add_ref();  // the test's own reference
    x->method = "POST";
    x->path = x->target = "/pkg.Svc/M";
    x->version = 20;
    x->headers = headers;
    x->body = body;
  }
  ~harness() {
    x->detach();
    x->release();
  }
  void run(const services& svc, method_handler h) {
    auto res = x->make_response();
    svc.make_handler(std::move(h))(x->req(), res);
  }
  std::string field(std::string_view name) const {
    for (const auto& f : x->fields)
      if (f.name == name) return std::string(f.value);
    return "<none>";
  }
  std::string trailer(std::string_view name) const {
    for (const auto& f : x->trailers)
      if (f.name == name) return std::string(f.value);
    return "<none>";
  }
};

std::string framed(std::initializer_list<std::string_view> ms, bool compressed = false) {
  std::string out;
  for (auto m : ms)
    append_message(out, m, compressed);
  return out;
}

method_handler echo = [](call c) {
  c.read([c](std::optional<received_message> m) mutable {
    if (!m) return c.finish({status_code::invalid_argument, "no message"});
    c.write(m->data);
    c.finish({});
  });
};

TEST(GrpcCall, UnaryEcho) {
  services svc;
  harness h({}, framed({"ping"}));
  h.run(svc, echo);
  EXPECT_EQ(h.x->status, 200);
  EXPECT_EQ(h.field("content-type"), "application/grpc");
  EXPECT_EQ(h.field("grpc-accept-encoding"), "identity,gzip");
  EXPECT_EQ(h.field("grpc-status"), "<none>");
  EXPECT_EQ(h.x->body_memory, framed({"ping"}));
  EXPECT_EQ(h.trailer("grpc-status"), "0");
  EXPECT_EQ(h.trailer("grpc-message"), "<none>");
  EXPECT_TRUE(h.x->ended);
}

TEST(GrpcCall, TrailersOnlyWhenNothingWasWritten) {
  services svc;
  harness h({}, framed({}));
  h.run(svc, echo);  // no message: INVALID_ARGUMENT before any write
  EXPECT_EQ(h.field("grpc-status"), "3");
  EXPECT_EQ(h.field("grpc-message"), "no message");
  EXPECT_TRUE(h.x->trailers.empty());
  EXPECT_TRUE(h.x->body_memory.empty());
  EXPECT_TRUE(h.x->ended);

  harness u({}, framed({""}));
  u.run(svc, nullptr);  // an unknown method
  EXPECT_EQ(u.field("grpc-status"), "12");
  EXPECT_TRUE(u.x->trailers.empty());
}

TEST(GrpcCall, StatusMessageIsPercentEncoded) {
  services svc;
  harness h({}, framed({"x"}));
  h.run(svc, [](call c) {
    c.write("partial");
    c.finish({status_code::unknown, "50% d\xc3\xa9j\xc3\xa0\n"});
  });
  EXPECT_EQ(h.trailer("grpc-status"), "2");
  EXPECT_EQ(h.trailer("grpc-message"), "50%25 d%C3%A9j%C3%A0%0A");
}

TEST(GrpcCall, RequestChecks) {
  services svc;
  {
    harness h({}, framed({"x"}));
    h.headers[1] = {"x-not-te", "1"};
    h.x->headers = h.headers;
    h.run(svc, echo);
    EXPECT_EQ(h.field("grpc-status"), "2");
    EXPECT_EQ(h.field("grpc-message"), "missing te: trailers");
  }
  {
    harness h({}, framed({"x"}));
    h.headers[0] = {"content-type", "application/json"};
    h.x->headers = h.headers;
    h.run(svc, echo);
    EXPECT_EQ(h.x->status, 415);
  }
  {
    harness h({{"grpc-encoding", "br"}}, framed({"x"}));
    h.run(svc, echo);
    EXPECT_EQ(h.field("grpc-status"), "12");
  }
  {
    harness h({{"grpc-timeout", "soon"}}, framed({"x"}));
    h.run(svc, echo);
    EXPECT_EQ(h.field("grpc-status"), "13");
  }
  {
    bool called = false;
    harness h({}, framed({"x"}, true));  // compressed flag, no grpc-encoding
    h.run(svc, [&](call c) { c.read([&](std::optional<received_message>) { called = true; }); });
    EXPECT_FALSE(called);
    EXPECT_EQ(h.field("grpc-status"), "13");
  }
  {
    harness h({}, framed({"x"}).substr(0, 4));  // cut short
    h.run(svc, echo);
    EXPECT_EQ(h.field("grpc-status"), "13");
  }
  {
    services small({.max_receive_message_size = 3});
    harness h({}, framed({"four"}));
    h.run(small, echo);
    EXPECT_EQ(h.field("grpc-status"), "8");
  }
  {
    services small({.max_send_message_size = 3});
    harness h({}, framed({"four"}));
    h.run(small, echo);
    EXPECT_EQ(h.field("grpc-status"), "8");
  }
}

TEST(GrpcCall, ManyMessagesAreReadWithoutRecursion) {
  std::string body;
  for (int i = 0; i < 200000; ++i)
    append_message(body, "");
  services svc({.max_receive_message_size = 16});
  harness h({}, body);
  int n = 0;
  h.run(svc, [&](call c) {
    std::function<void(std::optional<received_message>)> next;
    next = [&, c](std::optional<received_message> m) mutable {
      if (!m) return c.finish({status_code::ok, std::to_string(n)});
      ++n;
      c.read(next);
    };
    c.read(next);
  });
  EXPECT_EQ(n, 200000);
  EXPECT_EQ(h.field("grpc-message"), "200000");
}

TEST(GrpcCall, DeadlineEndsTheCall) {
  services svc;
  harness h({{"grpc-timeout", "250m"}}, framed({"x"}));
  std::optional<call> kept;
  bool cancelled = false;
  h.run(svc, [&](call c) {
    EXPECT_TRUE(c.deadline().has_value());
    c.on_cancel([&] { cancelled = true; });
    kept = c;  // a handler that never answers
  });
  ASSERT_EQ(h.owner.timers.size(), 1u);
  EXPECT_EQ(h.owner.timers[0].first, 250u);
  h.owner.timers[0].second();
  EXPECT_EQ(h.field("grpc-status"), "4");
  EXPECT_TRUE(cancelled);
  EXPECT_TRUE(kept->finished());
  EXPECT_EQ(h.owner.resets, 0);  // nothing held back: the status goes out in full
  kept->finish({});              // too late: nothing changes
  EXPECT_EQ(h.field("grpc-status"), "4");
}

TEST(GrpcCall, DeadlineWithHeldBackBytesResets) {
  services svc;
  harness h({{"grpc-timeout", "1S"}}, framed({"x"}));
  std::optional<call> kept;
  h.run(svc, [&](call c) {
    c.write("a message the client does not read");
    kept = c;
  });
  h.owner.buffered = 1000;
  h.owner.timers.at(0).second();
  EXPECT_EQ(h.owner.resets, 1);
  EXPECT_TRUE(kept->cancelled());
}

TEST(GrpcCall, TimerOfAFinishedCallDoesNothing) {
  services svc;
  harness h({{"grpc-timeout", "1S"}}, framed({"x"}));
  h.run(svc, echo);
  h.owner.timers.at(0).second();
  EXPECT_EQ(h.trailer("grpc-status"), "0");
}

TEST(GrpcCall, ClientCancel) {
  services svc;
  harness h({}, framed({"x"}));
  std::optional<call> kept;
  int cancels = 0;
  h.run(svc, [&](call c) {
    c.on_cancel([&] { ++cancels; });
    kept = c;
  });
  h.x->abort();  // RST_STREAM from the client, or the connection lost
  EXPECT_EQ(cancels, 1);
  EXPECT_TRUE(kept->cancelled());
  EXPECT_FALSE(kept->write("x"));
}

TEST(GrpcCall, Metadata) {
  services svc;
  harness h({{"x-plain", "v"},
             {"x-data-bin", "AAEC"},
             {"x-multi-bin", "AA==, AQ"},
             {"grpc-timeout", "1S"},
             {"user-agent", "test"}},
            framed({"x"}));
  h.run(svc, [](call c) {
    ASSERT_NE(c.client_metadata("x-plain"), nullptr);
    EXPECT_EQ(*c.client_metadata("x-plain"), "v");
    EXPECT_EQ(*c.client_metadata("x-data-bin"), std::string("\0\1\2", 3));
    int multi = 0;
    for (const auto& m : c.client_metadata())
      if (m.key == "x-multi-bin") ++multi;
    EXPECT_EQ(multi, 2);
    EXPECT_EQ(c.client_metadata("grpc-timeout"), nullptr);
    EXPECT_EQ(c.client_metadata("content-type"), nullptr);
    EXPECT_THROW(c.add_initial_metadata("Upper", "x"), std::invalid_argument);
    EXPECT_THROW(c.add_initial_metadata("grpc-status", "0"), std::invalid_argument);
    EXPECT_THROW(c.add_trailing_metadata("x-text", "line\n"), std::invalid_argument);
    c.add_initial_metadata("x-init", "hello");
    c.add_trailing_metadata("x-trail-bin", std::string("\xff\0", 2));
    c.write("m");
    c.finish({});
  });
  EXPECT_EQ(h.field("x-init"), "hello");
  EXPECT_EQ(h.trailer("x-trail-bin"), base64_encode(std::string("\xff\0", 2)));
}

TEST(GrpcCall, Gzip) {
  services svc;
  harness h({{"grpc-encoding", "gzip"}, {"grpc-accept-encoding", "gzip"}},
            framed({gzip_compress("hello")}, true));
  h.run(svc, [](call c) {
    c.read([c](std::optional<received_message> m) mutable {
      ASSERT_TRUE(m);
      EXPECT_TRUE(m->compressed);
      EXPECT_EQ(m->data, "hello");
      c.set_compression("gzip");
      c.write(std::string(1000, 'z'));
      c.write("plain", false);
      c.finish({});
    });
  });
  EXPECT_EQ(h.field("grpc-encoding"), "gzip");
  deframer d;
  std::string_view body = h.x->body_memory;
  auto r = d.consume(body);
  ASSERT_TRUE(r.has_message);
  EXPECT_TRUE(r.message.compressed);
  EXPECT_EQ(gzip_decompress(r.message.payload, 1 << 20).data, std::string(1000, 'z'));
  body.remove_prefix(r.used);
  r = d.consume(body);
  ASSERT_TRUE(r.has_message);
  EXPECT_FALSE(r.message.compressed);
  EXPECT_EQ(r.message.payload, "plain");

  // A client that does not accept gzip gets uncompressed messages.
  harness p({}, framed({"x"}));
  p.run(svc, [](call c) {
    c.set_compression("gzip");
    c.write("m");
    c.finish({});
  });
  EXPECT_EQ(p.field("grpc-encoding"), "<none>");
  EXPECT_EQ(p.x->body_memory, framed({"m"}));
}

TEST(GrpcCall, HandlerThatThrows) {
  services svc;
  harness h({}, framed({"x"}));
  h.run(svc, [](call) { throw std::runtime_error("boom"); });
  EXPECT_EQ(h.field("grpc-status"), "2");
  EXPECT_EQ(h.field("grpc-message"), "handler failed: boom");
}

TEST(GrpcServices, MethodPaths) {
  services svc;
  EXPECT_NO_THROW(svc.add("/pkg.Svc/Method", echo));
  for (std::string_view bad :
       {"", "/", "pkg.Svc/M", "/pkg.Svc/", "//M", "/a/b/c", "/a b/M", "/pkg.Svc/:m", "/pkg.Svc/*"})
    EXPECT_THROW(svc.add(bad, echo), std::invalid_argument) << bad;
}

}  // namespace
}  // namespace portico::grpc
