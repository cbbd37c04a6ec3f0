// grpc_cpp_server: grpc.testing.TestService on the gRPC project's own C++ server (Debian's
// libgrpc++), the peer of apps/grpc_interop_server in bench/run.sh's gRPC scenarios.
//
//   grpc_cpp_server --port=N [--host=127.0.0.1] [--threads=N] [--prepost=N]
//
// The methods bench/grpc_load calls, answering as Portico's interop server does (same request
// and response messages, byte for byte):
//   EmptyCall       Empty -> Empty
//   UnaryCall       SimpleRequest -> SimpleResponse with response_size zero bytes of payload;
//                   a response_status other than OK is returned as the call's status
//   FullDuplexCall  for each request, one response per response_parameters entry (size zero
//                   bytes of payload), in order; OK at the end of the request stream
// Other methods answer UNIMPLEMENTED (the generated service's default).
//
// API: the asynchronous (completion-queue) API, the one gRPC's own performance benchmark uses
// for its fastest server (test/cpp/qps/server_async.cc): --threads=N completion queues (default
// 1), each drained by one thread of ours, with --prepost=N requests (default 100) of every
// method posted on each queue, and a new one posted as each call starts, so an incoming call
// finds a waiting request instead of gRPC's queue of unmatched calls (the qps server posts
// 5000 per queue; 100 covers the benchmark's 64 concurrent calls).
// gRPC's own internal threads (timers, its executor) come on top; bench/run.sh pins the whole
// process to one CPU and counts the CPU time of all its threads.
//
// Listens on HOST:PORT in cleartext (h2c, prior knowledge: InsecureServerCredentials), and
// prints "grpc_cpp_server: serving grpc.testing.TestService on HOST:PORT (h2c, N threads)" on
// stderr once it does. Stops on SIGINT or SIGTERM. Limits are gRPC's defaults (4 MiB receive
// messages, unbounded concurrent streams).
#include <grpcpp/grpcpp.h>
#include <pthread.h>
#include <signal.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "src/proto/grpc/testing/empty.pb.h"
#include "src/proto/grpc/testing/messages.pb.h"
#include "src/proto/grpc/testing/test.grpc.pb.h"

namespace {

namespace pb = ::grpc::testing;
using service = pb::TestService::AsyncService;

// Each pending operation's tag is a call object; proceed(ok) advances its state machine and
// returns false when the object is done (the caller deletes it).
struct call_base {
  virtual ~call_base() = default;
  virtual bool proceed(bool ok) = 0;
};

std::string zeros(std::int32_t n) {
  return std::string(n > 0 ? static_cast<std::size_t>(n) : 0, '\0');
}

class empty_call final : public call_base {
 public:
  empty_call(service* s, grpc::ServerCompletionQueue* cq) : service_(s), cq_(cq), writer_(&ctx_) {
    service_->RequestEmptyCall(&ctx_, &req_, &writer_, cq_, cq_, this);
  }
  bool proceed(bool ok) override {
    if (state_ == state::requested) {
      if (!ok) return false;  // the queue is shutting down
      new empty_call(service_, cq_);
      state_ = state::finishing;
      writer_.Finish(pb::Empty{}, grpc::Status::OK, this);
      return true;
    }
    return false;  // Finish done (or failed): the call is over
  }

 private:
  enum class state { requested, finishing };
  service* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  pb::Empty req_;
  grpc::ServerAsyncResponseWriter<pb::Empty> writer_;
  state state_ = state::requested;
};

class unary_call final : public call_base {
 public:
  unary_call(service* s, grpc::ServerCompletionQueue* cq) : service_(s), cq_(cq), writer_(&ctx_) {
    service_->RequestUnaryCall(&ctx_, &req_, &writer_, cq_, cq_, this);
  }
  bool proceed(bool ok) override {
    if (state_ == state::requested) {
      if (!ok) return false;
      new unary_call(service_, cq_);
      state_ = state::finishing;
      if (req_.response_status().code() != 0) {
        writer_.FinishWithError(
            grpc::Status(static_cast<grpc::StatusCode>(req_.response_status().code()),
                         req_.response_status().message()),
            this);
        return true;
      }
      res_.mutable_payload()->set_body(zeros(req_.response_size()));
      writer_.Finish(res_, grpc::Status::OK, this);
      return true;
    }
    return false;
  }

 private:
  enum class state { requested, finishing };
  service* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  pb::SimpleRequest req_;
  pb::SimpleResponse res_;
  grpc::ServerAsyncResponseWriter<pb::SimpleResponse> writer_;
  state state_ = state::requested;
};

// One operation at a time: read a request, write its responses one by one, read the next; at
// the end of the request stream (a read that fails) finish with OK. A failed write means the
// call is gone (client reset, connection lost): finish, and delete once that completes.
class full_duplex_call final : public call_base {
 public:
  full_duplex_call(service* s, grpc::ServerCompletionQueue* cq)
      : service_(s), cq_(cq), stream_(&ctx_) {
    service_->RequestFullDuplexCall(&ctx_, &stream_, cq_, cq_, this);
  }
  bool proceed(bool ok) override {
    switch (state_) {
      case state::requested:
        if (!ok) return false;
        new full_duplex_call(service_, cq_);
        read();
        return true;
      case state::reading:
        if (!ok) {  // the client half-closed (or the call is gone)
          finish(grpc::Status::OK);
          return true;
        }
        next_ = 0;
        write_next();
        return true;
      case state::writing:
        if (!ok) {
          finish(grpc::Status(grpc::StatusCode::CANCELLED, "write failed"));
          return true;
        }
        write_next();
        return true;
      case state::finishing:
        return false;
    }
    return false;
  }

 private:
  enum class state { requested, reading, writing, finishing };
  void read() {
    state_ = state::reading;
    stream_.Read(&req_, this);
  }
  void write_next() {
    if (next_ >= req_.response_parameters_size()) {
      if (req_.response_status().code() != 0) {
        finish(grpc::Status(static_cast<grpc::StatusCode>(req_.response_status().code()),
                            req_.response_status().message()));
        return;
      }
      read();
      return;
    }
    res_.mutable_payload()->set_body(zeros(req_.response_parameters(next_++).size()));
    state_ = state::writing;
    stream_.Write(res_, this);
  }
  void finish(const grpc::Status& st) {
    state_ = state::finishing;
    stream_.Finish(st, this);
  }

  service* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext ctx_;
  pb::StreamingOutputCallRequest req_;
  pb::StreamingOutputCallResponse res_;
  grpc::ServerAsyncReaderWriter<pb::StreamingOutputCallResponse, pb::StreamingOutputCallRequest>
      stream_;
  state state_ = state::requested;
  int next_ = 0;
};

void drain(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok)) {
    auto* c = static_cast<call_base*>(tag);
    if (!c->proceed(ok)) delete c;
  }
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "grpc_cpp_server: %s\nusage: grpc_cpp_server --port=N [--host=ADDR] [--threads=N] "
               "[--prepost=N]\n",
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
  std::string host = "127.0.0.1";
  unsigned long port = 10000;
  unsigned long threads = 1;
  unsigned long prepost = 100;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--port=")) {
      port = number(a.substr(7), "bad --port");
    } else if (a.starts_with("--host=")) {
      host = std::string(a.substr(7));
    } else if (a.starts_with("--threads=")) {
      threads = number(a.substr(10), "bad --threads");
    } else if (a.starts_with("--prepost=")) {
      prepost = number(a.substr(10), "bad --prepost");
    } else {
      usage("unknown argument");
    }
  }
  if (port == 0 || port > 65535) usage("bad --port (1..65535)");
  if (threads < 1 || threads > 64) usage("bad --threads (1..64)");
  if (prepost < 1 || prepost > 10000) usage("bad --prepost (1..10000)");

  // Signals are taken by a waiting thread, not by a handler: Shutdown() is not
  // async-signal-safe.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // inherited by every thread started below

  service svc;
  grpc::ServerBuilder builder;
  const std::string addr =
      (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  int bound = 0;
  builder.AddListeningPort(addr, grpc::InsecureServerCredentials(), &bound);
  builder.RegisterService(&svc);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  for (unsigned long i = 0; i < threads; ++i)
    cqs.push_back(builder.AddCompletionQueue());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || bound == 0) {
    std::fprintf(stderr, "grpc_cpp_server: cannot listen on %s\n", addr.c_str());
    return 1;
  }
  for (auto& cq : cqs) {
    for (unsigned long i = 0; i < prepost; ++i) {
      new empty_call(&svc, cq.get());
      new unary_call(&svc, cq.get());
      new full_duplex_call(&svc, cq.get());
    }
  }
  std::vector<std::thread> workers;
  for (auto& cq : cqs)
    workers.emplace_back(drain, cq.get());
  std::fprintf(stderr,
               "grpc_cpp_server: serving grpc.testing.TestService on %s (h2c, %lu threads)\n",
               addr.c_str(), threads);

  int sig = 0;
  sigwait(&set, &sig);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (auto& cq : cqs)
    cq->Shutdown();
  for (auto& w : workers)
    w.join();
  return 0;
}
