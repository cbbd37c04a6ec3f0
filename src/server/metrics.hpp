// The figures the server shows about itself, and their two renderings: the Prometheus text
// format (server::metrics) and the JSON samples of the status page (server::status_page).
// Pure: no clock, no socket, no file; the callers gather the figures (docs/observability.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "portico/server.hpp"
#include "tools/tcp_socket.hpp"

namespace portico::engine::metrics {

/// Buckets of the latency histogram: one per bound of latency_bounds_us, then +Inf.
inline constexpr std::size_t latency_bucket_count = latency_bounds_us.size() + 1;

/// The bucket of a latency of `ns` nanoseconds: the first i with ns <= latency_bounds_us[i]
/// (Prometheus "le", less or equal), or latency_bucket_count - 1 when above every bound.
/// Constant time in practice (most requests fall in the first buckets); no allocation.
constexpr std::size_t latency_bucket(std::uint64_t ns) noexcept {
  for (std::size_t i = 0; i < latency_bounds_us.size(); ++i) {
    if (ns <= std::uint64_t{latency_bounds_us[i]} * 1000u) return i;
  }
  return latency_bounds_us.size();
}

/// The q-quantile (0 <= q <= 1) in seconds estimated from non-cumulative bucket counts
/// (`counts.size()` must be latency_bucket_count), as Prometheus's histogram_quantile() does:
/// find the bucket holding rank q * total and interpolate linearly between its lower bound (0
/// for the first) and its upper bound. A rank in the +Inf bucket gives the largest finite bound.
/// Returns NaN when every count is 0 or `counts` has the wrong size.
double latency_quantile(double q, std::span<const std::uint64_t> counts) noexcept;

/// Exact decimal seconds from whole microseconds, without trailing zeros: 100 → "0.0001",
/// 2500000 → "2.5", 10000000 → "10", 0 → "0". (Histogram "le" labels.)
std::string seconds_from_us(std::uint64_t us);
/// Exact decimal seconds from nanoseconds, without trailing zeros: 1500 → "0.0000015".
std::string seconds_from_ns(std::uint64_t ns);

/// A label value for the Prometheus text format: backslash, double quote and line feed escaped
/// as \\, \" and \n (exposition format 0.0.4).
std::string escape_label(std::string_view value);

/// One listening socket of one worker, as the worker last sampled it (once a second).
struct listener_figures {
  std::string address;        ///< "127.0.0.1:8080"
  unsigned worker = 0;        ///< the worker that owns the socket (SO_REUSEPORT: one each)
  std::uint64_t queue = 0;    ///< connections waiting for accept() (TCP_INFO tcpi_unacked)
  std::uint64_t backlog = 0;  ///< its limit: listen() backlog capped by somaxconn (tcpi_sacked)
  std::uint64_t drops = 0;    ///< SYNs and handshakes this socket dropped (SO_MEMINFO drops):
                              ///< full accept queue (overflows) and other listen drops
};

/// What the status sampler thread read from the kernel about the server's ports.
struct kernel_figures {
  bool tcp_valid = false;            ///< tcp_states was read (else tcp_error says why)
  std::string tcp_source;            ///< "netlink" or "proc"
  std::string tcp_error;             ///< why the socket table could not be read
  tools::state_counts tcp_states{};  ///< sockets whose local port is a listening port of the
                                     ///< server, per state (indexed like reported_states)
  std::int64_t netns_listen_overflows = -1;  ///< TcpExt.ListenOverflows; -1: unreadable
  std::int64_t netns_listen_drops = -1;      ///< TcpExt.ListenDrops; -1: unreadable
};

/// Every series of the metrics endpoint in the Prometheus text exposition format (0.0.4), one
/// HELP and TYPE line per family, in a fixed order (docs/observability.md lists them).
/// `kernel` may be null (the sampler has not run yet): its series are left out. `start_time`:
/// Unix time the server started.
std::string render_prometheus(const server_stats& s, std::span<const listener_figures> listeners,
                              const kernel_figures* kernel, double start_time);

/// Everything one status sample holds.
struct status_figures {
  double unix_time = 0;   ///< when it was taken (seconds since the epoch)
  double monotonic = 0;   ///< the same instant on a monotonic clock (seconds), for rates
  double start_time = 0;  ///< Unix time the server started
  server_stats stats;
  std::vector<listener_figures> listeners;
  kernel_figures kernel;
};

/// One status sample as a JSON object on one line (schema "portico.status/1",
/// docs/observability.md): totals, rates per second since `previous` (null: rates are null),
/// latency quantiles over the interval since `previous` and since start, listeners, the TCP
/// states of the server's ports and the namespace's listen counters. `addresses`: the
/// listening addresses, shown as the server's name.
std::string render_status_json(const status_figures& current, const status_figures* previous,
                               std::span<const std::string> addresses);

}  // namespace portico::engine::metrics
