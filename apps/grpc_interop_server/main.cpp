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
// ca.pem and use the server name foo.test.google.fr) with ALPN h2. Request messages are read
// as they arrive. EmptyCall and UnaryCall use the callback form of the call API; the
// streaming methods are coroutines (portico/grpc_coro.hpp).
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "portico/grpc.hpp"
#include "portico/grpc_coro.hpp"
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

pb::StreamingOutputCallResponse response_for(const pb::ResponseParameters& p) {
  pb::StreamingOutputCallResponse r;
  r.mutable_payload()->set_body(payload_bytes(p.size()));
  return r;
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

// FullDuplexCall answers each request's response_parameters before reading the next one
// (ping_pong); HalfDuplexCall (`half`) reads them all first. A request's response_status is the
// call's status at the end of the request stream.
rpc::task duplex(rpc::call c, bool half) {
  echo_metadata(c);
  rpc::status end;
  std::vector<pb::ResponseParameters> later;
  while (auto m = co_await rpc::read<pb::StreamingOutputCallRequest>(c)) {
    if (m->response_status().code() != 0) end = requested_status(m->response_status());
    for (const auto& p : m->response_parameters()) {
      if (p.compressed().value()) c.set_compression("gzip");
      if (half) {
        later.push_back(p);
        continue;
      }
      if (p.interval_us() > 0 &&
          !co_await rpc::sleep_for(c, std::chrono::microseconds(p.interval_us())))
        co_return;
      if (!co_await rpc::write(c, response_for(p), p.compressed().value())) co_return;
    }
  }
  if (c.finished()) co_return;  // cancelled, deadline, or a bad request message
  for (const auto& p : later) {
    if (p.interval_us() > 0 &&
        !co_await rpc::sleep_for(c, std::chrono::microseconds(p.interval_us())))
      co_return;
    if (!co_await rpc::write(c, response_for(p), p.compressed().value())) co_return;
  }
  c.finish(end);
}

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

  // The streaming methods are coroutines (portico/grpc_coro.hpp): each co_await resumes on the
  // worker thread once a request message is there, the response drained (on_ready), or an
  // interval passed; all of them end at once with "call over" when the client cancels, the
  // deadline passes or the connection goes.
  svc.add("/grpc.testing.TestService/StreamingOutputCall", [](rpc::call c) -> rpc::task {
    echo_metadata(c);
    auto req = co_await rpc::read<pb::StreamingOutputCallRequest>(c);
    if (!req) {
      c.finish({rpc::status_code::internal, "no request message"});  // nothing if over
      co_return;
    }
    if (co_await rpc::read(c)) {
      c.finish({rpc::status_code::internal, "more than one request message"});
      co_return;
    }
    for (const auto& p : req->response_parameters())
      if (p.compressed().value()) c.set_compression("gzip");
    for (const auto& p : req->response_parameters()) {
      if (p.interval_us() > 0 &&
          !co_await rpc::sleep_for(c, std::chrono::microseconds(p.interval_us())))
        co_return;  // the call is over (deadline, cancel)
      if (!co_await rpc::write(c, response_for(p), p.compressed().value())) co_return;
    }
    c.finish(requested_status(req->response_status()));
  });

  svc.add("/grpc.testing.TestService/StreamingInputCall", [](rpc::call c) -> rpc::task {
    echo_metadata(c);
    std::int64_t total = 0;
    // The raw read: expect_compressed needs the message's compressed flag.
    while (auto m = co_await rpc::read(c)) {
      pb::StreamingInputCallRequest req;
      if (!req.ParseFromString(m->data)) {
        c.finish({rpc::status_code::internal, "failed to parse request message"});
        co_return;
      }
      if (req.expect_compressed().value() && !m->compressed) {
        c.finish({rpc::status_code::invalid_argument, "expected a compressed request message"});
        co_return;
      }
      total += static_cast<std::int64_t>(req.payload().body().size());
    }
    if (c.finished()) co_return;  // cancelled, or a bad request stream
    pb::StreamingInputCallResponse res;
    res.set_aggregated_payload_size(static_cast<std::int32_t>(total));
    co_await rpc::write(c, res);
    // Returning finishes the call with OK.
  });

  // A coroutine lambda's captures live in the closure, not in the frame: what the coroutine
  // needs after a suspension is a parameter of duplex().
  svc.add("/grpc.testing.TestService/FullDuplexCall",
          [](rpc::call c) { return duplex(std::move(c), false); });
  svc.add("/grpc.testing.TestService/HalfDuplexCall",
          [](rpc::call c) { return duplex(std::move(c), true); });
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
