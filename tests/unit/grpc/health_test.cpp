// grpc.health.v1.Health (src/grpc/health.cpp) on scripted exchanges: Check, Watch updates
// without repeats, back-pressure (only the latest status is kept), cancellation, the drain
// (shutdown), and set_status from another thread reaching a watcher through the broadcast.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "grpc/message.hpp"
#include "grpc/protowire.hpp"
#include "http/exchange.hpp"
#include "portico/grpc_health.hpp"

namespace portico::grpc {
namespace {

struct fake_owner final : portico::detail::exchange_owner {
  bool hold = false;  // the client reads nothing: writes push back
  void exchange_updated(portico::detail::exchange& x) override { x.drain_wanted = hold; }
  std::size_t exchange_buffered(const portico::detail::exchange&) const noexcept override {
    return hold ? 1 : 0;
  }
  void post(std::function<void()> fn) override { fn(); }
  void set_timeout(unsigned, std::function<void()>) override {}
  void exchange_reset(portico::detail::exchange& x, bool) override { x.abort(); }
};

// One call on `path` with a HealthCheckRequest for `service`.
struct exchange_call {
  fake_owner owner;
  portico::detail::exchange* x = new portico::detail::exchange;
  std::vector<header_view> headers = {{"content-type", "application/grpc"}, {"te", "trailers"}};
  std::string body;

  exchange_call(const services& svc, std::string path, std::string_view service,
                std::optional<std::string> raw = std::nullopt) {
    append_message(body, raw ? *raw : wire::encode_health_request(service), false);
    x->attach(&owner);
    x->add_ref();
    x->method = "POST";
    x->path = x->target = std::move(path);
    x->version = 20;
    x->headers = headers;
    x->body = body;
    auto res = x->make_response();
    svc.make_handler(svc.method(x->path))(x->req(), res);
  }
  ~exchange_call() {
    x->detach();
    x->release();
  }
  // The statuses written so far.
  std::vector<int> statuses() const {
    std::vector<int> out;
    portico::grpc::deframer d;
    std::string_view data = x->body_memory;
    while (!data.empty()) {
      const auto r = d.consume(data);
      data.remove_prefix(r.used);
      if (r.has_message)
        out.push_back(wire::decode_health_response(r.message.payload).value_or(-1));
      if (r.ec || r.used == 0) break;
    }
    return out;
  }
  std::string grpc_status() const {
    for (const auto* list : {&x->trailers, &x->fields})
      for (const auto& f : *list)
        if (f.name == "grpc-status") return std::string(f.value);
    return "<none>";
  }
  std::string grpc_message() const {
    for (const auto* list : {&x->trailers, &x->fields})
      for (const auto& f : *list)
        if (f.name == "grpc-message") return std::string(f.value);
    return "<none>";
  }
};

const std::string check = "/grpc.health.v1.Health/Check";
const std::string watch = "/grpc.health.v1.Health/Watch";

// A broadcast that runs each task on the calling thread (the test's one "worker").
health::broadcast_fn inline_broadcast = [](std::function<void()> fn) { fn(); };

TEST(GrpcHealth, Check) {
  services svc;
  health h;
  h.add_to(svc, inline_broadcast);
  h.set_status("pkg.A", serving_status::not_serving);
  {
    exchange_call c(svc, check, "");
    EXPECT_EQ(c.statuses(), std::vector<int>{1});
    EXPECT_EQ(c.grpc_status(), "0");
  }
  {
    exchange_call c(svc, check, "pkg.A");
    EXPECT_EQ(c.statuses(), std::vector<int>{2});
  }
  {
    exchange_call c(svc, check, "pkg.B");  // doc/health-checking.md: NOT_FOUND
    EXPECT_EQ(c.statuses(), std::vector<int>{});
    EXPECT_EQ(c.grpc_status(), "5");
    EXPECT_EQ(c.grpc_message(), "unknown service");
  }
  h.set_status("pkg.A", serving_status::service_unknown);  // forgotten
  {
    exchange_call c(svc, check, "pkg.A");
    EXPECT_EQ(c.grpc_status(), "5");
  }
  EXPECT_THROW(h.set_status("x", serving_status::unknown), std::invalid_argument);
  EXPECT_THROW(h.set_status("x", static_cast<serving_status>(9)), std::invalid_argument);
}

TEST(GrpcHealth, MalformedRequest) {
  services svc;
  health h;
  h.add_to(svc, inline_broadcast);
  // Field 1 announces 5 bytes, 2 follow: INTERNAL, as for any request that does not parse.
  exchange_call c(svc, check, "",
                  std::string("\x0a\x05"
                              "ab"));
  EXPECT_EQ(c.grpc_status(), "13");
  EXPECT_EQ(c.grpc_message(), "failed to parse request message");
}

TEST(GrpcHealth, WatchSendsChangesOnly) {
  services svc;
  health h;
  h.add_to(svc, inline_broadcast);
  exchange_call a(svc, watch, "pkg.A");
  EXPECT_EQ(a.statuses(), std::vector<int>{3});  // SERVICE_UNKNOWN, the call stays open
  EXPECT_EQ(a.grpc_status(), "<none>");
  exchange_call all(svc, watch, "");
  h.set_status("pkg.A", serving_status::serving);
  h.set_status("pkg.A", serving_status::serving);  // no change: nothing sent
  h.set_status("pkg.A", serving_status::not_serving);
  h.set_status("pkg.A", serving_status::service_unknown);
  EXPECT_EQ(a.statuses(), (std::vector<int>{3, 1, 2, 3}));
  EXPECT_EQ(all.statuses(), std::vector<int>{1});
  EXPECT_EQ(h.status("pkg.A"), serving_status::service_unknown);
}

TEST(GrpcHealth, WatchUnderBackPressureKeepsTheLatestOnly) {
  services svc;
  health h;
  h.add_to(svc, inline_broadcast);
  h.set_status("pkg.A", serving_status::serving);
  exchange_call a(svc, watch, "pkg.A");
  a.owner.hold = true;
  h.set_status("pkg.A", serving_status::not_serving);  // written, then write() pushes back
  h.set_status("pkg.A", serving_status::serving);
  h.set_status("pkg.A", serving_status::not_serving);
  h.set_status("pkg.A", serving_status::serving);
  EXPECT_EQ(a.statuses(), (std::vector<int>{1, 2}));
  a.owner.hold = false;
  a.x->drain_wanted = false;
  ASSERT_TRUE(a.x->on_drain);
  auto ready = std::move(a.x->on_drain);
  ready();
  EXPECT_EQ(a.statuses(), (std::vector<int>{1, 2, 1}));
}

TEST(GrpcHealth, CancelledWatchIsForgotten) {
  services svc;
  health h;
  h.add_to(svc, inline_broadcast);
  exchange_call a(svc, watch, "");
  a.x->abort();  // RST_STREAM
  h.set_status("", serving_status::not_serving);
  EXPECT_EQ(a.statuses(), std::vector<int>{1});
}

TEST(GrpcHealth, ShutdownEndsWatchesAndFreezesStatuses) {
  services svc;
  health h;
  h.add_to(svc, inline_broadcast);
  h.set_status("pkg.A", serving_status::serving);
  exchange_call a(svc, watch, "pkg.A");
  exchange_call unknown(svc, watch, "pkg.Nope");
  h.shutdown();
  EXPECT_TRUE(h.is_shut_down());
  EXPECT_EQ(a.statuses(), (std::vector<int>{1, 2}));
  EXPECT_EQ(a.grpc_status(), "14");
  EXPECT_EQ(a.grpc_message(), "server is shutting down");
  EXPECT_EQ(unknown.statuses(), std::vector<int>{3});
  EXPECT_EQ(unknown.grpc_status(), "14");
  h.set_status("pkg.A", serving_status::serving);  // ignored from now on
  EXPECT_EQ(h.status("pkg.A"), serving_status::not_serving);
  EXPECT_EQ(h.status(""), serving_status::not_serving);
  exchange_call late(svc, watch, "");
  EXPECT_EQ(late.statuses(), std::vector<int>{2});
  EXPECT_EQ(late.grpc_status(), "14");
  exchange_call c(svc, check, "pkg.A");
  EXPECT_EQ(c.statuses(), std::vector<int>{2});
  h.shutdown();  // idempotent
}

TEST(GrpcHealth, SetStatusFromAnotherThread) {
  // The "worker" is this thread: the broadcast queues tasks that it runs, as a worker's event
  // loop would; set_status runs on another thread.
  std::mutex mu;
  std::deque<std::function<void()>> tasks;
  services svc;
  health h;
  h.add_to(svc, [&](std::function<void()> fn) {
    std::lock_guard<std::mutex> g(mu);
    tasks.push_back(std::move(fn));
  });
  exchange_call a(svc, watch, "pkg.A");
  std::thread t([h]() mutable {
    for (int i = 0; i < 100; ++i)
      h.set_status("pkg.A", i % 2 ? serving_status::not_serving : serving_status::serving);
  });
  for (int i = 0; i < 100000; ++i) {
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> g(mu);
      if (!tasks.empty()) {
        fn = std::move(tasks.front());
        tasks.pop_front();
      }
    }
    if (fn) fn();
    if (i % 100 == 0) std::this_thread::yield();
  }
  t.join();
  for (;;) {  // what is left after the writer finished
    std::function<void()> fn;
    {
      std::lock_guard<std::mutex> g(mu);
      if (tasks.empty()) break;
      fn = std::move(tasks.front());
      tasks.pop_front();
    }
    fn();
  }
  const auto seen = a.statuses();
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen.front(), 3);
  EXPECT_EQ(seen.back(), 2);  // the last status set: NOT_SERVING (i = 99)
  for (std::size_t i = 1; i < seen.size(); ++i)
    EXPECT_NE(seen[i], seen[i - 1]) << "a status repeated at " << i;
}

}  // namespace
}  // namespace portico::grpc
