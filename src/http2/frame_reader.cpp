// HTTP/2 frame reader: the frame-level checks of RFC 9113 §4 and §6 and RFC 9218 §7.1.
// Each check cites the sentence it implements; docs/http2-frames.md has them as a table.
#include "http2/frame_reader.hpp"

#include <algorithm>

namespace portico::http2 {
namespace {

constexpr std::uint32_t u8(std::byte b) noexcept {
  return std::to_integer<std::uint32_t>(b);
}

constexpr std::uint32_t u32(const std::byte* p) noexcept {
  return u8(p[0]) << 24 | u8(p[1]) << 16 | u8(p[2]) << 8 | u8(p[3]);
}

frame_error connection_error(errc code, std::string_view detail) noexcept {
  return {make_error_code(code), error_scope::connection, 0, detail};
}

frame_error stream_error(errc code, std::uint32_t stream_id, std::string_view detail) noexcept {
  return {make_error_code(code), error_scope::stream, stream_id, detail};
}

// The priority fields of HEADERS and PRIORITY (RFC 9113 §6.2, §6.3): E (1), Stream
// Dependency (31), Weight (8). "Add one to the value to obtain a weight between 1 and 256."
priority_fields read_priority(const std::byte* p) noexcept {
  const std::uint32_t v = u32(p);
  return {(v & 0x80000000u) != 0, v & max_stream_id, static_cast<std::uint16_t>(u8(p[4]) + 1)};
}

// The detail text for a SETTINGS value that check_setting() refuses.
std::string_view setting_detail(setting_id id) noexcept {
  switch (id) {
    case setting_id::enable_push:
      return "SETTINGS_ENABLE_PUSH not 0 or 1";
    case setting_id::initial_window_size:
      return "SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1";
    case setting_id::max_frame_size:
      return "SETTINGS_MAX_FRAME_SIZE outside 16384..16777215";
    case setting_id::enable_connect_protocol:
      return "SETTINGS_ENABLE_CONNECT_PROTOCOL not 0 or 1";
    case setting_id::no_rfc7540_priorities:
      return "SETTINGS_NO_RFC7540_PRIORITIES not 0 or 1";
    default:
      return "invalid SETTINGS value";
  }
}

}  // namespace

frame_reader::frame_reader(const reader_limits& l) noexcept : limits_(l) {
  set_max_frame_size(l.max_frame_size);
}

void frame_reader::set_max_frame_size(std::uint32_t n) noexcept {
  limits_.max_frame_size = std::clamp(n, min_max_frame_size, max_max_frame_size);
}

void frame_reader::reset() noexcept {
  failure_ = {};
  block_stream_ = 0;
  block_size_ = 0;
}

read_result frame_reader::fail(frame_error e) noexcept {
  failure_ = e;
  read_result r;
  r.status = read_status::connection_error;
  r.error = e;
  return r;
}

// The connection errors the 9-octet header alone shows. Checked before the payload is waited
// for, so a peer cannot make the reader buffer a frame that is wrong anyway.
frame_error frame_reader::check_header(const frame_header& h) const noexcept {
  // RFC 9113 §4.2: "An endpoint MUST send an error code of FRAME_SIZE_ERROR if a frame exceeds
  // the size defined in SETTINGS_MAX_FRAME_SIZE". Always a connection error here: a frame that
  // large is not worth skipping, and §5.4 lets an endpoint treat any stream error as a
  // connection error.
  if (h.length > limits_.max_frame_size)
    return connection_error(errc::frame_size_error, "frame larger than SETTINGS_MAX_FRAME_SIZE");

  // Field blocks are contiguous. RFC 9113 §4.3: "Field blocks MUST be transmitted as a
  // contiguous sequence of frames, with no interleaved frames of any other type or from any
  // other stream." §6.2: "A receiver MUST treat the receipt of any other type of frame or a
  // frame on a different stream as a connection error of type PROTOCOL_ERROR." §5.5: extension
  // frames in the middle of a field block are a PROTOCOL_ERROR too.
  if (block_stream_ != 0) {
    if (h.type != frame_type::continuation || h.stream_id != block_stream_)
      return connection_error(errc::protocol_error,
                              "expected CONTINUATION of the open field block");
    // DESIGN.md §6 (CONTINUATION flood): the block's wire size is bounded.
    if (block_size_ + frame_header_size + h.length > limits_.max_field_block_size)
      return connection_error(errc::enhance_your_calm, "field block too large");
  } else if (h.type == frame_type::continuation) {
    // RFC 9113 §6.10: "A CONTINUATION frame MUST be preceded by a HEADERS, PUSH_PROMISE or
    // CONTINUATION frame without the END_HEADERS flag set. A recipient that observes violation
    // of this rule MUST respond with a connection error of type PROTOCOL_ERROR."
    return connection_error(errc::protocol_error, "CONTINUATION without an open field block");
  }

  const bool padded = h.has(flags::padded);
  switch (h.type) {
    case frame_type::data:
      // RFC 9113 §6.1: "If a DATA frame is received whose Stream Identifier field is 0x00, the
      // recipient MUST respond with a connection error of type PROTOCOL_ERROR."
      if (h.stream_id == 0) return connection_error(errc::protocol_error, "DATA on stream 0");
      // RFC 9113 §4.2: FRAME_SIZE_ERROR for a frame "too small to contain mandatory frame
      // data" (here the Pad Length octet). A connection error: DATA counts against the
      // connection's flow-control window.
      if (padded && h.length < 1)
        return connection_error(errc::frame_size_error, "padded DATA without Pad Length");
      return {};
    case frame_type::headers: {
      // RFC 9113 §6.2: "If a HEADERS frame is received whose Stream Identifier field is 0x00,
      // the recipient MUST respond with a connection error of type PROTOCOL_ERROR."
      if (h.stream_id == 0) return connection_error(errc::protocol_error, "HEADERS on stream 0");
      // RFC 9113 §4.2: too small for Pad Length and the priority fields; a frame size error
      // in "any frame carrying a field block" is a connection error.
      const std::uint32_t fixed = (padded ? 1u : 0u) + (h.has(flags::priority) ? 5u : 0u);
      if (h.length < fixed)
        return connection_error(errc::frame_size_error, "HEADERS too short for its fields");
      if (frame_header_size + h.length > limits_.max_field_block_size)
        return connection_error(errc::enhance_your_calm, "field block too large");
      return {};
    }
    case frame_type::priority:
      // RFC 9113 §6.3: "If a PRIORITY frame is received with a stream identifier of 0x00, the
      // recipient MUST respond with a connection error of type PROTOCOL_ERROR." (Its length is
      // a stream error, checked with the payload.)
      if (h.stream_id == 0) return connection_error(errc::protocol_error, "PRIORITY on stream 0");
      return {};
    case frame_type::rst_stream:
      // RFC 9113 §6.4: "If a RST_STREAM frame is received with a stream identifier of 0x00,
      // the recipient MUST treat this as a connection error of type PROTOCOL_ERROR."
      if (h.stream_id == 0) return connection_error(errc::protocol_error, "RST_STREAM on stream 0");
      // RFC 9113 §6.4: "A RST_STREAM frame with a length other than 4 octets MUST be treated
      // as a connection error of type FRAME_SIZE_ERROR."
      if (h.length != 4) return connection_error(errc::frame_size_error, "RST_STREAM length not 4");
      return {};
    case frame_type::settings:
      // RFC 9113 §6.5: "If an endpoint receives a SETTINGS frame whose Stream Identifier field
      // is anything other than 0x00, the endpoint MUST respond with a connection error of type
      // PROTOCOL_ERROR."
      if (h.stream_id != 0) return connection_error(errc::protocol_error, "SETTINGS on a stream");
      // RFC 9113 §6.5: "Receipt of a SETTINGS frame with the ACK flag set and a length field
      // value other than 0 MUST be treated as a connection error of type FRAME_SIZE_ERROR."
      if (h.has(flags::ack) && h.length != 0)
        return connection_error(errc::frame_size_error, "SETTINGS ACK with a payload");
      // RFC 9113 §6.5: "A SETTINGS frame with a length other than a multiple of 6 octets MUST
      // be treated as a connection error of type FRAME_SIZE_ERROR."
      if (h.length % 6 != 0)
        return connection_error(errc::frame_size_error, "SETTINGS length not a multiple of 6");
      return {};
    case frame_type::push_promise:
      // RFC 9113 §6.6: "If the Stream Identifier field specifies the value 0x00, a recipient
      // MUST respond with a connection error of type PROTOCOL_ERROR."
      if (h.stream_id == 0)
        return connection_error(errc::protocol_error, "PUSH_PROMISE on stream 0");
      // RFC 9113 §4.2: too small for Pad Length and Promised Stream ID (carries a field block:
      // connection error).
      if (h.length < (padded ? 5u : 4u))
        return connection_error(errc::frame_size_error, "PUSH_PROMISE too short for its fields");
      if (frame_header_size + h.length > limits_.max_field_block_size)
        return connection_error(errc::enhance_your_calm, "field block too large");
      return {};
    case frame_type::ping:
      // RFC 9113 §6.7: "If a PING frame is received with a Stream Identifier field value other
      // than 0x00, the recipient MUST respond with a connection error of type PROTOCOL_ERROR."
      if (h.stream_id != 0) return connection_error(errc::protocol_error, "PING on a stream");
      // RFC 9113 §6.7: "Receipt of a PING frame with a length field value other than 8 MUST be
      // treated as a connection error of type FRAME_SIZE_ERROR."
      if (h.length != 8) return connection_error(errc::frame_size_error, "PING length not 8");
      return {};
    case frame_type::goaway:
      // RFC 9113 §6.8: "An endpoint MUST treat a GOAWAY frame with a stream identifier other
      // than 0x00 as a connection error of type PROTOCOL_ERROR."
      if (h.stream_id != 0) return connection_error(errc::protocol_error, "GOAWAY on a stream");
      // RFC 9113 §4.2: too small for Last-Stream-ID and Error Code (stream 0: connection).
      if (h.length < 8) return connection_error(errc::frame_size_error, "GOAWAY shorter than 8");
      return {};
    case frame_type::window_update:
      // RFC 9113 §6.9: "A WINDOW_UPDATE frame with a length other than 4 octets MUST be
      // treated as a connection error of type FRAME_SIZE_ERROR."
      if (h.length != 4)
        return connection_error(errc::frame_size_error, "WINDOW_UPDATE length not 4");
      return {};
    case frame_type::continuation:
      // RFC 9113 §6.10: "If a CONTINUATION frame is received with a Stream Identifier field of
      // 0x00, the recipient MUST respond with a connection error of type PROTOCOL_ERROR."
      // (Unreachable: no field block is ever open on stream 0; kept as the rule's home.)
      if (h.stream_id == 0)
        return connection_error(errc::protocol_error, "CONTINUATION on stream 0");
      return {};
    case frame_type::priority_update:
      // RFC 9218 §7.1: PRIORITY_UPDATE is sent on stream 0; one received on another stream is
      // a connection error of type PROTOCOL_ERROR.
      if (h.stream_id != 0)
        return connection_error(errc::protocol_error, "PRIORITY_UPDATE on a stream");
      // RFC 9218 §7.1 / RFC 9113 §4.2: too small for the Prioritized Stream ID.
      if (h.length < 4)
        return connection_error(errc::frame_size_error, "PRIORITY_UPDATE shorter than 4");
      return {};
  }
  // RFC 9113 §5.5: unknown types are ignored, but the size limit above applied to them too.
  return {};
}

read_result frame_reader::read(std::span<const std::byte> input) noexcept {
  read_result r;
  if (failure_) {
    r.status = read_status::connection_error;
    r.error = failure_;
    return r;
  }
  if (input.size() < frame_header_size) {
    r.needed = frame_header_size - input.size();
    return r;
  }
  const frame_header h = decode_frame_header(input.first<frame_header_size>());
  if (frame_error e = check_header(h)) return fail(e);
  const std::size_t total = frame_header_size + h.length;
  if (input.size() < total) {
    r.needed = total - input.size();
    return r;
  }

  const std::span<const std::byte> payload = input.subspan(frame_header_size, h.length);
  const std::byte* p = payload.data();
  const std::uint32_t len = h.length;
  r.consumed = total;
  r.frame.header = h;
  r.frame.payload = payload;
  r.status = read_status::frame;

  // Removes padding: `off` octets of fixed fields (Pad Length included) precede the content.
  // Returns false if the padding does not fit (the caller reports the error).
  std::optional<std::uint8_t> padding;
  auto content = [&](std::uint32_t off, std::span<const std::byte>& out) {
    const std::uint32_t pad = padding ? *padding : 0;
    if (pad > len - off) return false;
    out = payload.subspan(off, len - off - pad);
    return true;
  };
  // Field-block bookkeeping for HEADERS/PUSH_PROMISE (open) and CONTINUATION (continue/close).
  auto open_block = [&](bool end_headers) {
    if (!end_headers) {
      block_stream_ = h.stream_id;
      block_size_ = total;
    }
  };

  switch (h.type) {
    case frame_type::data: {
      data_frame d;
      d.end_stream = h.has(flags::end_stream);
      std::uint32_t off = 0;
      if (h.has(flags::padded)) {
        padding = static_cast<std::uint8_t>(p[0]);
        off = 1;
      }
      // RFC 9113 §6.1: "If the length of the padding is the length of the frame payload or
      // greater, the recipient MUST treat this as a connection error of type PROTOCOL_ERROR."
      // (pad < length, i.e. pad <= length - 1: the data may be empty.)
      if (!content(off, d.data))
        return fail(connection_error(errc::protocol_error, "DATA padding exceeds the payload"));
      d.padding = padding;
      r.frame.body = d;
      return r;
    }
    case frame_type::headers: {
      headers_frame f;
      f.end_stream = h.has(flags::end_stream);
      f.end_headers = h.has(flags::end_headers);
      std::uint32_t off = 0;
      if (h.has(flags::padded)) {
        padding = static_cast<std::uint8_t>(p[0]);
        off = 1;
      }
      if (h.has(flags::priority)) {
        f.priority = read_priority(p + off);
        off += 5;
      }
      // RFC 9113 §6.2: "Padding that exceeds the size remaining for the field block fragment
      // MUST be treated as a PROTOCOL_ERROR." (A connection error: the field block is lost.)
      if (!content(off, f.fragment))
        return fail(connection_error(errc::protocol_error, "HEADERS padding exceeds the payload"));
      f.padding = padding;
      r.frame.body = f;
      open_block(f.end_headers);
      // RFC 9113 §5.3.1: "A stream cannot depend on itself. An endpoint MUST treat this as a
      // stream error of type PROTOCOL_ERROR." The frame is still yielded: its fragment must
      // reach the HPACK decoder (RFC 9113 §4.3).
      if (f.priority && f.priority->dependency == h.stream_id) {
        r.status = read_status::stream_error;
        r.error = stream_error(errc::protocol_error, h.stream_id, "stream depends on itself");
      }
      return r;
    }
    case frame_type::priority: {
      // RFC 9113 §6.3: "A PRIORITY frame with a length other than 5 octets MUST be treated as a
      // stream error of type FRAME_SIZE_ERROR."
      if (len != 5) {
        r.status = read_status::stream_error;
        r.error = stream_error(errc::frame_size_error, h.stream_id, "PRIORITY length not 5");
        return r;
      }
      priority_frame f{read_priority(p)};
      r.frame.body = f;
      // RFC 9113 §5.3.1: a stream cannot depend on itself (stream PROTOCOL_ERROR).
      if (f.priority.dependency == h.stream_id) {
        r.status = read_status::stream_error;
        r.error = stream_error(errc::protocol_error, h.stream_id, "stream depends on itself");
      }
      return r;
    }
    case frame_type::rst_stream:
      r.frame.body = rst_stream_frame{static_cast<errc>(u32(p))};
      return r;
    case frame_type::settings: {
      settings_frame f{h.has(flags::ack), settings_view(payload)};
      // RFC 9113 §6.5.2 (and RFC 8441 §3, RFC 9218 §2.1): value checks, see check_setting().
      for (const setting s : f.entries)
        if (errc e = check_setting(s); e != errc::no_error)
          return fail(connection_error(e, setting_detail(s.id)));
      r.frame.body = f;
      return r;
    }
    case frame_type::push_promise: {
      push_promise_frame f;
      f.end_headers = h.has(flags::end_headers);
      std::uint32_t off = 0;
      if (h.has(flags::padded)) {
        padding = static_cast<std::uint8_t>(p[0]);
        off = 1;
      }
      // RFC 9113 §6.6: R (1), Promised Stream ID (31); the reserved bit is ignored.
      f.promised_stream_id = u32(p + off) & max_stream_id;
      off += 4;
      // RFC 9113 §6.6: padding as for HEADERS (§6.2): too much is a PROTOCOL_ERROR.
      if (!content(off, f.fragment))
        return fail(
            connection_error(errc::protocol_error, "PUSH_PROMISE padding exceeds the payload"));
      // RFC 9113 §6.6: "The promised stream identifier MUST be a valid choice for the next
      // stream sent by the sender" (§5.1.1); 0 never is. Parity and order are the session's.
      if (f.promised_stream_id == 0)
        return fail(connection_error(errc::protocol_error, "PUSH_PROMISE promises stream 0"));
      f.padding = padding;
      r.frame.body = f;
      open_block(f.end_headers);
      return r;
    }
    case frame_type::ping: {
      ping_frame f;
      f.ack = h.has(flags::ack);
      std::copy_n(p, 8, f.opaque.begin());
      r.frame.body = f;
      return r;
    }
    case frame_type::goaway: {
      // RFC 9113 §6.8: R (1), Last-Stream-ID (31), Error Code (32), Additional Debug Data.
      r.frame.body =
          goaway_frame{u32(p) & max_stream_id, static_cast<errc>(u32(p + 4)), payload.subspan(8)};
      return r;
    }
    case frame_type::window_update: {
      // RFC 9113 §6.9: R (1), Window Size Increment (31); the reserved bit is ignored.
      window_update_frame f{u32(p) & max_window_size};
      r.frame.body = f;
      // RFC 9113 §6.9: "A receiver MUST treat the receipt of a WINDOW_UPDATE frame with a
      // flow-control window increment of 0 as a stream error of type PROTOCOL_ERROR; errors on
      // the connection flow-control window MUST be treated as a connection error."
      if (f.increment == 0) {
        if (h.stream_id == 0)
          return fail(connection_error(errc::protocol_error, "WINDOW_UPDATE increment 0"));
        r.status = read_status::stream_error;
        r.error = stream_error(errc::protocol_error, h.stream_id, "WINDOW_UPDATE increment 0");
      }
      return r;
    }
    case frame_type::continuation: {
      continuation_frame f{payload, h.has(flags::end_headers)};
      r.frame.body = f;
      if (f.end_headers) {
        block_stream_ = 0;
        block_size_ = 0;
      } else {
        block_size_ += total;
      }
      return r;
    }
    case frame_type::priority_update: {
      // RFC 9218 §7.1: R (1), Prioritized Stream ID (31), Priority Field Value (*).
      priority_update_frame f;
      f.prioritized_stream_id = u32(p) & max_stream_id;
      // RFC 9218 §7.1: a Prioritized Stream ID of 0 is a connection error of type
      // PROTOCOL_ERROR.
      if (f.prioritized_stream_id == 0)
        return fail(connection_error(errc::protocol_error, "PRIORITY_UPDATE for stream 0"));
      // The field value is ASCII text (RFC 9218 §5); char may alias any byte.
      f.field_value = std::string_view(reinterpret_cast<const char*>(p + 4), len - 4);
      r.frame.body = f;
      return r;
    }
  }
  // RFC 9113 §5.5: "Implementations MUST ignore and discard frames of unknown types."
  r.status = read_status::ignore;
  return r;
}

}  // namespace portico::http2
