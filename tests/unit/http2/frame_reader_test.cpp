// Tests for the HTTP/2 frame reader (src/http2/frame_reader.cpp): every frame-level rule of
// RFC 9113 §4 and §6 and RFC 9218 §7.1, accepted and refused, each input also fed split at
// every byte position and byte by byte (frame_test_util.hpp: run_all_splits).
#include "http2/frame_reader.hpp"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "frame_test_util.hpp"
#include "http2/frame_writer.hpp"

namespace portico::http2 {
namespace {

using test::be32;
using test::outcome;
using test::raw_frame;
using test::run_all_splits;
using test::run_whole;
using test::setting_bytes;

constexpr std::uint8_t DATA = 0x0, HEADERS = 0x1, PRIORITY = 0x2, RST_STREAM = 0x3, SETTINGS = 0x4,
                       PUSH_PROMISE = 0x5, PING = 0x6, GOAWAY = 0x7, WINDOW_UPDATE = 0x8,
                       CONTINUATION = 0x9, PRIORITY_UPDATE = 0x10;
constexpr std::uint8_t END_STREAM = 0x1, ACK = 0x1, END_HEADERS = 0x4, PADDED = 0x8, PRIO = 0x20;

// Reads the first frame of `input` with a fresh reader. The input is kept for the rest of the
// test program, so the result's views stay valid.
read_result read_one(std::string input, const reader_limits& lim = {}) {
  static std::deque<std::string> kept;
  kept.push_back(std::move(input));
  frame_reader r(lim);
  return r.read(test::bytes(kept.back()));
}

// The input, split everywhere, ends in a connection error with `code`.
void expect_connection_error(const std::string& input, errc code, const reader_limits& lim = {}) {
  const std::vector<outcome> out = run_all_splits(input, lim);
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().status, read_status::connection_error) << test::describe(out);
  EXPECT_EQ(out.back().code, code) << test::describe(out);
  EXPECT_EQ(out.back().scope, error_scope::connection);
  EXPECT_FALSE(out.back().detail.empty());
}

// The single frame `input` is a stream error with `code` on `stream`, consumed whole, and the
// reader goes on: a PING after it is read.
void expect_stream_error(const std::string& input, errc code, std::uint32_t stream) {
  const std::string ping = raw_frame(PING, 0, 0, "12345678");
  const std::vector<outcome> out = run_all_splits(input + ping);
  ASSERT_EQ(out.size(), 2u) << test::describe(out);
  EXPECT_EQ(out[0].status, read_status::stream_error) << test::describe(out);
  EXPECT_EQ(out[0].code, code);
  EXPECT_EQ(out[0].scope, error_scope::stream);
  EXPECT_EQ(out[0].stream, stream);
  EXPECT_EQ(out[0].consumed, input.size());
  EXPECT_EQ(out[1].status, read_status::frame);
}

// The error is reported from the 9-octet header alone, before any payload byte arrived.
void expect_error_at_header(const std::string& input, errc code, const reader_limits& lim = {}) {
  ASSERT_GE(input.size(), frame_header_size);
  frame_reader r(lim);
  const read_result res = r.read(test::bytes(input).first(frame_header_size));
  EXPECT_EQ(res.status, read_status::connection_error);
  EXPECT_EQ(res.error.code, code);
}

// ---- frame header, sizes, unknown types -------------------------------------------------

TEST(Http2FrameReader, NeedMoreTellsHowManyBytes) {
  frame_reader r;
  EXPECT_EQ(r.read(std::span<const std::byte>()).needed, 9u);
  const std::string f = raw_frame(DATA, 0, 1, "hello");
  for (std::size_t k = 0; k < f.size(); ++k) {
    const read_result res = r.read(test::bytes(f).first(k));
    ASSERT_EQ(res.status, read_status::need_more) << k;
    EXPECT_EQ(res.consumed, 0u);
    EXPECT_EQ(res.needed, k < 9 ? 9 - k : f.size() - k) << k;
  }
  const read_result res = r.read(test::bytes(f));
  EXPECT_EQ(res.status, read_status::frame);
  EXPECT_EQ(res.consumed, f.size());
  EXPECT_EQ(res.needed, 0u);
}

TEST(Http2FrameReader, FrameLargerThanMaxFrameSizeFailsBeforeThePayload) {
  // RFC 9113 §4.2: FRAME_SIZE_ERROR; known only from the Length field.
  const std::string big(16385, 'x');
  expect_error_at_header(raw_frame(DATA, 0, 1, big), errc::frame_size_error);
  expect_error_at_header(raw_frame(DATA, 0, 1, "", 0xffffff), errc::frame_size_error);
  // Unknown types are size-checked too (RFC 9113 §5.5 ignores them only once they fit).
  expect_error_at_header(raw_frame(0xfa, 0, 0, big), errc::frame_size_error);
  expect_error_at_header(raw_frame(SETTINGS, 0, 0, "", 16386), errc::frame_size_error);
  // Exactly the limit is fine.
  EXPECT_EQ(read_one(raw_frame(DATA, 0, 1, std::string(16384, 'x'))).status, read_status::frame);
  // A raised limit accepts the larger frame; one octet more fails at once.
  reader_limits lim;
  lim.max_frame_size = 20000;
  EXPECT_EQ(read_one(raw_frame(DATA, 0, 1, big), lim).status, read_status::frame);
  expect_error_at_header(raw_frame(DATA, 0, 1, "", 20001), errc::frame_size_error, lim);
}

TEST(Http2FrameReader, MaxFrameSizeIsClampedToTheSettingRange) {
  frame_reader r;
  r.set_max_frame_size(100);
  EXPECT_EQ(r.max_frame_size(), 16384u);
  r.set_max_frame_size(1u << 30);
  EXPECT_EQ(r.max_frame_size(), 16777215u);
  reader_limits lim;
  lim.max_frame_size = 0;
  EXPECT_EQ(frame_reader(lim).max_frame_size(), 16384u);
}

TEST(Http2FrameReader, ReservedBitOfTheStreamIdIsIgnored) {
  // RFC 9113 §4.1: "MUST be ignored when receiving".
  const read_result r = read_one(raw_frame(DATA, 0, 0x80000001u, "x"));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(r.frame.header.stream_id, 1u);
  // With the bit ignored, 0x80000000 is stream 0: DATA there is a PROTOCOL_ERROR.
  expect_connection_error(raw_frame(DATA, 0, 0x80000000u, "x"), errc::protocol_error);
}

TEST(Http2FrameReader, UnknownFrameTypesAreIgnoredOnAnyStream) {
  // RFC 9113 §5.5.
  const std::string in = raw_frame(0x21, 0xff, 7, "extension") + raw_frame(0xff, 0, 0, "") +
                         raw_frame(PING, 0, 0, "abcdefgh");
  const std::vector<outcome> out = run_all_splits(in);
  ASSERT_EQ(out.size(), 3u) << test::describe(out);
  EXPECT_EQ(out[0].status, read_status::ignore);
  EXPECT_EQ(out[0].frame, "UNKNOWN(0x21) stream=7 length=9 flags=0xff payload=657874656e73696f6e");
  EXPECT_EQ(out[1].status, read_status::ignore);
  EXPECT_EQ(out[2].status, read_status::frame);
  const read_result r = read_one(raw_frame(0x21, 0xff, 7, "extension"));
  EXPECT_EQ(test::str(r.frame.payload), "extension");
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.frame.body));
}

TEST(Http2FrameReader, FlagsWithoutMeaningAreIgnored) {
  // RFC 9113 §4.1: a DATA frame with every undefined flag set (no END_STREAM, no PADDED).
  const read_result r = read_one(raw_frame(DATA, 0xf6, 1, "abc"));
  ASSERT_EQ(r.status, read_status::frame);
  const data_frame* d = r.frame.get<data_frame>();
  ASSERT_NE(d, nullptr);
  EXPECT_FALSE(d->end_stream);
  EXPECT_FALSE(d->padding);
  EXPECT_EQ(test::str(d->data), "abc");
  // PADDED (0x8) and PRIORITY (0x20) mean nothing on CONTINUATION or PING.
  const read_result p = read_one(raw_frame(PING, 0xfe, 0, "12345678"));
  ASSERT_EQ(p.status, read_status::frame);
  EXPECT_FALSE(p.frame.get<ping_frame>()->ack);
}

// ---- DATA (§6.1) ----------------------------------------------------------------------------

TEST(Http2FrameReader, DataFields) {
  const std::string in = raw_frame(DATA, END_STREAM, 3, "payload");
  frame_reader reader;
  const read_result r = reader.read(test::bytes(in));
  ASSERT_EQ(r.status, read_status::frame);
  const data_frame* d = r.frame.get<data_frame>();
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->end_stream);
  EXPECT_EQ(test::str(d->data), "payload");
  EXPECT_EQ(r.frame.header.stream_id, 3u);
  EXPECT_EQ(r.frame.header.length, 7u);
  // Zero copy: the data view points into the input.
  EXPECT_EQ(reinterpret_cast<const char*>(d->data.data()), in.data() + 9);
  // Empty DATA is valid.
  EXPECT_EQ(read_one(raw_frame(DATA, 0, 3, "")).status, read_status::frame);
}

TEST(Http2FrameReader, DataPadding) {
  // Pad Length 3: "ab" then three octets of padding (contents not checked).
  read_result r = read_one(raw_frame(DATA, PADDED, 1, std::string("\x03") + "ab" + "zzz"));
  ASSERT_EQ(r.status, read_status::frame);
  const data_frame* d = r.frame.get<data_frame>();
  EXPECT_EQ(test::str(d->data), "ab");
  EXPECT_EQ(d->padding, std::optional<std::uint8_t>(3));
  EXPECT_EQ(r.frame.header.length, 6u);  // flow control counts all of it (§6.9.1)
  // Padding filling everything after Pad Length: empty data, valid (pad < payload length).
  r = read_one(raw_frame(DATA, PADDED, 1, std::string("\x04") + "0000"));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_TRUE(r.frame.get<data_frame>()->data.empty());
  // PADDED with Pad Length 0.
  r = read_one(raw_frame(DATA, PADDED, 1, std::string(1, '\0') + "xy"));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(test::str(r.frame.get<data_frame>()->data), "xy");
  EXPECT_EQ(r.frame.get<data_frame>()->padding, std::optional<std::uint8_t>(0));
}

TEST(Http2FrameReader, DataErrors) {
  // §6.1: stream 0 -> connection PROTOCOL_ERROR, known from the header.
  expect_connection_error(raw_frame(DATA, 0, 0, "x"), errc::protocol_error);
  expect_error_at_header(raw_frame(DATA, 0, 0, "x"), errc::protocol_error);
  // §6.1: padding length >= payload length -> PROTOCOL_ERROR.
  expect_connection_error(raw_frame(DATA, PADDED, 1,
                                    "\x05"
                                    "abcd"),
                          errc::protocol_error);
  expect_connection_error(raw_frame(DATA, PADDED, 1, "\x01"), errc::protocol_error);
  expect_connection_error(raw_frame(DATA, PADDED, 1,
                                    "\xff"
                                    "abc"),
                          errc::protocol_error);
  // §4.2: PADDED but no room for Pad Length.
  expect_connection_error(raw_frame(DATA, PADDED, 1, ""), errc::frame_size_error);
}

// ---- HEADERS (§6.2) ----------------------------------------------------------------------

TEST(Http2FrameReader, HeadersFields) {
  read_result r = read_one(raw_frame(HEADERS, END_STREAM | END_HEADERS, 1, "\x82\x86\x84"));
  ASSERT_EQ(r.status, read_status::frame);
  const headers_frame* h = r.frame.get<headers_frame>();
  ASSERT_NE(h, nullptr);
  EXPECT_TRUE(h->end_stream);
  EXPECT_TRUE(h->end_headers);
  EXPECT_FALSE(h->priority);
  EXPECT_FALSE(h->padding);
  EXPECT_EQ(test::str(h->fragment), "\x82\x86\x84");

  // PRIORITY flag: E=1, dependency 3, weight octet 255 -> 256.
  r = read_one(raw_frame(HEADERS, END_HEADERS | PRIO, 5, be32(0x80000003u) + "\xff" + "frag"));
  ASSERT_EQ(r.status, read_status::frame);
  h = r.frame.get<headers_frame>();
  ASSERT_TRUE(h->priority);
  EXPECT_TRUE(h->priority->exclusive);
  EXPECT_EQ(h->priority->dependency, 3u);
  EXPECT_EQ(h->priority->weight, 256);
  EXPECT_EQ(test::str(h->fragment), "frag");
  // Not exclusive, weight octet 0 -> 1.
  r = read_one(raw_frame(HEADERS, END_HEADERS | PRIO, 5, be32(0) + std::string(1, '\0')));
  h = r.frame.get<headers_frame>();
  ASSERT_TRUE(h && h->priority);
  EXPECT_FALSE(h->priority->exclusive);
  EXPECT_EQ(h->priority->dependency, 0u);
  EXPECT_EQ(h->priority->weight, 1);
  EXPECT_TRUE(h->fragment.empty());

  // PADDED and PRIORITY together: Pad Length, priority fields, fragment, padding.
  r = read_one(raw_frame(HEADERS, END_HEADERS | PRIO | PADDED, 7,
                         std::string("\x02") + be32(1) + "\x0f" + "ab" + "00"));
  ASSERT_EQ(r.status, read_status::frame);
  h = r.frame.get<headers_frame>();
  EXPECT_EQ(test::str(h->fragment), "ab");
  EXPECT_EQ(h->padding, std::optional<std::uint8_t>(2));
  EXPECT_EQ(h->priority->weight, 16);
  // Padding taking everything after the fixed fields: empty fragment, valid.
  r = read_one(raw_frame(HEADERS, END_HEADERS | PADDED, 7,
                         "\x03"
                         "000"));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_TRUE(r.frame.get<headers_frame>()->fragment.empty());
}

TEST(Http2FrameReader, HeadersErrors) {
  // §6.2: stream 0.
  expect_connection_error(raw_frame(HEADERS, END_HEADERS, 0, "x"), errc::protocol_error);
  expect_error_at_header(raw_frame(HEADERS, END_HEADERS, 0, "x"), errc::protocol_error);
  // §6.2: padding exceeding what is left for the fragment.
  expect_connection_error(raw_frame(HEADERS, END_HEADERS | PADDED, 1,
                                    "\x04"
                                    "abc"),
                          errc::protocol_error);
  expect_connection_error(
      raw_frame(HEADERS, END_HEADERS | PADDED | PRIO, 1, std::string("\x01") + be32(0) + "\x10"),
      errc::protocol_error);
  // §4.2: too short for Pad Length / priority fields.
  expect_connection_error(raw_frame(HEADERS, END_HEADERS | PADDED, 1, ""), errc::frame_size_error);
  expect_connection_error(raw_frame(HEADERS, END_HEADERS | PRIO, 1, "abcd"),
                          errc::frame_size_error);
  expect_connection_error(
      raw_frame(HEADERS, END_HEADERS | PRIO | PADDED, 1, std::string(1, '\0') + "abcd"),
      errc::frame_size_error);
  expect_error_at_header(raw_frame(HEADERS, END_HEADERS | PRIO, 1, "abcd"), errc::frame_size_error);
}

TEST(Http2FrameReader, HeadersDependingOnItselfIsAStreamErrorThatKeepsTheFragment) {
  // RFC 9113 §5.3.1: stream PROTOCOL_ERROR; the fragment is still yielded for HPACK.
  const std::string in = raw_frame(HEADERS, END_HEADERS | PRIO, 3, be32(3) + "\x0f" + "blk");
  expect_stream_error(in, errc::protocol_error, 3);
  const read_result r = read_one(in);
  ASSERT_EQ(r.status, read_status::stream_error);
  ASSERT_NE(r.frame.get<headers_frame>(), nullptr);
  EXPECT_EQ(test::str(r.frame.get<headers_frame>()->fragment), "blk");
  // Without END_HEADERS the field block stays open: its CONTINUATION is accepted.
  const std::string open = raw_frame(HEADERS, PRIO, 3, be32(0x80000003u) + "\x0f" + "bl") +
                           raw_frame(CONTINUATION, END_HEADERS, 3, "k");
  const std::vector<outcome> out = run_all_splits(open);
  ASSERT_EQ(out.size(), 2u) << test::describe(out);
  EXPECT_EQ(out[0].status, read_status::stream_error);
  EXPECT_EQ(out[1].status, read_status::frame);
}

// ---- PRIORITY (§6.3) -----------------------------------------------------------------------

TEST(Http2FrameReader, Priority) {
  const read_result r = read_one(raw_frame(PRIORITY, 0xff, 9, be32(0x80000007u) + "\x07"));
  ASSERT_EQ(r.status, read_status::frame);
  const priority_frame* p = r.frame.get<priority_frame>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->priority, (priority_fields{true, 7, 8}));
  // Stream 0: connection error. Length other than 5: stream FRAME_SIZE_ERROR.
  expect_connection_error(raw_frame(PRIORITY, 0, 0, be32(1) + "\x07"), errc::protocol_error);
  expect_stream_error(raw_frame(PRIORITY, 0, 9, be32(1)), errc::frame_size_error, 9);
  expect_stream_error(raw_frame(PRIORITY, 0, 9, be32(1) + "ab"), errc::frame_size_error, 9);
  expect_stream_error(raw_frame(PRIORITY, 0, 9, ""), errc::frame_size_error, 9);
  // §5.3.1: depending on itself.
  expect_stream_error(raw_frame(PRIORITY, 0, 9, be32(9) + "\x07"), errc::protocol_error, 9);
}

// ---- RST_STREAM (§6.4) -----------------------------------------------------------------------

TEST(Http2FrameReader, RstStream) {
  read_result r = read_one(raw_frame(RST_STREAM, 0, 1, be32(8)));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(r.frame.get<rst_stream_frame>()->code, errc::cancel);
  // Unknown codes are kept as sent (§7).
  r = read_one(raw_frame(RST_STREAM, 0, 1, be32(0xdeadbeef)));
  EXPECT_EQ(static_cast<std::uint32_t>(r.frame.get<rst_stream_frame>()->code), 0xdeadbeefu);
  expect_connection_error(raw_frame(RST_STREAM, 0, 0, be32(8)), errc::protocol_error);
  expect_connection_error(raw_frame(RST_STREAM, 0, 1, "abc"), errc::frame_size_error);
  expect_connection_error(raw_frame(RST_STREAM, 0, 1, "abcde"), errc::frame_size_error);
  expect_error_at_header(raw_frame(RST_STREAM, 0, 1, "abcde"), errc::frame_size_error);
}

// ---- SETTINGS (§6.5) -------------------------------------------------------------------------

TEST(Http2FrameReader, SettingsEntries) {
  const std::string payload = setting_bytes(0x1, 0) + setting_bytes(0x3, 100) +
                              setting_bytes(0x4, 0x7fffffff) + setting_bytes(0x5, 16777215) +
                              setting_bytes(0x2, 0) + setting_bytes(0x2, 1) +
                              setting_bytes(0x8, 1) + setting_bytes(0x9, 1) +
                              setting_bytes(0x6, 0xffffffff) + setting_bytes(0xabcd, 0xffffffff);
  const read_result r = read_one(raw_frame(SETTINGS, 0, 0, payload));
  ASSERT_EQ(r.status, read_status::frame);
  const settings_frame* s = r.frame.get<settings_frame>();
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->ack);
  ASSERT_EQ(s->entries.size(), 10u);
  std::vector<setting> got(s->entries.begin(), s->entries.end());
  EXPECT_EQ(got[0], (setting{setting_id::header_table_size, 0}));
  EXPECT_EQ(got[2], (setting{setting_id::initial_window_size, 0x7fffffff}));
  EXPECT_EQ(got[9], (setting{static_cast<setting_id>(0xabcd), 0xffffffff}));
  EXPECT_EQ(s->entries[3], (setting{setting_id::max_frame_size, 16777215}));
  // Empty SETTINGS and the ACK.
  EXPECT_EQ(read_one(raw_frame(SETTINGS, 0, 0, "")).status, read_status::frame);
  const read_result ack = read_one(raw_frame(SETTINGS, ACK, 0, ""));
  ASSERT_EQ(ack.status, read_status::frame);
  EXPECT_TRUE(ack.frame.get<settings_frame>()->ack);
  EXPECT_TRUE(ack.frame.get<settings_frame>()->entries.empty());
}

TEST(Http2FrameReader, SettingsErrors) {
  expect_connection_error(raw_frame(SETTINGS, 0, 1, ""), errc::protocol_error);
  expect_error_at_header(raw_frame(SETTINGS, 0, 1, ""), errc::protocol_error);
  expect_connection_error(raw_frame(SETTINGS, ACK, 0, setting_bytes(1, 0)), errc::frame_size_error);
  expect_error_at_header(raw_frame(SETTINGS, ACK, 0, setting_bytes(1, 0)), errc::frame_size_error);
  expect_connection_error(raw_frame(SETTINGS, 0, 0, "12345"), errc::frame_size_error);
  expect_connection_error(raw_frame(SETTINGS, 0, 0, setting_bytes(1, 0) + "x"),
                          errc::frame_size_error);
  expect_error_at_header(raw_frame(SETTINGS, 0, 0, "1234567"), errc::frame_size_error);
}

TEST(Http2FrameReader, SettingsValues) {
  struct bad {
    std::uint16_t id;
    std::uint32_t value;
    errc code;
  };
  for (const bad& b :
       {bad{0x2, 2, errc::protocol_error}, bad{0x2, 0xffffffff, errc::protocol_error},
        bad{0x4, 0x80000000u, errc::flow_control_error},
        bad{0x4, 0xffffffff, errc::flow_control_error}, bad{0x5, 16383, errc::protocol_error},
        bad{0x5, 0, errc::protocol_error}, bad{0x5, 16777216, errc::protocol_error},
        bad{0x8, 2, errc::protocol_error}, bad{0x9, 2, errc::protocol_error}}) {
    SCOPED_TRACE(std::to_string(b.id) + "=" + std::to_string(b.value));
    // The bad value after a good one: the whole frame is refused.
    expect_connection_error(
        raw_frame(SETTINGS, 0, 0, setting_bytes(0x3, 10) + setting_bytes(b.id, b.value)), b.code);
  }
  for (const auto& [id, value] :
       std::vector<std::pair<std::uint16_t, std::uint32_t>>{{0x2, 0},
                                                            {0x2, 1},
                                                            {0x4, 0},
                                                            {0x4, 0x7fffffff},
                                                            {0x5, 16384},
                                                            {0x5, 16777215},
                                                            {0x8, 0},
                                                            {0x8, 1},
                                                            {0x9, 0},
                                                            {0x9, 1},
                                                            {0x1, 0xffffffff},
                                                            {0x3, 0},
                                                            {0x6, 0},
                                                            {0x7, 5},
                                                            {0xffff, 0xffffffff},
                                                            {0x0, 7}}) {
    SCOPED_TRACE(std::to_string(id) + "=" + std::to_string(value));
    EXPECT_EQ(read_one(raw_frame(SETTINGS, 0, 0, setting_bytes(id, value))).status,
              read_status::frame);
  }
}

// ---- PUSH_PROMISE (§6.6) -----------------------------------------------------------------------

TEST(Http2FrameReader, PushPromise) {
  read_result r = read_one(raw_frame(PUSH_PROMISE, END_HEADERS, 1, be32(0x80000002u) + "frag"));
  ASSERT_EQ(r.status, read_status::frame);
  const push_promise_frame* p = r.frame.get<push_promise_frame>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->promised_stream_id, 2u);  // reserved bit ignored
  EXPECT_TRUE(p->end_headers);
  EXPECT_EQ(test::str(p->fragment), "frag");
  r = read_one(
      raw_frame(PUSH_PROMISE, END_HEADERS | PADDED, 1, std::string("\x01") + be32(4) + "f" + "0"));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(test::str(r.frame.get<push_promise_frame>()->fragment), "f");
  EXPECT_EQ(r.frame.get<push_promise_frame>()->padding, std::optional<std::uint8_t>(1));

  expect_connection_error(raw_frame(PUSH_PROMISE, END_HEADERS, 0, be32(2)), errc::protocol_error);
  expect_connection_error(raw_frame(PUSH_PROMISE, END_HEADERS, 1, "abc"), errc::frame_size_error);
  expect_connection_error(
      raw_frame(PUSH_PROMISE, END_HEADERS | PADDED, 1, std::string(1, '\0') + "abc"),
      errc::frame_size_error);
  expect_connection_error(
      raw_frame(PUSH_PROMISE, END_HEADERS | PADDED, 1, std::string("\x02") + be32(2) + "a"),
      errc::protocol_error);
  expect_connection_error(raw_frame(PUSH_PROMISE, END_HEADERS, 1, be32(0x80000000u) + "f"),
                          errc::protocol_error);
}

// ---- PING (§6.7) -----------------------------------------------------------------------------

TEST(Http2FrameReader, Ping) {
  const read_result r = read_one(raw_frame(PING, ACK, 0, "\x01\x02\x03\x04\x05\x06\x07\x08"));
  ASSERT_EQ(r.status, read_status::frame);
  const ping_frame* p = r.frame.get<ping_frame>();
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->ack);
  EXPECT_EQ(p->opaque[0], std::byte{1});
  EXPECT_EQ(p->opaque[7], std::byte{8});
  expect_connection_error(raw_frame(PING, 0, 1, "12345678"), errc::protocol_error);
  expect_connection_error(raw_frame(PING, 0, 0, "1234567"), errc::frame_size_error);
  expect_connection_error(raw_frame(PING, 0, 0, "123456789"), errc::frame_size_error);
  expect_connection_error(raw_frame(PING, ACK, 0, ""), errc::frame_size_error);
  expect_error_at_header(raw_frame(PING, 0, 0, "123456789"), errc::frame_size_error);
}

// ---- GOAWAY (§6.8) ---------------------------------------------------------------------------

TEST(Http2FrameReader, Goaway) {
  read_result r = read_one(raw_frame(GOAWAY, 0, 0, be32(0x80000005u) + be32(0xb) + "calm down"));
  ASSERT_EQ(r.status, read_status::frame);
  const goaway_frame* g = r.frame.get<goaway_frame>();
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->last_stream_id, 5u);
  EXPECT_EQ(g->code, errc::enhance_your_calm);
  EXPECT_EQ(test::str(g->debug_data), "calm down");
  r = read_one(raw_frame(GOAWAY, 0, 0, be32(0) + be32(0x1234)));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(static_cast<std::uint32_t>(r.frame.get<goaway_frame>()->code), 0x1234u);
  EXPECT_TRUE(r.frame.get<goaway_frame>()->debug_data.empty());
  expect_connection_error(raw_frame(GOAWAY, 0, 3, be32(0) + be32(0)), errc::protocol_error);
  expect_connection_error(raw_frame(GOAWAY, 0, 0, "1234567"), errc::frame_size_error);
}

// ---- WINDOW_UPDATE (§6.9) ----------------------------------------------------------------------

TEST(Http2FrameReader, WindowUpdate) {
  read_result r = read_one(raw_frame(WINDOW_UPDATE, 0, 0, be32(0x7fffffff)));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(r.frame.get<window_update_frame>()->increment, 0x7fffffffu);
  r = read_one(raw_frame(WINDOW_UPDATE, 0, 3, be32(0x80000001u)));  // reserved bit ignored
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_EQ(r.frame.get<window_update_frame>()->increment, 1u);
  // Length other than 4: connection FRAME_SIZE_ERROR on any stream.
  expect_connection_error(raw_frame(WINDOW_UPDATE, 0, 0, "abc"), errc::frame_size_error);
  expect_connection_error(raw_frame(WINDOW_UPDATE, 0, 1, "abcde"), errc::frame_size_error);
  expect_error_at_header(raw_frame(WINDOW_UPDATE, 0, 1, "abcde"), errc::frame_size_error);
  // Increment 0: connection error on stream 0, stream error on a stream.
  expect_connection_error(raw_frame(WINDOW_UPDATE, 0, 0, be32(0)), errc::protocol_error);
  expect_connection_error(raw_frame(WINDOW_UPDATE, 0, 0, be32(0x80000000u)), errc::protocol_error);
  expect_stream_error(raw_frame(WINDOW_UPDATE, 0, 5, be32(0)), errc::protocol_error, 5);
  expect_stream_error(raw_frame(WINDOW_UPDATE, 0, 5, be32(0x80000000u)), errc::protocol_error, 5);
}

// ---- CONTINUATION and field blocks (§4.3, §6.2, §6.10) -----------------------------------------

TEST(Http2FrameReader, FieldBlockAcrossContinuations) {
  const std::string in =
      raw_frame(HEADERS, END_STREAM, 1, "ab") + raw_frame(CONTINUATION, 0, 1, "") +
      raw_frame(CONTINUATION, 0, 1, "cd") + raw_frame(CONTINUATION, END_HEADERS, 1, "ef") +
      raw_frame(DATA, 0, 1, "x") + raw_frame(PUSH_PROMISE, 0, 1, be32(2) + "gh") +
      raw_frame(CONTINUATION, END_HEADERS, 1, "ij");
  const std::vector<outcome> out = run_all_splits(in);
  ASSERT_EQ(out.size(), 7u) << test::describe(out);
  for (const outcome& o : out)
    EXPECT_EQ(o.status, read_status::frame);
  EXPECT_EQ(out[3].frame, "CONTINUATION stream=1 length=2 end_headers fragment=6566");

  frame_reader r;
  std::string_view rest = in;
  const auto next = [&] {
    const read_result res = r.read(test::bytes(rest));
    rest.remove_prefix(res.consumed);
    return res;
  };
  next();
  EXPECT_EQ(r.open_field_block(), 1u);
  next();
  next();
  EXPECT_EQ(r.open_field_block(), 1u);
  next();
  EXPECT_EQ(r.open_field_block(), 0u);
}

TEST(Http2FrameReader, FieldBlockMustBeContiguous) {
  const std::string open = raw_frame(HEADERS, 0, 1, "ab");
  // Any other type, even one that is always valid or unknown, inside the block.
  expect_connection_error(open + raw_frame(DATA, 0, 1, "x"), errc::protocol_error);
  expect_connection_error(open + raw_frame(PING, 0, 0, "12345678"), errc::protocol_error);
  expect_connection_error(open + raw_frame(SETTINGS, 0, 0, ""), errc::protocol_error);
  expect_connection_error(open + raw_frame(0xee, 0, 1, ""), errc::protocol_error);
  expect_connection_error(open + raw_frame(HEADERS, END_HEADERS, 3, "x"), errc::protocol_error);
  expect_connection_error(open + raw_frame(PRIORITY_UPDATE, 0, 0, be32(1)), errc::protocol_error);
  // A CONTINUATION of another stream, or on stream 0.
  expect_connection_error(open + raw_frame(CONTINUATION, END_HEADERS, 3, "x"),
                          errc::protocol_error);
  expect_connection_error(open + raw_frame(CONTINUATION, END_HEADERS, 0, "x"),
                          errc::protocol_error);
  // Detected from the header: the payload is never awaited.
  frame_reader r;
  ASSERT_EQ(r.read(test::bytes(open)).status, read_status::frame);
  EXPECT_EQ(r.read(test::bytes(raw_frame(DATA, 0, 1, "xyz")).first(9)).status,
            read_status::connection_error);
  // The same after PUSH_PROMISE without END_HEADERS.
  expect_connection_error(raw_frame(PUSH_PROMISE, 0, 1, be32(2)) + raw_frame(DATA, 0, 1, "x"),
                          errc::protocol_error);
}

TEST(Http2FrameReader, ContinuationWithoutAnOpenFieldBlock) {
  // RFC 9113 §6.10.
  expect_connection_error(raw_frame(CONTINUATION, END_HEADERS, 1, "x"), errc::protocol_error);
  expect_connection_error(raw_frame(CONTINUATION, 0, 0, "x"), errc::protocol_error);
  expect_connection_error(
      raw_frame(HEADERS, END_HEADERS, 1, "a") + raw_frame(CONTINUATION, END_HEADERS, 1, "b"),
      errc::protocol_error);
  expect_error_at_header(raw_frame(CONTINUATION, END_HEADERS, 1, "x"), errc::protocol_error);
}

TEST(Http2FrameReader, FieldBlockSizeLimit) {
  reader_limits lim;
  lim.max_field_block_size = 100;
  // 9+41 + 9+41 = 100: at the limit.
  const std::string a = raw_frame(HEADERS, 0, 1, std::string(41, 'a'));
  const std::string b = raw_frame(CONTINUATION, END_HEADERS, 1, std::string(41, 'b'));
  std::vector<outcome> out = run_all_splits(a + b, lim);
  ASSERT_EQ(out.size(), 2u) << test::describe(out);
  EXPECT_EQ(out[1].status, read_status::frame);
  // One octet more: ENHANCE_YOUR_CALM when the header of the crossing frame arrives.
  expect_connection_error(a + raw_frame(CONTINUATION, END_HEADERS, 1, std::string(42, 'b')),
                          errc::enhance_your_calm, lim);
  // A single HEADERS or PUSH_PROMISE over the limit.
  expect_connection_error(raw_frame(HEADERS, END_HEADERS, 1, std::string(92, 'a')),
                          errc::enhance_your_calm, lim);
  expect_connection_error(raw_frame(PUSH_PROMISE, END_HEADERS, 1, be32(2) + std::string(88, 'a')),
                          errc::enhance_your_calm, lim);
  // A flood of empty CONTINUATION frames is bounded too (9 octets each).
  std::string flood = raw_frame(HEADERS, 0, 1, "");
  for (int i = 0; i < 20; ++i)
    flood += raw_frame(CONTINUATION, 0, 1, "");
  out = run_whole(flood, lim);
  ASSERT_EQ(out.back().status, read_status::connection_error);
  EXPECT_EQ(out.back().code, errc::enhance_your_calm);
  EXPECT_EQ(out.size(), 12u);  // HEADERS + 10 CONTINUATIONs = 99 octets; the 12th frame fails
  // The count restarts with each block.
  std::string blocks;
  for (int i = 0; i < 5; ++i)
    blocks += a + b;
  out = run_whole(blocks, lim);
  EXPECT_EQ(out.size(), 10u);
  EXPECT_EQ(out.back().status, read_status::frame);
}

// ---- PRIORITY_UPDATE (RFC 9218 §7.1)
// -------------------------------------------------------------

TEST(Http2FrameReader, PriorityUpdate) {
  read_result r = read_one(raw_frame(PRIORITY_UPDATE, 0, 0, be32(0x80000003u) + "u=3, i"));
  ASSERT_EQ(r.status, read_status::frame);
  const priority_update_frame* p = r.frame.get<priority_update_frame>();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->prioritized_stream_id, 3u);
  EXPECT_EQ(p->field_value, "u=3, i");
  r = read_one(raw_frame(PRIORITY_UPDATE, 0, 0, be32(5)));
  ASSERT_EQ(r.status, read_status::frame);
  EXPECT_TRUE(r.frame.get<priority_update_frame>()->field_value.empty());
  expect_connection_error(raw_frame(PRIORITY_UPDATE, 0, 1, be32(1)), errc::protocol_error);
  expect_connection_error(raw_frame(PRIORITY_UPDATE, 0, 0, "abc"), errc::frame_size_error);
  expect_connection_error(raw_frame(PRIORITY_UPDATE, 0, 0, ""), errc::frame_size_error);
  expect_error_at_header(raw_frame(PRIORITY_UPDATE, 0, 0, "abc"), errc::frame_size_error);
  expect_connection_error(raw_frame(PRIORITY_UPDATE, 0, 0, be32(0) + "u=1"), errc::protocol_error);
}

// ---- reader state ----------------------------------------------------------------------------

TEST(Http2FrameReader, ConnectionErrorIsStickyUntilReset) {
  frame_reader r;
  const std::string bad = raw_frame(PING, 0, 1, "12345678");
  const std::string good = raw_frame(PING, 0, 0, "12345678");
  read_result res = r.read(test::bytes(bad));
  ASSERT_EQ(res.status, read_status::connection_error);
  EXPECT_EQ(res.error.detail, "PING on a stream");
  EXPECT_TRUE(r.failed());
  res = r.read(test::bytes(good));
  EXPECT_EQ(res.status, read_status::connection_error);
  EXPECT_EQ(res.error.code, errc::protocol_error);
  EXPECT_EQ(res.consumed, 0u);
  r.reset();
  EXPECT_FALSE(r.failed());
  EXPECT_EQ(r.read(test::bytes(good)).status, read_status::frame);
  // reset() also closes an open field block.
  ASSERT_EQ(r.read(test::bytes(raw_frame(HEADERS, 0, 1, "a"))).status, read_status::frame);
  r.reset();
  EXPECT_EQ(r.open_field_block(), 0u);
  EXPECT_EQ(r.read(test::bytes(good)).status, read_status::frame);
}

TEST(Http2FrameReader, ReadsFromCharBuffers) {
  const std::string f = raw_frame(DATA, 0, 1, "abc");
  frame_reader r;
  const read_result res = r.read(std::span<const char>(f.data(), f.size()));
  ASSERT_EQ(res.status, read_status::frame);
  EXPECT_EQ(reinterpret_cast<const char*>(res.frame.get<data_frame>()->data.data()), f.data() + 9);
}

// A multi-frame conversation with every frame type, stream errors and unknown frames in the
// middle and a connection error at the end, split at every byte position.
std::string conversation() {
  std::string s;
  s += raw_frame(SETTINGS, 0, 0, setting_bytes(0x3, 100) + setting_bytes(0x4, 1 << 20));
  s += raw_frame(SETTINGS, ACK, 0, "");
  s += raw_frame(WINDOW_UPDATE, 0, 0, be32(1 << 24));
  s += raw_frame(HEADERS, PRIO | PADDED, 1, std::string("\x03") + be32(0) + "\x20" + "hdr" + "pad");
  s += raw_frame(CONTINUATION, 0, 1, "c1");
  s += raw_frame(CONTINUATION, END_HEADERS, 1, "c2");
  s += raw_frame(PRIORITY_UPDATE, 0, 0, be32(1) + "u=0");
  s += raw_frame(DATA, PADDED, 1,
                 "\x02"
                 "body"
                 "00");
  s += raw_frame(0x42, 0x3, 1, "ext");
  s += raw_frame(PRIORITY, 0, 3, be32(1) + std::string(1, '\0'));
  s += raw_frame(PRIORITY, 0, 5, "bad");         // stream FRAME_SIZE_ERROR
  s += raw_frame(WINDOW_UPDATE, 0, 1, be32(0));  // stream PROTOCOL_ERROR
  s += raw_frame(DATA, END_STREAM, 1, "");
  s += raw_frame(PUSH_PROMISE, END_HEADERS, 1, be32(2) + "pp");
  s += raw_frame(RST_STREAM, 0, 3, be32(8));
  s += raw_frame(PING, 0, 0, "pingpong");
  s += raw_frame(PING, ACK, 0, "pingpong");
  s += raw_frame(GOAWAY, 0, 0, be32(1) + be32(0) + "bye");
  s += raw_frame(DATA, 0, 0, "x");  // connection error
  return s;
}

TEST(Http2FrameReader, ConversationSplitAtEveryByte) {
  const std::vector<outcome> out = run_all_splits(conversation());
  ASSERT_EQ(out.size(), 19u) << test::describe(out);
  EXPECT_EQ(out[8].status, read_status::ignore);
  EXPECT_EQ(out[10].status, read_status::stream_error);
  EXPECT_EQ(out[11].status, read_status::stream_error);
  EXPECT_EQ(out[18].status, read_status::connection_error);
  for (std::size_t i : {0, 1, 2, 3, 4, 5, 6, 7, 9, 12, 13, 14, 15, 16, 17})
    EXPECT_EQ(out[i].status, read_status::frame) << i << "\n" << test::describe(out);
  EXPECT_EQ(out[3].frame,
            "HEADERS stream=1 length=12 depends_on=0 weight=33 padding=3 fragment=686472");
  // A truncated conversation ends with need_more.
  const std::string c = conversation();
  const std::vector<outcome> cut = run_all_splits(c.substr(0, c.size() - 11));
  EXPECT_EQ(cut.back().status, read_status::need_more);
}

// picohttpparser's over-read test: every prefix of the conversation sits at the very end of a
// page followed by an inaccessible page, so a read past the end faults.
TEST(Http2FrameReader, NoReadPastTheEnd) {
  const std::string input = conversation();
  const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  ASSERT_LE(input.size(), page);
  void* mem = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(mem, MAP_FAILED);
  char* base = static_cast<char*>(mem);
  ASSERT_EQ(mprotect(base + page, page, PROT_NONE), 0);
  std::size_t frames = 0;
  for (std::size_t k = 0; k <= input.size(); ++k) {
    char* start = base + page - k;
    std::memcpy(start, input.data(), k);
    frame_reader r;
    std::size_t off = 0;
    for (;;) {
      const read_result res = r.read(std::span<const char>(start + off, k - off));
      if (res.status == read_status::need_more || res.status == read_status::connection_error)
        break;
      off += res.consumed;
      ++frames;
    }
    EXPECT_LE(off, k);
  }
  EXPECT_GT(frames, 0u);
  munmap(mem, 2 * page);
}

}  // namespace
}  // namespace portico::http2
