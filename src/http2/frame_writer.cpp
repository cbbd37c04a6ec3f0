// HTTP/2 frame writer: RFC 9113 §4.1 and §6 layouts, RFC 9218 §7.1.
#include "http2/frame_writer.hpp"

#include <algorithm>
#include <initializer_list>
#include <type_traits>
#include <variant>

namespace portico::http2 {
namespace {

// Writes a frame header and fixed fields front to back: at most 17 octets (GOAWAY's header
// and two words); the prefixes handed out (get()) are at most 15.
class prefix_builder {
 public:
  void put8(std::uint32_t v) noexcept { buf_[size_++] = static_cast<char>(v & 0xff); }
  void put32(std::uint32_t v) noexcept {
    put8(v >> 24);
    put8(v >> 16);
    put8(v >> 8);
    put8(v);
  }
  // RFC 9113 §4.1: Length (24), Type (8), Flags (8), R (1) = 0, Stream Identifier (31).
  void header(std::size_t length, frame_type type, std::uint8_t fl, std::uint32_t stream) noexcept {
    const auto len = static_cast<std::uint32_t>(length) & max_frame_length;
    put8(len >> 16);
    put8(len >> 8);
    put8(len);
    put8(static_cast<std::uint8_t>(type));
    put8(fl);
    put32(stream & max_stream_id);
  }
  // RFC 9113 §6.2 / §6.3: E (1), Stream Dependency (31), Weight (8) = weight - 1.
  void priority(const priority_fields& p) noexcept {
    put32((p.exclusive ? 0x80000000u : 0u) | (p.dependency & max_stream_id));
    const std::uint16_t w = std::clamp<std::uint16_t>(p.weight, 1, 256);
    put8(static_cast<std::uint32_t>(w - 1));
  }
  std::string_view view() const noexcept { return {buf_.data(), size_}; }
  frame_prefix get() const noexcept {
    frame_prefix p;
    std::copy_n(buf_.begin(), size_, p.bytes.begin());
    p.size = static_cast<std::uint8_t>(size_);
    return p;
  }

 private:
  std::array<char, 17> buf_{};
  std::size_t size_ = 0;
};

std::size_t pad_overhead(const std::optional<std::uint8_t>& padding) noexcept {
  return padding ? 1u + *padding : 0u;
}

std::uint8_t end_flag(bool on, std::uint8_t flag) noexcept {
  return on ? flag : std::uint8_t{0};
}

void append_bytes(std::string& out, std::span<const std::byte> b) {
  // char may alias any object representation.
  out.append(reinterpret_cast<const char*>(b.data()), b.size());
}

void append_prefixed(std::string& out, const frame_prefix& p, std::span<const std::byte> content,
                     const std::optional<std::uint8_t>& padding) {
  out.append(p.view());
  append_bytes(out, content);
  if (padding) out.append(padding_bytes(*padding));
}

frame_prefix fixed_frame(frame_type type, std::uint8_t fl, std::uint32_t stream,
                         std::initializer_list<std::uint32_t> words) {
  prefix_builder b;
  b.header(4 * words.size(), type, fl, stream);
  for (std::uint32_t w : words)
    b.put32(w);
  return b.get();
}

constexpr std::array<char, 255> zeros{};

}  // namespace

std::string_view padding_bytes(std::uint8_t n) noexcept {
  return {zeros.data(), n};
}

frame_prefix encode_frame_header(const frame_header& h) noexcept {
  prefix_builder b;
  b.header(h.length, h.type, h.flags, h.stream_id);
  return b.get();
}

frame_prefix data_prefix(std::uint32_t stream_id, const data_frame& f) noexcept {
  // RFC 9113 §6.1: [Pad Length (8)], Data (*), Padding (*).
  prefix_builder b;
  b.header(
      pad_overhead(f.padding) + f.data.size(), frame_type::data,
      end_flag(f.end_stream, flags::end_stream) | end_flag(f.padding.has_value(), flags::padded),
      stream_id);
  if (f.padding) b.put8(*f.padding);
  return b.get();
}

frame_prefix headers_prefix(std::uint32_t stream_id, const headers_frame& f) noexcept {
  // RFC 9113 §6.2: [Pad Length (8)], [E, Stream Dependency, Weight], Field Block Fragment,
  // Padding.
  prefix_builder b;
  const std::uint8_t fl = end_flag(f.end_stream, flags::end_stream) |
                          end_flag(f.end_headers, flags::end_headers) |
                          end_flag(f.padding.has_value(), flags::padded) |
                          end_flag(f.priority.has_value(), flags::priority);
  b.header(pad_overhead(f.padding) + (f.priority ? 5u : 0u) + f.fragment.size(),
           frame_type::headers, fl, stream_id);
  if (f.padding) b.put8(*f.padding);
  if (f.priority) b.priority(*f.priority);
  return b.get();
}

frame_prefix push_promise_prefix(std::uint32_t stream_id, const push_promise_frame& f) noexcept {
  // RFC 9113 §6.6: [Pad Length (8)], R, Promised Stream ID (31), Field Block Fragment, Padding.
  prefix_builder b;
  const std::uint8_t fl =
      end_flag(f.end_headers, flags::end_headers) | end_flag(f.padding.has_value(), flags::padded);
  b.header(pad_overhead(f.padding) + 4 + f.fragment.size(), frame_type::push_promise, fl,
           stream_id);
  if (f.padding) b.put8(*f.padding);
  b.put32(f.promised_stream_id & max_stream_id);
  return b.get();
}

frame_prefix continuation_prefix(std::uint32_t stream_id, const continuation_frame& f) noexcept {
  prefix_builder b;
  b.header(f.fragment.size(), frame_type::continuation, end_flag(f.end_headers, flags::end_headers),
           stream_id);
  return b.get();
}

void append_frame(std::string& out, std::uint32_t stream_id, const data_frame& f) {
  append_prefixed(out, data_prefix(stream_id, f), f.data, f.padding);
}

void append_frame(std::string& out, std::uint32_t stream_id, const headers_frame& f) {
  append_prefixed(out, headers_prefix(stream_id, f), f.fragment, f.padding);
}

void append_frame(std::string& out, std::uint32_t stream_id, const priority_frame& f) {
  // RFC 9113 §6.3: 5 octets.
  prefix_builder b;
  b.header(5, frame_type::priority, 0, stream_id);
  b.priority(f.priority);
  out.append(b.view());
}

void append_frame(std::string& out, std::uint32_t stream_id, const rst_stream_frame& f) {
  // RFC 9113 §6.4: Error Code (32).
  out.append(fixed_frame(frame_type::rst_stream, 0, stream_id, {static_cast<std::uint32_t>(f.code)})
                 .view());
}

void append_frame(std::string& out, const settings_frame& f) {
  // RFC 9113 §6.5: an ACK "MUST have an empty payload"; otherwise 6 octets per parameter.
  const std::span<const std::byte> raw = f.ack ? std::span<const std::byte>() : f.entries.raw();
  out.append(encode_frame_header({static_cast<std::uint32_t>(raw.size()), frame_type::settings,
                                  end_flag(f.ack, flags::ack), 0})
                 .view());
  append_bytes(out, raw);
}

void append_settings(std::string& out, std::span<const setting> entries) {
  out.append(encode_frame_header(
                 {static_cast<std::uint32_t>(6 * entries.size()), frame_type::settings, 0, 0})
                 .view());
  for (const setting& s : entries) {
    // RFC 9113 §6.5.1: Identifier (16), Value (32).
    const auto id = static_cast<std::uint16_t>(s.id);
    const char b[6] = {static_cast<char>(id >> 8),
                       static_cast<char>(id & 0xff),
                       static_cast<char>(s.value >> 24),
                       static_cast<char>(s.value >> 16 & 0xff),
                       static_cast<char>(s.value >> 8 & 0xff),
                       static_cast<char>(s.value & 0xff)};
    out.append(b, sizeof b);
  }
}

void append_frame(std::string& out, std::uint32_t stream_id, const push_promise_frame& f) {
  append_prefixed(out, push_promise_prefix(stream_id, f), f.fragment, f.padding);
}

void append_frame(std::string& out, const ping_frame& f) {
  // RFC 9113 §6.7: Opaque Data (64) on stream 0.
  out.append(encode_frame_header({8, frame_type::ping, end_flag(f.ack, flags::ack), 0}).view());
  append_bytes(out, f.opaque);
}

void append_frame(std::string& out, const goaway_frame& f) {
  // RFC 9113 §6.8: R, Last-Stream-ID (31), Error Code (32), Additional Debug Data (*).
  prefix_builder b;
  b.header(8 + f.debug_data.size(), frame_type::goaway, 0, 0);
  b.put32(f.last_stream_id & max_stream_id);
  b.put32(static_cast<std::uint32_t>(f.code));
  out.append(b.view());
  append_bytes(out, f.debug_data);
}

void append_frame(std::string& out, std::uint32_t stream_id, const window_update_frame& f) {
  // RFC 9113 §6.9: R, Window Size Increment (31).
  out.append(
      fixed_frame(frame_type::window_update, 0, stream_id, {f.increment & max_window_size}).view());
}

void append_frame(std::string& out, std::uint32_t stream_id, const continuation_frame& f) {
  out.append(continuation_prefix(stream_id, f).view());
  append_bytes(out, f.fragment);
}

void append_frame(std::string& out, const priority_update_frame& f) {
  // RFC 9218 §7.1: R, Prioritized Stream ID (31), Priority Field Value (*), on stream 0.
  prefix_builder b;
  b.header(4 + f.field_value.size(), frame_type::priority_update, 0, 0);
  b.put32(f.prioritized_stream_id & max_stream_id);
  out.append(b.view());
  out.append(f.field_value);
}

void append_frame(std::string& out, const frame_header& h, std::span<const std::byte> payload) {
  frame_header raw = h;
  raw.length = static_cast<std::uint32_t>(payload.size());
  out.append(encode_frame_header(raw).view());
  append_bytes(out, payload);
}

void append_frame(std::string& out, const frame_view& f) {
  const std::uint32_t id = f.header.stream_id;
  std::visit(
      [&](const auto& body) {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, std::monostate>) {
          append_frame(out, f.header, f.payload);
        } else if constexpr (std::is_same_v<T, settings_frame> || std::is_same_v<T, ping_frame> ||
                             std::is_same_v<T, goaway_frame> ||
                             std::is_same_v<T, priority_update_frame>) {
          append_frame(out, body);
        } else {
          append_frame(out, id, body);
        }
      },
      f.body);
}

field_block_splitter::field_block_splitter(std::uint32_t stream_id, const headers_frame& first,
                                           std::uint32_t max_frame_size) noexcept
    : kind_(kind::headers),
      stream_id_(stream_id),
      max_(std::clamp(max_frame_size, min_max_frame_size, max_max_frame_size)),
      rest_(first.fragment),
      headers_(first) {}

field_block_splitter::field_block_splitter(std::uint32_t stream_id, const push_promise_frame& first,
                                           std::uint32_t max_frame_size) noexcept
    : kind_(kind::push_promise),
      stream_id_(stream_id),
      max_(std::clamp(max_frame_size, min_max_frame_size, max_max_frame_size)),
      rest_(first.fragment),
      push_(first) {}

field_block_frame field_block_splitter::next() noexcept {
  field_block_frame out;
  if (first_) {
    first_ = false;
    // The first frame's fixed fields and padding share its payload with the fragment; with
    // max_ >= 16384 and at most 1 + 255 + 5 octets of them, room is always left.
    const std::optional<std::uint8_t>& padding =
        kind_ == kind::headers ? headers_.padding : push_.padding;
    const std::size_t fixed =
        pad_overhead(padding) + (kind_ == kind::headers ? (headers_.priority ? 5u : 0u) : 4u);
    out.fragment = rest_.first(std::min(rest_.size(), max_ - fixed));
    rest_ = rest_.subspan(out.fragment.size());
    if (padding) out.padding = padding_bytes(*padding);
    // RFC 9113 §6.2 / §6.6: END_HEADERS when the block ends in this frame.
    if (kind_ == kind::headers) {
      headers_frame h = headers_;
      h.fragment = out.fragment;
      h.end_headers = rest_.empty();
      out.prefix = headers_prefix(stream_id_, h);
    } else {
      push_promise_frame p = push_;
      p.fragment = out.fragment;
      p.end_headers = rest_.empty();
      out.prefix = push_promise_prefix(stream_id_, p);
    }
  } else {
    // RFC 9113 §6.10: CONTINUATION frames on the same stream, END_HEADERS on the last.
    out.fragment = rest_.first(std::min<std::size_t>(rest_.size(), max_));
    rest_ = rest_.subspan(out.fragment.size());
    out.prefix = continuation_prefix(stream_id_, {out.fragment, rest_.empty()});
  }
  done_ = rest_.empty();
  return out;
}

namespace {

void append_split(std::string& out, field_block_splitter& s) {
  while (!s.done()) {
    const field_block_frame f = s.next();
    out.append(f.prefix.view());
    append_bytes(out, f.fragment);
    out.append(f.padding);
  }
}

}  // namespace

void append_field_block(std::string& out, std::uint32_t stream_id, const headers_frame& first,
                        std::uint32_t max_frame_size) {
  field_block_splitter s(stream_id, first, max_frame_size);
  append_split(out, s);
}

void append_field_block(std::string& out, std::uint32_t stream_id, const push_promise_frame& first,
                        std::uint32_t max_frame_size) {
  field_block_splitter s(stream_id, first, max_frame_size);
  append_split(out, s);
}

}  // namespace portico::http2
