#include "core/buffer.hpp"

#include <cstdlib>
#include <cstring>
#include <new>

namespace portico {

buffer_pool::buffer_pool(std::size_t block_size, std::size_t max_cached)
    : block_size_(block_size), max_cached_(max_cached) {
  free_.reserve(max_cached_);  // so that release() never allocates
}

buffer_pool::~buffer_pool() {
  for (char* b : free_) std::free(b);
}

char* buffer_pool::acquire() {
  ++outstanding_;
  if (!free_.empty()) {
    char* b = free_.back();
    free_.pop_back();
    return b;
  }
  void* p = std::malloc(block_size_);
  if (!p) {
    --outstanding_;
    throw std::bad_alloc();
  }
  return static_cast<char*>(p);
}

void buffer_pool::release(char* block) noexcept {
  --outstanding_;
  if (free_.size() < max_cached_) {
    free_.push_back(block);  // capacity reserved in the constructor
  } else {
    std::free(block);
  }
}

input_buffer::~input_buffer() {
  // Without a pool at hand, pooled memory is freed to the allocator (a pool's blocks come from
  // malloc too). Connections call release() before they go, so this is a safety net.
  std::free(data_);
}

void input_buffer::free_memory(buffer_pool& pool) noexcept {
  if (!data_) return;
  if (pooled_) {
    pool.release(data_);
  } else {
    std::free(data_);
  }
  data_ = nullptr;
  cap_ = begin_ = end_ = 0;
  pooled_ = false;
}

std::span<char> input_buffer::prepare(buffer_pool& pool, std::size_t min_free,
                                      std::size_t max_capacity) {
  if (!data_) {
    if (min_free <= pool.block_size()) {
      data_ = pool.acquire();
      cap_ = static_cast<std::uint32_t>(pool.block_size());
      pooled_ = true;
    } else {
      std::size_t cap = min_free;
      data_ = static_cast<char*>(std::malloc(cap));
      if (!data_) throw std::bad_alloc();
      cap_ = static_cast<std::uint32_t>(cap);
      pooled_ = false;
    }
    begin_ = end_ = 0;
  }
  if (cap_ - end_ >= min_free) return {data_ + end_, cap_ - end_};
  // Reclaim the consumed front first.
  if (begin_ > 0 && cap_ - (end_ - begin_) >= min_free) {
    compact();
    return {data_ + end_, cap_ - end_};
  }
  std::size_t used = end_ - begin_;
  std::size_t want = used + min_free;
  if (want > max_capacity) want = max_capacity;
  if (want <= cap_) {
    compact();
    return {data_ + end_, cap_ - end_};
  }
  // Grow onto the heap: double up to the bound.
  std::size_t cap = cap_ * 2u;
  if (cap < want) cap = want;
  if (cap > max_capacity) cap = max_capacity;
  char* mem = static_cast<char*>(std::malloc(cap));
  if (!mem) throw std::bad_alloc();
  if (used) std::memcpy(mem, data_ + begin_, used);
  if (pooled_) {
    pool.release(data_);
  } else {
    std::free(data_);
  }
  data_ = mem;
  cap_ = static_cast<std::uint32_t>(cap);
  begin_ = 0;
  end_ = static_cast<std::uint32_t>(used);
  pooled_ = false;
  return {data_ + end_, cap_ - end_};
}

void input_buffer::compact() noexcept {
  if (begin_ == 0) return;
  std::size_t used = end_ - begin_;
  if (used) std::memmove(data_, data_ + begin_, used);
  begin_ = 0;
  end_ = static_cast<std::uint32_t>(used);
}

bool input_buffer::release(buffer_pool& pool) noexcept {
  if (data_ && begin_ == end_) free_memory(pool);
  return data_ == nullptr;
}

}  // namespace portico
