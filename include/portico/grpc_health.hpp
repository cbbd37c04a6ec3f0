// grpc.health.v1.Health (the gRPC project's doc/health-checking.md and health.proto) served by
// Portico, wired to the server's drain (docs/grpc.md "Health checking").
//
//   portico::grpc::services svc;
//   portico::grpc::health health;                    // "" (the whole server): SERVING
//   health.set_status("pkg.Greeter", portico::grpc::serving_status::serving);
//   health.add_to(svc, srv);                         // Check and Watch; NOT_SERVING on drain
//   svc.mount(srv);
//   ...
//   health.set_status("pkg.Greeter", portico::grpc::serving_status::not_serving);  // any thread
//
// The messages are hand-encoded (two one-field messages): portico_grpc needs no libprotobuf.
#pragma once

#include <functional>
#include <memory>
#include <string_view>

#include "portico/grpc.hpp"
#include "portico/server.hpp"

namespace portico::grpc {

/// grpc.health.v1.HealthCheckResponse.ServingStatus; the values are the wire values.
enum class serving_status : int {
  unknown = 0,  ///< never reported by Portico
  serving = 1,
  not_serving = 2,
  service_unknown = 3,  ///< Watch of a service with no status (Check answers NOT_FOUND instead)
};

/// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN" ("UNKNOWN" for a value out of range).
std::string_view serving_status_name(serving_status s) noexcept;

namespace detail {
struct health_state;
}

/// The serving status of each service name ("" stands for the whole server), served as
/// grpc.health.v1.Health. A handle: copies share the same statuses. Thread-safe.
class health {
 public:
  /// Function that runs its argument on every thread where calls run (see
  /// portico::server::worker_broadcast()).
  using broadcast_fn = std::function<void(std::function<void()>)>;

  /// "" (the whole server) starts SERVING; every other name is unknown until set_status().
  health();

  /// Sets the status of `service` ("" for the whole server): serving, not_serving, or
  /// service_unknown to forget the name (Check: NOT_FOUND, Watch: SERVICE_UNKNOWN). Callable
  /// from any thread; takes a short mutex, and Watch calls of that name hear of the change on
  /// their own worker threads soon after. Ignored once the server drains (shutdown()). Throws
  /// std::invalid_argument for serving_status::unknown or a value out of range.
  void set_status(std::string_view service, serving_status st);
  /// The current status of `service`: serving or not_serving, or service_unknown when it has
  /// none. Lock-free of the writers' mutex (an atomically published snapshot): what Check uses.
  serving_status status(std::string_view service) const;

  /// The drain: every service with a status reports NOT_SERVING from now on, set_status() is
  /// ignored, and each Watch call gets its last status (NOT_SERVING, or SERVICE_UNKNOWN for an
  /// unknown name) and then ends with UNAVAILABLE "server is shutting down" (a client retries
  /// elsewhere, doc/health-checking.md), so that watchers do not hold the drain. New Watch
  /// calls get the same at once. Thread-safe, idempotent, irreversible; add_to(svc, srv) calls
  /// it when `srv` starts draining.
  void shutdown();
  /// True after shutdown().
  bool is_shut_down() const noexcept;

  /// Adds /grpc.health.v1.Health/Check and /grpc.health.v1.Health/Watch to `svc` (before
  /// svc.mount(srv)), reaches Watch calls through srv.worker_broadcast(), and runs shutdown()
  /// when `srv` starts draining (srv.on_drain). Before srv.start().
  void add_to(services& svc, portico::server& srv) const {
    add_to(svc, srv.worker_broadcast());
    srv.on_drain([h = *this]() mutable { h.shutdown(); });
  }
  /// The same for any host: `broadcast` must run its argument on every thread where `svc`'s
  /// calls run. shutdown() is then the host's to call.
  void add_to(services& svc, broadcast_fn broadcast) const;

 private:
  std::shared_ptr<detail::health_state> s_;
};

}  // namespace portico::grpc
