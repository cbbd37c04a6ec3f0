// WebSocket frame codec (RFC 6455 §5).
#include "ws/frame.hpp"

#include <cstring>

namespace portico::ws {
namespace {

constexpr std::uint8_t u8(std::byte b) noexcept {
  return static_cast<std::uint8_t>(b);
}

bool known_opcode(std::uint8_t op) noexcept {
  // RFC 6455 §5.2: 0x3-0x7 and 0xB-0xF are reserved.
  return op <= 0x2 || (op >= 0x8 && op <= 0xa);
}

// Octets of the header once the second octet is known.
std::uint8_t header_size(std::uint8_t second) noexcept {
  const std::uint8_t len7 = second & 0x7f;
  std::uint8_t n = 2;
  if (len7 == 126) n += 2;
  if (len7 == 127) n += 8;
  if ((second & 0x80) != 0) n += 4;
  return n;
}

}  // namespace

std::string_view opcode_name(opcode op) noexcept {
  switch (op) {
    case opcode::continuation:
      return "continuation";
    case opcode::text:
      return "text";
    case opcode::binary:
      return "binary";
    case opcode::close:
      return "close";
    case opcode::ping:
      return "ping";
    case opcode::pong:
      return "pong";
  }
  return "reserved";
}

void frame_parser::reset() noexcept {
  have_ = 0;
  in_payload_ = false;
  header_ = {};
  remaining_ = 0;
  offset_ = 0;
  in_message_ = false;
  failure_ = {};
}

parse_result frame_parser::fail(ws_error e) noexcept {
  failure_ = e;
  parse_result r;
  r.status = parse_status::error;
  r.error = e;
  return r;
}

// The checks the first two octets allow (RFC 6455 §5.2, §5.4, §5.5; RFC 7692 §6.1).
ws_error frame_parser::check_first_octets() const noexcept {
  const std::uint8_t b0 = u8(buf_[0]);
  const std::uint8_t b1 = u8(buf_[1]);
  const bool fin = (b0 & 0x80) != 0;
  const bool rsv1 = (b0 & 0x40) != 0;
  const std::uint8_t op = b0 & 0x0f;
  const bool masked = (b1 & 0x80) != 0;
  const std::uint8_t len7 = b1 & 0x7f;
  constexpr close_code proto = close_code::protocol_error;

  if ((b0 & 0x30) != 0) return make_ws_error(proto, "RSV2 or RSV3 set without an extension");
  if (!known_opcode(op)) return make_ws_error(proto, "reserved opcode");
  if (options_.side == role::server && !masked)
    return make_ws_error(proto, "client frame not masked");
  if (options_.side == role::client && masked) return make_ws_error(proto, "server frame masked");
  if ((op & 0x8) != 0) {
    if (!fin) return make_ws_error(proto, "fragmented control frame");
    if (len7 > max_control_payload) return make_ws_error(proto, "control frame over 125 bytes");
    if (rsv1) return make_ws_error(proto, "RSV1 set on a control frame");
    return {};
  }
  if (rsv1 && !options_.allow_rsv1) return make_ws_error(proto, "RSV1 set without an extension");
  if (op == 0) {
    if (!in_message_) return make_ws_error(proto, "continuation frame outside a message");
    if (rsv1) return make_ws_error(proto, "RSV1 set on a continuation frame");
  } else if (in_message_) {
    return make_ws_error(proto, "data frame inside a fragmented message");
  }
  return {};
}

parse_result frame_parser::parse(std::span<const std::byte> in) noexcept {
  if (failure_) return fail(failure_);
  parse_result r;
  if (in_payload_) {
    if (remaining_ > 0 && in.empty()) return r;  // need_more
    const std::size_t n = remaining_ < in.size() ? static_cast<std::size_t>(remaining_) : in.size();
    r.status = parse_status::payload;
    r.consumed = n;
    r.header = header_;
    r.payload = in.first(n);
    r.offset = offset_;
    offset_ += n;
    remaining_ -= n;
    r.frame_end = remaining_ == 0;
    if (r.frame_end) in_payload_ = false;
    return r;
  }

  // Header: gather octets into buf_ until the whole header is there.
  std::size_t used = 0;
  auto take = [&](std::size_t want) {
    while (have_ < want && used < in.size())
      buf_[have_++] = in[used++];
    return have_ >= want;
  };
  if (!take(2)) {
    r.consumed = used;
    return r;
  }
  if (const ws_error e = check_first_octets()) return fail(e);
  const std::uint8_t b0 = u8(buf_[0]);
  const std::uint8_t b1 = u8(buf_[1]);
  const std::uint8_t size = header_size(b1);
  if (!take(size)) {
    r.consumed = used;
    return r;
  }

  frame_header h;
  h.fin = (b0 & 0x80) != 0;
  h.rsv1 = (b0 & 0x40) != 0;
  h.op = static_cast<opcode>(b0 & 0x0f);
  h.masked = (b1 & 0x80) != 0;
  const std::uint8_t len7 = b1 & 0x7f;
  std::size_t pos = 2;
  if (len7 == 126) {
    h.length = (std::uint64_t{u8(buf_[2])} << 8) | u8(buf_[3]);
    pos = 4;
    if (h.length < 126)
      return fail(make_ws_error(close_code::protocol_error, "length not minimal"));
  } else if (len7 == 127) {
    h.length = 0;
    for (std::size_t i = 2; i < 10; ++i)
      h.length = (h.length << 8) | u8(buf_[i]);
    pos = 10;
    if ((h.length >> 63) != 0)
      return fail(make_ws_error(close_code::protocol_error, "64-bit length with MSB set"));
    if (h.length <= 0xffff)
      return fail(make_ws_error(close_code::protocol_error, "length not minimal"));
  } else {
    h.length = len7;
  }
  if (h.masked) std::memcpy(h.mask.data(), buf_.data() + pos, 4);

  // Fragmentation state (RFC 6455 §5.4), known valid by check_first_octets().
  if (h.op == opcode::text || h.op == opcode::binary)
    in_message_ = !h.fin;
  else if (h.op == opcode::continuation && h.fin)
    in_message_ = false;

  have_ = 0;
  header_ = h;
  remaining_ = h.length;
  offset_ = 0;
  in_payload_ = h.length > 0;
  r.status = parse_status::header;
  r.consumed = used;
  r.header = h;
  r.frame_end = h.length == 0;
  return r;
}

void unmask_copy(std::byte* dst, std::span<const std::byte> src, const masking_key& mask,
                 std::uint64_t offset) noexcept {
  const std::size_t n = src.size();
  std::size_t i = 0;
  std::size_t phase = static_cast<std::size_t>(offset & 3);
  // Align to the mask phase, then 8 bytes at a time with a rotated 64-bit key.
  while (i < n && phase != 0) {
    dst[i] = src[i] ^ mask[phase];
    ++i;
    phase = (phase + 1) & 3;
  }
  if (n - i >= 8) {
    std::array<std::byte, 8> k8{mask[0], mask[1], mask[2], mask[3],
                                mask[0], mask[1], mask[2], mask[3]};
    std::uint64_t k;
    std::memcpy(&k, k8.data(), 8);
    for (; i + 8 <= n; i += 8) {
      std::uint64_t w;
      std::memcpy(&w, src.data() + i, 8);
      w ^= k;
      std::memcpy(dst + i, &w, 8);
    }
  }
  for (; i < n; ++i)
    dst[i] = src[i] ^ mask[(offset + i) & 3];
}

void unmask(std::span<std::byte> data, const masking_key& mask, std::uint64_t offset) noexcept {
  unmask_copy(data.data(), data, mask, offset);
}

header_bytes encode_header(opcode op, bool fin, bool rsv1, std::uint64_t length,
                           const masking_key* mask) noexcept {
  header_bytes h;
  auto put = [&](std::uint8_t v) { h.data[h.size++] = std::byte{v}; };
  put(static_cast<std::uint8_t>((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) |
                                static_cast<std::uint8_t>(op)));
  const std::uint8_t m = mask != nullptr ? 0x80 : 0;
  if (length < 126) {
    put(static_cast<std::uint8_t>(m | length));
  } else if (length <= 0xffff) {
    put(m | 126);
    put(static_cast<std::uint8_t>(length >> 8));
    put(static_cast<std::uint8_t>(length));
  } else {
    put(m | 127);
    for (int s = 56; s >= 0; s -= 8)
      put(static_cast<std::uint8_t>(length >> s));
  }
  if (mask != nullptr)
    for (std::byte b : *mask)
      h.data[h.size++] = b;
  return h;
}

void append_frame(std::string& out, opcode op, bool fin, bool rsv1,
                  std::span<const std::byte> payload, const masking_key* mask) {
  const header_bytes h = encode_header(op, fin, rsv1, payload.size(), mask);
  const std::size_t at = out.size();
  out.append(reinterpret_cast<const char*>(h.data.data()), h.size);
  out.append(reinterpret_cast<const char*>(payload.data()), payload.size());
  if (mask != nullptr) {
    auto* p = reinterpret_cast<std::byte*>(out.data() + at + h.size);
    unmask(std::span(p, payload.size()), *mask, 0);
  }
}

}  // namespace portico::ws
