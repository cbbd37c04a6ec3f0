// libFuzzer target for the HTTP/2 server session (src/http2/session.cpp).
//
// Input: first byte = options (bits 0-2: how many bytes per consume() call, as 1 << n; bit 3:
// small limits, so floods and 413/431 are reachable with short inputs; bit 4: handlers answer
// later, in commit order), the rest = bytes a client sends after a valid preface and SETTINGS.
// Handlers answer by path: memory, streamed, file (through a fake reader) and HEAD bodies.
// Must never crash, and everything the session writes must read back as valid frames (frame
// reader without errors, every field block decodable by an HPACK decoder). Any violation traps.
#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "hpack/decoder.hpp"
#include "http2/frame_reader.hpp"
#include "http2/frame_writer.hpp"
#include "http2/session.hpp"

namespace {

using namespace portico;
using namespace portico::http2;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct files final : body_reader {
  std::size_t read(int, std::uint64_t offset, std::span<char> out) override {
    for (std::size_t i = 0; i < out.size(); ++i)
      out[i] = static_cast<char>('a' + (offset + i) % 26);
    return out.size();
  }
};

struct fuzz_events final : session_events {
  bool later = false;
  std::vector<portico::response> pending;
  void answer(portico::response res) {
    const auto path = res.req().path();
    if (path == "/stream") {
      res.write("part one ");
      res.write(std::string(20000, 's'));
      res.end();
    } else if (path == "/file") {
      detail::access(res).owns_file = false;
      res.send_file(3, 10, 40000);
    } else if (path == "/empty") {
      res.status(204).send("");
    } else {
      // A path with control characters is not a valid field value: response::header() throws,
      // and the server's glue answers 500 for a handler that throws before starting.
      try {
        res.header("X-Path", path);
      } catch (const std::invalid_argument&) {
        res.status(500);
      }
      res.send(std::string(path.size() * 100, 'm'));
    }
  }
  void on_request(detail::exchange& x) override {
    if (later) {
      pending.push_back(x.make_response());
    } else {
      answer(x.make_response());
    }
  }
  void on_output_ready() override {}
  void on_response_done(const detail::exchange&, std::uint64_t) override {}
  void post(std::function<void()> fn) override { fn(); }
  void set_timeout(unsigned, std::function<void()>) override {}
};

struct output_checker {
  frame_reader rd{reader_limits{max_max_frame_size, 1 << 24}};
  hpack::decoder dec{hpack::decoder_limits{4096, 1 << 24, 1 << 24}};
  std::string wire;
  std::string block;
  void feed(const std::string& bytes) {
    wire += bytes;
    for (;;) {
      read_result r = rd.read(std::span<const char>(wire.data(), wire.size()));
      if (r.status == read_status::need_more) return;
      check(r.status == read_status::frame);
      const frame_view& f = r.frame;
      if (auto* h = f.get<headers_frame>()) {
        block.assign(reinterpret_cast<const char*>(h->fragment.data()), h->fragment.size());
        if (h->end_headers) decode();
      } else if (auto* c = f.get<continuation_frame>()) {
        block.append(reinterpret_cast<const char*>(c->fragment.data()), c->fragment.size());
        if (c->end_headers) decode();
      }
      check(f.header.type != frame_type::push_promise);
      wire.erase(0, r.consumed);
    }
  }
  void decode() {
    auto ec = dec.decode(std::as_bytes(std::span(block.data(), block.size())),
                         [](const hpack::header_field&) {});
    check(!ec);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::uint8_t opt = data[0];
  const std::size_t step = std::size_t{1} << (opt & 7);
  session_config cfg;
  if (opt & 8) {
    cfg.max_concurrent_streams = 3;
    cfg.max_request_body = 64;
    cfg.max_header_list_size = 256;
    cfg.max_pending_acks = 4;
    cfg.reset_burst = 4;
    cfg.glitch_burst = 8;
    cfg.max_field_block = 512;
    cfg.output_high_water = 2048;
    cfg.high_water = 512;
    cfg.max_buffer = 8192;
  }
  fuzz_events ev;
  ev.later = (opt & 16) != 0;
  files reader;
  http::date_cache date;
  output_checker out;
  {
    session s(cfg, ev, &reader, date, "203.0.113.9");
    s.start(0);
    std::string input(client_preface);
    append_settings(input, std::vector<setting>{});
    append_frame(input, settings_frame{true, {}});
    input.append(reinterpret_cast<const char*>(data + 1), size - 1);

    std::uint64_t now = 0;
    std::size_t pos = 0;
    auto flush = [&](std::size_t limit) {
      iovec iov[16];
      const std::size_t k = s.pending_output(iov);
      std::string bytes;
      for (std::size_t i = 0; i < k && bytes.size() < limit; ++i)
        bytes.append(static_cast<const char*>(iov[i].iov_base),
                     std::min(iov[i].iov_len, limit - bytes.size()));
      s.commit_output(bytes.size());
      out.feed(bytes);
      return bytes.size();
    };
    int idle = 0;
    while (pos < input.size() && idle < 64) {
      const std::size_t n = std::min(step, input.size() - pos);
      const std::size_t used =
          s.wants_input() ? s.consume(std::span<const char>(input.data() + pos, n), now) : 0;
      pos += used;
      now += 7;
      s.tick(now);
      if (!ev.pending.empty() && (pos & 1)) {
        ev.answer(ev.pending.front());
        ev.pending.erase(ev.pending.begin());
      }
      const std::size_t wrote = flush(1000 + (pos % 3000));
      idle = (used == 0 && wrote == 0) ? idle + 1 : 0;
      if (s.done()) break;
    }
    for (auto& p : ev.pending)
      ev.answer(p);
    ev.pending.clear();
    s.begin_shutdown(now);
    for (int i = 0; i < 256 && s.has_output(); ++i)
      flush(1 << 20);
  }
  return 0;
}
