// Tests for the HTTP/2 frame writer (src/http2/frame_writer.cpp): exact bytes against the
// RFC 9113 §6 layouts, the zero-copy prefixes, every frame type through writer and reader, and
// the field block splitter.
#include "http2/frame_writer.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frame_test_util.hpp"
#include "http2/frame_reader.hpp"

namespace portico::http2 {
namespace {

using namespace std::string_literals;
using test::be32;
using test::bytes;
using test::raw_frame;

std::string hex(std::string_view s) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out += digits[c >> 4];
    out += digits[c & 0xf];
  }
  return out;
}

// Reads exactly one frame from `wire` and returns it (views into `wire`).
frame_view read_back(const std::string& wire, const reader_limits& lim = {}) {
  frame_reader r(lim);
  const read_result res = r.read(bytes(wire));
  EXPECT_EQ(res.status, read_status::frame) << describe(res.frame) << " " << res.error.detail;
  EXPECT_EQ(res.consumed, wire.size());
  return res.frame;
}

TEST(Http2FrameWriter, ExactBytes) {
  std::string out;
  append_frame(out, settings_frame{true, {}});
  EXPECT_EQ(hex(out), "000000040100000000");

  out.clear();
  const setting entries[] = {{setting_id::max_concurrent_streams, 100},
                             {setting_id::initial_window_size, 65535}};
  append_settings(out, entries);
  EXPECT_EQ(hex(out),
            "00000c040000000000"
            "000300000064"
            "00040000ffff");

  out.clear();
  append_frame(out, ping_frame{true,
                               {std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4},
                                std::byte{5}, std::byte{6}, std::byte{7}, std::byte{8}}});
  EXPECT_EQ(hex(out),
            "000008060100000000"
            "0102030405060708");

  out.clear();
  append_frame(out, 3, window_update_frame{0x7fffffff});
  EXPECT_EQ(hex(out),
            "000004080000000003"
            "7fffffff");

  out.clear();
  append_frame(out, 5, rst_stream_frame{errc::refused_stream});
  EXPECT_EQ(hex(out),
            "000004030000000005"
            "00000007");

  out.clear();
  append_frame(out, goaway_frame{7, errc::protocol_error, bytes("hi")});
  EXPECT_EQ(hex(out),
            "00000a070000000000"
            "00000007"
            "00000001"
            "6869");

  out.clear();
  append_frame(out, 1, data_frame{bytes("abc"), true, 2});
  EXPECT_EQ(hex(out),
            "000006000900000001"
            "02"
            "616263"
            "0000");

  out.clear();
  append_frame(out, 1, headers_frame{bytes("\x82"), true, true, priority_fields{true, 3, 256}, 1});
  EXPECT_EQ(hex(out),
            "000008012d00000001"
            "01"
            "80000003"
            "ff"
            "82"
            "00");

  out.clear();
  append_frame(out, 9, priority_frame{{false, 7, 1}});
  EXPECT_EQ(hex(out),
            "000005020000000009"
            "00000007"
            "00");

  out.clear();
  append_frame(out, 1, push_promise_frame{2, bytes("\x88"), true, std::nullopt});
  EXPECT_EQ(hex(out),
            "000005050400000001"
            "00000002"
            "88");

  out.clear();
  append_frame(out, 1, continuation_frame{bytes("xy"), true});
  EXPECT_EQ(hex(out),
            "000002090400000001"
            "7879");

  out.clear();
  append_frame(out, priority_update_frame{1, "u=2"});
  EXPECT_EQ(hex(out),
            "000007100000000000"
            "00000001"
            "753d32");
}

TEST(Http2FrameWriter, ReservedBitsAreZeroAndStreamIdsMasked) {
  std::string out;
  append_frame(out, 0xffffffffu, window_update_frame{0xffffffffu});
  EXPECT_EQ(hex(out),
            "0000040800"
            "7fffffff"
            "7fffffff");
  out.clear();
  append_frame(out, goaway_frame{0xffffffffu, errc::no_error, {}});
  EXPECT_EQ(hex(out),
            "000008070000000000"
            "7fffffff"
            "00000000");
}

TEST(Http2FrameWriter, FrameHeader) {
  const frame_prefix p = encode_frame_header({0x123456, frame_type::goaway, 0xab, 0x89abcdef});
  EXPECT_EQ(hex(p.view()), "12345607ab09abcdef");
  const frame_header h =
      decode_frame_header(std::as_bytes(std::span<const char, 9>(p.bytes.data(), 9)));
  EXPECT_EQ(h, (frame_header{0x123456, frame_type::goaway, 0xab, 0x09abcdef}));
}

TEST(Http2FrameWriter, PrefixThenPayloadThenPaddingIsTheWholeFrame) {
  // The zero-copy way (writev of prefix, payload, padding) gives the same bytes as append.
  const std::string body(1000, 'b');
  for (const std::optional<std::uint8_t> pad :
       {std::optional<std::uint8_t>(), std::optional<std::uint8_t>(0),
        std::optional<std::uint8_t>(255)}) {
    const data_frame d{bytes(body), false, pad};
    std::string whole;
    append_frame(whole, 11, d);
    const std::string pieces =
        std::string(data_prefix(11, d).view()) + body + std::string(padding_bytes(pad.value_or(0)));
    EXPECT_EQ(whole, pieces);
    const frame_view f = read_back(whole);
    EXPECT_EQ(test::str(f.get<data_frame>()->data), body);
    EXPECT_EQ(f.get<data_frame>()->padding, pad);

    const headers_frame h{bytes(body), false, true, priority_fields{false, 0, 16}, pad};
    whole.clear();
    append_frame(whole, 11, h);
    EXPECT_EQ(whole, std::string(headers_prefix(11, h).view()) + body +
                         std::string(padding_bytes(pad.value_or(0))));
    EXPECT_EQ(headers_prefix(11, h).size, 9 + (pad ? 1 : 0) + 5);

    const push_promise_frame pp{4, bytes(body), true, pad};
    whole.clear();
    append_frame(whole, 11, pp);
    EXPECT_EQ(whole, std::string(push_promise_prefix(11, pp).view()) + body +
                         std::string(padding_bytes(pad.value_or(0))));
  }
  EXPECT_EQ(padding_bytes(255), std::string(255, '\0'));
  EXPECT_TRUE(padding_bytes(0).empty());
}

// Every frame type, written and read back: the reader yields the fields the writer was given.
TEST(Http2FrameWriter, RoundTripEveryFrameType) {
  const std::string block = "\x82\x86\x84\x41\x8a\x08\x9d\x5c\x0b\x81\x70\xdc\x78\x0f\x03"s;
  const setting entries[] = {{setting_id::header_table_size, 0},
                             {setting_id::enable_push, 0},
                             {setting_id::max_frame_size, 16777215},
                             {setting_id::no_rfc7540_priorities, 1},
                             {static_cast<setting_id>(0x4242), 7}};
  std::string settings_wire;
  append_settings(settings_wire, entries);
  const std::string settings_payload = settings_wire.substr(9);

  struct item {
    std::uint32_t stream;
    frame_body body;
    std::string expected;  // describe() after the round trip
  };
  const std::vector<item> items = {
      {1, data_frame{bytes("hello"), true, std::nullopt},
       "DATA stream=1 length=5 end_stream data=68656c6c6f"},
      {3, data_frame{bytes(""), false, 7}, "DATA stream=3 length=8 padding=7 data="},
      {1, headers_frame{bytes(block), true, true, std::nullopt, std::nullopt},
       "HEADERS stream=1 length=15 end_stream end_headers fragment=" + hex(block)},
      {5, headers_frame{bytes(block), false, true, priority_fields{true, 3, 201}, 4},
       "HEADERS stream=5 length=25 end_headers exclusive depends_on=3 weight=201 padding=4 "
       "fragment=" +
           hex(block)},
      {7, priority_frame{{false, 5, 1}}, "PRIORITY stream=7 length=5 depends_on=5 weight=1"},
      {7, rst_stream_frame{errc::http_1_1_required}, "RST_STREAM stream=7 length=4 code=13"},
      {0, settings_frame{false, settings_view(bytes(settings_payload))},
       "SETTINGS stream=0 length=30 1=0 2=0 5=16777215 9=1 16962=7"},
      {0, settings_frame{true, {}}, "SETTINGS stream=0 length=0 ack"},
      {1, push_promise_frame{2, bytes(block), true, 0},
       "PUSH_PROMISE stream=1 length=20 promised=2 end_headers padding=0 fragment=" + hex(block)},
      {0, ping_frame{false, {std::byte{0xff}}}, "PING stream=0 length=8 opaque=ff00000000000000"},
      {0, ping_frame{true, {}}, "PING stream=0 length=8 ack opaque=0000000000000000"},
      {0, goaway_frame{0x7fffffff, static_cast<errc>(0xfffffffe), bytes("debug")},
       "GOAWAY stream=0 length=13 last_stream=2147483647 code=4294967294 debug=6465627567"},
      {0, window_update_frame{1}, "WINDOW_UPDATE stream=0 length=4 increment=1"},
      {9, window_update_frame{0x7fffffff}, "WINDOW_UPDATE stream=9 length=4 increment=2147483647"},
      {0, priority_update_frame{0x7fffffff, "u=7, i"},
       "PRIORITY_UPDATE stream=0 length=10 prioritized=2147483647 value=753d372c2069"},
  };
  std::string all;
  for (const item& it : items) {
    SCOPED_TRACE(it.expected);
    frame_view in;
    in.header.stream_id = it.stream;
    in.body = it.body;
    std::string wire;
    append_frame(wire, in);
    const frame_view out = read_back(wire);
    EXPECT_EQ(describe(out), it.expected);
    EXPECT_EQ(out.header.stream_id, it.stream);
    EXPECT_EQ(out.body.index(), it.body.index());
    // Written again from what was read: the same bytes.
    std::string again;
    append_frame(again, out);
    EXPECT_EQ(hex(again), hex(wire));
    all += wire;
  }
  // CONTINUATION needs an open field block: HEADERS without END_HEADERS first.
  std::string cont;
  append_frame(cont, 1, headers_frame{bytes("ab"), false, false, std::nullopt, std::nullopt});
  append_frame(cont, 1, continuation_frame{bytes("cd"), false});
  append_frame(cont, 1, continuation_frame{bytes("ef"), true});
  all += cont;
  // Extension frames go out raw and come back as ignore.
  append_frame(all, frame_header{0, static_cast<frame_type>(0xbb), 0x5a, 3}, bytes("ext"));

  const std::vector<test::outcome> out = test::run_all_splits(all);
  ASSERT_EQ(out.size(), items.size() + 4) << test::describe(out);
  for (std::size_t i = 0; i < items.size(); ++i)
    EXPECT_EQ(out[i].frame, items[i].expected);
  EXPECT_EQ(out[items.size() + 2].frame,
            "CONTINUATION stream=1 length=2 end_headers fragment=6566");
  EXPECT_EQ(out.back().status, read_status::ignore);
  EXPECT_EQ(out.back().frame, "UNKNOWN(0xbb) stream=3 length=3 flags=0x5a payload=657874");
}

TEST(Http2FrameWriter, RewritingNormalisesWhatReceiversIgnore) {
  // Undefined flags, reserved bits and padding contents do not survive a rewrite.
  const std::string in = raw_frame(0x0, 0xf7 | 0x08, 0x80000001u,
                                   "\x01"
                                   "ab"
                                   "Z");
  frame_reader r;
  const read_result res = r.read(bytes(in));
  ASSERT_EQ(res.status, read_status::frame);
  std::string out;
  append_frame(out, res.frame);
  EXPECT_EQ(hex(out),
            "000004000900000001"
            "01"
            "6162"
            "00");
  // A frame yielded unparsed (a stream error) is rewritten raw.
  const std::string bad = raw_frame(0x2, 0xff, 0x80000003u, "abc");
  const read_result b = r.read(bytes(bad));
  ASSERT_EQ(b.status, read_status::stream_error);
  out.clear();
  append_frame(out, b.frame);
  EXPECT_EQ(hex(out),
            "00000302ff00000003"
            "616263");
}

// ---- field block splitting ------------------------------------------------------------------

// Reads every frame of `wire`; returns the reassembled field block and the frame count, and
// checks that only the last frame ends the block.
std::pair<std::string, std::size_t> reassemble(const std::string& wire, frame_type first) {
  frame_reader r;
  std::string_view rest = wire;
  std::string block;
  std::size_t n = 0;
  while (!rest.empty()) {
    const read_result res = r.read(bytes(rest));
    EXPECT_EQ(res.status, read_status::frame) << res.error.detail;
    if (res.status != read_status::frame) break;
    EXPECT_LE(res.frame.header.length, 16384u);
    EXPECT_EQ(res.frame.header.type, n == 0 ? first : frame_type::continuation);
    EXPECT_EQ(res.frame.header.stream_id, 5u);
    bool end = false;
    if (const auto* h = res.frame.get<headers_frame>()) {
      block += test::str(h->fragment);
      end = h->end_headers;
    } else if (const auto* p = res.frame.get<push_promise_frame>()) {
      block += test::str(p->fragment);
      end = p->end_headers;
    } else if (const auto* c = res.frame.get<continuation_frame>()) {
      block += test::str(c->fragment);
      end = c->end_headers;
    }
    rest.remove_prefix(res.consumed);
    ++n;
    EXPECT_EQ(end, rest.empty());
  }
  EXPECT_EQ(r.open_field_block(), 0u);
  return {block, n};
}

std::string pattern(std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(i * 7 + i / 251);
  return s;
}

TEST(Http2FrameWriter, FieldBlockSplitsIntoHeadersAndContinuations) {
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{16384},
                                 std::size_t{16385}, std::size_t{40000}, std::size_t{3 * 16384}}) {
    SCOPED_TRACE(size);
    const std::string block = pattern(size);
    std::string wire;
    append_field_block(wire, 5,
                       headers_frame{bytes(block), true, false, std::nullopt, std::nullopt}, 16384);
    const auto [got, frames] = reassemble(wire, frame_type::headers);
    EXPECT_EQ(got, block);
    EXPECT_EQ(frames, size == 0 ? 1 : (size + 16383) / 16384);
    // END_STREAM is on the HEADERS frame only.
    EXPECT_EQ(static_cast<std::uint8_t>(wire[4]) & flags::end_stream, flags::end_stream);
  }
}

TEST(Http2FrameWriter, FieldBlockFirstFrameKeepsRoomForItsFields) {
  // PRIORITY (5) and padding (1 + 10) share the first frame's 16384 octets with the fragment.
  const std::string block = pattern(16384);
  std::string wire;
  append_field_block(wire, 5, headers_frame{bytes(block), false, true, priority_fields{}, 10},
                     16384);
  const auto [got, frames] = reassemble(wire, frame_type::headers);
  EXPECT_EQ(got, block);
  EXPECT_EQ(frames, 2u);
  frame_reader r;
  const read_result first = r.read(bytes(wire));
  EXPECT_EQ(first.frame.header.length, 16384u);
  EXPECT_EQ(first.frame.get<headers_frame>()->fragment.size(), 16384u - 16);
  EXPECT_EQ(first.frame.get<headers_frame>()->padding, std::optional<std::uint8_t>(10));

  // The splitter's pieces, sent in order, are the same bytes (the writev path).
  field_block_splitter s(5, headers_frame{bytes(block), false, true, priority_fields{}, 10}, 16384);
  std::string pieces;
  int n = 0;
  while (!s.done()) {
    const field_block_frame f = s.next();
    pieces.append(f.prefix.view()).append(test::str(f.fragment)).append(f.padding);
    EXPECT_EQ(f.padding.size(), n == 0 ? 10u : 0u);
    ++n;
  }
  EXPECT_EQ(pieces, wire);
}

TEST(Http2FrameWriter, FieldBlockUsesThePeersMaxFrameSize) {
  const std::string block = pattern(100000);
  std::string wire;
  append_field_block(wire, 5, headers_frame{bytes(block), false, false, std::nullopt, std::nullopt},
                     65536);
  reader_limits lim;
  lim.max_frame_size = 65536;
  frame_reader r(lim);
  const read_result first = r.read(bytes(wire));
  ASSERT_EQ(first.status, read_status::frame);
  EXPECT_EQ(first.frame.header.length, 65536u);
  // A maximum below the protocol minimum is raised to 16384.
  wire.clear();
  append_field_block(wire, 5, headers_frame{bytes(block), false, false, std::nullopt, std::nullopt},
                     100);
  EXPECT_EQ(reassemble(wire, frame_type::headers).second, 7u);
}

TEST(Http2FrameWriter, PushPromiseFieldBlock) {
  const std::string block = pattern(20000);
  std::string wire;
  append_field_block(wire, 5, push_promise_frame{6, bytes(block), false, std::nullopt}, 16384);
  const auto [got, frames] = reassemble(wire, frame_type::push_promise);
  EXPECT_EQ(got, block);
  EXPECT_EQ(frames, 2u);
  frame_reader r;
  const read_result first = r.read(bytes(wire));
  EXPECT_EQ(first.frame.get<push_promise_frame>()->promised_stream_id, 6u);
  EXPECT_EQ(first.frame.get<push_promise_frame>()->fragment.size(), 16380u);
}

}  // namespace
}  // namespace portico::http2
