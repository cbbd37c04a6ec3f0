// grpc-encoding / grpc-accept-encoding (gRPC doc/compression.md): identity and gzip (zlib).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <system_error>

namespace portico::grpc {

enum class encoding : unsigned char { identity, gzip, unsupported };

/// "identity" / "gzip" (case-insensitive) → the encoding; anything else → unsupported.
encoding parse_encoding(std::string_view name) noexcept;
std::string_view encoding_name(encoding e) noexcept;

/// What we send as grpc-accept-encoding: "identity,gzip" (or "identity" when gzip is off).
std::string_view accept_encoding_value(bool gzip) noexcept;

/// Whether a grpc-accept-encoding value (comma-separated names) lists `e`. identity is always
/// accepted.
bool accepts(std::string_view accept_encoding, encoding e) noexcept;

/// gzip (RFC 1952) of `data`.
std::string gzip_compress(std::string_view data);

struct decompress_result {
  std::string data;
  /// grpc_category(): internal (not a valid gzip stream, or data after its end),
  /// resource_exhausted (the output would pass max_size: a compression bomb stops there).
  std::error_code ec;
  std::string_view detail;  ///< static storage
};

/// Inflates a gzip message, producing at most `max_size` bytes.
decompress_result gzip_decompress(std::string_view data, std::size_t max_size);

}  // namespace portico::grpc
