// HTTP/2 frame values: header decoding, setting validation, rendering.
#include "http2/frame.hpp"

namespace portico::http2 {
namespace {

constexpr std::uint32_t u8(std::byte b) noexcept {
  return std::to_integer<std::uint32_t>(b);
}

void append_hex(std::string& s, std::span<const std::byte> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  for (std::byte b : bytes) {
    s += digits[u8(b) >> 4];
    s += digits[u8(b) & 0xf];
  }
}

void append_octet(std::string& s, std::uint8_t v) {
  const std::byte b{v};
  append_hex(s, std::span(&b, 1));
}

void append_padding(std::string& s, const std::optional<std::uint8_t>& padding) {
  if (padding) s.append(" padding=").append(std::to_string(*padding));
}

void append_priority(std::string& s, const priority_fields& p) {
  s.append(p.exclusive ? " exclusive" : "")
      .append(" depends_on=")
      .append(std::to_string(p.dependency))
      .append(" weight=")
      .append(std::to_string(p.weight));
}

}  // namespace

frame_header decode_frame_header(std::span<const std::byte, frame_header_size> b) noexcept {
  // RFC 9113 §4.1: Length (24), Type (8), Flags (8), R (1), Stream Identifier (31).
  frame_header h;
  h.length = u8(b[0]) << 16 | u8(b[1]) << 8 | u8(b[2]);
  h.type = static_cast<frame_type>(b[3]);
  h.flags = static_cast<std::uint8_t>(b[4]);
  // RFC 9113 §4.1: the reserved bit "MUST be ignored when receiving".
  h.stream_id = (u8(b[5]) << 24 | u8(b[6]) << 16 | u8(b[7]) << 8 | u8(b[8])) & max_stream_id;
  return h;
}

errc check_setting(const setting& s) noexcept {
  switch (s.id) {
    case setting_id::enable_push:
      // RFC 9113 §6.5.2: "Any value other than 0 or 1 MUST be treated as a connection error
      // of type PROTOCOL_ERROR."
      return s.value <= 1 ? errc::no_error : errc::protocol_error;
    case setting_id::initial_window_size:
      // RFC 9113 §6.5.2: "Values above the maximum flow-control window size of 2^31-1 MUST be
      // treated as a connection error of type FLOW_CONTROL_ERROR."
      return s.value <= max_window_size ? errc::no_error : errc::flow_control_error;
    case setting_id::max_frame_size:
      // RFC 9113 §6.5.2: "Values outside this range [2^14, 2^24-1] MUST be treated as a
      // connection error of type PROTOCOL_ERROR."
      return s.value >= min_max_frame_size && s.value <= max_max_frame_size ? errc::no_error
                                                                            : errc::protocol_error;
    case setting_id::enable_connect_protocol:
      // RFC 8441 §3: the parameter is a boolean, 0 or 1; like ENABLE_PUSH (RFC 9113 §6.5.2),
      // any other value is a connection error of type PROTOCOL_ERROR.
      return s.value <= 1 ? errc::no_error : errc::protocol_error;
    case setting_id::no_rfc7540_priorities:
      // RFC 9218 §2.1: the value is 0 or 1; any other value is a connection error of type
      // PROTOCOL_ERROR.
      return s.value <= 1 ? errc::no_error : errc::protocol_error;
    default:
      return errc::no_error;
  }
}

errc settings_values::apply(const setting& s) noexcept {
  if (errc e = check_setting(s); e != errc::no_error) return e;
  switch (s.id) {
    case setting_id::header_table_size:
      header_table_size = s.value;
      break;
    case setting_id::enable_push:
      enable_push = s.value == 1;
      break;
    case setting_id::max_concurrent_streams:
      max_concurrent_streams = s.value;
      break;
    case setting_id::initial_window_size:
      initial_window_size = s.value;
      break;
    case setting_id::max_frame_size:
      max_frame_size = s.value;
      break;
    case setting_id::max_header_list_size:
      max_header_list_size = s.value;
      break;
    case setting_id::enable_connect_protocol:
      enable_connect_protocol = s.value == 1;
      break;
    case setting_id::no_rfc7540_priorities:
      no_rfc7540_priorities = s.value == 1;
      break;
    default:
      break;  // RFC 9113 §6.5.2: "An endpoint that receives a SETTINGS frame with any unknown or
              // unsupported identifier MUST ignore that setting."
  }
  return errc::no_error;
}

setting settings_view::iterator::operator*() const noexcept {
  // RFC 9113 §6.5.1: Identifier (16), Value (32).
  return {static_cast<setting_id>(u8(p_[0]) << 8 | u8(p_[1])),
          u8(p_[2]) << 24 | u8(p_[3]) << 16 | u8(p_[4]) << 8 | u8(p_[5])};
}

std::string_view frame_type_name(frame_type t) noexcept {
  switch (t) {
    case frame_type::data:
      return "DATA";
    case frame_type::headers:
      return "HEADERS";
    case frame_type::priority:
      return "PRIORITY";
    case frame_type::rst_stream:
      return "RST_STREAM";
    case frame_type::settings:
      return "SETTINGS";
    case frame_type::push_promise:
      return "PUSH_PROMISE";
    case frame_type::ping:
      return "PING";
    case frame_type::goaway:
      return "GOAWAY";
    case frame_type::window_update:
      return "WINDOW_UPDATE";
    case frame_type::continuation:
      return "CONTINUATION";
    case frame_type::priority_update:
      return "PRIORITY_UPDATE";
  }
  return "UNKNOWN";
}

std::string describe(const frame_view& f) {
  std::string s(frame_type_name(f.header.type));
  if (frame_type_name(f.header.type) == "UNKNOWN") {
    s.append("(0x");
    append_octet(s, static_cast<std::uint8_t>(f.header.type));
    s.append(")");
  }
  s.append(" stream=").append(std::to_string(f.header.stream_id));
  s.append(" length=").append(std::to_string(f.header.length));
  struct visitor {
    std::string& s;
    const frame_view& f;
    void operator()(std::monostate) const {
      // Unknown type or unparsed payload: the raw flags and bytes are all there is.
      s.append(" flags=0x");
      append_octet(s, f.header.flags);
      s.append(" payload=");
      append_hex(s, f.payload);
    }
    void operator()(const data_frame& d) const {
      if (d.end_stream) s.append(" end_stream");
      append_padding(s, d.padding);
      s.append(" data=");
      append_hex(s, d.data);
    }
    void operator()(const headers_frame& h) const {
      if (h.end_stream) s.append(" end_stream");
      if (h.end_headers) s.append(" end_headers");
      if (h.priority) append_priority(s, *h.priority);
      append_padding(s, h.padding);
      s.append(" fragment=");
      append_hex(s, h.fragment);
    }
    void operator()(const priority_frame& p) const { append_priority(s, p.priority); }
    void operator()(const rst_stream_frame& r) const {
      s.append(" code=").append(std::to_string(static_cast<std::uint32_t>(r.code)));
    }
    void operator()(const settings_frame& st) const {
      if (st.ack) s.append(" ack");
      for (const setting& e : st.entries)
        s.append(" ")
            .append(std::to_string(static_cast<unsigned>(e.id)))
            .append("=")
            .append(std::to_string(e.value));
    }
    void operator()(const push_promise_frame& p) const {
      s.append(" promised=").append(std::to_string(p.promised_stream_id));
      if (p.end_headers) s.append(" end_headers");
      append_padding(s, p.padding);
      s.append(" fragment=");
      append_hex(s, p.fragment);
    }
    void operator()(const ping_frame& p) const {
      if (p.ack) s.append(" ack");
      s.append(" opaque=");
      append_hex(s, p.opaque);
    }
    void operator()(const goaway_frame& g) const {
      s.append(" last_stream=").append(std::to_string(g.last_stream_id));
      s.append(" code=").append(std::to_string(static_cast<std::uint32_t>(g.code)));
      s.append(" debug=");
      append_hex(s, g.debug_data);
    }
    void operator()(const window_update_frame& w) const {
      s.append(" increment=").append(std::to_string(w.increment));
    }
    void operator()(const continuation_frame& c) const {
      if (c.end_headers) s.append(" end_headers");
      s.append(" fragment=");
      append_hex(s, c.fragment);
    }
    void operator()(const priority_update_frame& p) const {
      s.append(" prioritized=").append(std::to_string(p.prioritized_stream_id));
      s.append(" value=");
      append_hex(s, std::as_bytes(std::span(p.field_value)));
    }
  };
  std::visit(visitor{s, f}, f.body);
  return s;
}

}  // namespace portico::http2
