// A scripted HTTP/2 client for the session tests: builds frames with src/http2/frame_writer and
// HPACK blocks with src/hpack's encoder, feeds them to an http2::session, and reads the
// session's output back with frame_reader + hpack::decoder.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hpack/decoder.hpp"
#include "hpack/encoder.hpp"
#include "http2/frame_reader.hpp"
#include "http2/frame_writer.hpp"
#include "http2/session.hpp"

namespace portico::http2::test {

using fields = std::vector<std::pair<std::string, std::string>>;

/// One frame the server sent, copied out.
struct server_frame {
  frame_header h;
  std::string payload;
  fields headers;                 // HEADERS (+CONTINUATION), decoded
  errc code = errc::no_error;     // RST_STREAM, GOAWAY
  std::uint32_t last_stream = 0;  // GOAWAY
  std::uint32_t increment = 0;    // WINDOW_UPDATE
  std::uint32_t promised = 0;     // PUSH_PROMISE: the promised stream
  std::vector<setting> settings;  // SETTINGS
  std::string data;               // DATA
  bool is(frame_type t) const { return h.type == t; }
  bool end_stream() const { return h.has(flags::end_stream); }
};

/// What a handler saw of a request (copied: the exchange may be gone later).
struct seen_request {
  std::string method, path, query, body;
  int version = 0;
  fields headers;
  std::string header(std::string_view n) const {
    for (auto& [k, v] : headers)
      if (k == n) return v;
    return {};
  }
};

struct events final : session_events {
  std::vector<seen_request> requests;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> done;  // (status, body bytes)
  /// Default handler: 200 with body "hello <path>"; set to null to leave requests pending.
  std::function<void(detail::exchange&)> handler = [](detail::exchange& x) {
    portico::response res = x.make_response();
    res.header("Content-Type", "text/plain");
    res.send("hello " + std::string(x.path));
  };
  std::vector<portico::response> kept;  // responses the test answers later
  int output_ready = 0;
  void on_request(detail::exchange& x) override {
    seen_request r{std::string(x.method), std::string(x.path), std::string(x.query),
                   std::string(x.body),   x.version,           {}};
    for (auto& h : x.headers)
      r.headers.emplace_back(std::string(h.name), std::string(h.value));
    requests.push_back(std::move(r));
    if (handler) {
      handler(x);
    } else {
      kept.push_back(x.make_response());
    }
  }
  void on_output_ready() override { ++output_ready; }
  bool stream_bodies = false;  // wants_body_stream() answer
  bool wants_body_stream(detail::exchange&) override { return stream_bodies; }
  void on_response_done(const detail::exchange& x, std::uint64_t body) override {
    done.emplace_back(static_cast<std::uint32_t>(x.status), body);
  }
  void post(std::function<void()> fn) override { fn(); }
  void set_timeout(unsigned, std::function<void()>) override {}
};

struct memory_files final : body_reader {
  std::map<int, std::string> files;
  std::size_t read(int fd, std::uint64_t offset, std::span<char> out) override {
    auto it = files.find(fd);
    if (it == files.end() || offset >= it->second.size()) return 0;
    const std::size_t n =
        std::min(out.size(), static_cast<std::size_t>(it->second.size() - offset));
    std::memcpy(out.data(), it->second.data() + offset, n);
    return n;
  }
};

inline std::string preface_bytes(std::vector<setting> s = {}) {
  std::string out(client_preface);
  append_settings(out, s);
  return out;
}

class client {
 public:
  explicit client(session_config c = {}) : cfg(std::move(c)) {
    s = std::make_unique<session>(cfg, ev, &files, date, "192.0.2.1");
    s->start(now);
  }

  session_config cfg;
  events ev;
  memory_files files;
  http::date_cache date;
  std::unique_ptr<session> s;
  hpack::encoder enc{hpack::encoder_options{4096, true, hpack::indexing_policy::automatic, 20}};
  hpack::decoder dec{hpack::decoder_limits{4096, 1 << 20, 1 << 20}};
  frame_reader rd{reader_limits{max_max_frame_size, 1 << 24}};
  std::string wire;                  // server output not parsed yet
  std::vector<server_frame> frames;  // every frame the server sent
  std::uint64_t now = 0;
  bool auto_drain = true;
  std::size_t consumed_total = 0;

  /// Sends bytes to the session; returns how many it took.
  std::size_t send(std::string_view bytes) {
    std::size_t n = s->consume(std::span<const char>(bytes.data(), bytes.size()), now);
    consumed_total += n;
    if (auto_drain) drain();
    return n;
  }
  void handshake(std::vector<setting> st = {}) {
    send(preface_bytes(std::move(st)));
    std::string ack;
    append_frame(ack, settings_frame{true, {}});
    send(ack);
  }

  std::string block(const fields& f) {
    std::vector<hpack::header_field> list;
    for (auto& [n, v] : f)
      list.push_back({n, v});
    std::vector<std::byte> b;
    enc.encode(list, b);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  std::string headers(std::uint32_t id, const fields& f, bool end_stream,
                      std::uint32_t max_frame = 16384,
                      std::optional<priority_fields> prio = std::nullopt) {
    const std::string b = block(f);
    std::string out;
    append_field_block(
        out, id,
        headers_frame{std::as_bytes(std::span(b.data(), b.size())), end_stream, true, prio, {}},
        max_frame);
    return out;
  }
  static std::string priority(std::uint32_t id, priority_fields p) {
    std::string out;
    append_frame(out, id, priority_frame{p});
    return out;
  }
  static std::string priority_update(std::uint32_t id, std::string_view value) {
    std::string out;
    append_frame(out, priority_update_frame{id, value});
    return out;
  }
  static std::string data(std::uint32_t id, std::string_view d, bool end_stream) {
    std::string out;
    append_frame(out, id, data_frame{std::as_bytes(std::span(d.data(), d.size())), end_stream, {}});
    return out;
  }
  static std::string window_update(std::uint32_t id, std::uint32_t inc) {
    std::string out;
    append_frame(out, id, window_update_frame{inc});
    return out;
  }
  static std::string rst(std::uint32_t id, errc code) {
    std::string out;
    append_frame(out, id, rst_stream_frame{code});
    return out;
  }
  static std::string ping(bool ack = false, std::array<std::byte, 8> op = {}) {
    std::string out;
    append_frame(out, ping_frame{ack, op});
    return out;
  }
  static std::string settings(std::vector<setting> s) {
    std::string out;
    append_settings(out, s);
    return out;
  }
  static fields get(std::string path = "/", std::string method = "GET") {
    return {
        {":method", method}, {":scheme", "https"}, {":path", path}, {":authority", "example.com"}};
  }

  /// Takes all pending output (at most `limit` bytes) and parses the frames in it.
  std::size_t drain(std::size_t limit = SIZE_MAX) {
    std::size_t total = 0;
    for (;;) {
      iovec iov[64];
      const std::size_t k = s->pending_output(iov);
      if (k == 0) break;
      std::size_t n = 0;
      for (std::size_t i = 0; i < k && total + n < limit; ++i) {
        const std::size_t take = std::min(iov[i].iov_len, limit - total - n);
        wire.append(static_cast<const char*>(iov[i].iov_base), take);
        n += take;
      }
      if (n == 0) break;
      s->commit_output(n);
      total += n;
    }
    parse();
    return total;
  }

  void parse() {
    for (;;) {
      read_result r = rd.read(std::span<const char>(wire.data(), wire.size()));
      if (r.status == read_status::need_more) return;
      ASSERT_NE(r.status, read_status::connection_error) << r.error.detail;
      server_frame f;
      f.h = r.frame.header;
      f.payload.assign(reinterpret_cast<const char*>(r.frame.payload.data()),
                       r.frame.payload.size());
      if (auto* h = r.frame.get<headers_frame>()) {
        pending_block_.assign(reinterpret_cast<const char*>(h->fragment.data()),
                              h->fragment.size());
        pending_headers_ = frames.size();
        if (h->end_headers) decode_block(f);
      } else if (auto* pp = r.frame.get<push_promise_frame>()) {
        f.promised = pp->promised_stream_id;
        pending_block_.assign(reinterpret_cast<const char*>(pp->fragment.data()),
                              pp->fragment.size());
        pending_headers_ = frames.size();
        if (pp->end_headers) decode_block(f);
      } else if (auto* c = r.frame.get<continuation_frame>()) {
        pending_block_.append(reinterpret_cast<const char*>(c->fragment.data()),
                              c->fragment.size());
        if (c->end_headers) decode_block(frames[pending_headers_]);
      } else if (auto* rs = r.frame.get<rst_stream_frame>()) {
        f.code = rs->code;
      } else if (auto* g = r.frame.get<goaway_frame>()) {
        f.code = g->code;
        f.last_stream = g->last_stream_id;
      } else if (auto* w = r.frame.get<window_update_frame>()) {
        f.increment = w->increment;
      } else if (auto* st = r.frame.get<settings_frame>()) {
        for (auto e : st->entries)
          f.settings.push_back(e);
      } else if (auto* d = r.frame.get<data_frame>()) {
        f.data.assign(reinterpret_cast<const char*>(d->data.data()), d->data.size());
      }
      frames.push_back(std::move(f));
      wire.erase(0, r.consumed);
    }
  }

  // ---- queries ------------------------------------------------------------------------------
  std::vector<const server_frame*> of(frame_type t, std::uint32_t stream = UINT32_MAX) const {
    std::vector<const server_frame*> r;
    for (auto& f : frames)
      if (f.h.type == t && (stream == UINT32_MAX || f.h.stream_id == stream)) r.push_back(&f);
    return r;
  }
  const server_frame* goaway() const {
    auto g = of(frame_type::goaway);
    return g.empty() ? nullptr : g.back();
  }
  const server_frame* rst_of(std::uint32_t id) const {
    auto g = of(frame_type::rst_stream, id);
    return g.empty() ? nullptr : g.back();
  }
  std::string body_of(std::uint32_t id) const {
    std::string b;
    for (auto* f : of(frame_type::data, id))
      b += f->data;
    return b;
  }
  std::string status_of(std::uint32_t id) const {
    for (auto* f : of(frame_type::headers, id))
      for (auto& [n, v] : f->headers)
        if (n == ":status") return v;
    return {};
  }
  std::string header_of(std::uint32_t id, std::string_view name) const {
    for (auto* f : of(frame_type::headers, id))
      for (auto& [n, v] : f->headers)
        if (n == name) return v;
    return {};
  }
  bool stream_ended(std::uint32_t id) const {
    for (auto& f : frames)
      if (f.h.stream_id == id && (f.is(frame_type::data) || f.is(frame_type::headers)) &&
          f.end_stream())
        return true;
    return false;
  }

 private:
  void decode_block(server_frame& f) {
    auto ec = dec.decode(std::as_bytes(std::span(pending_block_.data(), pending_block_.size())),
                         [&](const hpack::header_field& h) {
                           f.headers.emplace_back(std::string(h.name), std::string(h.value));
                         });
    ASSERT_FALSE(ec) << ec.message();
  }
  std::string pending_block_;
  std::size_t pending_headers_ = 0;
};

}  // namespace portico::http2::test
