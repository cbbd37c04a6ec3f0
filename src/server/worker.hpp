// A worker thread: one event loop, its own SO_REUSEPORT listening sockets, and the connections
// it accepted. Nothing is shared with other workers on the request path.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer.hpp"
#include "core/unique_fd.hpp"
#include "http/date.hpp"
#include "http/router.hpp"
#include "http1/session.hpp"
#include "http2/session.hpp"
#include "io/event_loop.hpp"
#include "net/socket.hpp"
#include "portico/options.hpp"
#include "portico/server.hpp"
#include "server/metrics.hpp"
#include "server/websocket.hpp"

namespace portico::tls {
class server_context;
}

namespace portico::engine {

class connection;
class access_log;

/// What an open connection is doing, for the connections-by-state gauges.
enum class conn_activity : std::uint8_t {
  reading,  ///< part of a request head or body received (session phase reading_*)
  writing,  ///< requests dispatched: a handler works or the response goes out (phase busy)
  idle,     ///< keep-alive between requests
  closing,  ///< our FIN sent, reading until the peer closes (lingering)
};
inline constexpr std::size_t conn_activity_count = 4;

/// Counters of one worker. Only the worker's thread writes them (relaxed load+store, no
/// read-modify-write); any thread may read them.
struct worker_stats {
  using counter = std::atomic<std::uint64_t>;
  counter accepted{0}, refused{0}, open{0}, requests{0};
  counter status_class[6] = {};  // [1]..[5] for 1xx..5xx
  counter bytes_in{0}, bytes_out{0};
  counter resets_received{0}, resets_sent{0};
  counter timeouts_header{0}, timeouts_body{0}, timeouts_idle{0}, timeouts_write{0};
  counter timeouts_handshake{0};
  counter protocol_errors{0};
  counter tls_handshakes{0}, tls_resumed{0}, tls_handshake_failures{0}, tls_errors{0};
  // Gauges: [0] HTTP/1.1 cleartext, [1] HTTP/1.1 over TLS, [2] HTTP/2 cleartext, [3] HTTP/2
  // over TLS, [4] WebSocket cleartext, [5] WebSocket over TLS; each indexed by conn_activity.
  counter activity[6][conn_activity_count] = {};
  counter ws_upgrades{0}, ws_refused{0};                // handshakes accepted (101) / refused (4xx)
  counter latency[metrics::latency_bucket_count] = {};  // not cumulative
  counter latency_sum_ns{0};

  /// A response went out `ns` nanoseconds after its request was dispatched. No allocation.
  void observe_latency(std::uint64_t ns) noexcept {
    add(latency[metrics::latency_bucket(ns)]);
    add(latency_sum_ns, ns);
  }

  static void add(counter& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  static void sub(counter& c, std::uint64_t n = 1) noexcept {
    c.store(c.load(std::memory_order_relaxed) - n, std::memory_order_relaxed);
  }
};

/// Read-only configuration shared by every worker (built before the threads start).
struct shared_config {
  server_options options;
  http::router router;
  http1::session_config session;
  http2::session_config http2;  // HTTP/2 connections (prior knowledge, ALPN h2, h2c upgrade)
  net::connection_options conn;
  std::vector<net::address>
      addresses;  // resolved listen addresses (ports fixed after the first bind)
  std::vector<net::address> tls_addresses;   // the same for the TLS listeners
  const tls::server_context* tls = nullptr;  // set when there are TLS listeners; shared, read-only
  access_log* log = nullptr;
  /// WebSocket endpoints by exact path (server::websocket), and the publish/subscribe hub.
  std::vector<std::unique_ptr<ws_endpoint>> websockets;
  ws_hub* websocket_hub = nullptr;
  const ws_endpoint* find_websocket(std::string_view path) const noexcept {
    for (const auto& e : websockets)
      if (e->path == path) return e.get();
    return nullptr;
  }
  bool sample_listeners = false;  // each worker samples its listeners' queues once a second
};

/// One listening socket's figures, written by its worker once a second (relaxed stores) and
/// read by any thread. Its address is fixed before the worker starts.
struct listener_gauges {
  std::string address;                    // "127.0.0.1:8080"
  std::atomic<std::uint64_t> queue{0};    // accept queue now (TCP_INFO tcpi_unacked)
  std::atomic<std::uint64_t> backlog{0};  // its limit (tcpi_sacked)
  std::atomic<std::uint64_t> drops{0};    // SO_MEMINFO SK_MEMINFO_DROPS
};

class worker final : public detail::exchange_home {
 public:
  worker(const shared_config& cfg, unsigned index);
  ~worker();
  /// Thread-safe: runs `fn` on this worker's thread soon (dropped if the worker has stopped).
  /// Also the exchange_home of the requests served here (response::post()).
  void post(std::function<void()> fn) override { loop_.post(std::move(fn)); }
  bool on_home_thread() const noexcept override;
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Creates this worker's listening sockets (on the calling thread, before start()): the
  /// cleartext ones, then the TLS ones (`tls_addresses`; needs config().tls). Port 0 in
  /// either list is replaced by the bound port for the next workers. On failure `failed`
  /// names the address.
  std::error_code open_listeners(std::vector<net::address>& addresses,
                                 std::vector<net::address>& tls_addresses, std::string& failed);
  void start();
  void join();
  /// The worker whose thread is calling, or null on other threads.
  static worker* current() noexcept;
  unsigned index() const noexcept { return index_; }
  /// Before start() only: `fn` runs on the worker's thread when the drain begins, before the
  /// connections are told (long-lived responses such as event streams end there, so that they
  /// do not hold the drain until the shutdown timeout).
  void on_drain(std::function<void()> fn) { drain_hooks_.push_back(std::move(fn)); }
  /// This worker's listening sockets' figures (one per listen address, cleartext then TLS, in
  /// order). The vector
  /// is fixed once open_listeners() returned; any thread may read the atomics.
  const std::vector<std::unique_ptr<listener_gauges>>& listener_stats() const noexcept {
    return listener_gauges_;
  }
  /// Thread-safe: stop accepting, finish what is in flight, close idle connections; the thread
  /// ends when no connection is left or after the shutdown timeout.
  void drain();
  /// Thread-safe: stop now (connections are closed abortively).
  void stop_now();

  // For connections (worker thread only).
  io::event_loop& loop() noexcept { return loop_; }
  buffer_pool& buffers() noexcept { return buffers_; }
  http1::exchange_pool& exchanges() noexcept { return exchanges_; }
  http2::stream_pool& h2_streams() noexcept { return h2_streams_; }
  ws::buffer_cache& ws_buffers() noexcept { return ws_buffers_; }
  http::date_cache& date() noexcept { return date_; }
  worker_stats& stats() noexcept { return stats_; }
  /// A scratch buffer of tls_scratch_size bytes for TLS connections of this worker (plaintext
  /// gathered into one record, file pieces read for encryption). Its contents do not survive
  /// a call that may run another connection's code.
  std::span<std::byte> tls_scratch();
  static constexpr std::size_t tls_scratch_size = 16 * 1024;  // one TLS record (RFC 8446 §5.1)
  const worker_stats& stats() const noexcept { return stats_; }
  const shared_config& config() const noexcept { return cfg_; }
  bool draining() const noexcept { return draining_; }
  void connection_closed(connection* c) noexcept;
  /// Runs `fn` on this worker after `ms` milliseconds (handlers' response::set_timeout).
  /// Timers still pending when the worker stops are dropped without running.
  void set_timeout(unsigned ms, std::function<void()> fn);
  /// Destroys `c` at the very end of the loop turn (after every event and task of the turn).
  void retire(connection* c);

 private:
  class listener;
  struct user_timer;
  void drop_user_timers() noexcept;
  void run();
  void accept_ready(listener& l);
  void begin_drain();
  void check_drained();
  void pause_accepting();
  void resume_accepting();
  void sample_listeners() noexcept;

  const shared_config& cfg_;
  unsigned index_;
  io::event_loop loop_;
  buffer_pool buffers_;
  http1::exchange_pool exchanges_;
  http2::stream_pool h2_streams_;
  ws::buffer_cache ws_buffers_;
  http::date_cache date_;
  worker_stats stats_;
  std::vector<std::unique_ptr<listener>> listeners_;
  std::vector<std::unique_ptr<listener_gauges>> listener_gauges_;  // parallel to listeners_
  std::vector<std::function<void()>> drain_hooks_;
  std::unique_ptr<std::byte[]> tls_scratch_;  // allocated on first use
  unique_fd reserve_fd_;  // given up to accept-and-close a connection when out of descriptors
  connection* conns_ = nullptr;        // intrusive list of open connections
  user_timer* user_timers_ = nullptr;  // intrusive list of pending handler timers
  std::size_t conn_count_ = 0;
  std::vector<connection*> retired_;
  io::timer_node accept_pause_timer_;
  io::timer_node shutdown_timer_;
  io::timer_node sample_timer_;
  std::uint64_t last_emfile_log_ms_ = 0;
  bool accept_paused_ = false;
  bool draining_ = false;
  std::thread thread_;
  friend class connection;
};

}  // namespace portico::engine
