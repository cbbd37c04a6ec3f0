// RFC 7541 §4: dynamic table size, eviction on insertion and on size change.
#include "hpack/dynamic_table.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace portico::hpack {
namespace {

constexpr std::size_t min_bytes = 256;
constexpr std::size_t min_ring = 16;

bool points_into(std::string_view s, const char* buf, std::size_t cap) noexcept {
  // std::less gives a total order even for pointers into different objects.
  std::less<const char*> lt;
  return !s.empty() && buf != nullptr && !lt(s.data(), buf) && lt(s.data(), buf + cap);
}

}  // namespace

bool dynamic_table::insert(std::string_view name, std::string_view value, std::uint8_t tag) {
  const std::size_t need = field_size(name, value);
  if (need > max_size_) {
    // §4.4: "an attempt to add an entry larger than the maximum size causes the table to be
    // emptied of all existing entries and results in an empty table."
    clear();
    return false;
  }
  // §4.4: the new entry may name an entry that is evicted below, and moving the live octets
  // (make_room) would overwrite it. Values never come from the table in HPACK, but the API
  // allows it; both are copied out when they point into the buffer.
  if (points_into(name, bytes_.get(), bytes_cap_) || points_into(value, bytes_.get(), bytes_cap_)) {
    alias_.assign(name);
    alias_.append(value);
    name = std::string_view(alias_).substr(0, name.size());
    value = std::string_view(alias_).substr(name.size());
  }
  while (size_ + need > max_size_)
    evict_oldest();
  if (count_ == ring_cap_) set_ring_capacity(std::max(min_ring, ring_cap_ * 2));
  const std::size_t n = name.size() + value.size();
  make_room(n);
  char* p = bytes_.get() + tail_;
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  if (!value.empty()) std::memcpy(p + name.size(), value.data(), value.size());
  ring_[inserted_ & (ring_cap_ - 1)] = {tail_, static_cast<std::uint32_t>(name.size()),
                                        static_cast<std::uint32_t>(value.size()), tag};
  tail_ += n;
  ++count_;
  ++inserted_;
  size_ += need;
  return true;
}

void dynamic_table::set_max_size(std::uint32_t max_size) {
  max_size_ = max_size;
  while (size_ > max_size_)
    evict_oldest();
  if (max_size_ == 0) {
    // Nothing can ever be stored: give everything back.
    bytes_.reset();
    bytes_cap_ = head_ = tail_ = 0;
    ring_.reset();
    ring_cap_ = 0;
    return;
  }
  // Keep at most twice what the new maximum can need, so a table that shrank does not hold the
  // memory of its larger past.
  const std::size_t live = tail_ - head_;
  if (bytes_cap_ > 2 * std::max<std::size_t>(max_size_, min_bytes)) {
    if (live == 0) {
      bytes_.reset();
      bytes_cap_ = head_ = tail_ = 0;
    } else {
      reallocate_bytes(std::max(min_bytes, 2 * live));
    }
  }
  const std::size_t max_entries = max_size_ / entry_overhead;
  std::size_t want = min_ring;
  while (want < max_entries)
    want *= 2;
  if (ring_cap_ > want && count_ <= want) set_ring_capacity(want);
}

void dynamic_table::clear() noexcept {
  count_ = 0;
  size_ = 0;
  head_ = tail_ = 0;
}

void dynamic_table::evict_oldest() noexcept {
  const slot& s = ring_[(inserted_ - count_) & (ring_cap_ - 1)];
  // Entries are stored in insertion order, so the oldest one starts at head_.
  head_ = s.offset + s.name_len + s.value_len;
  size_ -= s.name_len + s.value_len + entry_overhead;
  if (--count_ == 0) head_ = tail_ = 0;
}

void dynamic_table::set_ring_capacity(std::size_t cap) {
  std::unique_ptr<slot[]> ring(new slot[cap]);
  for (std::uint64_t k = inserted_ - count_; k < inserted_; ++k)
    ring[k & (cap - 1)] = ring_[k & (ring_cap_ - 1)];
  ring_ = std::move(ring);
  ring_cap_ = cap;
}

void dynamic_table::make_room(std::size_t n) {
  if (tail_ + n <= bytes_cap_) return;
  const std::size_t need = tail_ - head_ + n;
  // At least half the buffer is free after this, so the next move is at least
  // bytes_cap_ / 2 inserted octets away: each octet is moved a constant number of times on
  // average. need <= max_size_, so the buffer stays within twice the maximum size.
  if (2 * need > bytes_cap_) {
    reallocate_bytes(std::max(min_bytes, 2 * need));
    return;
  }
  const std::size_t live = tail_ - head_;
  std::memmove(bytes_.get(), bytes_.get() + head_, live);
  for (std::uint64_t k = inserted_ - count_; k < inserted_; ++k)
    ring_[k & (ring_cap_ - 1)].offset -= head_;
  head_ = 0;
  tail_ = live;
}

void dynamic_table::reallocate_bytes(std::size_t cap) {
  const std::size_t live = tail_ - head_;
  std::unique_ptr<char[]> bytes(new char[cap]);
  if (live > 0) std::memcpy(bytes.get(), bytes_.get() + head_, live);
  for (std::uint64_t k = inserted_ - count_; k < inserted_; ++k)
    ring_[k & (ring_cap_ - 1)].offset -= head_;
  bytes_ = std::move(bytes);
  bytes_cap_ = cap;
  head_ = 0;
  tail_ = live;
}

}  // namespace portico::hpack
