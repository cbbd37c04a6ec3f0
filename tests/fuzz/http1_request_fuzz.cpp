// libFuzzer target for the HTTP/1.1 request parser (src/http1/parser.cpp).
//
// Input: first byte = options (bit 0: small limits, so the limit paths are reachable with short
// inputs; bits 1-7: where to split), the rest = bytes of one or more pipelined requests. The
// requests are parsed one after another twice: with all bytes available at once, and with the
// bytes arriving in two parts (the session's way: the buffer grows, its start stays). Both runs
// must agree on every status, error and consumed count and on the decoded body; any
// disagreement or broken invariant traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "http1/parser.hpp"

namespace {

using portico::http1::body_result;
using portico::http1::head_result;
using portico::http1::limits;
using portico::http1::parse_status;
using portico::http1::request_head;
using portico::http1::request_parser;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(const char* p, std::size_t len, const std::vector<char>& b) {
  return len == 0 || (p >= b.data() && p + len <= b.data() + b.size());
}

struct record {
  parse_status head_status = parse_status::need_more;
  int head_error = 0;
  std::size_t head_consumed = 0;
  std::string head_summary;  // method, target, version, fields, framing, flags
  parse_status body_status = parse_status::need_more;
  int body_error = 0;
  std::size_t body_consumed = 0;  // only compared when the body is done
  std::string body;
  std::string trailers;

  bool operator==(const record&) const = default;
};

std::vector<record> run(const char* data, std::size_t size, std::size_t first_part,
                        const limits& lim) {
  request_parser parser(lim);
  request_head head;
  std::vector<record> out;
  std::size_t off = 0;
  std::size_t avail = first_part;
  // A fresh heap copy of exactly the available bytes per call: ASan sees any read past the end.
  auto copy = [&] { return std::vector<char>(data + off, data + avail); };
  auto more = [&] {
    if (avail == size) return false;
    avail = size;
    return true;
  };
  while (off < size) {
    record r;
    parser.reset();
    while (true) {
      const std::vector<char> b = copy();
      const head_result hr = parser.parse_head(b, head);
      r.head_status = hr.status;
      if (hr.status == parse_status::need_more) {
        check(hr.consumed == 0);
        if (more()) continue;
        out.push_back(r);
        return out;
      }
      if (hr.status == parse_status::error) {
        check(static_cast<bool>(hr.error));
        r.head_error = hr.error.value();
        out.push_back(r);
        return out;
      }
      check(hr.consumed > 0 && hr.consumed <= b.size());
      check(inside(head.method.data(), head.method.size(), b));
      check(inside(head.target.data(), head.target.size(), b));
      check(head.version_minor == 0 || head.version_minor == 1);
      check(head.framing != portico::http1::body_framing::content_length ||
            head.content_length <= lim.max_body_size);
      r.head_consumed = hr.consumed;
      std::string& s = r.head_summary;
      s.append(head.method).append(" ").append(head.target);
      s += static_cast<char>('0' + head.version_minor);
      for (const auto& f : head.headers) {
        check(inside(f.name.data(), f.name.size(), b));
        check(inside(f.value.data(), f.value.size(), b));
        s.append("|").append(f.name).append(":").append(f.value);
      }
      s += static_cast<char>('0' + static_cast<int>(head.framing));
      s += std::to_string(head.content_length);
      s.append(head.host);
      s += static_cast<char>('0' + head.connection_close + 2 * head.connection_keep_alive +
                             4 * head.connection_upgrade + 8 * head.expect_continue +
                             16 * head.has_unsupported_expect);
      off += hr.consumed;
      break;
    }
    while (true) {
      const std::vector<char> b = copy();
      const body_result br = parser.parse_body(b);
      check(br.consumed <= b.size());
      check(br.data.size() <= br.consumed);
      check(inside(br.data.data(), br.data.size(), b));
      r.body.append(br.data.data(), br.data.size());
      check(parser.body_bytes() == r.body.size());
      check(parser.body_bytes() <= lim.max_body_size);
      r.body_status = br.status;
      if (br.status == parse_status::error) {
        check(br.consumed == 0 && static_cast<bool>(br.error));
        r.body_error = br.error.value();
        r.body_consumed = 0;  // framing consumed before the error depends on the split
        out.push_back(r);
        return out;
      }
      r.body_consumed += br.consumed;
      off += br.consumed;
      if (br.status == parse_status::done) {
        for (const auto& t : parser.trailers()) {
          check(inside(t.name.data(), t.name.size(), b));
          check(inside(t.value.data(), t.value.size(), b));
          r.trailers.append(t.name).append(":").append(t.value).append("|");
        }
        break;
      }
      if (br.consumed > 0) continue;
      if (more()) continue;
      // Unfinished body: how much framing was consumed so far depends on the split.
      r.body_consumed = 0;
      out.push_back(r);
      return out;
    }
    out.push_back(r);
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  static const limits default_limits;
  static const limits small_limits = [] {
    limits l;
    l.max_request_line = 64;
    l.max_header_bytes = 256;
    l.max_header_count = 8;
    l.max_body_size = 512;
    l.max_chunk_line = 32;
    l.max_trailer_bytes = 64;
    l.max_trailer_count = 4;
    return l;
  }();
  const limits& lim = (data[0] & 1) != 0 ? small_limits : default_limits;
  // libFuzzer hands over an exactly sized heap copy, so the one-shot run is guarded too.
  const char* input = reinterpret_cast<const char*>(data + 1);
  const std::size_t n = size - 1;
  const std::size_t split = n * (data[0] >> 1) / 127;

  const std::vector<record> whole = run(input, n, n, lim);
  const std::vector<record> parts = run(input, n, split, lim);
  check(whole == parts);
  return 0;
}
