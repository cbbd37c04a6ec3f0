// HPACK decoding errors (RFC 7541). Every value but header_list_too_large means the peer's
// header block cannot be decoded, the two compression contexts are out of step and the HTTP/2
// connection must end with GOAWAY(COMPRESSION_ERROR) (RFC 9113 §4.3). header_list_too_large
// is a local limit: the block was decoded to the end (the context is intact), only the fields
// past the limit were not delivered; the caller answers the request with 431 or resets the
// stream, and the connection goes on.
#pragma once

#include <system_error>

namespace portico::hpack {

enum class errc {
  truncated = 1,                // the block ends inside a representation (§5.1, §5.2, §6)
  integer_overflow,             // an integer above 2^32-1, or with too many octets (§5.1)
  string_too_long,              // a string longer than decoder_limits::max_string_length (§5.2)
  invalid_index,                // index 0, or past the static plus dynamic table (§2.3.3, §6.1)
  huffman_eos,                  // the EOS symbol inside a Huffman-coded string (§5.2)
  huffman_padding_too_long,     // Huffman padding longer than 7 bits (§5.2)
  huffman_bad_padding,          // Huffman padding that is not the high bits of EOS (§5.2)
  table_size_above_limit,       // a table size update above SETTINGS_HEADER_TABLE_SIZE (§6.3)
  table_size_update_not_first,  // a table size update after a field representation (§4.2)
  missing_table_size_update,    // the limit shrank, the next block did not start with one (§4.2)
  too_many_table_size_updates,  // more than two table size updates in one block (§4.2)
  header_list_too_large,        // over decoder_limits::max_header_list_size (RFC 9113 §6.5.2)
};

/// The error category of HPACK errors; name() is "portico.hpack".
const std::error_category& hpack_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), hpack_category()};
}

/// True for an HPACK error that is an HTTP/2 COMPRESSION_ERROR, a connection error (RFC 9113
/// §4.3): every hpack_category() error except header_list_too_large. False for no error and for
/// errors of other categories.
bool is_compression_error(std::error_code ec) noexcept;

}  // namespace portico::hpack

template <>
struct std::is_error_code_enum<portico::hpack::errc> : std::true_type {};
