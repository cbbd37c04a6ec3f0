// Buffers for connections: a per-thread pool of fixed-size blocks, and a contiguous input buffer
// that takes a block from the pool only while bytes are in flight, so that an idle keep-alive
// connection holds no buffer memory (DESIGN.md §3).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace portico {

/// A free list of equally sized blocks. Not thread-safe: each worker thread owns one.
class buffer_pool {
 public:
  /// `block_size`: bytes per block; `max_cached`: blocks kept on the free list at most (the rest
  /// go back to the allocator).
  explicit buffer_pool(std::size_t block_size = 16 * 1024, std::size_t max_cached = 256);
  ~buffer_pool();
  buffer_pool(const buffer_pool&) = delete;
  buffer_pool& operator=(const buffer_pool&) = delete;

  std::size_t block_size() const noexcept { return block_size_; }
  /// A block of block_size() bytes (uninitialised). Never returns null (throws bad_alloc).
  char* acquire();
  /// Returns a block obtained from acquire().
  void release(char* block) noexcept;
  /// Blocks currently handed out (for tests and metrics).
  std::size_t outstanding() const noexcept { return outstanding_; }

 private:
  std::size_t block_size_;
  std::size_t max_cached_;
  std::size_t outstanding_ = 0;
  std::vector<char*> free_;
};

/// A contiguous byte buffer with a read and a write position. Memory comes from a buffer_pool
/// when it fits in one block, from the heap when a larger size is needed (a long request head),
/// and is given back by release() when empty.
///
/// Invariant: 0 <= begin <= end <= capacity. Views of readable() stay valid until the next
/// call of prepare() with a size that does not fit, compact() or release().
class input_buffer {
 public:
  input_buffer() noexcept = default;
  ~input_buffer();
  input_buffer(const input_buffer&) = delete;
  input_buffer& operator=(const input_buffer&) = delete;

  /// Writable space after the data, at least `min_free` bytes (acquiring or growing as needed;
  /// growing moves the data, so it invalidates views of readable()). `max_capacity` bounds the
  /// growth: if the data plus `min_free` cannot fit within it, the span returned may be smaller
  /// than `min_free` (possibly empty).
  std::span<char> prepare(buffer_pool& pool, std::size_t min_free, std::size_t max_capacity);
  /// Marks `n` bytes of the span returned by prepare() as data.
  void commit(std::size_t n) noexcept { end_ += static_cast<std::uint32_t>(n); }
  /// The data not consumed yet.
  std::span<const char> readable() const noexcept { return {data_ + begin_, end_ - begin_}; }
  std::size_t size() const noexcept { return end_ - begin_; }
  bool empty() const noexcept { return begin_ == end_; }
  /// Drops `n` bytes from the front of the data. The bytes stay where they are (views of them
  /// remain valid) until prepare() needs the room, compact() or release().
  void consume(std::size_t n) noexcept { begin_ += static_cast<std::uint32_t>(n); }
  /// Free bytes after the data, without moving anything.
  std::size_t tail_room() const noexcept { return cap_ - end_; }
  /// The free bytes after the data, without moving anything (empty when none or no memory).
  std::span<char> tail() noexcept { return {data_ ? data_ + end_ : nullptr, cap_ - end_}; }
  /// Moves the data to the start of the memory (invalidates views).
  void compact() noexcept;
  /// Gives the memory back when there is no data. Returns true if the buffer now holds none.
  bool release(buffer_pool& pool) noexcept;
  std::size_t capacity() const noexcept { return cap_; }
  /// Offset of the data start from the memory start (how much compact() would reclaim).
  std::size_t front_gap() const noexcept { return begin_; }

 private:
  void free_memory(buffer_pool& pool) noexcept;
  char* data_ = nullptr;
  std::uint32_t cap_ = 0;
  std::uint32_t begin_ = 0;
  std::uint32_t end_ = 0;
  bool pooled_ = false;
};

}  // namespace portico
