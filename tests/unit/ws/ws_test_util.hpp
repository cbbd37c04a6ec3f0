// Helpers for the WebSocket tests: client frames (masked), the frame parser and the session run
// over an input split at every byte position.
#pragma once

#include <sys/uio.h>

#include <cstdint>
#include <cstring>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ws/frame.hpp"
#include "ws/session.hpp"

namespace portico::ws::test {

inline std::span<const std::byte> bytes(std::string_view s) {
  return std::as_bytes(std::span(s.data(), s.size()));
}

inline constexpr masking_key test_mask{std::byte{0x37}, std::byte{0xfa}, std::byte{0x21},
                                       std::byte{0x3d}};

/// A masked client frame.
inline std::string client_frame(opcode op, std::string_view payload, bool fin = true,
                                bool rsv1 = false) {
  std::string out;
  append_frame(out, op, fin, rsv1, bytes(payload), &test_mask);
  return out;
}

/// An unmasked frame (what a server sends).
inline std::string server_frame(opcode op, std::string_view payload, bool fin = true,
                                bool rsv1 = false) {
  std::string out;
  append_frame(out, op, fin, rsv1, bytes(payload));
  return out;
}

inline std::string close_payload(std::uint16_t code, std::string_view reason = {}) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xff));
  p.append(reason);
  return p;
}

// ---- the parser -------------------------------------------------------------------------------

/// One whole frame or the error, as the parser reported it.
struct parsed {
  bool error = false;
  int code = 0;
  opcode op = opcode::continuation;
  bool fin = false;
  bool rsv1 = false;
  std::uint64_t length = 0;
  std::string payload;  // unmasked
  bool operator==(const parsed&) const = default;
};

inline std::string describe(const std::vector<parsed>& v) {
  std::ostringstream o;
  for (const parsed& p : v) {
    if (p.error) {
      o << "[error " << p.code << "]";
    } else {
      o << "[" << opcode_name(p.op) << (p.fin ? " fin" : "") << (p.rsv1 ? " rsv1" : "") << " "
        << p.payload.size() << "]";
    }
  }
  return o.str();
}

/// Feeds `pieces` one after the other (each in its own exactly-sized heap buffer, so that ASan
/// sees any over-read) and returns the frames and the error.
inline std::vector<parsed> parse_pieces(const std::vector<std::string>& pieces,
                                        const parser_options& o) {
  frame_parser p(o);
  std::vector<parsed> out;
  parsed cur;
  for (const std::string& piece : pieces) {
    std::vector<std::byte> buf(piece.size());
    if (!piece.empty()) std::memcpy(buf.data(), piece.data(), piece.size());
    std::span<const std::byte> in(buf);
    for (;;) {
      const parse_result r = p.parse(in);
      in = in.subspan(r.consumed);
      if (r.status == parse_status::need_more) {
        if (!in.empty()) throw std::logic_error("need_more with input left");
        break;
      }
      if (r.status == parse_status::error) {
        parsed e;
        e.error = true;
        e.code = r.error.code.value();
        out.push_back(e);
        return out;
      }
      if (r.status == parse_status::header) {
        cur = {};
        cur.op = r.header.op;
        cur.fin = r.header.fin;
        cur.rsv1 = r.header.rsv1;
        cur.length = r.header.length;
      } else {
        if (r.offset != cur.payload.size()) throw std::logic_error("offset");
        std::string chunk(r.payload.size(), '\0');
        unmask_copy(reinterpret_cast<std::byte*>(chunk.data()), r.payload, r.header.mask, r.offset);
        if (!r.header.masked)
          chunk.assign(reinterpret_cast<const char*>(r.payload.data()), r.payload.size());
        cur.payload += chunk;
      }
      if (r.frame_end) out.push_back(cur);
    }
  }
  return out;
}

/// The parse of `input` whole, checked equal to the parse split at every position and fed
/// byte by byte.
inline std::vector<parsed> parse_all_splits(const std::string& input, const parser_options& o) {
  const std::vector<parsed> whole = parse_pieces({input}, o);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    const auto split = parse_pieces({input.substr(0, i), input.substr(i)}, o);
    if (split != whole)
      throw std::logic_error("split at " + std::to_string(i) + ": " + describe(split) + " vs " +
                             describe(whole));
  }
  std::vector<std::string> single;
  for (char c : input)
    single.emplace_back(1, c);
  if (parse_pieces(single, o) != whole) throw std::logic_error("byte by byte differs");
  return whole;
}

// ---- the session ------------------------------------------------------------------------------

/// Records every event as a line of text.
class recorder final : public session_events {
 public:
  std::vector<std::string> log;
  session* self = nullptr;
  std::string echo_prefix;  // when set, on_message sends back prefix + payload
  void on_message(opcode op, std::string_view payload) override {
    log.push_back(std::string(opcode_name(op)) + ":" + std::string(payload));
    if (!echo_prefix.empty() && self != nullptr) {
      std::string reply = echo_prefix + std::string(payload);
      if (op == opcode::text)
        self->send_text(reply);
      else
        self->send_binary(reply);
    }
  }
  void on_close(std::uint16_t code, std::string_view reason) override {
    log.push_back("close:" + std::to_string(code) + ":" + std::string(reason));
  }
  void on_ping(std::string_view payload) override { log.push_back("ping:" + std::string(payload)); }
  void on_pong(std::string_view payload) override { log.push_back("pong:" + std::string(payload)); }
  void on_drain() override { log.push_back("drain"); }
};

/// Everything the session has to write, written and committed.
inline std::string drain(session& s, std::size_t max_write = SIZE_MAX) {
  std::string out;
  for (;;) {
    iovec iov[8];
    const std::size_t k = s.pending_output(iov);
    if (k == 0) return out;
    std::size_t n = 0;
    for (std::size_t i = 0; i < k && n < max_write; ++i) {
      const std::size_t take = std::min(iov[i].iov_len, max_write - n);
      out.append(static_cast<const char*>(iov[i].iov_base), take);
      n += take;
    }
    s.commit_output(n);
  }
}

struct session_run {
  std::vector<std::string> log;
  std::string output;
  session::state state = session::state::open;
  bool operator==(const session_run&) const = default;
};

inline std::string describe(const session_run& r) {
  std::string s;
  // Appends only (no temporary string + string): GCC 12 at -O3 warns about operator+.
  for (const auto& l : r.log) {
    s += '{';
    s.append(l, 0, 60);
    s += "} ";
  }
  s += " out=";
  s += std::to_string(r.output.size());
  return s;
}

/// Runs a fresh session on `pieces`, writing out after each piece.
inline session_run run_session(const std::vector<std::string>& pieces, const session_config& cfg,
                               std::optional<deflate_params> d = std::nullopt,
                               std::string echo = {}) {
  recorder ev;
  session s(cfg, ev, d);
  ev.self = &s;
  ev.echo_prefix = std::move(echo);
  s.start(0);
  session_run r;
  for (const std::string& piece : pieces) {
    std::vector<char> buf(piece.begin(), piece.end());
    s.consume(std::span<const char>(buf), 1);
    r.output += drain(s);
  }
  r.log = ev.log;
  r.state = s.current_state();
  return r;
}

/// The session's behaviour on `input`, identical whether it arrives whole, split at any
/// position, or (for short inputs) byte by byte.
inline session_run run_session_all_splits(const std::string& input, const session_config& cfg,
                                          std::optional<deflate_params> d = std::nullopt,
                                          std::string echo = {}) {
  const session_run whole = run_session({input}, cfg, d, echo);
  for (std::size_t i = 0; i <= input.size(); ++i) {
    const session_run split = run_session({input.substr(0, i), input.substr(i)}, cfg, d, echo);
    if (!(split == whole))
      throw std::logic_error("split at " + std::to_string(i) + ": " + describe(split) + " vs " +
                             describe(whole));
  }
  if (input.size() <= 4096) {
    std::vector<std::string> single;
    for (char c : input)
      single.emplace_back(1, c);
    if (!(run_session(single, cfg, d, echo) == whole))
      throw std::logic_error("byte by byte differs");
  }
  return whole;
}

}  // namespace portico::ws::test
