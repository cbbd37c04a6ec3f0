// Text codecs of gRPC header values (gRPC doc/PROTOCOL-HTTP2.md): grpc-message
// percent-encoding, -bin metadata base64, grpc-timeout, content-type.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace portico::grpc {

/// grpc-message: "Percent-Byte-Unencoded = 1*( %x20-%x24 / %x26-%x7E )"; every other byte
/// (the UTF-8 bytes of non-ASCII text, controls, '%') becomes "%XX" with uppercase hex.
std::string percent_encode_message(std::string_view text);

/// The inverse. Never fails: the spec says a receiver "MUST NOT error or throw away the
/// message" on an invalid value; a '%' not followed by two hex digits is kept as is.
std::string percent_decode_message(std::string_view text);

/// Base64 (RFC 4648 §4, the standard alphabet) without padding, as gRPC senders should emit
/// binary header values.
std::string base64_encode(std::string_view bytes, bool pad = false);

/// Decodes base64 with or without '=' padding (gRPC: "implementations MUST accept padded and
/// un-padded values"). nullopt on a character outside the alphabet, a misplaced '=', a length
/// that cannot be (4n+1), or non-zero unused bits.
std::optional<std::string> base64_decode(std::string_view text);

/// grpc-timeout: "TimeoutValue TimeoutUnit", 1 to 8 ASCII digits then one of H M S m u n.
/// nullopt when malformed. Values past what int64 nanoseconds hold (292 years; the largest,
/// 99999999H, is 11400 years) saturate to nanoseconds::max().
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view value) noexcept;

/// The shortest exact-or-rounded-up grpc-timeout for `d` (at most 8 digits; d <= 0 → "0n").
std::string encode_timeout(std::chrono::nanoseconds d);

/// Content-Type → "application/grpc" [("+proto" / "+json" / {custom})] *parameters
/// (case-insensitive). True for every gRPC content type; the subtype is the handler's concern.
bool is_grpc_content_type(std::string_view value) noexcept;

/// The subtype of a gRPC content type: "" for application/grpc, "proto", "json", ...
std::string_view grpc_content_subtype(std::string_view value) noexcept;

/// Whether `key` is a valid metadata key: 1+ of [0-9a-z_.-] (gRPC: "Header-Name → 1*(%x30-39 /
/// %x61-7A / "_" / "-" / ".")").
bool valid_metadata_key(std::string_view key) noexcept;

/// ASCII-Value → 1*( %x20-%x7E ): the value of a non-binary key.
bool valid_ascii_metadata_value(std::string_view value) noexcept;

/// A key whose values are binary ("-bin" suffix, base64 on the wire).
inline bool is_binary_key(std::string_view key) noexcept {
  return key.size() > 4 && key.substr(key.size() - 4) == "-bin";
}

}  // namespace portico::grpc
