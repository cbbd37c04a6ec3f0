// The status sampler: one low-priority thread per server that, once a second, gathers the
// server's counters, reads what the kernel knows about the server's ports (TCP states through
// NETLINK_SOCK_DIAG, the namespace's listen counters from /proc/net/netstat), renders the
// status page's JSON sample and publishes it. It runs only when metrics or the status page are
// on. Everything it does that can block (netlink dumps, /proc reads) happens on its own thread,
// never on a worker; workers only load the published sample (an atomic shared_ptr).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "server/metrics.hpp"

namespace portico::engine {

/// Reads the TCP states of the sockets whose local port is in `ports`, and the namespace's
/// TcpExt.ListenOverflows and ListenDrops. Blocking (a netlink dump of every TCP socket of the
/// network namespace, falling back to /proc/net/tcp{,6}; /proc/net/netstat): its cost grows
/// with the number of sockets in the namespace. Never throws; what cannot be read is marked
/// (tcp_valid false with tcp_error, counters -1).
metrics::kernel_figures read_kernel_figures(std::span<const std::uint16_t> ports);

class observer {
 public:
  /// One published sample. Immutable once published.
  struct sample {
    std::uint64_t seq = 0;  ///< 1 for the first sample, then +1 a second
    metrics::status_figures figures;
    std::string json;   ///< render_status_json of the figures (one line)
    std::string event;  ///< the same as one server-sent event: "id: SEQ\ndata: JSON\n\n"
  };
  using sample_ptr = std::shared_ptr<const sample>;

  struct inputs {
    /// Fills `f.stats` and `f.listeners` (called on the sampler thread; must not block).
    std::function<void(metrics::status_figures& f)> gather;
    std::vector<std::uint16_t> ports;    ///< the server's listening ports
    std::vector<std::string> addresses;  ///< shown in the samples
    double start_time = 0;               ///< Unix time the server started
    unsigned interval_ms = 1000;
  };

  /// `published` is called on the sampler thread after each sample (not for the first one,
  /// taken by start()); it must not block.
  observer(inputs in, std::function<void(const sample_ptr&)> published);
  ~observer();
  observer(const observer&) = delete;
  observer& operator=(const observer&) = delete;

  /// Takes the first sample on the calling thread, then starts the sampler thread.
  void start();
  /// Stops and joins the sampler thread (at most one sample's time). Idempotent.
  void stop() noexcept;
  /// The latest sample (null before start()). Any thread; no lock on the caller's side beyond
  /// the atomic shared_ptr's own.
  sample_ptr latest() const noexcept { return latest_.load(std::memory_order_acquire); }

 private:
  void run();
  void take_sample();

  inputs in_;
  std::function<void(const sample_ptr&)> published_;
  std::atomic<sample_ptr> latest_;
  sample_ptr previous_;  // sampler thread only (and start() before it runs)
  std::uint64_t seq_ = 0;
  bool logged_tcp_error_ = false;
  std::mutex mu_;  // start/stop handshake with the sampler thread only
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace portico::engine
