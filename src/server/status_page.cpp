#include "server/status_page.hpp"

#include <algorithm>

namespace portico::engine {

bool event_hub::has_room() noexcept {
  prune();
  return streams_.size() < max_streams;
}

bool event_hub::add(const portico::response& res, std::string_view first) {
  if (!has_room()) return false;
  streams_.push_back(stream{res, false});
  stream& s = streams_.back();
  s.behind = !s.res.write(first);
  prune();
  size_.store(streams_.size(), std::memory_order_relaxed);
  return true;
}

void event_hub::publish(std::string_view event) {
  for (stream& s : streams_) {
    if (s.res.aborted() || s.res.ended()) continue;
    if (s.behind) {
      // Back-pressure: skip this event until the client has taken what is buffered (events are
      // whole samples; a missed one only makes the page's next interval longer).
      if (s.res.buffered_amount() > 0) continue;
      s.behind = false;
    }
    s.behind = !s.res.write(event);
  }
  prune();
}

void event_hub::end_all() noexcept {
  for (stream& s : streams_)
    s.res.end();
  streams_.clear();
  size_.store(0, std::memory_order_relaxed);
}

void event_hub::prune() noexcept {
  std::erase_if(streams_, [](const stream& s) { return s.res.aborted() || s.res.ended(); });
  size_.store(streams_.size(), std::memory_order_relaxed);
}

}  // namespace portico::engine
