// Writes the seed corpus of http2_frame_fuzz: a few valid frame sequences made with the frame
// writer, and a few that end in each kind of error. Each file is one fuzz input: an options
// byte (see http2_frame_fuzz.cpp), then frames.
//
// Built in the fuzz build only (not part of fuzz_targets). To regenerate the checked-in seeds:
//   cmake --build build/fuzz --target http2_frame_seeds
//   build/fuzz/tests/fuzz/http2_frame_seeds tests/fuzz/corpus/http2_frame
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

#include "http2/frame_writer.hpp"

namespace {

using namespace portico::http2;

std::span<const std::byte> b(std::string_view s) {
  return std::as_bytes(std::span<const char>(s.data(), s.size()));
}

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>(v >> 16 & 0xff),
          static_cast<char>(v >> 8 & 0xff), static_cast<char>(v & 0xff)};
}

// A frame header followed by `payload`, with the Length field as given (may disagree).
std::string raw(std::uint32_t length, std::uint8_t type, std::uint8_t fl, std::uint32_t stream,
                std::string_view payload) {
  std::string s(encode_frame_header({length, static_cast<frame_type>(type), fl, stream}).view());
  return s.append(payload);
}

// A request: SETTINGS, WINDOW_UPDATE, HEADERS split over CONTINUATION, DATA, PING, ...
std::string conversation() {
  std::string s;
  const setting settings[] = {{setting_id::max_concurrent_streams, 100},
                              {setting_id::initial_window_size, 1 << 20},
                              {setting_id::enable_push, 0},
                              {setting_id::no_rfc7540_priorities, 1}};
  append_settings(s, settings);
  append_frame(s, settings_frame{true, {}});
  append_frame(s, 0, window_update_frame{1 << 24});
  const std::string block = "\x82\x86\x84\x41\x8a\x08\x9d\x5c\x0b\x81\x70\xdc\x78\x0f\x03";
  append_frame(s, 1,
               headers_frame{b(block).first(6), false, false, priority_fields{true, 0, 42}, 3});
  append_frame(s, 1, continuation_frame{b(block).subspan(6, 4), false});
  append_frame(s, 1, continuation_frame{b(block).subspan(10), true});
  append_frame(s, priority_update_frame{1, "u=1, i"});
  append_frame(s, 1, data_frame{b("request body"), false, 5});
  append_frame(s, 1, data_frame{b("end"), true, std::nullopt});
  append_frame(s, ping_frame{false, {std::byte{1}, std::byte{2}}});
  append_frame(s, 3, priority_frame{{false, 1, 16}});
  append_frame(s, 3, rst_stream_frame{errc::cancel});
  append_frame(s, 2, push_promise_frame{4, b(block), true, 1});
  append_frame(s, frame_header{0, static_cast<frame_type>(0xb0), 0x3, 5}, b("extension"));
  append_frame(s, goaway_frame{3, errc::no_error, b("bye")});
  return s;
}

bool write(const std::string& dir, const char* name, std::uint8_t options,
           const std::string& frames) {
  std::ofstream f(dir + "/" + name, std::ios::binary);
  f.put(static_cast<char>(options));
  f << frames;
  return static_cast<bool>(f);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  bool ok = true;
  const std::string conv = conversation();
  ok &= write(dir, "conversation", 0, conv);
  ok &= write(dir, "conversation_split", 0x80, conv);
  ok &= write(dir, "conversation_big_frames", 0x41, conv);

  // A field block over HEADERS + CONTINUATION frames (read whole, and over the 256-octet block
  // limit of option bit 1), and a flood of empty CONTINUATION frames. Seeds stay small:
  // libFuzzer's default max_len follows the largest seed.
  const std::string part(100, 'h');
  std::string block = raw(100, 0x1, 0x1, 1, part);
  block += raw(100, 0x9, 0, 1, part) + raw(100, 0x9, 0, 1, part) + raw(100, 0x9, 0x4, 1, part);
  ok &= write(dir, "field_block", 0x20, block);
  ok &= write(dir, "field_block_limit", 0x02, block);
  std::string flood = raw(0, 0x1, 0, 1, "");
  for (int i = 0; i < 40; ++i)
    flood += raw(0, 0x9, 0, 1, "");
  ok &= write(dir, "continuation_flood", 0x02, flood);

  // Connection errors.
  ok &= write(dir, "data_stream0", 0, raw(1, 0x0, 0, 0, "x"));
  ok &= write(dir, "oversize", 0, raw(16385, 0x0, 0, 1, "abc"));
  ok &= write(dir, "bad_padding", 0, raw(3, 0x0, 0x8, 1, "\x05xy"));
  ok &= write(
      dir, "settings_values", 0,
      raw(12, 0x4, 0, 0,
          std::string("\0\x05", 2) + be32(16384) + std::string("\0\x04", 2) + be32(0x80000000u)));
  ok &= write(dir, "interleaved_block", 0, raw(1, 0x1, 0, 1, "a") + raw(8, 0x6, 0, 0, "12345678"));
  ok &= write(dir, "ping_length", 0, raw(7, 0x6, 0, 0, "1234567"));
  ok &= write(dir, "window_update_zero", 0, raw(4, 0x8, 0, 0, be32(0)));

  // Stream errors, then more frames.
  ok &= write(dir, "stream_errors", 0x10,
              raw(4, 0x2, 0, 3, "abcd") + raw(4, 0x8, 0, 5, be32(0)) +
                  raw(6, 0x1, 0x24, 7, be32(7) + "\x0f" + "h") + raw(8, 0x6, 0x1, 0, "pingpong"));
  if (!ok) {
    std::fprintf(stderr, "http2_frame_seeds: cannot write to %s\n", dir.c_str());
    return 1;
  }
  return 0;
}
