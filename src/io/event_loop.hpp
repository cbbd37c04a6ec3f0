// One epoll event loop per worker thread (edge-triggered), with a timer wheel, a cross-thread
// task queue woken through an eventfd, and end-of-turn callbacks used to gather writes (one
// writev per connection per loop turn).
#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "core/unique_fd.hpp"
#include "io/timer_wheel.hpp"

namespace portico::io {

/// Something registered with the loop for readiness events.
class event_handler {
 public:
  /// `events`: the EPOLL* bits that fired (EPOLLIN, EPOLLOUT, EPOLLRDHUP, EPOLLERR, EPOLLHUP).
  virtual void on_events(std::uint32_t events) = 0;

 protected:
  ~event_handler() = default;
};

/// Work to run once at the end of the current loop turn, after every ready fd was handled.
class turn_end_task {
 public:
  virtual void on_turn_end() = 0;
  bool turn_end_scheduled = false;

 protected:
  ~turn_end_task() = default;
};

/// Monotonic milliseconds (CLOCK_MONOTONIC_COARSE is enough: the wheel ticks in 10 ms).
std::uint64_t monotonic_ms() noexcept;
/// Monotonic nanoseconds (CLOCK_MONOTONIC through the vDSO, no syscall).
std::uint64_t monotonic_ns() noexcept;

/// The now_ms() of the event loop running on this thread (monotonic_ms() read once per turn),
/// or monotonic_ms() when no loop runs here: for code that has no loop at hand (a handler)
/// and needs the loop's clock without reading the clock again.
std::uint64_t loop_now_ms() noexcept;

class event_loop {
 public:
  /// Throws std::system_error if epoll or eventfd cannot be created.
  event_loop();
  ~event_loop();
  event_loop(const event_loop&) = delete;
  event_loop& operator=(const event_loop&) = delete;

  /// Registers `fd` for `events` (EPOLLET is added). Returns false (errno set) on failure.
  bool add(int fd, std::uint32_t events, event_handler* h) noexcept;
  bool modify(int fd, std::uint32_t events, event_handler* h) noexcept;
  /// Unregisters `fd`. Closing an fd also unregisters it; call this first when the fd may have
  /// been duplicated.
  void remove(int fd) noexcept;

  /// Runs until stop() was called and the current turn finished.
  void run();
  /// Thread-safe: makes run() return after the current turn.
  void stop() noexcept;
  bool stopping() const noexcept { return stop_.load(std::memory_order_relaxed); }

  /// Thread-safe: runs `fn` on the loop thread soon (FIFO).
  void post(std::function<void()> fn);
  /// Loop thread only: runs `t->on_turn_end()` once at the end of this turn.
  void at_turn_end(turn_end_task* t);

  /// Loop thread only: `fn` runs at the very end of every turn, after all turn-end tasks (the
  /// place to destroy objects that may still be queued as tasks or timers earlier in the turn).
  void set_turn_finalizer(std::function<void()> fn) { finalizer_ = std::move(fn); }

  timer_wheel& timers() noexcept { return timers_; }
  /// The loop's clock, read once per turn (milliseconds, monotonic).
  std::uint64_t now_ms() const noexcept { return now_ms_; }
  /// The fine monotonic clock (CLOCK_MONOTONIC, nanoseconds), read once per turn right after
  /// epoll_wait returns: when this turn's events arrived. The latency metric counts from it.
  std::uint64_t now_ns() const noexcept { return now_ns_; }
  /// Re-reads the clock (for code that ran long within a turn).
  std::uint64_t update_now() noexcept;

 private:
  void drain_posted();
  void run_turn_end();
  unique_fd epfd_;
  unique_fd wakefd_;
  std::atomic<bool> stop_{false};
  std::uint64_t now_ms_;
  std::uint64_t now_ns_ = 0;
  timer_wheel timers_;
  std::mutex posted_mu_;  // cross-thread queue only; never on the request path
  std::vector<std::function<void()>> posted_;
  std::vector<std::function<void()>> running_;
  std::vector<turn_end_task*> turn_end_;
  std::vector<turn_end_task*> turn_end_running_;
  std::function<void()> finalizer_;
};

}  // namespace portico::io
