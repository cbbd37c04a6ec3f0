// libFuzzer target for the WebSocket frame parser and session (src/ws/frame.cpp, session.cpp,
// utf8.cpp, deflate.cpp on the inflating side).
//
// Input: first byte = options (bit 0: permessage-deflate negotiated; bit 1: a 4 KiB message
// limit instead of 64 KiB; bits 2-7: where to split), the rest = bytes a client sends after the
// handshake.
//
// The bytes go (1) through a frame_parser, checking its invariants (views inside the input,
// offsets continuous, consumption exact), and (2) through a session twice, whole and in two
// parts; both runs must produce the same events and the same output, and the output must parse
// cleanly as server frames (what we send is always valid). Any disagreement traps.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "ws/frame.hpp"
#include "ws/session.hpp"

namespace {

using namespace portico::ws;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

void parse_raw(const std::uint8_t* data, std::size_t size, bool deflate) {
  frame_parser p(parser_options{role::server, deflate});
  const std::vector<std::byte> buf(reinterpret_cast<const std::byte*>(data),
                                   reinterpret_cast<const std::byte*>(data) + size);
  std::span<const std::byte> in(buf);
  std::uint64_t expect_offset = 0;
  while (true) {
    const parse_result r = p.parse(in);
    check(r.consumed <= in.size());
    if (r.status == parse_status::error) {
      check(r.consumed == 0 && r.error.wire_code() == close_code::protocol_error &&
            !r.error.detail.empty() && p.failed());
      return;
    }
    if (r.status == parse_status::need_more) {
      check(r.consumed == in.size());
      return;
    }
    if (r.status == parse_status::header) {
      check(r.header.masked);
      check(!is_control(r.header.op) || (r.header.fin && r.header.length <= 125));
      check(r.frame_end == (r.header.length == 0));
      expect_offset = 0;
    } else {
      check(!r.payload.empty() && r.payload.data() == in.data() && r.consumed == r.payload.size());
      check(r.offset == expect_offset);
      expect_offset += r.payload.size();
      check(r.frame_end == (expect_offset == r.header.length));
    }
    in = in.subspan(r.consumed);
  }
}

class events final : public session_events {
 public:
  std::string log;
  void on_message(opcode op, std::string_view payload) override {
    log += "m" + std::to_string(static_cast<int>(op)) + ":" + std::to_string(payload.size()) + ";";
    if (op == opcode::text) check(is_valid_utf8(payload));
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    log += "c" + std::to_string(code) + ":" + std::string(reason) + ";";
  }
  void on_ping(std::string_view p) override { log += "i" + std::to_string(p.size()) + ";"; }
  void on_pong(std::string_view p) override { log += "o" + std::to_string(p.size()) + ";"; }
};

struct outcome {
  std::string log;
  std::string output;
  int state = 0;
};

outcome run(const std::uint8_t* data, std::size_t size, std::size_t split, bool deflate,
            const session_config& cfg) {
  events ev;
  std::optional<deflate_params> d;
  if (deflate) d = deflate_params{};
  session s(cfg, ev, d);
  s.start(0);
  // Each part in its own exactly sized buffer, so ASan catches an over-read.
  const std::vector<char> a(data, data + split);
  const std::vector<char> b(data + split, data + size);
  check(s.consume(std::span<const char>(a), 1) == a.size());
  check(s.consume(std::span<const char>(b), 2) == b.size());
  outcome o;
  for (;;) {
    iovec iov[4];
    const std::size_t k = s.pending_output(iov);
    if (k == 0) break;
    std::size_t n = 0;
    for (std::size_t i = 0; i < k; ++i) {
      o.output.append(static_cast<const char*>(iov[i].iov_base), iov[i].iov_len);
      n += iov[i].iov_len;
    }
    s.commit_output(n);
  }
  check(s.buffered_amount() == 0);
  s.tick(100000);
  o.log = ev.log;
  o.state = static_cast<int>(s.current_state());
  return o;
}

// What the session wrote parses as valid server frames, ending with at most one Close.
void check_output(const std::string& out, bool deflate) {
  frame_parser p(parser_options{role::client, deflate});
  std::span<const std::byte> in = std::as_bytes(std::span(out));
  bool closed = false;
  while (!in.empty()) {
    const parse_result r = p.parse(in);
    check(r.status != parse_status::error && r.status != parse_status::need_more);
    if (r.status == parse_status::header) {
      check(!closed);
      if (r.header.op == opcode::close) closed = true;
    }
    in = in.subspan(r.consumed);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool deflate = (data[0] & 1) != 0;
  session_config cfg;
  cfg.max_message_size = (data[0] & 2) != 0 ? 4096 : 65536;
  cfg.close_timeout_ms = 1000;
  const std::uint8_t* in = data + 1;
  const std::size_t n = size - 1;
  const std::size_t split = n * (data[0] >> 2) / 63;

  parse_raw(in, n, deflate);
  const outcome whole = run(in, n, n, deflate, cfg);
  const outcome parts = run(in, n, split, deflate, cfg);
  check(whole.log == parts.log);
  check(whole.output == parts.output);
  check(whole.state == parts.state);
  check_output(whole.output, deflate);
  return 0;
}
