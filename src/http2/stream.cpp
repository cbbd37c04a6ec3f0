#include "http2/stream.hpp"

#include <algorithm>

namespace portico::http2 {

void stream::recycle_as(std::uint32_t stream_id) noexcept {
  reset();  // the exchange's request and response fields
  id = stream_id;
  state = stream_state::idle;
  field_bytes.clear();
  field_refs.clear();
  header_views.clear();
  method_off = method_len = path_off = path_len = 0;
  scheme_off = scheme_len = protocol_off = protocol_len = 0;
  request_has_content_length = false;
  request_content_length = 0;
  body_received = 0;
  head_complete = dispatched = answered_by_session = pushed = false;
  send_window = recv_window = 0;
  recv_target = recv_unacked = 0;
  last_window_update = 0;
  prio = priority{};
  prio_rfc9218 = false;
  headers_sent = end_stream_sent = no_body = false;
  body_total = body_queued = 0;
  part_index = 0;
  part_offset = 0;
  segments.clear();
  segment_offset = 0;
  segment_bytes = unwritten = 0;
  ra_buf.reset();
  ra_off = 0;
  ra_len = 0;
}

stream_pool::~stream_pool() {
  for (auto* s : free_)
    delete s;
  for (stream* s = live_; s; s = s->live_next)
    s->set_recycler(nullptr);
}

stream* stream_pool::acquire(std::uint32_t stream_id) {
  stream* s;
  if (!free_.empty()) {
    s = free_.back();
    free_.pop_back();
    s->id = stream_id;  // cleaned when it came back
  } else {
    s = new stream(stream_id);
    s->set_recycler(this);
  }
  s->live_prev = nullptr;
  s->live_next = live_;
  if (live_) live_->live_prev = s;
  live_ = s;
  if (++live_count_ > peak_live_) peak_live_ = live_count_;
  return s;
}

void stream_pool::recycle(detail::exchange* base) noexcept {
  auto* s = static_cast<stream*>(base);
  if (s->live_prev) s->live_prev->live_next = s->live_next;
  if (s->live_next) s->live_next->live_prev = s->live_prev;
  if (live_ == s) live_ = s->live_next;
  s->live_prev = s->live_next = nullptr;
  --live_count_;
  if (++recycles_ == 0x10000) {
    // Decay: the peak halves (not below what is live now); the cache above it is freed.
    recycles_ = 0;
    peak_live_ = std::max(live_count_, peak_live_ / 2);
    const std::size_t cap = std::clamp(peak_live_, min_cached_, max_cached_);
    while (free_.size() > cap) {
      delete free_.back();
      free_.pop_back();
    }
  }
  if (free_.size() < std::clamp(peak_live_, min_cached_, max_cached_)) {
    s->recycle_as(0);  // nothing kept open or referenced while cached
    // Large buffers (a request body, a response held in memory) are not kept for reuse.
    constexpr std::size_t keep = 16 * 1024;
    if (s->body_storage.capacity() > keep) std::string().swap(s->body_storage);
    if (s->body_memory.capacity() > keep) std::string().swap(s->body_memory);
    if (s->field_bytes.capacity() > keep) std::string().swap(s->field_bytes);
    try {
      free_.push_back(s);
      return;
    } catch (...) {
    }
  }
  delete s;
}

}  // namespace portico::http2
