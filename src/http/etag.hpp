// Entity tags (RFC 9110 §8.8.3): parsing, lists, strong and weak comparison, and the ETag
// values Portico generates for files. Parsing never allocates: tags are views of the input.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace portico::http {

/// One entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE (RFC 9110 §8.8.3).
struct entity_tag {
  std::string_view opaque;  ///< the characters between the quotes (a view of the input)
  bool weak = false;
};

/// Parses exactly one entity-tag (surrounding OWS allowed): the "W/" prefix is case-sensitive
/// and etagc is %x21 / %x23-7E / obs-text (%x80-FF). nullopt if the value is anything else.
std::optional<entity_tag> parse_entity_tag(std::string_view value) noexcept;

/// RFC 9110 §8.8.3.2 strong comparison: both tags strong and their opaque-tags identical.
constexpr bool strong_match(const entity_tag& a, const entity_tag& b) noexcept {
  return !a.weak && !b.weak && a.opaque == b.opaque;
}

/// RFC 9110 §8.8.3.2 weak comparison: opaque-tags identical, weakness ignored.
constexpr bool weak_match(const entity_tag& a, const entity_tag& b) noexcept {
  return a.opaque == b.opaque;
}

/// Reads the members of an entity-tag list (#entity-tag, RFC 9110 §5.6.1.2): OWS around
/// members and empty members ("a", , "b") are accepted. "*" is not a list member: check for it
/// first (see match_entity_tag_list).
class entity_tag_list_reader {
 public:
  explicit entity_tag_list_reader(std::string_view field_value) noexcept : rest_(field_value) {}

  /// The next member, or nullopt at the end of the list or at a syntax error (failed() tells).
  /// After nullopt every further call returns nullopt.
  std::optional<entity_tag> next() noexcept;
  bool failed() const noexcept { return failed_; }

 private:
  std::string_view rest_;
  bool failed_ = false;
  bool done_ = false;
};

enum class tag_comparison : std::uint8_t { strong, weak };

enum class tag_list_match : std::uint8_t {
  absent,    ///< no field line, or only empty ones
  any,       ///< the field value is "*"
  match,     ///< some member matches `current`
  no_match,  ///< a valid list, and no member matches (or there is no current tag)
  invalid,   ///< a syntax error anywhere, or "*" mixed with other members
};

/// Evaluates If-Match / If-None-Match style field lines ("*" / #entity-tag) against the
/// current entity tag. RFC 9110 §5.3: a list field may arrive as several field lines; pass each
/// line (or one comma-joined value). Lines that are empty after OWS trimming add nothing.
tag_list_match match_entity_tag_list(std::span<const std::string_view> field_lines,
                                     const std::optional<entity_tag>& current,
                                     tag_comparison how) noexcept;

/// A generated ETag field value, held inline (no allocation).
class etag_value {
 public:
  static constexpr std::size_t capacity = 80;
  std::string_view view() const noexcept { return {data_.data(), size_}; }
  std::string str() const { return std::string(view()); }

 private:
  friend etag_value make_etag(std::uint64_t, std::int64_t, std::uint64_t) noexcept;
  friend std::optional<etag_value> with_variant_suffix(std::string_view, std::string_view) noexcept;
  std::array<char, capacity> data_{};
  std::size_t size_ = 0;
};

/// A strong ETag for a file: "\"<mtime_ns hex>-<size hex>\"", plus "-<salt hex>" before the
/// closing quote when `inode_or_salt` is not 0 (e.g. "\"17a3c0d2e5f01b2c-2a\"").
///
/// Why strong (RFC 9110 §8.8.1): any write changes the modification time, and at nanosecond
/// resolution two writes of different content that leave the same size and the same timestamp
/// are not a practical case. Known limits, shared with every mtime-based ETag: a tool that
/// restores an old mtime on changed content of the same size (touch -d, rsync -t) defeats it,
/// and file systems with coarse timestamps (1-2 s) make rapid rewrites collide. Passing the
/// inode catches files replaced by rename with a preserved mtime, but differs between machines
/// serving copies of the same file: behind a load balancer pass 0 or a deployment-wide salt.
etag_value make_etag(std::uint64_t size, std::int64_t mtime_ns,
                     std::uint64_t inode_or_salt) noexcept;

/// The ETag of a variant of the same resource (a precompressed file, RFC 9110 §8.8.3: a
/// different representation needs a different tag): "\"x-y\"" + "br" -> "\"x-y-br\"", keeping a
/// "W/" prefix. nullopt if `etag` is not one entity-tag, `suffix` is empty or has a character
/// that is not etagc (or is '"'), or the result is longer than etag_value::capacity.
std::optional<etag_value> with_variant_suffix(std::string_view etag,
                                              std::string_view suffix) noexcept;

}  // namespace portico::http
