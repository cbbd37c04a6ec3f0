// Protobuf wire format, "Encoding" of the protobuf documentation
// (protobuf.dev/programming-guides/encoding): base-128 varints, tags, LEN fields.
#include "grpc/protowire.hpp"

namespace portico::grpc::wire {

void append_varint(std::string& out, std::uint64_t v) {
  // "Base 128 Varints": seven bits per byte, least significant group first, the high bit set
  // on every byte but the last.
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

void append_tag(std::string& out, std::uint32_t field, wire_type type) {
  append_varint(out, (static_cast<std::uint64_t>(field) << 3) | static_cast<std::uint8_t>(type));
}

void append_varint_field(std::string& out, std::uint32_t field, std::uint64_t v) {
  append_tag(out, field, wire_type::varint);
  append_varint(out, v);
}

void append_len_field(std::string& out, std::uint32_t field, std::string_view bytes) {
  append_tag(out, field, wire_type::len);
  append_varint(out, bytes.size());
  out.append(bytes);
}

std::optional<std::uint64_t> read_varint(std::string_view& in) noexcept {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 10 && i < in.size(); ++i) {
    const auto b = static_cast<std::uint8_t>(in[i]);
    // The tenth byte holds bit 63 only: anything more overflows 64 bits.
    if (i == 9 && b > 1) return std::nullopt;
    v |= static_cast<std::uint64_t>(b & 0x7f) << (7 * i);
    if (!(b & 0x80)) {
      in.remove_prefix(i + 1);
      return v;
    }
  }
  return std::nullopt;  // cut short, or more than 10 bytes
}

bool reader::next(field& f) noexcept {
  if (!ok_ || rest_.empty()) return false;
  std::string_view in = rest_;
  auto fail = [this] {
    ok_ = false;
    return false;
  };
  const auto tag = read_varint(in);
  if (!tag) return fail();
  // "Message Structure": the field number is the tag shifted right by three.
  const std::uint64_t number = *tag >> 3;
  if (number == 0 || number > max_field_number) return fail();
  f = field{};
  f.number = static_cast<std::uint32_t>(number);
  switch (*tag & 7) {
    case 0: {
      const auto v = read_varint(in);
      if (!v) return fail();
      f.type = wire_type::varint;
      f.value = *v;
      break;
    }
    case 1:
    case 5: {
      const std::size_t n = (*tag & 7) == 1 ? 8 : 4;
      if (in.size() < n) return fail();
      for (std::size_t i = 0; i < n; ++i)
        f.value |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in[i])) << (8 * i);
      f.type = n == 8 ? wire_type::i64 : wire_type::i32;
      in.remove_prefix(n);
      break;
    }
    case 2: {
      const auto len = read_varint(in);
      if (!len || *len > in.size()) return fail();
      f.type = wire_type::len;
      f.bytes = in.substr(0, static_cast<std::size_t>(*len));
      in.remove_prefix(static_cast<std::size_t>(*len));
      break;
    }
    default:  // 3, 4: groups (deprecated, not in proto3); 6, 7: not defined
      return fail();
  }
  rest_ = in;
  return true;
}

std::optional<std::string_view> decode_health_request(std::string_view message) noexcept {
  reader r(message);
  field f;
  std::string_view service;
  while (r.next(f))
    if (f.number == 1 && f.type == wire_type::len) service = f.bytes;
  if (!r.ok()) return std::nullopt;
  return service;
}

std::string encode_health_request(std::string_view service) {
  std::string out;
  if (!service.empty()) append_len_field(out, 1, service);
  return out;
}

std::string encode_health_response(serving_status st) {
  std::string out;
  if (st != serving_status::unknown) append_varint_field(out, 1, static_cast<std::uint64_t>(st));
  return out;
}

std::optional<int> decode_health_response(std::string_view message) noexcept {
  reader r(message);
  field f;
  int status = 0;
  while (r.next(f))
    // An enum is an int32 on the wire: truncated to 32 bits like protobuf's parsers do.
    if (f.number == 1 && f.type == wire_type::varint)
      status = static_cast<int>(static_cast<std::uint32_t>(f.value));
  if (!r.ok()) return std::nullopt;
  return status;
}

}  // namespace portico::grpc::wire
