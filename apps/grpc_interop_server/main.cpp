// grpc.testing.TestService on Portico: the server side of the gRPC project's interop tests
// (doc/interop-test-descriptions.md), for test_grpc.py and gRPC's own interop clients.
//
//   grpc_interop_server --port=N [--use_tls=true|false] [--host=127.0.0.1]
//                       [--max_message_size=BYTES] [--threads=N] [--shutdown_timeout_ms=N]
//
// Also serves grpc.health.v1.Health ("" and grpc.testing.TestService SERVING until the drain),
// grpc.testing.XdsUpdateHealthService (SetServing / SetNotServing switch both, as gRPC's xDS
// interop server does) and, when built with portico_grpc_reflection, server reflection
// (grpc.reflection.v1 and v1alpha).
//
// With TLS it serves the interop test certificate (server1.pem, server1.key; clients trust
// ca.pem and use the server name foo.test.google.fr) with ALPN h2. Requests are dispatched
// with their whole body, so the streaming methods see every request message at once: the
// interop cases whose client sends the whole request stream before reading work; ping_pong
// and cancel_after_first_response need streaming request bodies (docs/grpc.md).
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

#include "portico/grpc.hpp"
#include "portico/grpc_health.hpp"
#include "portico/grpc_protobuf.hpp"
#ifdef PORTICO_HAVE_GRPC_REFLECTION
#include "portico/grpc_reflection.hpp"
#endif
#include "portico/portico.hpp"
#include "src/proto/grpc/testing/empty.pb.h"
#include "src/proto/grpc/testing/messages.pb.h"

namespace {

namespace rpc = portico::grpc;
namespace pb = ::grpc::testing;

// The interop spec's metadata echo: "x-grpc-test-echo-initial" comes back as initial metadata,
// "x-grpc-test-echo-trailing-bin" as trailing metadata.
void echo_metadata(rpc::call& c) {
  if (const auto* v = c.client_metadata("x-grpc-test-echo-initial"))
    c.add_initial_metadata("x-grpc-test-echo-initial", *v);
  if (const auto* v = c.client_metadata("x-grpc-test-echo-trailing-bin"))
    c.add_trailing_metadata("x-grpc-test-echo-trailing-bin", *v);
}

// The status a request asks for (response_status), or OK.
rpc::status requested_status(const pb::EchoStatus& s) {
  return {static_cast<rpc::status_code>(s.code()), s.message()};
}

std::string payload_bytes(std::int32_t size) {
  return std::string(static_cast<std::size_t>(size > 0 ? size : 0), '\0');
}

// Reads messages until the end of the request stream; fn(message, compressed) for each, done()
// at the end. Stops if the call ends (a bad message, a status sent by fn).
template <class Message, class F, class Done>
void read_each(rpc::call c, F fn, Done done) {
  c.read([c, fn, done](std::optional<rpc::received_message> m) mutable {
    if (!m) return done();
    Message msg;
    if (!msg.ParseFromArray(m->data.data(), static_cast<int>(m->data.size()))) {
      c.finish({rpc::status_code::internal, "failed to parse request message"});
      return;
    }
    if (!fn(msg, m->compressed)) return;
    read_each<Message>(c, fn, done);  // read() from inside its callback: no recursion
  });
}

// Writes responses one after another: waits interval_us before each, and for on_ready when
// write() pushes back; then runs done().
struct responder : std::enable_shared_from_this<responder> {
  struct item {
    std::int32_t size = 0;
    std::int32_t interval_us = 0;
    bool compressed = false;
    bool waited = false;
  };
  rpc::call c;
  std::deque<item> items;
  std::function<void()> done;
  bool waiting = false;  // a timer or on_ready will call resume()

  explicit responder(rpc::call call) : c(std::move(call)) {}

  void add(const pb::ResponseParameters& p) {
    items.push_back({p.size(), p.interval_us(), p.compressed().value(), false});
  }

  void resume() {
    waiting = false;
    pump();
  }

  void pump() {
    if (waiting) return;
    while (!items.empty()) {
      if (c.finished()) return;
      auto& it = items.front();
      if (it.interval_us > 0 && !it.waited) {
        it.waited = true;
        auto self = shared_from_this();
        const auto ms = static_cast<unsigned>((it.interval_us + 999) / 1000);
        waiting = true;
        c.response().set_timeout(ms, [self] { self->resume(); });
        return;
      }
      pb::StreamingOutputCallResponse r;
      r.mutable_payload()->set_body(payload_bytes(it.size));
      const bool compressed = it.compressed;
      items.pop_front();
      if (!rpc::write_message(c, r, compressed)) {
        if (c.finished()) return;
        auto self = shared_from_this();
        waiting = true;
        c.on_ready([self] { self->resume(); });
        return;
      }
    }
    if (!c.finished() && done) {
      auto fn = std::move(done);
      done = nullptr;
      fn();
    }
  }
};

void add_test_service(rpc::services& svc) {
  rpc::add_unary<pb::Empty, pb::Empty>(svc, "/grpc.testing.TestService/EmptyCall",
                                       [](rpc::call c, const pb::Empty&) {
                                         echo_metadata(c);
                                         rpc::finish_with(c, pb::Empty{});
                                       });

  // UnaryCall reads the raw message: expect_compressed needs the compressed flag.
  svc.add("/grpc.testing.TestService/UnaryCall", [](rpc::call c) {
    echo_metadata(c);
    auto req = std::make_shared<pb::SimpleRequest>();
    auto compressed = std::make_shared<bool>(false);
    auto count = std::make_shared<int>(0);
    read_each<pb::SimpleRequest>(
        c,
        [c, req, compressed, count](const pb::SimpleRequest& m, bool was_compressed) mutable {
          if (++*count > 1) {
            c.finish({rpc::status_code::internal, "more than one request message"});
            return false;
          }
          *req = m;
          *compressed = was_compressed;
          return true;
        },
        [c, req, compressed, count]() mutable {
          if (*count == 0) return c.finish({rpc::status_code::internal, "no request message"});
          if (req->expect_compressed().value() && !*compressed)
            return c.finish(
                {rpc::status_code::invalid_argument, "expected a compressed request message"});
          if (req->response_status().code() != 0)
            return c.finish(requested_status(req->response_status()));
          pb::SimpleResponse res;
          res.mutable_payload()->set_body(payload_bytes(req->response_size()));
          const bool compress = req->response_compressed().value();
          if (compress) c.set_compression("gzip");
          rpc::finish_with(c, res, compress);
        });
  });

  rpc::add_server_streaming<pb::StreamingOutputCallRequest, pb::StreamingOutputCallResponse>(
      svc, "/grpc.testing.TestService/StreamingOutputCall",
      [](rpc::call c, const pb::StreamingOutputCallRequest& req) {
        echo_metadata(c);
        auto r = std::make_shared<responder>(c);
        bool any_compressed = false;
        for (const auto& p : req.response_parameters()) {
          r->add(p);
          any_compressed = any_compressed || p.compressed().value();
        }
        if (any_compressed) c.set_compression("gzip");
        const rpc::status end = requested_status(req.response_status());
        r->done = [c, end]() mutable { c.finish(end); };
        r->pump();
      });

  svc.add("/grpc.testing.TestService/StreamingInputCall", [](rpc::call c) {
    echo_metadata(c);
    auto total = std::make_shared<std::int64_t>(0);
    read_each<pb::StreamingInputCallRequest>(
        c,
        [c, total](const pb::StreamingInputCallRequest& m, bool was_compressed) mutable {
          if (m.expect_compressed().value() && !was_compressed) {
            c.finish({rpc::status_code::invalid_argument, "expected a compressed request message"});
            return false;
          }
          *total += static_cast<std::int64_t>(m.payload().body().size());
          return true;
        },
        [c, total]() mutable {
          pb::StreamingInputCallResponse res;
          res.set_aggregated_payload_size(static_cast<std::int32_t>(*total));
          rpc::finish_with(c, res);
        });
  });

  // FullDuplexCall answers each request's response_parameters before reading the next one;
  // HalfDuplexCall reads them all first. A request's response_status ends the call.
  auto duplex = [](bool half) {
    return [half](rpc::call c) {
      echo_metadata(c);
      auto r = std::make_shared<responder>(c);
      auto end = std::make_shared<rpc::status>();
      auto finish = [c, end]() mutable { c.finish(*end); };
      read_each<pb::StreamingOutputCallRequest>(
          c,
          [r, end, half](const pb::StreamingOutputCallRequest& m, bool) {
            for (const auto& p : m.response_parameters()) {
              r->add(p);
              if (p.compressed().value()) r->c.set_compression("gzip");
            }
            if (m.response_status().code() != 0) *end = requested_status(m.response_status());
            if (!half) r->pump();  // the whole request is here: responses go out in order
            return true;
          },
          [r, finish]() mutable {
            r->done = finish;
            r->pump();
          });
    };
  };
  svc.add("/grpc.testing.TestService/FullDuplexCall", duplex(false));
  svc.add("/grpc.testing.TestService/HalfDuplexCall", duplex(true));
  // UnimplementedCall is not registered: "/grpc.testing.TestService/*" answers UNIMPLEMENTED.
}

// grpc.testing.XdsUpdateHealthService: the interop way of changing a server's health status.
void add_health_control(rpc::services& svc, rpc::health health) {
  auto set = [health](rpc::serving_status st) mutable {
    health.set_status("", st);
    health.set_status("grpc.testing.TestService", st);
  };
  rpc::add_unary<pb::Empty, pb::Empty>(svc, "/grpc.testing.XdsUpdateHealthService/SetServing",
                                       [set](rpc::call c, const pb::Empty&) mutable {
                                         set(rpc::serving_status::serving);
                                         rpc::finish_with(c, pb::Empty{});
                                       });
  rpc::add_unary<pb::Empty, pb::Empty>(svc, "/grpc.testing.XdsUpdateHealthService/SetNotServing",
                                       [set](rpc::call c, const pb::Empty&) mutable {
                                         set(rpc::serving_status::not_serving);
                                         rpc::finish_with(c, pb::Empty{});
                                       });
}

bool flag(std::string_view arg, std::string_view name, std::string_view& value) {
  if (arg.substr(0, name.size()) != name) return false;
  value = arg.substr(name.size());
  return true;
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "grpc_interop_server: %s\nusage: grpc_interop_server --port=N "
               "[--use_tls=true|false] [--host=ADDR] [--max_message_size=BYTES] [--threads=N] "
               "[--shutdown_timeout_ms=N]\n",
               why);
  std::exit(2);
}

unsigned long number(std::string_view v, const char* what) {
  unsigned long n = 0;
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || p != v.data() + v.size()) usage(what);
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  GOOGLE_PROTOBUF_VERIFY_VERSION;
  std::string host = "127.0.0.1";
  unsigned long port = 10000;
  bool tls = false;
  unsigned long max_message = 4 * 1024 * 1024;
  unsigned long threads = 1;
  unsigned long shutdown_ms = 10000;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i], v;
    if (flag(a, "--port=", v)) {
      port = number(v, "bad --port");
    } else if (flag(a, "--use_tls=", v)) {
      if (v != "true" && v != "false") usage("--use_tls must be true or false");
      tls = v == "true";
    } else if (flag(a, "--host=", v)) {
      host = std::string(v);
    } else if (flag(a, "--max_message_size=", v)) {
      max_message = number(v, "bad --max_message_size");
    } else if (flag(a, "--threads=", v)) {
      threads = number(v, "bad --threads");
    } else if (flag(a, "--shutdown_timeout_ms=", v)) {
      shutdown_ms = number(v, "bad --shutdown_timeout_ms");
      if (shutdown_ms == 0 || shutdown_ms > 3600000) usage("bad --shutdown_timeout_ms");
    } else {
      usage("unknown argument");
    }
  }
  if (port > 65535) usage("bad --port");

  portico::server_options opts;
  const std::string addr =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  if (tls) {
    opts.listen = {};
    opts.listen_tls = {addr};
    opts.tls_certificates = {
        {PORTICO_GRPC_CREDENTIALS "/server1.pem", PORTICO_GRPC_CREDENTIALS "/server1.key"}};
    opts.tls_alpn = {"h2"};
  } else {
    opts.listen = {addr};
  }
  opts.threads = static_cast<unsigned>(threads);
  opts.shutdown_timeout_ms = static_cast<unsigned>(shutdown_ms);
  // Whole request bodies: room for a stream of maximum-size messages.
  opts.max_body_size = std::max<std::uint64_t>(4 * max_message + 1024, 8u << 20);

  rpc::service_options gopts;
  gopts.max_receive_message_size = max_message;
  gopts.max_send_message_size = max_message;
  rpc::services svc(gopts);
  add_test_service(svc);

  try {
    portico::server srv(opts);
    rpc::health health;
    health.set_status("grpc.testing.TestService", rpc::serving_status::serving);
    add_health_control(svc, health);
    health.add_to(svc, srv);  // NOT_SERVING, and Watch calls end, when the drain begins
#ifdef PORTICO_HAVE_GRPC_REFLECTION
    rpc::reflection::add_to(svc);
#endif
    svc.mount(srv);
    srv.start();
    for (const auto& a : tls ? srv.local_tls_addresses() : srv.local_addresses())
      std::fprintf(stderr, "grpc_interop_server: serving grpc.testing.TestService on %s (%s)\n",
                   a.c_str(), tls ? "TLS, ALPN h2" : "h2c");
    return srv.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "grpc_interop_server: %s\n", e.what());
    return 1;
  }
}
