// The protobuf binary wire format (protobuf.dev/programming-guides/encoding), the part that the
// built-in services need without libprotobuf: varints, tags, length-delimited fields, and the
// grpc.health.v1 messages. Sans-I/O; views into the caller's buffer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "portico/grpc_health.hpp"

namespace portico::grpc::wire {

/// The wire types of a tag's low three bits ("Message Structure"). The group types 3 and 4 are
/// deprecated and refused by the reader.
enum class wire_type : std::uint8_t { varint = 0, i64 = 1, len = 2, i32 = 5 };

/// Field numbers are 1 .. 2^29 - 1.
inline constexpr std::uint32_t max_field_number = (1u << 29) - 1;

/// Appends `v` as a base-128 varint (1 to 10 bytes).
void append_varint(std::string& out, std::uint64_t v);
/// Appends a field tag: (field << 3) | type, as a varint.
void append_tag(std::string& out, std::uint32_t field, wire_type type);
/// Appends a varint field (int32, int64, uint*, bool, enum). Negative int32/int64 values are
/// passed as their two's-complement 64-bit value (10 bytes on the wire), as protobuf does.
void append_varint_field(std::string& out, std::uint32_t field, std::uint64_t v);
/// Appends a length-delimited field (string, bytes, an embedded message).
void append_len_field(std::string& out, std::uint32_t field, std::string_view bytes);

/// One field read from a message.
struct field {
  std::uint32_t number = 0;
  wire_type type = wire_type::varint;
  std::uint64_t value = 0;  ///< varint, i64 and i32 values (fixed-width ones little-endian)
  std::string_view bytes;   ///< len fields: the payload, a view into the message
};

/// Reads the fields of one message in order. Unknown fields are the caller's to skip (they are
/// read like any other). Malformed input: a varint longer than 10 bytes or above 2^64 - 1, a
/// field number of 0 or above max_field_number, a group or unknown wire type, a length past
/// the end, a message cut inside a field.
class reader {
 public:
  explicit reader(std::string_view message) noexcept : rest_(message) {}
  /// The next field into `f`: true; false at the end of the message or on malformed input
  /// (then ok() is false and the reader stays there).
  bool next(field& f) noexcept;
  bool ok() const noexcept { return ok_; }

 private:
  std::string_view rest_;
  bool ok_ = true;
};

/// Reads a varint from the front of `in` and removes it; nullopt when malformed or cut short.
std::optional<std::uint64_t> read_varint(std::string_view& in) noexcept;

/// grpc.health.v1.HealthCheckRequest { string service = 1; }: the service name, or nullopt
/// for a malformed message. As protobuf parsers do, the last occurrence of field 1 wins, and a
/// field 1 with another wire type is an unknown field (skipped); the name is not checked for
/// UTF-8 (a name that is not valid UTF-8 matches no service).
std::optional<std::string_view> decode_health_request(std::string_view message) noexcept;
/// grpc.health.v1.HealthCheckRequest with `service` (empty: the empty message).
std::string encode_health_request(std::string_view service);
/// grpc.health.v1.HealthCheckResponse { ServingStatus status = 1; } (UNKNOWN = 0: the empty
/// message, proto3 leaves default values out).
std::string encode_health_response(serving_status st);
/// The status of a HealthCheckResponse (its last field 1; absent: unknown), nullopt when the
/// message is malformed. Values outside the enum are returned as they are (proto3 open enums).
std::optional<int> decode_health_response(std::string_view message) noexcept;

}  // namespace portico::grpc::wire
