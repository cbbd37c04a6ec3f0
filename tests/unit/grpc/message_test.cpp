// Length-prefixed message deframer and framer (src/grpc/message.cpp), split at every byte.
#include "grpc/message.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace portico::grpc {
namespace {

struct got {
  std::vector<std::pair<bool, std::string>> messages;
  std::error_code ec;
  std::string detail;
};

// Feeds `in` in the pieces cut at `cuts` (ascending offsets).
got run(std::string_view in, const std::vector<std::size_t>& cuts, std::size_t max = 1 << 20) {
  deframer d(max);
  got g;
  std::size_t prev = 0;
  auto feed = [&](std::string_view piece) {
    while (!piece.empty()) {
      auto r = d.consume(piece);
      if (r.ec) {
        g.ec = r.ec;
        g.detail = std::string(r.detail);
        return false;
      }
      EXPECT_GT(r.used, 0u);
      piece.remove_prefix(r.used);
      if (r.has_message)
        g.messages.emplace_back(r.message.compressed, std::string(r.message.payload));
    }
    return true;
  };
  for (std::size_t c : cuts) {
    if (!feed(in.substr(prev, c - prev))) return g;
    prev = c;
  }
  if (feed(in.substr(prev)) && !d.idle()) g.detail = "partial";
  return g;
}

std::string framed(std::initializer_list<std::pair<bool, std::string>> ms) {
  std::string out;
  for (const auto& [c, p] : ms)
    append_message(out, p, c);
  return out;
}

TEST(GrpcMessage, PrefixLayout) {
  const auto p = encode_prefix(true, 0x01020304);
  EXPECT_EQ(std::string(p.data(), p.size()), std::string("\x01\x01\x02\x03\x04", 5));
  std::string out;
  append_message(out, "hi");
  EXPECT_EQ(out, std::string("\0\0\0\0\x02hi", 7));
}

TEST(GrpcMessage, SeveralMessagesSplitAtEveryByte) {
  const std::string in = framed({{false, "hello"},
                                 {true, ""},
                                 {false, std::string(300, 'x')},
                                 {false, std::string("\0\1\2", 3)}});
  for (std::size_t i = 0; i <= in.size(); ++i) {
    for (std::size_t j = i; j <= in.size(); j += 7) {
      auto g = run(in, {i, j});
      ASSERT_FALSE(g.ec) << i << "," << j;
      EXPECT_TRUE(g.detail.empty()) << i << "," << j;
      ASSERT_EQ(g.messages.size(), 4u) << i << "," << j;
      EXPECT_EQ(g.messages[0], std::make_pair(false, std::string("hello")));
      EXPECT_EQ(g.messages[1], std::make_pair(true, std::string()));
      EXPECT_EQ(g.messages[2].second, std::string(300, 'x'));
      EXPECT_EQ(g.messages[3].second, std::string("\0\1\2", 3));
    }
  }
}

TEST(GrpcMessage, WholeMessageIsAViewOfTheInput) {
  const std::string in = framed({{false, "abc"}});
  deframer d;
  auto r = d.consume(in);
  ASSERT_TRUE(r.has_message);
  EXPECT_EQ(r.message.payload.data(), in.data() + 5);
  EXPECT_EQ(r.used, in.size());
}

TEST(GrpcMessage, PayloadOfAMessageInPiecesCanBeTakenOver) {
  const std::string first(100, 'f');  // beyond the short-string buffer
  std::string wire;
  append_message(wire, first);
  append_message(wire, "second");
  deframer d;
  // The first message in two pieces: assembled in the deframer, whose buffer is handed over.
  auto r = d.consume(std::string_view(wire).substr(0, 8));
  EXPECT_FALSE(r.has_message);
  r = d.consume(std::string_view(wire).substr(8));
  ASSERT_TRUE(r.has_message);
  const char* where = r.message.payload.data();
  auto owned = d.take_payload(r.message.payload);
  ASSERT_TRUE(owned);
  EXPECT_EQ(*owned, first);
  EXPECT_EQ(owned->data(), where);  // the same storage: no copy
  // The second one lies whole in the input: a view, nothing to take over.
  r = d.consume(std::string_view(wire).substr(5 + first.size()));
  ASSERT_TRUE(r.has_message);
  EXPECT_EQ(r.message.payload, "second");
  EXPECT_FALSE(d.take_payload(r.message.payload));
  EXPECT_TRUE(d.idle());
}

TEST(GrpcMessage, StopsAfterEachMessage) {
  const std::string in = framed({{false, "a"}, {false, "b"}});
  deframer d;
  auto r = d.consume(in);
  ASSERT_TRUE(r.has_message);
  EXPECT_EQ(r.used, 6u);
  r = d.consume(std::string_view(in).substr(6));
  ASSERT_TRUE(r.has_message);
  EXPECT_EQ(r.message.payload, "b");
  EXPECT_TRUE(d.idle());
}

TEST(GrpcMessage, BadFlagIsInternalAtEverySplit) {
  std::string in = framed({{false, "ok"}});
  in += std::string("\x02\0\0\0\x01z", 6);
  for (std::size_t i = 0; i <= in.size(); ++i) {
    auto g = run(in, {i});
    EXPECT_EQ(g.ec, make_error_code(status_code::internal)) << i;
    EXPECT_EQ(g.messages.size(), 1u) << i;
    EXPECT_FALSE(g.detail.empty());
  }
}

TEST(GrpcMessage, OversizeIsResourceExhaustedBeforeThePayload) {
  const std::string in = std::string("\0\0\0\x04\x01", 5);  // 1025 announced
  for (std::size_t i = 0; i <= in.size(); ++i) {
    auto g = run(in, {i}, 1024);
    EXPECT_EQ(g.ec, make_error_code(status_code::resource_exhausted)) << i;
  }
  auto ok = run(framed({{false, std::string(1024, 'y')}}), {}, 1024);
  EXPECT_FALSE(ok.ec);
  EXPECT_EQ(ok.messages.size(), 1u);
  // The largest length the prefix can carry.
  auto big = run(std::string("\0\xff\xff\xff\xff", 5), {}, 4 << 20);
  EXPECT_EQ(big.ec, make_error_code(status_code::resource_exhausted));
}

TEST(GrpcMessage, ErrorsAreSticky) {
  deframer d(10);
  auto r = d.consume(std::string_view("\x05", 1));
  EXPECT_TRUE(r.ec);
  r = d.consume(framed({{false, "a"}}));
  EXPECT_EQ(r.ec, make_error_code(status_code::internal));
  EXPECT_FALSE(d.idle());
  d.reset();
  r = d.consume(framed({{false, "a"}}));
  EXPECT_TRUE(r.has_message);
}

TEST(GrpcMessage, TruncatedStreamIsNotIdle) {
  const std::string in = framed({{false, "hello"}});
  for (std::size_t i = 1; i < in.size(); ++i) {
    deframer d;
    auto r = d.consume(std::string_view(in).substr(0, i));
    EXPECT_FALSE(r.has_message);
    EXPECT_FALSE(d.idle()) << i;
    EXPECT_EQ(d.partial_bytes(), i);
  }
}

TEST(GrpcMessage, GuardedEndOfBuffer) {
  // The message ends at the very end of a heap block: ASan catches a read past it.
  const std::string in = framed({{false, "edge"}});
  auto* block = new char[in.size()];
  std::copy(in.begin(), in.end(), block);
  deframer d;
  auto r = d.consume(std::string_view(block, in.size()));
  EXPECT_TRUE(r.has_message);
  EXPECT_EQ(r.message.payload, "edge");
  delete[] block;
}

}  // namespace
}  // namespace portico::grpc
