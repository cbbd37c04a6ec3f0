// Hashed timing wheel (Varghese & Lauck): O(1) arm and cancel, advance proportional to the
// ticks passed plus the timers that fire. Timers are intrusive nodes owned by their users
// (one per connection phase), so arming never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace portico::io {

class timer_wheel;

/// A timer. Embed it in the object it belongs to; `fire` is called with the node when it
/// expires (the node is disarmed first, so the callback may re-arm it). Destroying an armed node
/// is a bug: cancel it first (the owner's destructor does).
struct timer_node {
  timer_node* prev = nullptr;
  timer_node* next = nullptr;
  std::uint64_t deadline_ms = 0;
  void (*fire)(timer_node*) = nullptr;
  void* owner = nullptr;  ///< free for the user (the object the node belongs to)
  bool armed() const noexcept { return prev != nullptr; }
};

class timer_wheel {
 public:
  /// `tick_ms`: resolution; `slots`: number of buckets (a power of two). Timers further away than
  /// one revolution stay in their bucket until their deadline comes round.
  explicit timer_wheel(std::uint64_t now_ms, std::uint64_t tick_ms = 10, std::size_t slots = 1024);
  timer_wheel(const timer_wheel&) = delete;
  timer_wheel& operator=(const timer_wheel&) = delete;

  /// Arms (or re-arms) `t` to fire at `deadline_ms` (absolute, same clock as advance()).
  /// A deadline in the past fires on the next advance().
  void arm(timer_node& t, std::uint64_t deadline_ms) noexcept;
  /// Disarms `t`; no effect if it is not armed.
  void cancel(timer_node& t) noexcept;
  /// Fires every timer whose deadline is <= now_ms, in no particular order within one tick.
  /// Returns how many fired.
  std::size_t advance(std::uint64_t now_ms);
  /// Milliseconds until the earliest bucket that holds a timer may be due, or -1 when no timer is
  /// armed. An upper bound for the poll timeout; never more than one revolution.
  int next_timeout_ms(std::uint64_t now_ms) const noexcept;
  std::size_t size() const noexcept { return count_; }

 private:
  std::size_t slot_of(std::uint64_t deadline_ms) const noexcept;
  std::uint64_t tick_ms_;
  std::size_t mask_;
  std::uint64_t current_tick_;  // last tick processed
  std::size_t count_ = 0;
  std::vector<timer_node> heads_;  // sentinel per bucket (circular list)
};

}  // namespace portico::io
