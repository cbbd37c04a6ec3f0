// The HPACK static table (RFC 7541 §2.3.1, Appendix A) and the encoder's lookup in it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace portico::hpack {

/// A table entry: a name and a value (empty for most static entries).
struct table_entry {
  std::string_view name;
  std::string_view value;
};

/// Entries in the static table; index static_table_size + 1 is the first dynamic entry (§2.3.3).
inline constexpr std::size_t static_table_size = 61;

/// RFC 7541 Appendix A. HPACK index i (1-based) is static_table[i - 1].
inline constexpr std::array<table_entry, static_table_size> static_table = {{
    {":authority", ""},
    {":method", "GET"},
    {":method", "POST"},
    {":path", "/"},
    {":path", "/index.html"},
    {":scheme", "http"},
    {":scheme", "https"},
    {":status", "200"},
    {":status", "204"},
    {":status", "206"},
    {":status", "304"},
    {":status", "400"},
    {":status", "404"},
    {":status", "500"},
    {"accept-charset", ""},
    {"accept-encoding", "gzip, deflate"},
    {"accept-language", ""},
    {"accept-ranges", ""},
    {"accept", ""},
    {"access-control-allow-origin", ""},
    {"age", ""},
    {"allow", ""},
    {"authorization", ""},
    {"cache-control", ""},
    {"content-disposition", ""},
    {"content-encoding", ""},
    {"content-language", ""},
    {"content-length", ""},
    {"content-location", ""},
    {"content-range", ""},
    {"content-type", ""},
    {"cookie", ""},
    {"date", ""},
    {"etag", ""},
    {"expect", ""},
    {"expires", ""},
    {"from", ""},
    {"host", ""},
    {"if-match", ""},
    {"if-modified-since", ""},
    {"if-none-match", ""},
    {"if-range", ""},
    {"if-unmodified-since", ""},
    {"last-modified", ""},
    {"link", ""},
    {"location", ""},
    {"max-forwards", ""},
    {"proxy-authenticate", ""},
    {"proxy-authorization", ""},
    {"range", ""},
    {"referer", ""},
    {"refresh", ""},
    {"retry-after", ""},
    {"server", ""},
    {"set-cookie", ""},
    {"strict-transport-security", ""},
    {"transfer-encoding", ""},
    {"user-agent", ""},
    {"vary", ""},
    {"via", ""},
    {"www-authenticate", ""},
}};

/// What static_find() found: `index` is the HPACK index (1..61) of an entry with both the name
/// and the value when `exact`, else of the first entry with the name; 0 when no entry has the
/// name.
struct static_match {
  std::uint32_t index = 0;
  bool exact = false;
};

/// Looks up a field in the static table. Names compare byte for byte (HTTP/2 field names are
/// lowercase, RFC 9113 §8.2.1). Constant time: a hash of the name and at most a few compares.
static_match static_find(std::string_view name, std::string_view value) noexcept;

/// The same, with `name_hash` = detail::hash_bytes(0, name) (hash.hpp) already computed.
static_match static_find(std::string_view name, std::string_view value,
                         std::uint64_t name_hash) noexcept;

}  // namespace portico::hpack
