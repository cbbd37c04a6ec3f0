// Tests for the HTTP/2 constants, error category, settings values and frame rendering
// (src/http2/constants.hpp, errors.cpp, frame.cpp).
#include "http2/frame.hpp"

#include <gtest/gtest.h>

#include <string>

#include "frame_test_util.hpp"
#include "http2/constants.hpp"
#include "http2/errors.hpp"

namespace portico::http2 {
namespace {

TEST(Http2Constants, WireValues) {
  // RFC 9113 §6, RFC 9218 §7.1.
  EXPECT_EQ(static_cast<int>(frame_type::data), 0x0);
  EXPECT_EQ(static_cast<int>(frame_type::continuation), 0x9);
  EXPECT_EQ(static_cast<int>(frame_type::priority_update), 0x10);
  // RFC 9113 §6.5.2, RFC 8441 §3, RFC 9218 §2.1.
  EXPECT_EQ(static_cast<int>(setting_id::max_header_list_size), 0x6);
  EXPECT_EQ(static_cast<int>(setting_id::enable_connect_protocol), 0x8);
  EXPECT_EQ(static_cast<int>(setting_id::no_rfc7540_priorities), 0x9);
  // RFC 9113 §7: 14 codes, 0x0..0xd.
  EXPECT_EQ(static_cast<int>(errc::http_1_1_required), 0xd);
  EXPECT_EQ(default_initial_window_size, 65535u);
  EXPECT_EQ(max_window_size, (1u << 31) - 1);
  EXPECT_EQ(min_max_frame_size, 1u << 14);
  EXPECT_EQ(max_max_frame_size, (1u << 24) - 1);
  EXPECT_EQ(client_preface.size(), 24u);
}

TEST(Http2Preface, MatchesIncrementally) {
  // RFC 9113 §3.4.
  const std::string_view p = client_preface;
  EXPECT_EQ(p, std::string_view("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"));
  for (std::size_t k = 0; k < p.size(); ++k)
    EXPECT_EQ(match_client_preface(p.substr(0, k)), preface_match::need_more) << k;
  EXPECT_EQ(match_client_preface(p), preface_match::yes);
  // The client's SETTINGS usually follows in the same read.
  EXPECT_EQ(match_client_preface(std::string(p) + test::raw_frame(4, 0, 0, "")),
            preface_match::yes);
}

TEST(Http2Preface, TellsHttp1Apart) {
  EXPECT_EQ(match_client_preface("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), preface_match::no);
  EXPECT_EQ(match_client_preface("G"), preface_match::no);
  EXPECT_EQ(match_client_preface("POST"), preface_match::no);
  // "PRI" could still be either until a byte differs.
  EXPECT_EQ(match_client_preface("PRI"), preface_match::need_more);
  EXPECT_EQ(match_client_preface("PRI / HTTP/1.1\r\n"), preface_match::no);
  EXPECT_EQ(match_client_preface("PRI * HTTP/1.1\r\n\r\n"), preface_match::no);
  // The HTTP/2 request line without the "SM" part (an HTTP/1-style PRI request).
  EXPECT_EQ(match_client_preface("PRI * HTTP/2.0\r\n\r\nGET / HTTP/1.1"), preface_match::no);
  // Every single-byte change is a "no" as soon as that byte is in.
  for (std::size_t i = 0; i < client_preface.size(); ++i) {
    std::string bad(client_preface);
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    EXPECT_EQ(match_client_preface(std::string_view(bad).substr(0, i)), preface_match::need_more);
    EXPECT_EQ(match_client_preface(std::string_view(bad).substr(0, i + 1)), preface_match::no);
  }
  static_assert(match_client_preface("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") == preface_match::yes);
}

TEST(Http2Errors, CategoryMirrorsTheRfcCodes) {
  const std::error_code ec = errc::flow_control_error;
  EXPECT_EQ(ec.value(), 3);
  EXPECT_STREQ(ec.category().name(), "portico.http2");
  EXPECT_EQ(ec.message(), "flow-control error");
  EXPECT_FALSE(std::error_code(errc::no_error));
  EXPECT_EQ(error_name(errc::enhance_your_calm), "ENHANCE_YOUR_CALM");
  EXPECT_EQ(error_name(errc::http_1_1_required), "HTTP_1_1_REQUIRED");
  EXPECT_EQ(error_name(static_cast<errc>(0xe)), "UNKNOWN");
  for (std::uint32_t c = 0; c <= 0xd; ++c) {
    EXPECT_NE(error_name(static_cast<errc>(c)), "UNKNOWN") << c;
    EXPECT_EQ(make_error_code(static_cast<errc>(c)).message().find("unknown"), std::string::npos);
  }
  EXPECT_EQ(make_error_code(static_cast<errc>(0x42)).message(), "unknown HTTP/2 error code 66");
  const frame_error e{errc::frame_size_error, error_scope::stream, 3, "x"};
  EXPECT_TRUE(e);
  EXPECT_EQ(e.wire_code(), errc::frame_size_error);
  EXPECT_FALSE(frame_error{});
}

TEST(Http2Settings, CheckSetting) {
  EXPECT_EQ(check_setting({setting_id::enable_push, 1}), errc::no_error);
  EXPECT_EQ(check_setting({setting_id::enable_push, 2}), errc::protocol_error);
  EXPECT_EQ(check_setting({setting_id::initial_window_size, max_window_size}), errc::no_error);
  EXPECT_EQ(check_setting({setting_id::initial_window_size, max_window_size + 1}),
            errc::flow_control_error);
  EXPECT_EQ(check_setting({setting_id::max_frame_size, 16383}), errc::protocol_error);
  EXPECT_EQ(check_setting({setting_id::max_frame_size, 16384}), errc::no_error);
  EXPECT_EQ(check_setting({setting_id::max_frame_size, 16777215}), errc::no_error);
  EXPECT_EQ(check_setting({setting_id::max_frame_size, 16777216}), errc::protocol_error);
  EXPECT_EQ(check_setting({setting_id::enable_connect_protocol, 2}), errc::protocol_error);
  EXPECT_EQ(check_setting({setting_id::no_rfc7540_priorities, 3}), errc::protocol_error);
  EXPECT_EQ(check_setting({static_cast<setting_id>(0x77), 0xffffffff}), errc::no_error);
}

TEST(Http2Settings, ValuesStartAtTheRfcDefaultsAndApply) {
  settings_values v;
  EXPECT_EQ(v.header_table_size, 4096u);
  EXPECT_TRUE(v.enable_push);
  EXPECT_EQ(v.initial_window_size, 65535u);
  EXPECT_EQ(v.max_frame_size, 16384u);
  EXPECT_FALSE(v.enable_connect_protocol);
  EXPECT_FALSE(v.no_rfc7540_priorities);
  EXPECT_EQ(v.apply({setting_id::enable_push, 0}), errc::no_error);
  EXPECT_FALSE(v.enable_push);
  EXPECT_EQ(v.apply({setting_id::max_frame_size, 1 << 20}), errc::no_error);
  EXPECT_EQ(v.max_frame_size, 1u << 20);
  EXPECT_EQ(v.apply({setting_id::max_frame_size, 1}), errc::protocol_error);
  EXPECT_EQ(v.max_frame_size, 1u << 20);  // unchanged on error
  EXPECT_EQ(v.apply({setting_id::enable_connect_protocol, 1}), errc::no_error);
  EXPECT_TRUE(v.enable_connect_protocol);
  EXPECT_EQ(v.apply({static_cast<setting_id>(0x99), 5}), errc::no_error);  // ignored
  EXPECT_EQ(v.apply({setting_id::max_concurrent_streams, 0}), errc::no_error);
  EXPECT_EQ(v.max_concurrent_streams, 0u);
}

TEST(Http2Frame, DecodeHeader) {
  const std::string h = test::raw_frame(0xfe, 0x81, 0xffffffffu, "", 0xabcdef);
  const frame_header d = decode_frame_header(test::bytes(h).first<9>());
  EXPECT_EQ(d.length, 0xabcdefu);
  EXPECT_EQ(d.type, static_cast<frame_type>(0xfe));
  EXPECT_EQ(d.flags, 0x81);
  EXPECT_EQ(d.stream_id, 0x7fffffffu);
  EXPECT_TRUE(d.has(0x80));
  EXPECT_FALSE(d.has(0x02));
}

TEST(Http2Frame, Describe) {
  frame_view f;
  f.header = {3, frame_type::data, flags::end_stream, 1};
  f.body = data_frame{test::bytes("abc"), true, std::nullopt};
  EXPECT_EQ(describe(f), "DATA stream=1 length=3 end_stream data=616263");
  EXPECT_EQ(frame_type_name(frame_type::push_promise), "PUSH_PROMISE");
  EXPECT_EQ(frame_type_name(static_cast<frame_type>(0x0a)), "UNKNOWN");
}

}  // namespace
}  // namespace portico::http2
