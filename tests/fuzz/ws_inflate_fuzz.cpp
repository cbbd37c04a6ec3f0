// libFuzzer target for permessage-deflate (src/ws/deflate.cpp).
//
// Input: first byte = options (bit 0: no context takeover; bit 1: a 1 KiB output limit instead
// of 256 KiB; bits 2-7: where to split), the rest = the compressed payload of a message.
//
// (1) The payload is inflated whole and in two parts: both runs must agree on the status and
// the output, the output never exceeds limit + 1 bytes, and a second message (the RFC 7692
// "Hello") must still inflate after an ok message. (2) The raw input, cut in two messages at
// the split point, is deflated and inflated back (context takeover as chosen): it must come
// back unchanged. (3) The extension negotiation is run on the input as a header value: it must
// not crash, and an accepted offer yields a response that negotiates to the same parameters.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ws/deflate.hpp"

namespace {

using namespace portico::ws;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

struct result {
  inflater::status st = inflater::status::ok;
  std::string out;
};

result inflate_parts(std::span<const std::byte> a, std::span<const std::byte> b, bool nct,
                     std::size_t limit, bool then_hello) {
  inflater z(nct);
  result r;
  r.st = z.feed(a, r.out, limit);
  if (r.st == inflater::status::ok) r.st = z.feed(b, r.out, limit);
  if (r.st == inflater::status::ok) r.st = z.finish(r.out, limit);
  check(r.out.size() <= limit + 1);
  if (r.st == inflater::status::ok && then_hello && nct) {
    // Without context takeover the next message never depends on this one.
    static const unsigned char hello[] = {0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00};
    std::string out;
    check(z.feed(std::as_bytes(std::span(hello)), out, 100) == inflater::status::ok);
    check(z.finish(out, 100) == inflater::status::ok);
    check(out == "Hello");
  }
  return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const bool nct = (data[0] & 1) != 0;
  const std::size_t limit = (data[0] & 2) != 0 ? 1024 : 256 * 1024;
  const std::size_t n = size - 1;
  const std::size_t split = n * (data[0] >> 2) / 63;
  const auto* in = reinterpret_cast<const std::byte*>(data + 1);
  const std::span<const std::byte> all(in, n);

  const result whole = inflate_parts(all, {}, nct, limit, true);
  const result parts = inflate_parts(all.first(split), all.subspan(split), nct, limit, true);
  check(whole.st == parts.st);
  if (whole.st == inflater::status::ok) check(whole.out == parts.out);

  // Round trip of two messages.
  deflater d(nct, static_cast<std::uint8_t>(9 + data[0] % 7));
  inflater z(nct);
  for (const std::span<const std::byte> m : {all.first(split), all.subspan(split)}) {
    std::string c;
    check(d.compress(m, c));
    std::string back;
    check(z.feed(std::as_bytes(std::span(c)), back, n + 1) == inflater::status::ok);
    check(z.finish(back, n + 1) == inflater::status::ok);
    check(back.size() == m.size() &&
          std::equal(m.begin(), m.end(), reinterpret_cast<const std::byte*>(back.data())));
  }

  // Negotiation on the raw bytes as a header value.
  const std::string_view value(reinterpret_cast<const char*>(data + 1), n);
  const std::string_view values[] = {value};
  const extension_negotiation neg = negotiate_deflate(values, {});
  if (neg.params) {
    check(!neg.malformed);
    const std::string_view again[] = {neg.response};
    const extension_negotiation n2 = negotiate_deflate(again, {});
    check(n2.params.has_value());
    check(n2.params->server_no_context_takeover == neg.params->server_no_context_takeover);
    check(n2.params->client_no_context_takeover == neg.params->client_no_context_takeover);
    check(n2.params->server_max_window_bits == neg.params->server_max_window_bits);
  }
  return 0;
}
