// gzip message compression, grpc-accept-encoding (src/grpc/compression.cpp), and the request
// message reader (src/grpc/reader.cpp) that uses it.
#include "grpc/compression.hpp"

#include <gtest/gtest.h>

#include "grpc/message.hpp"
#include "grpc/reader.hpp"
#include "grpc/status.hpp"

namespace portico::grpc {
namespace {

TEST(GrpcCompression, Names) {
  EXPECT_EQ(parse_encoding("gzip"), encoding::gzip);
  EXPECT_EQ(parse_encoding(" GZIP "), encoding::gzip);
  EXPECT_EQ(parse_encoding("identity"), encoding::identity);
  EXPECT_EQ(parse_encoding("deflate"), encoding::unsupported);
  EXPECT_TRUE(accepts("identity,deflate,gzip", encoding::gzip));
  EXPECT_TRUE(accepts("gzip", encoding::gzip));
  EXPECT_FALSE(accepts("identity, deflate", encoding::gzip));
  EXPECT_FALSE(accepts("", encoding::gzip));
  EXPECT_TRUE(accepts("", encoding::identity));
  EXPECT_EQ(accept_encoding_value(true), "identity,gzip");
}

TEST(GrpcCompression, RoundTrip) {
  for (std::size_t n : {0u, 1u, 100u, 70000u, 1u << 20}) {
    std::string data;
    for (std::size_t i = 0; i < n; ++i)
      data.push_back(static_cast<char>((i * 7) ^ (i >> 5)));
    const auto z = gzip_compress(data);
    ASSERT_GE(z.size(), 18u);
    EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);  // RFC 1952 magic
    EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
    const auto d = gzip_decompress(z, n);
    ASSERT_FALSE(d.ec) << n << d.detail;
    EXPECT_EQ(d.data, data);
  }
}

TEST(GrpcCompression, BombStopsAtTheLimit) {
  const auto z = gzip_compress(std::string(10 << 20, '\0'));
  EXPECT_LT(z.size(), 20000u);
  const auto d = gzip_decompress(z, 1 << 20);
  EXPECT_EQ(d.ec, make_error_code(status_code::resource_exhausted));
  EXPECT_TRUE(d.data.empty());
}

TEST(GrpcCompression, CorruptTruncatedAndTrailing) {
  const auto z = gzip_compress("hello hello hello");
  for (std::size_t i = 0; i < z.size(); ++i) {
    const auto d = gzip_decompress(std::string_view(z).substr(0, i), 1000);
    EXPECT_EQ(d.ec, make_error_code(status_code::internal)) << i;
  }
  EXPECT_EQ(gzip_decompress(z + "x", 1000).ec, make_error_code(status_code::internal));
  EXPECT_EQ(gzip_decompress("not gzip at all", 1000).ec, make_error_code(status_code::internal));
  std::string flipped = z;
  flipped[12] = static_cast<char>(flipped[12] ^ 0x55);
  EXPECT_TRUE(gzip_decompress(flipped, 1000).ec);
}

std::vector<std::string> read_all(message_reader& r, std::error_code& ec) {
  std::vector<std::string> out;
  for (;;) {
    auto it = r.next();
    if (it.what == message_reader::kind::message) {
      out.emplace_back(it.data);
      continue;
    }
    if (it.what == message_reader::kind::error) ec = it.ec;
    return out;
  }
}

TEST(GrpcReader, MessagesThenEnd) {
  std::string body;
  append_message(body, "one");
  append_message(body, gzip_compress("two"), true);
  append_message(body, "");
  message_reader r(1000, encoding::gzip);
  r.feed(body, true);
  std::error_code ec;
  EXPECT_EQ(read_all(r, ec), (std::vector<std::string>{"one", "two", ""}));
  EXPECT_FALSE(ec);
  EXPECT_EQ(r.next().what, message_reader::kind::end);
}

TEST(GrpcReader, NeedMoreUntilTheLastPiece) {
  std::string body;
  append_message(body, "abcdef");
  message_reader r(1000, encoding::identity);
  r.feed(std::string_view(body).substr(0, 3), false);
  EXPECT_EQ(r.next().what, message_reader::kind::need_more);
  r.feed(std::string_view(body).substr(3), true);
  auto it = r.next();
  ASSERT_EQ(it.what, message_reader::kind::message);
  EXPECT_EQ(it.data, "abcdef");
  EXPECT_EQ(r.next().what, message_reader::kind::end);
}

TEST(GrpcReader, StreamedPiecesAtEverySplitOutliveTheirBuffers) {
  // append() + keep_rest(): pieces are valid only during the call (a DATA frame's payload);
  // the reader keeps what it has not turned into messages yet.
  std::string body;
  append_message(body, "first message");
  append_message(body, gzip_compress("second, compressed"), true);
  append_message(body, "third");
  for (std::size_t a = 0; a <= body.size(); ++a) {
    for (std::size_t b = a; b <= body.size(); b += 7) {
      message_reader r(1000, encoding::gzip);
      std::vector<std::string> got;
      const std::size_t cuts[] = {0, a, b, body.size()};
      for (int i = 0; i < 3; ++i) {
        std::string piece = body.substr(cuts[i], cuts[i + 1] - cuts[i]);  // a short-lived buffer
        r.append(piece, i == 2);
        for (;;) {
          auto it = r.next();
          if (it.what != message_reader::kind::message) break;
          got.emplace_back(it.data);
        }
        r.keep_rest();
        piece.assign(piece.size(), '#');  // the caller's buffer is reused
      }
      EXPECT_EQ(got, (std::vector<std::string>{"first message", "second, compressed", "third"}))
          << a << "," << b;
      EXPECT_EQ(r.next().what, message_reader::kind::end);
    }
  }
}

TEST(GrpcReader, Errors) {
  std::error_code ec;
  {
    std::string body;
    append_message(body, "x", true);  // compressed flag, no grpc-encoding
    message_reader r(1000, encoding::identity);
    r.feed(body, true);
    read_all(r, ec);
    EXPECT_EQ(ec, make_error_code(status_code::internal));
  }
  {
    std::string body;
    append_message(body, "abc");
    body.pop_back();  // cut short
    message_reader r(1000, encoding::identity);
    r.feed(body, true);
    read_all(r, ec = {});
    EXPECT_EQ(ec, make_error_code(status_code::internal));
  }
  {
    std::string body;
    append_message(body, gzip_compress(std::string(2000, 'a')), true);  // inflates past max
    message_reader r(1000, encoding::gzip);
    r.feed(body, true);
    read_all(r, ec = {});
    EXPECT_EQ(ec, make_error_code(status_code::resource_exhausted));
  }
  {
    std::string body;
    append_message(body, std::string(1001, 'a'));
    message_reader r(1000, encoding::identity);
    r.feed(body, true);
    read_all(r, ec = {});
    EXPECT_EQ(ec, make_error_code(status_code::resource_exhausted));
  }
}

}  // namespace
}  // namespace portico::grpc
