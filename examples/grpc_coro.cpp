// A gRPC service written as C++20 coroutines (docs/grpc.md, "Coroutine handlers"), on raw
// message bytes so that it needs no protoc: /demo.Echo/Chat answers every request message
// with its bytes reversed, /demo.Echo/Count streams N numbered messages, paced, then OK.
//   grpc_coro [127.0.0.1:50051]
// Any gRPC client with a bytes codec can call it, e.g. python3-grpcio:
//   ch = grpc.insecure_channel("127.0.0.1:50051")
//   chat = ch.stream_stream("/demo.Echo/Chat")   # no serializers: bytes in, bytes out
//   list(chat(iter([b"abc", b"xyz"])))           # [b"cba", b"zyx"]
#include <chrono>
#include <string>

#include <portico/grpc.hpp>
#include <portico/grpc_coro.hpp>
#include <portico/portico.hpp>

namespace rpc = portico::grpc;

namespace {

rpc::task chat(rpc::call c) {
  // nullopt: the client half-closed, or the call is over (cancelled, deadline, connection).
  while (auto m = co_await rpc::read(c)) {
    std::string reply(m->data.rbegin(), m->data.rend());
    if (!co_await rpc::write(c, reply)) co_return;  // false: the call is over
  }
  // Returning finishes the call with OK (when it is still open).
}

rpc::task count(rpc::call c) {
  auto req = co_await rpc::read(c);  // the request: a decimal count
  if (!req) co_return;
  int n = 0;
  for (char ch : req->data) {
    if (ch < '0' || ch > '9' || n > 1000) {
      c.finish({rpc::status_code::invalid_argument, "a count from 0 to 1000, please"});
      co_return;
    }
    n = n * 10 + (ch - '0');
  }
  for (int i = 1; i <= n; ++i) {
    if (!co_await rpc::sleep_for(c, std::chrono::milliseconds(100))) co_return;
    // Waits for the client to read when the response pushes back (HTTP/2 flow control).
    if (!co_await rpc::write(c, std::to_string(i))) co_return;
  }
  c.finish({});
}

}  // namespace

int main(int argc, char** argv) {
  portico::server srv({.listen = {argc > 1 ? argv[1] : "127.0.0.1:50051"}});
  rpc::services svc;
  svc.add("/demo.Echo/Chat", chat);
  svc.add("/demo.Echo/Count", count);
  svc.mount(srv);
  return srv.run();  // until Ctrl-C or SIGTERM, then drains
}
