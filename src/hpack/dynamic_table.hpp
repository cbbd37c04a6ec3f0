// The HPACK dynamic table (RFC 7541 §2.3.2, §4): a FIFO of (name, value) entries bounded by a
// maximum size, where an entry's size is name + value + 32 (§4.1). The decoder and the encoder
// each keep one; they stay identical because both apply the same insertions, evictions (§4.4)
// and size changes (§4.3) in the same order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hpack/field.hpp"
#include "hpack/static_table.hpp"

namespace portico::hpack {

/// Storage: a ring of entry descriptors, and the entries' octets back to back in insertion order
/// in one buffer (each entry contiguous, so a view of it is one string_view). Eviction only
/// moves the start of the live octets forward; when an insertion finds no room after the last
/// entry, the live octets move to the front (or to a larger buffer). The buffer is at most twice
/// the maximum size, and each octet inserted is moved at most once on average. Memory is taken
/// when the first entry arrives, grows with the content, and is given back by set_max_size(0).
class dynamic_table {
 public:
  explicit dynamic_table(std::uint32_t max_size = default_table_size) noexcept
      : max_size_(max_size) {}
  dynamic_table(const dynamic_table&) = delete;
  dynamic_table& operator=(const dynamic_table&) = delete;
  dynamic_table(dynamic_table&&) noexcept = default;
  dynamic_table& operator=(dynamic_table&&) noexcept = default;

  /// Number of entries.
  std::size_t count() const noexcept { return count_; }
  /// Sum of the entries' sizes (§4.1); never above max_size().
  std::size_t size() const noexcept { return size_; }
  /// The maximum size (§4.2).
  std::uint32_t max_size() const noexcept { return max_size_; }
  /// Entries inserted since construction (evicted ones included). The entry at index i was the
  /// (insertions() - i)-th insertion, counting from 0: a name for an entry that does not change
  /// while the table shifts around it.
  std::uint64_t insertions() const noexcept { return inserted_; }

  /// The entry at dynamic index `i` (1 = the newest, count() = the oldest; HPACK index
  /// static_table_size + i, §2.3.3). Precondition: 1 <= i <= count(). The views are valid until
  /// the next insert() or set_max_size().
  table_entry at(std::size_t i) const noexcept {
    const slot& s = ring_[(inserted_ - i) & (ring_cap_ - 1)];
    const char* p = bytes_.get() + s.offset;
    return {{p, s.name_len}, {p + s.name_len, s.value_len}};
  }
  /// The tag given to insert() for the entry at dynamic index `i` (same precondition as at()).
  std::uint8_t tag_at(std::size_t i) const noexcept {
    return ring_[(inserted_ - i) & (ring_cap_ - 1)].tag;
  }

  /// Adds an entry at index 1 after evicting the oldest entries until it fits (§4.4). An entry
  /// larger than max_size() empties the table and is not added (§4.4: "not an error"); returns
  /// false then. `name` (or `value`) may be a view of an entry of this table, even one that the
  /// insertion evicts (§4.4 warns about exactly that). `tag` is one octet of the owner's own
  /// data kept with the entry (tag_at()); HPACK does not look at it. Throws std::bad_alloc.
  bool insert(std::string_view name, std::string_view value, std::uint8_t tag = 0);

  /// Sets the maximum size and evicts the oldest entries until size() <= max_size (§4.3). A
  /// much smaller maximum also gives memory back (all of it for 0).
  void set_max_size(std::uint32_t max_size);

  /// Removes every entry (the maximum size stays).
  void clear() noexcept;

  /// Octets of heap memory held (for tests and metrics).
  std::size_t memory() const noexcept { return bytes_cap_ + ring_cap_ * sizeof(slot); }

 private:
  struct slot {
    std::size_t offset;
    std::uint32_t name_len;
    std::uint32_t value_len;
    std::uint8_t tag;
  };

  void evict_oldest() noexcept;
  void set_ring_capacity(std::size_t cap);
  void make_room(std::size_t n);
  void reallocate_bytes(std::size_t cap);

  std::unique_ptr<slot[]> ring_;  // slot of insertion k: ring_[k & (ring_cap_ - 1)]
  std::size_t ring_cap_ = 0;      // 0 or a power of two >= count_
  std::unique_ptr<char[]> bytes_;
  std::size_t bytes_cap_ = 0;
  std::size_t head_ = 0;  // first octet of the oldest entry
  std::size_t tail_ = 0;  // one past the newest entry
  std::size_t count_ = 0;
  std::size_t size_ = 0;
  std::uint32_t max_size_;
  std::uint64_t inserted_ = 0;
  std::string alias_;  // a name copied out of bytes_ before the insertion moves it
};

}  // namespace portico::hpack
