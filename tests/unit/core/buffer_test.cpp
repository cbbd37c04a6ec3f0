#include "core/buffer.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace portico {
namespace {

TEST(BufferPool, ReusesReleasedBlocks) {
  buffer_pool pool(4096, 4);
  char* a = pool.acquire();
  EXPECT_EQ(pool.outstanding(), 1u);
  pool.release(a);
  EXPECT_EQ(pool.outstanding(), 0u);
  EXPECT_EQ(pool.acquire(), a);
  pool.release(a);
}

TEST(InputBuffer, HoldsNoMemoryWhenEmptyAndReleased) {
  buffer_pool pool(1024);
  input_buffer b;
  auto s = b.prepare(pool, 100, 1 << 20);
  ASSERT_GE(s.size(), 100u);
  std::memcpy(s.data(), "hello", 5);
  b.commit(5);
  EXPECT_FALSE(b.release(pool));  // still holds data
  b.consume(5);
  EXPECT_TRUE(b.release(pool));
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(pool.outstanding(), 0u);
}

TEST(InputBuffer, GrowsBeyondABlockUpToTheBoundAndKeepsData) {
  buffer_pool pool(1024);
  input_buffer b;
  std::string data;
  for (int i = 0; i < 5000; ++i) data.push_back(static_cast<char>('a' + i % 26));
  std::size_t off = 0;
  while (off < data.size()) {
    auto s = b.prepare(pool, 512, 8192);
    ASSERT_FALSE(s.empty());
    std::size_t n = std::min(s.size(), data.size() - off);
    std::memcpy(s.data(), data.data() + off, n);
    b.commit(n);
    off += n;
  }
  auto r = b.readable();
  EXPECT_EQ(std::string(r.data(), r.size()), data);
  EXPECT_LE(b.capacity(), 8192u);
  // At the bound, no more room is offered.
  while (b.capacity() - b.size() > 0) {
    auto s = b.prepare(pool, 1, 8192);
    if (s.empty()) break;
    b.commit(s.size());
  }
  EXPECT_TRUE(b.prepare(pool, 1, 8192).empty());
  b.consume(b.size());
  EXPECT_TRUE(b.release(pool));
}

TEST(InputBuffer, ConsumedBytesStayInPlaceUntilCompaction) {
  buffer_pool pool(1024);
  input_buffer b;
  auto s = b.prepare(pool, 10, 1024);
  std::memcpy(s.data(), "abcdef", 6);
  b.commit(6);
  const char* p = b.readable().data();
  b.consume(3);
  EXPECT_EQ(std::memcmp(p, "abc", 3), 0);  // views of consumed bytes remain valid
  b.compact();
  EXPECT_EQ(std::string(b.readable().data(), b.size()), "def");
  b.consume(3);
  b.release(pool);
}

}  // namespace
}  // namespace portico
