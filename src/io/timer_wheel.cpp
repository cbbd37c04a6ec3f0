#include "io/timer_wheel.hpp"

#include <cassert>

namespace portico::io {

timer_wheel::timer_wheel(std::uint64_t now_ms, std::uint64_t tick_ms, std::size_t slots)
    : tick_ms_(tick_ms ? tick_ms : 1), mask_(slots - 1), current_tick_(now_ms / tick_ms_),
      heads_(slots) {
  assert(slots && (slots & (slots - 1)) == 0);
  for (auto& h : heads_) h.prev = h.next = &h;
}

std::size_t timer_wheel::slot_of(std::uint64_t deadline_ms) const noexcept {
  std::uint64_t tick = deadline_ms / tick_ms_;
  // Round up so a timer never fires early; never schedule into the tick already processed.
  if (deadline_ms % tick_ms_) ++tick;
  if (tick <= current_tick_) tick = current_tick_ + 1;
  return static_cast<std::size_t>(tick) & mask_;
}

void timer_wheel::arm(timer_node& t, std::uint64_t deadline_ms) noexcept {
  cancel(t);
  t.deadline_ms = deadline_ms;
  timer_node& head = heads_[slot_of(deadline_ms)];
  t.next = &head;
  t.prev = head.prev;
  head.prev->next = &t;
  head.prev = &t;
  ++count_;
}

void timer_wheel::cancel(timer_node& t) noexcept {
  if (!t.armed()) return;
  t.prev->next = t.next;
  t.next->prev = t.prev;
  t.prev = t.next = nullptr;
  --count_;
}

std::size_t timer_wheel::advance(std::uint64_t now_ms) {
  std::uint64_t target = now_ms / tick_ms_;
  std::size_t fired = 0;
  // Walk at most one revolution: beyond that every bucket has been visited once.
  std::uint64_t steps = target > current_tick_ ? target - current_tick_ : 0;
  if (steps > mask_ + 1) steps = mask_ + 1;
  std::uint64_t tick = current_tick_;
  for (std::uint64_t i = 0; i < steps && count_ > 0; ++i) {
    ++tick;
    current_tick_ = tick;  // timers re-armed by callbacks land after this bucket
    timer_node& head = heads_[static_cast<std::size_t>(tick) & mask_];
    // Detach the due nodes first: callbacks may arm timers into this very bucket.
    timer_node due;
    due.prev = due.next = &due;
    for (timer_node* n = head.next; n != &head;) {
      timer_node* next = n->next;
      if (n->deadline_ms <= now_ms) {
        n->prev->next = n->next;
        n->next->prev = n->prev;
        n->next = &due;
        n->prev = due.prev;
        due.prev->next = n;
        due.prev = n;
      }
      n = next;
    }
    while (due.next != &due) {
      timer_node* n = due.next;
      due.next = n->next;
      n->next->prev = &due;
      n->prev = n->next = nullptr;
      --count_;
      ++fired;
      n->fire(n);
    }
  }
  current_tick_ = target > current_tick_ ? target : current_tick_;
  return fired;
}

int timer_wheel::next_timeout_ms(std::uint64_t now_ms) const noexcept {
  if (count_ == 0) return -1;
  for (std::size_t i = 1; i <= mask_ + 1; ++i) {
    const timer_node& head = heads_[static_cast<std::size_t>(current_tick_ + i) & mask_];
    if (head.next != &head) {
      std::uint64_t due = (current_tick_ + i) * tick_ms_;
      return due > now_ms ? static_cast<int>(due - now_ms) : 0;
    }
  }
  return static_cast<int>(tick_ms_);
}

}  // namespace portico::io
