// A worker thread: one event loop, its own SO_REUSEPORT listening sockets, and the connections
// it accepted. Nothing is shared with other workers on the request path.
#pragma once

#include <atomic>
#include <functional>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/buffer.hpp"
#include "core/unique_fd.hpp"
#include "http/date.hpp"
#include "http/router.hpp"
#include "http1/session.hpp"
#include "io/event_loop.hpp"
#include "net/socket.hpp"
#include "portico/options.hpp"
#include "portico/server.hpp"

namespace portico::engine {

class connection;
class access_log;

/// Counters of one worker. Only the worker's thread writes them (relaxed load+store, no
/// read-modify-write); any thread may read them.
struct worker_stats {
  using counter = std::atomic<std::uint64_t>;
  counter accepted{0}, refused{0}, open{0}, requests{0};
  counter status_class[6] = {};  // [1]..[5] for 1xx..5xx
  counter bytes_in{0}, bytes_out{0};
  counter resets_received{0}, resets_sent{0};
  counter timeouts_header{0}, timeouts_body{0}, timeouts_idle{0}, timeouts_write{0};
  counter protocol_errors{0};

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
  net::connection_options conn;
  std::vector<net::address> addresses;  // resolved listen addresses (ports fixed after the first bind)
  access_log* log = nullptr;
};

class worker {
 public:
  worker(const shared_config& cfg, unsigned index);
  ~worker();
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  /// Creates this worker's listening sockets (on the calling thread, before start()).
  /// `addresses` may have port 0 replaced by the bound port for the next workers.
  std::error_code open_listeners(std::vector<net::address>& addresses, std::string& failed);
  void start();
  void join();
  /// Thread-safe: stop accepting, finish what is in flight, close idle connections; the thread
  /// ends when no connection is left or after the shutdown timeout.
  void drain();
  /// Thread-safe: stop now (connections are closed abortively).
  void stop_now();

  // For connections (worker thread only).
  io::event_loop& loop() noexcept { return loop_; }
  buffer_pool& buffers() noexcept { return buffers_; }
  http1::exchange_pool& exchanges() noexcept { return exchanges_; }
  http::date_cache& date() noexcept { return date_; }
  worker_stats& stats() noexcept { return stats_; }
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

  const shared_config& cfg_;
  unsigned index_;
  io::event_loop loop_;
  buffer_pool buffers_;
  http1::exchange_pool exchanges_;
  http::date_cache date_;
  worker_stats stats_;
  std::vector<std::unique_ptr<listener>> listeners_;
  unique_fd reserve_fd_;  // given up to accept-and-close a connection when out of descriptors
  connection* conns_ = nullptr;  // intrusive list of open connections
  user_timer* user_timers_ = nullptr;  // intrusive list of pending handler timers
  std::size_t conn_count_ = 0;
  std::vector<connection*> retired_;
  io::timer_node accept_pause_timer_;
  io::timer_node shutdown_timer_;
  std::uint64_t last_emfile_log_ms_ = 0;
  bool accept_paused_ = false;
  bool draining_ = false;
  std::thread thread_;
  friend class connection;
};

}  // namespace portico::engine
