// Tests for the WebSocket frame codec (src/ws/frame.cpp): the RFC 6455 §5.7 examples, every
// header rule accepted and refused, each input also fed split at every byte position and byte
// by byte (ws_test_util.hpp: parse_all_splits), and the serializer.
#include "ws/frame.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>

#include "ws_test_util.hpp"

namespace portico::ws {
namespace {

using test::client_frame;
using test::parse_all_splits;
using test::parsed;

std::string hex(std::initializer_list<int> b) {
  std::string s;
  for (int v : b)
    s.push_back(static_cast<char>(v));
  return s;
}

const parser_options server_side{role::server, false};
const parser_options client_side{role::client, false};
const parser_options server_deflate{role::server, true};

void expect_error(const std::string& input, const parser_options& o = server_side) {
  const std::vector<parsed> out = parse_all_splits(input, o);
  ASSERT_FALSE(out.empty());
  EXPECT_TRUE(out.back().error) << test::describe(out);
  EXPECT_EQ(out.back().code, 1002);
}

// ---- RFC 6455 §5.7 ----------------------------------------------------------------------------

TEST(WsFrame, Rfc6455SingleFrameUnmaskedText) {
  const std::string in = hex({0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  const auto out = parse_all_splits(in, client_side);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::text);
  EXPECT_TRUE(out[0].fin);
  EXPECT_EQ(out[0].payload, "Hello");
  EXPECT_EQ(test::server_frame(opcode::text, "Hello"), in);
  // A server does not accept it: client frames must be masked.
  expect_error(in);
}

TEST(WsFrame, Rfc6455SingleFrameMaskedText) {
  const std::string in = hex({0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  const auto out = parse_all_splits(in, server_side);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload, "Hello");
  EXPECT_EQ(client_frame(opcode::text, "Hello"), in);
  expect_error(in, client_side);  // a client refuses masked frames
}

TEST(WsFrame, Rfc6455FragmentedUnmaskedText) {
  const std::string in = hex({0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f});
  const auto out = parse_all_splits(in, client_side);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].op, opcode::text);
  EXPECT_FALSE(out[0].fin);
  EXPECT_EQ(out[0].payload, "Hel");
  EXPECT_EQ(out[1].op, opcode::continuation);
  EXPECT_TRUE(out[1].fin);
  EXPECT_EQ(out[1].payload, "lo");
}

TEST(WsFrame, Rfc6455PingAndMaskedPong) {
  const std::string ping = hex({0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f});
  auto out = parse_all_splits(ping, client_side);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::ping);
  EXPECT_EQ(out[0].payload, "Hello");
  const std::string pong = hex({0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58});
  out = parse_all_splits(pong, server_side);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::pong);
  EXPECT_EQ(out[0].payload, "Hello");
  EXPECT_EQ(client_frame(opcode::pong, "Hello"), pong);
}

TEST(WsFrame, Rfc6455Binary256And64KiB) {
  std::string payload(256, '\0');
  for (std::size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<char>(i);
  std::string in = hex({0x82, 0x7e, 0x01, 0x00}) + payload;
  auto out = parse_all_splits(in, client_side);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].op, opcode::binary);
  EXPECT_EQ(out[0].payload, payload);
  EXPECT_EQ(test::server_frame(opcode::binary, payload), in);

  std::string big(65536, 'x');
  in = hex({0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}) + big;
  EXPECT_EQ(test::server_frame(opcode::binary, big), in);
  const auto whole = test::parse_pieces({in}, client_side);
  ASSERT_EQ(whole.size(), 1u);
  EXPECT_EQ(whole[0].length, 65536u);
  EXPECT_EQ(whole[0].payload, big);
  // Split around the header and at a few payload positions (every byte of 64 KiB is slow).
  for (std::size_t cut : {1u, 2u, 5u, 9u, 10u, 11u, 4097u, 65545u})
    EXPECT_EQ(test::parse_pieces({in.substr(0, cut), in.substr(cut)}, client_side), whole);
}

// ---- masking ----------------------------------------------------------------------------------

TEST(WsFrame, MaskedPayloadsOfEveryLengthAndSplit) {
  for (std::size_t n : {0u, 1u, 3u, 7u, 8u, 9u, 17u, 125u, 126u, 127u, 300u}) {
    std::string p(n, '\0');
    for (std::size_t i = 0; i < n; ++i)
      p[i] = static_cast<char>(i * 7 + 1);
    const auto out = parse_all_splits(client_frame(opcode::binary, p), server_side);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload, p) << n;
  }
}

TEST(WsFrame, UnmaskAtAnyOffsetMatchesBytewise) {
  std::vector<std::byte> data(40);
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = std::byte(i * 13);
  for (std::uint64_t off = 0; off < 8; ++off) {
    for (std::size_t n = 0; n <= data.size(); ++n) {
      std::vector<std::byte> a(data.begin(), data.begin() + n);
      unmask(a, test::test_mask, off);
      for (std::size_t i = 0; i < n; ++i)
        ASSERT_EQ(a[i], data[i] ^ test::test_mask[(off + i) % 4]) << off << " " << n;
    }
  }
}

// ---- header rules -----------------------------------------------------------------------------

TEST(WsFrame, UnmaskedClientFrameIs1002) {
  expect_error(test::server_frame(opcode::text, "hi"));
}

TEST(WsFrame, ReservedOpcodesAre1002) {
  for (int op : {3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf}) {
    std::string f = client_frame(opcode::binary, "x");
    f[0] = static_cast<char>(0x80 | op);
    expect_error(f);
  }
}

TEST(WsFrame, RsvBits) {
  for (int bit : {0x40, 0x20, 0x10}) {
    std::string f = client_frame(opcode::text, "x");
    f[0] = static_cast<char>(f[0] | bit);
    expect_error(f);  // no extension negotiated
    if (bit != 0x40) expect_error(f, server_deflate);
  }
  // RSV1 with permessage-deflate: on the first frame of a message only.
  const auto ok = parse_all_splits(client_frame(opcode::text, "x", true, true), server_deflate);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_TRUE(ok[0].rsv1);
  expect_error(client_frame(opcode::text, "x", false, true) +
                   client_frame(opcode::continuation, "y", true, true),
               server_deflate);
  expect_error(client_frame(opcode::ping, "", true, true), server_deflate);
}

TEST(WsFrame, ControlFrameRules) {
  // 125 bytes is fine, 126 is not (even with the 16-bit length form).
  EXPECT_EQ(parse_all_splits(client_frame(opcode::ping, std::string(125, 'p')), server_side)
                .back()
                .payload.size(),
            125u);
  expect_error(client_frame(opcode::ping, std::string(126, 'p')));
  expect_error(client_frame(opcode::close, std::string(200, 'p')));
  // Never fragmented.
  expect_error(client_frame(opcode::ping, "a", false));
  expect_error(client_frame(opcode::pong, "a", false));
  expect_error(client_frame(opcode::close, "", false));
}

TEST(WsFrame, FragmentationOrder) {
  // Continuation without a message.
  expect_error(client_frame(opcode::continuation, "x"));
  // A new message inside a fragmented one.
  expect_error(client_frame(opcode::text, "a", false) + client_frame(opcode::binary, "b"));
  // Control frames between fragments are fine.
  const auto out = parse_all_splits(
      client_frame(opcode::text, "a", false) + client_frame(opcode::ping, "p") +
          client_frame(opcode::continuation, "b", false) + client_frame(opcode::pong, "") +
          client_frame(opcode::continuation, "c", true) + client_frame(opcode::binary, "d"),
      server_side);
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[1].op, opcode::ping);
  EXPECT_EQ(out[4].payload, "c");
  EXPECT_EQ(out[5].op, opcode::binary);
}

TEST(WsFrame, LengthEncodings) {
  // 16-bit form for a length under 126, 64-bit form for one under 65536: not minimal.
  expect_error(hex({0x82, 0xfe, 0x00, 0x7d, 1, 2, 3, 4}) + std::string(125, 'x'));
  expect_error(hex({0x82, 0xff, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4}));
  // The most significant bit of the 64-bit length must be 0.
  expect_error(hex({0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}));
  // A huge (valid) length is reported at the header; the payload is streamed after it.
  const auto out = test::parse_pieces(
      {hex({0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4})}, server_side);
  EXPECT_TRUE(out.empty());
  frame_parser p(server_side);
  const std::string h =
      hex({0x82, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3, 4});
  const parse_result r = p.parse(test::bytes(h));
  EXPECT_EQ(r.status, parse_status::header);
  EXPECT_EQ(r.header.length, 0x7fffffffffffffffULL);
  EXPECT_EQ(p.remaining(), 0x7fffffffffffffffULL);
}

TEST(WsFrame, ErrorIsSticky) {
  frame_parser p(server_side);
  const std::string bad = test::server_frame(opcode::text, "x");
  const parse_result r1 = p.parse(test::bytes(bad));
  ASSERT_EQ(r1.status, parse_status::error);
  EXPECT_EQ(r1.consumed, 0u);
  EXPECT_FALSE(r1.error.detail.empty());
  const std::string good = client_frame(opcode::text, "x");
  EXPECT_EQ(p.parse(test::bytes(good)).status, parse_status::error);
  p.reset();
  EXPECT_EQ(p.parse(test::bytes(good)).status, parse_status::header);
}

TEST(WsFrame, ErrorsReportedBeforeTheLengthArrives) {
  // The first two octets show an unmasked frame: no need to wait for the 64-bit length.
  frame_parser p(server_side);
  const std::string two = hex({0x82, 0x7f});
  EXPECT_EQ(p.parse(test::bytes(two)).status, parse_status::error);
}

TEST(WsFrame, EncodeHeaderForms) {
  EXPECT_EQ(encode_header(opcode::text, true, false, 125).size, 2);
  EXPECT_EQ(encode_header(opcode::text, true, false, 126).size, 4);
  EXPECT_EQ(encode_header(opcode::text, true, false, 65535).size, 4);
  EXPECT_EQ(encode_header(opcode::text, true, false, 65536).size, 10);
  EXPECT_EQ(encode_header(opcode::text, true, false, 65536, &test::test_mask).size, 14);
  const header_bytes h = encode_header(opcode::binary, false, true, 3);
  EXPECT_EQ(static_cast<int>(h.data[0]), 0x42);
  EXPECT_EQ(static_cast<int>(h.data[1]), 3);
  // Round trip through the parser at every length form.
  for (std::size_t n : {0u, 125u, 126u, 65535u, 65536u}) {
    const std::string f = client_frame(opcode::binary, std::string(n, 'z'));
    const auto out = test::parse_pieces({f}, server_side);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].payload.size(), n);
  }
}

// Every prefix of a conversation placed at the very end of a readable page, followed by a page
// that faults on access: the parser never reads past its input (picohttpparser's over-read test).
TEST(WsFrame, NoReadPastTheInputAtAGuardPage) {
  const std::string input = client_frame(opcode::text, "Hel", false) +
                            client_frame(opcode::ping, "ping") +
                            client_frame(opcode::continuation, std::string(300, 'l')) +
                            client_frame(opcode::close, test::close_payload(1000, "bye"));
  const long page = sysconf(_SC_PAGESIZE);
  ASSERT_GT(page, static_cast<long>(input.size()));
  void* mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  char* base = static_cast<char*>(mem);
  ASSERT_EQ(mprotect(base + page, page, PROT_NONE), 0);
  const std::vector<parsed> expected = test::parse_pieces({input}, server_side);
  for (std::size_t k = 0; k <= input.size(); ++k) {
    char* start = base + page - k;
    std::memcpy(start, input.data(), k);
    frame_parser p(server_side);
    std::span<const std::byte> in(reinterpret_cast<const std::byte*>(start), k);
    std::size_t frames = 0;
    for (;;) {
      const parse_result r = p.parse(in);
      ASSERT_NE(r.status, parse_status::error);
      in = in.subspan(r.consumed);
      if (r.status == parse_status::need_more) break;
      if (r.frame_end) ++frames;
    }
    EXPECT_LE(frames, expected.size());
  }
  munmap(mem, 2 * page);
}

}  // namespace
}  // namespace portico::ws
